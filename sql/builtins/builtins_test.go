package builtins

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

func TestLike(t *testing.T) {
	for _, c := range []struct {
		s, p   string
		esc    rune
		ci     bool
		want   bool
		errory bool
	}{
		{"hello", "hello", '\\', false, true, false},
		{"hello", "h%", '\\', false, true, false},
		{"hello", "%llo", '\\', false, true, false},
		{"hello", "%l%l%", '\\', false, true, false},
		{"hello", "h_llo", '\\', false, true, false},
		{"hello", "h__lo", '\\', false, true, false},
		{"hello", "h_lo", '\\', false, false, false},
		{"héllo", "h_llo", '\\', false, true, false}, // _ is one character, not one byte
		{"日本語", "___", '\\', false, true, false},
		{"日本語", "__", '\\', false, false, false},
		{"", "", '\\', false, true, false},
		{"", "%", '\\', false, true, false},
		{"", "_", '\\', false, false, false},
		{"a", "", '\\', false, false, false},
		{"50%", "50\\%", '\\', false, true, false},
		{"500", "50\\%", '\\', false, false, false},
		{"a_b", "a\\_b", '\\', false, true, false},
		{"axb", "a\\_b", '\\', false, false, false},
		{"a\\b", "a\\\\b", '\\', false, true, false},
		{"50%", "50!%", '!', false, true, false},
		{"a\\b", "a\\b", 0, false, true, false}, // ESCAPE '': backslash is literal
		{"HeLLo", "hello", '\\', true, true, false},
		{"ÉCOLE", "école", '\\', true, true, false},
		{"hello", "HELLO", '\\', false, false, false},
		{"abcd", "abc\\", '\\', false, false, true},
		{"abc", "abc\\", '\\', false, false, false}, // as PostgreSQL: only an error if reached
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "%a%a%a%a%a%a%a%a%c", '\\', false, false, false},
	} {
		got, err := Like(c.s, c.p, c.esc, c.ci)
		if (err != nil) != c.errory {
			t.Errorf("Like(%q, %q): error %v", c.s, c.p, err)
			continue
		}
		if err != nil {
			if sqlerr.Code(err) != sqlerr.InvalidEscapeSequence {
				t.Errorf("Like(%q, %q): code %s", c.s, c.p, sqlerr.Code(err))
			}
			continue
		}
		if got != c.want {
			t.Errorf("Like(%q, %q, %q, %v) = %v", c.s, c.p, c.esc, c.ci, got)
		}
	}
	if r, err := LikeEscape(""); r != 0 || err != nil {
		t.Error("empty escape")
	}
	if r, err := LikeEscape("é"); r != 'é' || err != nil {
		t.Error("é escape")
	}
	if _, err := LikeEscape("ab"); sqlerr.Code(err) != sqlerr.InvalidEscapeSequence {
		t.Errorf("two-char escape: %v", err)
	}
}

