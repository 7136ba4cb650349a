package kvpb

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

func fullTxn() *Transaction {
	return &Transaction{
		TxnMeta: TxnMeta{
			ID:             TxnID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
			Key:            Key("anchor\x00\xff"),
			WriteTimestamp: hlc.Timestamp{WallTime: 1 << 50, Logical: 7},
			MinTimestamp:   hlc.Timestamp{WallTime: 3},
			Priority:       -12345,
		},
		Name:                   "txn-\u00e9",
		Status:                 ABORTED,
		ReadTimestamp:          hlc.Timestamp{WallTime: 1 << 49},
		GlobalUncertaintyLimit: hlc.MaxTimestamp,
		ObservedTimestamps:     []ObservedTimestamp{{NodeID: 1, Timestamp: hlc.Timestamp{WallTime: 5}}, {NodeID: -2}},
		LastHeartbeat:          hlc.Timestamp{Logical: 1},
		Coordinator:            Coordinator{NodeID: 1<<31 - 1, BootID: 1<<64 - 1},
		LockSpans:              []Span{{Key: Key("a")}, {Key: Key("b"), EndKey: Key("c")}, {Key: Key("c"), EndKey: Key{0xff}}, {Key: Key("d"), EndKey: Key{}}},
	}
}

func TestTransactionRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		txn  *Transaction
	}{
		{"zero", &Transaction{}},
		{"full", fullTxn()},
		{"committed, no slices", &Transaction{TxnMeta: TxnMeta{ID: TxnID{1}, Key: Key("k")}, Status: COMMITTED}},
		{"extreme priority", &Transaction{TxnMeta: TxnMeta{Priority: -1 << 31}, Coordinator: Coordinator{NodeID: -1 << 31}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := AppendTransaction([]byte("prefix"), tc.txn)
			if !bytes.HasPrefix(enc, []byte("prefix")) {
				t.Fatal("AppendTransaction did not append")
			}
			enc = enc[len("prefix"):]
			got, err := DecodeTransaction(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.txn) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.txn)
			}
			if re := AppendTransaction(nil, got); !bytes.Equal(re, enc) {
				t.Fatalf("re-encoding differs:\n%x\n%x", re, enc)
			}
			// Every strict prefix is truncated and must fail cleanly.
			for i := 0; i < len(enc); i++ {
				if _, err := DecodeTransaction(enc[:i]); !errors.Is(err, ErrCorruptValue) {
					t.Fatalf("prefix of %d/%d bytes: %v", i, len(enc), err)
				}
			}
			if _, err := DecodeTransaction(append(enc, 0)); !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("trailing byte accepted: %v", err)
			}
		})
	}
}

func TestTxnMetaRoundTrip(t *testing.T) {
	for _, m := range []TxnMeta{{}, fullTxn().TxnMeta, {WriteTimestamp: hlc.MaxTimestamp, Priority: 1<<31 - 1}} {
		enc := AppendTxnMeta(nil, &m)
		got, err := DecodeTxnMeta(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
		for i := 0; i < len(enc); i++ {
			if _, err := DecodeTxnMeta(enc[:i]); !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("prefix of %d/%d bytes: %v", i, len(enc), err)
			}
		}
	}
}

