package encoding

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/google/uuid"
)

// checkPair checks the order of two values in both directions and the
// per-value properties of each.
func checkPair(t *testing.T, a, b Value) {
	t.Helper()
	want := compareValues(a, b)
	for _, dir := range dirs {
		ea, eb := checkValue(t, a, dir), checkValue(t, b, dir)
		w := want
		if dir == Descending {
			w = -w
		}
		if got := bytes.Compare(ea, eb); got != w {
			t.Fatalf("%v: compare(%v, %v) = %d, want %d\n% x\n% x", dir, a, b, got, w, ea, eb)
		}
	}
}

func FuzzIntOrder(f *testing.F) {
	for _, s := range [][2]int64{{0, 0}, {-1, 1}, {127, 128}, {-112, -113}, {255, 256},
		{-256, -257}, {math.MinInt64, math.MaxInt64}, {1 << 40, -1 << 40}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		checkPair(t, IntValue(a), IntValue(b))
		checkPair(t, DateValue(a), DateValue(b))
		checkPair(t, UintValue(uint64(a)), UintValue(uint64(b)))
	})
}

func FuzzFloatOrder(f *testing.F) {
	for _, s := range [][2]float64{{0, math.Copysign(0, -1)}, {math.Inf(-1), math.Inf(1)},
		{math.NaN(), math.Inf(1)}, {-1.5, 1.5}, {math.SmallestNonzeroFloat64, -math.MaxFloat64}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b float64) {
		checkPair(t, FloatValue(a), FloatValue(b))
	})
}

// fuzzDecimal builds a decimal from fuzz inputs: coefficient hi*2^64+lo
// (up to 39 digits) scaled by 10^k, exponent bounded to ±1000, and form bits
// choosing sign and NaN/Infinity.
func fuzzDecimal(hi, lo uint64, exp int32, form uint8) *apd.Decimal {
	d := new(apd.Decimal)
	d.Negative = form&1 != 0
	switch (form >> 1) & 7 {
	case 6:
		d.Form = apd.Infinite
		return d
	case 7:
		d.Form = apd.NaN
		return d
	}
	var h, l, shift, scale apd.BigInt
	h.SetUint64(hi)
	l.SetUint64(lo)
	d.Coeff.Lsh(&h, 64)
	d.Coeff.Add(&d.Coeff, &l)
	shift.SetInt64(10)
	scale.Exp(&shift, apd.NewBigInt(int64(form>>4&7)), nil)
	d.Coeff.Mul(&d.Coeff, &scale)
	d.Exponent = exp % 1001
	return d
}

func FuzzDecimalOrder(f *testing.F) {
	f.Add(uint64(0), uint64(1), int32(0), uint8(0), uint64(0), uint64(10), int32(-1), uint8(0))
	f.Add(uint64(0), uint64(15), int32(-1), uint8(1), uint64(0), uint64(2), int32(0), uint8(1))
	f.Add(uint64(1), uint64(0), int32(1000), uint8(0), uint64(0), uint64(0), int32(-7), uint8(1))
	f.Add(uint64(0), uint64(7), int32(3), uint8(12), uint64(0), uint64(7), int32(3), uint8(14))
	f.Add(uint64(math.MaxUint64), uint64(math.MaxUint64), int32(-1000), uint8(0x70),
		uint64(math.MaxUint64), uint64(math.MaxUint64), int32(-999), uint8(0))
	f.Fuzz(func(t *testing.T, hi1, lo1 uint64, e1 int32, f1 uint8, hi2, lo2 uint64, e2 int32, f2 uint8) {
		a := fuzzDecimal(hi1, lo1, e1, f1)
		var b *apd.Decimal
		if f2 == 0xff {
			// The same value at a different scale.
			b = new(apd.Decimal).Set(a)
			if b.Form == apd.Finite {
				b.Coeff.Mul(&b.Coeff, apd.NewBigInt(1000))
				b.Exponent -= 3
			}
		} else {
			b = fuzzDecimal(hi2, lo2, e2, f2)
		}
		checkPair(t, DecimalValue(a), DecimalValue(b))
		if f2 == 0xff && compareDecimals(a, b) != 0 {
			t.Fatalf("rescaled %v != %v", a, b)
		}
	})
}

func FuzzStringOrder(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s, "a\x00")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkPair(t, StringValue(a), StringValue(b))
		checkPair(t, BytesValue([]byte(a)), BytesValue([]byte(b)))
	})
}

// FuzzDecodeNoPanic feeds arbitrary bytes to every decoder. Decoding must
// terminate without panicking, consume at least one byte per value, agree
// with PeekType and PeekLength, and anything that decodes must be canonical:
// re-encoding reproduces the consumed bytes.
func FuzzDecodeNoPanic(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x00, 0xff, 0x7f, 0x80})
	f.Add(EncodeDecimal(EncodeString(EncodeInt(nil, -300, Descending), "a\x00b", Ascending),
		mustDecimal("-1.5E-7"), Descending))
	f.Add(EncodeTime(EncodeUUID(EncodeFloat(nil, math.NaN(), Descending), uuid.Max, Ascending),
		time.Unix(-5, 7), Descending))
	f.Add(EncodeBytes(EncodeDate(EncodeBool(EncodeNull(nil, Descending), true, Ascending), -3, Ascending),
		[]byte{0, 0, 1}, Descending))
	f.Add(EncodeDecimal(EncodeUvarintAscending(nil, 1<<60), apd.New(10, math.MaxInt32), Ascending))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = PrettyPrint(data)
		_ = PrefixEnd(data)
		_, _ = DecodeIfNull(data)
		_, _, _ = DecodeBool(data)
		_, _, _ = DecodeInt(data)
		_, _, _ = DecodeUint(data)
		_, _, _ = DecodeUvarintAscending(data)
		_, _, _ = DecodeFloat(data)
		_, _, _ = DecodeDecimal(data)
		_, _, _ = DecodeString(data)
		_, _, _ = DecodeBytes(data)
		_, _, _ = DecodeTime(data)
		_, _, _ = DecodeDate(data)
		_, _, _ = DecodeUUID(data)
		for b := data; len(b) > 0; {
			typ, dir, perr := PeekType(b)
			n, lerr := PeekLength(b)
			rest, v, err := DecodeValue(b)
			if err != nil {
				break
			}
			used := len(b) - len(rest)
			if used <= 0 || perr != nil || typ != v.Type {
				t.Fatalf("% x: used %d, PeekType %v %v, decoded %v", b, used, typ, perr, v)
			}
			if lerr != nil || n != used {
				t.Fatalf("% x: PeekLength = %d, %v; decoded %d bytes", b, n, lerr, used)
			}
			if re := EncodeValue(nil, v, dir); !bytes.Equal(re, b[:used]) {
				t.Fatalf("non-canonical: % x decodes to %v which encodes as % x", b[:used], v, re)
			}
			b = rest
		}
	})
}

