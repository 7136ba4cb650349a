package eval

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

func sp(k, end string) kvpb.Span {
	s := kvpb.Span{Key: kvpb.Key(k)}
	if end != "" {
		s.EndKey = kvpb.Key(end)
	}
	return s
}

func TestSplitSpans(t *testing.T) {
	for _, tc := range []struct {
		bounds          kvpb.Span
		in              []kvpb.Span
		inside, outside []kvpb.Span
	}{
		{kvpb.Span{}, []kvpb.Span{sp("a", ""), sp("a", "z")}, []kvpb.Span{sp("a", ""), sp("a", "z")}, nil},
		{sp("c", "m"), []kvpb.Span{sp("a", ""), sp("c", ""), sp("l", ""), sp("m", "")},
			[]kvpb.Span{sp("c", ""), sp("l", "")}, []kvpb.Span{sp("a", ""), sp("m", "")}},
		// A range span is cut at both bounds.
		{sp("c", "m"), []kvpb.Span{sp("a", "z")}, []kvpb.Span{sp("c", "m")}, []kvpb.Span{sp("a", "c"), sp("m", "z")}},
		{sp("c", "m"), []kvpb.Span{sp("a", "c"), sp("m", "z"), sp("d", "e")}, []kvpb.Span{sp("d", "e")},
			[]kvpb.Span{sp("a", "c"), sp("m", "z")}},
		{sp("c", "m"), []kvpb.Span{sp("b", "d"), sp("l", "n")}, []kvpb.Span{sp("c", "d"), sp("l", "m")},
			[]kvpb.Span{sp("b", "c"), sp("m", "n")}},
		// Open sides.
		{kvpb.Span{EndKey: kvpb.Key("m")}, []kvpb.Span{sp("a", "z")}, []kvpb.Span{sp("a", "m")}, []kvpb.Span{sp("m", "z")}},
		{kvpb.Span{Key: kvpb.Key("m")}, []kvpb.Span{sp("a", "z"), sp("zz", "")}, []kvpb.Span{sp("m", "z"), sp("zz", "")},
			[]kvpb.Span{sp("a", "m")}},
	} {
		in, out := SplitSpans(tc.in, tc.bounds)
		if !reflect.DeepEqual(in, tc.inside) || !reflect.DeepEqual(out, tc.outside) {
			t.Errorf("SplitSpans(%v, %v) = %v, %v; want %v, %v", tc.in, tc.bounds, in, out, tc.inside, tc.outside)
		}
	}
}

// EndTxn on a range that holds only some of the intents resolves those,
// keeps the record finalized with the others, and says which remain.
func TestEndTxnKeepsRecordForRemoteIntents(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
			eng := storage.OpenInMem()
			defer eng.Close()
			ec := testCtx
			ec.Bounds = sp("a", "m")
			txn := newTxn(3, ts(10))
			ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
			ba.Add(&kvpb.HeartbeatTxnRequest{Create: true}, &kvpb.PutRequest{Key: kvpb.Key("b"), Value: []byte("1")},
				// On "another range" (the same engine here): left alone.
				&kvpb.PutRequest{Key: kvpb.Key("x"), Value: []byte("2")})
			res, err := evaluate(t, eng, ba, testCtx)
			if err != nil {
				t.Fatal(err)
			}
			ba = &kvpb.BatchRequest{Header: kvpb.Header{Txn: res.Response.Txn}}
			ba.Add(&kvpb.EndTxnRequest{Commit: commit, LockSpans: []kvpb.Span{sp("b", ""), sp("k", "z")}})
			res, err = evaluate(t, eng, ba, ec)
			if err != nil {
				t.Fatal(err)
			}
			want := kvpb.ABORTED
			if commit {
				want = kvpb.COMMITTED
			}
			un := res.Response.Responses[0].(*kvpb.EndTxnResponse).UnresolvedSpans
			if !reflect.DeepEqual(un, []kvpb.Span{sp("m", "z")}) {
				t.Fatalf("unresolved %v", un)
			}
			rec, ok, err := ReadTxnRecord(eng, txn.TxnMeta)
			if err != nil || !ok || rec.Status != want || !reflect.DeepEqual(rec.LockSpans, un) || rec.LastHeartbeat != ec.Now {
				t.Fatalf("record %v %v %v", rec, ok, err)
			}
			if !res.Sync || res.Finalized.Status != want {
				t.Fatalf("result %+v", res)
			}
			if _, _, err := mvcc.Get(eng, kvpb.Key("b"), hlc.MaxTimestamp, mvcc.ReadOptions{}); err != nil {
				t.Fatalf("local intent not resolved: %v", err)
			}
			if _, _, err := mvcc.Get(eng, kvpb.Key("x"), hlc.MaxTimestamp, mvcc.ReadOptions{}); !errors.As(err, new(*kvpb.WriteIntentError)) {
				t.Fatalf("remote intent touched: %v", err)
			}
			// A pusher learns the outcome; the record can then be cleared.
			push := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts(100)}}
			push.Add(&kvpb.PushTxnRequest{Pushee: txn.TxnMeta, Force: true})
			res, err = evaluate(t, eng, push, ec)
			if err != nil {
				t.Fatal(err)
			}
			if pr := res.Response.Responses[0].(*kvpb.PushTxnResponse); pr.Pushee.Status != want || res.Finalized != nil {
				t.Fatalf("push of a finalized txn: %+v", pr)
			}
			clear := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts(100)}}
			clear.Add(&kvpb.ClearTxnRecordRequest{Txn: txn.TxnMeta})
			res, err = evaluate(t, eng, clear, ec)
			if err != nil || !res.Response.Responses[0].(*kvpb.ClearTxnRecordResponse).Cleared {
				t.Fatalf("clear: %v", err)
			}
			if _, ok, _ := ReadTxnRecord(eng, txn.TxnMeta); ok {
				t.Fatal("record not cleared")
			}
		})
	}
}

