package builtins

import (
	"fmt"
	"testing"

	"github.com/outpostdb/outpost/sql/types"
)

// TestDateTimeAgainstPG evaluates pgDateTimeExprs on random timestamps and
// intervals in several time zones (including half-hour DST and +12:45
// zones) and compares with PostgreSQL 15 (pgdatetime_test.go): timestamp
// and timestamptz arithmetic, age, date_trunc, extract, date_part, casts,
// interval multiplication, justify_interval, to_json.
func TestDateTimeAgainstPG(t *testing.T) {
	for i, r := range pgDateTimeRows {
		loc, ok := types.LoadLocation(r.tz)
		if !ok {
			t.Fatalf("zone %s", r.tz)
		}
		ctx := &types.EvalContext{Location: loc}
		parse := func(typ *types.T, s string) types.Datum {
			d, err := types.ParseText(typ, s, ctx)
			if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			return d
		}
		a, b, tt, iv := parse(types.Timestamp, r.a), parse(types.Timestamp, r.b), parse(types.TimestampTZ, r.a), parse(types.Interval, r.iv)
		u, f := types.DString(r.u), types.DString(r.f)
		must := func(d types.Datum, err error) types.Datum {
			if err != nil {
				panic(err)
			}
			return d
		}
		cast := func(d types.Datum, to *types.T) types.Datum {
			return must(types.CastFrom(d, d.ResolvedType(), to, true, ctx))
		}
		op := func(o string, x, y types.Datum) types.Datum { return must(BinaryOp(ctx, o, x, y)) }
		call := func(name string, args ...types.Datum) types.Datum { return must(CallFunction(ctx, name, args...)) }
		exprs := []func() types.Datum{
			func() types.Datum { return a },
			func() types.Datum { return tt },
			func() types.Datum { return op("+", a, iv) },
			func() types.Datum { return op("+", tt, iv) },
			func() types.Datum { return op("-", a, iv) },
			func() types.Datum { return op("-", a, b) },
			func() types.Datum { return op("-", tt, cast(b, types.TimestampTZ)) },
			func() types.Datum { return call("age", a, b) },
			func() types.Datum { return call("age", tt, cast(b, types.TimestampTZ)) },
			func() types.Datum { return call("date_trunc", u, a) },
			func() types.Datum { return call("date_trunc", u, tt) },
			func() types.Datum { return call("extract", f, a) },
			func() types.Datum { return call("extract", f, tt) },
			func() types.Datum { return call("date_part", f, a) },
			func() types.Datum { return op("-", cast(a, types.Date), cast(b, types.Date)) },
			func() types.Datum { return cast(tt, types.Date) },
			func() types.Datum { return cast(tt, types.Timestamp) },
			func() types.Datum { return cast(a, types.TimestampTZ) },
			func() types.Datum { return call("extract", f, iv) },
			func() types.Datum { return call("date_trunc", u, iv) },
			func() types.Datum { return op("*", iv, types.DFloat(1.7)) },
			func() types.Datum { return op("/", iv, types.DFloat(3.3)) },
			func() types.Datum { return call("justify_interval", iv) },
			func() types.Datum { return call("to_json", tt) },
		}
		for j, e := range exprs {
			got := func() (s string) {
				defer func() {
					if x := recover(); x != nil {
						s = "ERROR"
					}
				}()
				v := e()
				if v == types.Null {
					return "NULL"
				}
				return types.FormatText(v, loc)
			}()
			if got != r.out[j] {
				t.Errorf("%s", fmt.Sprintf("row %d (tz %s, a=%s, b=%s, iv=%s, u=%s, f=%s): %s = %s, PostgreSQL %s",
					i, r.tz, r.a, r.b, r.iv, r.u, r.f, pgDateTimeExprs[j], got, r.out[j]))
			}
		}
	}
}
