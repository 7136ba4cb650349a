package eval

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

func ts(wall int64) hlc.Timestamp { return hlc.Timestamp{WallTime: wall} }

var testCtx = Context{NodeID: 1, RangeID: 1, Now: ts(100)}

func newTxn(id byte, at hlc.Timestamp) *kvpb.Transaction {
	return &kvpb.Transaction{
		TxnMeta:                kvpb.TxnMeta{ID: kvpb.TxnID{id}, Key: kvpb.Key("a"), WriteTimestamp: at, MinTimestamp: at},
		ReadTimestamp:          at,
		GlobalUncertaintyLimit: at,
	}
}

// evaluate runs ba in a batch, committing it on success.
func evaluate(t testing.TB, eng storage.Engine, ba *kvpb.BatchRequest, ec Context) (*Result, error) {
	t.Helper()
	b := eng.NewBatch()
	defer b.Close()
	res, err := Evaluate(b, ba, ec)
	if err != nil {
		return nil, err
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

type unknownRequest struct{}

func (unknownRequest) Method() kvpb.Method { return kvpb.Method(42) }
func (unknownRequest) Keys() kvpb.Span     { return kvpb.Span{Key: kvpb.Key("a")} }

func TestEvaluateMalformed(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	plain := func(reqs ...kvpb.Request) *kvpb.BatchRequest {
		return &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts(10)}, Requests: reqs}
	}
	inTxn := func(mut func(*kvpb.Transaction), reqs ...kvpb.Request) *kvpb.BatchRequest {
		txn := newTxn(1, ts(10))
		if mut != nil {
			mut(txn)
		}
		return &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}, Requests: reqs}
	}
	get := &kvpb.GetRequest{Key: kvpb.Key("a")}
	for _, tc := range []struct {
		name string
		ba   *kvpb.BatchRequest
	}{
		{"nil batch", nil},
		{"empty batch", plain()},
		{"nil request", plain(get, nil)},
		{"typed nil request", plain((*kvpb.PutRequest)(nil))},
		{"typed nil heartbeat", inTxn(nil, (*kvpb.HeartbeatTxnRequest)(nil))},
		{"typed nil end txn", inTxn(nil, (*kvpb.EndTxnRequest)(nil))},
		{"unknown request", plain(unknownRequest{})},
		{"no timestamp outside a txn", &kvpb.BatchRequest{Requests: []kvpb.Request{get}}},
		{"empty key", plain(&kvpb.PutRequest{Key: kvpb.Key{}, Value: []byte("v")})},
		{"local key", plain(&kvpb.PutRequest{Key: keys.RangeGCThresholdKey(1), Value: []byte("v")})},
		{"local delete range", plain(&kvpb.DeleteRangeRequest{Span: kvpb.Span{Key: keys.LocalPrefix, EndKey: kvpb.Key("z")}})},
		{"txn record key", plain(&kvpb.GetRequest{Key: keys.TransactionKey([]byte("a"), kvpb.TxnID{1})})},
		{"inverted span", plain(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("b"), EndKey: kvpb.Key("a")}})},
		{"negative max keys", plain(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("a"), EndKey: kvpb.Key("b")}, MaxKeys: -5})},
		{"end txn not last", inTxn(nil, &kvpb.EndTxnRequest{Commit: true}, get)},
		{"end txn outside a txn", plain(&kvpb.EndTxnRequest{Commit: true})},
		{"refresh outside a txn", plain(&kvpb.RefreshRequest{Span: kvpb.Span{Key: kvpb.Key("a")}})},
		{"gc in a txn", inTxn(nil, &kvpb.GCRequest{Span: kvpb.Span{Key: kvpb.Key("a"), EndKey: kvpb.Key("b")}})},
		{"txn without id", inTxn(func(t *kvpb.Transaction) { t.ID = kvpb.TxnID{} }, get)},
		{"txn write below read", inTxn(func(t *kvpb.Transaction) { t.WriteTimestamp = ts(5) }, get)},
		{"txn negative timestamps", inTxn(func(t *kvpb.Transaction) {
			t.ReadTimestamp, t.WriteTimestamp = hlc.Timestamp{WallTime: -10}, hlc.Timestamp{WallTime: -10}
		}, &kvpb.PutRequest{Key: kvpb.Key("a"), Value: []byte("v")})},
		{"txn negative min timestamp", inTxn(func(t *kvpb.Transaction) { t.MinTimestamp = hlc.Timestamp{WallTime: -1} },
			&kvpb.PutRequest{Key: kvpb.Key("a"), Value: []byte("v")})},
		{"txn committed", inTxn(func(t *kvpb.Transaction) { t.Status = kvpb.COMMITTED }, get)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := evaluate(t, eng, tc.ba, testCtx)
			if err == nil {
				t.Fatalf("evaluated a malformed batch: %+v", res.Response)
			}
			if !errors.Is(err, kvpb.ErrMalformedBatch) {
				t.Fatalf("%v does not wrap ErrMalformedBatch", err)
			}
		})
	}
	// Nothing reached the engine.
	it, err := eng.NewIter(storage.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.First() {
		t.Fatalf("engine holds %v after malformed batches", it.Key())
	}
}

