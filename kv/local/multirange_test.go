package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

// cluster is several local.Stores over one engine, each serving one span
// of keys, behind a tiny dispatcher that plays the router: it splits a
// batch by BatchRequest.AddressOf and sends each part to its store. It is
// only what these tests need (no retries, no range cache); kv/router is
// the real one.
type cluster struct {
	engine storage.Engine
	clock  *hlc.Clock
	ranges []testRange
	db     *kv.DB
	// sent counts record requests per method (PushTxn, QueryTxn, ...).
	mu   sync.Mutex
	sent map[kvpb.Method]int
}

type testRange struct {
	span  kvpb.Span
	store *local.Store
}

// newCluster starts one range per split point interval: splits "h", "p"
// give [.., h), [h, p), [p, ..).
func newCluster(t *testing.T, cfg local.Config, splits ...string) *cluster {
	t.Helper()
	eng := storage.OpenInMem()
	c := &cluster{engine: eng, clock: hlc.NewClock(hlc.UnixNano, 500*time.Millisecond), sent: map[kvpb.Method]int{}}
	bounds := []kvpb.Key{nil}
	for _, s := range splits {
		bounds = append(bounds, kvpb.Key(s))
	}
	bounds = append(bounds, nil)
	for i := 0; i+1 < len(bounds); i++ {
		span := kvpb.Span{Key: bounds[i], EndKey: bounds[i+1]}
		rc := cfg
		rc.RangeID = int64(i + 1)
		rc.BootID = 7
		rc.GCInterval = -1
		rc.Sender = c
		rc.Bounds = func() kvpb.Span { return span }
		st, err := local.NewStore(eng, c.clock, rc)
		if err != nil {
			t.Fatal(err)
		}
		c.ranges = append(c.ranges, testRange{span: span, store: st})
	}
	c.db = kv.NewDB(c, c.clock, kv.Config{Coordinator: c.ranges[0].store.Coordinator(), HeartbeatInterval: 50 * time.Millisecond})
	t.Cleanup(func() {
		c.db.WaitForCleanups()
		for _, r := range c.ranges {
			r.store.Stop()
		}
		eng.Close()
	})
	return c
}

func (c *cluster) rangeOf(k kvpb.Key) int {
	for i, r := range c.ranges {
		if (len(r.span.Key) == 0 || bytes.Compare(k, r.span.Key) >= 0) && (len(r.span.EndKey) == 0 || bytes.Compare(k, r.span.EndKey) < 0) {
			return i
		}
	}
	panic(fmt.Sprintf("no range for %q", k))
}

// clip returns the parts of span s per range.
func (c *cluster) clip(s kvpb.Span) map[int]kvpb.Span {
	out := map[int]kvpb.Span{}
	if s.EndKey == nil {
		out[c.rangeOf(s.Key)] = s
		return out
	}
	for i, r := range c.ranges {
		start, end := s.Key, s.EndKey
		if len(r.span.Key) > 0 && bytes.Compare(start, r.span.Key) < 0 {
			start = r.span.Key
		}
		if len(r.span.EndKey) > 0 && bytes.Compare(end, r.span.EndKey) > 0 {
			end = r.span.EndKey
		}
		if bytes.Compare(start, end) < 0 {
			out[i] = kvpb.Span{Key: start, EndKey: end}
		}
	}
	return out
}

