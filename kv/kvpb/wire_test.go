package kvpb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

// filler sets random values into every exported field reachable from a
// value, by reflection, so that a field added to a request, response or
// error type is exercised by the round-trip tests without editing them.
type filler struct {
	r *rand.Rand
	// full forces every field to a non-zero value (pointers non-nil, slices
	// non-empty), so that a field the codec forgets cannot decode equal.
	full bool
}

func (f *filler) fill(v reflect.Value) {
	r := f.r
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(f.full || r.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		x := int64(r.Uint64())
		if r.IntN(3) == 0 { // small values too, not only huge ones
			x = int64(r.IntN(200) - 100)
		}
		x = x << (64 - bits) >> (64 - bits) // sign-extend into range
		if x == 0 && f.full {
			x = -1
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		x := r.Uint64() >> (64 - bits)
		if x == 0 && f.full {
			x = 1
		}
		v.SetUint(x)
	case reflect.String:
		n := r.IntN(8)
		if f.full {
			n++
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		v.SetString(string(b))
	case reflect.Slice:
		if !f.full {
			switch r.IntN(4) {
			case 0:
				v.SetZero()
				return
			case 1:
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
				return
			}
		}
		n := 1 + r.IntN(4)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = r.IntN(20) + 1
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Pointer:
		if !f.full && r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Interface:
		// Requests and responses of a batch are filled by the callers.
	default:
		panic(fmt.Sprintf("filler: unhandled kind %s", v.Kind()))
	}
}

// newFilled returns a new *T (T the element of pointer type typ) filled.
func (f *filler) newFilled(typ reflect.Type) reflect.Value {
	p := reflect.New(typ.Elem())
	f.fill(p.Elem())
	return p
}

func (f *filler) batchRequest() *BatchRequest {
	ba := &BatchRequest{}
	f.fill(reflect.ValueOf(ba).Elem())
	ba.Requests = nil
	// Every method at least once, in random order, plus a few repeats.
	for _, c := range methodCodecs {
		ba.Requests = append(ba.Requests, f.newFilled(c.reqType).Interface().(Request))
	}
	for range f.r.IntN(4) {
		c := methodCodecs[f.r.IntN(len(methodCodecs))]
		ba.Requests = append(ba.Requests, f.newFilled(c.reqType).Interface().(Request))
	}
	f.r.Shuffle(len(ba.Requests), func(i, j int) { ba.Requests[i], ba.Requests[j] = ba.Requests[j], ba.Requests[i] })
	return ba
}

func (f *filler) batchResponse() *BatchResponse {
	br := &BatchResponse{}
	f.fill(reflect.ValueOf(br).Elem())
	br.Responses = nil
	for _, c := range methodCodecs {
		br.Responses = append(br.Responses, f.newFilled(c.respType).Interface().(Response))
	}
	f.r.Shuffle(len(br.Responses), func(i, j int) { br.Responses[i], br.Responses[j] = br.Responses[j], br.Responses[i] })
	return br
}

// packageTypes parses this package's non-test sources and returns the
// exported receiver type names of methods named method.
func packageTypes(t *testing.T, method string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != method {
				continue
			}
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
				out = append(out, id.Name)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("found no %s methods: the source scan is broken", method)
	}
	return out
}

func TestWireEveryMethodRegistered(t *testing.T) {
	n := 0
	for m := Method(1); m < 127; m++ {
		if _, ok := methodNames[m]; !ok {
			continue
		}
		n++
		c := codecByMethod[m]
		if c == nil {
			t.Errorf("method %s has no wire codec entry (add it to methodCodecs)", m)
			continue
		}
		req := reflect.New(c.reqType.Elem()).Interface().(Request)
		if req.Method() != m {
			t.Errorf("entry %s encodes %T, whose method is %s", m, req, req.Method())
		}
	}
	if n != len(methodCodecs) {
		t.Errorf("%d methods, %d codec entries", n, len(methodCodecs))
	}
	for _, name := range packageTypes(t, "isResponse") {
		found := false
		for typ := range codecByRespType {
			found = found || typ.Elem().Name() == name
		}
		if !found {
			t.Errorf("response type %s has no wire codec entry", name)
		}
	}
	for _, name := range packageTypes(t, "Method") {
		found := false
		for typ := range codecByReqType {
			found = found || typ.Elem().Name() == name
		}
		if !found {
			t.Errorf("request type %s has no wire codec entry", name)
		}
	}
}

func TestWireEveryErrorRegistered(t *testing.T) {
	for _, name := range packageTypes(t, "Error") {
		if name == "RemoteError" {
			continue // the fallback itself
		}
		found := false
		for typ := range errorByType {
			found = found || typ.Elem().Name() == name
		}
		if !found {
			t.Errorf("error type %s has no wire codec entry (add it to errorCodecs)", name)
		}
	}
}

// checkPrefixes fails if a strict prefix of enc, or enc plus a byte,
// decodes.
func checkPrefixes(t *testing.T, enc []byte, decode func([]byte) error) {
	t.Helper()
	for i := 0; i < len(enc); i++ {
		if err := decode(enc[:i]); !errors.Is(err, ErrCorruptValue) {
			t.Fatalf("prefix of %d/%d bytes: %v", i, len(enc), err)
		}
	}
	if err := decode(append(enc[:len(enc):len(enc)], 0)); !errors.Is(err, ErrCorruptValue) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
}

func TestWireBatchRequestRoundTrip(t *testing.T) {
	for seed := range uint64(300) {
		f := &filler{r: rand.New(rand.NewPCG(seed, 1)), full: seed%3 == 0}
		ba := f.batchRequest()
		enc, err := AppendBatchRequest([]byte("pre"), ba)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(enc, []byte("pre")) {
			t.Fatal("did not append")
		}
		enc = enc[3:]
		got, err := DecodeBatchRequest(enc)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got, ba) {
			t.Fatalf("seed %d: round trip\n got %#v\nwant %#v", seed, got, ba)
		}
		if re, _ := AppendBatchRequest(nil, got); !bytes.Equal(re, enc) {
			t.Fatalf("seed %d: re-encoding differs", seed)
		}
		if seed < 20 {
			checkPrefixes(t, enc, func(b []byte) error { _, err := DecodeBatchRequest(b); return err })
		}
		// The decoded batch does not alias the input.
		clear(enc)
		if !reflect.DeepEqual(got, ba) {
			t.Fatalf("seed %d: decoded batch aliases its input", seed)
		}
	}
}

