package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication/closedts"
	"github.com/outpostdb/outpost/replication/lease"
	"github.com/outpostdb/outpost/replication/transport"
)

// Closed timestamps (see replication/closedts). The leaseholder tracks the
// writes it is evaluating and, with every write command it proposes,
// publishes a closed timestamp C: no write at or below C will ever be
// evaluated on the range again. Every replica records (C, index of the
// command) when it applies it, and may then serve reads at or below C once
// it has applied that far. Ranges without writes get their closed
// timestamps from a side channel: every ClosedTimestampInterval the
// leaseholder sends (C, its applied index) to the other replicas.
//
// Invariants:
//   - A tracked write's timestamp is above the last closed timestamp (it
//     was forwarded under the same lock), so C never reaches it; a write
//     is released only once it applied here, so writes at or below a C
//     computed later sit at indexes at or below this replica's applied
//     index at that moment (the side channel's index) or below the
//     carrying command's index.
//   - C stays below the lease expiration (C <= now - lag while the lease is
//     valid), and a new lease starts after the old one expired, so a new
//     leaseholder's writes are above every C its predecessors published:
//     published closed timestamps stay valid across lease changes.

// TrackWrite implements local.Replication.
func (r *Replica) TrackWrite(ts hlc.Timestamp) (hlc.Timestamp, func()) {
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	if !r.closed.last.Less(ts) {
		ts = r.closed.last.Next()
	}
	return ts, r.closed.tracker.Track(ts)
}

// closeLocked computes the closed timestamp to publish now. It must run
// only while this replica holds a valid lease.
func (r *Replica) closeTimestamp() hlc.Timestamp {
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	c := closedts.Close(r.store.cfg.Clock.Now(), r.store.cfg.ClosedTimestampLag, &r.closed.tracker, r.closed.last)
	r.closed.last = c
	return c
}

// recordClosed records a publication (a command's or the side channel's).
func (r *Replica) recordClosed(c hlc.Timestamp, index uint64) {
	if c.IsEmpty() {
		return
	}
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	if prev, _ := r.closed.follower.Closed(); prev.Less(c) {
		r.closed.raisedAt = time.Now()
	}
	r.closed.follower.Update(c, index)
	r.wakeFollowerWaitersLocked()
}

// Waiting follower reads (read-your-writes). A follower read whose
// timestamp is not closed here yet, or closed at a log index not applied
// yet, may wait for that (kvpb.Header.FollowerReadWait) instead of being
// refused at once. It waits on r.closed.changed, which recordClosed, the
// apply loop and a snapshot's install (notifyFollowerWaiters, after
// storing the applied index) close. No wakeup is lost: a waiter takes the
// channel under closed.mu before it checks, so an advance it does not see
// in its check happens after it took the channel, and closes that
// channel. The wait is bounded by the batch's wait and its context.

// wakeFollowerWaitersLocked wakes the waiting follower reads. closed.mu
// is held.
func (r *Replica) wakeFollowerWaitersLocked() {
	if ch := r.closed.changed; ch != nil {
		close(ch)
		r.closed.changed = nil
	}
}

// notifyFollowerWaiters wakes the waiting follower reads after entries
// applied; without waiters it costs one atomic load.
func (r *Replica) notifyFollowerWaiters() {
	if r.closed.waiters.Load() == 0 {
		return
	}
	r.closed.mu.Lock()
	r.wakeFollowerWaitersLocked()
	r.closed.mu.Unlock()
}

// waitFollowerRead waits at most maxWait (and while ctx lives) until this
// replica can serve a follower read at ts, and returns the last reason.
// It gives up as soon as ts is not expected to be closed in the time left
// (closedWait, with a quarter interval of slack for timer and delivery
// jitter: BenchmarkEdgeReadYourWrites found no slack too pessimistic at
// the boundary, a whole interval too optimistic, wasting waits that then
// fell back anyway).