func (c *cluster) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	type part struct {
		idx int // index of the request in ba
		req kvpb.Request
	}
	parts := map[int][]part{}
	var order []int
	for i, r := range ba.Requests {
		c.mu.Lock()
		c.sent[r.Method()]++
		c.mu.Unlock()
		addr := ba.AddressOf(r)
		pieces := c.clip(addr)
		if len(pieces) > 1 {
			ri, ok := r.(*kvpb.ResolveIntentRequest)
			if !ok {
				return nil, fmt.Errorf("test dispatcher: %s over %s spans ranges", r.Method(), addr)
			}
			for rg, sp := range pieces {
				cp := *ri
				cp.Span = sp
				if len(parts[rg]) == 0 {
					order = append(order, rg)
				}
				parts[rg] = append(parts[rg], part{i, &cp})
			}
			continue
		}
		for rg := range pieces {
			if len(parts[rg]) == 0 {
				order = append(order, rg)
			}
			parts[rg] = append(parts[rg], part{i, r})
		}
	}
	out := &kvpb.BatchResponse{Responses: make([]kvpb.Response, len(ba.Requests))}
	if ba.Txn != nil {
		out.Txn = ba.Txn.Clone()
	}
	for _, rg := range order {
		sub := &kvpb.BatchRequest{Header: ba.Header}
		if ba.Txn != nil {
			sub.Txn = out.Txn.Clone()
		}
		for _, p := range parts[rg] {
			sub.Add(p.req)
		}
		resp, err := c.ranges[rg].store.Send(ctx, sub)
		if err != nil {
			return nil, err
		}
		if resp.Txn != nil {
			out.Txn.WriteTimestamp.Forward(resp.Txn.WriteTimestamp)
			for _, o := range resp.Txn.ObservedTimestamps {
				out.Txn.UpdateObservedTimestamp(o.NodeID, o.Timestamp)
			}
			out.Txn.Status = resp.Txn.Status
		}
		out.Timestamp.Forward(resp.Timestamp)
		for j, p := range parts[rg] {
			if prev, ok := out.Responses[p.idx].(*kvpb.ResolveIntentResponse); ok {
				prev.Resolved += resp.Responses[j].(*kvpb.ResolveIntentResponse).Resolved
				continue
			}
			out.Responses[p.idx] = resp.Responses[j]
		}
	}
	return out, nil
}

func (c *cluster) count(m kvpb.Method) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[m]
}

// intentOf returns the transaction holding an intent on k, if any.
func (c *cluster) intentOf(t *testing.T, k string) (kvpb.TxnID, bool) {
	t.Helper()
	_, _, err := mvcc.Get(c.engine, kvpb.Key(k), hlc.MaxTimestamp, mvcc.ReadOptions{})
	var wie *kvpb.WriteIntentError
	if errors.As(err, &wie) {
		return wie.Intents[0].Txn.ID, true
	}
	if err != nil {
		t.Fatal(err)
	}
	return kvpb.TxnID{}, false
}

func (c *cluster) record(t *testing.T, meta kvpb.TxnMeta) (*kvpb.Transaction, bool) {
	t.Helper()
	raw, ok, err := mvcc.GetUnversioned(c.engine, keys.TransactionKey(meta.Key, meta.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil, false
	}
	rec, err := kvpb.DecodeTransaction(raw)
	if err != nil {
		t.Fatal(err)
	}
	return rec, true
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func fastExpiry() local.Config {
	return local.Config{TxnExpiry: 300 * time.Millisecond, LivenessCheckInterval: 30 * time.Millisecond}
}

func txnMeta(txn *kv.Txn, anchor string) kvpb.TxnMeta {
	return kvpb.TxnMeta{ID: txn.ID(), Key: kvpb.Key(anchor)}
}

// A commit with intents on another range: EndTxn resolves the local ones,
// the coordinator the remote ones, and the record goes.
func TestMultiRangeCommitResolvesRemoteIntents(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, local.Config{}, "m")
	txn := c.db.NewTxn("t")
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("1"))) // anchor, range 1
	must(t, txn.Put(ctx, kvpb.Key("x"), []byte("2"))) // range 2
	must(t, txn.Put(ctx, kvpb.Key("y"), []byte("3")))
	must(t, txn.Commit(ctx))
	if _, ok := c.intentOf(t, "a"); ok {
		t.Fatal("local intent not resolved by the commit")
	}
	c.db.WaitForCleanups()
	for _, k := range []string{"x", "y"} {
		if _, ok := c.intentOf(t, k); ok {
			t.Fatalf("intent on %s left after the cleanup", k)
		}
	}
	if _, ok := c.record(t, txnMeta(txn, "a")); ok {
		t.Fatal("record left after the cleanup")
	}
	for k, want := range map[string]string{"a": "1", "x": "2", "y": "3"} {
		v, err := c.db.Get(ctx, kvpb.Key(k))
		must(t, err)
		if string(v) != want {
			t.Fatalf("%s = %q, want %q", k, v, want)
		}
	}
	if n := c.count(kvpb.ClearTxnRecord); n != 1 {
		t.Fatalf("%d ClearTxnRecord requests, want 1", n)
	}

	// All on the record's range: the one-batch path, no cleanup.
	local1 := c.db.NewTxn("local")
	must(t, local1.Put(ctx, kvpb.Key("b"), []byte("4")))
	must(t, local1.Commit(ctx))
	c.db.WaitForCleanups()
	if n := c.count(kvpb.ClearTxnRecord); n != 1 {
		t.Fatalf("a single-range commit sent ClearTxnRecord (%d)", n)
	}
	if _, ok := c.record(t, txnMeta(local1, "b")); ok {
		t.Fatal("single-range commit left its record")
	}
}

