package kvtest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/router"
	"github.com/outpostdb/outpost/kv/storage"
)

// MultiOptions tune StartMulti: a kv of several static ranges behind the
// range-aware router, without Raft.
//
// Every range is served by a kv/local.Store (RangeID set) over ONE shared
// engine, and every "node" holds a replica of every range; range i's
// leaseholder is node 1 + i%Nodes, the other nodes refuse with a
// NotLeaseHolderError naming it. A node refuses a batch that crosses its
// range with a RangeKeyMismatchError listing the ranges it overlaps. Meta
// records (keys.MetaKey(end) → descriptor) are written at start, so the
// router finds ranges the way it does in a cluster.
//
// Unless SharedStore is set, each range's store reaches the others through
// the router (local.Config.Sender: pushes, remote intent resolution) and
// resolves at commit only the intents inside its bounds, as the ranges of
// a real cluster do. SharedStore serves every range with one store (global
// latches, wait queue and timestamp cache) behind the same dispatch.
type MultiOptions struct {
	// Options: Dir, MemFS, Clock, Store (the base config of every range's
	// store) and DB as for Start.
	Options
	// Splits are the range boundaries, each at or above keys.MinSplitKey;
	// len(Splits)+1 ranges cover [keys.FirstRangeStart, keys.MaxKey).
	Splits []kvpb.Key
	// Nodes is the number of nodes (default 1).
	Nodes int
	// SharedStore serves every range with one local.Store (behind the same
	// per-range dispatch), so that concurrency control (latches, wait
	// queue, deadlock detection, timestamp cache) is global: the router's
	// splitting runs over real evaluation without the gaps above.
	SharedStore bool
	// StoreConfig, if set, adjusts the config of each range's store before
	// it is created. sender is the cluster's router, for a store that
	// needs to reach other ranges (intent resolution, pushes).
	StoreConfig func(cfg *local.Config, desc *kvpb.RangeDescriptor, sender kvrpc.Handler)
	// Router config overrides (Nodes, Dial, Local and Clock are filled in).
	Router router.Config
}

// Range is one range of a Multi.
type Range struct {
	Desc  *kvpb.RangeDescriptor
	Store *local.Store
}

// Multi is a running multi-range kv.
type Multi struct {
	Engine storage.Engine
	Clock  *hlc.Clock
	Ranges []*Range
	Nodes  []*MultiNode
	Router *router.Router
	DB     *kv.DB
	stores []*local.Store // distinct stores, to stop
}

// MultiNode is one node's dispatcher: a kvrpc.Handler that serves a batch
// with the store of the range containing it.
type MultiNode struct {
	ID int32
	m  *Multi
	// Down, when set, makes Send fail with kvrpc.ErrUnavailable.
	Down func() bool
}

