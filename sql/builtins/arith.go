package builtins

import (
	"math"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

func errDivByZero() error { return sqlerr.New(sqlerr.DivisionByZero, "division by zero") }

func width(t *types.T) int32 {
	if t.Width == 0 {
		return 64
	}
	return t.Width
}

// Integer arithmetic with PostgreSQL's overflow errors for the result
// width: "smallint out of range", "integer out of range", "bigint out of
// range".

func intAdd(a, b int64, w int32) (int64, error) {
	r := a + b
	if (a^r)&(b^r) < 0 || !types.IntFits(r, w) {
		return 0, types.ErrIntOutOfRange(w)
	}
	return r, nil
}

func intSub(a, b int64, w int32) (int64, error) {
	r := a - b
	if (a^b)&(a^r) < 0 || !types.IntFits(r, w) {
		return 0, types.ErrIntOutOfRange(w)
	}
	return r, nil
}

func intMul(a, b int64, w int32) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	r := a * b
	if r/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || !types.IntFits(r, w) {
		return 0, types.ErrIntOutOfRange(w)
	}
	return r, nil
}

// intDiv truncates toward zero, as C and PostgreSQL.
func intDiv(a, b int64, w int32) (int64, error) {
	if b == 0 {
		return 0, errDivByZero()
	}
	if b == -1 {
		if a == math.MinInt64 {
			return 0, types.ErrIntOutOfRange(w)
		}
		a = -a
		if !types.IntFits(a, w) {
			return 0, types.ErrIntOutOfRange(w)
		}
		return a, nil
	}
	return a / b, nil
}

// intMod has the sign of the dividend.
func intMod(a, b int64) (int64, error) {
	if b == 0 {
		return 0, errDivByZero()
	}
	if b == -1 {
		return 0, nil
	}
	return a % b, nil
}

func registerIntOps() {
	ints := []*types.T{types.Int2, types.Int4, types.Int8}
	for _, l := range ints {
		for _, r := range ints {
			res := l
			if width(r) > width(l) {
				res = r
			}
			w := width(res)
			addBin("+", l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
				v, err := intAdd(int64(a.(types.DInt)), int64(b.(types.DInt)), w)
				return types.DInt(v), err
			})
			addBin("-", l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
				v, err := intSub(int64(a.(types.DInt)), int64(b.(types.DInt)), w)
				return types.DInt(v), err
			})
			addBin("*", l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
				v, err := intMul(int64(a.(types.DInt)), int64(b.(types.DInt)), w)
				return types.DInt(v), err
			})
			addBin("/", l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
				v, err := intDiv(int64(a.(types.DInt)), int64(b.(types.DInt)), w)
				return types.DInt(v), err
			})
			addBin("%", l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
				v, err := intMod(int64(a.(types.DInt)), int64(b.(types.DInt)))
				return types.DInt(v), err
			})
			addCompare(l, r, Immutable)
		}
	}
	for _, t := range ints {
		w := width(t)
		addBin("&", t, t, t, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return a.(types.DInt) & b.(types.DInt), nil
		})
		addBin("|", t, t, t, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return a.(types.DInt) | b.(types.DInt), nil
		})
		addBin("#", t, t, t, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return a.(types.DInt) ^ b.(types.DInt), nil
		})
		// Shifts take an int4 count; like PostgreSQL on x86 the count is
		// taken modulo the width, and the result wraps within the width.
		addBin("<<", t, types.Int4, t, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return types.DInt(wrapInt(int64(a.(types.DInt))<<(uint64(b.(types.DInt))&uint64(w-1)), w)), nil
		})
		addBin(">>", t, types.Int4, t, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return types.DInt(int64(a.(types.DInt)) >> (uint64(b.(types.DInt)) & uint64(w-1))), nil
		})
		addUnary("~", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
			return ^x.(types.DInt), nil
		})
		addUnary("-", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
			v, err := intSub(0, int64(x.(types.DInt)), w)
			return types.DInt(v), err
		})
		addUnary("+", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) { return x, nil })
		addUnary("@", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
			return intAbs(x, w)
		})
	}
}