// A reader on range 2 meets the intent of a transaction whose record is on
// range 1: it waits there (no spinning) and proceeds once the writer
// commits, or aborts.
func TestMultiRangePushWaitsForRecordOnOtherRange(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := newCluster(t, local.Config{LivenessCheckInterval: 40 * time.Millisecond}, "m")
			must(t, c.db.Put(ctx, kvpb.Key("x"), []byte("old")))
			w := c.db.NewTxn("writer")
			must(t, w.Put(ctx, kvpb.Key("a"), []byte("anchor")))
			must(t, w.Put(ctx, kvpb.Key("x"), []byte("new")))
			got := make(chan []byte, 1)
			errc := make(chan error, 1)
			go func() {
				v, err := c.db.Get(ctx, kvpb.Key("x"))
				errc <- err
				got <- v
			}()
			time.Sleep(200 * time.Millisecond)
			select {
			case err := <-errc:
				t.Fatalf("reader did not wait for the pending writer: %v", err)
			default:
			}
			// It waited in range 1's queue, not by spinning: a few pushes,
			// each waiting LivenessCheckInterval at most.
			if n := c.count(kvpb.PushTxn); n < 1 || n > 20 {
				t.Fatalf("%d pushes while waiting 200ms", n)
			}
			start := time.Now()
			if commit {
				must(t, w.Commit(ctx))
			} else {
				w.Rollback(ctx)
			}
			must(t, <-errc)
			v := <-got
			want := "old"
			if commit {
				want = "new"
			}
			if string(v) != want {
				t.Fatalf("read %q, want %q", v, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("reader woke %s after the writer finished", d)
			}
		})
	}
}

// A lock timeout still ends a wait on a record on another range (55P03).
func TestMultiRangeLockTimeout(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, local.Config{}, "m")
	w := c.db.NewTxn("writer")
	must(t, w.Put(ctx, kvpb.Key("a"), []byte("1")))
	must(t, w.Put(ctx, kvpb.Key("x"), []byte("1")))
	defer w.Rollback(ctx)
	r := c.db.NewTxn("reader")
	defer r.Rollback(ctx)
	start := time.Now()
	_, err := r.Get(kv.WithLockTimeout(ctx, 150*time.Millisecond), kvpb.Key("x"))
	var lte *kvpb.LockTimeoutError
	if !errors.As(err, &lte) {
		t.Fatalf("want a lock timeout, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("lock timeout took %s", d)
	}
	// NOWAIT fails on a live holder.
	ba := &kvpb.BatchRequest{Header: kvpb.Header{WaitPolicyError: true}}
	ba.Add(&kvpb.GetRequest{Key: kvpb.Key("x")})
	if _, err := c.Send(ctx, ba); !errors.As(err, new(*kvpb.WriteIntentError)) {
		t.Fatalf("NOWAIT on a live intent: %v", err)
	}
}