func (r *Replica) waitFollowerRead(ctx context.Context, ts hlc.Timestamp, maxWait time.Duration) closedts.Reason {
	r.closed.waiters.Add(1)
	defer r.closed.waiters.Add(-1)
	deadline := time.Now().Add(maxWait)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		r.closed.mu.Lock()
		if r.closed.changed == nil {
			r.closed.changed = make(chan struct{})
		}
		ch := r.closed.changed
		closed, _ := r.closed.follower.Closed()
		raisedAt := r.closed.raisedAt
		r.closed.mu.Unlock()
		reason := r.CanServeFollowerRead(ts)
		left := time.Until(deadline)
		if reason == closedts.OK || left <= 0 || ctx.Err() != nil {
			return reason
		}
		if reason == closedts.NotClosed &&
			(closed.IsEmpty() || closedWait(ts, closed, time.Since(raisedAt), r.store.cfg.ClosedTimestampInterval) > left+r.store.cfg.ClosedTimestampInterval/4) {
			return reason // not expected within the bound
		}
		if timer == nil {
			timer = time.NewTimer(left)
		}
		select {
		case <-ch:
		case <-timer.C:
			deadline = time.Now() // one last check
		case <-ctx.Done():
		}
	}
}

// closedWait estimates how long until a follower whose closed timestamp
// is closed, last raised since ago, closes ts. Closed timestamps trail the
// leaseholder's clock by the target lag and arrive in steps of the
// side-channel interval: each publication raises them by about interval,
// so ts needs ceil((ts-closed)/interval) more, the first of which is due
// interval-since after the last. (Writes carry closed timestamps too and
// may close ts sooner: the estimate errs towards waiting less.) A stalled
// side channel (since beyond interval) counts as a publication due now.
func closedWait(ts, closed hlc.Timestamp, since, interval time.Duration) time.Duration {
	gap := time.Duration(ts.WallTime - closed.WallTime)
	if interval <= 0 || gap <= 0 {
		return max(gap, 0)
	}
	steps := (gap + interval - 1) / interval
	return steps*interval - min(max(since, 0), interval)
}

// onLeaseAcquired makes a new leaseholder close nothing below what it
// already knows was closed.
func (r *Replica) onLeaseAcquired() {
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	c, _ := r.closed.follower.Closed()
	r.closed.last.Forward(c)
}

// CanServeFollowerRead reports whether this replica may serve a read at
// ts from its own state: ts is closed and the replica applied far enough.
func (r *Replica) CanServeFollowerRead(ts hlc.Timestamp) closedts.Reason {
	r.mu.Lock()
	applied := r.mu.applied.raftIndex
	r.mu.Unlock()
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	return r.closed.follower.Check(ts, applied)
}

// ClosedTimestamp returns the newest timestamp this replica can serve
// follower reads at now (empty if none).
func (r *Replica) ClosedTimestamp() hlc.Timestamp {
	r.mu.Lock()
	applied := r.mu.applied.raftIndex
	r.mu.Unlock()
	r.closed.mu.Lock()
	defer r.closed.mu.Unlock()
	return r.closed.follower.Servable(applied)
}

// The side channel rides on the raft transport as messages of a type raft
// only uses locally (never on the wire), so both transports carry it with
// their fault injection, and Store.handleRaft takes it out before stepping:
// Commit holds the index, Context the closed timestamp.
const closedUpdateType = raftpb.MessageType_MsgUnreachable

func closedUpdate(to int32, c hlc.Timestamp, index uint64) *raftpb.Message {
	ctx := binary.BigEndian.AppendUint64(nil, uint64(c.WallTime))
	ctx = binary.BigEndian.AppendUint32(ctx, uint32(c.Logical))
	return &raftpb.Message{Type: closedUpdateType.Enum(), To: new(uint64(to)), Commit: new(index), Context: ctx}
}

func decodeClosedUpdate(m *raftpb.Message) (hlc.Timestamp, uint64, bool) {
	ctx := m.GetContext()
	if m.GetType() != closedUpdateType || len(ctx) != 12 {
		return hlc.Timestamp{}, 0, false
	}
	return hlc.Timestamp{WallTime: int64(binary.BigEndian.Uint64(ctx)), Logical: int32(binary.BigEndian.Uint32(ctx[8:]))}, m.GetCommit(), true
}

