package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication/raftlog"
)

// A split is one raft command on the range being split (the left-hand
// side, LHS). Applying it, every replica shortens the LHS descriptor to end
// at the split key and writes the state of the new right-hand range (RHS):
// its descriptor, a copy of the LHS lease, GC threshold and configuration,
// and a raft log that starts empty at (splitInitIndex, splitInitTerm). The
// data itself does not move: both ranges share the node's engine.
//
// Invariants:
//   - The leaseholder holds write latches over the RHS (its keys and the
//     transaction records anchored there) from before proposing until the
//     split applied, so no request evaluated on the LHS under the old bounds
//     is still in flight over the RHS afterwards; later ones fail the
//     bounds check (RangeKeyMismatchError) and are re-routed.
//   - The RHS starts with the LHS lease, so the node that served the LHS
//     serves the RHS too; its timestamp cache starts at the clock (above
//     every read the LHS served).
//   - Replaying a split whose RHS state already exists (a restart before
//     the LHS's applied index was durable) leaves that state alone: the RHS
//     may have moved on.
const (
	splitInitIndex = 10
	splitInitTerm  = 5
)

// splitResult tells the store to install the RHS replica of an applied
// split.
type splitResult struct {
	right    kvpb.RangeDescriptor
	campaign bool // this node holds the lease: lead the RHS at once
}

// adminSplit splits the range at key. It runs on the leaseholder.
func (r *Replica) adminSplit(ctx context.Context, key kvpb.Key) (*kvpb.AdminSplitResponse, error) {
	if bytes.Compare(key, keys.MinSplitKey) < 0 {
		return nil, fmt.Errorf("replication: cannot split at %s: below the lowest split key %s", key, kvpb.Key(keys.MinSplitKey))
	}
	desc := r.Desc()
	if bytes.Equal(desc.StartKey, key) {
		return &kvpb.AdminSplitResponse{Right: desc}, nil // already a boundary
	}
	probe := &kvpb.BatchRequest{Requests: []kvpb.Request{&kvpb.AdminSplitRequest{SplitKey: key}}}
	if err := r.CheckServe(probe, r.store.cfg.Clock.Now()); err != nil {
		return nil, err
	}
	rhsID, err := r.store.allocateRangeID(ctx)
	if err != nil {
		return nil, fmt.Errorf("replication: allocating a range ID: %w", err)
	}
	spans := []kvpb.Span{{Key: key, EndKey: desc.EndKey}, keys.TxnRecordSpan(key, desc.EndKey)}
	err = r.pipeline.WithWriteLatches(ctx, spans, func() error {
		now := r.Desc()
		if !bytes.Equal(now.EndKey, desc.EndKey) || !now.ContainsKey(key) || bytes.Equal(now.StartKey, key) {
			// Another split changed the range while we waited.
			return &kvpb.RangeKeyMismatchError{RequestedSpan: kvpb.Span{Key: key}, Ranges: r.store.descriptorsOverlapping(kvpb.Span{Key: key})}
		}
		return r.proposeAndWait(ctx, &command{kind: cmdSplit, rhsRangeID: rhsID, splitKey: append([]byte(nil), key...)})
	})
	if err != nil {
		return nil, err
	}
	left := r.Desc()
	var right kvpb.RangeDescriptor
	if rr := r.store.Replica(rhsID); rr != nil {
		right = rr.Desc()
	}
	r.store.log.Info("range split", "left", left.String(), "right", right.String())
	r.store.writeMeta(ctx, left, right)
	return &kvpb.AdminSplitResponse{Left: left, Right: right}, nil
}

// applySplit applies a split command; see the invariants above.
func (r *Replica) applySplit(index uint64, cmd *command) error {
	res, err := r.applySplitLocked(index, cmd)
	if err != nil || res == nil {
		return err
	}
	return r.store.installSplitRHS(res)
}

