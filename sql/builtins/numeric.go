package builtins

import (
	"math"
	"strconv"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Numeric arithmetic follows PostgreSQL's numeric.c: exact addition,
// subtraction and multiplication (result scale max(s1,s2) and s1+s2),
// division and transcendental functions rounded half away from zero to a
// scale chosen as PostgreSQL chooses it (at least 16 significant digits,
// at least the inputs' scales, at most 1000), NaN and ±Infinity
// propagating as in PostgreSQL 14+.

const (
	codeInvalidPower = "2201F" // invalid_argument_for_power_function
	codeInvalidLog   = "2201E" // invalid_argument_for_logarithm
)

func newDec(d *apd.Decimal) (*types.DDecimal, error) {
	return types.NewDDecimal(d)
}

func decNaN() *types.DDecimal { r := &types.DDecimal{}; r.Form = apd.NaN; return r }

func decInf(neg bool) *types.DDecimal {
	r := &types.DDecimal{}
	r.Form, r.Negative = apd.Infinite, neg
	return r
}

func isNaN(d *types.DDecimal) bool { return d.Form == apd.NaN || d.Form == apd.NaNSignaling }
func isInf(d *types.DDecimal) bool { return d.Form == apd.Infinite }

func numNeg(d *types.DDecimal) *types.DDecimal {
	r := &types.DDecimal{}
	r.Set(&d.Decimal)
	if !isNaN(d) && (d.Form == apd.Infinite || d.Coeff.Sign() != 0) {
		r.Negative = !d.Negative
	}
	return r
}

func numAbs(d *types.DDecimal) *types.DDecimal {
	r := &types.DDecimal{}
	r.Set(&d.Decimal)
	r.Negative = false
	return r
}

// numericOp applies a binary numeric operator.
func numericOp(op string, a, b *types.DDecimal) (types.Datum, error) {
	switch op {
	case "+":
		return numAdd(a, b, false)
	case "-":
		return numAdd(a, b, true)
	case "*":
		return numMul(a, b)
	case "/":
		return numDiv(a, b)
	case "%":
		return numMod(a, b)
	case "^":
		return numPow(a, b)
	}
	return nil, sqlerr.New(sqlerr.InternalError, "unknown numeric operator %s", op)
}

func numAdd(a, b *types.DDecimal, sub bool) (*types.DDecimal, error) {
	if isNaN(a) || isNaN(b) {
		return decNaN(), nil
	}
	bneg := b.Negative
	if sub {
		bneg = !bneg
	}
	switch {
	case isInf(a) && isInf(b):
		if a.Negative != bneg {
			return decNaN(), nil
		}
		return decInf(a.Negative), nil
	case isInf(a):
		return decInf(a.Negative), nil
	case isInf(b):
		return decInf(bneg), nil
	}
	var r apd.Decimal
	var err error
	if sub {
		_, err = types.DecimalCtx.Sub(&r, &a.Decimal, &b.Decimal)
	} else {
		_, err = types.DecimalCtx.Add(&r, &a.Decimal, &b.Decimal)
	}
	if err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return newDec(&r)
}

func numMul(a, b *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(a) || isNaN(b) {
		return decNaN(), nil
	}
	if isInf(a) || isInf(b) {
		if (!isInf(a) && a.Coeff.Sign() == 0) || (!isInf(b) && b.Coeff.Sign() == 0) {
			return decNaN(), nil
		}
		return decInf(a.Negative != b.Negative), nil
	}
	if a.NumDigits()+int64(a.Exponent)+b.NumDigits()+int64(b.Exponent) > 131072 {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	var r apd.Decimal
	if _, err := types.DecimalCtx.Mul(&r, &a.Decimal, &b.Decimal); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return newDec(&r)
}

// divScale is PostgreSQL's select_div_scale: enough digits for 16
// significant digits in the quotient, at least the inputs' scales.
func divScale(a, b *types.DDecimal) int32 {
	w1, f1 := types.NumericWeight(&a.Decimal)
	w2, f2 := types.NumericWeight(&b.Decimal)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rscale := int32(types.MinSigDigits - qweight*4)
	rscale = max(rscale, a.Scale(), b.Scale(), 0)
	return min(rscale, types.MaxDisplayScale)
}

// quoRound returns a/b rounded half away from zero (or truncated) to scale
// digits after the point; b must be non-zero and both finite.
func quoRound(a, b *apd.Decimal, scale int32, truncate bool) *apd.Decimal {
	// a/b × 10^scale = ca/cb × 10^(ea - eb + scale)
	k := int64(a.Exponent) - int64(b.Exponent) + int64(scale)
	var num, den, ten, p apd.BigInt
	num.Abs(&a.Coeff)
	den.Abs(&b.Coeff)
	ten.SetInt64(10)
	if k >= 0 {
		p.Exp(&ten, apd.NewBigInt(k), nil)
		num.Mul(&num, &p)
	} else {
		p.Exp(&ten, apd.NewBigInt(-k), nil)
		den.Mul(&den, &p)
	}
	var q, r apd.BigInt
	q.QuoRem(&num, &den, &r)
	if !truncate {
		r.Mul(&r, apd.NewBigInt(2))
		if r.Cmp(&den) >= 0 {
			q.Add(&q, apd.NewBigInt(1))
		}
	}
	res := &apd.Decimal{Exponent: -scale}
	res.Coeff.Set(&q)
	res.Negative = a.Negative != b.Negative && q.Sign() != 0
	return res
}

func numDiv(a, b *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(a) || isNaN(b) {
		return decNaN(), nil
	}
	if isInf(a) {
		switch {
		case isInf(b):
			return decNaN(), nil
		case b.Coeff.Sign() == 0:
			return nil, errDivByZero()
		}
		return decInf(a.Negative != b.Negative), nil
	}
	if isInf(b) {
		return types.DecimalFromInt(0), nil
	}
	if b.Coeff.Sign() == 0 {
		return nil, errDivByZero()
	}
	if tooBigQuotient(a, b) {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	return newDec(quoRound(&a.Decimal, &b.Decimal, divScale(a, b), false))
}

// tooBigQuotient reports whether a/b has more integer digits than numeric
// allows.
func tooBigQuotient(a, b *types.DDecimal) bool {
	return (a.NumDigits()+int64(a.Exponent))-(b.NumDigits()+int64(b.Exponent)) > 131072
}

// NumericDivide divides as numeric's / operator does (exposed for avg).
func NumericDivide(a, b *types.DDecimal) (*types.DDecimal, error) { return numDiv(a, b) }

func numMod(a, b *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(a) || isNaN(b) {
		return decNaN(), nil
	}
	if isInf(a) {
		if !isInf(b) && b.Coeff.Sign() == 0 {
			return nil, errDivByZero()
		}
		return decNaN(), nil
	}
	if isInf(b) {
		return a, nil
	}
	if b.Coeff.Sign() == 0 {
		return nil, errDivByZero()
	}
	if tooBigQuotient(a, b) {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	q := quoRound(&a.Decimal, &b.Decimal, 0, true)
	var prod, r apd.Decimal
	if _, err := types.DecimalCtx.Mul(&prod, q, &b.Decimal); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if _, err := types.DecimalCtx.Sub(&r, &a.Decimal, &prod); err != nil {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
	}
	if r.Exponent > 0 { // keep the scale max(s1, s2)
		r.Exponent = 0
	}
	res, err := newDec(&r)
	if err != nil {
		return nil, err
	}
	return types.RoundDecimal(res, max(a.Scale(), b.Scale())), nil
}

// clampScale limits a result scale as PostgreSQL does.
func clampScale(s int32) int32 { return min(max(s, 0), types.MaxDisplayScale) }

// digitsBeforePoint returns the number of digits before the point of the
// finite non-zero d (may be <= 0 for |d| < 1): its decimal weight + 1.
func digitsBeforePoint(d *apd.Decimal) int64 { return d.NumDigits() + int64(d.Exponent) }

// approxCtx returns an apd context precise enough for a result with intDigits
// digits before the point and scale digits after it, plus guard digits.
func approxCtx(intDigits int64, scale int32) *apd.Context {
	p := max(intDigits, 1) + int64(scale) + 12
	c := apd.BaseContext.WithPrecision(uint32(min(p, 200000)))
	c.Rounding = apd.RoundHalfEven
	return c
}

// roundTo rounds the apd result to scale digits after the point (half
// away from zero) and normalizes it.
func roundTo(d *apd.Decimal, scale int32) (*types.DDecimal, error) {
	r, err := newDec(d)
	if err != nil {
		return nil, err
	}
	return types.RoundDecimal(r, scale), nil
}

func errNumericOverflow() error {
	return sqlerr.New(sqlerr.NumericValueOutOfRange, "value overflows numeric format")
}

// numSqrt is numeric sqrt(): scale from the argument's base-10000 weight.
func numSqrt(x *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(x) {
		return decNaN(), nil
	}
	if x.Negative && (isInf(x) || x.Coeff.Sign() != 0) {
		return nil, sqlerr.New(codeInvalidPower, "cannot take square root of a negative number")
	}
	if isInf(x) {
		return decInf(false), nil
	}
	w, _ := types.NumericWeight(&x.Decimal)
	sweight := (w+1)*4/2 - 1
	rscale := clampScale(max(int32(types.MinSigDigits-sweight), x.Scale()))
	if x.Coeff.Sign() == 0 {
		return types.RoundDecimal(types.DecimalFromInt(0), rscale), nil
	}
	var r apd.Decimal
	c := approxCtx(digitsBeforePoint(&x.Decimal)/2+1, rscale)
	if _, err := c.Sqrt(&r, &x.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

// decToFloat converts for scale estimates; huge values saturate.
func decToFloat(d *apd.Decimal) float64 {
	f, err := strconv.ParseFloat(d.Text('e'), 64)
	if err != nil {
		if d.Negative {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	return f
}

// numExp is numeric exp().
func numExp(x *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(x) {
		return decNaN(), nil
	}
	if isInf(x) {
		if x.Negative {
			return types.DecimalFromInt(0), nil
		}
		return decInf(false), nil
	}
	val := decToFloat(&x.Decimal) * 0.434294481903252
	if val > 131072 {
		return nil, errNumericOverflow()
	}
	val = max(val, -types.MaxDisplayScale)
	rscale := clampScale(max(int32(types.MinSigDigits-int(val)), x.Scale()))
	if val < -float64(types.MaxDisplayScale)-1 {
		return types.RoundDecimal(types.DecimalFromInt(0), rscale), nil
	}
	var r apd.Decimal
	c := approxCtx(int64(math.Max(val, 0))+1, rscale)
	if _, err := c.Exp(&r, &x.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

// lnDWeight is PostgreSQL's estimate_ln_dweight: the decimal weight of
// ln(x) for x > 0.
func lnDWeight(x *apd.Decimal) int {
	lo, hi := apd.New(9, -1), apd.New(11, -1)
	if x.Cmp(lo) >= 0 && x.Cmp(hi) <= 0 {
		var d apd.Decimal
		types.DecimalCtx.Sub(&d, x, apd.New(1, 0))
		if d.Coeff.Sign() == 0 {
			return 0
		}
		return int(digitsBeforePoint(&d) - 1)
	}
	// ln(x) ≈ ln(m) + e × ln(10) for x = m × 10^e, from the leading
	// digits (PostgreSQL uses its first two base-10000 digits).
	str := x.Coeff.String()
	n := min(len(str), 17)
	m, _ := strconv.ParseFloat(str[:n], 64)
	e := int64(x.Exponent) + int64(len(str)-n)
	lnv := math.Log(m) + float64(e)*2.302585092994046
	return int(math.Log10(math.Abs(lnv)))
}

// numLn is numeric ln().
func numLn(x *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(x) {
		return decNaN(), nil
	}
	if x.Negative && (isInf(x) || x.Coeff.Sign() != 0) {
		return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of a negative number")
	}
	if isInf(x) {
		return decInf(false), nil
	}
	if x.Coeff.Sign() == 0 {
		return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of zero")
	}
	rscale := clampScale(max(int32(types.MinSigDigits-lnDWeight(&x.Decimal)), x.Scale()))
	var r apd.Decimal
	c := approxCtx(7, rscale)
	if _, err := c.Ln(&r, &x.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

// numLog is numeric log(base, x).
func numLog(base, x *types.DDecimal) (*types.DDecimal, error) {
	if isNaN(base) || isNaN(x) {
		return decNaN(), nil
	}
	for _, v := range []*types.DDecimal{base, x} {
		if v.Negative && (isInf(v) || v.Coeff.Sign() != 0) {
			return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of a negative number")
		}
		if !isInf(v) && v.Coeff.Sign() == 0 {
			return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of zero")
		}
	}
	if isInf(base) {
		if isInf(x) {
			return decNaN(), nil
		}
		return types.DecimalFromInt(0), nil
	}
	if isInf(x) {
		if base.Cmp(apd.New(1, 0)) == 0 {
			return nil, errDivByZero()
		}
		return decInf(base.Cmp(apd.New(1, 0)) < 0), nil
	}
	if base.Cmp(apd.New(1, 0)) == 0 {
		return nil, errDivByZero()
	}
	rd := lnDWeight(&x.Decimal) - lnDWeight(&base.Decimal)
	rscale := clampScale(max(int32(types.MinSigDigits-rd), base.Scale(), x.Scale()))
	c := approxCtx(7, rscale+int32(max(rd, 0)))
	var lb, lx, r apd.Decimal
	if _, err := c.Ln(&lb, &base.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	if _, err := c.Ln(&lx, &x.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	if _, err := c.Quo(&r, &lx, &lb); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

// numPow is numeric power() and ^.
func numPow(a, b *types.DDecimal) (*types.DDecimal, error) {
	one := apd.New(1, 0)
	if isNaN(a) {
		if !isNaN(b) && !isInf(b) && b.Coeff.Sign() == 0 {
			return types.DecimalFromInt(1), nil
		}
		return decNaN(), nil
	}
	if isNaN(b) {
		if !isInf(a) && a.Cmp(one) == 0 {
			return types.DecimalFromInt(1), nil
		}
		return decNaN(), nil
	}
	aZero := !isInf(a) && a.Coeff.Sign() == 0
	if aZero && b.Negative && (isInf(b) || b.Coeff.Sign() != 0) {
		return nil, sqlerr.New(codeInvalidPower, "zero raised to a negative power is undefined")
	}
	bInt := !isInf(b) && isIntegral(&b.Decimal)
	if a.Negative && !isInf(a) && a.Coeff.Sign() != 0 && !isInf(b) && !bInt {
		return nil, sqlerr.New(codeInvalidPower, "a negative number raised to a non-integer power yields a complex result")
	}
	if isInf(a) || isInf(b) {
		// Follow POSIX pow() for the infinite cases, as PostgreSQL does.
		fa, fb := decToFloat(&a.Decimal), decToFloat(&b.Decimal)
		if isInf(a) {
			fa = math.Inf(1)
			if a.Negative {
				fa = math.Inf(-1)
			}
		}
		if isInf(b) {
			fb = math.Inf(1)
			if b.Negative {
				fb = math.Inf(-1)
			}
		}
		r := math.Pow(fa, fb)
		switch {
		case math.IsInf(r, 0):
			return decInf(r < 0), nil
		case r == 0:
			return types.DecimalFromInt(0), nil
		case r == 1:
			return types.DecimalFromInt(1), nil
		}
		return types.FloatToDecimal(r, 15)
	}
	if bInt {
		if e, err := b.Int64(); err == nil && e >= math.MinInt32 && e <= math.MaxInt32 {
			return numPowInt(a, e)
		}
	}
	// Non-integer (or huge) exponent: exp(b × ln(a)).
	if aZero {
		return types.RoundDecimal(types.DecimalFromInt(0), clampScale(max(types.MinSigDigits, a.Scale(), b.Scale()))), nil
	}
	// Estimate the result's decimal weight as PostgreSQL does, from ln(a)
	// rounded to 8 - dweight(ln a) digits times b.
	lnScale := int32(8 - lnDWeight(&a.Decimal))
	c := approxCtx(12, max(lnScale, 0)+8)
	var lna apd.Decimal
	if _, err := c.Ln(&lna, &a.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	lnaR, err := roundTo(&lna, lnScale)
	if err != nil {
		return nil, err
	}
	var lnNum apd.Decimal
	types.DecimalCtx.Mul(&lnNum, &lnaR.Decimal, &b.Decimal)
	lnNumR, err := roundTo(&lnNum, lnScale)
	if err != nil {
		return nil, err
	}
	val := decToFloat(&lnNumR.Decimal)
	if math.Abs(val) > types.MaxDisplayScale*3.01*10 {
		if val > 0 {
			return nil, errNumericOverflow()
		}
		return types.RoundDecimal(types.DecimalFromInt(0), types.MaxDisplayScale), nil
	}
	val *= 0.434294481903252
	if val > 131072 {
		return nil, errNumericOverflow()
	}
	rscale := clampScale(max(int32(types.MinSigDigits-int(val)), a.Scale(), b.Scale()))
	c = approxCtx(int64(math.Max(val, 0))+1, rscale)
	var r apd.Decimal
	if _, err := c.Pow(&r, &a.Decimal, &b.Decimal); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

// numPowInt is power_var_int: an integer exponent, result scale
// max(16, scale of a).
func numPowInt(a *types.DDecimal, e int64) (*types.DDecimal, error) {
	rscale := clampScale(max(types.MinSigDigits, a.Scale()))
	if e == 0 {
		return types.RoundDecimal(types.DecimalFromInt(1), rscale), nil
	}
	if a.Coeff.Sign() == 0 {
		return types.RoundDecimal(types.DecimalFromInt(0), rscale), nil
	}
	// Estimated decimal weight of the result.
	lg := math.Log10(math.Abs(decToFloat(&a.Decimal)))
	if math.IsInf(lg, 0) {
		lg = float64(digitsBeforePoint(&a.Decimal) - 1)
	}
	wt := float64(e) * lg
	if wt > 131072 {
		return nil, errNumericOverflow()
	}
	if wt < -float64(rscale)-2 {
		return types.RoundDecimal(types.DecimalFromInt(0), rscale), nil
	}
	c := approxCtx(int64(math.Max(wt, 0))+2, rscale)
	c.Precision += uint32(math.Log10(math.Abs(float64(e)))) + 2
	var r apd.Decimal
	if _, err := c.Pow(&r, &a.Decimal, apd.New(e, 0)); err != nil {
		return nil, errNumericOverflow()
	}
	return roundTo(&r, rscale)
}

func isIntegral(d *apd.Decimal) bool { return types.DecimalIsInteger(d) }
