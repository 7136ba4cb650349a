package kv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

// TestReadOnlyTxnAt: a transaction at a fixed past timestamp sees exactly
// the versions committed at or below it, refuses writes, and refuses a
// timestamp in the future.
func TestReadOnlyTxnAt(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	key := kvpb.Key("k")
	commit := func(v string) hlc.Timestamp {
		txn := n.DB.NewTxn("w")
		if err := txn.Put(ctx, key, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if !txn.Wrote() {
			t.Fatal("Wrote() = false after a Put")
		}
		if err := txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return txn.CommitTimestamp()
	}
	t1 := commit("v1")
	t2 := commit("v2")
	for _, tc := range []struct {
		ts   hlc.Timestamp
		want string
	}{{t1.Prev(), ""}, {t1, "v1"}, {t2.Prev(), "v1"}, {t2, "v2"}} {
		txn, err := n.DB.NewReadOnlyTxnAt("r", tc.ts)
		if err != nil {
			t.Fatal(err)
		}
		if !txn.Unused() {
			t.Fatal("a new transaction is not Unused")
		}
		v, err := txn.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) != tc.want {
			t.Errorf("at %s: got %q, want %q", tc.ts, v, tc.want)
		}
		if txn.Unused() {
			t.Error("Unused() after a read")
		}
		if got := txn.ReadTimestamp(); got != tc.ts {
			t.Errorf("read timestamp moved: %s, want %s", got, tc.ts)
		}
		if err := txn.Put(ctx, key, []byte("x")); !errors.Is(err, kvpb.ErrWriteInReadOnlyTxn) {
			t.Errorf("Put in a read-only txn: %v", err)
		}
		if err := txn.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A read-write transaction made read-only refuses writes too.
	txn := n.DB.NewTxn("ro")
	txn.SetReadOnly()
	if _, err := txn.Delete(ctx, key); !errors.Is(err, kvpb.ErrWriteInReadOnlyTxn) {
		t.Errorf("Delete after SetReadOnly: %v", err)
	}
	txn.Rollback(ctx)

	future := n.Clock.Now().Add(time.Hour)
	var fe *kv.FutureTimestampError
	if _, err := n.DB.NewReadOnlyTxnAt("f", future); !errors.As(err, &fe) {
		t.Fatalf("future timestamp: %v", err)
	}
}

// TestReadOnlyTxnAtNoUncertainty: a value written just above the fixed
// timestamp (within the clock's max offset) does not make the read
// restart; it is simply not visible.
func TestReadOnlyTxnAtNoUncertainty(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	ts := n.Clock.Now()
	if err := n.DB.Put(ctx, kvpb.Key("a"), []byte("later")); err != nil {
		t.Fatal(err)
	}
	txn, err := n.DB.NewReadOnlyTxnAt("r", ts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := txn.Get(ctx, kvpb.Key("a"))
	if err != nil || v != nil {
		t.Fatalf("Get = %q, %v; want absent", v, err)
	}
	if txn.ReadTimestamp() != ts {
		t.Fatalf("read timestamp moved to %s", txn.ReadTimestamp())
	}
}
