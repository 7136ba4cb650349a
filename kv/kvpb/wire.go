package kvpb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

// The wire codec: how BatchRequest, BatchResponse and the errors a
// kvrpc.Handler returns cross a network.
//
// Properties the codec keeps (and wire_test.go checks):
//   - Fidelity: decode(encode(x)) is reflect.DeepEqual to x for every field
//     of every registered type, including nil versus empty byte slices and
//     slices (ConditionalPut's ExpValue nil means "absent", an empty one
//     means "empty value"; a Span with EndKey nil is a point, with an empty
//     EndKey it is not) and negative numbers. The wire carries what the
//     sender had; validation (BatchRequest.Validate) is the receiver's job.
//   - Canonical: decoding is 1:1; an input decodes only if it is exactly
//     what encoding its result gives (no padded varints, no bool other than
//     0/1, no trailing bytes), so a fuzzer can check decode∘encode.
//   - Bounded: a length or count is trusted only up to the number of input
//     bytes left, so a hostile input cannot drive an allocation much larger
//     than itself. Byte slices are copied out of the input: the decoded value
//     does not alias the caller's buffer.
//   - Table-driven: one methodCodecs entry per Method (request and response
//     together) and one errorCodecs entry per error type. A test fails when
//     a Method, a Response type or an error type of this package has no
//     entry.
//
// Layout (all integers varints, see encoder):
//
//	batch request  = version header count(requests) {method request}
//	batch response = version ptr(txn) ts bool(followerServed) followerType count(responses) {method response}
//	error          = version tag msg bytes(body)
//
// A slice or byte slice is written as uvarint(len+1), 0 meaning nil. An
// error's body is length-prefixed so that a receiver that does not know the
// tag (an older node) still decodes the message, as a *RemoteError.

// wireVersion prefixes every wire message. Version 2 added
// Header.FollowerReadWait and BatchResponse.FollowerServed: a node of
// version 1 refuses version 2 messages clearly instead of misreading them.
const wireVersion = 2

// ErrUnknownRequest is returned when encoding a request or response type
// that has no wire codec entry (or a nil one).
var ErrUnknownRequest = errors.New("kvpb: request or response type not registered in the wire codec")

// RemoteError is an error received from another node whose type the wire
// codec does not carry: only its message crosses the wire.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// remoteWrapped is a decoded error whose outer message differs from the
// structured error (or sentinel) it wraps, e.g. fmt.Errorf("eval: %w",
// &WriteIntentError{...}). Error() is the sender's full message; Unwrap
// gives the structured cause, so errors.As and errors.Is work as on the
// sender.
type remoteWrapped struct {
	msg   string
	cause error
}

func (e *remoteWrapped) Error() string { return e.msg }
func (e *remoteWrapped) Unwrap() error { return e.cause }

// ---- primitives (nil-preserving, negative-preserving) ----

func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// nlen writes the length of a slice that may be nil.
func (e *encoder) nlen(n int, isNil bool) {
	if isNil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(n) + 1)
}

func (e *encoder) nbytes(v []byte) {
	e.nlen(len(v), v == nil)
	e.b = append(e.b, v...)
}

func (e *encoder) str(s string) { e.bytes([]byte(s)) }

func (e *encoder) wts(t hlc.Timestamp) { e.varint(t.WallTime); e.varint(int64(t.Logical)) }

func (d *decoder) boolean() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad bool")
	return false
}

func (d *decoder) int8() int8 {
	v := d.varint()
	if v != int64(int8(v)) {
		d.fail("int8 out of range")
		return 0
	}
	return int8(v)
}

// nlen reads what encoder.nlen wrote. The length is bounded by the bytes
// left divided by minElemBytes, the least number of bytes one element
// takes on the wire (at least 1 for every slice this codec writes).
func (d *decoder) nlen(minElemBytes int) (n int, isNil bool) {
	v := d.uvarint()
	if d.err != nil {
		return 0, true
	}
	if v == 0 {
		return 0, true
	}
	v--
	if minElemBytes > 0 && v > uint64(len(d.b)/minElemBytes) {
		d.fail("length past end")
		return 0, true
	}
	return int(v), false
}