// TestDecodeCorrupt lists hand-made corruptions, each of which must be
// refused (not silently decoded into a different value).
func TestDecodeCorrupt(t *testing.T) {
	meta := AppendTxnMeta(nil, &TxnMeta{ID: TxnID{1}})
	// Offsets in meta: version(1) id(16) keylen(1) wall(1) logical(1)
	// wall(1) logical(1) priority(1).
	const prioOff = 1 + 16 + 1 + 4
	withPriority := func(p []byte) []byte { return append(append([]byte(nil), meta[:prioOff]...), p...) }
	txn := AppendTransaction(nil, &Transaction{TxnMeta: TxnMeta{ID: TxnID{1}}})
	statusOff := len(meta) + 1 // meta, then name length 0, then status
	withStatus := func(s byte) []byte {
		b := append([]byte(nil), txn...)
		b[statusOff] = s
		return b
	}
	// A transaction with a range lock span whose end key has length 0.
	emptyEnd := append(append([]byte(nil), txn[:len(txn)-1]...), 1, 0, 1, 0)

	for _, tc := range []struct {
		name string
		meta bool
		in   []byte
	}{
		{"meta: empty", true, nil},
		{"meta: version 2", true, append([]byte{2}, meta[1:]...)},
		{"meta: trailing", true, append(append([]byte(nil), meta...), 0)},
		{"meta: negative wall", true, append(append([]byte(nil), meta[:18]...), 1, 0, 0, 0, 0)},
		{"meta: logical over int32", true, append(append([]byte(nil), meta[:18]...), 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0)},
		{"meta: key length past end", true, append(append([]byte(nil), meta[:17]...), 0x7f)},
		{"meta: key length huge", true, append(append([]byte(nil), meta[:17]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"meta: priority over int32", true, withPriority([]byte{0x80, 0x80, 0x80, 0x80, 0x20})},
		{"meta: non-minimal varint", true, withPriority([]byte{0x80, 0x00})},
		{"txn: version 0", false, append([]byte{0}, txn[1:]...)},
		{"txn: status 3", false, withStatus(3)},
		{"txn: status 0x80", false, withStatus(0x80)},
		{"txn: status 0xff", false, withStatus(0xff)},
		{"txn: huge observed count", false, append(append([]byte(nil), txn[:len(txn)-2]...), 0xff, 0xff, 0xff, 0xff, 0x0f, 0)},
		{"txn: bad span tag", false, append(append([]byte(nil), txn[:len(txn)-1]...), 1, 0, 2)},
		{"txn: range span with empty end", false, emptyEnd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var got any
			if tc.meta {
				got, err = DecodeTxnMeta(tc.in)
			} else {
				got, err = DecodeTransaction(tc.in)
			}
			if err == nil {
				// Tolerable only if nothing was lost: the value re-encodes
				// to the same bytes.
				var re []byte
				if tc.meta {
					m := got.(TxnMeta)
					re = AppendTxnMeta(nil, &m)
				} else {
					tx := got.(*Transaction)
					re = AppendTransaction(nil, tx)
					if tx.Status != PENDING && tx.Status != COMMITTED && tx.Status != ABORTED {
						t.Fatalf("decoded an invalid status %s", tx.Status)
					}
				}
				if !bytes.Equal(re, tc.in) {
					t.Fatalf("decoded %x into %+v, which encodes as %x", tc.in, got, re)
				}
				return
			}
			if !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("%v does not wrap ErrCorruptValue", err)
			}
		})
	}
}

// checkAlloc fails if decoding in used more than a few dozen bytes per input
// byte: a corrupt length must not drive a huge allocation.
func checkAlloc(t *testing.T, in []byte, decode func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(64*len(in)+16<<10) {
		t.Fatalf("decoding %d bytes allocated %d bytes", len(in), n)
	}
}

func FuzzDecodeTransaction(f *testing.F) {
	f.Add(AppendTransaction(nil, &Transaction{}))
	f.Add(AppendTransaction(nil, fullTxn()))
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var txn *Transaction
		var err error
		checkAlloc(t, b, func() { txn, err = DecodeTransaction(b) })
		if err != nil {
			if !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("%v does not wrap ErrCorruptValue", err)
			}
			return
		}
		if txn.Status != PENDING && txn.Status != COMMITTED && txn.Status != ABORTED {
			t.Fatalf("decoded an invalid status %s", txn.Status)
		}
		if re := AppendTransaction(nil, txn); !bytes.Equal(re, b) {
			t.Fatalf("%x decodes to %+v, which encodes as %x", b, txn, re)
		}
	})
}

func FuzzDecodeTxnMeta(f *testing.F) {
	f.Add(AppendTxnMeta(nil, &TxnMeta{}))
	f.Add(AppendTxnMeta(nil, &fullTxn().TxnMeta))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m TxnMeta
		var err error
		checkAlloc(t, b, func() { m, err = DecodeTxnMeta(b) })
		if err != nil {
			if !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("%v does not wrap ErrCorruptValue", err)
			}
			return
		}
		if re := AppendTxnMeta(nil, &m); !bytes.Equal(re, b) {
			t.Fatalf("%x decodes to %+v, which encodes as %x", b, m, re)
		}
	})
}