// NOWAIT does not fail on the intent of a committed transaction whose
// record is on another range and not cleaned up yet: it resolves it.
func TestMultiRangeNoWaitResolvesFinishedIntent(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, local.Config{}, "m")
	meta, _ := commitLeavingIntents(t, c, "a", "x")
	ba := &kvpb.BatchRequest{Header: kvpb.Header{WaitPolicyError: true}}
	ba.Add(&kvpb.GetRequest{Key: kvpb.Key("x")})
	resp, err := c.Send(ctx, ba)
	must(t, err)
	if v := resp.Responses[0].(*kvpb.GetResponse).Value; string(v) != "v-x" {
		t.Fatalf("read %q", v)
	}
	if rec, ok := c.record(t, meta); !ok || rec.Status != kvpb.COMMITTED {
		t.Fatalf("record %v %v", rec, ok)
	}
}

// commitLeavingIntents commits a transaction anchored at anchor that also
// wrote remote, as a coordinator that dies right after EndTxn would: the
// COMMITTED record stays, naming the remote intent.
func commitLeavingIntents(t *testing.T, c *cluster, anchor, remote string) (kvpb.TxnMeta, *kvpb.Transaction) {
	t.Helper()
	ctx := context.Background()
	now := c.clock.Now()
	txn := &kvpb.Transaction{
		TxnMeta:       kvpb.TxnMeta{ID: kvpb.TxnID{0x42, byte(len(remote))}, Key: kvpb.Key(anchor), WriteTimestamp: now, MinTimestamp: now},
		ReadTimestamp: now, GlobalUncertaintyLimit: now,
	}
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
	ba.Add(&kvpb.HeartbeatTxnRequest{Create: true}, &kvpb.PutRequest{Key: kvpb.Key(anchor), Value: []byte("v-" + anchor)},
		&kvpb.PutRequest{Key: kvpb.Key(remote), Value: []byte("v-" + remote)})
	resp, err := c.Send(ctx, ba)
	must(t, err)
	txn = resp.Txn
	ba = &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
	ba.Add(&kvpb.EndTxnRequest{Commit: true, LockSpans: []kvpb.Span{{Key: kvpb.Key(anchor)}, {Key: kvpb.Key(remote)}}})
	resp, err = c.Send(ctx, ba)
	must(t, err)
	if un := resp.Responses[0].(*kvpb.EndTxnResponse).UnresolvedSpans; len(un) != 1 || string(un[0].Key) != remote {
		t.Fatalf("unresolved spans %v", un)
	}
	rec, ok := c.record(t, txn.TxnMeta)
	if !ok || rec.Status != kvpb.COMMITTED || len(rec.LockSpans) != 1 {
		t.Fatalf("record after EndTxn: %v %v", rec, ok)
	}
	if id, ok := c.intentOf(t, remote); !ok || id != txn.ID {
		t.Fatal("remote intent gone before the cleanup")
	}
	return txn.TxnMeta, txn
}

// The coordinator dies after EndTxn: the record's range GC resolves the
// intents it names (through the Sender) and deletes it once it is old.
func TestMultiRangeGCCleansUpAfterDeadCoordinator(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, fastExpiry(), "m")
	meta, _ := commitLeavingIntents(t, c, "a", "x")
	st := c.ranges[0].store
	n, err := st.GCTxnRecords(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("GC took a fresh record (%d)", n)
	}
	time.Sleep(700 * time.Millisecond) // > 2×TxnExpiry
	n, err = st.GCTxnRecords(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("GC cleaned %d records, want 1", n)
	}
	if _, ok := c.record(t, meta); ok {
		t.Fatal("record still there")
	}
	if _, ok := c.intentOf(t, "x"); ok {
		t.Fatal("intent on x not resolved")
	}
	v, err := c.db.Get(ctx, kvpb.Key("x"))
	must(t, err)
	if string(v) != "v-x" {
		t.Fatalf("x = %q, want the committed value", v)
	}
}

