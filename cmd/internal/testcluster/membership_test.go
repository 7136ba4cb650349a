package testcluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/outpostdb/outpost/replication"
)

// waitMembers waits until the first range's voters are exactly want and
// it has no learners.
func waitMembers(t *testing.T, c *Cluster, want []int32, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var voters, learners []int32
	for time.Now().Before(deadline) {
		voters, learners = c.Members()
		if slices.Equal(voters, want) && len(learners) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("voters %v learners %v, want voters %v", voters, learners, want)
}

// TestUpReplication: a range bootstrapped on one node gains two voters as
// nodes join (each first a learner that catches up from the log), and then
// survives the loss of its original node.
func TestUpReplication(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 1, Seed: 21})
	for i := 0; i < 20; i++ {
		if err := put(ctx, c.Node(1).DB, key(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := c.AddNode(); err != nil {
			t.Fatal(err)
		}
	}
	waitMembers(t, c, []int32{1, 2, 3}, 20*time.Second)
	c.Kill(1)
	for i := 0; i < 20; i++ {
		if v, err := get(ctx, c.Node(2).DB, key(i)); err != nil || v != "v" {
			t.Fatalf("key %d after losing n1: %q, %v", i, v, err)
		}
	}
	if err := put(ctx, c.Node(3).DB, key(99), "w"); err != nil {
		t.Fatal(err)
	}
}

// TestDeadNodeReplaced: a voter down longer than DeadAfter is replaced by
// a spare node, which receives the data.
func TestDeadNodeReplaced(t *testing.T) {
	ctx := context.Background()
	st := replication.Config{DeadAfter: time.Second}
	c := Start(t, Options{Nodes: 4, Bootstrap: 3, Seed: 22, Store: st})
	waitMembers(t, c, []int32{1, 2, 3}, 10*time.Second)
	if err := put(ctx, c.Node(1).DB, key(1), "before"); err != nil {
		t.Fatal(err)
	}
	victim := someOther(c, c.LeaseHolder(), 4)
	c.Kill(victim)
	var want []int32
	for _, id := range []int32{1, 2, 3, 4} {
		if id != victim {
			want = append(want, id)
		}
	}
	waitMembers(t, c, want, 20*time.Second)
	target := c.Node(c.LeaseHolder()).Store.Replica(replication.FirstRangeID).Status().Commit
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.WaitApplied(wctx, target); err != nil {
		t.Fatal(err)
	}
	if v := localValue(t, c, 4, key(1)); v != "before" {
		t.Fatalf("replacement n4 has %q", v)
	}
}

// TestDecommission: a decommissioning node's replica moves to a spare, the
// leaseholder's included (it hands leadership over first).
func TestDecommission(t *testing.T) {
	for _, leaseholder := range []bool{false, true} {
		t.Run(fmt.Sprintf("leaseholder=%t", leaseholder), func(t *testing.T) {
			c := Start(t, Options{Nodes: 4, Bootstrap: 3, Seed: 23})
			waitMembers(t, c, []int32{1, 2, 3}, 10*time.Second)
			victim := someOther(c, c.LeaseHolder(), 4)
			if leaseholder {
				victim = c.LeaseHolder()
			}
			c.Decommission(victim)
			var want []int32
			for _, id := range []int32{1, 2, 3, 4} {
				if id != victim {
					want = append(want, id)
				}
			}
			waitMembers(t, c, want, 30*time.Second)
			if err := put(context.Background(), c.Node(want[0]).DB, key(7), "x"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
