package types

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// sameValue reports whether two datums are the same value as storage must
// preserve it: equal text output (so the numeric scale and json text
// count) and, for floats, the same bits.
func sameValue(t *T, a, b Datum) bool {
	if fa, ok := a.(DFloat); ok {
		fb, ok := b.(DFloat)
		return ok && (math.Float64bits(float64(fa)) == math.Float64bits(float64(fb)) || math.IsNaN(float64(fa)) && math.IsNaN(float64(fb)))
	}
	return string(AppendText(nil, t, a, time.UTC)) == string(AppendText(nil, t, b, time.UTC)) &&
		a.ResolvedType().Equal(b.ResolvedType())
}

func TestValueRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range allTypes {
		var buf []byte
		var want []Datum
		for i := 0; i < 200; i++ {
			d := randDatum(r, typ)
			if i%17 == 0 {
				d = Null
			}
			want = append(want, d)
			buf = AppendValue(buf, d)
		}
		rest := buf
		for i, w := range want {
			d, rst, err := DecodeValue(typ, rest)
			if err != nil {
				t.Fatalf("%s #%d (%v): %v", typ, i, w, err)
			}
			if !sameValue(typ, w, d) {
				t.Fatalf("%s #%d: got %v, want %v", typ, i, d, w)
			}
			rest = rst
		}
		if len(rest) != 0 {
			t.Fatalf("%s: %d bytes left", typ, len(rest))
		}
	}
	// The scale of a numeric survives storage.
	b := AppendValue(nil, MustParseDDecimal("1.500"))
	d, _, err := DecodeValue(Numeric, b)
	if err != nil || FormatText(d, nil) != "1.500" {
		t.Errorf("numeric scale: %v %v", d, err)
	}
}

func TestDecodeValueErrors(t *testing.T) {
	for _, c := range []struct {
		t *T
		b []byte
	}{
		{Int8, nil},
		{Int8, []byte{vString, 1, 'a'}}, // tag of another family
		{Int8, []byte{vInt, 0x80}},      // truncated varint
		{Float8, []byte{vFloat, 1, 2}},
		{Text, []byte{vString, 5, 'a'}},
		{Text, []byte{vString, 1, 0xff}},
		{Numeric, []byte{vDecimal, decFiniteNeg, 0, 0}},                   // -0
		{Numeric, []byte{vDecimal, decFinitePos, 0, 1, 0}},                // leading zero byte
		{Numeric, []byte{vDecimal, 9}},                                    // bad form
		{Numeric, []byte{vDecimal, decFinitePos, 0xff, 0x7f}},             // huge scale
		{Date, binary.AppendVarint([]byte{vDate}, int64(MaxDate)+5)},      // out of range
		{JSONB, []byte{vJSON, 2, '{', '{'}},                               // bad json
		{UUID, []byte{vUUID, 1, 2, 3}},                                    // truncated
		{Interval, []byte{vInterval, 0xfe, 0xff, 0xff, 0xff, 0x3f, 0, 0}}, // months overflow
		{Bool, []byte{0x7f}},
	} {
		_, _, err := DecodeValue(c.t, c.b)
		if err == nil || !errors.Is(err, ErrCorruptValue) || sqlerr.Code(err) != sqlerr.DataCorrupted {
			t.Errorf("%s % x: got %v", c.t, c.b, err)
		}
	}
}

// TestKeyOrder checks that bytes.Compare of key encodings agrees with
// Compare (ascending and descending, NULL first ascending), and that keys
// decode to values Compare-equal to the originals.
func TestKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, typ := range orderedTypes {
		ds := []Datum{Null}
		for i := 0; i < 120; i++ {
			ds = append(ds, randDatum(r, typ))
		}
		type enc struct{ asc, desc []byte }
		keys := make([]enc, len(ds))
		for i, d := range ds {
			a, err := EncodeKey(nil, d, false)
			if err != nil {
				t.Fatal(err)
			}
			dsc, err := EncodeKey(nil, d, true)
			if err != nil {
				t.Fatal(err)
			}
			keys[i] = enc{a, dsc}
			for _, k := range [][]byte{a, dsc} {
				back, rest, err := DecodeKey(typ, append(k, 0xAA))
				if err != nil || !bytes.Equal(rest, []byte{0xAA}) {
					t.Fatalf("%s %v: decode: %v rest %x", typ, d, err, rest)
				}
				if (d == Null) != (back == Null) || d != Null && mustCompare(t, d, back) != 0 {
					t.Fatalf("%s: %v decoded as %v", typ, d, back)
				}
			}
		}
		for i, a := range ds {
			for j, b := range ds {
				var want int
				switch {
				case a == Null && b == Null:
				case a == Null:
					want = -1
				case b == Null:
					want = 1
				default:
					want = sign(mustCompare(t, a, b))
				}
				if got := sign(bytes.Compare(keys[i].asc, keys[j].asc)); got != want {
					t.Fatalf("%s: asc keys of %v and %v compare %d, values %d", typ, a, b, got, want)
				}
				if got := sign(bytes.Compare(keys[i].desc, keys[j].desc)); got != -want {
					t.Fatalf("%s: desc keys of %v and %v compare %d, values %d", typ, a, b, got, want)
				}
			}
		}
	}
}

