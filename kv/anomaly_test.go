package kv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

// TestSkewDoctorsOnCall: two doctors are on call; each transaction checks
// that the other is still on call and takes itself off. Under SERIALIZABLE
// at most one may succeed, however the two interleave.
func TestSkewDoctorsOnCall(t *testing.T) {
	runTopologies(t, testSkewDoctorsOnCall, topology{name: "two-ranges", splits: []string{"oncall/b"}})
}

func testSkewDoctorsOnCall(t *testing.T, topo topology) {
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		db := topo.start(t, kvtest.Options{})
		alice, bob := kvpb.Key("oncall/alice"), kvpb.Key("oncall/bob")
		must(t, db.Put(ctx, alice, []byte("on")))
		must(t, db.Put(ctx, bob, []byte("on")))

		// Both read before either writes: the classic write-skew schedule.
		t1, t2 := db.NewTxn("alice"), db.NewTxn("bob")
		onCall := func(txn *kv.Txn) int {
			rows, err := txn.Scan(ctx, kvpb.Key("oncall/"), kvpb.Key("oncall0"), 0)
			must(t, err)
			c := 0
			for _, r := range rows {
				if string(r.Value) == "on" {
					c++
				}
			}
			return c
		}
		if onCall(t1) != 2 || onCall(t2) != 2 {
			t.Fatal("setup: both should be on call")
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, c := range []struct {
			txn *kv.Txn
			key kvpb.Key
		}{{t1, alice}, {t2, bob}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if round%2 == 1 && i == 1 {
					time.Sleep(time.Millisecond)
				}
				err := c.txn.Put(ctx, c.key, []byte("off"))
				if err == nil {
					err = c.txn.Commit(ctx)
				}
				if err != nil {
					c.txn.Rollback(ctx)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Fatalf("round %d: write skew: both doctors went off call", round)
		}
		for _, err := range errs {
			if err != nil && !kv.IsRetryable(err) {
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		// Whatever happened, at least one doctor is still on call.
		final := db.NewTxn("check")
		if onCall(final) < 1 {
			t.Fatalf("round %d: nobody on call", round)
		}
		must(t, final.Commit(ctx))
	}
}

// TestSkewLostUpdate: concurrent read-modify-write increments never lose an
// update.
func TestSkewLostUpdate(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	db := n.DB
	key := kvpb.Key("counter")
	must(t, db.Put(ctx, key, encodeBalance(0)))
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					v, err := txn.Get(ctx, key)
					if err != nil {
						return err
					}
					return txn.Put(ctx, key, encodeBalance(decodeBalance(t, v)+1))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := db.Get(ctx, key)
	must(t, err)
	if got := decodeBalance(t, v); got != workers*each {
		t.Fatalf("counter = %d, want %d: lost updates", got, workers*each)
	}
}

// TestSkewLostUpdateInterleaved forces the lost-update schedule: both read,
// then both write. One must fail with a retryable error.
func TestSkewLostUpdateInterleaved(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	db := n.DB
	key := kvpb.Key("x")
	must(t, db.Put(ctx, key, encodeBalance(10)))
	t1, t2 := db.NewTxn("t1"), db.NewTxn("t2")
	v1, err := t1.Get(ctx, key)
	must(t, err)
	v2, err := t2.Get(ctx, key)
	must(t, err)
	must(t, t1.Put(ctx, key, encodeBalance(decodeBalance(t, v1)+1)))
	must(t, t1.Commit(ctx))
	// t2's write lands above t1's commit; its read at the old timestamp no
	// longer holds, so the refresh at commit fails.
	err = t2.Put(ctx, key, encodeBalance(decodeBalance(t, v2)+1))
	if err == nil {
		err = t2.Commit(ctx)
	}
	if !kv.IsRetryable(err) {
		t.Fatalf("expected a retryable error, got %v", err)
	}
	t2.Rollback(ctx)
	v, err := db.Get(ctx, key)
	must(t, err)
	if decodeBalance(t, v) != 11 {
		t.Fatalf("value %d, want 11", decodeBalance(t, v))
	}
}

// TestSkewReadOnlyNeverSeesPartialCommit: writers update a group of keys
// together; read-only transactions must see all or none of each update.
func TestSkewReadOnlyNeverSeesPartialCommit(t *testing.T) {
	runTopologies(t, testSkewReadOnlyNeverSeesPartialCommit, topology{name: "five-ranges", splits: []string{"grp/02", "grp/04", "grp/06", "grp/08"}})
}

func testSkewReadOnlyNeverSeesPartialCommit(t *testing.T, topo topology) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := topo.start(t, kvtest.Options{})
	const keys = 10
	key := func(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("grp/%02d", i)) }
	writers := 3
	if topo.splits != nil {
		writers = 2
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gen := int64(1); ; gen++ {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					for i := 0; i < keys; i++ {
						if err := txn.Put(ctx, key(i), encodeBalance(gen)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	reads := 200
	if topo.splits != nil {
		// Readers compete with the writers in five wait queues instead of
		// one, and a reader that meets intents in several ranges waits in
		// each: fewer reads keep the test's time bounded under load
		// (readers are not guaranteed progress against a stream of
		// writers; this test is about what they see).
		reads = 20
	}
	for r := 0; r < reads; r++ {
		err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			var first []byte
			for i := 0; i < keys; i++ {
				v, err := txn.Get(ctx, key(i))
				if err != nil {
					return err
				}
				if i == 0 {
					first = v
				} else if string(v) != string(first) {
					return fmt.Errorf("partial commit visible: %s=%x but %s=%x", key(0), first, key(i), v)
				}
			}
			return nil
		})
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestSkewDeadlockBroken: two transactions lock keys in opposite orders; the
// deadlock is detected and exactly one is aborted, the other commits.
func TestSkewDeadlockBroken(t *testing.T) {
	runTopologies(t, testSkewDeadlockBroken, topology{name: "two-ranges", splits: []string{"b"}})
}

func testSkewDeadlockBroken(t *testing.T, topo topology) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db := topo.start(t, kvtest.Options{})
	a, b := kvpb.Key("a"), kvpb.Key("b")
	t1, t2 := db.NewTxn("t1"), db.NewTxn("t2")
	must(t, t1.Put(ctx, a, []byte("1")))
	must(t, t2.Put(ctx, b, []byte("2")))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []struct {
		txn *kv.Txn
		key kvpb.Key
	}{{t1, b}, {t2, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.txn.Put(ctx, c.key, []byte("x"))
			if err == nil {
				err = c.txn.Commit(ctx)
			}
			if err != nil {
				c.txn.Rollback(ctx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("deadlock was not broken")
	}
	var aborted int
	for _, err := range errs {
		var ae *kvpb.TransactionAbortedError
		switch {
		case err == nil:
		case errors.As(err, &ae):
			aborted++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if aborted != 1 {
		t.Fatalf("want exactly one victim, got errors %v", errs)
	}
}

// TestAbandonedIntentsOfDeadCoordinator: a transaction whose coordinator
// stops heartbeating (it crashed) stops blocking others once its record
// expires.
func TestAbandonedTransactionExpires(t *testing.T) {
	runTopologies(t, testAbandonedTransactionExpires, topology{name: "two-ranges", splits: []string{"k"}})
}

func testAbandonedTransactionExpires(t *testing.T, topo topology) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := topo.start(t, kvtest.Options{Store: kvLocalFastExpiry()})
	abandoned := db.NewTxn("abandoned")
	// The record is anchored at "a": over two ranges, in another range
	// than the intent the reader meets.
	must(t, abandoned.Put(ctx, kvpb.Key("a"), []byte("never")))
	must(t, abandoned.Put(ctx, kvpb.Key("k"), []byte("never")))
	abandoned.StopHeartbeatForTesting()
	start := time.Now()
	v, err := db.Get(ctx, kvpb.Key("k"))
	must(t, err)
	if v != nil {
		t.Fatalf("read an uncommitted value %q", v)
	}
	t.Logf("unblocked after %s", time.Since(start))
	if err := abandoned.Commit(ctx); !kv.IsRetryable(err) {
		t.Fatalf("commit of an aborted transaction: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSkewSavepoints: rolling back to a savepoint restores every key
// written after it, including keys created and deleted, nested savepoints
// included; committed state reflects only what was kept.
func TestSkewSavepoints(t *testing.T) {
	runTopologies(t, testSkewSavepoints, topology{name: "four-ranges", splits: []string{"b", "c", "d"}})
}

func testSkewSavepoints(t *testing.T, topo topology) {
	ctx := context.Background()
	db := topo.start(t, kvtest.Options{})
	must(t, db.Put(ctx, kvpb.Key("a"), []byte("a0")))
	must(t, db.Put(ctx, kvpb.Key("b"), []byte("b0")))
	txn := db.NewTxn("sp")
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("a1")))
	sp1 := txn.Savepoint()
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("a2")))
	_, err := txn.Delete(ctx, kvpb.Key("b"))
	must(t, err)
	must(t, txn.Put(ctx, kvpb.Key("c"), []byte("c2")))
	sp2 := txn.Savepoint()
	must(t, txn.Put(ctx, kvpb.Key("a"), []byte("a3")))
	must(t, txn.RollbackToSavepoint(ctx, sp2))
	if v, _ := txn.Get(ctx, kvpb.Key("a")); string(v) != "a2" {
		t.Fatalf("after rollback to sp2: a=%q", v)
	}
	must(t, txn.RollbackToSavepoint(ctx, sp1))
	for k, want := range map[string]string{"a": "a1", "b": "b0", "c": ""} {
		v, err := txn.Get(ctx, kvpb.Key(k))
		must(t, err)
		if string(v) != want || (want == "" && v != nil) {
			t.Fatalf("after rollback to sp1: %s=%q, want %q", k, v, want)
		}
	}
	must(t, txn.Put(ctx, kvpb.Key("d"), []byte("d1")))
	txn.ReleaseSavepoint(sp1)
	must(t, txn.Commit(ctx))
	rows, err := db.Scan(ctx, kvpb.Key("a"), kvpb.Key("z"), 0)
	must(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	if fmt.Sprint(got) != "[a=a1 b=b0 d=d1]" {
		t.Fatalf("committed %v", got)
	}
}