func (d *decoder) nbytes() []byte {
	n, isNil := d.nlen(1)
	if isNil {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b)
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("length past end")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) wts() hlc.Timestamp {
	w := d.varint()
	return hlc.Timestamp{WallTime: w, Logical: d.int32()}
}

func (d *decoder) uuid(id *TxnID) {
	if d.err == nil && len(d.b) < len(id) {
		d.fail("truncated txn id")
	}
	if d.err != nil {
		return
	}
	copy(id[:], d.b)
	d.b = d.b[len(id):]
}

// nslice writes a nil-preserving slice.
func nslice[T any](e *encoder, s []T, enc func(*encoder, *T)) {
	e.nlen(len(s), s == nil)
	for i := range s {
		enc(e, &s[i])
	}
}

// dslice reads what nslice wrote. Every element takes at least one byte.
func dslice[T any](d *decoder, dec func(*decoder, *T)) []T {
	n, isNil := d.nlen(1)
	if isNil {
		return nil
	}
	s := make([]T, n)
	for i := 0; i < n && d.err == nil; i++ {
		dec(d, &s[i])
	}
	return s
}

// ---- shared structures ----

func (e *encoder) span(s *Span) { e.nbytes(s.Key); e.nbytes(s.EndKey) }

func (d *decoder) span(s *Span) { s.Key = d.nbytes(); s.EndKey = d.nbytes() }

func (e *encoder) wTxnMeta(m *TxnMeta) {
	e.b = append(e.b, m.ID[:]...)
	e.nbytes(m.Key)
	e.wts(m.WriteTimestamp)
	e.wts(m.MinTimestamp)
	e.varint(int64(m.Priority))
}

func (d *decoder) wTxnMeta(m *TxnMeta) {
	d.uuid(&m.ID)
	m.Key = d.nbytes()
	m.WriteTimestamp = d.wts()
	m.MinTimestamp = d.wts()
	m.Priority = d.int32()
}

func (e *encoder) wTxn(t *Transaction) {
	e.wTxnMeta(&t.TxnMeta)
	e.str(t.Name)
	e.varint(int64(t.Status))
	e.wts(t.ReadTimestamp)
	e.wts(t.GlobalUncertaintyLimit)
	nslice(e, t.ObservedTimestamps, func(e *encoder, o *ObservedTimestamp) {
		e.varint(int64(o.NodeID))
		e.wts(o.Timestamp)
	})
	e.wts(t.LastHeartbeat)
	e.varint(int64(t.Coordinator.NodeID))
	e.uvarint(t.Coordinator.BootID)
	nslice(e, t.LockSpans, (*encoder).span)
}

func (d *decoder) wTxn(t *Transaction) {
	d.wTxnMeta(&t.TxnMeta)
	t.Name = d.str()
	t.Status = TxnStatus(d.int8())
	t.ReadTimestamp = d.wts()
	t.GlobalUncertaintyLimit = d.wts()
	t.ObservedTimestamps = dslice(d, func(d *decoder, o *ObservedTimestamp) {
		o.NodeID = d.int32()
		o.Timestamp = d.wts()
	})
	t.LastHeartbeat = d.wts()
	t.Coordinator.NodeID = d.int32()
	t.Coordinator.BootID = d.uvarint()
	t.LockSpans = dslice(d, (*decoder).span)
}

func (e *encoder) txnPtr(t *Transaction) {
	if t == nil {
		e.u8(0)
		return
	}
	e.u8(1)
	e.wTxn(t)
}

func (d *decoder) txnPtr() *Transaction {
	if !d.boolean() || d.err != nil {
		return nil
	}
	t := &Transaction{}
	d.wTxn(t)
	return t
}

func (e *encoder) intent(in *Intent) { e.nbytes(in.Key); e.wTxnMeta(&in.Txn) }

func (d *decoder) intent(in *Intent) { in.Key = d.nbytes(); d.wTxnMeta(&in.Txn) }

func (e *encoder) keyValue(kv *KeyValue) { e.nbytes(kv.Key); e.nbytes(kv.Value); e.wts(kv.Timestamp) }

