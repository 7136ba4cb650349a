package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/replication"
)

// putAt writes k=v through db and returns the commit timestamp (what a
// session's causality token holds after the write).
func putAt(ctx context.Context, db *kv.DB, k string, v string) (hlc.Timestamp, error) {
	txn := db.NewTxn("ryw")
	if err := txn.Put(ctx, []byte(k), []byte(v)); err != nil {
		txn.Rollback(ctx)
		return hlc.Timestamp{}, err
	}
	if err := txn.Commit(ctx); err != nil {
		return hlc.Timestamp{}, err
	}
	return txn.CommitTimestamp(), nil
}

// tokenRead reads k on node n's DB at ts as a follower read that may wait
// up to wait for n's replica to close ts, recording who served in log.
func tokenRead(ctx context.Context, n *Node, k string, ts hlc.Timestamp, wait time.Duration, log *kvrpc.ReadLog) (string, error) {
	txn, err := n.DB.NewReadOnlyTxnAt("ryw read", ts)
	if err != nil {
		return "", err
	}
	txn.SetFollowerReads(wait, log)
	v, err := txn.Get(ctx, []byte(k))
	return string(v), err
}

// TestReadYourWritesWait: a follower read at a fresh commit timestamp (a
// causality token) on an edge node, which has not closed it yet, waits
// for its own replica to close it and is served there when that happens
// within the bound; with a bound too short it goes to the leaseholder at
// once. Either way it returns the write (never older data than the token),
// and the ReadLog says who actually served and why the edge refused.
func TestReadYourWritesWait(t *testing.T) {
	ctx := context.Background()
	const lag = 150 * time.Millisecond
	c := Start(t, Options{Nodes: 3, Seed: 61, RouterTimeout: 5 * time.Second, Store: replication.Config{
		ClosedTimestampLag: lag, ClosedTimestampInterval: 10 * time.Millisecond}})
	edge, err := c.AddEdgeNode()
	if err != nil {
		t.Fatal(err)
	}
	waitNonVoter(t, c, edge.ID)
	lh := c.LeaseHolder()
	core := c.Node(lh).DB
	stats := func() replication.FollowerReadStats { return edge.Store.FollowerReadStats() }

	// Without a wait, the token read is refused locally (not closed: the
	// target lag is 150ms) and served by the leaseholder, with the write.
	var log kvrpc.ReadLog
	ts, err := putAt(ctx, core, "k/ryw", "v1")
	if err != nil {
		t.Fatal(err)
	}
	before := stats()
	if v, err := tokenRead(ctx, edge, "k/ryw", ts, 0, &log); err != nil || v != "v1" {
		t.Fatalf("token read without a wait: %q %v", v, err)
	}
	parts, _, refusal := log.Snapshot()
	if len(parts) != 1 || parts[0].Local || parts[0].Follower || parts[0].Node != lh || !strings.Contains(refusal, "NotClosed") {
		t.Fatalf("token read without a wait: served by %+v, refusal %q", parts, refusal)
	}
	if st := stats(); st.Refused <= before.Refused || st.Waited != before.Waited {
		t.Fatalf("stats %+v -> %+v", before, st)
	}

	// With a bound above the lag: the edge waits and serves it itself.
	ts, err = putAt(ctx, core, "k/ryw", "v2")
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	before = stats()
	start := time.Now()
	if v, err := tokenRead(ctx, edge, "k/ryw", ts, 2*time.Second, &log); err != nil || v != "v2" {
		t.Fatalf("token read with a wait: %q %v", v, err)
	}
	waited := time.Since(start)
	parts, _, refusal = log.Snapshot()
	if len(parts) != 1 || !parts[0].Local || !parts[0].Follower || parts[0].Node != edge.ID || refusal != "" {
		t.Fatalf("token read with a wait: served by %+v, refusal %q", parts, refusal)
	}
	if st := stats(); st.Waited != before.Waited+1 || st.Refused != before.Refused {
		t.Fatalf("stats %+v -> %+v", before, st)
	}
	t.Logf("served on the edge after waiting %s (target lag %s)", waited, lag)

	// With a bound far below the lag, the edge does not even wait: the
	// timestamp cannot be closed in time. The leaseholder serves.
	ts, err = putAt(ctx, core, "k/ryw", "v3")
	if err != nil {
		t.Fatal(err)
	}
	log.Reset()
	before = stats()
	start = time.Now()
	if v, err := tokenRead(ctx, edge, "k/ryw", ts, 5*time.Millisecond, &log); err != nil || v != "v3" {
		t.Fatalf("token read past the bound: %q %v", v, err)
	}
	took := time.Since(start)
	parts, _, refusal = log.Snapshot()
	if len(parts) != 1 || parts[0].Local || parts[0].Node != lh || !strings.Contains(refusal, "NotClosed") {
		t.Fatalf("token read past the bound: served by %+v, refusal %q", parts, refusal)
	}
	if st := stats(); st.Refused != before.Refused+1 || st.Waited != before.Waited {
		t.Fatalf("stats %+v -> %+v", before, st)
	}
	t.Logf("past the bound: refused (%s) and served by the leaseholder in %s", refusal, took)

	// A bound the closed timestamp reaches only sometimes: each read is
	// served on the edge or by the leaseholder, and always sees its
	// token's write, whatever the interleaving with further writes.
	local, remote := 0, 0
	for i := range 30 {
		want := fmt.Sprintf("w%d", i)
		ts, err := putAt(ctx, core, "k/ryw", want)
		if err != nil {
			t.Fatal(err)
		}
		// Let the token age by a varying part of the lag, as a client's
		// next request would.
		time.Sleep(time.Duration(i%6) * lag / 5)
		log.Reset()
		v, err := tokenRead(ctx, edge, "k/ryw", ts, 40*time.Millisecond, &log)
		if err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Fatalf("read %d at the token %s returned %q, want %q: older than the token", i, ts, v, want)
		}
		if log.AllLocal() {
			local++
		} else {
			remote++
		}
	}
	t.Logf("bound 40ms, lag %s: %d token reads served on the edge, %d by the leaseholder", lag, local, remote)
	if local == 0 {
		t.Fatal("no token read was served on the edge")
	}
}

