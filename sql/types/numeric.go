package types

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Limits of numeric values, as in PostgreSQL: up to 131072 digits before
// the decimal point and up to 16383 after it. apd cannot represent
// adjusted exponents beyond ±100000, so the integer-digit limit here is
// that one.
const (
	maxNumericIntDigits = 100000
	maxNumericScale     = 16383
	// MaxDisplayScale is PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE: the
	// largest scale that arithmetic chooses by itself.
	MaxDisplayScale = 1000
	// MinSigDigits is PostgreSQL's NUMERIC_MIN_SIG_DIGITS: division and
	// transcendental functions give at least this many significant digits.
	MinSigDigits = 16
)

// DecimalCtx is an apd context with rounding half away from zero (as
// PostgreSQL rounds numerics) and no precision limit, for exact add, sub
// and mul. Do not modify it.
var DecimalCtx = &apd.Context{
	Precision:   0,
	MaxExponent: apd.MaxExponent,
	MinExponent: apd.MinExponent,
	Traps:       apd.DefaultTraps &^ apd.Inexact &^ apd.Rounded,
	Rounding:    apd.RoundHalfUp,
}

// errNumericOverflow is PostgreSQL's error for a value beyond the numeric
// format's limits.
func errNumericOverflow() error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
}

// NewDDecimal returns a normalized copy of d (see DDecimal's invariant):
// a positive exponent is multiplied out, a negative zero loses its sign.
// It fails with 22003 if d is beyond numeric's limits.
func NewDDecimal(d *apd.Decimal) (*DDecimal, error) {
	r := &DDecimal{}
	r.Set(d)
	if err := normalizeDecimal(&r.Decimal); err != nil {
		return nil, err
	}
	return r, nil
}

// normalizeDecimal establishes DDecimal's invariant on d in place.
func normalizeDecimal(d *apd.Decimal) error {
	switch d.Form {
	case apd.Finite:
	case apd.Infinite:
		d.Coeff.SetInt64(0)
		d.Exponent = 0
		return nil
	default:
		d.Form, d.Negative = apd.NaN, false
		d.Coeff.SetInt64(0)
		d.Exponent = 0
		return nil
	}
	if d.Coeff.Sign() < 0 {
		d.Coeff.Neg(&d.Coeff)
		d.Negative = !d.Negative
	}
	if d.Exponent > 0 {
		if int64(d.Exponent)+d.NumDigits() > maxNumericIntDigits {
			return errNumericOverflow()
		}
		var tmp apd.BigInt
		d.Coeff.Mul(&d.Coeff, tmp.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(d.Exponent)), nil))
		d.Exponent = 0
	}
	if d.Coeff.Sign() == 0 {
		d.Negative = false
	} else if int64(d.Exponent)+d.NumDigits() > maxNumericIntDigits {
		return errNumericOverflow()
	}
	if -d.Exponent > maxNumericScale {
		// PostgreSQL rounds results to at most NUMERIC_DSCALE_MAX digits
		// after the point; inputs with more are an error there, a rounding
		// here.
		roundDecimalInPlace(d, maxNumericScale)
	}
	return nil
}

// DecimalFromInt returns i as a numeric of scale 0.
func DecimalFromInt(i int64) *DDecimal {
	r := &DDecimal{}
	r.SetInt64(i)
	if r.Negative && r.Coeff.Sign() < 0 {
		r.Coeff.Neg(&r.Coeff)
	}
	return r
}

// MustParseDDecimal parses s as a numeric and panics on error; for tests
// and constants.
func MustParseDDecimal(s string) *DDecimal {
	d, err := ParseDDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDDecimal parses PostgreSQL numeric input: optional surrounding
// whitespace, an optional sign, digits with an optional point, an optional
// exponent; or NaN, Infinity, inf (any case, Infinity with a sign). The
// result's scale is the number of digits after the point minus the
// exponent (at least 0), as PostgreSQL's dscale.
func ParseDDecimal(s string) (*DDecimal, error) {
	in := strings.TrimSpace(s)
	bad := func() error {
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type numeric: \"%s\"", s)
	}
	r := &DDecimal{}
	switch strings.ToLower(in) {
	case "nan":
		r.Form = apd.NaN
		return r, nil
	case "infinity", "+infinity", "inf", "+inf":
		r.Form = apd.Infinite
		return r, nil
	case "-infinity", "-inf":
		r.Form, r.Negative = apd.Infinite, true
		return r, nil
	}
	coeff, exp, neg, ok := scanDecimal(in)
	if !ok {
		return nil, bad()
	}
	if _, ok := r.Coeff.SetString(coeff, 10); !ok {
		return nil, bad()
	}
	if exp > math.MaxInt32/2 || exp < math.MinInt32/2 {
		return nil, errNumericOverflow()
	}
	r.Exponent = int32(exp)
	r.Negative = neg
	if r.Coeff.Sign() != 0 && exp+int64(len(coeff)) > maxNumericIntDigits+1 {
		return nil, errNumericOverflow()
	}
	if err := normalizeDecimal(&r.Decimal); err != nil {
		return nil, err
	}
	return r, nil
}

