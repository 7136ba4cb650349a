package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication/closedts"
	"github.com/outpostdb/outpost/replication/lease"
	"github.com/outpostdb/outpost/replication/raftlog"
)

// Replica is one node's member of a range's raft group. The leaseholder
// evaluates batches through its pipeline (kv/local, with this Replica as
// the pipeline's Replication) and proposes the resulting write batches;
// every replica applies committed commands to its engine in log order.
//
// Invariants:
//   - A write command applies only under the lease it was evaluated under
//     (leaseSeq equals the applied lease's Sequence) and at most once (its
//     leaseIndex exceeds the applied lease index). Both checks read only
//     replicated state, so all replicas accept or reject alike.
//   - A replica serves (CheckServe) only while it holds the applied lease
//     and lease.Evaluate says Valid; the lease entry applied locally, so
//     every write committed under earlier leases has applied here too.
//   - Raft state is fsynced before the messages of the same Ready are sent
//     (raftlog.Storage.Commit); applied state is written without sync and
//     recomputed by replaying the log after a crash.
type Replica struct {
	store    *Store
	rangeID  int64
	log      *raftlog.Storage
	pipeline *local.Store

	signal chan struct{} // a Ready may be pending

	snap snapState // raftMu, removal: snapshot.go, raft_log_queue.go
	// reloadAfterSplit: a split created this (empty) replica's state;
	// campaignAfterLoad: this node held the split range's lease. Both are
	// acted on by the replica's goroutine (maybeReload).
	reloadAfterSplit  atomic.Bool
	campaignAfterLoad atomic.Bool
	// metaWritten is the descriptor this node last wrote to the meta
	// range for this range (nil: not written under the current lease).
	metaWritten atomic.Pointer[string]
	// sizeEstimate approximates the range's bytes for the split queue
	// (valid once sizeKnown); applied writes add their size.
	sizeEstimate atomic.Int64
	sizeKnown    atomic.Bool

	// closed is the range's closed timestamp state (closed.go): the
	// tracker and last published value while leaseholder, the follower
	// record always. Lock order: mu before closed.mu.
	closed struct {
		mu       sync.Mutex
		tracker  closedts.FastTracker
		last     hlc.Timestamp
		follower closedts.Follower
		// changed is closed (and reset to nil) when follower or the
		// applied index may have advanced; nil while no follower read
		// waits (waitFollowerRead). waiters counts the waiting reads so
		// that applying entries costs nothing when nobody waits.
		changed chan struct{}
		waiters atomic.Int32
		// raisedAt is when follower's closed timestamp last rose
		// (waitFollowerRead predicts the next rise from it).
		raisedAt time.Time
	}

	// startCommit is the commit index persisted when the replica opened:
	// every write acknowledged before a restart is at or below it, so the
	// replica serves nothing until it has applied that far.
	startCommit uint64

	mu struct {
		sync.Mutex
		raw *raft.RawNode
		// desc is the range's descriptor as of the applied index; its
		// EndKey is nil while the replica is uninitialized (created for
		// a range it was added to, before it received any state).
		desc         kvpb.RangeDescriptor
		lease        lease.Lease
		applied      appliedState
		nextLeaseIdx uint64
		proposals    map[uint64]*proposal
		leaseReq     uint64 // id of the pending lease proposal, 0 if none
		leaseReqAt   time.Time
		leader       uint64
		ticks        int
		// confChangePending: a membership change was proposed and has
		// not applied; raft allows one at a time.
		confChangePending    bool
		confChangeAt         time.Time
		lastRebalance        time.Time
		campaignAfterAdvance bool
	}
}

type proposal struct {
	cmd        *command
	data       []byte
	proposedAt time.Time
	done       chan error // buffered(1); receives the outcome once
}

func (p *proposal) finish(err error) {
	select {
	case p.done <- err:
	default:
	}
}

// errReplicaStopped is returned to proposals that were in flight when the
// replica stopped: they may still commit (ambiguous).
var errReplicaStopped = errors.New("replica stopped")