func TestKeyDecodeRestoresNumericScale(t *testing.T) {
	k, _ := EncodeKey(nil, MustParseDDecimal("1.50"), false)
	d, _, err := DecodeKey(MakeNumeric(10, 2), k)
	if err != nil || FormatText(d, nil) != "1.50" {
		t.Errorf("got %v %v", d, err)
	}
	d, _, _ = DecodeKey(Numeric, k)
	if FormatText(d, nil) != "1.5" {
		t.Errorf("unconstrained numeric key: %v", d)
	}
}

func TestCompare(t *testing.T) {
	dec := MustParseDDecimal
	ts := func(s string) DTimestamp { d, _ := ParseTimestamp(s, nil); return d }
	tz := func(s string) DTimestampTZ { d, _ := ParseTimestampTZ(s, nil); return d }
	nan := DFloat(math.NaN())
	for _, c := range []struct {
		a, b Datum
		want int
	}{
		{DInt(1), dec("1.0"), 0},
		{DInt(1), DFloat(1), 0},
		{dec("1.00"), DFloat(1), 0},
		{DFloat(0.1), dec("0.1"), 1}, // the float is 0.1000000000000000055...
		{DFloat(0.1), dec("0.1000000000000000055511151231257827021181583404541015625"), 0},
		{DInt(9007199254740993), DFloat(9007199254740992), 1},
		{DInt(math.MaxInt64), DFloat(9223372036854775808.0), -1},
		{nan, nan, 0},
		{nan, DFloat(math.Inf(1)), 1},
		{DInt(5), nan, -1},
		{dec("NaN"), nan, 0},
		{dec("NaN"), dec("Infinity"), 1},
		{dec("-Infinity"), DInt(math.MinInt64), -1},
		{DFloat(math.Copysign(0, -1)), DFloat(0), 0},
		{DString("a"), DString("b"), -1},
		{DString("é"), DString("z"), 1}, // bytewise, as C collation
		{DBool(false), DBool(true), -1},
		{DInterval{Months: 1}, DInterval{Days: 30}, 0},
		{DInterval{Days: 1}, DInterval{Micros: 24 * 3600 * 1000000}, 0},
		{DInterval{Months: 1}, DInterval{Days: 31}, -1},
		{DInterval{Days: -1}, DInterval{Micros: -1}, -1},
		{ts("2024-01-31 12:00"), tz("2024-01-31 12:00+00"), 0},
		{DDate(0), ts("2000-01-01"), 0},
		{DDate(0), ts("2000-01-01 00:00:00.000001"), -1},
		{DatePosInf, ts("294276-12-31"), 1},
		{MaxDate, ts("294276-12-31"), 1},
		{MaxDate, DTimestamp{Time: TimestampPosInf}, -1},
		{DOid(5), DInt(5), 0},
	} {
		if got := sign(mustCompare(t, c.a, c.b)); got != c.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := sign(mustCompare(t, c.b, c.a)); got != -c.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", c.b, c.a, got, -c.want)
		}
		ha, hb := HashKey(nil, c.a), HashKey(nil, c.b)
		if bytes.Equal(ha, hb) != (c.want == 0) {
			t.Errorf("HashKey(%v)=%x, HashKey(%v)=%x, compare %d", c.a, ha, c.b, hb, c.want)
		}
	}
	for _, c := range [][2]Datum{{Null, DInt(1)}, {DInt(1), Null}, {DInt(1), DString("1")}, {DDate(0), DInterval{}}} {
		if _, err := Compare(c[0], c[1]); !errors.Is(err, ErrIncomparable) {
			t.Errorf("Compare(%v, %v): %v", c[0], c[1], err)
		}
	}
}

// TestHashKeyConsistent: for random datums of each type, equal hash keys
// exactly when Compare says equal, also across numeric families.
func TestHashKeyConsistent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	groups := [][]*T{{Int8, Float8, Numeric, Int4, Oid}, {Text}, {Bytea}, {Date, Timestamp, TimestampTZ}, {Interval}, {UUID}, {Bool}, {JSONB}}
	for _, g := range groups {
		var ds []Datum
		for i := 0; i < 150; i++ {
			ds = append(ds, randDatum(r, g[r.IntN(len(g))]))
		}
		if g[0] == Int8 {
			// Values equal across families.
			ds = append(ds, DInt(3), DFloat(3), MustParseDDecimal("3.000"), DInt(1<<60), DFloat(1<<60),
				MustParseDDecimal("1152921504606846976"), DFloat(0.5), MustParseDDecimal("0.50"),
				DInt(1<<53+1), MustParseDDecimal("9007199254740993"))
		}
		for _, a := range ds {
			for _, b := range ds {
				c, err := Compare(a, b)
				if err != nil {
					continue // e.g. oid vs float
				}
				if bytes.Equal(HashKey(nil, a), HashKey(nil, b)) != (c == 0) {
					t.Fatalf("%v vs %v: compare %d, hash keys %x %x", a, b, c, HashKey(nil, a), HashKey(nil, b))
				}
			}
		}
	}
	// Keys are self-delimiting: (1, "ab") and ("1a", "b") differ.
	k1 := HashKey(HashKey(nil, DString("a")), DString("bc"))
	k2 := HashKey(HashKey(nil, DString("ab")), DString("c"))
	if bytes.Equal(k1, k2) {
		t.Error("hash keys of tuples collide")
	}
	_ = apd.New
}