// scanDecimal checks the syntax [+-]digits[.digits][e[+-]digits] (at least
// one digit in the mantissa) and returns the mantissa's digits without the
// point, the exponent adjusted for the digits after the point, and the
// sign.
func scanDecimal(s string) (coeff string, exp int64, neg, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var digits []byte
	nInt, nFrac := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		digits = append(digits, s[i])
		i++
		nInt++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits = append(digits, s[i])
			i++
			nFrac++
		}
	}
	if nInt+nFrac == 0 {
		return "", 0, false, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if exp < 1<<40 {
				exp = exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == start {
			return "", 0, false, false
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return "", 0, false, false
	}
	// Drop leading zeros (keeping one) so that coefficients stay small.
	j := 0
	for j < len(digits)-1 && digits[j] == '0' {
		j++
	}
	return string(digits[j:]), exp - int64(nFrac), neg, true
}

// appendDecimal appends numeric_out's text: plain notation with the
// value's scale, NaN, Infinity or -Infinity.
func appendDecimal(b []byte, d *apd.Decimal) []byte {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(b, "NaN"...)
	case apd.Infinite:
		if d.Negative {
			return append(b, "-Infinity"...)
		}
		return append(b, "Infinity"...)
	}
	if d.Negative && d.Coeff.Sign() != 0 {
		b = append(b, '-')
	}
	start := len(b)
	b = d.Coeff.Append(b, 10)
	if b[start] == '-' { // not normalized; be tolerant
		b = append(b[:start], b[start+1:]...)
	}
	if d.Exponent >= 0 {
		if d.Coeff.Sign() == 0 {
			return b[:start+1]
		}
		for range d.Exponent {
			b = append(b, '0')
		}
		return b
	}
	scale := int(-d.Exponent)
	n := len(b) - start
	if n <= scale {
		// 0.00ddd: insert "0." and leading zeros.
		pad := scale - n
		b = append(b, make([]byte, pad+2)...)
		copy(b[start+pad+2:], b[start:start+n])
		b[start], b[start+1] = '0', '.'
		for i := 0; i < pad; i++ {
			b[start+2+i] = '0'
		}
		return b
	}
	b = append(b, 0)
	p := len(b) - 1 - scale
	copy(b[p+1:], b[p:len(b)-1])
	b[p] = '.'
	return b
}

// roundDecimalInPlace rounds the finite d to scale digits after the point
// (scale may be negative: tens, hundreds...), halves away from zero. The
// result has exponent -scale for scale >= 0 and 0 otherwise. Non-finite
// values are left alone.
func roundDecimalInPlace(d *apd.Decimal, scale int32) {
	if d.Form != apd.Finite {
		return
	}
	target := -scale
	if d.Exponent < target {
		// Drop digits: divide the coefficient by 10^k with rounding.
		k := int64(target - d.Exponent)
		if k > d.NumDigits()+1 {
			d.Coeff.SetInt64(0)
		} else {
			var p, q, r apd.BigInt
			p.Exp(apd.NewBigInt(10), apd.NewBigInt(k), nil)
			q.QuoRem(&d.Coeff, &p, &r)
			r.Mul(&r, apd.NewBigInt(2))
			if r.Cmp(&p) >= 0 {
				q.Add(&q, apd.NewBigInt(1))
			}
			d.Coeff.Set(&q)
		}
		d.Exponent = target
	} else if d.Exponent > target {
		// Add trailing zeros.
		var p apd.BigInt
		p.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(d.Exponent-target)), nil)
		d.Coeff.Mul(&d.Coeff, &p)
		d.Exponent = target
	}
	if d.Exponent > 0 {
		var p apd.BigInt
		p.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(d.Exponent)), nil)
		d.Coeff.Mul(&d.Coeff, &p)
		d.Exponent = 0
	}
	if d.Coeff.Sign() == 0 {
		d.Negative = false
	}
}

// RoundDecimal returns d rounded half away from zero to scale digits after
// the point (negative scale rounds to tens, hundreds, ...); the result has
// display scale max(scale, 0). NaN and infinities are returned as they are.
func RoundDecimal(d *DDecimal, scale int32) *DDecimal {
	r := &DDecimal{}
	r.Set(&d.Decimal)
	roundDecimalInPlace(&r.Decimal, scale)
	return r
}