func newReplica(s *Store, rangeID int64) (*Replica, error) {
	if err := recoverSnapshot(s.cfg.Engine, rangeID); err != nil {
		return nil, err
	}
	r := &Replica{store: s, rangeID: rangeID, signal: make(chan struct{}, 1)}
	r.mu.proposals = map[uint64]*proposal{}
	if err := r.loadLocked(); err != nil {
		return nil, err
	}
	lc := s.cfg.Local
	lc.NodeID = s.cfg.NodeID
	lc.BootID = s.bootID
	lc.RangeID = rangeID
	lc.Replication = r
	// Pushes and the resolution of intents on other ranges go through the
	// node's router; commits resolve only the intents this range owns.
	lc.Sender = storeSender{s}
	lc.Bounds = func() kvpb.Span { d := r.Desc(); return d.Span() }
	var err error
	if r.pipeline, err = local.NewStore(s.cfg.Engine, s.cfg.Clock, lc); err != nil {
		return nil, err
	}
	return r, nil
}

// loadLocked (re)loads the replica's raft storage, raft node and applied
// state from the engine: at creation, and when an uninitialized replica
// learns its state from a split. The caller owns the replica (creation) or
// runs on its goroutine with mu held.
func (r *Replica) loadLocked() error {
	s, rangeID := r.store, r.rangeID
	st, err := raftlog.Open(s.cfg.Engine, rangeID)
	if err != nil {
		return err
	}
	hs, cs, err := st.InitialState()
	if err != nil {
		return err
	}
	r.log = st
	r.startCommit = hs.GetCommit()
	r.mu.applied, r.mu.lease = appliedState{}, lease.Lease{}
	if raw, ok, err := mvcc.GetUnversioned(s.cfg.Engine, keys.RangeAppliedStateKey(rangeID)); err != nil {
		return err
	} else if ok {
		if r.mu.applied, err = decodeAppliedState(raw); err != nil {
			return err
		}
	}
	if raw, ok, err := mvcc.GetUnversioned(s.cfg.Engine, keys.RangeLeaseKey(rangeID)); err != nil {
		return err
	} else if ok {
		if r.mu.lease, err = decodeLease(raw); err != nil {
			return err
		}
	}
	if raw, ok, err := mvcc.GetUnversioned(s.cfg.Engine, keys.RangeDescriptorStateKey(rangeID)); err != nil {
		return err
	} else if ok {
		d, err := kvpb.DecodeRangeDescriptor(raw)
		if err != nil {
			return fmt.Errorf("r%d: descriptor: %w", rangeID, err)
		}
		r.mu.desc = *d
	} else if rangeID == FirstRangeID {
		// The first range starts out owning the whole keyspace; a replica
		// that replays its log from the start learns every later change.
		r.mu.desc = firstRangeDescriptor(nil)
	} else {
		r.mu.desc = kvpb.RangeDescriptor{RangeID: rangeID}
	}
	if r.initializedLocked() && len(r.mu.desc.Replicas) == 0 {
		r.mu.desc.Replicas = replicasFromConfState(cs)
	}
	raw, err := raft.NewRawNode(&raft.Config{
		ID:                        uint64(s.cfg.NodeID),
		ElectionTick:              s.cfg.ElectionTicks,
		HeartbeatTick:             1,
		Storage:                   st,
		Applied:                   r.mu.applied.raftIndex,
		MaxSizePerMsg:             1 << 20,
		MaxCommittedSizePerReady:  16 << 20,
		MaxUncommittedEntriesSize: 64 << 20,
		MaxInflightMsgs:           64,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{s.log.With("range", rangeID)},
	})
	if err != nil {
		return err
	}
	r.mu.raw = raw
	return nil
}

func firstRangeDescriptor(voters []int32) kvpb.RangeDescriptor {
	d := kvpb.RangeDescriptor{RangeID: FirstRangeID, StartKey: keys.FirstRangeStart, EndKey: keys.MaxKey}
	for _, v := range voters {
		d.Replicas = append(d.Replicas, kvpb.ReplicaDescriptor{NodeID: v})
	}
	return d
}

func replicasFromConfState(cs *raftpb.ConfState) []kvpb.ReplicaDescriptor {
	var out []kvpb.ReplicaDescriptor
	for _, v := range cs.GetVoters() {
		out = append(out, kvpb.ReplicaDescriptor{NodeID: int32(v)})
	}
	for _, l := range cs.GetLearners() {
		out = append(out, kvpb.ReplicaDescriptor{NodeID: int32(l), Type: kvpb.NonVoter})
	}
	return out
}