func (d *decoder) keyValue(kv *KeyValue) {
	kv.Key = d.nbytes()
	kv.Value = d.nbytes()
	kv.Timestamp = d.wts()
}

func (e *encoder) key(k *Key) { e.nbytes(*k) }

func (d *decoder) key(k *Key) { *k = d.nbytes() }

// ---- the request/response table ----

// methodCodec encodes the request and the response of one Method.
type methodCodec struct {
	method   Method
	reqType  reflect.Type // the pointer type, e.g. *GetRequest
	respType reflect.Type
	encReq   func(*encoder, Request)
	decReq   func(*decoder) Request
	encResp  func(*encoder, Response)
	decResp  func(*decoder) Response
}

// codecFor builds a methodCodec from typed field encoders; Q and P are the
// struct types (GetRequest, GetResponse).
func codecFor[Q, P any, PQ interface {
	*Q
	Request
}, PP interface {
	*P
	Response
}](
	m Method,
	encQ func(*encoder, PQ), decQ func(*decoder, PQ),
	encP func(*encoder, PP), decP func(*decoder, PP),
) methodCodec {
	return methodCodec{
		method:   m,
		reqType:  reflect.TypeFor[PQ](),
		respType: reflect.TypeFor[PP](),
		encReq:   func(e *encoder, r Request) { encQ(e, r.(PQ)) },
		decReq: func(d *decoder) Request {
			r := PQ(new(Q))
			decQ(d, r)
			return r
		},
		encResp: func(e *encoder, r Response) { encP(e, r.(PP)) },
		decResp: func(d *decoder) Response {
			r := PP(new(P))
			decP(d, r)
			return r
		},
	}
}

// emptyEnc and emptyDec serve the requests and responses without fields.
func emptyEnc[T any](*encoder, T) {}
func emptyDec[T any](*decoder, T) {}