// A transaction whose coordinator stops heartbeating: a writer on the
// other range aborts it once it expired and proceeds; the record's range
// GC removes the ABORTED record once the fence age passed, and the
// remaining intents are removed by whoever meets them.
func TestMultiRangeExpiredCoordinatorCleanedUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := fastExpiry()
	cfg.TxnCreateFence = time.Second
	c := newCluster(t, cfg, "m")
	dead := c.db.NewTxn("dead")
	must(t, dead.Put(ctx, kvpb.Key("a"), []byte("never")))
	must(t, dead.Put(ctx, kvpb.Key("x"), []byte("never")))
	must(t, dead.Put(ctx, kvpb.Key("y"), []byte("never")))
	dead.StopHeartbeatForTesting()
	start := time.Now()
	must(t, c.db.Put(ctx, kvpb.Key("x"), []byte("mine")))
	t.Logf("unblocked after %s", time.Since(start))
	rec, ok := c.record(t, txnMeta(dead, "a"))
	if !ok || rec.Status != kvpb.ABORTED {
		t.Fatalf("record of the dead txn: %v %v", rec, ok)
	}
	if err := dead.Commit(ctx); !kv.IsRetryable(err) {
		t.Fatalf("commit of an aborted transaction: %v", err)
	}
	// The coordinator is gone for good: no rollback.
	time.Sleep(time.Until(start.Add(1200 * time.Millisecond)))
	n, err := c.ranges[0].store.GCTxnRecords(ctx)
	must(t, err)
	if _, ok := c.record(t, txnMeta(dead, "a")); ok || n != 1 {
		t.Fatalf("ABORTED record not collected (%d)", n)
	}
	for _, k := range []string{"a", "y"} {
		v, err := c.db.Get(ctx, kvpb.Key(k))
		must(t, err)
		if v != nil {
			t.Fatalf("%s = %q, want absent", k, v)
		}
		if _, ok := c.intentOf(t, k); ok {
			t.Fatalf("intent on %s left", k)
		}
	}
	v, err := c.db.Get(ctx, kvpb.Key("x"))
	must(t, err)
	if string(v) != "mine" {
		t.Fatalf("x = %q", v)
	}
}

// A coordinator that rolls back after its transaction was aborted by a
// pusher cleans up its intents on the other range and the record itself.
func TestMultiRangeRollbackAfterAbortCleansUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := newCluster(t, fastExpiry(), "m")
	txn := c.db.NewTxn("slow")
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("never")))
	must(t, txn.Put(ctx, kvpb.Key("x"), []byte("never")))
	must(t, txn.Put(ctx, kvpb.Key("y"), []byte("never")))
	txn.StopHeartbeatForTesting()
	must(t, c.db.Put(ctx, kvpb.Key("x"), []byte("mine")))
	if err := txn.Commit(ctx); !kv.IsRetryable(err) {
		t.Fatalf("commit of an aborted transaction: %v", err)
	}
	txn.Rollback(ctx)
	c.db.WaitForCleanups()
	if _, ok := c.record(t, txnMeta(txn, "a")); ok {
		t.Fatal("record left after the rollback's cleanup")
	}
	for _, k := range []string{"a", "y"} {
		if _, ok := c.intentOf(t, k); ok {
			t.Fatalf("intent on %s left", k)
		}
	}
}

// The record-creation fence: a first write batch split across ranges whose
// record-creating part arrives after a pusher aborted the missing record
// (or after the transaction is too old for anyone to know) fails.
func TestMultiRangeFenceRefusesLateCreate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := fastExpiry()
	cfg.TxnCreateFence = time.Second
	c := newCluster(t, cfg, "m")
	now := c.clock.Now()
	txn := &kvpb.Transaction{
		TxnMeta:       kvpb.TxnMeta{ID: kvpb.TxnID{0x99}, Key: kvpb.Key("a"), WriteTimestamp: now, MinTimestamp: now},
		ReadTimestamp: now, GlobalUncertaintyLimit: now,
	}
	// The part for range 2 lands; the part with the record does not yet.
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
	ba.Add(&kvpb.PutRequest{Key: kvpb.Key("x"), Value: []byte("early")})
	_, err := c.ranges[1].store.Send(ctx, ba)
	must(t, err)
	// A writer meets the intent: the record is missing but young, so it
	// waits, then aborts it once MinTimestamp expired.
	start := time.Now()
	must(t, c.db.Put(ctx, kvpb.Key("x"), []byte("pusher")))
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("a young transaction with no record yet was aborted after %s", d)
	}
	rec, ok := c.record(t, txn.TxnMeta)
	if !ok || rec.Status != kvpb.ABORTED {
		t.Fatalf("record after the push: %v %v", rec, ok)
	}
	late := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
	late.Add(&kvpb.HeartbeatTxnRequest{Create: true}, &kvpb.PutRequest{Key: kvpb.Key("a"), Value: []byte("late")})
	if _, err := c.Send(ctx, late); !errors.As(err, new(*kvpb.TransactionAbortedError)) {
		t.Fatalf("late create over an ABORTED record: %v", err)
	}
	// The record stays until the fence age, then age alone refuses.
	_, err = c.ranges[0].store.GCTxnRecords(ctx)
	must(t, err)
	if _, ok := c.record(t, txn.TxnMeta); !ok {
		t.Fatal("ABORTED record collected before the fence age")
	}
	time.Sleep(time.Until(now.GoTime().Add(1100 * time.Millisecond)))
	_, err = c.ranges[0].store.GCTxnRecords(ctx)
	must(t, err)
	if _, ok := c.record(t, txn.TxnMeta); ok {
		t.Fatal("ABORTED record not collected")
	}
	if _, err := c.Send(ctx, late); !errors.As(err, new(*kvpb.TransactionAbortedError)) {
		t.Fatalf("late create after the record was collected: %v", err)
	}
	if _, ok := c.record(t, txn.TxnMeta); ok {
		t.Fatal("late create wrote a record")
	}
}

