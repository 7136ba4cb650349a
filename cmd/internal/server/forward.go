package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv/liveness"
	"github.com/outpostdb/outpost/replication/rpc"
	"github.com/outpostdb/outpost/sql"
)

// coreForwarder is the sql.Forwarder of an edge node: it sends forwarded
// write transactions to a core node over the node's RPC connections (the
// same links, and simulated latencies, as everything else).
type coreForwarder struct {
	s *Server
	// The last pick, reused for targetTTL (picking scans the range cache
	// and the node table) unless a call to it failed.
	mu     sync.Mutex
	picked int32
	at     time.Time
}

const targetTTL = time.Second

func (f *coreForwarder) Forward(ctx context.Context, to int32, req []byte) ([]byte, int32, error) {
	if to == 0 {
		var err error
		if to, err = f.cachedTarget(); err != nil {
			return nil, 0, sql.NotSent(err)
		}
	}
	resp, err := f.s.rpc.CallSQL(ctx, to, req)
	if err != nil {
		f.mu.Lock()
		f.picked = 0
		f.mu.Unlock()
		if errors.Is(err, rpc.ErrNotSent) {
			err = sql.NotSent(err)
		}
	}
	return resp, to, err
}

func (f *coreForwarder) cachedTarget() (int32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.picked != 0 && time.Since(f.at) < targetTTL {
		return f.picked, nil
	}
	to, err := f.target()
	if err != nil {
		return 0, err
	}
	f.picked, f.at = to, time.Now()
	return to, nil
}

// target picks the core node to forward to: a node that may hold voters,
// live ones first, preferring the one this node's router believes holds
// the most leases (its commit is then mostly local there), then the
// nearest.
func (f *coreForwarder) target() (int32, error) {
	s := f.s
	s.dbMu.RLock()
	live := s.live
	s.dbMu.RUnlock()
	if live == nil {
		return 0, fmt.Errorf("node is not part of a cluster yet")
	}
	leases := map[int32]int{}
	for _, d := range s.router.CachedRanges() {
		if lh := s.router.LeaseHolderOf(d.RangeID); lh != 0 {
			leases[lh]++
		}
	}
	now := time.Now()
	var cands []liveness.Record
	for _, r := range live.Records() {
		if !r.Edge && !r.Decommissioning && r.ID != s.nodeID {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return 0, fmt.Errorf("no core node to forward to")
	}
	// Live nodes first; but liveness as this node last read it may lag
	// (just after a partition healed), so a node not known live is still
	// tried rather than none.
	liveFirst := func(r liveness.Record) int {
		if r.Live(now) {
			return 0
		}
		return 1
	}
	best := slices.MinFunc(cands, func(a, b liveness.Record) int {
		return cmp.Or(
			cmp.Compare(liveFirst(a), liveFirst(b)),
			cmp.Compare(leases[b.ID], leases[a.ID]),
			cmp.Compare(s.faults.Delay(s.nodeID, a.ID), s.faults.Delay(s.nodeID, b.ID)),
			cmp.Compare(a.ID, b.ID))
	})
	return best.ID, nil
}