func intAbs(x types.Datum, w int32) (types.Datum, error) {
	v := int64(x.(types.DInt))
	if v < 0 {
		r, err := intSub(0, v, w)
		return types.DInt(r), err
	}
	return x, nil
}

// wrapInt truncates v to a two's complement integer of width w.
func wrapInt(v int64, w int32) int64 {
	switch w {
	case 16:
		return int64(int16(v))
	case 32:
		return int64(int32(v))
	}
	return v
}

// Float arithmetic, with PostgreSQL's checks: a finite result of finite
// inputs that overflows is "value out of range: overflow", one that
// underflows to zero from non-zero inputs "value out of range: underflow".
// float4 arithmetic is done in float32.

func floatOp(op byte, a, b float64, w int32) (float64, error) {
	var r float64
	zeroOK := true
	switch op {
	case '+':
		if w == 32 {
			r = float64(float32(a) + float32(b))
		} else {
			r = a + b
		}
	case '-':
		if w == 32 {
			r = float64(float32(a) - float32(b))
		} else {
			r = a - b
		}
	case '*':
		if w == 32 {
			r = float64(float32(a) * float32(b))
		} else {
			r = a * b
		}
		zeroOK = a == 0 || b == 0
	case '/':
		if b == 0 && !math.IsNaN(a) {
			return 0, errDivByZero()
		}
		if w == 32 {
			r = float64(float32(a) / float32(b))
		} else {
			r = a / b
		}
		zeroOK = a == 0 || math.IsInf(b, 0)
	}
	infOK := math.IsInf(a, 0) || math.IsInf(b, 0)
	if op == '/' {
		infOK = math.IsInf(a, 0)
	}
	if err := types.CheckFloatResult(r, infOK, zeroOK); err != nil {
		return 0, err
	}
	return r, nil
}

func registerFloatOps() {
	floats := []*types.T{types.Float4, types.Float8}
	for _, l := range floats {
		for _, r := range floats {
			res := types.Float8
			if l == types.Float4 && r == types.Float4 {
				res = types.Float4
			}
			w := width(res)
			for _, op := range []byte{'+', '-', '*', '/'} {
				op := op
				addBin(string(op), l, r, res, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
					v, err := floatOp(op, float64(a.(types.DFloat)), float64(b.(types.DFloat)), w)
					return types.DFloat(v), err
				})
			}
			addCompare(l, r, Immutable)
		}
	}
	addBin("^", types.Float8, types.Float8, types.Float8, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		v, err := floatPow(float64(a.(types.DFloat)), float64(b.(types.DFloat)))
		return types.DFloat(v), err
	})
	for _, t := range floats {
		addUnary("-", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) { return -x.(types.DFloat), nil })
		addUnary("+", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) { return x, nil })
		addUnary("@", t, t, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
			return types.DFloat(math.Abs(float64(x.(types.DFloat)))), nil
		})
	}
}

// floatPow is PostgreSQL's dpow.
func floatPow(a, b float64) (float64, error) {
	if math.IsNaN(a) {
		if math.IsNaN(b) || b != 0 {
			return math.NaN(), nil
		}
		return 1, nil
	}
	if math.IsNaN(b) {
		if a != 1 {
			return math.NaN(), nil
		}
		return 1, nil
	}
	if a == 0 && b < 0 {
		return 0, sqlerr.New("2201F", "zero raised to a negative power is undefined")
	}
	if a < 0 && !math.IsInf(b, 0) && math.Floor(b) != b && !math.IsInf(a, 0) {
		return 0, sqlerr.New("2201F", "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(a, b)
	infOK := math.IsInf(a, 0) || math.IsInf(b, 0)
	if math.IsInf(r, 0) && !infOK {
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: overflow")
	}
	if r == 0 && a != 0 && !infOK {
		// Underflow of a finite power (|a| < 1 with a large exponent or
		// |a| > 1 with a very negative one) is an error in PostgreSQL.
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "value out of range: underflow")
	}
	return r, nil
}

func registerNumericOps() {
	n := types.Numeric
	for _, op := range []string{"+", "-", "*", "/", "%", "^"} {
		op := op
		addBin(op, n, n, n, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			return numericOp(op, a.(*types.DDecimal), b.(*types.DDecimal))
		})
	}
	addCompare(n, n, Immutable)
	addUnary("-", n, n, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
		return numNeg(x.(*types.DDecimal)), nil
	})
	addUnary("+", n, n, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) { return x, nil })
	addUnary("@", n, n, func(_ *types.EvalContext, x types.Datum) (types.Datum, error) {
		return numAbs(x.(*types.DDecimal)), nil
	})
}