// Desc returns the range descriptor as of the applied index (EndKey nil
// while the replica is uninitialized).
func (r *Replica) Desc() kvpb.RangeDescriptor {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.mu.desc.Clone()
}

// initializedLocked reports whether the replica holds the range's state.
func (r *Replica) initializedLocked() bool { return r.mu.desc.EndKey != nil }

// checkBoundsLocked refuses a batch with an address outside the range.
func (r *Replica) checkBoundsLocked(ba *kvpb.BatchRequest) error {
	if ba == nil {
		return nil
	}
	for _, req := range ba.Requests {
		sp := ba.AddressOf(req)
		if len(sp.Key) == 0 {
			continue
		}
		if !r.initializedLocked() || !r.mu.desc.ContainsSpan(sp) {
			return &kvpb.RangeKeyMismatchError{RequestedSpan: sp, Ranges: r.store.descriptorsOverlapping(sp)}
		}
	}
	return nil
}

// campaignIfSole starts an election at once when this replica is the
// group's only voter, instead of waiting out an election timeout.
func (r *Replica) campaignIfSole() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.applied.raftIndex == 0 {
		return // fresh bootstrap: applyConfChange campaigns once the config applied
	}
	voters := r.mu.raw.Status().Config.Voters.IDs()
	if _, self := voters[uint64(r.store.cfg.NodeID)]; self && len(voters) == 1 {
		_ = r.mu.raw.Campaign()
	}
}

// RangeID returns the replica's range.
func (r *Replica) RangeID() int64 { return r.rangeID }

// LeaseStart implements local.Replication.
func (r *Replica) LeaseStart() hlc.Timestamp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.lease.Start
}

// Lease returns the lease as last applied on this replica.
func (r *Replica) Lease() lease.Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.lease
}

// Status summarises the replica for tests and SHOW RANGES.
type ReplicaStatus struct {
	RangeID      int64
	Leader       uint64
	RaftState    string
	Term         uint64
	Commit       uint64
	AppliedIndex uint64
	Lease        lease.Lease
}

// Status returns a snapshot of the replica's state.
func (r *Replica) Status() ReplicaStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.mu.raw.BasicStatus()
	return ReplicaStatus{
		RangeID: r.rangeID, Leader: st.Lead, RaftState: st.RaftState.String(),
		Term: st.GetTerm(), Commit: st.GetCommit(), AppliedIndex: r.mu.applied.raftIndex, Lease: r.mu.lease,
	}
}

func (r *Replica) wake() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// send evaluates a batch on this replica (it must be the leaseholder).
func (r *Replica) send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	return r.pipeline.Send(ctx, ba)
}

// CheckServe implements local.Replication.
func (r *Replica) CheckServe(ba *kvpb.BatchRequest, ts hlc.Timestamp) error {
	now := r.store.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkBoundsLocked(ba); err != nil {
		return err
	}
	return r.checkLeaseLocked(now, ts)
}

// servesLeaseLocked reports whether checkLeaseLocked says nil, without
// building the error (the follower-read path asks on every read).
func (r *Replica) servesLeaseLocked(now, ts hlc.Timestamp) bool {
	l := r.mu.lease
	return r.mu.applied.raftIndex >= r.startCommit && l.Replica == r.store.cfg.NodeID &&
		l.Evaluate(now, r.store.cfg.Clock.MaxOffset(), ts) == lease.Valid
}

func (r *Replica) checkLeaseLocked(now, ts hlc.Timestamp) error {
	l := r.mu.lease
	self := r.store.cfg.NodeID
	if r.mu.applied.raftIndex < r.startCommit {
		return &kvpb.NotLeaseHolderError{RangeID: r.rangeID, Replica: self, Msg: "replaying the raft log after a restart"}
	}
	if r.servesLeaseLocked(now, ts) {
		return nil
	}
	hint := int32(0)
	if l.Replica != self && l.Evaluate(now, 0, hlc.Timestamp{}) == lease.Valid {
		hint = l.Replica
	} else if r.mu.leader != 0 && r.mu.leader != uint64(self) {
		hint = int32(r.mu.leader)
	}
	return &kvpb.NotLeaseHolderError{RangeID: r.rangeID, Replica: self, LeaseHolder: hint, Msg: "lease " + l.String()}
}