// OpenMulti starts a multi-range kv, returning errors instead of failing
// a test.
func OpenMulti(opts MultiOptions) (*Multi, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	splits := slices.Clone(opts.Splits)
	slices.SortFunc(splits, func(a, b kvpb.Key) int { return bytes.Compare(a, b) })
	for i, s := range splits {
		if bytes.Compare(s, keys.MinSplitKey) < 0 || bytes.Compare(s, keys.MaxKey) >= 0 {
			return nil, fmt.Errorf("kvtest: split key %s outside [MinSplitKey, MaxKey)", s)
		}
		if i > 0 && bytes.Equal(s, splits[i-1]) {
			return nil, fmt.Errorf("kvtest: duplicate split key %s", s)
		}
	}
	cfg := storage.Config{Dir: opts.Dir, InMemory: opts.Dir == "", MemFS: opts.MemFS}
	if opts.MemFS != nil {
		cfg.Dir = "data"
	}
	eng, err := storage.Open(cfg)
	if err != nil {
		return nil, err
	}
	phys := opts.Clock
	if phys == nil {
		phys = hlc.UnixNano
	}
	clock := hlc.NewClock(phys, 500*time.Millisecond)
	if cfg.Dir != "" {
		if err := local.PersistClock(eng, clock, 500*time.Millisecond); err != nil {
			eng.Close()
			return nil, err
		}
	}
	m := &Multi{Engine: eng, Clock: clock}
	for i := 0; i < opts.Nodes; i++ {
		m.Nodes = append(m.Nodes, &MultiNode{ID: int32(i + 1), m: m})
	}
	rc := opts.Router
	rc.Nodes = func() []int32 {
		ids := make([]int32, len(m.Nodes))
		for i, n := range m.Nodes {
			ids[i] = n.ID
		}
		return ids
	}
	rc.Local = 1
	rc.Clock = clock.Now
	rc.Dial = func(id int32) (kvrpc.Handler, error) {
		if id < 1 || int(id) > len(m.Nodes) {
			return nil, fmt.Errorf("kvtest: no node n%d: %w", id, kvrpc.ErrUnavailable)
		}
		return m.Nodes[id-1], nil
	}
	m.Router = router.New(rc)

	bootIDs := make([]uint64, opts.Nodes)
	for i := range bootIDs {
		if bootIDs[i], err = local.NewBootID(); err != nil {
			eng.Close()
			return nil, err
		}
	}
	bounds := append(append([]kvpb.Key{keys.FirstRangeStart}, splits...), keys.MaxKey)
	for i := 0; i+1 < len(bounds); i++ {
		desc := &kvpb.RangeDescriptor{RangeID: int64(i + 1), StartKey: bounds[i], EndKey: bounds[i+1], Generation: 1}
		lh := int32(1 + i%opts.Nodes)
		desc.Replicas = append(desc.Replicas, kvpb.ReplicaDescriptor{NodeID: lh})
		for _, n := range m.Nodes {
			if n.ID != lh {
				desc.Replicas = append(desc.Replicas, kvpb.ReplicaDescriptor{NodeID: n.ID})
			}
		}
		rg := &Range{Desc: desc}
		if opts.SharedStore && i > 0 {
			rg.Store = m.Ranges[0].Store
		} else {
			sc := opts.Store
			if sc.GCInterval == 0 {
				sc.GCInterval = -1 // tests run GC explicitly
			}
			sc.RangeID, sc.NodeID, sc.BootID = desc.RangeID, lh, bootIDs[lh-1]
			if opts.SharedStore {
				sc.NodeID, sc.BootID = 1, bootIDs[0]
			}
			if !opts.SharedStore {
				// Each range reaches the others through the router, and
				// resolves at commit only the intents it owns.
				sc.Sender = m.Router
				d := desc
				sc.Bounds = func() kvpb.Span { return d.Span() }
			}
			if opts.StoreConfig != nil {
				opts.StoreConfig(&sc, desc, m.Router)
			}
			if rg.Store, err = local.NewStore(eng, clock, sc); err != nil {
				m.Close()
				return nil, err
			}
			m.stores = append(m.stores, rg.Store)
		}
		m.Ranges = append(m.Ranges, rg)
	}
	// Meta: one record per range at MetaKey(end), in the first range.
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: clock.Now()}}
	for _, rg := range m.Ranges {
		ba.Add(&kvpb.PutRequest{Key: keys.MetaKey(rg.Desc.EndKey), Value: kvpb.AppendRangeDescriptor(nil, rg.Desc)})
	}
	if _, err := m.Ranges[0].Store.Send(context.Background(), ba); err != nil {
		m.Close()
		return nil, fmt.Errorf("kvtest: writing meta: %w", err)
	}
	dbc := opts.DB
	dbc.Coordinator = kvpb.Coordinator{NodeID: 1, BootID: bootIDs[0]}
	m.DB = kv.NewDB(m.Router, clock, dbc)
	return m, nil
}

// StartMulti starts a multi-range kv and stops it when the test ends.
func StartMulti(tb testing.TB, opts MultiOptions) *Multi {
	tb.Helper()
	m, err := OpenMulti(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

// Close stops the stores and closes the engine.
func (m *Multi) Close() {
	if m.DB != nil {
		m.DB.WaitForCleanups()
	}
	for _, s := range m.stores {
		s.Stop()
	}
	m.stores = nil
	_ = m.Engine.Close()
}

// RangeOf returns the range containing k.
func (m *Multi) RangeOf(k kvpb.Key) *Range {
	for _, rg := range m.Ranges {
		if rg.Desc.ContainsKey(k) {
			return rg
		}
	}
	return nil
}

// Send implements kvrpc.Handler: the batch is served by the store of the
// range containing all of its addresses, if this node holds its lease.
func (n *MultiNode) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if n.Down != nil && n.Down() {
		return nil, fmt.Errorf("n%d is down: %w", n.ID, kvrpc.ErrUnavailable)
	}
	if err := ba.Validate(); err != nil {
		return nil, err
	}
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
	rg := n.m.RangeOf(span.Key)
	if rg == nil || !rg.Desc.ContainsSpan(span) {
		mm := &kvpb.RangeKeyMismatchError{RequestedSpan: span}
		for _, o := range n.m.Ranges {
			if o.Desc.Span().Overlaps(span) {
				mm.Ranges = append(mm.Ranges, *o.Desc.Clone())
			}
		}
		return nil, mm
	}
	if lh := rg.Desc.Replicas[0].NodeID; lh != n.ID {
		return nil, &kvpb.NotLeaseHolderError{RangeID: rg.Desc.RangeID, Replica: n.ID, LeaseHolder: lh, Msg: "kvtest"}
	}
	return rg.Store.Send(ctx, ba)
}
