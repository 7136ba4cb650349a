package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/outpostdb/outpost/kv/concurrency/txnwait"
	"github.com/outpostdb/outpost/kv/eval"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/mvcc"
)

// Conflicts across ranges.
//
// A request that meets a pending intent does not read the holder's record
// itself: the record may be on another range. It sends PushTxn through
// Config.Sender to the range of the record, whose store (servePush) decides
// under the record's latch (eval: finalized → answer, abandoned → abort)
// and otherwise waits in its own txnwait queue, outside latches, for a
// bounded time. The pusher loops until the holder is finalized, then
// resolves the intent here. Between rounds a transactional pusher asks its
// own record's range which transactions wait on it (QueryTxn); finding its
// pushee among them closes a cycle (see DESIGN.md).

func (s *Store) sender() kvrpc.Handler {
	if s.cfg.Sender != nil {
		return s.cfg.Sender
	}
	return s
}

func (s *Store) bounds() kvpb.Span {
	if s.cfg.Bounds == nil {
		return kvpb.Span{}
	}
	return s.cfg.Bounds()
}

// checkBounds refuses a batch addressing keys outside bounds.
func checkBounds(ba *kvpb.BatchRequest, bounds kvpb.Span) error {
	for _, r := range ba.Requests {
		sp := ba.AddressOf(r)
		inside := eval.InBounds(sp.Key, bounds)
		if inside && sp.EndKey != nil && len(bounds.EndKey) > 0 {
			inside = bytes.Compare(sp.EndKey, bounds.EndKey) <= 0
		}
		if !inside {
			return &kvpb.RangeKeyMismatchError{RequestedSpan: sp}
		}
	}
	return nil
}

// evalRecordOp evaluates a batch of one record request under latches.
func (s *Store) evalRecordOp(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	resp, wie, err := s.evaluateOnce(ctx, ba)
	if wie != nil {
		return nil, fmt.Errorf("local: %s met an intent: %w", ba.Requests[0].Method(), wie)
	}
	return resp, err
}

func abortedWhileWaiting(pushee kvpb.TxnMeta) error {
	return &kvpb.TransactionAbortedError{Msg: fmt.Sprintf("aborted while waiting for txn %s (deadlock victim)", pushee.Short())}
}

// servePush serves a PushTxn on the range holding the pushee's record:
// register in the queue before reading the record (so that a finalization
// in between is not missed), evaluate, and if the pushee is pending wait
// for it at most LivenessCheckInterval before answering again.
func (s *Store) servePush(ctx context.Context, ba *kvpb.BatchRequest, r *kvpb.PushTxnRequest) (*kvpb.BatchResponse, error) {
	if r.Force || r.NoWait {
		return s.evalRecordOp(ctx, ba)
	}
	var pusher *kvpb.TxnMeta
	if r.Pusher.ID != (kvpb.TxnID{}) {
		p := r.Pusher
		pusher = &p
	}
	w, victim := s.waitq.Enqueue(pusher, r.Pushee, r.WaitsFor)
	defer s.waitq.Dequeue(w)
	if victim != nil {
		// A cycle within this queue: every edge of it is known here.
		log.Printf("kv: deadlock among waiting transactions; aborting %s (priority %d)", victim.Short(), victim.Priority)
		if err := s.abortVictim(ctx, *victim); err != nil {
			return nil, err
		}
	}
	for round := 0; ; round++ {
		select {
		case <-w.Aborted:
			return nil, abortedWhileWaiting(r.Pushee)
		default:
		}
		resp, err := s.evalRecordOp(ctx, ba)
		if err != nil || round == 1 {
			return resp, err
		}
		pr := resp.Responses[0].(*kvpb.PushTxnResponse)
		if pr.Pushee.Status.IsFinalized() || pr.Missing {
			// A missing record is either not written yet or finalized and
			// gone; only the pusher can tell (is its intent still there?).
			return resp, nil
		}
		t := time.NewTimer(s.cfg.LivenessCheckInterval)
		select {
		case <-w.Done:
		case <-w.Aborted:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.stopper:
			t.Stop()
			return nil, errStopped
		}
		t.Stop()
	}
}

// serveQuery serves a QueryTxn: the record, and the waits-for edges into
// the transaction that this range's queue knows.
func (s *Store) serveQuery(ctx context.Context, ba *kvpb.BatchRequest, r *kvpb.QueryTxnRequest) (*kvpb.BatchResponse, error) {
	resp, err := s.evalRecordOp(ctx, ba)
	if err != nil {
		return nil, err
	}
	resp.Responses[0].(*kvpb.QueryTxnResponse).WaitsFor = s.waitq.EdgesInto(r.Txn.ID)
	return resp, nil
}

// sendRecordOp sends one record request through the Sender.
func (s *Store) sendRecordOp(ctx context.Context, req kvpb.Request) (kvpb.Response, error) {
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: s.clock.Now()}}
	ba.Add(req)
	resp, err := s.sender().Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	return resp.Responses[0], nil
}

// abortVictim aborts a deadlock victim wherever its record is, and wakes
// its waits in this store's queue.
func (s *Store) abortVictim(ctx context.Context, victim kvpb.TxnMeta) error {
	if _, err := s.sendRecordOp(ctx, &kvpb.PushTxnRequest{Pushee: victim, Force: true}); err != nil {
		return fmt.Errorf("local: aborting deadlock victim %s: %w", victim.Short(), err)
	}
	s.waitq.Finalize(victim.ID)
	return nil
}

