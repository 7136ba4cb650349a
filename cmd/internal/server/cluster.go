package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/liveness"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication"
	"github.com/outpostdb/outpost/replication/lease"
	"github.com/outpostdb/outpost/replication/rpc"
	"github.com/outpostdb/outpost/sql"
)

// Cluster calls (rpc.CallCluster) are one op byte and a body.
const (
	opInit         = 'I' // bootstrap a new cluster on the receiving node
	opJoin         = 'J' // body: the joiner's listen address; reply: id + node table
	opDecommission = 'D' // body: node ID (4 BE)
	opRecommission = 'R' // body: node ID (4 BE)
)

// readNodeID returns the node ID recorded in the store, 0 if none.
func readNodeID(eng storage.Engine) (int32, error) {
	v, ok, err := mvcc.GetUnversioned(eng, keys.StoreIdentKey())
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 4 {
		return 0, fmt.Errorf("server: corrupt store identity (%d bytes)", len(v))
	}
	return int32(binary.BigEndian.Uint32(v)), nil
}

func writeNodeID(eng storage.Engine, id int32) error {
	b := eng.NewBatch()
	defer b.Close()
	if err := mvcc.PutUnversioned(b, keys.StoreIdentKey(), binary.BigEndian.AppendUint32(nil, uint32(id))); err != nil {
		return err
	}
	return b.Commit(true)
}

// addressBook maps node IDs to listen addresses; the node table in kv is
// its source, the join reply seeds it.
type addressBook struct {
	mu    sync.RWMutex
	addrs map[int32]string
}

func (a *addressBook) set(id int32, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.addrs == nil {
		a.addrs = map[int32]string{}
	}
	a.addrs[id] = addr
}

func (a *addressBook) resolve(id int32) (string, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if addr, ok := a.addrs[id]; ok {
		return addr, nil
	}
	return "", fmt.Errorf("no address known for n%d", id)
}

func (a *addressBook) ids() []int32 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]int32, 0, len(a.addrs))
	for id := range a.addrs {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// load reads the address book persisted by save.
func (a *addressBook) load(eng storage.Engine) error {
	v, ok, err := mvcc.GetUnversioned(eng, keys.StoreNodeAddrsKey())
	if err != nil || !ok {
		return err
	}
	_, book, err := decodeJoinReply(v)
	if err != nil {
		return fmt.Errorf("server: stored address book: %w", err)
	}
	for id, addr := range book {
		a.set(id, addr)
	}
	return nil
}

// save persists the node table's addresses (not synced: it is a cache).
func (a *addressBook) save(eng storage.Engine, recs []liveness.Record) error {
	b := eng.NewBatch()
	defer b.Close()
	if err := mvcc.PutUnversioned(b, keys.StoreNodeAddrsKey(), encodeJoinReply(0, recs)); err != nil {
		return err
	}
	return b.Commit(false)
}

// remoteHandler sends to another node over gRPC. An unreachable node is
// "unavailable" (retry elsewhere) unless the batch commits a transaction:
// the commit may have happened, and only an ambiguous error is honest.
type remoteHandler struct{ h kvrpc.Handler }

func (r remoteHandler) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	resp, err := r.h.Send(ctx, ba)
	if err != nil && errors.Is(err, rpc.ErrUnavailable) && !errors.Is(err, kvrpc.ErrUnavailable) {
		for _, req := range ba.Requests {
			if req.Method() == kvpb.EndTxn {
				return nil, &kvpb.AmbiguousResultError{Msg: err.Error()}
			}
		}
		return nil, fmt.Errorf("%w: %v", kvrpc.ErrUnavailable, err)
	}
	return resp, err
}

// livenessAdapter feeds the replicate queue from the node table.
type livenessAdapter struct{ l func() *liveness.Liveness }

func (a livenessAdapter) Nodes() []replication.NodeStatus {
	l := a.l()
	if l == nil {
		return nil
	}
	now := time.Now()
	var out []replication.NodeStatus
	for _, r := range l.Records() {
		st := replication.NodeStatus{ID: r.ID, Live: r.Live(now), Decommissioning: r.Decommissioning, Edge: r.Edge, Region: LocalityRegion(r.Locality)}
		if !st.Live && !r.Expiration.IsZero() {
			st.DownSince = r.Expiration
		}
		out = append(out, st)
	}
	return out
}