func (r *Replica) applySplitLocked(index uint64, cmd *command) (*splitResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.applied.raftIndex = index
	p, ok := r.admitLocked(cmd)
	if !ok {
		return nil, nil
	}
	eng := r.store.cfg.Engine
	b := eng.NewBatch()
	defer b.Close()
	next := appliedState{raftIndex: index, leaseIndex: cmd.leaseIndex}
	if err := mvcc.PutUnversioned(b, keys.RangeAppliedStateKey(r.rangeID), next.encode()); err != nil {
		return nil, err
	}
	desc := r.mu.desc
	key := kvpb.Key(cmd.splitKey)
	if !r.initializedLocked() || bytes.Compare(desc.StartKey, key) >= 0 || !desc.ContainsKey(key) {
		// Evaluated against other bounds (cannot happen under latches, but
		// application must not trust the proposer).
		if err := b.Commit(false); err != nil {
			return nil, err
		}
		r.mu.applied = next
		if p != nil {
			delete(r.mu.proposals, cmd.id)
			p.finish(fmt.Errorf("replication: r%d: split key %s is not inside %s", r.rangeID, key, desc.String()))
		}
		return nil, nil
	}
	left := desc.Clone()
	left.EndKey = key
	left.Generation++
	right := desc.Clone()
	right.RangeID, right.StartKey = cmd.rhsRangeID, key
	right.Generation = left.Generation
	if err := mvcc.PutUnversioned(b, keys.RangeDescriptorStateKey(r.rangeID), kvpb.AppendRangeDescriptor(nil, left)); err != nil {
		return nil, err
	}
	_, exists, err := mvcc.GetUnversioned(eng, keys.RangeAppliedStateKey(right.RangeID))
	if err != nil {
		return nil, err
	}
	// A replica replaying the log from before it joined the range (a
	// learner catching up) was not a member at the split: the new range
	// has no replica here.
	_, member := desc.Replica(r.store.cfg.NodeID)
	if !exists && member {
		if err := r.writeRHSStateLocked(b, right); err != nil {
			return nil, err
		}
	}
	if err := b.Commit(false); err != nil {
		return nil, fmt.Errorf("r%d: apply split at %d: %w", r.rangeID, index, err)
	}
	r.mu.desc = *left
	r.mu.applied = next
	if p != nil {
		delete(r.mu.proposals, cmd.id)
		p.finish(nil)
	}
	if !member {
		return nil, nil
	}
	return &splitResult{right: *right, campaign: r.mu.lease.Replica == r.store.cfg.NodeID}, nil
}

// writeRHSStateLocked writes the replicated and raft state a split gives
// its new right-hand range.
func (r *Replica) writeRHSStateLocked(b *storage.Batch, right *kvpb.RangeDescriptor) error {
	id := right.RangeID
	if err := mvcc.PutUnversioned(b, keys.RangeDescriptorStateKey(id), kvpb.AppendRangeDescriptor(nil, right)); err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, keys.RangeAppliedStateKey(id), appliedState{raftIndex: splitInitIndex}.encode()); err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, keys.RangeLeaseKey(id), encodeLease(r.mu.lease)); err != nil {
		return err
	}
	eng := r.store.cfg.Engine
	if gct, ok, err := mvcc.GetUnversioned(eng, keys.RangeGCThresholdKey(r.rangeID)); err != nil {
		return err
	} else if ok {
		if err := mvcc.PutUnversioned(b, keys.RangeGCThresholdKey(id), gct); err != nil {
			return err
		}
	}
	_, cs, err := r.log.InitialState()
	if err != nil {
		return err
	}
	return raftlog.WriteInitialState(b, id, splitInitIndex, splitInitTerm, cs, nil)
}

// installSplitRHS creates the replica of a split's new range on this store,
// or initializes the empty replica that messages from the new range's
// leader created before the split applied here.
func (s *Store) installSplitRHS(res *splitResult) error {
	id := res.right.RangeID
	s.mu.Lock()
	select {
	case <-s.stopper:
		s.mu.Unlock()
		return nil
	default:
	}
	rr := s.replicas[id]
	if rr == nil {
		// Nothing else writes this range's hard state before the replica
		// exists.
		b := s.cfg.Engine.NewBatch()
		err := raftlog.WriteInitialHardState(b, id, &raftpb.HardState{Term: new(uint64(splitInitTerm)), Commit: new(uint64(splitInitIndex))})
		if err == nil {
			err = b.Commit(false)
		}
		b.Close()
		if err == nil {
			rr, err = newReplica(s, id)
		}
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("replication: creating r%d after a split: %w", id, err)
		}
		s.replicas[id] = rr
		s.runReplica(rr)
	} else {
		rr.mu.Lock()
		initialized := rr.initializedLocked()
		rr.mu.Unlock()
		if !initialized {
			rr.reloadAfterSplit.Store(true)
		}
	}
	s.mu.Unlock()
	if res.campaign {
		rr.campaignAfterLoad.Store(true)
	}
	rr.wake()
	return nil
}

