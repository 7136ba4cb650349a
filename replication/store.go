package replication

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication/transport"
)

// Config configures a Store.
type Config struct {
	// NodeID of this node; it is also its raft replica ID in every group.
	NodeID int32
	Engine storage.Engine
	Clock  *hlc.Clock
	// Transport carries raft messages to the other nodes.
	Transport transport.Transport
	// TickInterval is the raft clock. Default 50ms.
	TickInterval time.Duration
	// ElectionTicks without hearing from a leader start an election.
	// Default 10 (500ms at the default tick).
	ElectionTicks int
	// LeaseDuration of range leases. Default 3s. Failover takes about the
	// election timeout plus what remains of the dead holder's lease.
	LeaseDuration time.Duration
	// Liveness, when set, drives the replicate queue (up-replication,
	// replacement of dead nodes, decommissioning).
	Liveness NodeLiveness
	// ReplicationFactor is the number of voters per range. Default 3
	// (fewer while fewer nodes are usable).
	ReplicationFactor int
	// DeadAfter: a node down this long has its replicas re-created
	// elsewhere. Default 5 minutes.
	DeadAfter time.Duration
	// ReplicateInterval between replicate queue passes. Default 1s.
	ReplicateInterval time.Duration
	// Sender reaches any range of the cluster (the node's router): the
	// store writes meta records and allocates range IDs through it. It
	// may also be set with SetSender before Start. Without it the store
	// cannot split.
	Sender kvrpc.Handler
	// ClosedTimestampLag is how far behind the clock leaseholders close
	// timestamps (follower reads can serve data about this stale).
	// Default 1s.
	ClosedTimestampLag time.Duration
	// ClosedTimestampInterval between side-channel publications of closed
	// timestamps (for ranges without writes). Default 200ms.
	ClosedTimestampInterval time.Duration
	// SplitThreshold: a range whose data grows past this many bytes is
	// split in two. Default 64 MiB; negative disables size-based splits.
	SplitThreshold int64
	// Local configures each range's evaluation pipeline (transaction
	// expiry, GC). NodeID, BootID, RangeID and Replication are set by the
	// Store.
	Local local.Config
	// Logger; default slog.Default().
	Logger *slog.Logger

	// RaftLogMaxEntries and RaftLogMaxBytes bound a leader's raft log:
	// past either, it is truncated to the applied index even if a
	// follower still needs the entries (it gets a snapshot). Defaults
	// 10000 entries, 16 MiB. See raft_log_queue.go.
	RaftLogMaxEntries int
	RaftLogMaxBytes   int64
	// RaftLogQueueInterval between truncation passes. Default 1s.
	RaftLogQueueInterval time.Duration
	// SnapshotChunkBytes bounds each chunk of a streamed snapshot (it must
	// not exceed the transport's limit: rpc.Config.SnapshotChunkBytes).
	// Default 256 KiB.
	SnapshotChunkBytes int
	// SnapshotRetryBackoff: after a failed snapshot, raft is told only
	// this much later, so it does not retry at once. Default 1s.
	SnapshotRetryBackoff time.Duration
	// TestingSnapshotChunkHook, if set, is called by a node receiving a
	// snapshot after each chunk it wrote (n counts from 1); an error
	// aborts the snapshot.
	TestingSnapshotChunkHook func(ctx context.Context, node int32, rangeID int64, n, chunkLen int) error
}

func (c *Config) ensureDefaults() {
	if c.TickInterval == 0 {
		c.TickInterval = 50 * time.Millisecond
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = 10
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = 3
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = 5 * time.Minute
	}
	if c.ReplicateInterval == 0 {
		c.ReplicateInterval = time.Second
	}
	if c.ClosedTimestampLag == 0 {
		c.ClosedTimestampLag = DefaultClosedTimestampLag
	}
	if c.ClosedTimestampInterval == 0 {
		c.ClosedTimestampInterval = DefaultClosedTimestampInterval
	}
	if c.SplitThreshold == 0 {
		c.SplitThreshold = 64 << 20
	}
	c.ensureSnapshotDefaults()
}

// Closed timestamp defaults (Config.ClosedTimestampLag and Interval).
const (
	DefaultClosedTimestampLag      = time.Second
	DefaultClosedTimestampInterval = 200 * time.Millisecond
)

// ErrStoreStopped is returned by Send after Stop. Nothing was evaluated,
// so the caller may retry elsewhere.
var ErrStoreStopped = fmt.Errorf("replication: store stopped: %w", kvrpc.ErrUnavailable)