// methodCodecs has one entry per Method. Adding a request type means adding
// its entry here; TestWireEveryMethodRegistered fails until then.
var methodCodecs = []methodCodec{
	codecFor(Get,
		func(e *encoder, r *GetRequest) { e.nbytes(r.Key) },
		func(d *decoder, r *GetRequest) { r.Key = d.nbytes() },
		func(e *encoder, r *GetResponse) { e.nbytes(r.Value); e.wts(r.Timestamp) },
		func(d *decoder, r *GetResponse) { r.Value = d.nbytes(); r.Timestamp = d.wts() }),
	codecFor(Scan,
		func(e *encoder, r *ScanRequest) { e.span(&r.Span); e.boolean(r.Reverse); e.varint(r.MaxKeys) },
		func(d *decoder, r *ScanRequest) { d.span(&r.Span); r.Reverse = d.boolean(); r.MaxKeys = d.varint() },
		func(e *encoder, r *ScanResponse) {
			nslice(e, r.Rows, (*encoder).keyValue)
			if r.ResumeSpan == nil {
				e.u8(0)
			} else {
				e.u8(1)
				e.span(r.ResumeSpan)
			}
		},
		func(d *decoder, r *ScanResponse) {
			r.Rows = dslice(d, (*decoder).keyValue)
			if d.boolean() && d.err == nil {
				r.ResumeSpan = &Span{}
				d.span(r.ResumeSpan)
			}
		}),
	codecFor(Put,
		func(e *encoder, r *PutRequest) { e.nbytes(r.Key); e.nbytes(r.Value) },
		func(d *decoder, r *PutRequest) { r.Key = d.nbytes(); r.Value = d.nbytes() },
		emptyEnc[*PutResponse], emptyDec[*PutResponse]),
	codecFor(ConditionalPut,
		func(e *encoder, r *ConditionalPutRequest) { e.nbytes(r.Key); e.nbytes(r.Value); e.nbytes(r.ExpValue) },
		func(d *decoder, r *ConditionalPutRequest) {
			r.Key = d.nbytes()
			r.Value = d.nbytes()
			r.ExpValue = d.nbytes()
		},
		emptyEnc[*ConditionalPutResponse], emptyDec[*ConditionalPutResponse]),
	codecFor(Delete,
		func(e *encoder, r *DeleteRequest) { e.nbytes(r.Key) },
		func(d *decoder, r *DeleteRequest) { r.Key = d.nbytes() },
		func(e *encoder, r *DeleteResponse) { e.boolean(r.Found) },
		func(d *decoder, r *DeleteResponse) { r.Found = d.boolean() }),
	codecFor(DeleteRange,
		func(e *encoder, r *DeleteRangeRequest) { e.span(&r.Span); e.boolean(r.ReturnKeys) },
		func(d *decoder, r *DeleteRangeRequest) { d.span(&r.Span); r.ReturnKeys = d.boolean() },
		func(e *encoder, r *DeleteRangeResponse) { nslice(e, r.Keys, (*encoder).key); e.varint(r.Count) },
		func(d *decoder, r *DeleteRangeResponse) { r.Keys = dslice(d, (*decoder).key); r.Count = d.varint() }),
	codecFor(HeartbeatTxn,
		func(e *encoder, r *HeartbeatTxnRequest) { e.wts(r.Now); e.boolean(r.Create) },
		func(d *decoder, r *HeartbeatTxnRequest) { r.Now = d.wts(); r.Create = d.boolean() },
		emptyEnc[*HeartbeatTxnResponse], emptyDec[*HeartbeatTxnResponse]),
	codecFor(EndTxn,
		func(e *encoder, r *EndTxnRequest) { e.boolean(r.Commit); nslice(e, r.LockSpans, (*encoder).span) },
		func(d *decoder, r *EndTxnRequest) { r.Commit = d.boolean(); r.LockSpans = dslice(d, (*decoder).span) },
		func(e *encoder, r *EndTxnResponse) { nslice(e, r.UnresolvedSpans, (*encoder).span) },
		func(d *decoder, r *EndTxnResponse) { r.UnresolvedSpans = dslice(d, (*decoder).span) }),
	codecFor(ResolveIntent,
		func(e *encoder, r *ResolveIntentRequest) {
			e.span(&r.Span)
			e.wTxnMeta(&r.Txn)
			e.varint(int64(r.Status))
		},
		func(d *decoder, r *ResolveIntentRequest) {
			d.span(&r.Span)
			d.wTxnMeta(&r.Txn)
			r.Status = TxnStatus(d.int8())
		},
		func(e *encoder, r *ResolveIntentResponse) { e.varint(int64(r.Resolved)) },
		func(d *decoder, r *ResolveIntentResponse) { r.Resolved = d.int() }),
	codecFor(Refresh,
		func(e *encoder, r *RefreshRequest) { e.span(&r.Span); e.wts(r.RefreshFrom) },
		func(d *decoder, r *RefreshRequest) { d.span(&r.Span); r.RefreshFrom = d.wts() },
		emptyEnc[*RefreshResponse], emptyDec[*RefreshResponse]),
	codecFor(GC,
		func(e *encoder, r *GCRequest) { e.span(&r.Span); e.wts(r.Threshold) },
		func(d *decoder, r *GCRequest) { d.span(&r.Span); r.Threshold = d.wts() },
		func(e *encoder, r *GCResponse) { e.varint(int64(r.Removed)) },
		func(d *decoder, r *GCResponse) { r.Removed = d.int() }),
	codecFor(PushTxn,
		func(e *encoder, r *PushTxnRequest) {
			e.wTxnMeta(&r.Pusher)
			e.wTxnMeta(&r.Pushee)
			e.boolean(r.Force)
			e.boolean(r.NoWait)
			e.varint(int64(r.From.NodeID))
			e.uvarint(r.From.BootID)
			nslice(e, r.WaitsFor, (*encoder).waitEdge)
		},
		func(d *decoder, r *PushTxnRequest) {
			d.wTxnMeta(&r.Pusher)
			d.wTxnMeta(&r.Pushee)
			r.Force = d.boolean()
			r.NoWait = d.boolean()
			r.From.NodeID = d.int32()
			r.From.BootID = d.uvarint()
			r.WaitsFor = dslice(d, (*decoder).waitEdge)
		},
		func(e *encoder, r *PushTxnResponse) { e.wTxn(&r.Pushee); e.boolean(r.Missing) },
		func(d *decoder, r *PushTxnResponse) { d.wTxn(&r.Pushee); r.Missing = d.boolean() }),
	codecFor(QueryTxn,
		func(e *encoder, r *QueryTxnRequest) { e.wTxnMeta(&r.Txn) },
		func(d *decoder, r *QueryTxnRequest) { d.wTxnMeta(&r.Txn) },
		func(e *encoder, r *QueryTxnResponse) {
			e.wTxn(&r.Txn)
			e.boolean(r.Missing)
			nslice(e, r.WaitsFor, (*encoder).waitEdge)
		},
		func(d *decoder, r *QueryTxnResponse) {
			d.wTxn(&r.Txn)
			r.Missing = d.boolean()
			r.WaitsFor = dslice(d, (*decoder).waitEdge)
		}),
	codecFor(ClearTxnRecord,
		func(e *encoder, r *ClearTxnRecordRequest) { e.wTxnMeta(&r.Txn) },
		func(d *decoder, r *ClearTxnRecordRequest) { d.wTxnMeta(&r.Txn) },
		func(e *encoder, r *ClearTxnRecordResponse) { e.boolean(r.Cleared) },
		func(d *decoder, r *ClearTxnRecordResponse) { r.Cleared = d.boolean() }),
	codecFor(AdminSplit,
		func(e *encoder, r *AdminSplitRequest) { e.nbytes(r.SplitKey) },
		func(d *decoder, r *AdminSplitRequest) { r.SplitKey = d.nbytes() },
		func(e *encoder, r *AdminSplitResponse) { e.rangeDesc(&r.Left); e.rangeDesc(&r.Right) },
		func(d *decoder, r *AdminSplitResponse) { d.rangeDesc(&r.Left); d.rangeDesc(&r.Right) }),
}

