package kvpb

import (
	"strings"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

func TestRecordRequests(t *testing.T) {
	ts := hlc.Timestamp{WallTime: 10}
	pushee := TxnMeta{ID: TxnID{2}, Key: Key("q")}
	pusher := TxnMeta{ID: TxnID{1}, Key: Key("a")}
	plain := func(reqs ...Request) *BatchRequest {
		return &BatchRequest{Header: Header{Timestamp: ts}, Requests: reqs}
	}
	// Routed by the anchor of the transaction they name.
	for _, r := range []Request{
		&PushTxnRequest{Pusher: pusher, Pushee: pushee},
		&QueryTxnRequest{Txn: pushee},
		&ClearTxnRecordRequest{Txn: pushee},
	} {
		ba := plain(r)
		if err := ba.Validate(); err != nil {
			t.Fatalf("%s: %v", r.Method(), err)
		}
		if a := ba.AddressOf(r); string(a.Key) != "q" || a.EndKey != nil {
			t.Errorf("%s routed by %s", r.Method(), a)
		}
	}
	if !plain(&QueryTxnRequest{Txn: pushee}).IsReadOnly() || plain(&PushTxnRequest{Pushee: pushee}).IsReadOnly() {
		t.Error("QueryTxn reads, PushTxn may write")
	}
	for _, tc := range []struct {
		name string
		ba   *BatchRequest
		want string
	}{
		{"in a txn", &BatchRequest{Header: Header{Txn: testTxn()}, Requests: []Request{&QueryTxnRequest{Txn: pushee}}}, "inside a transaction"},
		{"not alone", plain(&PushTxnRequest{Pushee: pushee}, &GetRequest{Key: Key("a")}), "alone"},
		{"no id", plain(&PushTxnRequest{Pushee: TxnMeta{Key: Key("a")}}), "without an ID"},
		{"no anchor", plain(&ClearTxnRecordRequest{Txn: TxnMeta{ID: TxnID{1}}}), "empty key"},
		{"local anchor", plain(&QueryTxnRequest{Txn: TxnMeta{ID: TxnID{1}, Key: Key{0x01}}}), "reserved local"},
		{"self push", plain(&PushTxnRequest{Pusher: pushee, Pushee: pushee}), "push itself"},
		{"force and nowait", plain(&PushTxnRequest{Pushee: pushee, Force: true, NoWait: true}), "together"},
	} {
		err := tc.ba.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}