func TestPushTxn(t *testing.T) {
	const expiry = 50
	ec := Context{NodeID: 1, RangeID: 1, Now: ts(1000), TxnExpiry: expiry, BootID: 9}
	push := func(eng storage.Engine, pushee kvpb.TxnMeta, force bool) (*kvpb.PushTxnResponse, *Result) {
		t.Helper()
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ec.Now}}
		ba.Add(&kvpb.PushTxnRequest{Pusher: newTxn(200, ts(1)).TxnMeta, Pushee: pushee, Force: force})
		res, err := evaluate(t, eng, ba, ec)
		if err != nil {
			t.Fatal(err)
		}
		return res.Response.Responses[0].(*kvpb.PushTxnResponse), res
	}
	record := func(eng storage.Engine, id byte, status kvpb.TxnStatus, hb int64, coord kvpb.Coordinator) kvpb.TxnMeta {
		rec := newTxn(id, ts(900))
		rec.Status, rec.LastHeartbeat, rec.Coordinator = status, ts(hb), coord
		if err := WriteTxnRecord(eng, rec); err != nil {
			t.Fatal(err)
		}
		return rec.TxnMeta
	}
	eng := storage.OpenInMem()
	defer eng.Close()
	for _, tc := range []struct {
		name        string
		pushee      func() kvpb.TxnMeta
		force       bool
		wantStatus  kvpb.TxnStatus
		wantMissing bool
	}{
		{"pending, alive", func() kvpb.TxnMeta { return record(eng, 1, kvpb.PENDING, 990, kvpb.Coordinator{NodeID: 2}) }, false, kvpb.PENDING, false},
		{"pending, forced", func() kvpb.TxnMeta { return record(eng, 2, kvpb.PENDING, 990, kvpb.Coordinator{NodeID: 2}) }, true, kvpb.ABORTED, false},
		{"pending, expired", func() kvpb.TxnMeta { return record(eng, 3, kvpb.PENDING, 900, kvpb.Coordinator{NodeID: 2}) }, false, kvpb.ABORTED, false},
		{"pending, coordinator restarted", func() kvpb.TxnMeta {
			return record(eng, 4, kvpb.PENDING, 990, kvpb.Coordinator{NodeID: 1, BootID: 8})
		}, false, kvpb.ABORTED, false},
		{"pending, coordinator this incarnation", func() kvpb.TxnMeta {
			return record(eng, 5, kvpb.PENDING, 990, kvpb.Coordinator{NodeID: 1, BootID: 9})
		}, false, kvpb.PENDING, false},
		{"committed", func() kvpb.TxnMeta { return record(eng, 6, kvpb.COMMITTED, 100, kvpb.Coordinator{}) }, true, kvpb.COMMITTED, false},
		{"missing, young", func() kvpb.TxnMeta { return newTxn(7, ts(990)).TxnMeta }, false, kvpb.PENDING, true},
		{"missing, old", func() kvpb.TxnMeta { return newTxn(8, ts(900)).TxnMeta }, false, kvpb.ABORTED, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pushee := tc.pushee()
			pr, res := push(eng, pushee, tc.force)
			if pr.Pushee.Status != tc.wantStatus || pr.Missing != tc.wantMissing || pr.Pushee.ID != pushee.ID {
				t.Fatalf("got %s missing=%v", pr.Pushee.Status, pr.Missing)
			}
			aborted := tc.wantStatus == kvpb.ABORTED
			if aborted != (res.Finalized != nil) || aborted != res.Sync {
				t.Fatalf("aborting push: Finalized=%v Sync=%v", res.Finalized, res.Sync)
			}
			rec, ok, _ := ReadTxnRecord(eng, pushee)
			if aborted && (!ok || rec.Status != kvpb.ABORTED || rec.LastHeartbeat != ec.Now) {
				t.Fatalf("record after abort: %v %v", rec, ok)
			}
		})
	}
	// The pushing node knows its own incarnations: a record coordinated by
	// an earlier one is abandoned, one by its current one is not.
	for _, tc := range []struct {
		boot uint64
		want kvpb.TxnStatus
	}{{6, kvpb.PENDING}, {5, kvpb.ABORTED}} {
		pushee := record(eng, byte(20+tc.boot), kvpb.PENDING, 990, kvpb.Coordinator{NodeID: 2, BootID: tc.boot})
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ec.Now}}
		ba.Add(&kvpb.PushTxnRequest{Pushee: pushee, From: kvpb.Coordinator{NodeID: 2, BootID: 6}})
		res, err := evaluate(t, eng, ba, ec)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Response.Responses[0].(*kvpb.PushTxnResponse).Pushee.Status; got != tc.want {
			t.Errorf("record of boot %d pushed from boot 6: %s, want %s", tc.boot, got, tc.want)
		}
	}
	// A pending record may not be cleared.
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ec.Now}}
	ba.Add(&kvpb.ClearTxnRecordRequest{Txn: newTxn(1, ts(900)).TxnMeta})
	if _, err := evaluate(t, eng, ba, ec); !errors.As(err, new(*kvpb.TransactionStatusError)) {
		t.Fatalf("clearing a pending record: %v", err)
	}
}

