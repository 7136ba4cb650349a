package router_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/router"
)

// fakeCluster is an in-memory cluster for router tests: ranges (the
// truth), leaseholders, a key-value map (meta records included) and a log
// of the batches each node served. A node refuses like a real one: a
// batch crossing its range gets a RangeKeyMismatchError listing the true
// ranges it overlaps, a batch for a range it does not lead a
// NotLeaseHolderError.
type fakeCluster struct {
	mu     sync.Mutex
	nodes  []int32
	ranges []*kvpb.RangeDescriptor
	lh     map[int64]int32
	// hints: a refusing node names the leaseholder (else LeaseHolder 0).
	hints bool
	down  map[int32]bool
	// lacks: nodes holding no replica of a range (they know no range
	// there, and refuse with an empty RangeKeyMismatchError).
	lacks map[int32]int64
	data  map[string][]byte
	// pushTo forwards the write timestamp of transactional writes served
	// by a range.
	pushTo map[int64]hlc.Timestamp
	// fail, if set, may fail a batch a node is about to serve.
	fail func(node int32, desc *kvpb.RangeDescriptor, ba *kvpb.BatchRequest) error
	log  []served
	now  int64
}

// served is one batch a node evaluated (or refused, when err is set).
type served struct {
	node    int32
	rangeID int64
	ba      *kvpb.BatchRequest
	err     error
}

func newFakeCluster(nodes int, splits ...string) *fakeCluster {
	c := &fakeCluster{lh: map[int64]int32{}, down: map[int32]bool{}, data: map[string][]byte{}, lacks: map[int32]int64{},
		pushTo: map[int64]hlc.Timestamp{}, hints: true, now: 1000}
	for i := 1; i <= nodes; i++ {
		c.nodes = append(c.nodes, int32(i))
	}
	bounds := []kvpb.Key{keys.FirstRangeStart}
	for _, s := range splits {
		bounds = append(bounds, kvpb.Key(s))
	}
	bounds = append(bounds, keys.MaxKey)
	for i := 0; i+1 < len(bounds); i++ {
		d := &kvpb.RangeDescriptor{RangeID: int64(i + 1), StartKey: bounds[i], EndKey: bounds[i+1], Generation: 1}
		for _, n := range c.nodes {
			d.Replicas = append(d.Replicas, kvpb.ReplicaDescriptor{NodeID: n})
		}
		c.ranges = append(c.ranges, d)
		c.lh[d.RangeID] = c.nodes[i%nodes]
	}
	c.writeMeta(c.ranges...)
	return c
}

// writeMeta writes meta records for descs (which need not be the truth).
func (c *fakeCluster) writeMeta(descs ...*kvpb.RangeDescriptor) {
	for _, d := range descs {
		c.data[string(keys.MetaKey(d.EndKey))] = kvpb.AppendRangeDescriptor(nil, d)
	}
}

func (c *fakeCluster) router(t testing.TB, local int32, timeout time.Duration) *router.Router {
	return router.New(c.config(local, timeout))
}

func (c *fakeCluster) config(local int32, timeout time.Duration) router.Config {
	return router.Config{
		Nodes:   func() []int32 { return c.nodes },
		Local:   local,
		Timeout: timeout,
		Dial: func(n int32) (kvrpc.Handler, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.down[n] {
				return nil, fmt.Errorf("n%d down: %w", n, kvrpc.ErrUnavailable)
			}
			return fakeNode{c: c, id: n}, nil
		},
	}
}

// servedBy returns the log entries of user batches (not meta reads)
// evaluated by range rangeID (0: any) without error.
func (c *fakeCluster) servedBy(rangeID int64) []served {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []served
	for _, s := range c.log {
		if s.err == nil && (rangeID == 0 || s.rangeID == rangeID) && !isMeta(s.ba) {
			out = append(out, s)
		}
	}
	return out
}

func (c *fakeCluster) resetLog() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = nil
}

type fakeNode struct {
	c  *fakeCluster
	id int32
}

