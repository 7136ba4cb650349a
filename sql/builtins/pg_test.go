package builtins

import (
	"errors"
	"fmt"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// evalPGCase evaluates one recorded case the way a planner would: resolve
// the overload for the argument types, cast the arguments, call it.
func evalPGCase(c pgCase) (types.Datum, *types.T, error) {
	loc, ok := types.LoadLocation(c.tz)
	if !ok {
		return nil, nil, fmt.Errorf("unknown zone %s", c.tz)
	}
	ctx := &types.EvalContext{Location: loc}
	var argTypes []*types.T
	var args []types.Datum
	for _, a := range c.args {
		t, err := types.ParseTypeName(a.typ)
		if err != nil {
			return nil, nil, err
		}
		d := types.Datum(types.Null)
		if !a.null {
			if d, err = types.ParseText(t, a.val, ctx); err != nil {
				return nil, nil, err
			}
		}
		argTypes = append(argTypes, t)
		args = append(args, d)
	}
	castAll := func(params []*types.T) error {
		for i := range args {
			if isPseudo(params[i]) {
				continue
			}
			var err error
			if args[i], err = types.CastFrom(args[i], argTypes[i], params[i], false, ctx); err != nil {
				return err
			}
		}
		return nil
	}
	switch c.kind {
	case "op", "uop":
		var o *Overload
		var err error
		if c.kind == "op" {
			o, err = LookupBinaryOp(c.name, argTypes[0], argTypes[1])
		} else {
			o, err = LookupUnaryOp(c.name, argTypes[0])
		}
		if err != nil {
			return nil, nil, err
		}
		if c.kind == "op" {
			if err := castAll([]*types.T{o.Left, o.Right}); err != nil {
				return nil, nil, err
			}
			r, err := o.Call(ctx, args[0], args[1])
			return r, o.Result, err
		}
		if err := castAll([]*types.T{o.Right}); err != nil {
			return nil, nil, err
		}
		r, err := o.Call(ctx, nil, args[0])
		return r, o.Result, err
	case "fn":
		f, err := LookupFunction(c.name, argTypes)
		if err != nil {
			return nil, nil, err
		}
		if err := castAll(f.Args); err != nil {
			return nil, nil, err
		}
		r, err := f.Call(ctx, args)
		return r, f.Result, err
	case "agg":
		// All args but a string_agg delimiter are rows of one column.
		rows, extra := args, types.Datum(nil)
		rowType := argTypes[0]
		aggArgs := []*types.T{rowType}
		if c.name == "string_agg" {
			rows, extra = args[:len(args)-1], args[len(args)-1]
			aggArgs = append(aggArgs, types.Text)
		}
		a, err := LookupAggregate(c.name, aggArgs)
		if err != nil {
			return nil, nil, err
		}
		acc := a.New()
		for _, r := range rows {
			v, err := types.CastFrom(r, rowType, a.Args[0], false, ctx)
			if err != nil {
				return nil, nil, err
			}
			if extra != nil {
				err = acc.Add(ctx, v, extra)
			} else {
				err = acc.Add(ctx, v)
			}
			if err != nil {
				return nil, nil, err
			}
		}
		r, err := acc.Result()
		return r, a.Result, err
	}
	return nil, nil, fmt.Errorf("bad kind %s", c.kind)
}

// pgTypeName is the type as pg_typeof prints it (format_type without a
// modifier: bpchar is "character").
func pgTypeName(t *types.T) string {
	if t.Oid() == types.OidBpchar {
		return "character"
	}
	return t.WithoutModifiers().SQLString()
}

// TestAgainstPG checks operators, functions and aggregates against results
// recorded from PostgreSQL 15 (pgcases_test.go).
func TestAgainstPG(t *testing.T) {
	for _, c := range pgCases {
		name := fmt.Sprintf("%s %s %v (tz %s)", c.kind, c.name, c.args, c.tz)
		r, typ, err := evalPGCase(c)
		if c.code != "" {
			var se *sqlerr.Error
			if err == nil {
				t.Errorf("%s: got %v, want error %s %q", name, r, c.code, c.msg)
			} else if !errors.As(err, &se) || se.Code != c.code || se.Message != c.msg {
				t.Errorf("%s: got error %v (%s), want %s %q", name, err, sqlerr.Code(err), c.code, c.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
			continue
		}
		if got := pgTypeName(typ); got != c.typ {
			t.Errorf("%s: result type %s, want %s", name, got, c.typ)
		}
		if c.null {
			if r != types.Null {
				t.Errorf("%s: got %q, want NULL", name, types.AppendText(nil, typ, r, nil))
			}
			continue
		}
		if r == types.Null {
			t.Errorf("%s: got NULL, want %q", name, c.out)
			continue
		}
		loc, _ := types.LoadLocation(c.tz)
		if got := string(types.AppendText(nil, typ, r, loc)); got != c.out {
			t.Errorf("%s: got %q, want %q", name, got, c.out)
		}
	}
}
