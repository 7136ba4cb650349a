package replication

import (
	"context"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/spanconfig"
)

// Edge placement (issue 5): which edge nodes hold a non-voting replica of
// a range. The span configs (kv/spanconfig, written by ALTER TABLE ... SET
// (edge_regions = ...)) say, per span, which edge regions want replicas;
// a span without a config wants every edge region. A range's allowed
// regions are the union over the configs it overlaps, or every region if
// some key of it has no config (spanconfig.Set.EdgeRegions).
//
// The store reads the configs through its Sender (the node's router: the
// leaseholder of a range need not hold a replica of the system range) in
// a loop of its own, every ReplicateInterval, and the replicate queue
// uses the last set read: a read blocks on the intents of an ALTER TABLE
// in progress, and the queue must not wait for it. Until the first read
// succeeds the queue neither adds nor removes edge replicas (so a
// restarted node does not undo a table's opt-out before it knows of it);
// a store without a Sender can never read them and uses the default.

// edgeConfigs is what the replicate queue knows of the span configs.
type edgeConfigs struct {
	known bool // a read succeeded (or there is nothing to read)
	set   *spanconfig.Set
}

// refreshSpanConfigs reads the span configs if some node is an edge node
// (otherwise there is nothing to place).
func (s *Store) refreshSpanConfigs() {
	if s.cfg.Sender == nil {
		return
	}
	if !slices.ContainsFunc(s.cfg.Liveness.Nodes(), func(n NodeStatus) bool { return n.Edge }) {
		return
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, 3*s.cfg.ReplicateInterval)
	defer cancel()
	set, err := spanconfig.Read(ctx, s.cfg.Sender)
	if err != nil {
		s.log.Debug("reading span configs failed; keeping the last read", "err", err)
		return
	}
	s.spanConfigs.Store(&edgeConfigs{known: true, set: set})
}

// edgeConfigs returns the span configs the replicate queue goes by.
func (s *Store) edgeConfigs() edgeConfigs {
	if c := s.spanConfigs.Load(); c != nil {
		return *c
	}
	if s.cfg.Sender == nil {
		return edgeConfigs{known: true}
	}
	return edgeConfigs{}
}

// SpanConfigs returns the span configs this store read last (nil before
// the first read), for tests and introspection.
func (s *Store) SpanConfigs() *spanconfig.Set {
	if c := s.spanConfigs.Load(); c != nil {
		return c.set
	}
	return nil
}

// edgeStepLocked is the edge part of the replicate queue's first step: it
// removes a non-voter on an edge node whose region the range's configs do
// not allow, else adds one on a live edge node whose region they allow
// and that holds no replica. Voters are never touched here (an edge node
// holding one is left alone). It reports whether it proposed a change.
func (r *Replica) edgeStepLocked(st raft.Status, nodes map[int32]NodeStatus, cfgs edgeConfigs) bool {
	if !cfgs.known {
		return false
	}
	regions, all := cfgs.set.EdgeRegions(r.mu.desc.Span())
	allowed := func(n NodeStatus) bool { return all || slices.Contains(regions, n.Region) }
	for id := range st.Config.Learners {
		n, ok := nodes[int32(id)]
		if ok && n.Edge && !allowed(n) {
			r.proposeConfChangeLocked(raftpb.ConfChangeRemoveNode, int32(id))
			return true
		}
	}
	for id, n := range nodes {
		if !n.Edge || !n.Live || n.Decommissioning || !allowed(n) {
			continue
		}
		if _, voter := st.Config.Voters.IDs()[uint64(id)]; voter {
			continue
		}
		if _, learner := st.Config.Learners[uint64(id)]; learner {
			continue
		}
		r.proposeConfChangeLocked(raftpb.ConfChangeAddLearnerNode, id)
		return true
	}
	return false
}