func (e *encoder) waitEdge(w *WaitEdge) { e.wTxnMeta(&w.Waiter); e.wTxnMeta(&w.Holder) }

func (d *decoder) waitEdge(w *WaitEdge) { d.wTxnMeta(&w.Waiter); d.wTxnMeta(&w.Holder) }

func (d *decoder) int() int {
	v := d.varint()
	if v != int64(int(v)) {
		d.fail("int out of range")
		return 0
	}
	return int(v)
}

var (
	codecByMethod   = map[Method]*methodCodec{}
	codecByReqType  = map[reflect.Type]*methodCodec{}
	codecByRespType = map[reflect.Type]*methodCodec{}
)

func init() {
	for i := range methodCodecs {
		c := &methodCodecs[i]
		if c.method <= 0 || codecByMethod[c.method] != nil {
			panic(fmt.Sprintf("kvpb: wire codec entry %d: bad or duplicate method %s", i, c.method))
		}
		codecByMethod[c.method] = c
		codecByReqType[c.reqType] = c
		codecByRespType[c.respType] = c
	}
}

func (e *encoder) request(r Request) error {
	if isNilRequest(r) {
		return fmt.Errorf("%w: nil request", ErrUnknownRequest)
	}
	c := codecByReqType[reflect.TypeOf(r)]
	if c == nil {
		return fmt.Errorf("%w: %T", ErrUnknownRequest, r)
	}
	e.u8(uint8(c.method))
	c.encReq(e, r)
	return nil
}

func (d *decoder) request() Request {
	m := Method(d.u8())
	if d.err != nil {
		return nil
	}
	c := codecByMethod[m]
	if c == nil {
		d.fail(fmt.Sprintf("unknown method %d", m))
		return nil
	}
	return c.decReq(d)
}

func (e *encoder) response(r Response) error {
	if v := reflect.ValueOf(r); r == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Errorf("%w: nil response", ErrUnknownRequest)
	}
	c := codecByRespType[reflect.TypeOf(r)]
	if c == nil {
		return fmt.Errorf("%w: %T", ErrUnknownRequest, r)
	}
	e.u8(uint8(c.method))
	c.encResp(e, r)
	return nil
}

func (d *decoder) response() Response {
	m := Method(d.u8())
	if d.err != nil {
		return nil
	}
	c := codecByMethod[m]
	if c == nil {
		d.fail(fmt.Sprintf("unknown response method %d", m))
		return nil
	}
	return c.decResp(d)
}