func TestWireBatchResponseRoundTrip(t *testing.T) {
	for seed := range uint64(300) {
		f := &filler{r: rand.New(rand.NewPCG(seed, 2)), full: seed%3 == 0}
		br := f.batchResponse()
		enc, err := AppendBatchResponse(nil, br)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBatchResponse(enc)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got, br) {
			t.Fatalf("seed %d: round trip\n got %#v\nwant %#v", seed, got, br)
		}
		if re, _ := AppendBatchResponse(nil, got); !bytes.Equal(re, enc) {
			t.Fatalf("seed %d: re-encoding differs", seed)
		}
		if seed < 20 {
			checkPrefixes(t, enc, func(b []byte) error { _, err := DecodeBatchResponse(b); return err })
		}
	}
}

func TestWireEmptyAndEdgeBatches(t *testing.T) {
	for _, ba := range []*BatchRequest{
		{},
		{Requests: []Request{}},
		{Header: Header{Timestamp: hlc.MaxTimestamp, Txn: fullTxn()}, Requests: []Request{&GetRequest{}}},
		{Requests: []Request{&ConditionalPutRequest{Key: Key("k"), ExpValue: []byte{}}, &ConditionalPutRequest{Key: Key("k")}}},
		{Requests: []Request{&ScanRequest{Span: Span{Key: Key("a"), EndKey: Key{}}}}},
	} {
		enc, err := AppendBatchRequest(nil, ba)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeBatchRequest(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ba) {
			t.Fatalf("round trip\n got %#v\nwant %#v", got, ba)
		}
	}
}

// unknownRequest is a request type with no codec entry.
type unknownRequest struct{}

func (unknownRequest) Method() Method { return Method(120) }
func (unknownRequest) Keys() Span     { return Span{} }

type unknownResponse struct{}

func (unknownResponse) isResponse() {}

func TestWireUnregisteredTypes(t *testing.T) {
	for _, ba := range []*BatchRequest{
		{Requests: []Request{unknownRequest{}}},
		{Requests: []Request{nil}},
		{Requests: []Request{(*GetRequest)(nil)}},
	} {
		if _, err := AppendBatchRequest(nil, ba); !errors.Is(err, ErrUnknownRequest) {
			t.Errorf("%#v: %v", ba.Requests, err)
		}
	}
	for _, br := range []*BatchResponse{
		{Responses: []Response{unknownResponse{}}},
		{Responses: []Response{nil}},
		{Responses: []Response{(*GetResponse)(nil)}},
	} {
		if _, err := AppendBatchResponse(nil, br); !errors.Is(err, ErrUnknownRequest) {
			t.Errorf("%#v: %v", br.Responses, err)
		}
	}
	// An unknown method tag on the wire is corruption, not a panic.
	enc, _ := AppendBatchRequest(nil, &BatchRequest{Requests: []Request{&GetRequest{Key: Key("k")}}})
	enc[len(enc)-3] = 120 // the method byte: tag, key length, key
	if _, err := DecodeBatchRequest(enc); !errors.Is(err, ErrCorruptValue) {
		t.Fatalf("unknown method: %v", err)
	}
}

func roundTripError(t *testing.T, in error) error {
	t.Helper()
	enc := AppendError(nil, in)
	out, err := DecodeError(enc)
	if err != nil {
		t.Fatalf("%v: %v", in, err)
	}
	if out.Error() != in.Error() {
		t.Fatalf("message %q, want %q", out.Error(), in.Error())
	}
	if re := AppendError(nil, out); !bytes.Equal(re, enc) {
		t.Fatalf("%v: re-encoding differs", in)
	}
	checkPrefixes(t, enc, func(b []byte) error { _, err := DecodeError(b); return err })
	return out
}