// Store holds one node's replicas and implements kvrpc.Handler for the
// batches routed to this node. It drives every replica's raft group: one
// goroutine per replica handles Readies, one ticks them all.
type Store struct {
	cfg    Config
	log    *slog.Logger
	bootID uint64

	mu       sync.RWMutex
	replicas map[int64]*Replica

	stopOnce     sync.Once
	stopper      chan struct{}
	stopCtx      context.Context // cancelled by Stop
	cancelAll    context.CancelFunc
	inflight     sync.WaitGroup // Sends in progress
	inflightMu   sync.RWMutex   // write-held by Stop while it closes the gate
	wg           sync.WaitGroup
	stopListener func()

	snaps storeSnapshots // snapshot.go

	followerServed, followerRefused, followerWaited atomic.Int64

	spanConfigs atomic.Pointer[edgeConfigs] // edge_placement.go
}

var _ kvrpc.Handler = (*Store)(nil)

// FirstRangeID is the range that covers the whole keyspace at bootstrap.
const FirstRangeID = 1

// NewStore opens the store over cfg.Engine and loads the replicas it holds.
// Call Start to run them.
func NewStore(cfg Config) (*Store, error) {
	cfg.ensureDefaults()
	if cfg.NodeID <= 0 || cfg.Engine == nil || cfg.Clock == nil || cfg.Transport == nil {
		return nil, errors.New("replication: NodeID, Engine, Clock and Transport are required")
	}
	boot, err := local.NewBootID()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), bootID: boot,
		replicas: map[int64]*Replica{}, stopper: make(chan struct{})}
	s.stopCtx, s.cancelAll = context.WithCancel(context.Background())
	ids, err := storedRangeIDs(cfg.Engine)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.addReplica(id); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Bootstrap creates the first range with the given voters on a store that
// holds no replica yet. Every initial voter bootstraps with the same list:
// the configuration is written as the first entries of the log, so that a
// replica added later learns it by replaying the log.
func (s *Store) Bootstrap(voters []int32) error {
	if s.Replica(FirstRangeID) != nil {
		return fmt.Errorf("replication: n%d is already bootstrapped", s.cfg.NodeID)
	}
	r, err := newReplica(s, FirstRangeID)
	if err != nil {
		return err
	}
	peers := make([]raft.Peer, len(voters))
	for i, v := range voters {
		peers[i] = raft.Peer{ID: uint64(v)}
	}
	r.mu.Lock()
	r.mu.desc = firstRangeDescriptor(voters)
	err = r.mu.raw.Bootstrap(peers)
	r.mu.Unlock()
	if err != nil {
		r.pipeline.Stop()
		return err
	}
	s.mu.Lock()
	s.replicas[FirstRangeID] = r
	s.mu.Unlock()
	return nil
}

// storedRangeIDs lists the ranges this engine holds any range-ID-local
// state for (raft state, or replicated state written by a split).
func storedRangeIDs(eng storage.Engine) ([]int64, error) {
	sp := keys.RangeIDLocalSpan()
	it, err := eng.NewIter(storage.IterOptions{LowerBound: sp.Key, UpperBound: sp.EndKey})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var ids []int64
	for ok := it.SeekGE(storage.MVCCKey{Key: sp.Key}); ok; {
		id, valid := keys.DecodeRangeIDKey(it.Key().Key)
		if !valid {
			break
		}
		ids = append(ids, id)
		ok = it.SeekGE(storage.MVCCKey{Key: keys.RangeIDPrefix(id + 1)})
	}
	return ids, it.Err()
}

func (s *Store) addReplica(rangeID int64) error {
	r, err := newReplica(s, rangeID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.replicas[rangeID] = r
	s.mu.Unlock()
	return nil
}

// storeSender reaches Config.Sender, which may be set after the replicas
// were created (SetSender).
type storeSender struct{ s *Store }

func (ss storeSender) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if ss.s.cfg.Sender == nil {
		return nil, fmt.Errorf("replication: n%d has no sender to reach other ranges: %w", ss.s.cfg.NodeID, kvrpc.ErrUnavailable)
	}
	return ss.s.cfg.Sender.Send(ctx, ba)
}

// SetSender sets Config.Sender; call it before Start (the router that
// reaches the store's own node usually needs the store first).
func (s *Store) SetSender(h kvrpc.Handler) { s.cfg.Sender = h }

// NodeID returns the node's ID.
func (s *Store) NodeID() int32 { return s.cfg.NodeID }

// Coordinator identifies this process in transaction records.
func (s *Store) Coordinator() kvpb.Coordinator {
	return kvpb.Coordinator{NodeID: s.cfg.NodeID, BootID: s.bootID}
}

// Replica returns the replica of rangeID, or nil.
func (s *Store) Replica(rangeID int64) *Replica {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.replicas[rangeID]
}

