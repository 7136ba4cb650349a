package kvpb

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Method names a request type.
type Method int8

// The methods.
const (
	Get Method = iota + 1
	Scan
	Put
	ConditionalPut
	Delete
	DeleteRange
	HeartbeatTxn
	EndTxn
	ResolveIntent
	Refresh
	GC
	PushTxn
	QueryTxn
	ClearTxnRecord

	// AdminSplit is handled by the replicated store, not by evaluation;
	// its value is apart from the evaluated methods.
	AdminSplit Method = 100
)

var methodNames = map[Method]string{
	Get: "Get", Scan: "Scan", Put: "Put", ConditionalPut: "ConditionalPut",
	Delete: "Delete", DeleteRange: "DeleteRange", HeartbeatTxn: "HeartbeatTxn",
	EndTxn: "EndTxn", ResolveIntent: "ResolveIntent", Refresh: "Refresh", GC: "GC",
	PushTxn: "PushTxn", QueryTxn: "QueryTxn", ClearTxnRecord: "ClearTxnRecord",
	AdminSplit: "AdminSplit",
}

func (m Method) String() string {
	if s, ok := methodNames[m]; ok {
		return s
	}
	return fmt.Sprintf("Method(%d)", int8(m))
}

// Request is one operation of a batch.
type Request interface {
	Method() Method
	// Span is the keys the request touches, for latching and routing.
	Keys() Span
}

// GetRequest reads one key.
type GetRequest struct{ Key Key }

// ScanRequest reads [Key, EndKey), forward or in reverse, returning at most
// MaxKeys rows (0 = no limit) and a ResumeSpan when it stopped early.
type ScanRequest struct {
	Span    Span
	Reverse bool
	MaxKeys int64
}

// PutRequest writes Value at Key.
type PutRequest struct {
	Key   Key
	Value []byte
}

// ConditionalPutRequest writes Value at Key if the newest value equals
// ExpValue; ExpValue nil means the key must be absent. Otherwise it fails
// with ConditionFailedError carrying the actual value.
type ConditionalPutRequest struct {
	Key      Key
	Value    []byte
	ExpValue []byte
}

// DeleteRequest writes a tombstone at Key.
type DeleteRequest struct{ Key Key }

// DeleteRangeRequest deletes every live key in [Key, EndKey).
type DeleteRangeRequest struct {
	Span       Span
	ReturnKeys bool
}

// HeartbeatTxnRequest creates the transaction record if missing (sent with
// the first write) and refreshes its heartbeat.
type HeartbeatTxnRequest struct {
	Now hlc.Timestamp
	// Create allows creating a missing record; only the batch carrying the
	// transaction's first write sets it, so that a record aborted and
	// cleaned up is never resurrected by a late heartbeat.
	Create bool
}

// EndTxnRequest commits or aborts the header's transaction and resolves its
// intents in LockSpans that lie on the record's range. Intents elsewhere
// stay; the record is then kept, finalized, naming them (see
// EndTxnResponse.UnresolvedSpans).
type EndTxnRequest struct {
	Commit    bool
	LockSpans []Span
}

// ResolveIntentRequest resolves the intents of Txn in Span to Status
// (COMMITTED moves them to Txn.WriteTimestamp, ABORTED removes them).
type ResolveIntentRequest struct {
	Span   Span
	Txn    TxnMeta
	Status TxnStatus
}

// RefreshRequest checks that nothing was written in Span in (RefreshFrom,
// header txn WriteTimestamp], so reads done at RefreshFrom remain valid at
// the new timestamp.
type RefreshRequest struct {
	Span        Span
	RefreshFrom hlc.Timestamp
}

// GCRequest removes versions in Span shadowed at or below Threshold, and
// raises the range's GC threshold.
type GCRequest struct {
	Span      Span
	Threshold hlc.Timestamp
}

