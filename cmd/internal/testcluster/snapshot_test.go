package testcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication"
	"github.com/outpostdb/outpost/replication/raftlog"
)

const testChunkBytes = 512

// chunkStats records what snapshot receivers saw, through the store's
// chunk hook; arm makes node's receiver run fn after chunk n.
type chunkStats struct {
	mu       sync.Mutex
	chunks   int
	maxChunk int
	armed    atomic.Pointer[armedHook]
}

type armedHook struct {
	node int32
	n    int
	fn   func(ctx context.Context) error
}

func (s *chunkStats) hook(ctx context.Context, node int32, _ int64, n, chunkLen int) error {
	s.mu.Lock()
	s.chunks++
	s.maxChunk = max(s.maxChunk, chunkLen)
	s.mu.Unlock()
	if a := s.armed.Load(); a != nil && a.node == node && a.n == n {
		return a.fn(ctx)
	}
	return nil
}

func (s *chunkStats) get() (chunks, maxChunk int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chunks, s.maxChunk
}

// snapOptions: small raft logs and snapshot chunks, so that a few hundred
// writes truncate logs and snapshots take many chunks.
func snapOptions(nodes int, seed int64, st *chunkStats) Options {
	return Options{Nodes: nodes, Seed: seed, Store: replication.Config{
		RaftLogMaxEntries:        30,
		RaftLogQueueInterval:     50 * time.Millisecond,
		SnapshotChunkBytes:       testChunkBytes,
		SnapshotRetryBackoff:     100 * time.Millisecond,
		TestingSnapshotChunkHook: st.hook,
	}}
}

// checkChunks asserts that snapshots were received in several chunks and
// that none exceeded the configured chunk size.
func checkChunks(t *testing.T, st *chunkStats) {
	t.Helper()
	n, biggest := st.get()
	if n < 2 {
		t.Fatalf("snapshots arrived in %d chunks; want several", n)
	}
	if biggest > testChunkBytes {
		t.Fatalf("a snapshot chunk of %d bytes exceeds the %d byte limit", biggest, testChunkBytes)
	}
}

// value is big enough that the data spans many chunks, and one value
// straddles several.
func value(i int) string { return fmt.Sprintf("%04d-%0*d", i, 40+(i%7)*100, i) }

