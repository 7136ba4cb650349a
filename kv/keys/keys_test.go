package keys

import (
	"bytes"
	"testing"

	"github.com/google/uuid"
)

func TestAddr(t *testing.T) {
	id := uuid.New()
	for _, anchor := range [][]byte{[]byte("a"), []byte("a\x00txn-b"), {0x88, 0x00}} {
		got, err := Addr(TransactionKey(anchor, id))
		if err != nil || !bytes.Equal(got, anchor) {
			t.Fatalf("Addr(record of %q) = %q, %v", anchor, got, err)
		}
	}
	if got, err := Addr([]byte{0x88, 1}); err != nil || !bytes.Equal(got, []byte{0x88, 1}) {
		t.Fatalf("global key: %q %v", got, err)
	}
	if _, err := Addr(RangeLeaseKey(1)); err == nil {
		t.Fatal("range-ID-local key has an address")
	}
	if _, err := Addr([]byte{1, 'k', 'x'}); err == nil {
		t.Fatal("truncated record key has an address")
	}
}

func TestMetaLayout(t *testing.T) {
	// Every meta record sorts inside [MetaPrefix, MetaMax), after the
	// generator, and in the order of the end keys.
	a, b := MetaKey([]byte{0x88, 1}), MetaKey(MaxKey)
	if !(bytes.Compare(RangeIDGeneratorKey(), MetaKey(MinSplitKey)) < 0 && bytes.Compare(a, b) < 0 &&
		bytes.Compare(MetaPrefix, a) < 0 && bytes.Compare(b, MetaMax) < 0) {
		t.Fatal("meta keys out of order")
	}
	sp := TxnRecordSpan([]byte("b"), []byte("d"))
	if k := TransactionKey([]byte("c"), uuid.New()); bytes.Compare(sp.Key, k) > 0 || bytes.Compare(k, sp.EndKey) >= 0 {
		t.Fatal("record of an anchor in the span is outside TxnRecordSpan")
	}
}