// Replicas returns the store's replicas ordered by range ID.
func (s *Store) Replicas() []*Replica {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Replica, 0, len(s.replicas))
	for _, r := range s.replicas {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Replica) int { return cmp.Compare(a.rangeID, b.rangeID) })
	return out
}

// Start runs the replicas and listens for raft messages.
func (s *Store) Start() {
	s.stopListener = s.listen()
	s.mu.RLock()
	for _, r := range s.replicas {
		s.runReplica(r)
		r.campaignIfSole()
		r.wake()
	}
	s.mu.RUnlock()
	s.every(s.cfg.TickInterval, func() { s.forEachReplica((*Replica).tick) })
	if s.cfg.Liveness != nil {
		s.every(s.cfg.ReplicateInterval, s.replicateQueuePass)
		s.every(s.cfg.ReplicateInterval, s.refreshSpanConfigs)
	}
	s.every(s.cfg.ReplicateInterval, s.maintainMeta)
	s.every(s.cfg.ClosedTimestampInterval, s.publishClosed)
	if s.cfg.SplitThreshold > 0 {
		s.every(s.cfg.ReplicateInterval, s.splitQueuePass)
	}
	s.every(s.cfg.RaftLogQueueInterval, s.raftLogQueuePass)
}

// every runs fn every interval until the store stops.
func (s *Store) every(interval time.Duration, fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stopper:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// forEachReplica calls fn for each replica under the read lock.
func (s *Store) forEachReplica(fn func(*Replica)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.replicas {
		fn(r)
	}
}

// replicateQueuePass runs the replicate queue over the ranges this node
// leads.
func (s *Store) replicateQueuePass() {
	nodes := map[int32]NodeStatus{}
	for _, n := range s.cfg.Liveness.Nodes() {
		nodes[n.ID] = n
	}
	counts := s.replicaCounts()
	edgeCfgs := s.edgeConfigs()
	s.forEachReplica(func(r *Replica) {
		r.maybeChangeMembership(nodes, s.cfg.ReplicationFactor, s.cfg.DeadAfter, counts, edgeCfgs)
		r.wake()
	})
}

// replicaCounts returns how many replicas each node holds according to the
// meta records, or nil if they cannot be read (rebalancing then waits).
func (s *Store) replicaCounts() map[int32]int {
	if s.cfg.Sender == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, s.cfg.ReplicateInterval)
	defer cancel()
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: keys.MetaKey(keys.MinSplitKey), EndKey: keys.MetaMax}})
	resp, err := s.cfg.Sender.Send(ctx, ba)
	if err != nil {
		return nil
	}
	counts := map[int32]int{}
	for _, row := range resp.Responses[0].(*kvpb.ScanResponse).Rows {
		d, err := kvpb.DecodeRangeDescriptor(row.Value)
		if err != nil {
			return nil
		}
		for _, rep := range d.Replicas {
			counts[rep.NodeID]++
		}
	}
	return counts
}

func (s *Store) runReplica(r *Replica) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.stopper:
				return
			case <-r.signal:
			}
			err := r.maybeReload()
			// Advancing can make another Ready (a single voter commits
			// its own entries once they are persisted): drain them all.
			for more := err == nil; more && err == nil; {
				more, err = r.handleReady()
			}
			if errors.Is(err, errReplicaDestroyed) {
				return
			}
			if err != nil {
				// Storage failures leave the replica's durable state
				// unknown: stop serving it rather than diverge.
				s.log.Error("replica failed; it stops", "range", r.rangeID, "err", err)
				r.failProposals()
				return
			}
		}
	}()
}

func (s *Store) handleRaft(_ context.Context, from int32, msgs []transport.Message) {
	for _, m := range msgs {
		if c, index, ok := decodeClosedUpdate(m.Msg); ok {
			if r := s.Replica(m.RangeID); r != nil {
				r.recordClosed(c, index)
			}
			continue
		}
		r := s.Replica(m.RangeID)
		if r == nil {
			// A leader talking to us about a range we do not hold: we
			// were added to it. Create an empty replica; the leader
			// fills its log.
			switch m.Msg.GetType() {
			case raftpb.MessageType_MsgApp, raftpb.MessageType_MsgHeartbeat, raftpb.MessageType_MsgSnap:
			default:
				continue
			}
			var err error
			if r, err = s.createReplica(m.RangeID); err != nil {
				s.log.Error("cannot create replica", "range", m.RangeID, "err", err)
				continue
			}
		}
		r.step(m.Msg)
	}
}