func (d *decoder) version() {
	if v := d.u8(); d.err == nil && v != wireVersion {
		d.fail(fmt.Sprintf("unknown wire version %d", v))
	}
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// AppendBatchRequest appends the wire form of ba to b. It fails only on a
// nil or unregistered request (ErrUnknownRequest); it does not validate.
func AppendBatchRequest(b []byte, ba *BatchRequest) ([]byte, error) {
	e := encoder{b: append(b, wireVersion)}
	e.wts(ba.Timestamp)
	e.txnPtr(ba.Txn)
	e.varint(int64(ba.ReadConsistency))
	e.boolean(ba.WaitPolicyError)
	e.varint(int64(ba.LockTimeout))
	e.boolean(ba.FollowerRead)
	e.varint(int64(ba.FollowerReadWait))
	e.nlen(len(ba.Requests), ba.Requests == nil)
	for _, r := range ba.Requests {
		if err := e.request(r); err != nil {
			return b, err
		}
	}
	return e.b, nil
}

// DecodeBatchRequest decodes what AppendBatchRequest wrote. Errors wrap
// ErrCorruptValue. The result does not alias b.
func DecodeBatchRequest(b []byte) (*BatchRequest, error) {
	d := decoder{b: b}
	d.version()
	ba := &BatchRequest{}
	ba.Timestamp = d.wts()
	ba.Txn = d.txnPtr()
	ba.ReadConsistency = ReadConsistency(d.int8())
	ba.WaitPolicyError = d.boolean()
	ba.LockTimeout = time.Duration(d.varint())
	ba.FollowerRead = d.boolean()
	ba.FollowerReadWait = time.Duration(d.varint())
	ba.Requests = dslice(&d, func(d *decoder, r *Request) { *r = d.request() })
	if err := d.finish(); err != nil {
		return nil, err
	}
	return ba, nil
}

// AppendBatchResponse appends the wire form of br to b. It fails only on a
// nil or unregistered response (ErrUnknownRequest).
func AppendBatchResponse(b []byte, br *BatchResponse) ([]byte, error) {
	e := encoder{b: append(b, wireVersion)}
	e.txnPtr(br.Txn)
	e.wts(br.Timestamp)
	e.boolean(br.FollowerServed)
	e.varint(int64(br.FollowerType))
	e.nlen(len(br.Responses), br.Responses == nil)
	for _, r := range br.Responses {
		if err := e.response(r); err != nil {
			return b, err
		}
	}
	return e.b, nil
}

// DecodeBatchResponse decodes what AppendBatchResponse wrote. Errors wrap
// ErrCorruptValue. The result does not alias b.
func DecodeBatchResponse(b []byte) (*BatchResponse, error) {
	d := decoder{b: b}
	d.version()
	br := &BatchResponse{}
	br.Txn = d.txnPtr()
	br.Timestamp = d.wts()
	br.FollowerServed = d.boolean()
	br.FollowerType = ReplicaType(d.int8())
	br.Responses = dslice(&d, func(d *decoder, r *Response) { *r = d.response() })
	if err := d.finish(); err != nil {
		return nil, err
	}
	return br, nil
}

// ---- errors ----

// errorCodec carries one structured error type (tag >= firstTypeTag) or one
// sentinel value (errors.Is).
type errorCodec struct {
	tag uint64
	// typ is the pointer type of a structured error, nil for a sentinel.
	typ reflect.Type
	enc func(*encoder, error)
	dec func(*decoder) error
	// sentinel is matched with errors.Is when typ is nil.
	sentinel error
}

// Error tags. Tag values are part of the wire format: never reuse one.
const (
	tagRemote = 0 // no structure: message only
)

func errorFor[E any, PE interface {
	*E
	error
}](tag uint64, enc func(*encoder, PE), dec func(*decoder, PE)) errorCodec {
	return errorCodec{
		tag: tag,
		typ: reflect.TypeFor[PE](),
		enc: func(e *encoder, err error) { enc(e, err.(PE)) },
		dec: func(d *decoder) error {
			v := PE(new(E))
			dec(d, v)
			return v
		},
	}
}

func sentinelFor(tag uint64, err error) errorCodec {
	return errorCodec{tag: tag, sentinel: err}
}

// errorCodecs lists the errors that keep their type across the wire. Adding
// a structured error type to this package means adding its entry here;
// TestWireEveryErrorRegistered fails until then. Sentinels are matched in
// order with errors.Is, after the structured types.
var errorCodecs = []errorCodec{
	errorFor(1,
		func(e *encoder, err *WriteIntentError) { nslice(e, err.Intents, (*encoder).intent) },
		func(d *decoder, err *WriteIntentError) { err.Intents = dslice(d, (*decoder).intent) }),
	errorFor(2,
		func(e *encoder, err *TransactionRetryError) { e.varint(int64(err.Reason)); e.str(err.Msg) },
		func(d *decoder, err *TransactionRetryError) { err.Reason = RetryReason(d.int8()); err.Msg = d.str() }),
	errorFor(3,
		func(e *encoder, err *TransactionAbortedError) { e.str(err.Msg) },
		func(d *decoder, err *TransactionAbortedError) { err.Msg = d.str() }),
	errorFor(4,
		func(e *encoder, err *ReadWithinUncertaintyIntervalError) {
			e.nbytes(err.Key)
			e.wts(err.ReadTimestamp)
			e.wts(err.ExistingTimestamp)
			e.wts(err.LocalLimit)
		},
		func(d *decoder, err *ReadWithinUncertaintyIntervalError) {
			err.Key = d.nbytes()
			err.ReadTimestamp = d.wts()
			err.ExistingTimestamp = d.wts()
			err.LocalLimit = d.wts()
		}),
	errorFor(5,
		func(e *encoder, err *RefreshFailedError) {
			e.nbytes(err.Key)
			e.wts(err.Timestamp)
			e.boolean(err.Intent)
		},
		func(d *decoder, err *RefreshFailedError) {
			err.Key = d.nbytes()
			err.Timestamp = d.wts()
			err.Intent = d.boolean()
		}),
	errorFor(6,
		func(e *encoder, err *ConditionFailedError) { e.nbytes(err.ActualValue) },
		func(d *decoder, err *ConditionFailedError) { err.ActualValue = d.nbytes() }),
	errorFor(7,
		func(e *encoder, err *TransactionStatusError) { e.str(err.Msg) },
		func(d *decoder, err *TransactionStatusError) { err.Msg = d.str() }),
	errorFor(8,
		func(e *encoder, err *BatchTimestampBeforeGCError) { e.wts(err.Timestamp); e.wts(err.Threshold) },
		func(d *decoder, err *BatchTimestampBeforeGCError) { err.Timestamp = d.wts(); err.Threshold = d.wts() }),
	errorFor(9,
		func(e *encoder, err *NotLeaseHolderError) {
			e.varint(err.RangeID)
			e.varint(int64(err.Replica))
			e.varint(int64(err.LeaseHolder))
			e.str(err.Msg)
		},
		func(d *decoder, err *NotLeaseHolderError) {
			err.RangeID = d.varint()
			err.Replica = int32(d.varint())
			err.LeaseHolder = int32(d.varint())
			err.Msg = d.str()
		}),
	errorFor(10,
		func(e *encoder, err *AmbiguousResultError) { e.str(err.Msg) },
		func(d *decoder, err *AmbiguousResultError) { err.Msg = d.str() }),
	errorFor(11,
		func(e *encoder, err *RangeUnavailableError) { e.varint(err.RangeID); e.str(err.Msg) },
		func(d *decoder, err *RangeUnavailableError) { err.RangeID = d.varint(); err.Msg = d.str() }),
	errorFor(12,
		func(e *encoder, err *LockTimeoutError) { e.nbytes(err.Key) },
		func(d *decoder, err *LockTimeoutError) { err.Key = d.nbytes() }),
	errorFor(13,
		func(e *encoder, err *RangeKeyMismatchError) {
			e.span(&err.RequestedSpan)
			nslice(e, err.Ranges, (*encoder).rangeDesc)
		},
		func(d *decoder, err *RangeKeyMismatchError) {
			d.span(&err.RequestedSpan)
			err.Ranges = dslice(d, (*decoder).rangeDesc)
		}),

	sentinelFor(100, ErrMalformedBatch),
	sentinelFor(101, ErrCorruptValue),
	sentinelFor(102, ErrUnknownRequest),
	sentinelFor(103, hlc.ErrClockOffset),
	sentinelFor(104, context.Canceled),
	sentinelFor(105, context.DeadlineExceeded),
	sentinelFor(106, ErrNodeUnavailable),
}

var (
	errorByTag  = map[uint64]*errorCodec{}
	errorByType = map[reflect.Type]*errorCodec{}
)

func init() {
	for i := range errorCodecs {
		c := &errorCodecs[i]
		if c.tag == tagRemote || errorByTag[c.tag] != nil {
			panic(fmt.Sprintf("kvpb: wire error entry %d: bad or duplicate tag %d", i, c.tag))
		}
		errorByTag[c.tag] = c
		if c.typ != nil {
			errorByType[c.typ] = c
		}
	}
}

// findStructured returns the first error in err's tree (depth first, as
// errors.As walks it) whose type has a codec.
func findStructured(err error) (error, *errorCodec) {
	for err != nil {
		if c := errorByType[reflect.TypeOf(err)]; c != nil {
			return err, c
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				if found, c := findStructured(inner); c != nil {
					return found, c
				}
			}
			return nil, nil
		default:
			return nil, nil
		}
	}
	return nil, nil
}