func (n fakeNode) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var span kvpb.Span
	for i, r := range ba.Requests {
		a := ba.AddressOf(r)
		if i == 0 || bytes.Compare(a.Key, span.Key) < 0 {
			span.Key = a.Key
		}
		if e := a.End(); i == 0 || bytes.Compare(span.EndKey, e) < 0 {
			span.EndKey = e
		}
	}
	var desc *kvpb.RangeDescriptor
	for _, d := range c.ranges {
		if d.ContainsKey(span.Key) {
			desc = d
		}
	}
	entry := served{node: n.id, ba: cloneBatch(ba)}
	refuse := func(err error) (*kvpb.BatchResponse, error) {
		entry.err = err
		c.log = append(c.log, entry)
		return nil, err
	}
	if desc == nil || !desc.ContainsSpan(span) {
		mm := &kvpb.RangeKeyMismatchError{RequestedSpan: span}
		for _, d := range c.ranges {
			if d.Span().Overlaps(span) {
				mm.Ranges = append(mm.Ranges, *d.Clone())
			}
		}
		return refuse(mm)
	}
	entry.rangeID = desc.RangeID
	if c.lacks[n.id] == desc.RangeID {
		return refuse(&kvpb.RangeKeyMismatchError{RequestedSpan: span})
	}
	if lh := c.lh[desc.RangeID]; lh != n.id {
		nlh := &kvpb.NotLeaseHolderError{RangeID: desc.RangeID, Replica: n.id}
		if c.hints {
			nlh.LeaseHolder = lh
		}
		return refuse(nlh)
	}
	if c.fail != nil {
		if err := c.fail(n.id, desc, ba); err != nil {
			return refuse(err)
		}
	}
	c.log = append(c.log, entry)
	c.now++
	resp := &kvpb.BatchResponse{}
	var txn *kvpb.Transaction
	if ba.Txn != nil {
		txn = ba.Txn.Clone()
		txn.UpdateObservedTimestamp(n.id, hlc.Timestamp{WallTime: c.now})
	} else if resp.Timestamp = ba.Timestamp; resp.Timestamp.IsEmpty() {
		resp.Timestamp = hlc.Timestamp{WallTime: c.now}
	}
	for _, r := range ba.Requests {
		if r.Method().IsWrite() && txn != nil {
			txn.WriteTimestamp.Forward(c.pushTo[desc.RangeID])
		}
		resp.Responses = append(resp.Responses, c.eval(r))
	}
	if txn != nil {
		if _, ok := ba.Requests[len(ba.Requests)-1].(*kvpb.EndTxnRequest); ok {
			txn.Status = kvpb.COMMITTED
		}
	}
	resp.Txn = txn
	return resp, nil
}

func (c *fakeCluster) keysIn(s kvpb.Span) []string {
	var ks []string
	for k := range c.data {
		if s.ContainsKey(kvpb.Key(k)) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func (c *fakeCluster) eval(r kvpb.Request) kvpb.Response {
	switch t := r.(type) {
	case *kvpb.GetRequest:
		return &kvpb.GetResponse{Value: c.data[string(t.Key)]}
	case *kvpb.PutRequest:
		c.data[string(t.Key)] = t.Value
		return &kvpb.PutResponse{}
	case *kvpb.ScanRequest:
		ks := c.keysIn(t.Span)
		if t.Reverse {
			slices.Reverse(ks)
		}
		out := &kvpb.ScanResponse{}
		for i, k := range ks {
			if t.MaxKeys > 0 && int64(len(out.Rows)) == t.MaxKeys {
				if t.Reverse {
					out.ResumeSpan = &kvpb.Span{Key: t.Span.Key, EndKey: kvpb.Key(ks[i]).Next()}
				} else {
					out.ResumeSpan = &kvpb.Span{Key: kvpb.Key(ks[i]), EndKey: t.Span.EndKey}
				}
				break
			}
			out.Rows = append(out.Rows, kvpb.KeyValue{Key: kvpb.Key(k), Value: c.data[k]})
		}
		return out
	case *kvpb.DeleteRangeRequest:
		out := &kvpb.DeleteRangeResponse{}
		for _, k := range c.keysIn(t.Span) {
			delete(c.data, k)
			out.Count++
			if t.ReturnKeys {
				out.Keys = append(out.Keys, kvpb.Key(k))
			}
		}
		return out
	case *kvpb.ResolveIntentRequest:
		return &kvpb.ResolveIntentResponse{Resolved: len(c.keysIn(t.Span))}
	case *kvpb.GCRequest:
		return &kvpb.GCResponse{Removed: len(c.keysIn(t.Span))}
	case *kvpb.RefreshRequest:
		return &kvpb.RefreshResponse{}
	case *kvpb.HeartbeatTxnRequest:
		return &kvpb.HeartbeatTxnResponse{}
	case *kvpb.EndTxnRequest:
		return &kvpb.EndTxnResponse{}
	case *kvpb.DeleteRequest:
		_, ok := c.data[string(t.Key)]
		delete(c.data, string(t.Key))
		return &kvpb.DeleteResponse{Found: ok}
	}
	panic(fmt.Sprintf("fake: %T", r))
}

func cloneBatch(ba *kvpb.BatchRequest) *kvpb.BatchRequest {
	c := *ba
	c.Txn = ba.Txn.Clone()
	c.Requests = slices.Clone(ba.Requests)
	return &c
}

// methods lists the methods of a batch, with the spans of span requests:
// "Put(a) Scan[a,c)".
func methods(ba *kvpb.BatchRequest) string {
	var b bytes.Buffer
	for i, r := range ba.Requests {
		if i > 0 {
			b.WriteString(" ")
		}
		s := ba.AddressOf(r)
		if s.EndKey == nil {
			fmt.Fprintf(&b, "%s(%s)", r.Method(), string(s.Key))
		} else {
			fmt.Fprintf(&b, "%s[%s,%s)", r.Method(), string(s.Key), string(s.EndKey))
		}
	}
	return b.String()
}

func isMeta(ba *kvpb.BatchRequest) bool {
	k := ba.AddressOf(ba.Requests[0]).Key
	return bytes.HasPrefix(k, keys.MetaPrefix)
}

// userLog renders the user batches served, one per line: "r2@n2: Put(b)".
func (c *fakeCluster) userLog() string {
	var b bytes.Buffer
	for _, s := range c.servedBy(0) {
		fmt.Fprintf(&b, "r%d@n%d: %s\n", s.rangeID, s.node, methods(s.ba))
	}
	return b.String()
}