func (*GetRequest) Method() Method            { return Get }
func (*ScanRequest) Method() Method           { return Scan }
func (*PutRequest) Method() Method            { return Put }
func (*ConditionalPutRequest) Method() Method { return ConditionalPut }
func (*DeleteRequest) Method() Method         { return Delete }
func (*DeleteRangeRequest) Method() Method    { return DeleteRange }
func (*HeartbeatTxnRequest) Method() Method   { return HeartbeatTxn }
func (*EndTxnRequest) Method() Method         { return EndTxn }
func (*ResolveIntentRequest) Method() Method  { return ResolveIntent }
func (*RefreshRequest) Method() Method        { return Refresh }
func (*GCRequest) Method() Method             { return GC }

func (r *GetRequest) Keys() Span            { return Span{Key: r.Key} }
func (r *ScanRequest) Keys() Span           { return r.Span }
func (r *PutRequest) Keys() Span            { return Span{Key: r.Key} }
func (r *ConditionalPutRequest) Keys() Span { return Span{Key: r.Key} }
func (r *DeleteRequest) Keys() Span         { return Span{Key: r.Key} }
func (r *DeleteRangeRequest) Keys() Span    { return r.Span }
func (r *HeartbeatTxnRequest) Keys() Span   { return Span{} }
func (r *EndTxnRequest) Keys() Span         { return Span{} }
func (r *ResolveIntentRequest) Keys() Span  { return r.Span }
func (r *RefreshRequest) Keys() Span        { return r.Span }
func (r *GCRequest) Keys() Span             { return r.Span }

// IsWrite reports whether the method writes user data as intents.
func (m Method) IsWrite() bool {
	switch m {
	case Put, ConditionalPut, Delete, DeleteRange:
		return true
	}
	return false
}

// IsRead reports whether the method reads user data at the batch timestamp
// (and so must be recorded in the timestamp cache).
func (m Method) IsRead() bool {
	switch m {
	case Get, Scan, DeleteRange, Refresh:
		return true
	}
	return false
}

// ReadConsistency selects how reads treat intents.
type ReadConsistency int8

const (
	// Consistent reads wait for conflicting intents to resolve.
	Consistent ReadConsistency = iota
	// Inconsistent reads skip intents (debugging, GC).
	Inconsistent
)

// Header is common to all requests of a batch.
type Header struct {
	// Timestamp is the read/write timestamp of a non-transactional batch.
	// Zero means "now at the server". Ignored when Txn is set.
	Timestamp hlc.Timestamp
	// Txn is the transaction the batch belongs to, or nil.
	Txn             *Transaction
	ReadConsistency ReadConsistency
	// WaitPolicy Error makes a request that meets a pending intent fail with
	// a WriteIntentError instead of waiting (NOWAIT).
	WaitPolicyError bool
	// LockTimeout, if positive, bounds how long the batch waits for other
	// transactions' intents in total; past it the batch fails with a
	// *LockTimeoutError (SQL's lock_timeout).
	LockTimeout time.Duration
	// FollowerRead marks a read-only batch at a fixed timestamp that any
	// replica may serve once that timestamp is closed on it (a follower
	// read); replicas that cannot refuse it with a NotLeaseHolderError
	// and the router falls back to the leaseholder.
	FollowerRead bool
	// FollowerReadWait, if positive, lets a replica without the lease
	// that has not yet closed (or applied up to) the batch's timestamp
	// wait up to this long for it before refusing: read-your-writes
	// reads, whose timestamp is a fresh commit timestamp, are then served
	// locally instead of paying a round trip to the leaseholder. The
	// router sets it only on the attempt at its own node's replica.
	FollowerReadWait time.Duration
}

// BatchRequest is the unit that crosses the kv seam.
type BatchRequest struct {
	Header
	Requests []Request
}

// Add appends requests.
func (ba *BatchRequest) Add(reqs ...Request) { ba.Requests = append(ba.Requests, reqs...) }

// IsReadOnly reports a batch with no writes.
func (ba *BatchRequest) IsReadOnly() bool {
	for _, r := range ba.Requests {
		if m := r.Method(); m != Get && m != Scan && m != Refresh && m != QueryTxn {
			return false
		}
	}
	return true
}

