package replication

import (
	"time"

	"github.com/outpostdb/outpost/kv/hlc"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// NodeStatus is what the replicate queue knows of a node.
type NodeStatus struct {
	ID   int32
	Live bool
	// DownSince is when the node stopped being live (zero while live).
	DownSince time.Time
	// Decommissioning nodes give their replicas away.
	Decommissioning bool
	// Edge nodes never hold voting replicas (issue 5); they hold a
	// non-voter of the ranges whose span configs allow their Region (the
	// region tier of the node's locality; see edge_placement.go).
	Edge   bool
	Region string
}

// NodeLiveness tells the replicate queue which nodes may hold replicas.
type NodeLiveness interface {
	Nodes() []NodeStatus
}

// maybeChangeMembership runs one step of the replicate queue on a replica
// that leads its range: at most one membership change per call, because
// raft applies one at a time. The policy, in order:
//
//  1. a learner that has caught up with the commit index is promoted to
//     voter, unless it is on an edge node (those stay non-voters);
//     learners on removable nodes are removed; a non-voter on an edge
//     node whose region the range's span configs do not allow is removed,
//     and every live edge node they allow without a replica gets one
//     (edge_placement.go);
//  2. with fewer usable voters than the target (the replication factor,
//     capped by the number of usable nodes), a usable node that holds no
//     replica is added as a learner (it catches up from the log, without
//     voting, so a slow newcomer cannot cost the range its quorum);
//  3. a voter on a node that is decommissioning or has been down longer
//     than DeadAfter is removed once the usable voters reach the target
//     (so the replacement exists first); if that voter is this replica,
//     leadership is transferred instead, and the new leader removes it;
//  4. rebalancing by replica count (counts, from the meta records, may be
//     nil), only while every voter is up: with more voters than the
//     replication factor, the voter on the node
//     holding the most replicas is removed (never this replica, which
//     holds the lease); with exactly the target, if a usable node outside
//     the range holds at least two replicas fewer than the fullest voter's
//     node, it is added as a learner (step 1 promotes it, this step then
//     removes the fuller one).
func (r *Replica) maybeChangeMembership(nodes map[int32]NodeStatus, factor int, deadAfter time.Duration, counts map[int32]int, edgeCfgs edgeConfigs) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.mu.raw.Status()
	// Only the leader that also holds the lease changes membership: a
	// leaseholder removed from its range would go on serving without
	// receiving the log until its lease expired.
	if st.RaftState != raft.StateLeader || r.checkLeaseLocked(r.store.cfg.Clock.Now(), hlc.Timestamp{}) != nil {
		return
	}
	if r.mu.confChangePending && time.Since(r.mu.confChangeAt) < 10*time.Second {
		return
	}
	self := r.store.cfg.NodeID
	usable := func(id int32) bool {
		n, ok := nodes[id]
		return ok && n.Live && !n.Decommissioning && !n.Edge
	}
	removable := func(id int32) bool {
		n, ok := nodes[id]
		if !ok {
			return false // unknown to liveness: leave it alone
		}
		return n.Decommissioning || (!n.Live && !n.DownSince.IsZero() && time.Since(n.DownSince) > deadAfter)
	}
	target := 0
	for id := range nodes {
		if usable(id) {
			target++
		}
	}
	target = min(max(target, 1), factor)

	var goodVoters, badVoters []int32
	for id := range st.Config.Voters.IDs() {
		if removable(int32(id)) {
			badVoters = append(badVoters, int32(id))
		} else {
			goodVoters = append(goodVoters, int32(id))
		}
	}
	edge := func(id int32) bool { return nodes[id].Edge }
	catchingUp := false
	for id := range st.Config.Learners {
		if removable(int32(id)) {
			r.proposeConfChangeLocked(raftpb.ConfChangeRemoveNode, int32(id))
			return
		}
		if edge(int32(id)) {
			continue // an edge node's replica stays a non-voter
		}
		if pr, ok := st.Progress[id]; ok && pr.Match >= st.GetCommit() {
			r.proposeConfChangeLocked(raftpb.ConfChangeAddNode, int32(id))
			return
		}
		catchingUp = true
	}
	if catchingUp {
		return // let the learner catch up first
	}
	if r.edgeStepLocked(st, nodes, edgeCfgs) {
		return
	}
	if len(goodVoters) < target {
		voters := st.Config.Voters.IDs()
		for id := range nodes {
			if _, member := voters[uint64(id)]; member || !usable(id) {
				continue
			}
			r.proposeConfChangeLocked(raftpb.ConfChangeAddLearnerNode, id)
			return
		}
	}
	if len(badVoters) > 0 && len(goodVoters) >= target {
		victim := badVoters[0]
		if victim == self {
			for _, v := range goodVoters {
				if usable(v) {
					r.mu.raw.TransferLeader(uint64(v))
					return
				}
			}
			return
		}
		r.proposeConfChangeLocked(raftpb.ConfChangeRemoveNode, victim)
		return
	}
	if counts == nil || len(badVoters) > 0 {
		return
	}
	// The fullest usable voter other than this one (the leaseholder).
	// Only usable voters count: a voter that is merely down (not yet
	// removable) still holds its place, or a short outage would shrink
	// the range below its quorum.
	fullest, most, live := int32(0), -1, 0
	for _, v := range goodVoters {
		if !usable(v) {
			continue
		}
		live++
		if v != self && (counts[v] > most || counts[v] == most && v < fullest) {
			fullest, most = v, counts[v]
		}
	}
	if fullest == 0 || live < len(goodVoters) {
		return // wait for every voter to be up before moving replicas
	}
	if live > factor {
		r.proposeConfChangeLocked(raftpb.ConfChangeRemoveNode, fullest)
		return
	}
	voters := st.Config.Voters.IDs()
	emptiest, least := int32(0), 0
	for id := range nodes {
		if _, member := voters[uint64(id)]; member || !usable(id) {
			continue
		}
		if emptiest == 0 || counts[id] < least || counts[id] == least && id < emptiest {
			emptiest, least = id, counts[id]
		}
	}
	// Counts come from meta records that lag, and every range decides at
	// once: move only between nodes on either side of the mean, and at
	// most once per range per cooldown, so that ranges do not all pile
	// onto the same node and back.
	total, usableNodes := 0, 0
	for id := range nodes {
		if usable(id) {
			total += counts[id]
			usableNodes++
		}
	}
	mean := float64(total) / float64(max(usableNodes, 1))
	cooldown := 20 * r.store.cfg.ReplicateInterval
	if emptiest != 0 && most-least >= 2 && float64(most) > mean && float64(least) < mean &&
		time.Since(r.mu.lastRebalance) > cooldown {
		r.store.log.Info("rebalancing", "range", r.rangeID, "from", fullest, "replicas", most, "to", emptiest, "replicas", least)
		r.mu.lastRebalance = time.Now()
		r.proposeConfChangeLocked(raftpb.ConfChangeAddLearnerNode, emptiest)
	}
}

func (r *Replica) proposeConfChangeLocked(typ raftpb.ConfChangeType, node int32) {
	cc := &raftpb.ConfChange{Type: typ.Enum(), NodeId: new(uint64(node))}
	if err := r.mu.raw.ProposeConfChange(cc); err != nil {
		r.store.log.Warn("membership change not proposed", "range", r.rangeID, "change", typ.String(), "node", node, "err", err)
		return
	}
	r.mu.confChangePending, r.mu.confChangeAt = true, time.Now()
	r.store.log.Info("proposing membership change", "range", r.rangeID, "change", typ.String(), "node", node)
}