// The record-creation fence: HeartbeatTxn{Create} refuses a transaction
// whose start is more than CreateFence ago, and over an ABORTED record.
func TestHeartbeatCreateFence(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	ec := Context{NodeID: 1, RangeID: 1, Now: ts(int64(10 * time.Second)), TxnExpiry: time.Second, CreateFence: 5 * time.Second}
	create := func(txn *kvpb.Transaction) error {
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
		ba.Add(&kvpb.HeartbeatTxnRequest{Create: true})
		_, err := evaluate(t, eng, ba, ec)
		return err
	}
	if err := create(newTxn(1, ts(int64(4*time.Second)))); !errors.As(err, new(*kvpb.TransactionAbortedError)) {
		t.Fatalf("late create: %v", err)
	}
	if _, ok, _ := ReadTxnRecord(eng, newTxn(1, ts(0)).TxnMeta); ok {
		t.Fatal("refused create wrote a record")
	}
	// Older than TxnExpiry but within the fence: a transaction that read
	// for a while before its first write.
	young := newTxn(2, ts(int64(6*time.Second)))
	if err := create(young); err != nil {
		t.Fatalf("timely create: %v", err)
	}
	// A heartbeat of an existing record is not fenced by age.
	old := newTxn(3, ts(int64(time.Second)))
	rec := old.Clone()
	rec.LastHeartbeat = ts(int64(9 * time.Second))
	if err := WriteTxnRecord(eng, rec); err != nil {
		t.Fatal(err)
	}
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: old}}
	ba.Add(&kvpb.HeartbeatTxnRequest{})
	if _, err := evaluate(t, eng, ba, ec); err != nil {
		t.Fatalf("heartbeat of an old, live transaction: %v", err)
	}
	// An ABORTED record refuses creation whatever the age.
	aborted := newTxn(4, ts(int64(9*time.Second)))
	if _, err := AbortTxnRecord(eng, aborted.TxnMeta, ec.Now); err != nil {
		t.Fatal(err)
	}
	if err := create(aborted); !errors.As(err, new(*kvpb.TransactionAbortedError)) {
		t.Fatalf("create over ABORTED: %v", err)
	}
}