// runCycle lets each txn hold its first key, then write the next one
// concurrently; it returns each txn's error (nil = committed).
func runCycle(t *testing.T, c *cluster, holds []string, wants []string) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	txns := make([]*kv.Txn, len(holds))
	for i, k := range holds {
		txns[i] = c.db.NewTxn(fmt.Sprintf("t%d", i))
		must(t, txns[i].Put(ctx, kvpb.Key(k), []byte("held")))
	}
	errs := make([]error, len(txns))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range txns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := txns[i].Put(ctx, kvpb.Key(wants[i]), []byte("x"))
			if err == nil {
				err = txns[i].Commit(ctx)
			}
			if err != nil {
				txns[i].Rollback(ctx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("deadlock was not broken")
	}
	// Detection takes a few LivenessCheckInterval rounds per cycle member.
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("deadlock took %s to break", d)
	}
	return errs
}

func victims(t *testing.T, errs []error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.As(err, new(*kvpb.TransactionAbortedError)):
			n++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	return n
}

// Deadlocks whose edges are in different ranges' queues are found and
// broken by aborting exactly one member.
func TestMultiRangeDeadlock(t *testing.T) {
	cfg := local.Config{LivenessCheckInterval: 30 * time.Millisecond}
	t.Run("two", func(t *testing.T) {
		c := newCluster(t, cfg, "m")
		// t0 anchored on range 1, t1 on range 2; each waits on the other.
		errs := runCycle(t, c, []string{"a", "x"}, []string{"x", "a"})
		if n := victims(t, errs); n != 1 {
			t.Fatalf("want exactly one victim, got %v", errs)
		}
	})
	t.Run("three", func(t *testing.T) {
		c := newCluster(t, cfg, "h", "p")
		errs := runCycle(t, c, []string{"a", "i", "q"}, []string{"i", "q", "a"})
		if n := victims(t, errs); n != 1 {
			t.Fatalf("want exactly one victim, got %v", errs)
		}
	})
	t.Run("same range", func(t *testing.T) {
		c := newCluster(t, cfg, "m")
		errs := runCycle(t, c, []string{"a", "b"}, []string{"b", "a"})
		if n := victims(t, errs); n != 1 {
			t.Fatalf("want exactly one victim, got %v", errs)
		}
	})
}