func TestOperatorResolution(t *testing.T) {
	for _, c := range []struct {
		op          string
		l, r        *types.T
		left, right *types.T
		result      *types.T
	}{
		{"+", types.Int2, types.Int4, types.Int2, types.Int4, types.Int4},
		{"+", types.Int4, types.Int8, types.Int4, types.Int8, types.Int8},
		{"+", types.Int4, types.Numeric, types.Numeric, types.Numeric, types.Numeric},
		{"+", types.Int8, types.Float8, types.Float8, types.Float8, types.Float8},
		{"/", types.Float4, types.Int4, types.Float4, types.Float8, types.Float8}, // float48div, as PostgreSQL
		{"*", types.Float4, types.Float4, types.Float4, types.Float4, types.Float4},
		{"+", types.Numeric, types.Float8, types.Float8, types.Float8, types.Float8},
		{"+", types.Int4, types.Unknown, types.Int4, types.Int4, types.Int4},
		{"||", types.Text, types.Unknown, types.Text, types.Text, types.Text},
		{"||", types.Unknown, types.Unknown, types.Text, types.Text, types.Text},
		{"||", types.Varchar, types.Varchar, types.Text, types.Text, types.Text},
		{"||", types.Text, types.Int4, types.Text, AnyType, types.Text},
		{"=", types.Unknown, types.Unknown, types.Text, types.Text, types.Bool},
		{"=", types.MakeVarchar(3), types.Text, types.Text, types.Text, types.Bool},
		{"=", types.Bpchar, types.Bpchar, types.Bpchar, types.Bpchar, types.Bool},
		{"<", types.Int4, types.Int8, types.Int4, types.Int8, types.Bool},
		{"=", types.Date, types.TimestampTZ, types.Date, types.TimestampTZ, types.Bool},
		{"+", types.Date, types.Int4, types.Date, types.Int4, types.Date},
		{"+", types.Date, types.Interval, types.Date, types.Interval, types.Timestamp},
		{"-", types.TimestampTZ, types.TimestampTZ, types.TimestampTZ, types.TimestampTZ, types.Interval},
		{"*", types.Interval, types.Int4, types.Interval, types.Float8, types.Interval},
		{"->", types.JSONB, types.Unknown, types.JSONB, types.Text, types.JSONB},
		{"->>", types.JSON, types.Int4, types.JSON, types.Int4, types.Text},
		{"!=", types.Int4, types.Int4, types.Int4, types.Int4, types.Bool},
		{"~~", types.MakeVarchar(10), types.Unknown, types.Text, types.Text, types.Bool},
	} {
		o, err := LookupBinaryOp(c.op, c.l, c.r)
		if err != nil {
			t.Errorf("%s %s %s: %v", c.l, c.op, c.r, err)
			continue
		}
		if o.Left != c.left || o.Right != c.right || o.Result != c.result {
			t.Errorf("%s %s %s: got %s", c.l, c.op, c.r, o)
		}
	}
	for _, c := range []struct {
		op   string
		l, r *types.T
		code string
	}{
		{"+", types.Int4, types.Text, sqlerr.UndefinedFunction},
		{"-", types.Text, types.Text, sqlerr.UndefinedFunction},
		{"+", types.Unknown, types.Unknown, sqlerr.AmbiguousFunction},
		{"@@@", types.Int4, types.Int4, sqlerr.UndefinedFunction},
		{"<", types.JSON, types.JSON, sqlerr.UndefinedFunction}, // json has no ordering
	} {
		if _, err := LookupBinaryOp(c.op, c.l, c.r); sqlerr.Code(err) != c.code {
			t.Errorf("%s %s %s: got %v, want %s", c.l, c.op, c.r, err, c.code)
		}
	}
	if o, err := LookupUnaryOp("-", types.Int2); err != nil || o.Result != types.Int2 {
		t.Errorf("-int2: %v %v", o, err)
	}
	if _, err := LookupUnaryOp("-", types.Text); sqlerr.Code(err) != sqlerr.UndefinedFunction {
		t.Errorf("-text: %v", err)
	}
}