func TestWireErrorsKeepTypes(t *testing.T) {
	for seed := range uint64(50) {
		f := &filler{r: rand.New(rand.NewPCG(seed, 3)), full: seed%2 == 0}
		for typ := range errorByType {
			in := f.newFilled(typ).Interface().(error)
			out := roundTripError(t, in)
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("%T: got %#v, want %#v", in, out, in)
			}
			// Wrapped with context: the message is kept, errors.As finds
			// the structured error with its fields.
			wrapped := fmt.Errorf("eval on n2: %w", in)
			out = roundTripError(t, wrapped)
			target := reflect.New(typ)
			if !errors.As(out, target.Interface()) {
				t.Fatalf("errors.As(%T) failed on %#v", in, out)
			}
			if !reflect.DeepEqual(target.Elem().Interface(), in) {
				t.Fatalf("%T wrapped: got %#v, want %#v", in, target.Elem().Interface(), in)
			}
		}
	}
	// IsRetryable keeps working across the wire.
	out := roundTripError(t, fmt.Errorf("x: %w", &TransactionAbortedError{Msg: "deadlock"}))
	if !IsRetryable(out) {
		t.Fatal("aborted error not retryable after the wire")
	}
	// errors.Join: the first structured error wins.
	out = roundTripError(t, errors.Join(errors.New("a"), &ConditionFailedError{ActualValue: []byte("v")}))
	var cf *ConditionFailedError
	if !errors.As(out, &cf) || string(cf.ActualValue) != "v" {
		t.Fatalf("joined: %#v", out)
	}
}

func TestWireErrorsSentinelsAndRemote(t *testing.T) {
	for _, c := range errorCodecs {
		if c.sentinel == nil {
			continue
		}
		for _, in := range []error{c.sentinel, fmt.Errorf("ctx: %w", c.sentinel)} {
			out := roundTripError(t, in)
			if !errors.Is(out, c.sentinel) {
				t.Fatalf("%v: lost sentinel %v", in, c.sentinel)
			}
		}
	}
	if err := (&BatchRequest{}).Validate(); !errors.Is(roundTripError(t, err), ErrMalformedBatch) {
		t.Fatal("validation error lost ErrMalformedBatch")
	}
	out := roundTripError(t, errors.New("disk on fire"))
	var re *RemoteError
	if !errors.As(out, &re) || re.Msg != "disk on fire" {
		t.Fatalf("plain error: %#v", out)
	}
	if errors.Is(out, context.Canceled) || IsRetryable(out) {
		t.Fatal("plain error gained an identity")
	}
}

func TestWireErrorUnknownTag(t *testing.T) {
	// A newer sender's error type: the message survives.
	e := encoder{b: []byte{wireVersion}}
	e.uvarint(9999)
	e.str("new kind of error")
	e.bytes([]byte{1, 2, 3})
	out, err := DecodeError(e.b)
	if err != nil {
		t.Fatal(err)
	}
	var re *RemoteError
	if !errors.As(out, &re) || re.Msg != "new kind of error" {
		t.Fatalf("%#v", out)
	}
}

// FuzzDecodeWire feeds arbitrary bytes to the three wire decoders: they
// must never panic, must allocate in proportion to the input, and anything
// they accept must re-encode to the same bytes.
func FuzzDecodeWire(f *testing.F) {
	fl := &filler{r: rand.New(rand.NewPCG(1, 1)), full: true}
	ba, _ := AppendBatchRequest(nil, fl.batchRequest())
	br, _ := AppendBatchResponse(nil, fl.batchResponse())
	f.Add(append([]byte{0}, ba...))
	f.Add(append([]byte{1}, br...))
	f.Add(append([]byte{2}, AppendError(nil, fmt.Errorf("x: %w", &WriteIntentError{Intents: []Intent{{Key: Key("k")}}}))...))
	f.Add(append([]byte{2}, AppendError(nil, ErrMalformedBatch)...))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		kind, b := in[0]%3, in[1:]
		var re []byte
		var err error
		checkAlloc(t, b, func() {
			switch kind {
			case 0:
				var ba *BatchRequest
				if ba, err = DecodeBatchRequest(b); err == nil {
					re, err = AppendBatchRequest(nil, ba)
				}
			case 1:
				var br *BatchResponse
				if br, err = DecodeBatchResponse(b); err == nil {
					re, err = AppendBatchResponse(nil, br)
				}
			case 2:
				var remote error
				if remote, err = DecodeError(b); err == nil {
					re = AppendError(nil, remote)
					var rerr *RemoteError
					if errors.As(remote, &rerr) {
						re = b // unknown tags are not canonical; the message is what counts
					}
				}
			}
		})
		if err != nil {
			if !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("%v does not wrap ErrCorruptValue", err)
			}
			return
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("%x decodes to a value that encodes as %x", b, re)
		}
	})
}