// TestFollowerReadIntentReported: a follower read on an edge that meets an
// intent below its timestamp is refused there ("met an intent") and served
// by the leaseholder once the writer finished; the ReadLog says both.
func TestFollowerReadIntentReported(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 3, Seed: 62, RouterTimeout: 5 * time.Second, Store: replication.Config{
		ClosedTimestampLag: 50 * time.Millisecond, ClosedTimestampInterval: 10 * time.Millisecond}})
	edge, err := c.AddEdgeNode()
	if err != nil {
		t.Fatal(err)
	}
	waitNonVoter(t, c, edge.ID)
	lh := c.LeaseHolder()
	core := c.Node(lh).DB
	if _, err := putAt(ctx, core, "k/intent", "old"); err != nil {
		t.Fatal(err)
	}
	writer := core.NewTxn("writer")
	if err := writer.Put(ctx, []byte("k/intent"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	// A timestamp above the intent, closed on the edge.
	ts := edge.Clock.Now()
	waitClosed(t, c, edge.ID, ts)
	done := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		done <- writer.Commit(ctx)
	}()
	var log kvrpc.ReadLog
	v, err := tokenRead(ctx, edge, "k/intent", ts, time.Second, &log)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	parts, _, refusal := log.Snapshot()
	if len(parts) != 1 || parts[0].Local || parts[0].Node != lh || parts[0].Follower || !strings.Contains(refusal, "met an intent") {
		t.Fatalf("served by %+v, refusal %q", parts, refusal)
	}
	// The writer committed above ts (its timestamp was pushed past the
	// closed timestamp) or at its own: either way the read at ts sees the
	// value as of ts, which the leaseholder resolved.
	wts := writer.CommitTimestamp()
	if want := map[bool]string{true: "new", false: "old"}[wts.LessEq(ts)]; v != want {
		t.Fatalf("read at %s = %q, want %q (writer committed at %s)", ts, v, want, wts)
	}
	t.Logf("refused on the edge (%s), served by n%d: %q", refusal, parts[0].Node, v)
}