func TestFunctionResolution(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []*types.T
		params []*types.T
		result *types.T
		vol    Volatility
		strict bool
	}{
		{"LENGTH", []*types.T{types.MakeVarchar(5)}, []*types.T{types.Text}, types.Int4, Immutable, true},
		{"length", []*types.T{types.Unknown}, []*types.T{types.Text}, types.Int4, Immutable, true},
		{"round", []*types.T{types.Int4}, []*types.T{types.Float8}, types.Float8, Immutable, true},
		{"round", []*types.T{types.Numeric, types.Int2}, []*types.T{types.Numeric, types.Int4}, types.Numeric, Immutable, true},
		{"abs", []*types.T{types.Int2}, []*types.T{types.Int2}, types.Int2, Immutable, true},
		{"sqrt", []*types.T{types.Int8}, []*types.T{types.Float8}, types.Float8, Immutable, true},
		{"concat", []*types.T{types.Unknown, types.Int4, types.Bool}, []*types.T{types.Text, types.Int4, types.Bool}, types.Text, Stable, false},
		{"greatest", []*types.T{types.Int4, types.Numeric, types.Int8}, []*types.T{types.Numeric, types.Numeric, types.Numeric}, types.Numeric, Immutable, false},
		{"greatest", []*types.T{types.Unknown, types.Unknown}, []*types.T{types.Text, types.Text}, types.Text, Immutable, false},
		{"now", nil, []*types.T{}, types.TimestampTZ, Stable, true},
		{"random", nil, []*types.T{}, types.Float8, Volatile, true},
		{"gen_random_uuid", nil, []*types.T{}, types.UUID, Volatile, true},
		{"date_trunc", []*types.T{types.Unknown, types.Date}, []*types.T{types.Text, types.TimestampTZ}, types.TimestampTZ, Stable, true},
		{"extract", []*types.T{types.Text, types.Date}, []*types.T{types.Text, types.Date}, types.Numeric, Immutable, true},
		{"jsonb_build_object", []*types.T{types.Unknown, types.Int4}, []*types.T{types.Text, types.Int4}, types.JSONB, Stable, false},
		{"format", []*types.T{types.Text}, []*types.T{types.Text}, types.Text, Stable, false},
	} {
		f, err := LookupFunction(c.name, c.args)
		if err != nil {
			t.Errorf("%s%v: %v", c.name, c.args, err)
			continue
		}
		if len(f.Args) != len(c.params) || f.Result != c.result || f.Volatility != c.vol || f.Strict != c.strict {
			t.Errorf("%s%v: got args %v result %s %s strict=%v", c.name, c.args, f.Args, f.Result, f.Volatility, f.Strict)
			continue
		}
		for i := range c.params {
			if !f.Args[i].Equal(c.params[i]) {
				t.Errorf("%s%v: arg %d is %s, want %s", c.name, c.args, i, f.Args[i], c.params[i])
			}
		}
	}
	for _, c := range []struct {
		name string
		args []*types.T
		code string
		msg  string
	}{
		{"nosuch", []*types.T{types.Int4, types.Unknown}, sqlerr.UndefinedFunction, "function nosuch(integer, unknown) does not exist"},
		{"length", []*types.T{types.Int4}, sqlerr.UndefinedFunction, "function length(integer) does not exist"},
		{"concat", nil, sqlerr.UndefinedFunction, "function concat() does not exist"},
		{"lower", []*types.T{types.Text, types.Text}, sqlerr.UndefinedFunction, "function lower(text, text) does not exist"},
	} {
		_, err := LookupFunction(c.name, c.args)
		if e := sqlerr.Convert(err); err == nil || e.Code != c.code || e.Message != c.msg {
			t.Errorf("%s%v: got %v", c.name, c.args, err)
		}
	}
}

func TestStrictness(t *testing.T) {
	ctx := &types.EvalContext{}
	o, _ := LookupBinaryOp("+", types.Int4, types.Int4)
	if r, err := o.Call(ctx, types.Null, types.DInt(1)); r != types.Null || err != nil {
		t.Errorf("1 + NULL = %v, %v", r, err)
	}
	if r, err := BinaryOp(ctx, "/", types.DInt(1), types.Null); r != types.Null || err != nil {
		t.Errorf("1 / NULL = %v, %v (strictness comes before division by zero)", r, err)
	}
	f, _ := LookupFunction("length", []*types.T{types.Text})
	if r, _ := f.Call(ctx, []types.Datum{types.Null}); r != types.Null {
		t.Error("length(NULL) must be NULL")
	}
	r, err := CallFunction(ctx, "concat", types.DString("a"), types.Null, types.DInt(2))
	if err != nil || r != types.DString("a2") {
		t.Errorf("concat: %v %v", r, err)
	}
	r, err = CallFunction(ctx, "greatest", types.Null, types.DInt(2), types.DInt(5))
	if err != nil || r != types.DInt(5) {
		t.Errorf("greatest: %v %v", r, err)
	}
	r, err = CallFunction(ctx, "coalesce", types.Null, types.DString("x"))
	if err != nil || r != types.DString("x") {
		t.Errorf("coalesce: %v %v", r, err)
	}
}