// joinReply is the answer to a join: the new ID and the node table.
func encodeJoinReply(id int32, recs []liveness.Record) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(id))
	for _, r := range recs {
		b = binary.BigEndian.AppendUint32(b, uint32(r.ID))
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Addr)))
		b = append(b, r.Addr...)
	}
	return b
}

func decodeJoinReply(b []byte) (int32, map[int32]string, error) {
	if len(b) < 4 {
		return 0, nil, errors.New("short join reply")
	}
	id := int32(binary.BigEndian.Uint32(b))
	out := map[int32]string{}
	for b = b[4:]; len(b) > 0; {
		if len(b) < 6 {
			return 0, nil, errors.New("corrupt join reply")
		}
		nid := int32(binary.BigEndian.Uint32(b))
		n := int(binary.BigEndian.Uint16(b[4:]))
		if len(b) < 6+n {
			return 0, nil, errors.New("corrupt join reply")
		}
		out[nid] = string(b[6 : 6+n])
		b = b[6+n:]
	}
	return id, out, nil
}

// handleCluster serves cluster calls.
func (s *Server) handleCluster(ctx context.Context, req []byte) ([]byte, error) {
	if len(req) == 0 {
		return nil, errors.New("empty cluster call")
	}
	switch req[0] {
	case opInit:
		select {
		case s.initCh <- struct{}{}:
			return nil, nil
		default:
			return nil, errors.New("cluster has already been initialized")
		}
	case opJoin:
		db := s.kvDB()
		if db == nil {
			return nil, errors.New("this node is not part of an initialized cluster yet")
		}
		addr := string(req[1:])
		id, err := liveness.AllocateNodeID(ctx, db, addr)
		if err != nil {
			return nil, err
		}
		recs, err := liveness.ReadAll(ctx, db)
		if err != nil {
			return nil, err
		}
		s.log.Info("node joined", "node", id, "addr", addr)
		return encodeJoinReply(id, recs), nil
	case opDecommission, opRecommission:
		db := s.kvDB()
		if db == nil || len(req) != 5 {
			return nil, errors.New("bad decommission call or uninitialized node")
		}
		id := int32(binary.BigEndian.Uint32(req[1:]))
		if err := liveness.SetDecommissioning(ctx, db, id, req[0] == opDecommission); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown cluster call %q", req[0])
}

func (s *Server) kvDB() *kv.DB {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db
}

// awaitMembership decides this node's ID: the one in the store; else, with
// no join list, 1 (a new single-node cluster); else the one a member gives
// on join, or 1 if an operator runs `outpost init` against this node first.
func (s *Server) awaitMembership(ctx context.Context) (id int32, bootstrap bool, err error) {
	if id, err = readNodeID(s.engine); err != nil || id != 0 {
		return id, false, err
	}
	if len(s.cfg.Join) == 0 {
		return 1, true, nil
	}
	s.log.Info("waiting to join a cluster (or for `outpost init`)", "join", strings.Join(s.cfg.Join, ","))
	backoff := 200 * time.Millisecond
	lastLog := time.Now()
	for {
		for _, addr := range s.cfg.Join {
			if addr == s.listenAddr {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			resp, err := rpc.CallCluster(cctx, addr, append([]byte{opJoin}, s.listenAddr...))
			cancel()
			if err == nil {
				nid, book, err := decodeJoinReply(resp)
				if err != nil {
					return 0, false, err
				}
				for k, v := range book {
					s.addrs.set(k, v)
				}
				return nid, false, nil
			}
			if time.Since(lastLog) > 10*time.Second {
				s.log.Info("still waiting to join", "last_err", err)
				lastLog = time.Now()
			}
		}
		select {
		case <-s.initCh:
			return 1, true, nil
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// InitCluster asks the node listening at addr to bootstrap a new cluster.
func InitCluster(ctx context.Context, addr string) error {
	_, err := rpc.CallCluster(ctx, addr, []byte{opInit})
	return err
}

// SetDecommissioning asks the node at addr to mark node id as leaving.
func SetDecommissioning(ctx context.Context, addr string, id int32, on bool) error {
	op := byte(opDecommission)
	if !on {
		op = opRecommission
	}
	_, err := rpc.CallCluster(ctx, addr, binary.BigEndian.AppendUint32([]byte{op}, uint32(id)))
	return err
}

// rangeReporter answers SHOW RANGES: the ranges the meta records list,
// with the status of this node's replica where it holds one, and splits
// ranges for ALTER TABLE ... SPLIT AT.
type rangeReporter struct{ s *Server }

func (rr rangeReporter) Ranges(ctx context.Context) ([]sql.RangeInfo, error) {
	s := rr.s
	descs, err := rr.metaDescriptors(ctx)
	if err != nil {
		s.log.Warn("SHOW RANGES: reading the meta records failed; listing local replicas only", "err", err)
	}
	local := map[int64]*replication.Replica{}
	for _, r := range s.store.Replicas() {
		d := r.Desc()
		if d.EndKey == nil {
			continue
		}
		local[d.RangeID] = r
		if err != nil || !slices.ContainsFunc(descs, func(m kvpb.RangeDescriptor) bool { return m.RangeID == d.RangeID }) {
			descs = append(descs, d)
		}
	}
	slices.SortFunc(descs, func(a, b kvpb.RangeDescriptor) int { return bytes.Compare(a.StartKey, b.StartKey) })
	localities := map[int32]string{}
	s.dbMu.RLock()
	live := s.live
	s.dbMu.RUnlock()
	if live != nil {
		for _, rec := range live.Records() {
			localities[rec.ID] = rec.Locality
		}
	}
	var out []sql.RangeInfo
	for _, d := range descs {
		info := sql.RangeInfo{RangeID: d.RangeID, StartKey: d.StartKey, EndKey: d.EndKey, ClosedLag: -1}
		if r := local[d.RangeID]; r != nil {
			d = r.Desc() // this replica's copy is at least as new
			st := r.Status()
			info.RaftLeader, info.AppliedIndex, info.CommitIndex = int32(st.Leader), st.AppliedIndex, st.Commit
			if st.Lease.Evaluate(s.clock.Now(), 0, hlc.Timestamp{}) == lease.Valid {
				info.LeaseHolder = st.Lease.Replica
			}
			if n, err := s.engine.ApproximateSize(d.StartKey, d.EndKey); err == nil {
				info.ApproxSizeBytes = int64(n)
			}
			if c := r.ClosedTimestamp(); !c.IsEmpty() {
				info.ClosedLag = time.Duration(s.clock.Now().WallTime - c.WallTime)
			}
		}
		var locs []string
		for _, rep := range d.Replicas {
			l := fmt.Sprintf("n%d", rep.NodeID)
			if loc := localities[rep.NodeID]; loc != "" {
				l += ":" + loc
			}
			if rep.Type == kvpb.NonVoter {
				l += "(non-voter)"
			}
			locs = append(locs, l)
		}
		info.ReplicaLocalities = strings.Join(locs, " ")
		for _, rep := range d.Replicas {
			if rep.Type == kvpb.NonVoter {
				info.Learners = append(info.Learners, rep.NodeID)
			} else {
				info.Voters = append(info.Voters, rep.NodeID)
			}
		}
		slices.Sort(info.Voters)
		slices.Sort(info.Learners)
		out = append(out, info)
	}
	return out, nil
}

// metaDescriptors reads every range descriptor from the meta records.
func (rr rangeReporter) metaDescriptors(ctx context.Context) ([]kvpb.RangeDescriptor, error) {
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: keys.MetaKey(keys.MinSplitKey), EndKey: keys.MetaMax}})
	resp, err := rr.s.router.Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	var out []kvpb.RangeDescriptor
	for _, row := range resp.Responses[0].(*kvpb.ScanResponse).Rows {
		d, err := kvpb.DecodeRangeDescriptor(row.Value)
		if err != nil {
			return nil, fmt.Errorf("meta record %s: %w", row.Key, err)
		}
		out = append(out, *d)
	}
	return out, nil
}

// Split implements sql.RangeReporter.
func (rr rangeReporter) Split(ctx context.Context, key []byte) (left, right int64, err error) {
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.AdminSplitRequest{SplitKey: key})
	resp, err := rr.s.router.Send(ctx, ba)
	if err != nil {
		return 0, 0, err
	}
	sr := resp.Responses[0].(*kvpb.AdminSplitResponse)
	return sr.Left.RangeID, sr.Right.RangeID, nil
}
