package encoding

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
)

var dirs = []Direction{Ascending, Descending}

// mustDecimal parses s (apd syntax, e.g. "-1.5E+3", "NaN", "-Infinity").
func mustDecimal(s string) *apd.Decimal {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		panic(err)
	}
	return d
}

// decimalRank orders the classes of decimal values.
func decimalRank(d *apd.Decimal) int {
	switch {
	case d.Form == apd.Infinite && d.Negative:
		return 0
	case d.Form == apd.Finite:
		return 1
	case d.Form == apd.Infinite:
		return 2
	}
	return 3 // NaN
}

func compareDecimals(a, b *apd.Decimal) int {
	ra, rb := decimalRank(a), decimalRank(b)
	if ra != rb || ra != 1 {
		return cmp.Compare(ra, rb)
	}
	return a.Cmp(b)
}

// compareFloats is the SQL order: -0 == +0, NaN == NaN and NaN is greatest.
func compareFloats(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}

// compareValues is the reference order of two values of the same type (or
// NULL, which is smallest), independent of the encoding.
func compareValues(a, b Value) int {
	if a.Type == TypeNull || b.Type == TypeNull {
		return cmp.Compare(b2i(a.Type != TypeNull), b2i(b.Type != TypeNull))
	}
	if a.Type != b.Type {
		panic("compareValues of different types")
	}
	switch a.Type {
	case TypeBool:
		return cmp.Compare(b2i(a.Bool), b2i(b.Bool))
	case TypeInt, TypeDate:
		return cmp.Compare(a.Int, b.Int)
	case TypeUint:
		return cmp.Compare(a.Uint, b.Uint)
	case TypeFloat:
		return compareFloats(a.Float, b.Float)
	case TypeDecimal:
		return compareDecimals(a.Decimal, b.Decimal)
	case TypeString:
		return strings.Compare(a.Str, b.Str)
	case TypeBytes:
		return bytes.Compare(a.Bytes, b.Bytes)
	case TypeTime:
		if c := cmp.Compare(a.Time.Unix(), b.Time.Unix()); c != 0 {
			return c
		}
		return cmp.Compare(a.Time.Nanosecond(), b.Time.Nanosecond())
	case TypeUUID:
		return bytes.Compare(a.UUID[:], b.UUID[:])
	}
	panic("bad type")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareTuples compares tuples column by column, inverting DESC columns.
func compareTuples(a, b []Value, dirs []Direction) int {
	for i := range a {
		c := compareValues(a[i], b[i])
		if dirs[i] == Descending {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func sign(x int) int { return cmp.Compare(x, 0) }

// checkValue verifies everything about one encoded value: the complement
// relation between directions, append semantics, decoding (generic and
// typed), canonical re-encoding, PeekType/PeekLength and that every proper
// prefix is reported as truncated.
func checkValue(t testing.TB, v Value, dir Direction) []byte {
	t.Helper()
	enc := EncodeValue(nil, v, dir)
	other := EncodeValue(nil, v, 1-dir)
	if len(enc) != len(other) {
		t.Fatalf("%v: ASC/DESC lengths differ", v)
	}
	for i := range enc {
		if enc[i] != ^other[i] {
			t.Fatalf("%v %v: % x is not the complement of % x", v, dir, enc, other)
		}
	}
	withPrefix := EncodeValue([]byte("pre"), v, dir)
	if !bytes.Equal(withPrefix, append([]byte("pre"), enc...)) {
		t.Fatalf("%v %v: append to non-empty buffer: % x vs % x", v, dir, withPrefix, enc)
	}

	typ, gotDir, err := PeekType(enc)
	if err != nil || typ != v.Type || gotDir != dir {
		t.Fatalf("%v %v: PeekType = %v %v %v", v, dir, typ, gotDir, err)
	}
	if n, err := PeekLength(append(enc, 0x42)); err != nil || n != len(enc) {
		t.Fatalf("%v %v: PeekLength = %d, %v; want %d", v, dir, n, err, len(enc))
	}
	rest, got, err := DecodeValue(append(enc, "tail"...))
	if err != nil {
		t.Fatalf("%v %v: DecodeValue(% x): %v", v, dir, enc, err)
	}
	if string(rest) != "tail" {
		t.Fatalf("%v %v: rest = %q", v, dir, rest)
	}
	if got.Type != v.Type || compareValues(got, v) != 0 {
		t.Fatalf("%v %v: decoded %v", v, dir, got)
	}
	if re := EncodeValue(nil, got, dir); !bytes.Equal(re, enc) {
		t.Fatalf("%v %v: re-encoding of decoded value % x != % x", v, dir, re, enc)
	}
	checkTyped(t, v, enc)
	for i := range len(enc) {
		if _, _, err := DecodeValue(enc[:i]); err == nil || !isTruncated(err) {
			t.Fatalf("%v %v: prefix % x: err = %v, want ErrTruncated", v, dir, enc[:i], err)
		}
		if _, err := PeekLength(enc[:i]); err == nil {
			t.Fatalf("%v %v: PeekLength of prefix % x succeeded", v, dir, enc[:i])
		}
	}
	return enc
}

func isTruncated(err error) bool { return errors.Is(err, ErrTruncated) }

// checkTyped decodes enc with the typed decoder for v's type and a
// mismatching one.
func checkTyped(t testing.TB, v Value, enc []byte) {
	t.Helper()
	var got Value
	var err error
	var rest []byte
	got.Type = v.Type
	switch v.Type {
	case TypeNull:
		var null bool
		rest, null = DecodeIfNull(enc)
		if !null {
			err = ErrCorrupt
		}
	case TypeBool:
		rest, got.Bool, err = DecodeBool(enc)
	case TypeInt:
		rest, got.Int, err = DecodeInt(enc)
	case TypeUint:
		rest, got.Uint, err = DecodeUint(enc)
	case TypeFloat:
		rest, got.Float, err = DecodeFloat(enc)
	case TypeDecimal:
		rest, got.Decimal, err = DecodeDecimal(enc)
	case TypeString:
		rest, got.Str, err = DecodeString(enc)
	case TypeBytes:
		rest, got.Bytes, err = DecodeBytes(enc)
	case TypeTime:
		rest, got.Time, err = DecodeTime(enc)
	case TypeDate:
		rest, got.Int, err = DecodeDate(enc)
	case TypeUUID:
		rest, got.UUID, err = DecodeUUID(enc)
	}
	if err != nil || len(rest) != 0 || compareValues(got, v) != 0 {
		t.Fatalf("typed decode of %v: %v rest=%x err=%v", v, got, rest, err)
	}
	mismatch := DecodeInt
	if v.Type == TypeInt {
		mismatch = DecodeDate
	}
	if _, _, err := mismatch(enc); err == nil {
		t.Fatalf("decoding %v with the wrong type succeeded", v)
	}
}