// A chain of waits across ranges with no cycle aborts nobody.
func TestMultiRangeNoFalseDeadlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c := newCluster(t, local.Config{LivenessCheckInterval: 20 * time.Millisecond}, "h", "p")
	holds, wants := []string{"a", "i", "q"}, []string{"i", "q", ""}
	txns := make([]*kv.Txn, 3)
	for i, k := range holds {
		txns[i] = c.db.NewTxn(fmt.Sprintf("t%d", i))
		must(t, txns[i].Put(ctx, kvpb.Key(k), []byte("held")))
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := txns[i].Put(ctx, kvpb.Key(wants[i]), []byte("x"))
			if err == nil {
				err = txns[i].Commit(ctx)
			}
			errs[i] = err
		}()
	}
	// Let the waits run many detection rounds.
	time.Sleep(500 * time.Millisecond)
	must(t, txns[2].Commit(ctx))
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("t%d: %v (no cycle existed)", i, err)
		}
	}
	if q := c.count(kvpb.QueryTxn); q == 0 {
		t.Fatal("no deadlock detection ran while waiting")
	}
}

// A transaction that reads for longer than TxnExpiry before its first
// write still creates its record: the fence is TxnCreateFence, not expiry.
func TestMultiRangeLongReadThenWrite(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, fastExpiry(), "m")
	txn := c.db.NewTxn("long")
	_, err := txn.Get(ctx, kvpb.Key("a"))
	must(t, err)
	time.Sleep(400 * time.Millisecond) // > TxnExpiry
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("1")))
	must(t, txn.Put(ctx, kvpb.Key("x"), []byte("2")))
	must(t, txn.Commit(ctx))
	v, err := c.db.Get(ctx, kvpb.Key("x"))
	must(t, err)
	if string(v) != "2" {
		t.Fatalf("x = %q", v)
	}
}

func TestCycleVictim(t *testing.T) {
	m := func(id byte, pri int32) kvpb.TxnMeta { return kvpb.TxnMeta{ID: kvpb.TxnID{id}, Priority: pri} }
	p, q, r, s := m(1, 5), m(2, 3), m(3, 9), m(4, 1)
	// p waits on q, q on r, r on p: r→p is known at p's range, q→r was
	// carried there by r.
	edges := []kvpb.WaitEdge{{Waiter: r, Holder: p}, {Waiter: q, Holder: r}, {Waiter: s, Holder: q}}
	v := local.CycleVictim(p, q, edges)
	if v == nil || v.ID != q.ID {
		t.Fatalf("victim %v, want q (lowest priority in the cycle; s is outside it)", v)
	}
	// Every member picks the same victim.
	if v := local.CycleVictim(r, p, []kvpb.WaitEdge{{Waiter: q, Holder: r}, {Waiter: p, Holder: q}}); v == nil || v.ID != q.ID {
		t.Fatalf("r picks %v", v)
	}
	// A chain is not a cycle.
	if v := local.CycleVictim(p, q, []kvpb.WaitEdge{{Waiter: s, Holder: p}, {Waiter: q, Holder: r}}); v != nil {
		t.Fatalf("false victim %v", v)
	}
	if v := local.CycleVictim(p, q, nil); v != nil {
		t.Fatalf("false victim %v", v)
	}
}

