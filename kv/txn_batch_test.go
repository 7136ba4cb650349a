package kv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

// TestTxnWrite: a batch of writes is atomic (a failed ConditionalPut
// leaves none of the batch's writes behind and the transaction usable),
// later requests see earlier ones, and the writes commit with the
// transaction.
func TestTxnWrite(t *testing.T) {
	runTopologies(t, testTxnWrite, topology{name: "two-ranges", splits: []string{"w/b"}})
}

func testTxnWrite(t *testing.T, topo topology) {
	ctx := context.Background()
	db := topo.start(t, kvtest.Options{})
	must(t, db.Put(ctx, kvpb.Key("w/taken"), []byte("x")))
	txn := db.NewTxn("write")
	err := txn.Write(ctx, []kvpb.Request{
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("w/a"), Value: []byte("1")},
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("w/taken"), Value: []byte("2")},
	})
	var cf *kvpb.ConditionFailedError
	if !errors.As(err, &cf) {
		t.Fatalf("want a condition failure, got %v", err)
	}
	if v, err := txn.Get(ctx, kvpb.Key("w/a")); err != nil || v != nil {
		t.Fatalf("w/a after a failed batch: %q %v", v, err)
	}
	// A duplicate inside one batch is seen by the second request.
	err = txn.Write(ctx, []kvpb.Request{
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("w/b"), Value: []byte("1")},
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("w/b"), Value: []byte("2")},
	})
	if !errors.As(err, &cf) {
		t.Fatalf("duplicate in a batch: %v", err)
	}
	must(t, txn.Write(ctx, []kvpb.Request{
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("w/a"), Value: []byte("1")},
		&kvpb.PutRequest{Key: kvpb.Key("w/c"), Value: []byte("3")},
		&kvpb.DeleteRequest{Key: kvpb.Key("w/taken")},
	}))
	if err := txn.Write(ctx, []kvpb.Request{&kvpb.GetRequest{Key: kvpb.Key("w/a")}}); err == nil {
		t.Fatal("a read in Write should be refused")
	}
	must(t, txn.Commit(ctx))
	check := db.NewTxn("check")
	defer check.Rollback(ctx)
	rows, err := check.Scan(ctx, kvpb.Key("w/"), kvpb.Key("w0"), 0)
	must(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	if len(got) != 2 || got[0] != "w/a=1" || got[1] != "w/c=3" {
		t.Fatalf("after commit: %v", got)
	}
}