// compareOps are the comparison operators and how they read Compare's
// result.
var compareOps = []struct {
	op string
	f  func(int) bool
}{
	{"=", func(c int) bool { return c == 0 }},
	{"<>", func(c int) bool { return c != 0 }},
	{"<", func(c int) bool { return c < 0 }},
	{"<=", func(c int) bool { return c <= 0 }},
	{">", func(c int) bool { return c > 0 }},
	{">=", func(c int) bool { return c >= 0 }},
}

// addCompare registers the six comparisons between l and r using
// types.Compare (or a special comparison for bpchar).
func addCompare(l, r *types.T, v Volatility) {
	cmp := types.Compare
	if l.Oid() == types.OidBpchar && r.Oid() == types.OidBpchar {
		cmp = compareBpchar
	}
	for _, c := range compareOps {
		f := c.f
		addBin(c.op, l, r, types.Bool, v, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			n, err := cmp(a, b)
			if err != nil {
				return nil, err
			}
			return types.DBool(f(n)), nil
		})
	}
}

// compareBpchar compares char(n) values ignoring trailing spaces, as
// PostgreSQL's bpchar comparison.
func compareBpchar(a, b types.Datum) (int, error) {
	return strings.Compare(strings.TrimRight(string(a.(types.DString)), " "), strings.TrimRight(string(b.(types.DString)), " ")), nil
}

func registerCompareOps() {
	for _, t := range []*types.T{types.Bool, types.Text, types.Bpchar, types.Name, types.Bytea, types.Date,
		types.Timestamp, types.TimestampTZ, types.Interval, types.UUID, types.JSONB, types.Oid} {
		addCompare(t, t, Immutable)
	}
	// Cross-type date/time comparisons. Those involving timestamptz and a
	// type without zone depend on the session time zone in PostgreSQL
	// (the zoneless value is read in it); here, as in types.Compare, the
	// zoneless value is read as UTC, unless the planner casts it first.
	dt := []*types.T{types.Date, types.Timestamp, types.TimestampTZ}
	for _, l := range dt {
		for _, r := range dt {
			if l != r {
				addCompareDateTime(l, r)
			}
		}
	}
}

// addCompareDateTime registers comparisons between different date/time
// types; the zoneless operand is read in the session time zone when the
// other is a timestamptz, as PostgreSQL does.
func addCompareDateTime(l, r *types.T) {
	v := Immutable
	if l.Family == types.TimestampTZFamily || r.Family == types.TimestampTZFamily {
		v = Stable
	}
	for _, c := range compareOps {
		f := c.f
		addBin(c.op, l, r, types.Bool, v, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			if l.Family == types.TimestampTZFamily || r.Family == types.TimestampTZFamily {
				var err error
				if a, err = types.CastFrom(a, l, types.TimestampTZ, true, ctx); err != nil {
					return nil, err
				}
				if b, err = types.CastFrom(b, r, types.TimestampTZ, true, ctx); err != nil {
					return nil, err
				}
			}
			n, err := types.Compare(a, b)
			if err != nil {
				return nil, err
			}
			return types.DBool(f(n)), nil
		})
	}
}