// TestEvaluateTxnLifecycle is a smoke test of the happy path: create the
// record, write, commit with resolution in the same batch, read back.
func TestEvaluateTxnLifecycle(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	txn := newTxn(7, ts(10))
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
	ba.Add(&kvpb.HeartbeatTxnRequest{Create: true}, &kvpb.PutRequest{Key: kvpb.Key("a"), Value: []byte("x")},
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("b"), Value: []byte("y")})
	res, err := evaluate(t, eng, ba, testCtx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Response.Responses) != 3 || res.Response.Txn == nil {
		t.Fatalf("response %+v", res.Response)
	}
	if _, ok, err := ReadTxnRecord(eng, txn.TxnMeta); !ok || err != nil {
		t.Fatalf("record: %t %v", ok, err)
	}
	ba = &kvpb.BatchRequest{Header: kvpb.Header{Txn: res.Response.Txn}}
	ba.Add(&kvpb.EndTxnRequest{Commit: true, LockSpans: []kvpb.Span{{Key: kvpb.Key("a"), EndKey: kvpb.Key("c")}}})
	res, err = evaluate(t, eng, ba, testCtx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Finalized == nil || res.Finalized.Status != kvpb.COMMITTED || !res.Sync {
		t.Fatalf("commit result %+v", res)
	}
	ba = &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts(20)}}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("a"), EndKey: kvpb.Key("z")}})
	res, err = evaluate(t, eng, ba, testCtx)
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Response.Responses[0].(*kvpb.ScanResponse).Rows
	if len(rows) != 2 || string(rows[0].Value) != "x" || string(rows[1].Value) != "y" || rows[0].Timestamp != ts(10) {
		t.Fatalf("rows %v", rows)
	}
	if _, ok, _ := ReadTxnRecord(eng, txn.TxnMeta); ok {
		t.Fatal("record left behind after a commit that resolved everything")
	}
}

// byteSource hands out fuzz input; it returns zeros once exhausted.
type byteSource struct{ b []byte }

func (s *byteSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) bytes(n int) []byte {
	out := make([]byte, 0, n)
	for i := 0; i < n && len(s.b) > 0; i++ {
		out = append(out, s.next())
	}
	return out
}

// fuzzKeys are keys with a meaning: local, empty, around the MVCC
// encoding's special bytes, at the end of the keyspace.
var fuzzKeys = [][]byte{
	[]byte("a"), []byte("b"), []byte("a\x00"), []byte("c\x0d"), []byte("c\x0d\x00"), {0x02},
	{0xff, 0xff}, {}, nil, {0x00}, {0x01, 'k'}, []byte("b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0d"),
}

func (s *byteSource) key() kvpb.Key {
	c := s.next()
	if c >= 0xf0 { // a raw key from the input
		return kvpb.Key(s.bytes(int(c & 0x0f)))
	}
	return kvpb.Key(fuzzKeys[int(c)%len(fuzzKeys)])
}

func (s *byteSource) span() kvpb.Span {
	sp := kvpb.Span{Key: s.key()}
	if s.next()%4 != 0 {
		sp.EndKey = s.key()
	}
	return sp
}

func (s *byteSource) ts() hlc.Timestamp {
	switch c := s.next(); {
	case c == 0xff:
		return hlc.MaxTimestamp
	case c == 0xfe:
		return hlc.Timestamp{WallTime: -1}
	case c >= 0xf0:
		return hlc.Timestamp{}
	default:
		return hlc.Timestamp{WallTime: int64(c % 32), Logical: int32(s.next() % 3)}
	}
}

func (s *byteSource) value() []byte {
	switch c := s.next(); {
	case c < 16:
		return nil
	case c < 32:
		return []byte{}
	default:
		return s.bytes(int(c % 8))
	}
}