// AppendError appends the wire form of err (which must not be nil) to b.
//
// The first structured error of a registered type in err's chain keeps its
// type and fields; otherwise the first registered sentinel that err Is keeps
// its identity; otherwise only the message crosses (*RemoteError). The
// message of err itself always crosses: if err wraps the structured error
// or sentinel with more context, the decoded error has err's message and
// unwraps to the structured cause.
func AppendError(b []byte, err error) []byte {
	e := encoder{b: append(b, wireVersion)}
	msg := err.Error()
	var body encoder
	tag := uint64(tagRemote)
	if inner, c := findStructured(err); c != nil {
		tag = c.tag
		c.enc(&body, inner)
		// The body is followed by whether the outer message differs from
		// the structured error's own.
		if inner.Error() == msg {
			msg = ""
			body.u8(0)
		} else {
			body.u8(1)
		}
	} else {
		for i := range errorCodecs {
			if c := &errorCodecs[i]; c.typ == nil && errors.Is(err, c.sentinel) {
				tag = c.tag
				break
			}
		}
	}
	e.uvarint(tag)
	e.str(msg)
	e.bytes(body.b)
	return e.b
}

// DecodeError decodes what AppendError wrote into remote, the error the
// sender had (see AppendError for what is kept). err is non-nil, wrapping
// ErrCorruptValue, when b is not a valid encoding. An unknown tag (a newer
// sender) decodes to a *RemoteError with the message.
func DecodeError(b []byte) (remote error, err error) {
	d := decoder{b: b}
	d.version()
	tag := d.uvarint()
	msg := d.str()
	body := decoder{b: d.bytes()}
	if err := d.finish(); err != nil {
		return nil, err
	}
	c := errorByTag[tag]
	switch {
	case tag == tagRemote:
		if err := body.finish(); err != nil {
			return nil, err
		}
		return &RemoteError{Msg: msg}, nil
	case c == nil:
		return &RemoteError{Msg: msg}, nil
	case c.typ == nil:
		if err := body.finish(); err != nil {
			return nil, err
		}
		return &remoteWrapped{msg: msg, cause: c.sentinel}, nil
	}
	structured := c.dec(&body)
	wrapped := body.boolean()
	if err := body.finish(); err != nil {
		return nil, err
	}
	if !wrapped {
		if msg != "" {
			return nil, fmt.Errorf("%w: message with an unwrapped structured error", ErrCorruptValue)
		}
		return structured, nil
	}
	if msg == structured.Error() {
		return nil, fmt.Errorf("%w: wrapping message equals the structured error's", ErrCorruptValue)
	}
	return &remoteWrapped{msg: msg, cause: structured}, nil
}