// TruncDecimal returns d truncated toward zero to scale digits after the
// point, with display scale max(scale, 0).
func TruncDecimal(d *DDecimal, scale int32) *DDecimal {
	r := &DDecimal{}
	r.Set(&d.Decimal)
	if r.Form != apd.Finite {
		return r
	}
	target := -scale
	if r.Exponent < target {
		k := int64(target - r.Exponent)
		if k > r.NumDigits() {
			r.Coeff.SetInt64(0)
		} else {
			var p apd.BigInt
			p.Exp(apd.NewBigInt(10), apd.NewBigInt(k), nil)
			r.Coeff.Quo(&r.Coeff, &p)
		}
		r.Exponent = target
	}
	roundDecimalInPlace(&r.Decimal, scale) // pads and normalizes exponent
	return r
}

// Scale returns d's display scale (digits after the point); 0 for
// non-finite values.
func (d *DDecimal) Scale() int32 {
	if d.Form != apd.Finite || d.Exponent > 0 {
		return 0
	}
	return -d.Exponent
}

// applyNumericTypmod rounds d to t's scale and checks t's precision, as
// PostgreSQL's apply_typmod.
func applyNumericTypmod(d *DDecimal, t *T) (*DDecimal, error) {
	if t.Precision <= 0 {
		return d, nil
	}
	p, s := t.Precision, t.Scale
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return d, nil
	case apd.Infinite:
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric field overflow").WithDetail(
			"A field with precision %d, scale %d cannot hold an infinite value.", p, s)
	}
	r := RoundDecimal(d, s)
	if r.Coeff.Sign() != 0 {
		maxDigits := int64(p - s)
		// Digits before the point: adjusted exponent + 1.
		intDigits := r.NumDigits() + int64(r.Exponent)
		if intDigits > maxDigits {
			lim := "1"
			if maxDigits != 0 {
				lim = "10^" + strconv.FormatInt(maxDigits, 10)
			}
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "numeric field overflow").WithDetail(
				"A field with precision %d, scale %d must round to an absolute value less than %s.", p, s, lim)
		}
	}
	return r, nil
}

// DecimalToInt converts d to an integer, rounding half away from zero, and
// checks it against an int type of the given width (16, 32, 64).
func DecimalToInt(d *DDecimal, width int32) (int64, error) {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert NaN to %s", intTypeName(width))
	case apd.Infinite:
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert infinity to %s", intTypeName(width))
	}
	r := RoundDecimal(d, 0)
	if r.NumDigits() > 19 {
		return 0, errIntOutOfRange(width)
	}
	i, err := r.Int64()
	if err != nil {
		return 0, errIntOutOfRange(width)
	}
	if !intFits(i, width) {
		return 0, errIntOutOfRange(width)
	}
	return i, nil
}

// DecimalToFloat converts d to the nearest float64 (NaN and infinities map
// to themselves). It fails with 22003 if d is beyond float8's range.
func DecimalToFloat(d *DDecimal) (float64, error) {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return math.NaN(), nil
	case apd.Infinite:
		if d.Negative {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	}
	s := string(appendDecimalSci(nil, &d.Decimal))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || (f == 0 && d.Coeff.Sign() != 0) {
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "\"%s\" is out of range for type double precision", FormatText(d, nil))
	}
	return f, nil
}

// appendDecimalSci appends the finite d as coefficient "e" exponent, a
// compact form that strconv parses.
func appendDecimalSci(b []byte, d *apd.Decimal) []byte {
	if d.Negative {
		b = append(b, '-')
	}
	b = d.Coeff.Append(b, 10)
	b = append(b, 'e')
	return strconv.AppendInt(b, int64(d.Exponent), 10)
}

// FloatToDecimal converts f as PostgreSQL's float8_numeric (digits = 15)
// or float4_numeric (digits = 6) does: f printed with that many
// significant digits, then parsed.
func FloatToDecimal(f float64, digits int) (*DDecimal, error) {
	r := &DDecimal{}
	switch {
	case math.IsNaN(f):
		r.Form = apd.NaN
		return r, nil
	case math.IsInf(f, 0):
		r.Form, r.Negative = apd.Infinite, f < 0
		return r, nil
	}
	bitSize := 64
	if digits <= 6 {
		bitSize = 32
	}
	return ParseDDecimal(strconv.FormatFloat(f, 'g', digits, bitSize))
}

