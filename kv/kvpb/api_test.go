package kvpb

import (
	"errors"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

// bogusRequest is a Request type Validate does not know.
type bogusRequest struct{}

func (bogusRequest) Method() Method { return Method(99) }
func (bogusRequest) Keys() Span     { return Span{} }

func testTxn() *Transaction {
	ts := hlc.Timestamp{WallTime: 10}
	return &Transaction{
		TxnMeta:       TxnMeta{ID: TxnID{1}, Key: Key("a"), WriteTimestamp: ts, MinTimestamp: ts},
		ReadTimestamp: ts,
	}
}

func TestValidateMalformed(t *testing.T) {
	ts := hlc.Timestamp{WallTime: 10}
	withTxn := func(mut func(*Transaction), reqs ...Request) *BatchRequest {
		txn := testTxn()
		if mut != nil {
			mut(txn)
		}
		return &BatchRequest{Header: Header{Txn: txn}, Requests: reqs}
	}
	plain := func(reqs ...Request) *BatchRequest {
		return &BatchRequest{Header: Header{Timestamp: ts}, Requests: reqs}
	}
	get := &GetRequest{Key: Key("a")}
	for _, tc := range []struct {
		name string
		ba   *BatchRequest
		want string // a substring of the error
	}{
		{"nil batch", nil, "nil batch"},
		{"empty batch", plain(), "empty batch"},
		{"nil request", plain(get, nil), "request 1 is nil"},
		{"typed nil request", plain((*GetRequest)(nil)), "request 0 is nil"},
		{"typed nil scan", plain(get, (*ScanRequest)(nil)), "request 1 is nil"},
		{"typed nil end txn", withTxn(nil, (*EndTxnRequest)(nil)), "request 0 is nil"},
		{"empty key", plain(&GetRequest{}), "empty key"},
		{"empty put key", plain(&PutRequest{Key: Key{}, Value: []byte("v")}), "empty key"},
		{"local key", plain(&GetRequest{Key: Key("\x01kfoo")}), "reserved local keyspace"},
		{"key 0x00", plain(&DeleteRequest{Key: Key("\x00")}), "reserved local keyspace"},
		{"local cput", plain(&ConditionalPutRequest{Key: Key{0x01}}), "reserved local keyspace"},
		{"scan without end", plain(&ScanRequest{Span: Span{Key: Key("a")}}), "needs an end key"},
		{"scan end == start", plain(&ScanRequest{Span: Span{Key: Key("a"), EndKey: Key("a")}}), "not after start"},
		{"scan end < start", plain(&ScanRequest{Span: Span{Key: Key("b"), EndKey: Key("a")}}), "not after start"},
		{"delete range end < start", plain(&DeleteRangeRequest{Span: Span{Key: Key("b"), EndKey: Key("a")}}), "not after start"},
		{"scan from local key", plain(&ScanRequest{Span: Span{Key: Key("\x01"), EndKey: Key("b")}}), "reserved local keyspace"},
		{"negative max keys", plain(&ScanRequest{Span: Span{Key: Key("a"), EndKey: Key("b")}, MaxKeys: -1}), "negative MaxKeys"},
		{"end txn not last", withTxn(nil, &EndTxnRequest{Commit: true}, get), "must be the last"},
		{"end txn without txn", plain(&EndTxnRequest{Commit: true}), "outside a transaction"},
		{"heartbeat without txn", plain(&HeartbeatTxnRequest{}), "outside a transaction"},
		{"end txn without anchor", withTxn(func(t *Transaction) { t.Key = nil }, &EndTxnRequest{}), "no anchor key"},
		{"end txn with bad lock span", withTxn(nil, &EndTxnRequest{LockSpans: []Span{{Key: Key("b"), EndKey: Key("a")}}}), "not after start"},
		{"end txn with local lock span", withTxn(nil, &EndTxnRequest{LockSpans: []Span{{Key: Key("\x01x")}}}), "reserved local keyspace"},
		{"refresh without txn", plain(&RefreshRequest{Span: Span{Key: Key("a")}}), "outside a transaction"},
		{"refresh of empty key", withTxn(nil, &RefreshRequest{}), "empty key"},
		{"txn with zero ID", withTxn(func(t *Transaction) { t.ID = TxnID{} }, get), "without an ID"},
		{"write ts below read ts", withTxn(func(t *Transaction) { t.WriteTimestamp = hlc.Timestamp{WallTime: 9} }, get), "below read timestamp"},
		{"txn without read ts", withTxn(func(t *Transaction) { t.ReadTimestamp = hlc.Timestamp{} }, get), "without a read timestamp"},
		{"txn not pending", withTxn(func(t *Transaction) { t.Status = COMMITTED }, get), "is COMMITTED"},
		{"txn negative read ts", withTxn(func(t *Transaction) { t.ReadTimestamp.WallTime = -5 }, get), "negative"},
		{"txn negative logical", withTxn(func(t *Transaction) {
			t.ReadTimestamp.Logical, t.WriteTimestamp.Logical = -1, -1
			t.ReadTimestamp.WallTime, t.WriteTimestamp.WallTime = 5, 5
		}, get), "negative"},
		{"negative batch timestamp", &BatchRequest{Header: Header{Timestamp: hlc.Timestamp{WallTime: -1}}, Requests: []Request{get}}, "negative timestamp"},
		{"gc in txn", withTxn(nil, &GCRequest{Span: Span{Key: Key("a"), EndKey: Key("b")}}), "inside a transaction"},
		{"gc point span", plain(&GCRequest{Span: Span{Key: Key("a")}}), "needs an end key"},
		{"resolve to pending", plain(&ResolveIntentRequest{Span: Span{Key: Key("a")}, Txn: TxnMeta{ID: TxnID{1}}}), "cannot resolve to PENDING"},
		{"resolve without txn id", plain(&ResolveIntentRequest{Span: Span{Key: Key("a")}, Status: ABORTED}), "without an ID"},
		{"resolve local span", plain(&ResolveIntentRequest{Span: Span{Key: Key("\x01"), EndKey: Key("b")}, Txn: TxnMeta{ID: TxnID{1}}, Status: ABORTED}), "reserved local keyspace"},
		{"unknown request type", plain(bogusRequest{}), "unknown request type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ba.Validate()
			if err == nil {
				t.Fatal("Validate accepted a malformed batch")
			}
			if !errors.Is(err, ErrMalformedBatch) {
				t.Fatalf("%v does not wrap ErrMalformedBatch", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestValidateWellFormed(t *testing.T) {
	ts := hlc.Timestamp{WallTime: 10}
	span := Span{Key: Key("a"), EndKey: Key("b")}
	for _, tc := range []struct {
		name string
		ba   BatchRequest
	}{
		{"non-transactional reads and writes", BatchRequest{Header: Header{Timestamp: ts}, Requests: []Request{
			&GetRequest{Key: Key("a")}, &ScanRequest{Span: span, MaxKeys: 3, Reverse: true},
			&PutRequest{Key: Key("a"), Value: []byte("v")}, &ConditionalPutRequest{Key: Key("a")},
			&DeleteRequest{Key: Key("\x02")}, &DeleteRangeRequest{Span: span},
			&ResolveIntentRequest{Span: span, Txn: TxnMeta{ID: TxnID{2}}, Status: COMMITTED},
			&GCRequest{Span: span, Threshold: ts},
		}}},
		{"zero timestamp means now", BatchRequest{Requests: []Request{&GetRequest{Key: Key("a")}}}},
		{"transaction", BatchRequest{Header: Header{Txn: testTxn()}, Requests: []Request{
			&HeartbeatTxnRequest{Create: true}, &PutRequest{Key: Key("a")},
			&RefreshRequest{Span: Span{Key: Key("a")}}, &RefreshRequest{Span: span},
			&EndTxnRequest{Commit: true, LockSpans: []Span{{Key: Key("a")}, span}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.ba.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	for m := Get; m <= ClearTxnRecord; m++ {
		if strings.HasPrefix(m.String(), "Method(") {
			t.Errorf("method %d has no name", m)
		}
	}
	if s := Method(99).String(); s != "Method(99)" {
		t.Errorf("unknown method renders as %q", s)
	}
	ro := BatchRequest{Requests: []Request{&GetRequest{}, &ScanRequest{}, &RefreshRequest{}}}
	if !ro.IsReadOnly() {
		t.Error("reads reported as writing")
	}
	ro.Add(&PutRequest{})
	if ro.IsReadOnly() {
		t.Error("a put reported as read-only")
	}
}

func TestErrorStrings(t *testing.T) {
	// Errors cross nodes; a decoded one may carry no intents and must still
	// render without panicking.
	for _, err := range []error{
		&WriteIntentError{},
		&WriteIntentError{Intents: []Intent{{Key: Key("a")}}},
		&WriteIntentError{Intents: []Intent{{Key: Key("a")}, {Key: Key("b")}}},
		&TransactionRetryError{}, &TransactionAbortedError{}, &ReadWithinUncertaintyIntervalError{},
		&RefreshFailedError{Intent: true}, &ConditionFailedError{}, &ConditionFailedError{ActualValue: []byte{}},
		&TransactionStatusError{}, &BatchTimestampBeforeGCError{},
	} {
		if err.Error() == "" {
			t.Errorf("%T renders empty", err)
		}
	}
	if !IsRetryable(&TransactionRetryError{}) || IsRetryable(&WriteIntentError{}) {
		t.Error("IsRetryable misclassifies")
	}
}