// Transfers between accounts on three ranges, in random key order (so with
// deadlocks across ranges), while an auditor checks the total: money is
// conserved, and once the coordinators' cleanups finish no intent and no
// record is left.
func TestMultiRangeBank(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newCluster(t, local.Config{LivenessCheckInterval: 20 * time.Millisecond}, "acct/07", "acct/14")
	const accounts, initial = 20, 100
	acct := func(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("acct/%02d", i)) }
	enc := func(v int64) []byte { return []byte(fmt.Sprint(v)) }
	dec := func(b []byte) int64 {
		var v int64
		if _, err := fmt.Sscan(string(b), &v); err != nil {
			t.Errorf("bad balance %q", b)
		}
		return v
	}
	for i := range accounts {
		must(t, c.db.Put(ctx, acct(i), enc(initial)))
	}
	total := func() (int64, error) {
		var sum int64
		err := c.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			sum = 0
			for i := range accounts {
				v, err := txn.Get(ctx, acct(i))
				if err != nil {
					return err
				}
				sum += dec(v)
			}
			return nil
		})
		return sum, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var transfers, audits int
	var mu sync.Mutex
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Mostly among a few hot accounts, one per range and
				// around the splits, in both orders: deadlocks across
				// ranges happen.
				hot := []int{0, 6, 7, 13, 14, 19}
				from, to := hot[rand.IntN(len(hot))], rand.IntN(accounts)
				if n%2 == 0 {
					to = hot[rand.IntN(len(hot))]
				}
				if from == to {
					continue
				}
				err := c.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					a, err := txn.Get(ctx, acct(from))
					if err != nil {
						return err
					}
					b, err := txn.Get(ctx, acct(to))
					if err != nil {
						return err
					}
					if err := txn.Put(ctx, acct(from), enc(dec(a)-1)); err != nil {
						return err
					}
					return txn.Put(ctx, acct(to), enc(dec(b)+1))
				})
				if err != nil {
					t.Errorf("transfer: %v", err)
					return
				}
				mu.Lock()
				transfers++
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		sum, err := total()
		must(t, err)
		if sum != accounts*initial {
			t.Fatalf("total %d, want %d", sum, accounts*initial)
		}
		audits++
	}
	close(stop)
	wg.Wait()
	c.db.WaitForCleanups()
	t.Logf("%d transfers, %d audits, %d pushes, %d queries", transfers, audits, c.count(kvpb.PushTxn), c.count(kvpb.QueryTxn))
	if transfers == 0 {
		t.Fatal("no transfer committed")
	}
	if sum, err := total(); err != nil || sum != accounts*initial {
		t.Fatalf("final total %d (%v)", sum, err)
	}
	for i := range accounts {
		if _, ok := c.intentOf(t, string(acct(i))); ok {
			t.Errorf("intent left on %s", acct(i))
		}
	}
	span := keys.TxnRecordSpan(keys.LocalMax, keys.MaxKey)
	it, err := c.engine.NewIter(storage.IterOptions{LowerBound: span.Key, UpperBound: span.EndKey})
	must(t, err)
	defer it.Close()
	for ok := it.SeekGE(storage.MVCCKey{Key: span.Key}); ok; ok = it.Next() {
		t.Errorf("record left: %q", it.Key().Key)
	}
}

// A first write batch split across ranges that fails on one range after
// another wrote intents (and the record): Rollback removes what it left.
func TestMultiRangeRollbackAfterPartialBatch(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, local.Config{}, "m")
	must(t, c.db.Put(ctx, kvpb.Key("x"), []byte("taken")))
	txn := c.db.NewTxn("partial")
	err := txn.Write(ctx, []kvpb.Request{
		&kvpb.PutRequest{Key: kvpb.Key("a"), Value: []byte("1")},
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("x"), Value: []byte("2")}, // expects absent: fails
	})
	if !errors.As(err, new(*kvpb.ConditionFailedError)) {
		t.Fatalf("want a condition failure, got %v", err)
	}
	if _, ok := c.intentOf(t, "a"); !ok {
		t.Skip("the dispatcher did not apply the first part; nothing to test")
	}
	txn.Rollback(ctx)
	c.db.WaitForCleanups()
	if _, ok := c.intentOf(t, "a"); ok {
		t.Fatal("intent of the failed batch left after rollback")
	}
	if _, ok := c.record(t, txnMeta(txn, "a")); ok {
		t.Fatal("record left after rollback")
	}
}

// Stop ends waits for other transactions and refuses later requests, so
// that the engine can be closed under background cleanups.
func TestStopEndsWaitsAndRefuses(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, local.Config{}, "m")
	w := c.db.NewTxn("writer")
	must(t, w.Put(ctx, kvpb.Key("a"), []byte("1")))
	must(t, w.Put(ctx, kvpb.Key("x"), []byte("1")))
	errc := make(chan error, 1)
	go func() {
		_, err := c.db.Get(ctx, kvpb.Key("x"))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		c.ranges[1].store.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for a pending transaction")
	}
	if err := <-errc; !errors.Is(err, kvpb.ErrNodeUnavailable) {
		t.Fatalf("waiting read after Stop: %v", err)
	}
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.GetRequest{Key: kvpb.Key("x")})
	if _, err := c.ranges[1].store.Send(ctx, ba); !errors.Is(err, kvpb.ErrNodeUnavailable) {
		t.Fatalf("Send after Stop: %v", err)
	}
	w.Rollback(ctx)
}
