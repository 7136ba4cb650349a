package types

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ErrIncomparable is the cause of Compare's errors: a NULL argument, or
// values of families that have no common ordering (int and text).
var ErrIncomparable = errors.New("types: incomparable values")

func errIncomparable(a, b Datum) error {
	return sqlerr.Wrap(fmt.Errorf("%w: %s and %s", ErrIncomparable, a.ResolvedType().SQLString(), b.ResolvedType().SQLString()),
		sqlerr.DatatypeMismatch, "")
}

// Compare returns -1, 0 or +1 as a is less than, equal to or greater than
// b. Both must be non-NULL (NULL semantics belong to the caller; Compare
// returns an error wrapping ErrIncomparable if either is Null) and of
// comparable families:
//
//   - Int, Float and Decimal compare with each other by exact value
//     (1::int = 1.0::numeric = 1.0::float8, but 0.1::float8 ≠ 0.1::numeric
//     because the float is not exactly 0.1; the planner casts operands to
//     one type first, which gives PostgreSQL's cross-type results). NaN
//     equals NaN and is greater than every other number; -0 equals 0.
//   - Strings compare bytewise (C collation; char(n) values compare with
//     their padding); bytes bytewise.
//   - Dates, timestamps and timestamptz compare as instants, a timestamp
//     (and a date, at midnight) being read as UTC; ±infinity are the
//     extremes.
//   - Intervals compare by total span with a month of 30 days and a day of
//     24 hours, so '1 mon' = '30 days', as in PostgreSQL.
//   - UUIDs bytewise, bools false < true, oids as unsigned (and with ints
//     by value).
//   - json/jsonb by canonical jsonb text (not PostgreSQL's jsonb order,
//     but equality is exact).
//
// Compare is a total order on each comparable group, consistent with
// HashKey and with EncodeKey.
func Compare(a, b Datum) (int, error) {
	switch x := a.(type) {
	case DInt:
		switch y := b.(type) {
		case DInt:
			return cmpInt(int64(x), int64(y)), nil
		case DFloat:
			return cmpIntFloat(int64(x), float64(y)), nil
		case *DDecimal:
			return cmpDecimal(apd.New(int64(x), 0), &y.Decimal), nil
		case DOid:
			return cmpInt(int64(x), int64(y)), nil
		}
	case DFloat:
		switch y := b.(type) {
		case DFloat:
			return cmpFloat(float64(x), float64(y)), nil
		case DInt:
			return -cmpIntFloat(int64(y), float64(x)), nil
		case *DDecimal:
			return cmpFloatDecimal(float64(x), &y.Decimal), nil
		}
	case *DDecimal:
		switch y := b.(type) {
		case *DDecimal:
			return cmpDecimal(&x.Decimal, &y.Decimal), nil
		case DInt:
			return cmpDecimal(&x.Decimal, apd.New(int64(y), 0)), nil
		case DFloat:
			return -cmpFloatDecimal(float64(y), &x.Decimal), nil
		}
	case DString:
		if y, ok := b.(DString); ok {
			return strings.Compare(string(x), string(y)), nil
		}
	case DBytes:
		if y, ok := b.(DBytes); ok {
			return strings.Compare(string(x), string(y)), nil
		}
	case DBool:
		if y, ok := b.(DBool); ok {
			return cmpInt(b2i(bool(x)), b2i(bool(y))), nil
		}
	case DDate, DTimestamp, DTimestampTZ:
		if bm, ok := instantMicros(b); ok {
			am, _ := instantMicros(a)
			if da, ok := a.(DDate); ok {
				if db, ok := b.(DDate); ok {
					return cmpInt(int64(da), int64(db)), nil
				}
			}
			return cmpInt(am, bm), nil
		}
	case DInterval:
		if y, ok := b.(DInterval); ok {
			return CompareIntervals(x, y), nil
		}
	case DUUID:
		if y, ok := b.(DUUID); ok {
			return bytes.Compare(x[:], y[:]), nil
		}
	case *DJSON:
		if y, ok := b.(*DJSON); ok {
			return compareJSON(x, y), nil
		}
	case DOid:
		switch y := b.(type) {
		case DOid:
			return cmpInt(int64(x), int64(y)), nil
		case DInt:
			return cmpInt(int64(x), int64(y)), nil
		}
	}
	return 0, errIncomparable(a, b)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat is PostgreSQL's float8 order: NaN = NaN > everything else.
func cmpFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpIntFloat compares an int and a float exactly.
func cmpIntFloat(i int64, f float64) int {
	if math.IsNaN(f) {
		return -1
	}
	fi := float64(i)
	switch {
	case fi < f:
		return -1
	case fi > f:
		return 1
	}
	// float64(i) == f: f is integral. Compare exactly.
	if f >= 9223372036854775808.0 {
		return -1
	}
	return cmpInt(i, int64(f))
}

// decimalClass orders the forms: -Inf < finite < +Inf < NaN.
func decimalClass(d *apd.Decimal) int {
	switch d.Form {
	case apd.Infinite:
		if d.Negative {
			return 0
		}
		return 2
	case apd.Finite:
		return 1
	}
	return 3
}

func cmpDecimal(a, b *apd.Decimal) int {
	ca, cb := decimalClass(a), decimalClass(b)
	if ca != cb || ca != 1 {
		return cmpInt(int64(ca), int64(cb))
	}
	return a.Cmp(b)
}

func cmpFloatDecimal(f float64, d *apd.Decimal) int {
	var fd *apd.Decimal
	switch {
	case math.IsNaN(f):
		fd = &apd.Decimal{Form: apd.NaN}
	case math.IsInf(f, 0):
		fd = &apd.Decimal{Form: apd.Infinite, Negative: f < 0}
	default:
		if decimalClass(d) != 1 {
			return cmpInt(1, int64(decimalClass(d)))
		}
		fd = exactDecimalOfFloat(f)
	}
	return cmpDecimal(fd, d)
}

// instantMicros returns a date, timestamp or timestamptz as microseconds
// since 2000-01-01 (timestamps without zone read as UTC, dates at
// midnight; infinities as MaxInt64/MinInt64).
func instantMicros(d Datum) (int64, bool) {
	switch v := d.(type) {
	case DDate:
		switch v {
		case DatePosInf:
			return math.MaxInt64, true
		case DateNegInf:
			return math.MinInt64, true
		}
		// A date beyond the timestamp range compares beyond every finite
		// timestamp (and below infinity).
		if int64(v) >= endTimestampMicros/usPerDay {
			return endTimestampMicros, true
		}
		if int64(v) < minTimestampMicros/usPerDay {
			return minTimestampMicros - 1, true
		}
		return int64(v) * usPerDay, true
	case DTimestamp:
		return timeToMicros(v.Time), true
	case DTimestampTZ:
		return timeToMicros(v.Time), true
	}
	return 0, false
}

// intervalSpan returns iv's span normalized as (days, micros) with
// 0 <= micros < 1 day, a month being 30 days; it is exact (no overflow).
func intervalSpan(iv DInterval) (days, micros int64) {
	d := int64(iv.Months)*30 + int64(iv.Days)
	q := floorDiv(iv.Micros, usPerDay)
	return d + q, iv.Micros - q*usPerDay
}

// CompareIntervals orders intervals by total span (30-day months, 24-hour
// days), as PostgreSQL's interval_cmp.
func CompareIntervals(a, b DInterval) int {
	ad, au := intervalSpan(a)
	bd, bu := intervalSpan(b)
	if c := cmpInt(ad, bd); c != 0 {
		return c
	}
	return cmpInt(au, bu)
}

// Hash key tags. Numbers of every family share tags so that equal values
// hash equally.
const (
	hkNull    = 0x00
	hkFalse   = 0x01
	hkTrue    = 0x02
	hkNegInf  = 0x10
	hkFloat   = 0x11 // exactly representable as float64: the float's bits
	hkDecimal = 0x12 // otherwise: normalized decimal text
	hkPosInf  = 0x13
	hkNaN     = 0x14
	hkString  = 0x20
	hkBytes   = 0x21
	hkTime    = 0x30 // dates, timestamps and timestamptz as instants
	hkDate    = 0x34 // dates beyond the timestamp range
	hkIval    = 0x31
	hkUUID    = 0x32
	hkJSON    = 0x33
)

// HashKey appends to b a byte string that is equal for datums that
// Compare equal, and different otherwise (within a comparable group), for
// hash joins, GROUP BY and DISTINCT. Numbers are normalized across
// families: 1::int, 1.0::numeric and 1.0::float8 give the same key, so do
// 1.50 and 1.5. Keys are self-delimiting, so keys of several columns can
// be concatenated. Null has a key of its own (GROUP BY puts NULLs
// together).
func HashKey(b []byte, d Datum) []byte {
	switch v := d.(type) {
	case DNull:
		return append(b, hkNull)
	case DBool:
		if v {
			return append(b, hkTrue)
		}
		return append(b, hkFalse)
	case DInt:
		return hashInt(b, int64(v))
	case DOid:
		return hashInt(b, int64(v))
	case DFloat:
		return hashFloat(b, float64(v))
	case *DDecimal:
		return hashDecimal(b, &v.Decimal)
	case DString:
		return appendLenBytes(append(b, hkString), string(v))
	case DBytes:
		return appendLenBytes(append(b, hkBytes), string(v))
	case DDate, DTimestamp, DTimestampTZ:
		if dd, ok := v.(DDate); ok && !dd.IsInfinite() {
			if us, _ := instantMicros(dd); us == endTimestampMicros || us == minTimestampMicros-1 {
				// Equal to no timestamp: keyed by its day number.
				return binary.AppendVarint(append(b, hkDate), int64(dd))
			}
		}
		us, _ := instantMicros(v)
		return binary.BigEndian.AppendUint64(append(b, hkTime), uint64(us))
	case DInterval:
		days, us := intervalSpan(v)
		b = binary.AppendVarint(append(b, hkIval), days)
		return binary.AppendVarint(b, us)
	case DUUID:
		return append(append(b, hkUUID), v[:]...)
	case *DJSON:
		return appendLenBytes(append(b, hkJSON), v.canonical())
	}
	return b
}

func appendLenBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func hashInt(b []byte, i int64) []byte {
	f := float64(i)
	if f < 9223372036854775808.0 && int64(f) == i {
		return hashFloat(b, f)
	}
	return hashDecimal(b, apd.New(i, 0))
}

func hashFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, hkNaN)
	case math.IsInf(f, 1):
		return append(b, hkPosInf)
	case math.IsInf(f, -1):
		return append(b, hkNegInf)
	case f == 0:
		f = 0 // fold -0
	}
	return binary.BigEndian.AppendUint64(append(b, hkFloat), math.Float64bits(f))
}

func hashDecimal(b []byte, d *apd.Decimal) []byte {
	switch decimalClass(d) {
	case 0:
		return append(b, hkNegInf)
	case 2:
		return append(b, hkPosInf)
	case 3:
		return append(b, hkNaN)
	}
	if d.Coeff.Sign() == 0 {
		return hashFloat(b, 0)
	}
	r := reduceDecimal(d)
	sci := appendDecimalSci(nil, r)
	// Only values within float64's range (adjusted exponent in about
	// [-324, 308]) can equal a float.
	if adj := r.NumDigits() + int64(r.Exponent); adj > -330 && adj < 320 {
		if f, err := strconv.ParseFloat(string(sci), 64); err == nil && !math.IsInf(f, 0) && f != 0 {
			if exactDecimalOfFloat(f).Cmp(r) == 0 {
				return hashFloat(b, f)
			}
		}
	}
	// A value no float equals: the terminating length keeps keys
	// self-delimiting.
	b = append(b, hkDecimal)
	return appendLenBytes(b, string(sci))
}
