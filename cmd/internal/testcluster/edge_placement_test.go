package testcluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/spanconfig"
)

// edgeLearners returns the nodes holding a non-voter of the range that
// contains k, as the range's leaseholder sees it ("" if no node serves it).
func edgeLearners(c *Cluster, k kvpb.Key) (string, bool) {
	for _, id := range c.IDs() {
		if !c.Alive(id) {
			continue
		}
		n := c.Node(id)
		for _, r := range n.Store.Replicas() {
			d := r.Desc()
			if d.EndKey == nil || !d.ContainsKey(k) || r.CheckServe(nil, n.Clock.Now()) != nil {
				continue
			}
			var ids []int32
			for _, rep := range d.Replicas {
				if rep.Type == kvpb.NonVoter {
					ids = append(ids, rep.NodeID)
				}
			}
			slices.Sort(ids)
			return fmt.Sprint(ids), true
		}
	}
	return "", false
}

// waitEdgeLearners waits until the ranges containing each key have
// exactly the non-voters want (e.g. "[4 5]").
func waitEdgeLearners(t *testing.T, c *Cluster, want string, ks ...kvpb.Key) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range ks {
		for {
			got, ok := edgeLearners(c, k)
			if ok && got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("range of %q: non-voters %s, want %s", k, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestEdgePlacement: with edge nodes in regions eu and ap, a span config
// naming eu leaves the span's ranges with a non-voter on the eu edge only
// (other spans keep both), an empty one with none, and deleting it brings
// both back. A range straddling a configured and an unconfigured span
// keeps both (the default applies to part of it).
func TestEdgePlacement(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 3, Seed: 61})
	eu, err := c.AddEdgeNodeIn("eu")
	if err != nil {
		t.Fatal(err)
	}
	ap, err := c.AddEdgeNodeIn("ap")
	if err != nil {
		t.Fatal(err)
	}
	both := fmt.Sprint([]int32{eu.ID, ap.ID})
	waitEdgeLearners(t, c, both, kvpb.Key(keys.MinSplitKey))

	tA, tB := kvpb.Key(keys.TablePrefix(200)), kvpb.Key(keys.TablePrefix(300))
	spanA := kvpb.Span{Key: tA, EndKey: kvpb.Key(keys.TablePrefix(201))}
	inA, inB := append(tA.Next(), 7), append(tB.Next(), 7)
	for _, k := range []kvpb.Key{spanA.Key, spanA.EndKey, tB} {
		if _, err := split(ctx, c, 1, k); err != nil {
			t.Fatalf("split at %q: %v", k, err)
		}
	}
	// Splitting at a boundary again is a no-op.
	if _, err := split(ctx, c, 2, spanA.Key); err != nil {
		t.Fatal(err)
	}
	for i, k := range []kvpb.Key{inA, inB} {
		if err := put(ctx, c.Node(1).DB, k, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	setConfig := func(regions ...string) {
		t.Helper()
		if err := c.Node(2).DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			if regions == nil {
				return spanconfig.Delete(ctx, txn, spanA.Key)
			}
			return spanconfig.Put(ctx, txn, spanconfig.Config{Span: spanA, EdgeRegions: slices.DeleteFunc(regions, func(r string) bool { return r == "" })})
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitEdgeLearners(t, c, both, inA, inB)

	setConfig("eu")
	waitEdgeLearners(t, c, fmt.Sprint([]int32{eu.ID}), inA)
	waitEdgeLearners(t, c, both, inB, kvpb.Key(keys.MinSplitKey), spanA.EndKey)

	// The eu edge still serves the table from its own replica.
	ts := c.Node(1).Clock.Now()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := eu.Store.Replica(rangeOf(t, c, inA))
		if r != nil && !r.ClosedTimestamp().Less(ts) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the eu edge's replica never closed the timestamp")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := eu.Store.FollowerReadStats().Served
	txn, err := eu.DB.NewReadOnlyTxnAt("edge", ts)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := txn.Get(ctx, inA); err != nil || string(v) != "v0" {
		t.Fatalf("follower read on the eu edge: %q %v", v, err)
	}
	if eu.Store.FollowerReadStats().Served <= before {
		t.Fatal("the eu edge did not serve the read from its replica")
	}

	setConfig("") // no edge region
	waitEdgeLearners(t, c, "[]", inA)
	waitEdgeLearners(t, c, both, inB)

	setConfig("ap")
	waitEdgeLearners(t, c, fmt.Sprint([]int32{ap.ID}), inA)
	setConfig("eu", "ap", "us") // a region without edge nodes is fine
	waitEdgeLearners(t, c, both, inA)

	// A range only partly covered by configs keeps the default: table B's
	// range runs to the end of the keyspace (no split at its end).
	if err := c.Node(1).DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		return spanconfig.Put(ctx, txn, spanconfig.Config{Span: kvpb.Span{Key: tB, EndKey: kvpb.Key(keys.TablePrefix(301))}})
	}); err != nil {
		t.Fatal(err)
	}
	setConfig("eu")
	waitEdgeLearners(t, c, fmt.Sprint([]int32{eu.ID}), inA)
	time.Sleep(5 * c.opts.Store.ReplicateInterval)
	waitEdgeLearners(t, c, both, inB)

	setConfig() // deleted: back to every edge region
	waitEdgeLearners(t, c, both, inA, inB)
	if v, err := get(ctx, c.Node(3).DB, inA); err != nil || v != "v0" {
		t.Fatalf("read after the placement changes: %q %v", v, err)
	}
}

// rangeOf returns the ID of the range containing k, from a core node.
func rangeOf(t *testing.T, c *Cluster, k kvpb.Key) int64 {
	t.Helper()
	for _, r := range c.Node(1).Store.Replicas() {
		if d := r.Desc(); d.EndKey != nil && d.ContainsKey(k) {
			return d.RangeID
		}
	}
	t.Fatalf("n1 holds no range containing %q", k)
	return 0
}