func TestContextFunctions(t *testing.T) {
	loc, _ := types.LoadLocation("Asia/Kolkata")
	now := time.Date(2024, 1, 31, 20, 0, 0, 123456789, time.UTC)
	ctx := &types.EvalContext{Now: now, Location: loc, Rand: rand.New(rand.NewPCG(1, 1)),
		Clock: func() time.Time { return now.Add(time.Second) }}
	for _, c := range []struct {
		fn   string
		want string
	}{
		{"now", "2024-02-01 01:30:00.123457+05:30"},
		{"transaction_timestamp", "2024-02-01 01:30:00.123457+05:30"},
		{"statement_timestamp", "2024-02-01 01:30:00.123457+05:30"},
		{"clock_timestamp", "2024-02-01 01:30:01.123457+05:30"},
		{"current_date", "2024-02-01"},
		{"localtimestamp", "2024-02-01 01:30:00.123457"},
	} {
		r, err := CallFunction(ctx, c.fn)
		if err != nil {
			t.Fatal(err)
		}
		if got := types.FormatText(r, loc); got != c.want {
			t.Errorf("%s() = %s, want %s", c.fn, got, c.want)
		}
	}
	for i := 0; i < 100; i++ {
		r, _ := CallFunction(ctx, "random")
		if f := float64(r.(types.DFloat)); f < 0 || f >= 1 {
			t.Fatalf("random() = %v", f)
		}
		u, _ := CallFunction(ctx, "gen_random_uuid")
		id := u.(types.DUUID)
		if id[6]>>4 != 4 || id[8]>>6 != 2 {
			t.Fatalf("not a v4 uuid: %v", u)
		}
	}
	// 'today' in input uses the session zone and the transaction time.
	d, err := types.ParseText(types.Date, "today", ctx)
	if err != nil || types.FormatText(d, nil) != "2024-02-01" {
		t.Errorf("today: %v %v", d, err)
	}
}

