package builtins

import (
	"testing"

	"github.com/outpostdb/outpost/sql/types"
)

// TestNumericAgainstPG evaluates pgNumericExprs on random numeric pairs
// and compares with PostgreSQL 15's output (pgnumeric_test.go): division
// scale, exact arithmetic, sqrt/ln/exp/log/power rounding, round/trunc,
// numeric → float8 → text/numeric.
func TestNumericAgainstPG(t *testing.T) {
	ctx := &types.EvalContext{}
	must := func(d types.Datum, err error) types.Datum {
		if err != nil {
			panic(err)
		}
		return d
	}
	op := func(o string, a, b types.Datum) types.Datum { return must(BinaryOp(ctx, o, a, b)) }
	call := func(name string, args ...types.Datum) types.Datum { return must(CallFunction(ctx, name, args...)) }
	callInt4 := func(name string, a types.Datum, n int64) types.Datum {
		f, err := LookupFunction(name, []*types.T{types.Numeric, types.Int4})
		if err != nil {
			panic(err)
		}
		return must(f.Call(ctx, []types.Datum{a, types.DInt(n)}))
	}
	one, two, three := types.DecimalFromInt(1), types.DecimalFromInt(2), types.DecimalFromInt(3)
	for _, row := range pgNumericRows {
		a, b := types.MustParseDDecimal(row.a), types.MustParseDDecimal(row.b)
		blen := int64(len(row.b))
		results := []func() types.Datum{
			func() types.Datum { return op("/", a, b) },
			func() types.Datum { return op("*", a, b) },
			func() types.Datum { return op("+", a, b) },
			func() types.Datum { return op("-", a, b) },
			func() types.Datum { return call("mod", a, b) },
			func() types.Datum { return call("sqrt", call("abs", a)) },
			func() types.Datum { return call("ln", op("+", call("abs", a), one)) },
			func() types.Datum {
				return call("exp", op("*", op("/", a, op("+", call("abs", a), one)), types.DecimalFromInt(20)))
			},
			func() types.Datum {
				return call("power", op("+", call("abs", a), types.MustParseDDecimal("0.5")), op("*", op("/", b, op("+", call("abs", b), one)), three))
			},
			func() types.Datum { return call("power", a, types.DecimalFromInt(blen%7-3)) },
			func() types.Datum { return call("log", op("+", call("abs", a), two)) },
			func() types.Datum { return call("log", op("+", call("abs", a), two), op("+", call("abs", b), three)) },
			func() types.Datum { return callInt4("round", a, blen%9-4) },
			func() types.Datum { return callInt4("trunc", a, blen%9-4) },
			func() types.Datum { return call("div", a, b) },
			func() types.Datum {
				return types.DString(types.FormatText(must(types.Cast(a, types.Float8, true, nil)), nil))
			},
			func() types.Datum {
				return must(types.Cast(must(types.Cast(a, types.Float8, true, nil)), types.Numeric, true, nil))
			},
		}
		for j, f := range results {
			var got string
			func() {
				defer func() {
					if r := recover(); r != nil {
						got = "error: " + types.FormatText(types.DString(""), nil) + r.(error).Error()
					}
				}()
				got = types.FormatText(f(), nil)
			}()
			if got != row.out[j] {
				t.Errorf("a=%s b=%s: %s = %s, PostgreSQL %s", row.a, row.b, pgNumericExprs[j], got, row.out[j])
			}
		}
	}
}