// createReplica makes an uninitialized replica for a range this node was
// added to, and runs it.
func (s *Store) createReplica(rangeID int64) (*Replica, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.replicas[rangeID]; r != nil {
		return r, nil
	}
	select {
	case <-s.stopper:
		return nil, ErrStoreStopped
	default:
	}
	r, err := newReplica(s, rangeID)
	if err != nil {
		return nil, err
	}
	s.replicas[rangeID] = r
	s.runReplica(r)
	s.log.Info("replica created", "range", rangeID)
	return r, nil
}

func (s *Store) sendRaft(rangeID int64, msgs []*raftpb.Message) {
	if msgs = s.divertSnapshots(rangeID, msgs); len(msgs) == 0 {
		return
	}
	// Group by destination so that each pair gets one batch.
	byNode := map[int32][]transport.Message{}
	for _, m := range msgs {
		to := int32(m.GetTo())
		byNode[to] = append(byNode[to], transport.Message{RangeID: rangeID, Msg: m})
	}
	for to, batch := range byNode {
		if err := s.cfg.Transport.Send(s.cfg.NodeID, to, batch); err != nil && !errors.Is(err, transport.ErrClosed) {
			s.log.Warn("raft send failed", "to", to, "err", err)
		}
	}
}

// replicaForKey returns the initialized replica whose range contains key,
// or nil.
func (s *Store) replicaForKey(key kvpb.Key) *Replica {
	if len(key) == 0 {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.replicas {
		r.mu.Lock()
		ok := r.initializedLocked() && r.mu.desc.ContainsKey(key)
		r.mu.Unlock()
		if ok {
			return r
		}
	}
	return nil
}

// descriptorsOverlapping returns the descriptors of this store's
// initialized replicas that overlap sp, for a RangeKeyMismatchError. The
// caller may hold one replica's mu: that replica's descriptor is read
// without locking it again.
func (s *Store) descriptorsOverlapping(sp kvpb.Span) []kvpb.RangeDescriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []kvpb.RangeDescriptor
	for _, r := range s.replicas {
		if !r.mu.TryLock() {
			continue // the caller's own replica, or one busy applying
		}
		if r.initializedLocked() && r.mu.desc.Span().Overlaps(sp) {
			out = append(out, *r.mu.desc.Clone())
		}
		r.mu.Unlock()
	}
	return out
}

// Send implements kvrpc.Handler: it evaluates the batch on the replica of
// the range holding its keys, which must hold the lease.
func (s *Store) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	s.inflightMu.RLock()
	select {
	case <-s.stopper:
		s.inflightMu.RUnlock()
		return nil, ErrStoreStopped
	default:
	}
	s.inflight.Add(1)
	s.inflightMu.RUnlock()
	defer s.inflight.Done()

	key := ba.AddressOf(ba.Requests[0]).Key
	r := s.replicaForKey(key)
	if r == nil {
		return nil, &kvpb.NotLeaseHolderError{Replica: s.cfg.NodeID, Msg: fmt.Sprintf("this node holds no replica of the range containing %s", key)}
	}
	// Stop cancels requests in progress, as a crash would end them.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	var resp *kvpb.BatchResponse
	var err error
	if ba.FollowerRead && ba.IsReadOnly() {
		if resp, served, err := s.tryFollowerRead(ctx, r, ba); served {
			return resp, err
		}
	}
	if as, ok := ba.Requests[0].(*kvpb.AdminSplitRequest); ok && len(ba.Requests) == 1 {
		var sr *kvpb.AdminSplitResponse
		if sr, err = r.adminSplit(ctx, as.SplitKey); err == nil {
			resp = &kvpb.BatchResponse{Responses: []kvpb.Response{sr}}
		}
	} else {
		resp, err = r.send(ctx, ba)
	}
	if err != nil && s.stopCtx.Err() != nil {
		var amb *kvpb.AmbiguousResultError
		switch {
		case errors.As(err, &amb):
		case ba.IsReadOnly():
			err = fmt.Errorf("%w (was: %v)", ErrStoreStopped, err)
		default:
			err = &kvpb.AmbiguousResultError{Msg: fmt.Sprintf("n%d stopped during the request: %v", s.cfg.NodeID, err)}
		}
	}
	return resp, err
}

// Stop stops the replicas. Writes in flight fail as ambiguous. It does not
// close the engine.
func (s *Store) Stop() {
	s.stopOnce.Do(func() {
		s.inflightMu.Lock()
		close(s.stopper)
		s.inflightMu.Unlock()
		s.cancelAll()
		s.inflight.Wait()
		if s.stopListener != nil {
			s.stopListener()
		}
		s.wg.Wait()
		s.mu.RLock()
		for _, r := range s.replicas {
			r.failProposals()
			r.pipeline.Stop()
		}
		s.mu.RUnlock()
	})
}
