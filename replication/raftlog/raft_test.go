package raftlog

import (
	"fmt"
	"io"
	"log"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/kv/storage"
)

type testNode struct {
	id      uint64
	eng     *storage.Pebble
	st      *Storage
	rn      *raft.RawNode
	applied []string
}

// handleReady persists a Ready through Storage (committing with sync) and
// only then returns its messages for sending, applying committed entries.
func (n *testNode) handleReady(t *testing.T) []*raftpb.Message {
	t.Helper()
	rd := n.rn.Ready()
	if !raft.IsEmptySnap(rd.Snapshot) {
		t.Fatalf("node %d: unexpected snapshot", n.id)
	}
	b := n.eng.NewBatch()
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := n.st.SetHardState(b, rd.HardState); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.st.Append(b, rd.Entries); err != nil {
		t.Fatal(err)
	}
	if err := n.st.Commit(b); err != nil { // persist before send/ack
		t.Fatal(err)
	}
	b.Close()
	for _, e := range rd.CommittedEntries {
		if e.GetType() == raftpb.EntryType_EntryNormal && len(e.GetData()) > 0 {
			n.applied = append(n.applied, string(e.GetData()))
		}
	}
	msgs := rd.Messages
	n.rn.Advance(rd)
	return msgs
}

// TestThreeNodeGroup runs a 3-node raft group over three in-memory engines
// in one goroutine, proposes 100 entries and checks every node applied them
// in the same order, and that the durable logs reopen consistently.
func TestThreeNodeGroup(t *testing.T) {
	const (
		rangeID   = 9
		proposals = 100
	)
	logger := &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	nodes := map[uint64]*testNode{}
	for id := uint64(1); id <= 3; id++ {
		eng := storage.OpenInMem()
		defer eng.Close()
		st, err := Open(eng, rangeID)
		if err != nil {
			t.Fatal(err)
		}
		b := eng.NewBatch()
		if err := st.SetConfState(b, &raftpb.ConfState{Voters: []uint64{1, 2, 3}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(b); err != nil {
			t.Fatal(err)
		}
		b.Close()
		rn, err := raft.NewRawNode(&raft.Config{
			ID:              id,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         st,
			MaxSizePerMsg:   4 << 10, // small, so appends span several messages
			MaxInflightMsgs: 16,
			Logger:          logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[id] = &testNode{id: id, eng: eng, st: st, rn: rn}
	}
	if err := nodes[1].rn.Campaign(); err != nil {
		t.Fatal(err)
	}

	var inflight []*raftpb.Message
	proposed := 0
	done := func() bool {
		for _, n := range nodes {
			if len(n.applied) < proposals {
				return false
			}
		}
		return true
	}
	for iter := 0; !done(); iter++ {
		if iter > 100000 {
			t.Fatalf("no progress: applied %d/%d/%d", len(nodes[1].applied), len(nodes[2].applied), len(nodes[3].applied))
		}
		for id := uint64(1); id <= 3; id++ {
			n := nodes[id]
			for n.rn.HasReady() {
				inflight = append(inflight, n.handleReady(t)...)
			}
		}
		if len(inflight) > 0 {
			msgs := inflight
			inflight = nil
			for _, m := range msgs {
				if err := nodes[m.GetTo()].rn.Step(m); err != nil {
					t.Fatalf("step %v: %v", m, err)
				}
			}
			continue
		}
		// Quiet: propose a few entries (some through followers, which
		// forward to the leader) once there is a leader, else tick.
		if proposed < proposals && nodes[1].rn.Status().RaftState == raft.StateLeader {
			for k := 0; k < 7 && proposed < proposals; k++ {
				via := nodes[uint64(1+proposed%3)]
				if err := via.rn.Propose(fmt.Appendf(nil, "p%03d", proposed)); err != nil {
					t.Fatal(err)
				}
				proposed++
			}
			continue
		}
		for _, n := range nodes {
			n.rn.Tick()
		}
	}

	for id := uint64(2); id <= 3; id++ {
		a, b := nodes[1].applied, nodes[id].applied
		if len(a) != len(b) {
			t.Fatalf("node %d applied %d entries, node 1 %d", id, len(b), len(a))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("entry %d: node 1 applied %q, node %d %q", i, a[i], id, b[i])
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range nodes[1].applied {
		seen[p] = true
	}
	if len(seen) != proposals {
		t.Fatalf("applied %d distinct proposals, want %d", len(seen), proposals)
	}

	// The durable state reopens to what raft saw.
	for id, n := range nodes {
		st, err := Open(n.eng, rangeID)
		if err != nil {
			t.Fatal(err)
		}
		last1, _ := n.st.LastIndex()
		last2, _ := st.LastIndex()
		hs1, cs1, _ := n.st.InitialState()
		hs2, cs2, _ := st.InitialState()
		if last1 != last2 || !proto.Equal(hs1, hs2) || !proto.Equal(cs1, cs2) {
			t.Fatalf("node %d: reopened state differs: %d %v %v vs %d %v %v", id, last1, hs1, cs1, last2, hs2, cs2)
		}
		if hs2.GetCommit() < proposals {
			t.Fatalf("node %d: durable commit %d < %d", id, hs2.GetCommit(), proposals)
		}
		ents, err := st.Entries(1, last2+1, ^uint64(0))
		if err != nil {
			t.Fatal(err)
		}
		var data []string
		for _, e := range ents {
			if len(e.GetData()) > 0 {
				data = append(data, string(e.GetData()))
			}
		}
		if fmt.Sprint(data) != fmt.Sprint(nodes[1].applied) {
			t.Fatalf("node %d: durable log %v differs from applied %v", id, data, nodes[1].applied)
		}
	}
}