func (s *byteSource) request() kvpb.Request {
	switch s.next() % 14 {
	case 0:
		return &kvpb.GetRequest{Key: s.key()}
	case 1:
		return &kvpb.ScanRequest{Span: s.span(), Reverse: s.next()%2 == 0, MaxKeys: int64(int8(s.next())) % 4}
	case 2:
		return &kvpb.PutRequest{Key: s.key(), Value: s.value()}
	case 3:
		return &kvpb.ConditionalPutRequest{Key: s.key(), Value: s.value(), ExpValue: s.value()}
	case 4:
		return &kvpb.DeleteRequest{Key: s.key()}
	case 5:
		return &kvpb.DeleteRangeRequest{Span: s.span(), ReturnKeys: s.next()%2 == 0}
	case 6:
		return &kvpb.HeartbeatTxnRequest{Now: s.ts(), Create: s.next()%2 == 0}
	case 7:
		var spans []kvpb.Span
		for n := s.next() % 3; n > 0; n-- {
			spans = append(spans, s.span())
		}
		return &kvpb.EndTxnRequest{Commit: s.next()%2 == 0, LockSpans: spans}
	case 8:
		return &kvpb.ResolveIntentRequest{Span: s.span(), Txn: s.txn().TxnMeta, Status: kvpb.TxnStatus(s.next() % 4)}
	case 9:
		return &kvpb.RefreshRequest{Span: s.span(), RefreshFrom: s.ts()}
	case 10:
		return &kvpb.GCRequest{Span: s.span(), Threshold: s.ts()}
	case 11:
		return nil
	case 12:
		return (*kvpb.GetRequest)(nil)
	default:
		return unknownRequest{}
	}
}

func (s *byteSource) txn() *kvpb.Transaction {
	read := s.ts()
	write := read
	if s.next()%2 == 0 {
		write = s.ts()
	}
	txn := &kvpb.Transaction{
		TxnMeta: kvpb.TxnMeta{
			ID: kvpb.TxnID{s.next() % 4}, Key: s.key(), WriteTimestamp: write, MinTimestamp: read,
			Priority: int32(int8(s.next())),
		},
		ReadTimestamp:          read,
		GlobalUncertaintyLimit: hlc.Timestamp{WallTime: read.WallTime + int64(s.next()%4)},
		Status:                 kvpb.TxnStatus(s.next() % 8 / 5),
	}
	return txn
}

// checkEngine asserts the storage invariant that every key in the engine
// decodes and every intent's metadata and every value parse: no request,
// however malformed, may write data that later reads as corrupt.
func checkEngine(t *testing.T, eng storage.Engine, after string) {
	t.Helper()
	it, err := eng.NewIter(storage.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("after %s: engine holds undecodable data: %v", after, err)
	}
	// Reads over everything decode every value and intent.
	if _, _, err := mvcc.Scan(eng, keys.LocalMax, keys.MaxKey, hlc.MaxTimestamp, 0, false, mvcc.ReadOptions{Inconsistent: true}); err != nil {
		t.Fatalf("after %s: scan: %v", after, err)
	}
}

// FuzzEvaluate builds batches from the input, evaluates them in turn on one
// engine (committing the successful ones) and checks that nothing panics,
// that malformed batches are reported as such, and that no batch leaves
// undecodable data behind.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0, 5, 2, 0, 10, 0, 40, 'x', 'y', 0, 7, 2, 1, 1, 1})
	f.Add([]byte{0, 2, 2, 0, 3, 0, 7, 1, 0, 3, 2, 5, 0, 9, 1, 1, 0, 2})
	f.Add([]byte{0xff, 2, 1, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xff, 0xfe})
	f.Add(bytes.Repeat([]byte{0x05, 0x02, 0x01}, 30))
	// Two puts at hlc.MaxTimestamp: write-too-old used to wrap the second
	// to a negative wall time, an undecodable key.
	f.Add([]byte("1\xff02\x0300\x0180X0000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			return
		}
		eng := storage.OpenInMem()
		defer eng.Close()
		s := &byteSource{b: data}
		for batch := 0; batch < 6 && len(s.b) > 0; batch++ {
			ba := &kvpb.BatchRequest{}
			if s.next()%2 == 0 {
				ba.Txn = s.txn()
			} else {
				ba.Timestamp = s.ts()
			}
			if s.next()%4 == 0 {
				ba.ReadConsistency = kvpb.Inconsistent
			}
			for n := 1 + s.next()%4; n > 0; n-- {
				ba.Add(s.request())
			}
			ec := Context{NodeID: 1, RangeID: 1, Now: ts(50), GCThreshold: ts(int64(s.next() % 8))}
			desc := fmt.Sprintf("batch %d %+v %v", batch, ba.Header, ba.Requests)
			validateErr := ba.Validate()
			res, err := evaluate(t, eng, ba, ec)
			switch {
			case validateErr != nil:
				if !errors.Is(err, kvpb.ErrMalformedBatch) {
					t.Fatalf("%s: Validate says %v, Evaluate %v", desc, validateErr, err)
				}
			case err == nil:
				if len(res.Response.Responses) != len(ba.Requests) {
					t.Fatalf("%s: %d responses", desc, len(res.Response.Responses))
				}
				checkEngine(t, eng, desc)
			case errors.Is(err, kvpb.ErrMalformedBatch):
				if !strings.Contains(err.Error(), "without a timestamp") {
					t.Fatalf("%s: malformed but Validate passed: %v", desc, err)
				}
			}
		}
	})
}
