package types

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// orderedTypes are the types with a key encoding whose order follows
// Compare.
var orderedTypes = []*T{Bool, Int2, Int4, Int8, Float4, Float8, Numeric, Text, Bytea, Date,
	Timestamp, TimestampTZ, Interval, UUID, Oid}

// allTypes adds the types whose key order is not meaningful (json).
var allTypes = append(append([]*T{}, orderedTypes...), JSONB, JSON, MakeVarchar(5), MakeBpchar(3), Name, MakeNumeric(6, 2))

// randDatum returns a random valid datum of type t, biased toward edge
// values.
func randDatum(r *rand.Rand, t *T) Datum {
	pick := func(n int) bool { return r.IntN(n) == 0 }
	switch t.Family {
	case BoolFamily:
		return DBool(pick(2))
	case IntFamily:
		edges := []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32, 127, -128, 1 << 53, 1<<53 + 1}
		var v int64
		if pick(3) {
			v = edges[r.IntN(len(edges))]
		} else {
			v = r.Int64() >> r.IntN(64)
			if pick(2) {
				v = -v
			}
		}
		switch t.Width {
		case 16:
			v = int64(int16(v))
		case 32:
			v = int64(int32(v))
		}
		return DInt(v)
	case FloatFamily:
		edges := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, math.NaN(), math.Inf(1), math.Inf(-1),
			math.MaxFloat64, math.SmallestNonzeroFloat64, 1e15, 1e-5, 123.456}
		var f float64
		if pick(3) {
			f = edges[r.IntN(len(edges))]
		} else {
			f = math.Float64frombits(r.Uint64())
			if math.IsNaN(f) {
				f = r.NormFloat64() * 1e6
			}
		}
		if t.Width == 32 {
			f = float64(float32(f))
		}
		return DFloat(f)
	case DecimalFamily:
		edges := []string{"0", "0.00", "1.50", "-1.5", "NaN", "Infinity", "-Infinity", "1e20", "-0.000001",
			"12345678901234567890.123456789", "9999.9999", "0.1", "100"}
		s := edges[r.IntN(len(edges))]
		if !pick(3) {
			var b strings.Builder
			if pick(2) {
				b.WriteByte('-')
			}
			n := 1 + r.IntN(30)
			for i := 0; i < n; i++ {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
			if pick(2) {
				b.WriteByte('.')
				for i := r.IntN(20); i >= 0; i-- {
					b.WriteByte(byte('0' + r.IntN(10)))
				}
			}
			if pick(4) {
				b.WriteString("e" + []string{"-", "+", ""}[r.IntN(3)])
				b.WriteByte(byte('0' + r.IntN(10)))
			}
			s = b.String()
		}
		d, err := ParseText(t, s, nil)
		if err != nil {
			return RoundDecimal(MustParseDDecimal("1.5"), max(t.Scale, 0))
		}
		return d
	case StringFamily:
		alphabet := []string{"a", "b", "z", " ", "é", "日", "\x01", "A", "~", "\u00ff"}
		var b strings.Builder
		for i := r.IntN(8); i > 0; i-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		d, err := ParseText(t, b.String(), nil)
		if err != nil {
			d, _ = CastFrom(DString(b.String()), Text, t, true, nil)
		}
		return d
	case BytesFamily:
		b := make([]byte, r.IntN(8))
		for i := range b {
			b[i] = []byte{0, 1, 0xff, 'a', 0x80}[r.IntN(5)]
		}
		return DBytes(b)
	case DateFamily:
		switch r.IntN(10) {
		case 0:
			return DatePosInf
		case 1:
			return DateNegInf
		case 2:
			return MinDate + DDate(r.IntN(3))
		case 3:
			return MaxDate - DDate(r.IntN(3))
		}
		return DDate(r.IntN(200000) - 100000)
	case TimestampFamily, TimestampTZFamily:
		var us int64
		switch r.IntN(10) {
		case 0:
			us = math.MaxInt64
		case 1:
			us = math.MinInt64
		case 2:
			us = minTimestampMicros + r.Int64N(1000)
		case 3:
			us = endTimestampMicros - 1 - r.Int64N(1000)
		default:
			us = r.Int64N(1<<50) - 1<<49
		}
		ts := DTimestamp{Time: microsToTime(us)}
		if t.Family == TimestampTZFamily {
			return DTimestampTZ(ts)
		}
		return ts
	case IntervalFamily:
		iv := DInterval{Months: int32(r.IntN(100) - 50), Days: int32(r.IntN(100) - 50), Micros: r.Int64N(1<<40) - 1<<39}
		if pick(4) {
			iv.Micros = r.Int64()
		}
		if pick(4) {
			iv.Months = int32(r.Uint32())
		}
		return iv
	case UUIDFamily:
		var u DUUID
		for i := range u {
			u[i] = byte(r.IntN(256))
		}
		if pick(3) {
			u[0] = 0
		}
		return u
	case JSONFamily:
		docs := []string{`{"a":1,"b":[true,null,"x"]}`, `[]`, `"s"`, `1.50`, `{"aa":{"b":2},"a":0}`, `null`, `[1,[2,[3]]]`}
		d, err := ParseText(t, docs[r.IntN(len(docs))], nil)
		if err != nil {
			panic(err)
		}
		return d
	case OidFamily:
		return DOid(r.Uint32() >> r.IntN(32))
	}
	panic("no generator for " + t.String())
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func mustCompare(t testing.TB, a, b Datum) int {
	t.Helper()
	c, err := Compare(a, b)
	if err != nil {
		t.Fatalf("Compare(%v, %v): %v", a, b, err)
	}
	return c
}