func writeKeys(t *testing.T, c *Cluster, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := from; i < to; i++ {
		gw := c.LeaseHolder()
		if gw == 0 {
			gw = someOther(c)
		}
		if err := put(ctx, c.Node(gw).DB, key(i), value(i)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
}

// rangeData lists every MVCC key and value of the first range's user data
// (global keys and transaction records) in node id's engine.
func rangeData(t *testing.T, eng storage.Reader) []string {
	t.Helper()
	var out []string
	txn := keys.TxnRecordSpan(keys.LocalMax, keys.MaxKey)
	for _, sp := range []kvpb.Span{txn, {Key: keys.LocalMax, EndKey: keys.MaxKey}} {
		it, err := eng.NewIter(storage.IterOptions{LowerBound: sp.Key, UpperBound: sp.EndKey})
		if err != nil {
			t.Fatal(err)
		}
		for ok := it.SeekGE(storage.MVCCKey{Key: sp.Key}); ok; ok = it.Next() {
			v, err := it.Value()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s=%x", it.Key(), v))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		_ = it.Close()
	}
	return out
}

// waitSameData waits until node id holds exactly the leaseholder's data
// (no writes may run meanwhile).
func waitSameData(t *testing.T, c *Cluster, id int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var a, b []string
	for time.Now().Before(deadline) {
		lh := c.LeaseHolder()
		if lh != 0 && lh != id {
			a, b = rangeData(t, c.Node(lh).Engine), rangeData(t, c.Node(id).Engine)
			if len(a) > 0 && slices.Equal(a, b) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("n%d holds %d versions, the leaseholder %d", id, len(b), len(a))
}

// waitTruncatedPast waits until every live node's log of the first range
// starts after index.
func waitTruncatedPast(t *testing.T, c *Cluster, index uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, id := range c.IDs() {
			if !c.Alive(id) {
				continue
			}
			r := c.Node(id).Store.Replica(replication.FirstRangeID)
			if r == nil {
				continue // no replica here (removed)
			}
			if first, _ := r.RaftLogBounds(); first <= index+1 {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("logs not truncated past %d", index)
}

func snapshotsApplied(c *Cluster, id int32) int64 {
	applied, _ := c.Node(id).Store.SnapshotCounts()
	return applied
}

func waitSnapshotApplied(t *testing.T, c *Cluster, id int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for snapshotsApplied(c, id) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("n%d applied no snapshot", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartCatchesUpBySnapshot: a node killed (SIGKILL semantics) while
// the others write enough to truncate their logs past its own comes back,
// receives a snapshot, holds exactly the leaseholder's data, and then
// follows the log again.
func TestRestartCatchesUpBySnapshot(t *testing.T) {
	var st chunkStats
	c := Start(t, snapOptions(3, 31, &st))
	writeKeys(t, c, 0, 10)
	victim := someOther(c, c.LeaseHolder())
	_, last := c.Node(victim).Store.Replica(replication.FirstRangeID).RaftLogBounds()
	c.Kill(victim)
	writeKeys(t, c, 10, 160)
	waitTruncatedPast(t, c, last)
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	waitSnapshotApplied(t, c, victim)
	waitSameData(t, c, victim)
	checkChunks(t, &st)
	// Back on the log: a later write arrives without another snapshot.
	writeKeys(t, c, 160, 170)
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, _, err := mvcc.Get(c.Node(victim).Engine, key(169), hlc.MaxTimestamp, mvcc.ReadOptions{})
		if err == nil && string(v) == value(169) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted node does not follow the log after its snapshot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := snapshotsApplied(c, victim); n != 1 {
		t.Errorf("n%d applied %d snapshots; one should do", victim, n)
	}
}

// TestNewNodeGetsSnapshot: up-replication after truncation. The new node
// cannot replay the log from index 1, so it joins with a snapshot.
func TestNewNodeGetsSnapshot(t *testing.T) {
	var st chunkStats
	c := Start(t, snapOptions(1, 32, &st))
	writeKeys(t, c, 0, 150)
	waitTruncatedPast(t, c, 1)
	n, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	waitMembers(t, c, []int32{1, n.ID}, 30*time.Second)
	waitSnapshotApplied(t, c, n.ID)
	waitSameData(t, c, n.ID)
	checkChunks(t, &st)
	// The new voter serves after the original node dies.
	if _, err := c.AddNode(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, c, []int32{1, 2, 3}, 30*time.Second)
	c.Kill(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, i := range []int{0, 77, 149} {
		if v, err := get(ctx, c.Node(2).DB, key(i)); err != nil || v != value(i) {
			t.Fatalf("key %d after losing n1: %q, %v", i, v, err)
		}
	}
}

// TestCrashDuringSnapshotApply: a node that crashes in the middle of
// receiving a snapshot (part of the staged data durable) comes back as it
// was, drops the staged data, and recovers with a new snapshot.
func TestCrashDuringSnapshotApply(t *testing.T) {
	var st chunkStats
	c := Start(t, snapOptions(1, 33, &st))
	writeKeys(t, c, 0, 150)
	waitTruncatedPast(t, c, 1)
	reached := make(chan struct{})
	var once sync.Once
	st.armed.Store(&armedHook{node: 2, n: 12, fn: func(ctx context.Context) error {
		once.Do(func() { close(reached) })
		<-ctx.Done() // until the node is killed
		return ctx.Err()
	}})
	n, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("no snapshot reached n2")
	}
	// Make the batches written so far durable, as the OS may have (a
	// synced write makes every earlier one durable).
	b := n.Engine.NewBatch()
	if err := b.Put(storage.MVCCKey{Key: []byte("\x01stest-sync")}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	b.Close()
	c.Kill(n.ID)
	st.armed.Store(nil)

	// What the crash left: part of the staged data, nothing installed.
	eng, err := storage.Open(storage.Config{Dir: "data", MemFS: n.FS})
	if err != nil {
		t.Fatal(err)
	}
	staged := stagedCount(t, eng)
	if _, ok, err := mvcc.GetUnversioned(eng, raftlog.SnapshotPendingKey(replication.FirstRangeID)); err != nil || ok {
		t.Fatalf("an installing marker after a crash while staging (%v)", err)
	}
	if d := rangeData(t, eng); len(d) != 0 {
		t.Fatalf("%d versions in place before the snapshot was installed", len(d))
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if staged == 0 {
		t.Fatal("the crash left none of the staged data; the test proves nothing")
	}
	t.Logf("the crash left %d staged records", staged)

	if err := c.Restart(n.ID); err != nil {
		t.Fatal(err)
	}
	waitSnapshotApplied(t, c, n.ID)
	waitSameData(t, c, n.ID)
	checkChunks(t, &st)
	if k := stagedCount(t, n.Engine); k != 0 {
		t.Fatalf("%d staged records left after a complete snapshot", k)
	}
}

func stagedCount(t *testing.T, eng storage.Reader) int {
	t.Helper()
	start, end := raftlog.SnapshotStagingSpan(replication.FirstRangeID)
	it, err := eng.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = it.Close() }()
	n := 0
	for ok := it.SeekGE(storage.MVCCKey{Key: start}); ok; ok = it.Next() {
		n++
	}
	return n
}

// TestFailedSnapshotRetried: a snapshot that fails half way (the receiver
// errs) leaves the replica empty, and the leader sends another.
func TestFailedSnapshotRetried(t *testing.T) {
	var st chunkStats
	c := Start(t, snapOptions(1, 34, &st))
	writeKeys(t, c, 0, 150)
	waitTruncatedPast(t, c, 1)
	var failures atomic.Int32
	st.armed.Store(&armedHook{node: 2, n: 5, fn: func(context.Context) error {
		if failures.Add(1) <= 2 {
			return errors.New("injected failure")
		}
		return nil
	}})
	n, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	waitSnapshotApplied(t, c, n.ID)
	waitSameData(t, c, n.ID)
	if failures.Load() < 3 {
		t.Fatalf("hook ran %d times; want two failures and a success", failures.Load())
	}
}

// TestRaftLogBounded: under a steady write load every replica's log stays
// within the configured bound.
func TestRaftLogBounded(t *testing.T) {
	var st chunkStats
	opts := snapOptions(3, 35, &st)
	c := Start(t, opts)
	worst := uint64(0)
	for round := 0; round < 10; round++ {
		writeKeys(t, c, round*30, round*30+30)
		for _, id := range c.IDs() {
			first, last := c.Node(id).Store.Replica(replication.FirstRangeID).RaftLogBounds()
			worst = max(worst, last+1-first)
		}
	}
	time.Sleep(3 * opts.Store.RaftLogQueueInterval)
	for _, id := range c.IDs() {
		first, last := c.Node(id).Store.Replica(replication.FirstRangeID).RaftLogBounds()
		if first < 100 {
			t.Errorf("n%d: log starts at %d after 300 writes: not truncated", id, first)
		}
		if last+1-first > uint64(opts.Store.RaftLogMaxEntries) {
			t.Errorf("n%d: %d entries at rest, bound %d", id, last+1-first, opts.Store.RaftLogMaxEntries)
		}
	}
	// Between passes the log grows by what one interval writes.
	if worst > 4*uint64(opts.Store.RaftLogMaxEntries) {
		t.Errorf("a log reached %d entries under load (bound %d)", worst, opts.Store.RaftLogMaxEntries)
	}
	t.Logf("longest log seen under load: %d entries", worst)
	if applied, _ := c.Node(1).Store.SnapshotCounts(); applied != 0 {
		t.Logf("n1 applied %d snapshots", applied)
	}
}

// TestRemovedReplicaDestroyed: a replica removed from its range is
// destroyed (its data cleared); added back, it starts afresh from a
// snapshot.
func TestRemovedReplicaDestroyed(t *testing.T) {
	var st chunkStats
	opts := snapOptions(3, 36, &st)
	c := Start(t, opts)
	writeKeys(t, c, 0, 100)
	victim := someOther(c, c.LeaseHolder())
	c.Decommission(victim)
	var rest []int32
	for _, id := range c.IDs() {
		if id != victim {
			rest = append(rest, id)
		}
	}
	waitMembers(t, c, rest, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for c.Node(victim).Store.Replica(replication.FirstRangeID) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("n%d still holds a replica after its removal", victim)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The replica leaves the store before its data is cleared (once its
	// pipeline stopped): wait for that too.
	for d := rangeData(t, c.Node(victim).Engine); len(d) != 0; d = rangeData(t, c.Node(victim).Engine) {
		if time.Now().After(deadline) {
			t.Fatalf("n%d still holds %d versions after its replica was destroyed", victim, len(d))
		}
		time.Sleep(50 * time.Millisecond)
	}
	writeKeys(t, c, 100, 150)
	waitTruncatedPast(t, c, 1)

	c.mu.Lock()
	c.nodes[victim].decommissioning = false
	c.mu.Unlock()
	waitMembers(t, c, []int32{1, 2, 3}, 30*time.Second)
	waitSnapshotApplied(t, c, victim)
	waitSameData(t, c, victim)
}

// TestSplitRangeReplicatedBySnapshot: the right-hand range of a split has
// a raft log that starts past index 1, so a node added afterwards can only
// receive it by snapshot; it receives both ranges and holds the same data.
func TestSplitRangeReplicatedBySnapshot(t *testing.T) {
	var st chunkStats
	c := Start(t, snapOptions(1, 37, &st))
	writeKeys(t, c, 0, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := split(ctx, c, 1, key(50)); err != nil {
		t.Fatal(err)
	}
	writeKeys(t, c, 100, 120)
	for i := 40; i < 60; i++ { // both sides
		if err := put(ctx, c.Node(1).DB, key(i), value(i)+"-2"); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.AddNode()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		applied, _ := n.Store.SnapshotCounts()
		var inited int
		for _, r := range n.Store.Replicas() {
			if r.Desc().EndKey != nil {
				inited++
			}
		}
		if applied >= 2 && inited == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n%d: %d snapshots applied, %d initialized ranges", n.ID, applied, inited)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitRanges(t, c, keys.FirstRangeStart, key(50))
	deadline = time.Now().Add(30 * time.Second)
	for {
		a, b := rangeData(t, c.Node(1).Engine), rangeData(t, n.Engine)
		if len(a) > 0 && slices.Equal(a, b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n%d holds %d versions, n1 %d", n.ID, len(b), len(a))
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkChunks(t, &st)
}

// TestLinearizableWithSnapshots is TestLinearizable with raft logs so short
// that nodes restarted by the nemesis, or cut off by its partitions, catch
// up by snapshot.
func TestLinearizableWithSnapshots(t *testing.T) {
	var st chunkStats
	opts := snapOptions(3, 38, &st)
	opts.Store.RaftLogMaxEntries = 10
	opts.RouterTimeout = 2 * time.Second
	testLinearizable(t, opts)
	chunks, biggest := st.get()
	t.Logf("snapshot chunks received: %d (largest %d bytes)", chunks, biggest)
	if chunks == 0 {
		t.Fatal("no snapshot was received; the test proves nothing about them")
	}
	if biggest > testChunkBytes {
		t.Fatalf("a snapshot chunk of %d bytes exceeds the %d byte limit", biggest, testChunkBytes)
	}
}
