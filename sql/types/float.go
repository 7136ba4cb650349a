package types

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ParseFloat parses PostgreSQL float input for float4 (width 32) or float8
// (any other width): surrounding whitespace, decimal notation with an
// optional exponent, NaN, Infinity, inf (any case, with a sign). A value
// that overflows, or underflows to zero, is 22003 `"1e400" is out of range
// for type double precision`, as in PostgreSQL. Hexadecimal input
// (accepted by glibc's strtod) is not.
func ParseFloat(s string, width int32) (float64, error) {
	typeName := "double precision"
	bits := 64
	if width == 32 {
		typeName, bits = "real", 32
	}
	in := strings.TrimSpace(s)
	switch strings.ToLower(in) {
	case "nan", "+nan", "-nan":
		return math.NaN(), nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	coeff, _, _, ok := scanDecimal(in)
	if !ok {
		return 0, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: \"%s\"", typeName, s)
	}
	f, err := strconv.ParseFloat(in, bits)
	if err != nil || (f == 0 && strings.Trim(coeff, "0") != "") {
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "\"%s\" is out of range for type %s", in, typeName)
	}
	return f, nil
}

// appendFloat appends PostgreSQL's float4out/float8out text with the
// default extra_float_digits (1, PostgreSQL 12+): the shortest digits that
// round-trip, in plain notation if the decimal exponent is in [-4, 15) (or
// [-4, 6) for float4), in exponent notation ("1e+20", "1.5e-05") otherwise.
func appendFloat(b []byte, f float64, width int32) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	bits, maxExp := 64, 15
	if width == 32 {
		bits, maxExp = 32, 6
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, bits)
	prec := -1
	if isMidpoint(string(b[start:]), f, bits) {
		// Go's shortest output may lie exactly halfway to a neighbouring
		// float (it still reads back correctly, ties to even); PostgreSQL's
		// Ryu excludes such boundary values and prints more digits, e.g.
		// 1e23 as 9.999999999999999e+22. Use the first precision whose
		// correctly rounded digits are not a boundary.
		i := strings.IndexByte(string(b[start:]), 'e')
		n := i - 1 // digits, minus the point
		if i == 1 {
			n = 1
		}
		for prec = n; prec <= 17; prec++ {
			b = strconv.AppendFloat(b[:start], f, 'e', prec-1, bits)
			if !isMidpoint(string(b[start:]), f, bits) {
				break
			}
		}
	}
	i := strings.LastIndexByte(string(b[start:]), 'e')
	exp, _ := strconv.Atoi(string(b[start+i+1:]))
	if exp < -4 || exp >= maxExp {
		if prec > 0 {
			// Fixed precision keeps trailing zeros; drop them.
			mant, e := string(b[start:start+i]), string(b[start+i:])
			if strings.Contains(mant, ".") {
				mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
			}
			return append(append(b[:start], mant...), e...)
		}
		return b
	}
	if prec > 0 {
		d := strconv.AppendFloat(nil, f, 'e', prec-1, bits)
		v, _ := new(big.Float).SetPrec(0).SetString(string(d))
		txt := v.Text('f', max(prec-1-exp, 0))
		if strings.Contains(txt, ".") {
			txt = strings.TrimRight(strings.TrimRight(txt, "0"), ".")
		}
		return append(b[:start], txt...)
	}
	return strconv.AppendFloat(b[:start], f, 'f', -1, bits)
}

// isMidpoint reports whether the decimal s (a rendering of the finite f)
// is exactly halfway between f and a neighbouring float of the given bit
// size. It first rules out, with integer arithmetic, decimals that have
// no short binary expansion (almost all of them).
func isMidpoint(s string, f float64, bits int) bool {
	mantBits := uint(54) // one more bit than float64's 53
	if bits == 32 {
		mantBits = 25
	}
	ie := strings.IndexByte(s, 'e')
	if ie < 0 {
		return false
	}
	k, err := strconv.Atoi(s[ie+1:])
	if err != nil {
		return false
	}
	digits := strings.Replace(strings.TrimPrefix(s[:ie], "-"), ".", "", 1)
	k -= len(digits) - 1 // value = D × 10^k
	digits = strings.TrimLeft(digits, "0")
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		k++
	}
	D, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || D == 0 {
		return false
	}
	// D × 10^k = D × 5^k × 2^k must have at most mantBits significant bits.
	fits := func(x *big.Int) bool {
		t := x.TrailingZeroBits()
		return uint(x.BitLen())-t <= mantBits
	}
	x := new(big.Int).SetUint64(D)
	if k >= 0 {
		if k > 30 {
			return false // 5^31 alone has more than 54 bits
		}
		x.Mul(x, new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(k)), nil))
	} else {
		if -k > 27 {
			return false // D < 2^64 cannot be a multiple of 5^28
		}
		p := new(big.Int).Exp(big.NewInt(5), big.NewInt(int64(-k)), nil)
		var r big.Int
		x.QuoRem(x, p, &r)
		if r.Sign() != 0 {
			return false
		}
	}
	if !fits(x) {
		return false
	}
	// The decimal has a short binary expansion: compare it exactly with f.
	v, _, err := big.ParseFloat(s, 10, 200, big.ToNearestEven)
	if err != nil {
		return false
	}
	fv := new(big.Float).SetPrec(200).SetFloat64(f)
	return v.Cmp(fv) != 0
}

// checkFloat returns PostgreSQL's errors for a float result: overflow when
// the result is infinite but no input was, underflow when it is zero but
// no input was (zeroOK lets a zero result pass).
func checkFloat(r float64, infOK, zeroOK bool) error {
	if math.IsInf(r, 0) && !infOK {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
	}
	if r == 0 && !zeroOK {
		return sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: underflow")
	}
	return nil
}

// CheckFloatResult is checkFloat for sql/builtins: r is the result of an
// operation whose inputs were infinite (infOK) or zero (zeroOK).
func CheckFloatResult(r float64, infOK, zeroOK bool) error { return checkFloat(r, infOK, zeroOK) }

// floatToFloat4 rounds f to float32 precision, failing like PostgreSQL's
// float8 → float4 cast on overflow and underflow.
func floatToFloat4(f float64) (float64, error) {
	r := float64(float32(f))
	if err := checkFloat(r, math.IsInf(f, 0), f == 0); err != nil {
		return 0, err
	}
	return r, nil
}

// FloatToInt converts f to an int of the given width, rounding half to even
// as PostgreSQL's rint() does, with range errors.
func FloatToInt(f float64, width int32) (int64, error) {
	r := math.RoundToEven(f)
	if math.IsNaN(r) || r < -9223372036854775808.0 || r >= 9223372036854775808.0 {
		return 0, errIntOutOfRange(width)
	}
	i := int64(r)
	if !intFits(i, width) {
		return 0, errIntOutOfRange(width)
	}
	return i, nil
}