func TestCommonType(t *testing.T) {
	for _, c := range []struct {
		in   []*types.T
		want *types.T
		code string
	}{
		{[]*types.T{types.Int4, types.Int8}, types.Int8, ""},
		{[]*types.T{types.Int4, types.Numeric, types.Float4}, types.Float4, ""},
		{[]*types.T{types.Unknown, types.Int4}, types.Int4, ""},
		{[]*types.T{types.Unknown, types.Unknown}, types.Text, ""},
		{[]*types.T{types.Varchar, types.Text}, types.Text, ""},
		{[]*types.T{types.MakeVarchar(3), types.MakeVarchar(3)}, types.MakeVarchar(3), ""},
		{[]*types.T{types.MakeVarchar(3), types.MakeVarchar(5)}, types.Varchar, ""},
		{[]*types.T{types.Date, types.TimestampTZ}, types.TimestampTZ, ""},
		{[]*types.T{types.Int4, types.Text}, nil, sqlerr.DatatypeMismatch},
		{[]*types.T{types.Bool, types.Int4}, nil, sqlerr.DatatypeMismatch},
	} {
		got, err := CommonType(c.in)
		if c.code != "" {
			if sqlerr.Code(err) != c.code {
				t.Errorf("%v: got %v %v", c.in, got, err)
			}
			continue
		}
		if err != nil || !got.Identical(c.want) {
			t.Errorf("%v: got %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

func aggregate(t *testing.T, name string, argTypes []*types.T, rows ...[]types.Datum) types.Datum {
	t.Helper()
	a, err := LookupAggregate(name, argTypes)
	if err != nil {
		t.Fatal(err)
	}
	acc := a.New()
	for _, r := range rows {
		if err := acc.Add(nil, r...); err != nil {
			t.Fatal(err)
		}
	}
	res, err := acc.Result()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAggregates(t *testing.T) {
	row := func(ds ...types.Datum) []types.Datum { return ds }
	i := func(v int64) []types.Datum { return row(types.DInt(v)) }
	if r := aggregate(t, "count", nil, row(), row(), row()); r != types.DInt(3) {
		t.Errorf("count(*) = %v", r)
	}
	if r := aggregate(t, "count", []*types.T{types.Int4}, i(1), row(types.Null)); r != types.DInt(1) {
		t.Errorf("count(x) = %v", r)
	}
	if r := aggregate(t, "count", []*types.T{types.Int4}); r != types.DInt(0) {
		t.Errorf("count over no rows = %v", r)
	}
	for _, name := range []string{"sum", "avg", "min", "max", "bool_and", "string_agg"} {
		args := []*types.T{types.Int4}
		switch name {
		case "bool_and":
			args = []*types.T{types.Bool}
		case "string_agg":
			args = []*types.T{types.Text, types.Text}
		}
		if r := aggregate(t, name, args); r != types.Null {
			t.Errorf("%s over no rows = %v", name, r)
		}
	}
	// sum(int8) switches to numeric past int64 without losing digits.
	max := int64(9223372036854775807)
	if r := aggregate(t, "sum", []*types.T{types.Int8}, i(max), i(max), i(-max)); types.FormatText(r, nil) != "9223372036854775807" {
		t.Errorf("sum(int8) = %v", r)
	}
	// sum(int4) is int8 and does not overflow at the int4 range.
	if r := aggregate(t, "sum", []*types.T{types.Int4}, i(2147483647), i(2147483647)); r != types.DInt(4294967294) {
		t.Errorf("sum(int4) = %v", r)
	}
	// string_agg uses each row's own delimiter.
	s := func(v string) types.Datum { return types.DString(v) }
	r := aggregate(t, "string_agg", []*types.T{types.Text, types.Text}, row(s("a"), s(",")), row(s("b"), s(";")), row(types.Null, s("!")), row(s("c"), types.Null))
	if r != types.DString("a;bc") {
		t.Errorf("string_agg = %v", r)
	}
	// Accumulators are independent.
	a, _ := LookupAggregate("sum", []*types.T{types.Int4})
	x, y := a.New(), a.New()
	x.Add(nil, types.DInt(1))
	if r, _ := y.Result(); r != types.Null {
		t.Error("accumulators share state")
	}
	if _, err := LookupAggregate("sum", []*types.T{types.Text}); sqlerr.Code(err) != sqlerr.UndefinedFunction {
		t.Errorf("sum(text): %v", err)
	}
	if a, err := LookupAggregate("max", []*types.T{types.MakeVarchar(4)}); err != nil || a.Result.Oid() != types.OidVarchar {
		t.Errorf("max(varchar): %v %v", a, err)
	}
}

func TestDSTArithmetic(t *testing.T) {
	loc, _ := types.LoadLocation("America/New_York")
	ctx := &types.EvalContext{Location: loc}
	ts, _ := types.ParseText(types.TimestampTZ, "2024-03-09 12:00", ctx)
	day, _ := types.ParseInterval("1 day")
	hours, _ := types.ParseInterval("24 hours")
	r1, err := BinaryOp(ctx, "+", ts, day)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := BinaryOp(ctx, "+", ts, hours)
	if got := types.FormatText(r1, loc); got != "2024-03-10 12:00:00-04" {
		t.Errorf("+1 day across DST: %s", got)
	}
	if got := types.FormatText(r2, loc); got != "2024-03-10 13:00:00-04" {
		t.Errorf("+24 hours across DST: %s", got)
	}
	diff, _ := BinaryOp(ctx, "-", r1, ts)
	if got := types.FormatText(diff, nil); got != "23:00:00" {
		t.Errorf("difference: %s", got)
	}
}
