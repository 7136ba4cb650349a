package replication

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/tracker"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
)

// The raft log queue truncates every replica's raft log, one pass every
// Config.RaftLogQueueInterval. The policy:
//
//   - Never past the durable applied index: raft hands out committed
//     entries from the log for application, and a crash restarts applying
//     after the persisted applied index, so every entry above it must stay.
//     The applied state is written without sync; the truncation batch is
//     synced, and since Pebble's WAL is sequential that sync makes every
//     earlier write durable too, the applied state read before it included.
//   - A follower truncates up to its applied index: its own log is only
//     for itself (a new leader sends from its own log, or a snapshot).
//   - A leader keeps the entries its recently active followers still need
//     (the lowest Match among them, or for one receiving a snapshot the
//     index raft asked the snapshot for, where raft probes it afterwards),
//     so that they catch up from the log,
//     unless the log holds more than Config.RaftLogMaxEntries entries or
//     Config.RaftLogMaxBytes bytes: then it truncates to its applied index
//     and a follower left behind gets a snapshot. Followers not heard from
//     for two election timeouts (down, partitioned) hold nothing back.
//   - A truncation must free at least a tenth of RaftLogMaxEntries entries
//     (each one is a synced write), unless the log is over its bounds.
//
// The same pass destroys replicas removed from their range
// (maybeDestroyRemoved).
func (s *Store) raftLogQueuePass() {
	for _, r := range s.Replicas() {
		if err := r.maybeTruncateLog(); err != nil {
			s.log.Warn("raft log truncation failed", "range", r.rangeID, "err", err)
		}
		r.maybeDestroyRemoved()
	}
}

func (r *Replica) maybeTruncateLog() error {
	s := r.store
	r.snap.raftMu.Lock()
	defer r.snap.raftMu.Unlock()
	if r.snap.destroyed {
		return nil
	}
	raw, ok, err := mvcc.GetUnversioned(s.cfg.Engine, keys.RangeAppliedStateKey(r.rangeID))
	if err != nil || !ok {
		return err
	}
	applied, err := decodeAppliedState(raw)
	if err != nil {
		return err
	}
	first, _ := r.log.FirstIndex()
	last, _ := r.log.LastIndex()
	target := min(applied.raftIndex, last)
	if target < first {
		return nil
	}
	over := last-first+1 > uint64(s.cfg.RaftLogMaxEntries)
	if !over {
		size, err := r.log.ApproximateBytes()
		if err != nil {
			return err
		}
		over = size > s.cfg.RaftLogMaxBytes
	}
	active := 2 * time.Duration(s.cfg.ElectionTicks) * s.cfg.TickInterval
	r.mu.Lock()
	st := r.mu.raw.Status()
	recent := map[uint64]bool{}
	for id, at := range r.snap.heard {
		recent[id] = time.Since(at) < active
	}
	r.mu.Unlock()
	if st.RaftState == raft.StateLeader && !over {
		for id, pr := range st.Progress {
			switch {
			case id == uint64(s.cfg.NodeID) || !(pr.RecentActive || recent[id]):
			case pr.State == tracker.StateSnapshot:
				// After the snapshot, raft probes the follower at the
				// index it asked the snapshot for: keep that entry, so the
				// follower answers with its new commit index rather than
				// needing another snapshot.
				target = min(target, pr.PendingSnapshot)
			default:
				target = min(target, pr.Match)
			}
		}
	}
	if target < first {
		return nil
	}
	if gain := target - first + 1; !over && gain < uint64(max(1, s.cfg.RaftLogMaxEntries/10)) {
		return nil
	}
	term, err := r.log.Term(target)
	if err != nil {
		return err
	}
	b := s.cfg.Engine.NewBatch()
	defer b.Close()
	if err := r.log.Truncate(b, target, term); err != nil {
		r.log.Discard(b)
		if errors.Is(err, raft.ErrCompacted) {
			return nil
		}
		return err
	}
	// Synced (see above): the truncation must not outlive the applied
	// state it relies on, and it does not, the WAL being sequential.
	if err := r.log.Commit(b); err != nil {
		return fmt.Errorf("truncate to %d: %w", target, err)
	}
	return nil
}