// byteSource turns fuzz bytes into values; it yields zeros once exhausted.
type byteSource struct{ b []byte }

func (s *byteSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = s.byte()
	}
	return binary.BigEndian.Uint64(buf[:])
}

// small returns a byte from a tiny alphabet, so that strings share prefixes
// and contain the bytes the escaping treats specially.
func (s *byteSource) small() byte {
	return []byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}[s.byte()%6]
}

func (s *byteSource) value(t Type) Value {
	sel := s.byte()
	if sel%8 == 0 {
		return NullValue()
	}
	smallInt := sel&0x10 != 0
	num := func() uint64 {
		if smallInt {
			return uint64(int64(int8(s.byte())))
		}
		return s.uint64()
	}
	switch t {
	case TypeBool:
		return BoolValue(sel&0x10 != 0)
	case TypeInt:
		return IntValue(int64(num()))
	case TypeUint:
		return UintValue(num())
	case TypeFloat:
		if smallInt {
			return FloatValue(float64(int8(s.byte())) / 4)
		}
		return FloatValue(math.Float64frombits(s.uint64()))
	case TypeDecimal:
		return DecimalValue(fuzzDecimal(0, num(), int32(int8(s.byte()))%8, s.byte()))
	case TypeString, TypeBytes:
		buf := make([]byte, s.byte()%6)
		for i := range buf {
			buf[i] = s.small()
		}
		if t == TypeString {
			return StringValue(string(buf))
		}
		return BytesValue(buf)
	case TypeTime:
		return TimeValue(time.Unix(int64(num()), int64(s.uint64()%2e9)-1e9))
	case TypeDate:
		return DateValue(int64(num()))
	case TypeUUID:
		var u uuid.UUID
		for i := range u {
			u[i] = s.small()
		}
		return UUIDValue(u)
	}
	return NullValue()
}

// FuzzTupleRoundTrip builds a schema and two tuples from the input, then
// checks that each key decodes back to its tuple and that the keys compare
// like the tuples.
func FuzzTupleRoundTrip(f *testing.F) {
	f.Add([]byte{3, 2, 0, 5, 1, 6, 0, 9, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
	f.Add([]byte{5, 6, 1, 7, 0, 6, 1, 10, 0, 4, 1, 1, 2, 2, 3, 3, 4, 4, 0x11, 0x11, 0x12, 0x13, 0x14, 0x15})
	f.Add([]byte("\x07\x01\x00\x02\x01\x03\x00\x04\x01\x05\x00\x08\x01\x09\x00aaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbb"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &byteSource{data}
		ncols := 1 + int(s.byte()%7)
		types := make([]Type, ncols)
		colDirs := make([]Direction, ncols)
		for c := range ncols {
			x := s.byte()
			types[c] = Type(x % uint8(numTypes))
			colDirs[c] = Direction(x >> 7)
		}
		var tuples [2][]Value
		var keys [2][]byte
		for i := range tuples {
			for c := range ncols {
				v := s.value(types[c])
				tuples[i] = append(tuples[i], v)
				keys[i] = EncodeValue(keys[i], v, colDirs[c])
			}
			rest := keys[i]
			for c, want := range tuples[i] {
				n, err := PeekLength(rest)
				if err != nil {
					t.Fatalf("PeekLength column %d: %v", c, err)
				}
				var got Value
				rest, got, err = DecodeValue(rest)
				if err != nil || got.Type != want.Type || compareValues(got, want) != 0 {
					t.Fatalf("column %d: decoded %v, %v; want %v", c, got, err, want)
				}
				if len(EncodeValue(nil, got, colDirs[c])) != n {
					t.Fatalf("column %d: PeekLength %d disagrees", c, n)
				}
			}
			if len(rest) != 0 {
				t.Fatalf("leftover % x", rest)
			}
			if pp := PrettyPrint(keys[i]); strings.Contains(pp, "/?") {
				t.Fatalf("PrettyPrint failed: %s", pp)
			}
		}
		want := compareTuples(tuples[0], tuples[1], colDirs)
		if got := bytes.Compare(keys[0], keys[1]); got != want {
			t.Fatalf("%v %v: %s vs %s: got %d want %d", types, colDirs,
				PrettyPrint(keys[0]), PrettyPrint(keys[1]), got, want)
		}
		if end := PrefixEnd(keys[0]); end != nil && cmp.Compare(string(keys[0]), string(end)) >= 0 {
			t.Fatalf("PrefixEnd not after key")
		}
	})
}
