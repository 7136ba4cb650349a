// Package router is the range-aware sender ("DistSender") between kv.DB
// and the nodes: it finds which ranges a batch addresses, splits the batch
// per range when it spans several, sends each part to the range's
// leaseholder and merges the answers back into one response in request
// order.
//
// What it owns:
//
//   - A range cache (rangeCache): non-overlapping descriptors keyed by end
//     key, filled by meta lookups on a miss and corrected by
//     RangeKeyMismatchErrors, whose Ranges are the truth of the refusing
//     node. The range containing key k is described by the first meta
//     record after keys.MetaKey(k); the meta span lies in the first range,
//     which is found like any leaseholder (try nodes, follow hints).
//     Concurrent lookups of one key share one meta read. A cluster without
//     meta records (none written yet) is routed as one range r1 covering
//     the keyspace, until a RangeKeyMismatchError teaches better.
//   - A leaseholder cache per range (rangeID → node). Without an entry the
//     router tries the local node, then the descriptor's replicas, then
//     every node, following NotLeaseHolderError hints at once.
//   - Batch splitting: every request is routed by ba.AddressOf, so new
//     request types route without changes here. A batch within one range
//     is sent as is. Otherwise point requests go to their range and span
//     requests (Scan, DeleteRange, ResolveIntent, Refresh, GC) are
//     truncated to each range they overlap; parts are sent one after the
//     other in key order (runs of reverse scans in reverse key order), and
//     the responses merged (see split.go). Scan MaxKeys holds across
//     ranges, and a scan stopped by it carries a ResumeSpan naming exactly
//     the keys it did not read. An EndTxn in a split batch is sent last,
//     alone, once every other part succeeded. Each part carries the
//     transaction as updated by the parts before it (forwarded write
//     timestamp, observed timestamps); the response carries the merge of
//     all. A non-transactional batch that spans ranges reads at one
//     timestamp: Config.Clock's, or else the one the first part ran at.
//
// Retry rules: a batch (or one part of a split batch) is resent only when
// the error proves it was not evaluated: kvrpc.ErrUnavailable and
// NotLeaseHolderError (another replica is tried), RangeKeyMismatchError
// (the cache is corrected and the part re-split and resent; parts already
// answered are not resent; a mismatch listing no ranges comes from a node
// without a replica there, and another replica is tried). Anything else,
// AmbiguousResultError included, goes back to the caller: a write whose
// fate is unknown must not be applied twice. If no replica of a range
// serves within Config.Timeout (and the caller's deadline), Send returns
// a *kvpb.RangeUnavailableError naming that range.
//
// A split batch is not atomic: when a part fails, the first error is
// returned and the parts before it stay applied. For a transactional batch
// that is acceptable because its writes are intents, provisional until
// the transaction commits: the coordinator either retries the statement
// (rewriting its own intents) or aborts, and EndTxn cleans up every lock
// span the coordinator tracked. (kv.Txn therefore remembers the keys of a
// failed batch for its rollback, and Txn.Write, which promises an atomic
// batch, takes back what the applied parts wrote when it fails.)
// Non-transactional writes spanning ranges are not atomic either; nothing
// sends those except maintenance (GC, intent resolution), which is
// idempotent.
//
// It imports kv/kvpb, kv/kvrpc, kv/keys and kv/hlc only; never replication.
package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// Dialer returns a handler that sends to node, or an error wrapping
// kvrpc.ErrUnavailable.
type Dialer func(node int32) (kvrpc.Handler, error)

// Config configures a Router.
type Config struct {
	// Nodes returns the IDs of the nodes that may hold replicas.
	Nodes func() []int32
	Dial  Dialer
	// Timeout bounds each search for a replica that serves a range (and
	// for its descriptor); a split batch searches once per range. Default
	// 10s.
	Timeout time.Duration
	// Local, if non-zero, is tried first when no leaseholder is known.
	Local int32
	// Clock, if set, picks the timestamp of a non-transactional batch
	// without one that spans several ranges, so that all parts read at
	// the same time. Without it the first part's timestamp is used.
	Clock func() hlc.Timestamp
}