// ErrMalformedBatch is wrapped by every validation failure.
var ErrMalformedBatch = errors.New("kvpb: malformed batch")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedBatch, fmt.Sprintf(format, args...))
}

// LocalPrefixByte starts keys that only the kv layer may address
// (transaction records, range-local metadata). kv/keys re-exports it.
const LocalPrefixByte = 0x01

func checkUserKey(k Key, what string) error {
	if len(k) == 0 {
		return malformed("%s: empty key", what)
	}
	if k[0] <= LocalPrefixByte {
		return malformed("%s: key %s is in the reserved local keyspace", what, k)
	}
	return nil
}

func checkUserSpan(s Span, what string) error {
	if err := checkUserKey(s.Key, what); err != nil {
		return err
	}
	if s.EndKey == nil {
		return malformed("%s: span needs an end key", what)
	}
	if bytes.Compare(s.Key, s.EndKey) >= 0 {
		return malformed("%s: span end %s is not after start %s", what, s.EndKey, s.Key)
	}
	return nil
}

// Validate checks a batch for structural errors.
func (ba *BatchRequest) Validate() error {
	if ba == nil {
		return malformed("nil batch")
	}
	if len(ba.Requests) == 0 {
		return malformed("empty batch")
	}
	txn := ba.Txn
	if txn != nil {
		if txn.ID == (TxnID{}) {
			return malformed("transaction without an ID")
		}
		if txn.WriteTimestamp.Less(txn.ReadTimestamp) {
			return malformed("transaction write timestamp %s below read timestamp %s", txn.WriteTimestamp, txn.ReadTimestamp)
		}
		if txn.ReadTimestamp.IsEmpty() {
			return malformed("transaction without a read timestamp")
		}
		if txn.Status != PENDING {
			return malformed("transaction is %s", txn.Status)
		}
		// Negative timestamps would be written into keys and records that
		// no longer decode.
		for _, ts := range []hlc.Timestamp{txn.ReadTimestamp, txn.WriteTimestamp, txn.MinTimestamp,
			txn.GlobalUncertaintyLimit, txn.LastHeartbeat} {
			if isNegative(ts) {
				return malformed("transaction with a negative timestamp %s", ts)
			}
		}
		for _, o := range txn.ObservedTimestamps {
			if isNegative(o.Timestamp) {
				return malformed("transaction with a negative observed timestamp %s", o.Timestamp)
			}
		}
	}
	if isNegative(ba.Timestamp) {
		return malformed("negative timestamp")
	}
	for i, r := range ba.Requests {
		if isNilRequest(r) {
			return malformed("request %d is nil", i)
		}
		if err := validateRequest(r, txn, i == len(ba.Requests)-1, len(ba.Requests) == 1); err != nil {
			return err
		}
	}
	return nil
}

func isNegative(ts hlc.Timestamp) bool { return ts.WallTime < 0 || ts.Logical < 0 }

// isNilRequest reports a nil Request, including a typed nil pointer such as
// (*GetRequest)(nil), which would otherwise panic on its first field access.
func isNilRequest(r Request) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