// Replicate implements local.Replication: it proposes b's writes under the
// current lease and waits until they apply here.
func (r *Replica) Replicate(ctx context.Context, b *storage.Batch) error {
	return r.proposeAndWait(ctx, &command{kind: cmdWrite, repr: append([]byte(nil), b.Repr()...)})
}

// proposeAndWait proposes a write or split command under the current lease
// with the next lease index and waits until it applied here.
func (r *Replica) proposeAndWait(ctx context.Context, cmd *command) error {
	now := r.store.cfg.Clock.Now()
	r.mu.Lock()
	if err := r.checkLeaseLocked(now, hlc.Timestamp{}); err != nil {
		r.mu.Unlock()
		return err
	}
	r.mu.nextLeaseIdx = max(r.mu.nextLeaseIdx, r.mu.applied.leaseIndex) + 1
	cmd.id = rand.Uint64() | 1
	cmd.leaseSeq, cmd.leaseIndex = r.mu.lease.Sequence, r.mu.nextLeaseIdx
	if cmd.kind == cmdWrite {
		cmd.closedTs = r.closeTimestamp()
	}
	p := &proposal{cmd: cmd, data: cmd.encode(), proposedAt: time.Now(), done: make(chan error, 1)}
	r.mu.proposals[cmd.id] = p
	// A dropped proposal (no leader known) stays registered and is
	// proposed again by the tick loop.
	_ = r.mu.raw.Propose(p.data)
	r.mu.Unlock()
	r.wake()

	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return &kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: %v while the write was being replicated", r.rangeID, ctx.Err())}
	case <-r.store.stopper:
		return &kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: %v", r.rangeID, errReplicaStopped)}
	}
}

// step hands a raft message from a peer to the group.
func (r *Replica) step(m *raftpb.Message) {
	r.mu.Lock()
	if !r.filterRaftMsgLocked(m) { // snapshot.go
		r.mu.Unlock()
		return
	}
	err := r.mu.raw.Step(m)
	r.mu.Unlock()
	if err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) && !errors.Is(err, raft.ErrStepLocalMsg) {
		r.store.log.Debug("raft step failed", "range", r.rangeID, "err", err)
	}
	r.wake()
}