// maybeReload runs on the replica's goroutine: an empty replica whose
// range was created by a split applied meanwhile loads its state. The raft
// hard state it kept (a vote cast while empty) is merged, never lost.
func (r *Replica) maybeReload() error {
	if r.reloadAfterSplit.Swap(false) {
		// raftMu: the raft state is rewritten (snapshot.go).
		r.snap.raftMu.Lock()
		defer r.snap.raftMu.Unlock()
		hs, _, err := r.log.InitialState()
		if err != nil {
			return err
		}
		want := &raftpb.HardState{Term: new(max(hs.GetTerm(), splitInitTerm)), Commit: new(max(hs.GetCommit(), splitInitIndex))}
		if hs.GetTerm() >= splitInitTerm {
			want.Vote = new(hs.GetVote())
		}
		b := r.store.cfg.Engine.NewBatch()
		err = r.log.SetHardState(b, want)
		if err == nil {
			err = r.log.Commit(b)
		} else {
			r.log.Discard(b)
		}
		b.Close()
		if err != nil {
			return err
		}
		r.mu.Lock()
		err = r.loadLocked()
		r.mu.Unlock()
		if err != nil {
			return err
		}
		// Reads the left-hand side served on these keys before the split
		// are unknown here.
		r.pipeline.SetTimestampCacheLowWater(r.store.cfg.Clock.Now())
		r.store.log.Info("replica initialized by a split", "range", r.rangeID)
	}
	if r.campaignAfterLoad.Swap(false) {
		r.mu.Lock()
		if r.initializedLocked() {
			_ = r.mu.raw.Campaign()
		}
		r.mu.Unlock()
	}
	return nil
}

// writeMeta records descriptors in the meta range (best effort: the meta
// maintenance loop repairs what fails here).
func (s *Store) writeMeta(ctx context.Context, descs ...kvpb.RangeDescriptor) {
	if s.cfg.Sender == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ba := &kvpb.BatchRequest{}
	for i := range descs {
		if descs[i].EndKey == nil {
			continue
		}
		ba.Add(&kvpb.PutRequest{Key: keys.MetaKey(descs[i].EndKey), Value: kvpb.AppendRangeDescriptor(nil, &descs[i])})
	}
	if len(ba.Requests) == 0 {
		return
	}
	if _, err := s.cfg.Sender.Send(ctx, ba); err != nil {
		s.log.Warn("updating meta records failed; will retry", "err", err)
		return
	}
	for i := range descs {
		if r := s.Replica(descs[i].RangeID); r != nil {
			r.metaWritten.Store(metaVersion(&descs[i]))
		}
	}
}

// metaVersion identifies what a meta record says, to notice when it must
// be rewritten.
func metaVersion(d *kvpb.RangeDescriptor) *string {
	v := string(kvpb.AppendRangeDescriptor(nil, d))
	return &v
}

// maintainMeta rewrites the meta record of every range this node holds the
// lease of whose descriptor changed since it was last written (a split
// whose meta update failed, a membership change, a new leaseholder).
func (s *Store) maintainMeta() {
	for _, r := range s.Replicas() {
		if r.CheckServe(nil, s.cfg.Clock.Now()) != nil {
			r.metaWritten.Store(nil) // a later lease rewrites it
			continue
		}
		d := r.Desc()
		if d.EndKey == nil {
			continue
		}
		if w := r.metaWritten.Load(); w != nil && *w == *metaVersion(&d) {
			continue
		}
		s.writeMeta(s.stopCtx, d)
	}
}

// allocateRangeID returns a new cluster-wide unique range ID: a
// compare-and-swap loop on the generator key in the meta range.
func (s *Store) allocateRangeID(ctx context.Context) (int64, error) {
	if s.cfg.Sender == nil {
		return 0, fmt.Errorf("replication: n%d has no sender to allocate range IDs through", s.cfg.NodeID)
	}
	key := keys.RangeIDGeneratorKey()
	for {
		get := &kvpb.BatchRequest{}
		get.Add(&kvpb.GetRequest{Key: key})
		resp, err := s.cfg.Sender.Send(ctx, get)
		if err != nil {
			return 0, err
		}
		cur := resp.Responses[0].(*kvpb.GetResponse).Value
		last := int64(FirstRangeID)
		if len(cur) == 8 {
			last = max(last, int64(binary.BigEndian.Uint64(cur)))
		}
		next := last + 1
		cput := &kvpb.BatchRequest{}
		cput.Add(&kvpb.ConditionalPutRequest{Key: key, Value: binary.BigEndian.AppendUint64(nil, uint64(next)), ExpValue: cur})
		_, err = s.cfg.Sender.Send(ctx, cput)
		var cf *kvpb.ConditionFailedError
		switch {
		case err == nil:
			return next, nil
		case errors.As(err, &cf):
			continue // another split allocated meanwhile
		default:
			return 0, err
		}
	}
}