// handleConflicts waits for (or aborts) the holders of the intents, then
// resolves the intents so that the batch can be retried.
func (s *Store) handleConflicts(ctx context.Context, pusher *kvpb.Transaction, wie *kvpb.WriteIntentError) error {
	done := map[kvpb.TxnID]bool{}
	for _, in := range wie.Intents {
		if done[in.Txn.ID] {
			continue
		}
		done[in.Txn.ID] = true
		if err := s.pushAndResolve(ctx, pusher, in); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) pushAndResolve(ctx context.Context, pusher *kvpb.Transaction, in kvpb.Intent) error {
	req := &kvpb.PushTxnRequest{Pushee: in.Txn, From: s.Coordinator()}
	if pusher != nil {
		req.Pusher = pusher.TxnMeta
	}
	backoff := 5 * time.Millisecond
	for {
		// The pushee's range may be another store's: a stopping store
		// must not wait for it.
		if err := s.checkStopped(); err != nil {
			return err
		}
		resp, err := s.sendRecordOp(ctx, req)
		if err != nil {
			return err
		}
		pr := resp.(*kvpb.PushTxnResponse)
		if pr.Pushee.Status.IsFinalized() {
			return s.resolve(ctx, in.Key, pr.Pushee.TxnMeta, pr.Pushee.Status)
		}
		if pr.Missing {
			// Finalized and cleaned up (the intent is gone: retrying
			// succeeds), or the record is not written yet.
			if still, err := s.intentStillThere(in); err != nil || !still {
				return err
			}
			if err := s.sleep(ctx, backoff); err != nil {
				return err
			}
			backoff = min(2*backoff, s.cfg.LivenessCheckInterval)
			continue
		}
		// Still pending after a wait. A transaction that writes (has an
		// anchor) may be in a cycle: ask its record's range who waits on it.
		if pusher == nil || len(pusher.Key) == 0 {
			continue
		}
		qresp, err := s.sendRecordOp(ctx, &kvpb.QueryTxnRequest{Txn: pusher.TxnMeta})
		if err != nil {
			return err
		}
		qr := qresp.(*kvpb.QueryTxnResponse)
		if qr.Txn.Status == kvpb.ABORTED {
			return abortedWhileWaiting(in.Txn)
		}
		req.WaitsFor = qr.WaitsFor
		if victim := CycleVictim(pusher.TxnMeta, in.Txn, qr.WaitsFor); victim != nil {
			log.Printf("kv: deadlock across ranges; aborting %s (priority %d)", victim.Short(), victim.Priority)
			if err := s.abortVictim(ctx, *victim); err != nil {
				return err
			}
			if victim.ID == pusher.ID {
				return abortedWhileWaiting(in.Txn)
			}
		}
	}
}

// CycleVictim returns the victim of the waits-for cycle through self, if
// any: self waits on pushee, and edges are the edges into self known at its
// record's range. Each transaction waits on at most one other at a time, so
// following the holder of each waiter from pushee either returns to self
// (a cycle) or ends. The victim is the least valuable member
// (txnwait.LessValuable), which every member computes alike.
func CycleVictim(self, pushee kvpb.TxnMeta, edges []kvpb.WaitEdge) *kvpb.TxnMeta {
	holder := make(map[kvpb.TxnID]kvpb.TxnMeta, len(edges))
	meta := make(map[kvpb.TxnID]kvpb.TxnMeta, len(edges))
	for _, e := range edges {
		holder[e.Waiter.ID] = e.Holder
		meta[e.Waiter.ID] = e.Waiter
	}
	victim := self
	cur := pushee
	for steps := 0; steps <= len(edges); steps++ {
		if cur.ID == self.ID {
			return &victim
		}
		m, ok := meta[cur.ID]
		if !ok {
			m = cur
		}
		if txnwait.LessValuable(m, victim) {
			victim = m
		}
		next, ok := holder[cur.ID]
		if !ok {
			return nil
		}
		cur = next
	}
	return nil
}

// sleep waits d unless ctx ends or the store stops.
func (s *Store) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopper:
		return errStopped
	}
}

func (s *Store) checkStopped() error {
	select {
	case <-s.stopper:
		return errStopped
	default:
		return nil
	}
}

func (s *Store) intentStillThere(in kvpb.Intent) (bool, error) {
	_, _, err := mvcc.Get(s.engine, in.Key, hlc.MaxTimestamp, mvcc.ReadOptions{})
	var wie *kvpb.WriteIntentError
	if errors.As(err, &wie) {
		return wie.Intents[0].Txn.ID == in.Txn.ID, nil
	}
	return false, err
}

// resolveFinishedNoWait serves a NOWAIT batch that met intents: intents of
// finalized or abandoned transactions are resolved (the caller retries);
// a live holder makes the batch fail with wie.
func (s *Store) resolveFinishedNoWait(ctx context.Context, wie *kvpb.WriteIntentError) error {
	for _, in := range wie.Intents {
		resp, err := s.sendRecordOp(ctx, &kvpb.PushTxnRequest{Pushee: in.Txn, NoWait: true, From: s.Coordinator()})
		if err != nil {
			return err
		}
		pr := resp.(*kvpb.PushTxnResponse)
		if pr.Missing {
			still, err := s.intentStillThere(in)
			if err != nil {
				return err
			}
			if still {
				return wie
			}
			continue
		}
		if !pr.Pushee.Status.IsFinalized() {
			return wie
		}
		if err := s.resolve(ctx, in.Key, pr.Pushee.TxnMeta, pr.Pushee.Status); err != nil {
			return err
		}
	}
	return nil
}
