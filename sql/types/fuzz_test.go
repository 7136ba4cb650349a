package types

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// fuzzTypes are the types the fuzz targets pick from with a selector byte.
var fuzzTypes = append(append([]*T{}, allTypes...), Unknown, MakeTimestamp(2), MakeInterval(0), MakeTimestampTZ(0), MakeNumeric(3, -1))

func fuzzType(sel byte) *T { return fuzzTypes[int(sel)%len(fuzzTypes)] }

var fuzzLocs = func() []*time.Location {
	var ls []*time.Location
	for _, n := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Europe/Amsterdam"} {
		if l, ok := LoadLocation(n); ok {
			ls = append(ls, l)
		}
	}
	return ls
}()

// mustHaveCode fails unless err is a *sqlerr.Error (every error a user can
// see carries a SQLSTATE).
func mustHaveCode(t *testing.T, err error) {
	var se *sqlerr.Error
	if !errors.As(err, &se) || se.Code == "" || se.Code == sqlerr.InternalError {
		t.Fatalf("error without a proper SQLSTATE: %v (%T)", err, err)
	}
}

// FuzzParseText: ParseText never panics, fails only with a SQLSTATE, and a
// successful parse prints text that parses back to the same value.
func FuzzParseText(f *testing.F) {
	for _, c := range pgTextCases {
		for i, typ := range fuzzTypes {
			if typ.SQLString() == c.typ || c.typ == "timestamptz" && typ == TimestampTZ {
				f.Add(byte(i), byte(0), c.in)
			}
		}
	}
	f.Add(byte(6), byte(1), "1e-7")
	f.Fuzz(func(t *testing.T, sel, locSel byte, s string) {
		typ := fuzzType(sel)
		ctx := &EvalContext{Location: fuzzLocs[int(locSel)%len(fuzzLocs)], Now: time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)}
		d, err := ParseText(typ, s, ctx)
		if err != nil {
			mustHaveCode(t, err)
			return
		}
		out := string(AppendText(nil, typ, d, ctx.Loc()))
		d2, err := ParseText(typ, out, ctx)
		if err != nil {
			t.Fatalf("%s %q printed %q which does not parse: %v", typ, s, out, err)
		}
		if out2 := string(AppendText(nil, typ, d2, ctx.Loc())); out2 != out {
			t.Fatalf("%s %q: printed %q, reparsed prints %q", typ, s, out, out2)
		}
		if typ.Family != UnknownFamily {
			if c, err := Compare(d, d2); err != nil || c != 0 {
				t.Fatalf("%s %q: reparsed value differs (%d, %v)", typ, s, c, err)
			}
		}
	})
}