// publishClosed runs the side channel: for every range this node holds the
// lease of, close a timestamp and send it with the applied index to the
// other replicas.
func (s *Store) publishClosed() {
	now := s.cfg.Clock.Now()
	byNode := map[int32][]transport.Message{}
	for _, r := range s.Replicas() {
		if r.CheckServe(nil, now) != nil {
			continue
		}
		c := r.closeTimestamp()
		r.mu.Lock()
		index := r.mu.applied.raftIndex
		desc := r.mu.desc
		r.mu.Unlock()
		r.recordClosed(c, index)
		for _, rep := range desc.Replicas {
			if rep.NodeID != s.cfg.NodeID {
				byNode[rep.NodeID] = append(byNode[rep.NodeID], transport.Message{RangeID: r.rangeID, Msg: closedUpdate(rep.NodeID, c, index)})
			}
		}
	}
	for to, msgs := range byNode {
		_ = s.cfg.Transport.Send(s.cfg.NodeID, to, msgs)
	}
}

// FollowerReadStats counts follower reads on this store.
type FollowerReadStats struct {
	// Served locally by a replica that does not hold the lease.
	Served int64
	// Refused, so that the router sent them to the leaseholder.
	Refused int64
	// Waited counts the Served reads that first waited for their
	// timestamp to be closed or applied here (kvpb.Header.FollowerReadWait).
	Waited int64
}

// FollowerReadStats returns the store's follower read counters.
func (s *Store) FollowerReadStats() FollowerReadStats {
	return FollowerReadStats{Served: s.followerServed.Load(), Refused: s.followerRefused.Load(), Waited: s.followerWaited.Load()}
}

// tryFollowerRead serves a FollowerRead batch on a replica that does not
// hold the lease, if the batch's timestamp (and uncertainty limit) is
// closed here. served is false when the replica holds the lease: the
// normal path serves the batch.
func (s *Store) tryFollowerRead(ctx context.Context, r *Replica, ba *kvpb.BatchRequest) (resp *kvpb.BatchResponse, served bool, err error) {
	ts := ba.Timestamp
	if ba.Txn != nil {
		ts = hlc.Max(ba.Txn.ReadTimestamp, ba.Txn.GlobalUncertaintyLimit)
	}
	if ts.IsEmpty() {
		return nil, false, nil
	}
	// One critical section (this runs on every follower read): bounds,
	// lease, the replica's type and the closed-timestamp check.
	now := s.cfg.Clock.Now()
	r.mu.Lock()
	if err := r.checkBoundsLocked(ba); err != nil {
		r.mu.Unlock()
		return nil, true, err
	}
	if r.servesLeaseLocked(now, now) {
		r.mu.Unlock()
		return nil, false, nil // the leaseholder: the normal path serves
	}
	typ := kvpb.Voter
	if rd, ok := r.mu.desc.Replica(s.cfg.NodeID); ok {
		typ = rd.Type
	}
	hint := int32(0)
	if r.mu.lease.Evaluate(now, 0, hlc.Timestamp{}) == lease.Valid {
		hint = r.mu.lease.Replica
	}
	r.closed.mu.Lock() // lock order: mu before closed.mu
	reason := r.closed.follower.Check(ts, r.mu.applied.raftIndex)
	r.closed.mu.Unlock()
	r.mu.Unlock()
	refuse := func(why string) (*kvpb.BatchResponse, bool, error) {
		s.followerRefused.Add(1)
		return nil, true, &kvpb.NotLeaseHolderError{RangeID: r.rangeID, Replica: s.cfg.NodeID, LeaseHolder: hint,
			Msg: "follower read refused: " + why}
	}
	waited := false
	if reason != closedts.OK && ba.FollowerReadWait > 0 {
		start := time.Now()
		reason, waited = r.waitFollowerRead(ctx, ts, ba.FollowerReadWait), true
		if reason != closedts.OK {
			return refuse(fmt.Sprintf("%s at %s (closed %s; waited %s of %s)", reason, ts, r.ClosedTimestamp(),
				time.Since(start).Round(time.Millisecond), ba.FollowerReadWait))
		}
	}
	if reason != closedts.OK {
		return refuse(fmt.Sprintf("%s at %s (closed %s)", reason, ts, r.ClosedTimestamp()))
	}
	resp, err = r.pipeline.EvaluateFollowerRead(ctx, ba)
	var wie *kvpb.WriteIntentError
	if errors.As(err, &wie) {
		return refuse("met an intent")
	}
	if err == nil {
		s.followerServed.Add(1)
		if waited {
			s.followerWaited.Add(1)
		}
		resp.FollowerServed, resp.FollowerType = true, typ
	}
	return resp, true, err
}