// tick advances the raft clock, re-proposes stalled proposals and asks for
// or extends the lease when this replica leads.
func (r *Replica) tick() {
	now := r.store.cfg.Clock.Now()
	r.mu.Lock()
	r.mu.raw.Tick()
	r.mu.ticks++
	st := r.mu.raw.BasicStatus()
	r.mu.leader = st.Lead
	stall := time.Duration(r.store.cfg.ElectionTicks) * r.store.cfg.TickInterval
	// A replica that lost both its lease and raft leadership may no
	// longer receive the log (a partition, or removal from the range):
	// nobody will tell it whether its pending writes applied. A leader
	// whose lease lapsed (say, behind a huge entry) still applies the log,
	// so it learns every outcome and waits.
	leaseGone := r.mu.lease.Replica != r.store.cfg.NodeID || r.mu.lease.Evaluate(now, 0, hlc.Timestamp{}) != lease.Valid
	lost := leaseGone && st.RaftState != raft.StateLeader
	for id, p := range r.mu.proposals {
		switch {
		case lost:
			delete(r.mu.proposals, id)
			p.finish(&kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: lease expired while the write was being replicated", r.rangeID)})
		case time.Since(p.proposedAt) > stall:
			p.proposedAt = time.Now()
			_ = r.mu.raw.Propose(p.data)
		}
	}
	if st.RaftState == raft.StateLeader {
		r.maybeRequestLeaseLocked(now)
	}
	r.mu.Unlock()
	r.wake()
}

func (r *Replica) maybeRequestLeaseLocked(now hlc.Timestamp) {
	l := r.mu.lease
	self := r.store.cfg.NodeID
	dur := r.store.cfg.LeaseDuration
	need := false
	switch {
	case l.Replica == self:
		// Extend once half the lease is used.
		need = l.Expiration.WallTime-now.WallTime < int64(dur/2)
	default:
		need = lease.CanAcquire(l, now)
	}
	if !need {
		return
	}
	if r.mu.leaseReq != 0 && time.Since(r.mu.leaseReqAt) < dur/4 {
		return // one in flight
	}
	cmd := &command{kind: cmdLease, id: rand.Uint64() | 1, prevSeq: l.Sequence, holder: self, now: now, duration: dur}
	r.mu.leaseReq, r.mu.leaseReqAt = cmd.id, time.Now()
	_ = r.mu.raw.Propose(cmd.encode())
}

// handleReady runs one Ready: persist, send, apply, advance. It is called
// only from the replica's goroutine, and reports whether it found a Ready.
func (r *Replica) handleReady() (bool, error) {
	r.snap.raftMu.Lock()
	defer r.snap.raftMu.Unlock()
	if r.snap.destroyed {
		return false, errReplicaDestroyed
	}
	r.mu.Lock()
	if !r.mu.raw.HasReady() {
		r.mu.Unlock()
		return false, nil
	}
	rd := r.mu.raw.Ready()
	r.mu.Unlock()

	if !raft.IsEmptySnap(rd.Snapshot) {
		// Unreachable: raft never receives a MsgSnap (step drops them);
		// snapshots are installed by applySnapshot, which restarts raft.
		return false, fmt.Errorf("r%d: unexpected raft snapshot in a Ready", r.rangeID)
	}
	// Send what may go before the fsync: everything but acknowledgements
	// (MsgAppResp, vote responses), unless term or vote changed. This lets
	// a leader's followers append in parallel with its own fsync (Raft
	// thesis 10.2.1); the leader still counts itself only once persisted.
	early, late := splitMessages(rd, r.log)
	r.store.sendRaft(r.rangeID, early)
	if len(rd.Entries) > 0 || !raft.IsEmptyHardState(rd.HardState) {
		b := r.store.cfg.Engine.NewBatch()
		err := func() error {
			if !raft.IsEmptyHardState(rd.HardState) {
				if err := r.log.SetHardState(b, rd.HardState); err != nil {
					return err
				}
			}
			if err := r.log.Append(b, rd.Entries); err != nil {
				return err
			}
			return r.log.Commit(b) // fsync before send (persist before send/ack)
		}()
		b.Close()
		if err != nil {
			r.log.Discard(b)
			return false, err
		}
	}
	r.store.sendRaft(r.rangeID, late)
	for _, e := range rd.CommittedEntries {
		if err := r.apply(e); err != nil {
			return false, err
		}
	}
	if len(rd.CommittedEntries) > 0 {
		r.notifyFollowerWaiters()
	}
	r.mu.Lock()
	r.mu.raw.Advance(rd)
	if r.mu.campaignAfterAdvance {
		r.mu.campaignAfterAdvance = false
		_ = r.mu.raw.Campaign()
	}
	r.mu.Unlock()
	return true, nil
}

// splitMessages divides a Ready's messages into those that may be sent
// before its entries and hard state are durable and those that must wait.
// Acknowledgements promise durability, so they wait; so does everything
// when the term or vote changes (nothing may be sent under a term or vote
// that a crash could forget).
func splitMessages(rd raft.Ready, log *raftlog.Storage) (early, late []*raftpb.Message) {
	if !raft.IsEmptyHardState(rd.HardState) {
		term, vote := log.DurableTermVote()
		if term != rd.HardState.GetTerm() || vote != rd.HardState.GetVote() {
			return nil, rd.Messages
		}
	}
	for _, m := range rd.Messages {
		switch m.GetType() {
		case raftpb.MessageType_MsgAppResp, raftpb.MessageType_MsgVoteResp, raftpb.MessageType_MsgPreVoteResp:
			late = append(late, m)
		default:
			early = append(early, m)
		}
	}
	return early, late
}

// apply applies one committed entry.
func (r *Replica) apply(e *raftpb.Entry) error {
	switch e.GetType() {
	case raftpb.EntryType_EntryConfChange:
		cc := &raftpb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return fmt.Errorf("r%d: entry %d: %w", r.rangeID, e.GetIndex(), err)
		}
		return r.applyConfChange(e.GetIndex(), cc)
	case raftpb.EntryType_EntryConfChangeV2:
		cc := &raftpb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), cc); err != nil {
			return fmt.Errorf("r%d: entry %d: %w", r.rangeID, e.GetIndex(), err)
		}
		return r.applyConfChange(e.GetIndex(), cc)
	}
	if len(e.GetData()) == 0 {
		// An empty entry appended by a new leader.
		r.mu.Lock()
		r.mu.applied.raftIndex = e.GetIndex()
		r.mu.Unlock()
		return nil
	}
	cmd, err := decodeCommand(e.GetData())
	if err != nil {
		return fmt.Errorf("r%d: entry %d: %w", r.rangeID, e.GetIndex(), err)
	}
	switch cmd.kind {
	case cmdWrite:
		return r.applyWrite(e.GetIndex(), cmd)
	case cmdSplit:
		return r.applySplit(e.GetIndex(), cmd)
	default:
		return r.applyLease(e.GetIndex(), cmd)
	}
}