// FuzzDecodeBinary: DecodeBinary never panics; a decoded value encodes
// and decodes again to the same value.
func FuzzDecodeBinary(f *testing.F) {
	for _, c := range pgBinaryCases {
		typ, _ := ParseTypeName(c.typ)
		d, _ := ParseText(typ, c.text, nil)
		b, _ := EncodeBinary(nil, typ, d)
		for i, ft := range fuzzTypes {
			if ft.Identical(typ) {
				f.Add(byte(i), b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, sel byte, b []byte) {
		typ := fuzzType(sel)
		d, err := DecodeBinary(typ, b)
		if err != nil {
			mustHaveCode(t, err)
			return
		}
		enc, err := EncodeBinary(nil, typ, d)
		if err != nil {
			t.Fatalf("%s: decoded %v does not encode: %v", typ, d, err)
		}
		d2, err := DecodeBinary(typ, enc)
		if err != nil {
			t.Fatalf("%s: re-decode of %x: %v", typ, enc, err)
		}
		if !sameValue(typ, d, d2) {
			t.Fatalf("%s: %v re-decoded as %v", typ, d, d2)
		}
	})
}

// FuzzDecodeValue: DecodeValue never panics and errors only with
// ErrCorruptValue; decoded values re-encode to bytes that decode to the
// same value.
func FuzzDecodeValue(f *testing.F) {
	f.Add(byte(0), []byte{vInt, 2})
	f.Add(byte(6), AppendValue(nil, MustParseDDecimal("-12.340")))
	f.Add(byte(7), AppendValue(AppendValue(nil, DString("héllo")), Null))
	f.Add(byte(15), AppendValue(nil, DInterval{Months: 1, Days: -2, Micros: 3}))
	f.Add(byte(16), AppendValue(nil, &DJSON{value: JSONValue{Kind: JSONNull}, text: "null"}))
	f.Fuzz(func(t *testing.T, sel byte, b []byte) {
		var typ *T
		if sel != 255 {
			typ = fuzzType(sel)
		}
		d, rest, err := DecodeValue(typ, b)
		if err != nil {
			if !errors.Is(err, ErrCorruptValue) {
				t.Fatalf("error does not wrap ErrCorruptValue: %v", err)
			}
			return
		}
		if len(rest) > len(b) || !bytes.Equal(rest, b[len(b)-len(rest):]) {
			t.Fatal("rest is not a suffix of the input")
		}
		enc := AppendValue(nil, d)
		d2, rest2, err := DecodeValue(typ, enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-decode of %v (%x): %v, %d left", d, enc, err, len(rest2))
		}
		rt := typ
		if rt == nil {
			rt = d.ResolvedType()
		}
		if !sameValue(rt, d, d2) {
			t.Fatalf("%v re-decoded as %v", d, d2)
		}
	})
}

// FuzzKeyOrder: for pairs of ints, floats, decimals, strings and
// timestamps built from fuzz input, key order equals Compare order in both
// directions, and keys decode to equal values.
func FuzzKeyOrder(f *testing.F) {
	f.Add(byte(0), int64(1), int64(-1), 0.5, math.Inf(-1), "1.50", "-2e3")
	f.Add(byte(2), int64(0), int64(0), math.NaN(), 0.0, "NaN", "Infinity")
	f.Add(byte(3), int64(1<<40), int64(-5), 1e300, -1e-300, "a\x00b", "a")
	f.Fuzz(func(t *testing.T, kind byte, i1, i2 int64, f1, f2 float64, s1, s2 string) {
		var a, b Datum
		var typ *T
		switch kind % 5 {
		case 0:
			typ, a, b = Int8, DInt(i1), DInt(i2)
		case 1:
			typ, a, b = Float8, DFloat(f1), DFloat(f2)
		case 2:
			typ = Numeric
			da, err1 := ParseDDecimal(s1)
			db, err2 := ParseDDecimal(s2)
			if err1 != nil || err2 != nil {
				// Build decimals from the ints with a scale instead.
				da, db = DecimalFromInt(i1), DecimalFromInt(i2)
				da.Exponent = -int32(uint8(f1Bits(f1)) % 40)
				db.Exponent = -int32(uint8(f1Bits(f2)) % 40)
			}
			a, b = da, db
		case 3:
			typ, a, b = Text, DString(s1), DString(s2)
			if CheckText(s1) != nil || CheckText(s2) != nil {
				// Not valid text datums; order them as bytea.
				typ, a, b = Bytea, DBytes(s1), DBytes(s2)
			}
		case 4:
			typ = Timestamp
			lo := int64(minTimestampMicros)
			span := uint64(endTimestampMicros) + uint64(-lo)
			ua := lo + int64(uint64(i1)%span)
			ub := lo + int64(uint64(i2)%span)
			if kind&0x80 != 0 {
				ub = ua + int64(int8(i2)) // close pairs
				if !timestampMicrosValid(ub) {
					ub = ua
				}
			}
			a, b = DTimestamp{Time: microsToTime(ua)}, DTimestamp{Time: microsToTime(ub)}
		}
		want := sign(mustCompare(t, a, b))
		for _, desc := range []bool{false, true} {
			ka, err := EncodeKey(nil, a, desc)
			if err != nil {
				t.Fatal(err)
			}
			kb, err := EncodeKey(nil, b, desc)
			if err != nil {
				t.Fatal(err)
			}
			got := sign(bytes.Compare(ka, kb))
			if desc {
				got = -got
			}
			if got != want {
				t.Fatalf("%s desc=%v: keys of %v and %v order %d, values %d", typ, desc, a, b, got, want)
			}
			for _, p := range []struct {
				d Datum
				k []byte
			}{{a, ka}, {b, kb}} {
				back, rest, err := DecodeKey(typ, p.k)
				if err != nil || len(rest) != 0 || mustCompare(t, back, p.d) != 0 {
					t.Fatalf("%s: key of %v decodes to %v (%v)", typ, p.d, back, err)
				}
			}
		}
	})
}

func f1Bits(f float64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
	return binary.LittleEndian.Uint64(b[:])
}
