package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication"
)

// waitNonVoter waits until node id holds an initialized non-voting
// replica of the first range.
func waitNonVoter(t *testing.T, c *Cluster, id int32) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r := c.Node(id).Store.Replica(replication.FirstRangeID); r != nil {
			d := r.Desc()
			if rd, ok := d.Replica(id); ok && rd.Type == kvpb.NonVoter {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("n%d never became a non-voter", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEdgeNode: an edge node receives a non-voting replica, serves
// follower reads from it (exact staleness through its own router, which
// tries the local replica first), never holds the lease, forwards strong
// reads and writes to the leaseholder, and once cut off from the core
// keeps serving what it has closed while strong reads and writes fail
// clearly instead of hanging.
func TestEdgeNode(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 3, Seed: 51, RouterTimeout: 2 * time.Second, Store: replication.Config{
		ClosedTimestampLag: 50 * time.Millisecond, ClosedTimestampInterval: 10 * time.Millisecond}})
	edge, err := c.AddEdgeNode()
	if err != nil {
		t.Fatal(err)
	}
	waitNonVoter(t, c, edge.ID)
	for i := 0; i < 10; i++ {
		if err := put(ctx, edge.DB, key(i), "v1"); err != nil {
			t.Fatalf("write through the edge: %v", err)
		}
	}
	// Strong reads through the edge see the writes at once.
	if v, err := get(ctx, edge.DB, key(3)); err != nil || v != "v1" {
		t.Fatalf("strong read on the edge: %q %v", v, err)
	}
	// An exact-staleness read through the edge's router is served by its
	// own replica once the timestamp is closed there.
	ts := edge.Clock.Now()
	waitClosed(t, c, edge.ID, ts)
	before := edge.Store.FollowerReadStats().Served
	txn, err := edge.DB.NewReadOnlyTxnAt("edge", ts)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := txn.Get(ctx, key(3)); err != nil || string(v) != "v1" {
		t.Fatalf("follower read on the edge: %q %v", v, err)
	}
	if edge.Store.FollowerReadStats().Served <= before {
		t.Fatal("the edge's follower read was not served by its own replica")
	}
	if lh := c.LeaseHolder(); lh == edge.ID {
		t.Fatal("the edge node holds the lease")
	}
	// Cut the edge off from the core.
	var core []int32
	for _, id := range c.IDs() {
		if id != edge.ID {
			core = append(core, id)
		}
	}
	closedBefore := edge.Store.Replica(replication.FirstRangeID).ClosedTimestamp()
	c.Partition([]int32{edge.ID}, core)
	txn, _ = edge.DB.NewReadOnlyTxnAt("edge", closedBefore)
	if v, err := txn.Get(ctx, key(3)); err != nil || string(v) != "v1" {
		t.Fatalf("partitioned edge, read within its closed timestamp: %q %v", v, err)
	}
	start := time.Now()
	_, err = get(ctx, edge.DB, key(3))
	var ru *kvpb.RangeUnavailableError
	if !errors.As(err, &ru) {
		t.Fatalf("partitioned edge, strong read: %v (want RangeUnavailableError)", err)
	}
	if err := put(ctx, edge.DB, key(4), "lost?"); !errors.As(err, &ru) {
		t.Fatalf("partitioned edge, write: %v (want RangeUnavailableError)", err)
	}
	t.Logf("strong read and write on the cut-off edge failed after %s", time.Since(start))
	// The core keeps writing; after the heal the edge catches up.
	if err := put(ctx, c.Node(core[0]).DB, key(5), "v2"); err != nil {
		t.Fatal(err)
	}
	c.Heal()
	ts = c.Node(core[0]).Clock.Now()
	waitClosed(t, c, edge.ID, ts)
	txn, _ = edge.DB.NewReadOnlyTxnAt("edge", ts)
	if v, err := txn.Get(ctx, key(5)); err != nil || string(v) != "v2" {
		t.Fatalf("edge after the heal: %q %v", v, err)
	}
}