// exactDecimalOfFloat returns the exact value of the finite f as a decimal
// (every binary float is a finite decimal fraction).
func exactDecimalOfFloat(f float64) *apd.Decimal {
	d := new(apd.Decimal)
	if f == 0 {
		return d
	}
	mant, exp := math.Frexp(math.Abs(f)) // f = mant * 2^exp, mant in [0.5, 1)
	m := int64(mant * (1 << 53))
	exp -= 53
	// Strip trailing zero bits to keep numbers small.
	for m&1 == 0 && m != 0 {
		m >>= 1
		exp++
	}
	var c big.Int
	c.SetInt64(m)
	if exp >= 0 {
		c.Lsh(&c, uint(exp))
		d.Coeff.SetMathBigInt(&c)
	} else {
		// m / 2^k = m * 5^k / 10^k
		var five big.Int
		five.Exp(big.NewInt(5), big.NewInt(int64(-exp)), nil)
		c.Mul(&c, &five)
		d.Coeff.SetMathBigInt(&c)
		d.Exponent = int32(exp)
	}
	d.Negative = f < 0
	return d
}

// numericDigits returns the finite d's magnitude in PostgreSQL's
// NumericVar form: base-10000 digits, most significant first, without
// leading or trailing zero digits, and the weight of the first one (the
// value is sum digits[i] * 10000^(weight-i)). Zero has no digits and
// weight 0.
func numericDigits(d *apd.Decimal) (weight int, digits []int16) {
	if d.Coeff.Sign() == 0 {
		return 0, nil
	}
	str := d.Coeff.Append(nil, 10)
	if str[0] == '-' {
		str = str[1:]
	}
	exp := int(d.Exponent)
	// Position of the last digit relative to the point: 10^exp. Pad the
	// right so that exp is a multiple of 4 and the left so that the length
	// is a multiple of 4.
	rpad := ((exp % 4) + 4) % 4
	for range rpad {
		str = append(str, '0')
	}
	exp -= rpad
	lpad := (4 - len(str)%4) % 4
	buf := make([]byte, lpad, lpad+len(str))
	for i := range buf {
		buf[i] = '0'
	}
	buf = append(buf, str...)
	n := len(buf) / 4
	digits = make([]int16, n)
	for i := range n {
		v := 0
		for _, c := range buf[4*i : 4*i+4] {
			v = v*10 + int(c-'0')
		}
		digits[i] = int16(v)
	}
	// The last group has weight exp/4.
	weight = exp/4 + n - 1
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	return weight, digits
}

// NumericWeight returns PostgreSQL's base-10000 weight of the finite
// non-zero d and its first base-10000 digit; (0, 0) for zero. Division and
// sqrt choose their result scale from it.
func NumericWeight(d *apd.Decimal) (weight int, first int) {
	w, digits := numericDigits(d)
	if len(digits) == 0 {
		return 0, 0
	}
	return w, int(digits[0])
}

func intTypeName(width int32) string {
	switch width {
	case 16:
		return "smallint"
	case 32:
		return "integer"
	}
	return "bigint"
}

// errIntOutOfRange is PostgreSQL's error for an int result out of range.
func errIntOutOfRange(width int32) error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "%s out of range", intTypeName(width))
}

// ErrIntOutOfRange returns the 22003 error "integer out of range" (or
// smallint/bigint) for an int type of the given width.
func ErrIntOutOfRange(width int32) error { return errIntOutOfRange(width) }

// intFits reports whether i fits in an int of the given width (16, 32 or
// 64; anything else is 64).
func intFits(i int64, width int32) bool {
	switch width {
	case 16:
		return i >= math.MinInt16 && i <= math.MaxInt16
	case 32:
		return i >= math.MinInt32 && i <= math.MaxInt32
	}
	return true
}

// IntFits reports whether i fits in an int type of the given width.
func IntFits(i int64, width int32) bool { return intFits(i, width) }

// reduceDecimal returns d without trailing zeros in its coefficient (1.500
// → 15E-1, 100 → 1E+2), in time linear in the number of digits (apd's
// Reduce is quadratic).
func reduceDecimal(d *apd.Decimal) *apd.Decimal {
	r := new(apd.Decimal)
	r.Set(d)
	if d.Form != apd.Finite {
		return r
	}
	if d.Coeff.Sign() == 0 {
		r.Exponent = 0
		return r
	}
	var c apd.BigInt
	c.Abs(&d.Coeff)
	s := c.Append(nil, 10)
	n := len(s)
	for n > 1 && s[n-1] == '0' {
		n--
	}
	if n < len(s) {
		r.Coeff.SetString(string(s[:n]), 10)
		r.Exponent += int32(len(s) - n)
	}
	return r
}

// DecimalIsInteger reports whether the finite d has no fractional part.
func DecimalIsInteger(d *apd.Decimal) bool {
	if d.Form != apd.Finite {
		return false
	}
	return d.Exponent >= 0 || reduceDecimal(d).Exponent >= 0
}