// admitLocked decides whether a write or split command applies: only under
// the lease it was evaluated under, and at most once. It returns the
// command's local proposal, if any; a rejected proposal is finished or
// re-proposed here.
func (r *Replica) admitLocked(cmd *command) (*proposal, bool) {
	p := r.mu.proposals[cmd.id]
	if cmd.leaseSeq != r.mu.lease.Sequence {
		// Evaluated under another lease: it never applies anywhere.
		if p != nil && p.cmd.leaseIndex == cmd.leaseIndex {
			delete(r.mu.proposals, cmd.id)
			p.finish(&kvpb.NotLeaseHolderError{RangeID: r.rangeID, Replica: r.store.cfg.NodeID,
				LeaseHolder: r.mu.lease.Replica, Msg: "lease changed while the write was being replicated"})
		}
		return nil, false
	}
	if cmd.leaseIndex <= r.mu.applied.leaseIndex {
		// A duplicate, or overtaken by a later proposal of the same lease.
		// If this copy is the proposal's current one, it did not apply:
		// propose it again under a fresh lease index (latches still hold
		// its keys, so its evaluation is still valid).
		if p != nil && p.cmd.leaseIndex == cmd.leaseIndex {
			r.mu.nextLeaseIdx = max(r.mu.nextLeaseIdx, r.mu.applied.leaseIndex) + 1
			p.cmd.leaseIndex = r.mu.nextLeaseIdx
			p.data = p.cmd.encode()
			p.proposedAt = time.Now()
			_ = r.mu.raw.Propose(p.data)
		}
		return nil, false
	}
	return p, true
}

func (r *Replica) applyWrite(index uint64, cmd *command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.applied.raftIndex = index
	p, ok := r.admitLocked(cmd)
	if !ok {
		return nil
	}
	b, err := r.store.cfg.Engine.NewBatchFromRepr(cmd.repr)
	if err != nil {
		return fmt.Errorf("r%d: entry %d: %w", r.rangeID, index, err)
	}
	defer b.Close()
	next := appliedState{raftIndex: index, leaseIndex: cmd.leaseIndex}
	if err := mvcc.PutUnversioned(b, keys.RangeAppliedStateKey(r.rangeID), next.encode()); err != nil {
		return err
	}
	if err := b.Commit(false); err != nil {
		return fmt.Errorf("r%d: apply entry %d: %w", r.rangeID, index, err)
	}
	r.mu.applied = next
	r.sizeEstimate.Add(int64(len(cmd.repr)))
	r.recordClosed(cmd.closedTs, index)
	if p != nil {
		delete(r.mu.proposals, cmd.id)
		p.finish(nil)
	}
	return nil
}

func (r *Replica) applyLease(index uint64, cmd *command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.applied.raftIndex = index
	if cmd.id == r.mu.leaseReq {
		r.mu.leaseReq = 0
	}
	prev := r.mu.lease
	if cmd.prevSeq != prev.Sequence {
		return nil // raced with another lease change
	}
	next, err := lease.Next(prev, cmd.holder, cmd.now, cmd.duration)
	if err != nil {
		return nil // the previous lease had not expired on the requester's clock
	}
	b := r.store.cfg.Engine.NewBatch()
	defer b.Close()
	if err := mvcc.PutUnversioned(b, keys.RangeLeaseKey(r.rangeID), encodeLease(next)); err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, keys.RangeAppliedStateKey(r.rangeID), r.mu.applied.encode()); err != nil {
		return err
	}
	if err := b.Commit(false); err != nil {
		return fmt.Errorf("r%d: apply lease at %d: %w", r.rangeID, index, err)
	}
	r.mu.lease = next
	if next.Sequence != prev.Sequence {
		self := r.store.cfg.NodeID
		if next.Replica == self {
			// The previous holder may have served reads up to its
			// expiration, which is below next.Start: no write may land at
			// or below the start.
			r.pipeline.SetTimestampCacheLowWater(next.Start)
			r.onLeaseAcquired()
		}
		r.store.log.Info("lease changed", "range", r.rangeID, "lease", next.String(), "node", self)
		// Writes proposed under the old lease can never apply.
		for id, p := range r.mu.proposals {
			if p.cmd.leaseSeq != next.Sequence {
				delete(r.mu.proposals, id)
				p.finish(&kvpb.NotLeaseHolderError{RangeID: r.rangeID, Replica: self, LeaseHolder: next.Replica, Msg: "lease changed"})
			}
		}
	}
	return nil
}