// metaUnknownRangeID is the leaseholder-cache slot of the range holding
// meta while its descriptor is not cached.
const metaUnknownRangeID = 0

// Router is a kvrpc.Handler that routes. Safe for concurrent use.
type Router struct {
	cfg   Config
	cache rangeCache

	lhMu         sync.Mutex
	leaseholders map[int64]int32

	lookupMu sync.Mutex
	lookups  map[string]*lookupCall
}

var _ kvrpc.Handler = (*Router)(nil)

// New returns a Router.
func New(cfg Config) *Router {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	r := &Router{cfg: cfg, leaseholders: map[int64]int32{}, lookups: map[string]*lookupCall{}}
	if cfg.Local != 0 {
		r.leaseholders[metaUnknownRangeID] = cfg.Local
	}
	return r
}

// LeaseHolder returns the node the router currently believes holds the
// lease of the first range (0 if unknown).
func (r *Router) LeaseHolder() int32 {
	if d := r.cache.lookup(keys.MetaPrefix, false); d != nil {
		if lh := r.LeaseHolderOf(d.RangeID); lh != 0 {
			return lh
		}
	}
	return r.LeaseHolderOf(metaUnknownRangeID)
}

// LeaseHolderOf returns the node believed to hold rangeID's lease (0 if
// unknown).
func (r *Router) LeaseHolderOf(rangeID int64) int32 {
	r.lhMu.Lock()
	defer r.lhMu.Unlock()
	return r.leaseholders[rangeID]
}

// CachedRanges returns the cached descriptors in key order (tests,
// debugging). They must not be modified.
func (r *Router) CachedRanges() []*kvpb.RangeDescriptor { return r.cache.all() }

// Send implements kvrpc.Handler.
func (r *Router) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	// Routing reads every request's address: refuse what would not
	// address anything before looking at it.
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	return r.send(ctx, ba)
}

// search bounds one search for a serving replica (or an up-to-date
// descriptor): Config.Timeout from its start. Each range of a split batch
// gets its own, so a long multi-range operation that keeps making
// progress never times out.
type search struct {
	deadline time.Time
	timeout  time.Duration
}

func (r *Router) newSearch() *search {
	return &search{deadline: time.Now().Add(r.cfg.Timeout), timeout: r.cfg.Timeout}
}