func validateRequest(r Request, txn *Transaction, last, alone bool) error {
	name := r.Method().String()
	switch t := r.(type) {
	case *GetRequest:
		return checkUserKey(t.Key, name)
	case *ScanRequest:
		if t.MaxKeys < 0 {
			return malformed("%s: negative MaxKeys", name)
		}
		return checkUserSpan(t.Span, name)
	case *PutRequest:
		return checkUserKey(t.Key, name)
	case *ConditionalPutRequest:
		return checkUserKey(t.Key, name)
	case *DeleteRequest:
		return checkUserKey(t.Key, name)
	case *DeleteRangeRequest:
		return checkUserSpan(t.Span, name)
	case *HeartbeatTxnRequest, *EndTxnRequest:
		if txn == nil {
			return malformed("%s outside a transaction", name)
		}
		if len(txn.Key) == 0 {
			return malformed("%s: transaction has no anchor key", name)
		}
		if e, ok := t.(*EndTxnRequest); ok {
			if !last {
				return malformed("EndTxn must be the last request of its batch")
			}
			for _, s := range e.LockSpans {
				if err := checkLockSpan(s); err != nil {
					return err
				}
			}
		}
		return nil
	case *ResolveIntentRequest:
		if t.Status != COMMITTED && t.Status != ABORTED {
			return malformed("%s: cannot resolve to %s", name, t.Status)
		}
		if t.Txn.ID == (TxnID{}) {
			return malformed("%s: intent transaction without an ID", name)
		}
		return checkLockSpan(t.Span)
	case *RefreshRequest:
		if txn == nil {
			return malformed("%s outside a transaction", name)
		}
		if t.Span.EndKey == nil {
			return checkUserKey(t.Span.Key, name)
		}
		return checkUserSpan(t.Span, name)
	case *GCRequest:
		if txn != nil {
			return malformed("%s inside a transaction", name)
		}
		return checkUserSpan(t.Span, name)
	case *PushTxnRequest, *QueryTxnRequest, *ClearTxnRecordRequest:
		return validateRecordRequest(r, txn, alone)
	case *AdminSplitRequest:
		if txn != nil {
			return malformed("%s inside a transaction", name)
		}
		return checkUserKey(t.SplitKey, name)
	default:
		return malformed("unknown request type %T", r)
	}
}

func checkLockSpan(s Span) error {
	if s.EndKey == nil {
		return checkUserKey(s.Key, "lock span")
	}
	return checkUserSpan(s, "lock span")
}

// Response is one result of a batch, in request order.
type Response interface{ isResponse() }

// GetResponse carries the value, or Value nil when the key is absent.
type GetResponse struct {
	Value     []byte
	Timestamp hlc.Timestamp
}

// ScanResponse carries rows in scan order and, if the scan stopped at
// MaxKeys, the span still to read.
type ScanResponse struct {
	Rows       []KeyValue
	ResumeSpan *Span
}

// PutResponse is empty; ConditionalPutResponse, DeleteResponse likewise.
type PutResponse struct{}

// ConditionalPutResponse is empty.
type ConditionalPutResponse struct{}

// DeleteResponse reports whether a live value was deleted.
type DeleteResponse struct{ Found bool }

// DeleteRangeResponse lists the deleted keys when asked.
type DeleteRangeResponse struct {
	Keys  []Key
	Count int64
}

// HeartbeatTxnResponse is empty.
type HeartbeatTxnResponse struct{}

// EndTxnResponse lists the lock spans (or parts of them) outside the
// record's range: their intents are not resolved yet, and the finalized
// record stays until they are (the coordinator resolves them and then
// clears the record; see ClearTxnRecordRequest).
type EndTxnResponse struct {
	UnresolvedSpans []Span
}

// ResolveIntentResponse counts resolved intents.
type ResolveIntentResponse struct{ Resolved int }

// RefreshResponse is empty.
type RefreshResponse struct{}

// GCResponse counts removed versions.
type GCResponse struct{ Removed int }

func (*GetResponse) isResponse()            {}
func (*ScanResponse) isResponse()           {}
func (*PutResponse) isResponse()            {}
func (*ConditionalPutResponse) isResponse() {}
func (*DeleteResponse) isResponse()         {}
func (*DeleteRangeResponse) isResponse()    {}
func (*HeartbeatTxnResponse) isResponse()   {}
func (*EndTxnResponse) isResponse()         {}
func (*ResolveIntentResponse) isResponse()  {}
func (*RefreshResponse) isResponse()        {}
func (*GCResponse) isResponse()             {}

// BatchResponse answers a BatchRequest.
type BatchResponse struct {
	// Txn is the transaction as updated by evaluation (a pushed
	// WriteTimestamp, a new observed timestamp). Nil for non-transactional
	// batches.
	Txn *Transaction
	// Timestamp is the timestamp a non-transactional batch ran at.
	Timestamp hlc.Timestamp
	// FollowerServed: a replica that does not hold the lease served the
	// batch from its closed timestamp (a follower read); FollowerType is
	// that replica's type.
	FollowerServed bool
	FollowerType   ReplicaType
	Responses      []Response
}