// applyConfChange applies a membership change and persists the resulting
// configuration with the applied index (synced: raft must never restart
// with a configuration older than one it acted on).
func (r *Replica) applyConfChange(index uint64, cc raftpb.ConfChangeI) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.mu.raw.ApplyConfChange(cc)
	r.mu.applied.raftIndex = index
	b := r.store.cfg.Engine.NewBatch()
	defer b.Close()
	if err := r.log.SetConfState(b, cs); err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, keys.RangeAppliedStateKey(r.rangeID), r.mu.applied.encode()); err != nil {
		return err
	}
	desc := r.mu.desc.Clone()
	desc.Replicas = replicasFromConfState(cs)
	if r.initializedLocked() {
		if err := mvcc.PutUnversioned(b, keys.RangeDescriptorStateKey(r.rangeID), kvpb.AppendRangeDescriptor(nil, desc)); err != nil {
			return err
		}
	}
	if err := r.log.Commit(b); err != nil {
		r.log.Discard(b)
		return err
	}
	r.mu.desc = *desc
	r.mu.confChangePending = false
	if v := cs.GetVoters(); len(v) == 1 && v[0] == uint64(r.store.cfg.NodeID) && r.mu.raw.BasicStatus().RaftState != raft.StateLeader {
		// The sole voter need not wait out an election timeout; raft
		// refuses to campaign until the change is acknowledged (Advance).
		r.mu.campaignAfterAdvance = true
	}
	r.store.log.Info("range membership changed", "range", r.rangeID, "voters", cs.GetVoters(), "learners", cs.GetLearners())
	return nil
}

// Membership returns the applied voters and learners.
func (r *Replica) Membership() (voters, learners []int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg := r.mu.raw.Status().Config
	for id := range cfg.Voters.IDs() {
		voters = append(voters, int32(id))
	}
	for id := range cfg.Learners {
		learners = append(learners, int32(id))
	}
	slices.Sort(voters)
	slices.Sort(learners)
	return voters, learners
}

// failProposals ends every waiting proposal when the replica stops.
func (r *Replica) failProposals() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, p := range r.mu.proposals {
		delete(r.mu.proposals, id)
		p.finish(&kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: %v", r.rangeID, errReplicaStopped)})
	}
}

// raftLogger routes etcd raft's logging to slog.
type raftLogger struct{ l *slog.Logger }

func (l raftLogger) Debug(v ...interface{})                 {}
func (l raftLogger) Debugf(format string, v ...interface{}) {}
func (l raftLogger) Error(v ...interface{})                 { l.l.Error(fmt.Sprint(v...)) }
func (l raftLogger) Errorf(format string, v ...interface{}) { l.l.Error(fmt.Sprintf(format, v...)) }
func (l raftLogger) Info(v ...interface{})                  { l.l.Debug(fmt.Sprint(v...)) }
func (l raftLogger) Infof(format string, v ...interface{})  { l.l.Debug(fmt.Sprintf(format, v...)) }
func (l raftLogger) Warning(v ...interface{})               { l.l.Warn(fmt.Sprint(v...)) }
func (l raftLogger) Warningf(format string, v ...interface{}) {
	l.l.Warn(fmt.Sprintf(format, v...))
}
func (l raftLogger) Fatal(v ...interface{}) { l.l.Error(fmt.Sprint(v...)); panic(fmt.Sprint(v...)) }
func (l raftLogger) Fatalf(format string, v ...interface{}) {
	panic(fmt.Sprintf(format, v...))
}
func (l raftLogger) Panic(v ...interface{})                 { panic(fmt.Sprint(v...)) }
func (l raftLogger) Panicf(format string, v ...interface{}) { panic(fmt.Sprintf(format, v...)) }