// wait backs off before the next attempt, or returns the error that ends
// the search: the caller's, or RangeUnavailableError past the deadline.
func (st *search) wait(ctx context.Context, d time.Duration, rangeID int64, lastErr error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if time.Now().After(st.deadline) {
		if rangeID == metaUnknownRangeID {
			rangeID = 1 // the first range holds meta
		}
		return &kvpb.RangeUnavailableError{RangeID: rangeID, Msg: fmt.Sprintf("no replica could serve within %s; last error: %v", st.timeout, lastErr)}
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send routes ba: as is when its addresses lie in one range, else split.
func (r *Router) send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	span := batchSpan(ba)
	backoff := time.Duration(0)
	st := r.newSearch()
	for {
		desc, err := r.rangeFor(ctx, span.Key, false)
		if err != nil {
			return nil, err
		}
		if !desc.ContainsSpan(span) {
			return r.divide(ctx, ba)
		}
		resp, err := r.sendToRange(ctx, desc, ba)
		var mm *kvpb.RangeKeyMismatchError
		if !errors.As(err, &mm) {
			return resp, err
		}
		r.onMismatch(desc, mm)
		// A refusal that taught nothing new (meta lagging behind a split)
		// is retried after a growing pause.
		if err := st.wait(ctx, backoff, desc.RangeID, err); err != nil {
			return nil, err
		}
		backoff = min(max(2*backoff, time.Millisecond), 100*time.Millisecond)
	}
}

// batchSpan is the smallest span containing every address of ba.
func batchSpan(ba *kvpb.BatchRequest) kvpb.Span {
	var s kvpb.Span
	for i, req := range ba.Requests {
		a := ba.AddressOf(req)
		if i == 0 || keyLess(a.Key, s.Key) {
			s.Key = a.Key
		}
		if e := a.End(); i == 0 || keyLess(s.EndKey, e) {
			s.EndKey = e
		}
	}
	return s
}

// onMismatch corrects the cache after desc's replica refused a batch.
func (r *Router) onMismatch(desc *kvpb.RangeDescriptor, mm *kvpb.RangeKeyMismatchError) {
	if desc.RangeID != metaUnknownRangeID {
		r.cache.evict(desc)
	}
	for i := range mm.Ranges {
		r.cache.insert(&mm.Ranges[i])
	}
}

// sendToRange sends ba to a replica of desc, trying replicas until one
// serves or an error says the batch may have been evaluated. A
// RangeKeyMismatchError is returned for the caller to re-route, except
// while looking for meta's range without its descriptor (metaUnknown),
// where it only means "not this node".
func (r *Router) sendToRange(ctx context.Context, desc *kvpb.RangeDescriptor, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	rangeID := desc.RangeID
	var log *kvrpc.ReadLog
	if ba.FollowerRead {
		log = kvrpc.ReadLogFrom(ctx)
		if ba.FollowerReadWait != 0 && log != nil && log.FellBack() {
			// An earlier batch of the same statement already went to a
			// leaseholder: waiting now would add to that round trip
			// instead of saving it.
			ba = withoutWait(ba)
		}
		if resp, err, done := r.tryLocalFollowerRead(ctx, desc, ba, log); done {
			return resp, err
		}
		if ba.FollowerReadWait != 0 {
			// Waiting pays off only at this node's own replica, which
			// refused or was skipped: elsewhere the read goes as usual.
			ba = withoutWait(ba)
		}
	}
	st := r.newSearch()
	backoff := 10 * time.Millisecond
	var lastErr error
	var round []int32
	hints, noReplica := 0, 0
	for {
		target := r.LeaseHolderOf(rangeID)
		if target == 0 {
			if len(round) == 0 {
				if lastErr != nil {
					// Every candidate failed once: an election may be on.
					if err := st.wait(ctx, backoff, rangeID, lastErr); err != nil {
						return nil, err
					}
					backoff = min(2*backoff, 200*time.Millisecond)
				}
				round = r.candidates(desc)
				if len(round) == 0 {
					return nil, &kvpb.RangeUnavailableError{RangeID: max(rangeID, 1), Msg: "no nodes known"}
				}
			}
			target, round = round[0], round[1:]
		}
		resp, err := r.sendTo(ctx, target, ba)
		if err == nil {
			r.setLeaseHolder(rangeID, 0, target)
			if log != nil {
				log.Served(r.readPart(desc, target, resp))
			}
			return resp, nil
		}
		lastErr = err
		var nlh *kvpb.NotLeaseHolderError
		var mm *kvpb.RangeKeyMismatchError
		switch {
		case errors.As(err, &nlh):
			if nlh.LeaseHolder != 0 && nlh.LeaseHolder != target && hints < 8 {
				// A hint is worth following at once (but not forever:
				// two nodes may point at each other during a change).
				hints++
				r.setLeaseHolder(rangeID, target, nlh.LeaseHolder)
				r.setLeaseHolder(rangeID, 0, nlh.LeaseHolder)
				continue
			}
			r.setLeaseHolder(rangeID, target, 0)
		case errors.As(err, &mm) && rangeID == metaUnknownRangeID:
			r.onMismatch(desc, mm)
			r.setLeaseHolder(rangeID, target, 0)
			if d := r.cache.lookup(keys.MetaPrefix, false); d != nil {
				return nil, err // now the caller can route by descriptor
			}
		case errors.As(err, &mm) && len(mm.Ranges) == 0:
			// The node knows no range here: it holds no replica of this
			// one (a stale replica list or leaseholder entry). Try the
			// others; if none serves either, the descriptor itself is
			// suspect and the caller looks it up again.
			r.setLeaseHolder(rangeID, target, 0)
			if noReplica++; noReplica >= len(r.candidates(desc)) {
				return nil, err
			}
		case errors.Is(err, kvrpc.ErrUnavailable):
			r.setLeaseHolder(rangeID, target, 0)
		default:
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := st.wait(ctx, 0, rangeID, lastErr); err != nil {
			return nil, err
		}
	}
}

// candidates lists the nodes to try for desc when its leaseholder is
// unknown: the local node if it may hold a replica, the replicas (voters
// first, since only they hold leases), then every other node, in case the
// descriptor is stale.
// tryLocalFollowerRead sends a FollowerRead batch to this node's own
// replica first, when it has one and does not hold the lease: that is the
// point of follower reads (an edge node answers from its own data). The
// local replica may wait up to ba.FollowerReadWait for the timestamp to be
// closed there (read-your-writes). A refusal (the timestamp is not closed
// there yet, an intent, no replica) proves nothing was evaluated, so the
// batch then goes the usual way to the leaseholder. done is false when the
// local replica was not tried or refused. log, if not nil, records who
// served and why the local replica refused.
func (r *Router) tryLocalFollowerRead(ctx context.Context, desc *kvpb.RangeDescriptor, ba *kvpb.BatchRequest, log *kvrpc.ReadLog) (_ *kvpb.BatchResponse, _ error, done bool) {
	self := r.cfg.Local
	if self == 0 || r.LeaseHolderOf(desc.RangeID) == self {
		return nil, nil, false
	}
	// The cached descriptor may not list a replica added since; asking
	// the local store costs no network round trip.
	resp, err := r.sendTo(ctx, self, ba)
	var nlh *kvpb.NotLeaseHolderError
	var mm *kvpb.RangeKeyMismatchError
	switch {
	case err == nil:
		if log != nil {
			log.Served(r.readPart(desc, self, resp))
		}
		return resp, nil, true
	case errors.As(err, &nlh), errors.As(err, &mm), errors.Is(err, kvrpc.ErrUnavailable):
		if nlh != nil && nlh.LeaseHolder != 0 && nlh.LeaseHolder != self {
			// The refusal names the leaseholder: go there next rather
			// than asking this node again as the first candidate.
			r.setLeaseHolder(desc.RangeID, 0, nlh.LeaseHolder)
		}
		if log != nil {
			why := err.Error()
			if nlh != nil && nlh.Msg != "" {
				why = nlh.Msg
			}
			log.Refused(fmt.Sprintf("r%d on n%d: %s", desc.RangeID, self, why))
		}
		return nil, nil, false
	default:
		return nil, err, true
	}
}

// withoutWait is a copy of ba with FollowerReadWait cleared.
func withoutWait(ba *kvpb.BatchRequest) *kvpb.BatchRequest {
	cp := *ba
	cp.FollowerReadWait = 0
	return &cp
}

// readPart describes node's service of a batch of desc's range.
func (r *Router) readPart(desc *kvpb.RangeDescriptor, node int32, resp *kvpb.BatchResponse) kvrpc.ReadPart {
	return kvrpc.ReadPart{RangeID: desc.RangeID, Node: node, Local: node == r.cfg.Local, Follower: resp.FollowerServed, Type: resp.FollowerType}
}

func (r *Router) candidates(desc *kvpb.RangeDescriptor) []int32 {
	var out []int32
	seen := map[int32]bool{}
	add := func(n int32) {
		if n != 0 && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if _, ok := desc.Replica(r.cfg.Local); ok || len(desc.Replicas) == 0 {
		add(r.cfg.Local)
	}
	for _, t := range []kvpb.ReplicaType{kvpb.Voter, kvpb.NonVoter} {
		for _, rd := range desc.Replicas {
			if rd.Type == t {
				add(rd.NodeID)
			}
		}
	}
	if r.cfg.Nodes != nil {
		for _, n := range r.cfg.Nodes() {
			add(n)
		}
	}
	return out
}

// setLeaseHolder sets rangeID's leaseholder to to if it is currently from
// (compare and swap; from 0 means "unknown").
func (r *Router) setLeaseHolder(rangeID int64, from, to int32) {
	r.lhMu.Lock()
	defer r.lhMu.Unlock()
	if r.leaseholders[rangeID] != from {
		return
	}
	if to == 0 {
		delete(r.leaseholders, rangeID)
	} else {
		r.leaseholders[rangeID] = to
	}
}

func (r *Router) sendTo(ctx context.Context, node int32, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	h, err := r.cfg.Dial(node)
	if err != nil {
		return nil, err
	}
	return h.Send(ctx, ba)
}