// errReplicaDestroyed ends the Ready loop of a destroyed replica.
var errReplicaDestroyed = errors.New("replication: replica destroyed")

// maybeDestroyRemoved destroys the replica once it has applied a
// configuration without itself and stayed out of its range's
// configuration, with nothing left to apply (no entry past the applied
// index, not even uncommitted: it acknowledged nothing the leader could
// count on), for ten election timeouts.
//
// Why not at once, when the removal applies: replica IDs are node IDs, so
// a node removed and added back again replays, when its log starts at 1,
// the old removal before the new addition; destroying it there would
// throw away a replica that is about to be a member again. A replica that
// really was removed stops hearing from the leader, so its commit index
// stays at its applied index.
func (r *Replica) maybeDestroyRemoved() {
	s := r.store
	r.snap.raftMu.Lock()
	defer r.snap.raftMu.Unlock()
	if r.snap.destroyed {
		return
	}
	self := uint64(s.cfg.NodeID)
	r.mu.Lock()
	st := r.mu.raw.Status()
	applied := r.mu.applied.raftIndex
	r.mu.Unlock()
	last, _ := r.log.LastIndex()
	_, voter := st.Config.Voters.IDs()[self]
	_, learner := st.Config.Learners[self]
	_, learnerNext := st.Config.LearnersNext[self]
	if voter || learner || learnerNext || applied == 0 || st.GetCommit() > applied || last > applied {
		r.snap.notMemberSince = time.Time{}
		return
	}
	if r.snap.notMemberSince.IsZero() {
		r.snap.notMemberSince = time.Now()
		return
	}
	grace := 10 * time.Duration(s.cfg.ElectionTicks) * s.cfg.TickInterval
	if time.Since(r.snap.notMemberSince) < grace {
		return
	}
	s.log.Info("replica removed from its range; destroying it", "range", r.rangeID, "applied", applied)
	r.destroyLocked(true)
}

// destroyLocked removes the replica from the store, stops its Ready loop
// and pipeline, fails its waiting proposals as ambiguous (they may have
// committed), and with clearData empties its data and raft state (term and
// vote stay, so that a replica re-created later never votes twice in a
// term). A request that still holds the replica gets a
// RangeKeyMismatchError or NotLeaseHolderError (its descriptor is now
// uninitialized and it holds no lease), which routers retry elsewhere.
// r.snap.raftMu is held.
func (r *Replica) destroyLocked(clearData bool) {
	s := r.store
	r.snap.destroyed = true
	s.mu.Lock()
	if s.replicas[r.rangeID] == r {
		delete(s.replicas, r.rangeID)
	}
	s.mu.Unlock()
	r.mu.Lock()
	desc := *r.mu.desc.Clone()
	if r.mu.applied.raftIndex == 0 {
		desc = kvpb.RangeDescriptor{} // holds no data, whatever desc says
	}
	r.mu.desc = kvpb.RangeDescriptor{RangeID: r.rangeID}
	r.mu.lease.Replica = 0
	for id, p := range r.mu.proposals {
		delete(r.mu.proposals, id)
		p.finish(&kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: replica removed while the write was being replicated", r.rangeID)})
	}
	r.mu.Unlock()
	r.wake() // the Ready loop sees destroyed and ends
	r.pipeline.Stop()
	if !clearData {
		return
	}
	b := s.cfg.Engine.NewBatch()
	defer b.Close()
	err := func() error {
		if len(desc.EndKey) > 0 {
			if err := clearReplicatedData(b, r.rangeID, &desc); err != nil {
				return err
			}
		}
		if err := r.log.ResetState(b); err != nil {
			return err
		}
		return b.Commit(true)
	}()
	if err != nil {
		s.log.Error("cannot clear a removed replica's data", "range", r.rangeID, "err", err)
	}
}
