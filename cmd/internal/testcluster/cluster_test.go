package testcluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/replication"
)

func key(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("k/%05d", i)) }

func put(ctx context.Context, db *kv.DB, k kvpb.Key, v string) error {
	return db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		return txn.Put(ctx, k, []byte(v))
	})
}

func get(ctx context.Context, db *kv.DB, k kvpb.Key) (string, error) {
	var out []byte
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		v, err := txn.Get(ctx, k)
		out = v
		return err
	})
	return string(out), err
}

// someOther returns a live node other than not.
func someOther(c *Cluster, not ...int32) int32 {
outer:
	for _, id := range c.IDs() {
		for _, n := range not {
			if id == n {
				continue outer
			}
		}
		if c.Alive(id) {
			return id
		}
	}
	return 0
}

// localValue reads k straight from node id's engine (as of now), without
// a lease: what that replica has applied.
func localValue(t *testing.T, c *Cluster, id int32, k kvpb.Key) string {
	t.Helper()
	n := c.Node(id)
	v, _, err := mvcc.Get(n.Engine, k, hlc.MaxTimestamp, mvcc.ReadOptions{})
	if err != nil {
		t.Fatalf("n%d: %v", id, err)
	}
	return string(v)
}

// TestLeaseholderKill: acknowledged writes survive the leaseholder's
// death (SIGKILL semantics: only fsynced state remains), writes resume on
// the survivors after an election, and the restarted node catches up from
// its log.
func TestLeaseholderKill(t *testing.T) {
	for _, nodes := range []int{3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", nodes), func(t *testing.T) {
			ctx := context.Background()
			c := Start(t, Options{Nodes: nodes, Seed: int64(nodes)})
			lh := c.LeaseHolder()
			gw := someOther(c, lh)
			db := c.Node(gw).DB
			for i := 0; i < 50; i++ {
				if err := put(ctx, db, key(i), "v1"); err != nil {
					t.Fatal(err)
				}
			}
			c.Kill(lh)
			start := time.Now()
			for i := 50; i < 100; i++ {
				if err := put(ctx, db, key(i), "v1"); err != nil {
					t.Fatalf("write %d after killing n%d: %v", i, lh, err)
				}
			}
			t.Logf("writes resumed %s after killing leaseholder n%d; new leaseholder n%d", time.Since(start), lh, c.LeaseHolder())
			for i := 0; i < 100; i++ {
				if v, err := get(ctx, db, key(i)); err != nil || v != "v1" {
					t.Fatalf("key %d: %q, %v (acknowledged write lost)", i, v, err)
				}
			}
			// The killed node restarts from its durable log and catches up.
			if err := c.Restart(lh); err != nil {
				t.Fatal(err)
			}
			if err := put(ctx, db, kvpb.Key("marker"), "m"); err != nil {
				t.Fatal(err)
			}
			target := c.Node(c.LeaseHolder()).Store.Replica(replication.FirstRangeID).Status().Commit
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := c.WaitApplied(wctx, target); err != nil {
				t.Fatalf("restarted n%d did not catch up to %d: %v", lh, target, err)
			}
			for i := 0; i < 100; i++ {
				if v := localValue(t, c, lh, key(i)); v != "v1" {
					t.Fatalf("restarted n%d has key %d = %q", lh, i, v)
				}
			}
		})
	}
}

// TestMinorityPartition: a leaseholder cut off with a minority stops
// serving (no stale read once the majority has written), the majority
// elects a new leaseholder and keeps serving, and after the heal the
// minority converges.
func TestMinorityPartition(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 5, Seed: 11, RouterTimeout: 3 * time.Second})
	lh := c.LeaseHolder()
	gwMinority := lh
	k := kvpb.Key("x")
	if err := put(ctx, c.Node(lh).DB, k, "before"); err != nil {
		t.Fatal(err)
	}
	// Minority: the leaseholder plus one; majority: the other three.
	minority := []int32{lh, someOther(c, lh)}
	var majority []int32
	for _, id := range c.IDs() {
		if id != minority[0] && id != minority[1] {
			majority = append(majority, id)
		}
	}
	c.Partition(minority, majority)
	gwMajority := majority[0]
	if err := put(ctx, c.Node(gwMajority).DB, k, "after"); err != nil {
		t.Fatalf("majority could not write: %v", err)
	}
	if got := c.LeaseHolder(); got == lh {
		t.Fatalf("old leaseholder n%d still claims a valid lease after the majority wrote", lh)
	}
	// Any read on the minority side now must fail: serving "before" would
	// be a stale read.
	for _, id := range minority {
		v, err := get(ctx, c.Node(id).DB, k)
		if err == nil {
			t.Fatalf("n%d (minority) served %q after the majority wrote", id, v)
		}
		var ru *kvpb.RangeUnavailableError
		if !errors.As(err, &ru) {
			t.Fatalf("n%d (minority): want RangeUnavailableError, got %v", id, err)
		}
	}
	_ = gwMinority
	c.Heal()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	target := c.Node(c.LeaseHolder()).Store.Replica(replication.FirstRangeID).Status().Commit
	if err := c.WaitApplied(wctx, target); err != nil {
		t.Fatal(err)
	}
	for _, id := range minority {
		if v := localValue(t, c, id, k); v != "after" {
			t.Fatalf("n%d did not converge: %q", id, v)
		}
		if v, err := get(ctx, c.Node(id).DB, k); err != nil || v != "after" {
			t.Fatalf("n%d after heal: %q, %v", id, v, err)
		}
	}
}
