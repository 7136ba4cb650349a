package plan

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// castFunc is the function the pgdialect pre-pass turns PostgreSQL casts
// (x::t, CAST(x AS t), typed literals) into.
const castFunc = "outpost_cast"

func (b *Builder) compileFunc(s *scope, n *ast.FuncCallExpr, hint *types.T) (Expr, error) {
	name := n.FnName.L
	if e, ok, err := b.arrayFunc(s, n); ok {
		return e, err
	}
	switch name {
	case castFunc:
		return b.compileCast(s, n)
	case "coalesce", "ifnull":
		args, err := b.compileArgs(s, n.Args, hint)
		if err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "COALESCE needs arguments")
		}
		t, args, err := b.unify(args, "COALESCE")
		if err != nil {
			return nil, err
		}
		return &Coalesce{Args: args, T: t}, nil
	case "nullif":
		if len(n.Args) != 2 {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "function nullif() requires two arguments")
		}
		l, err := b.compileExpr(s, n.Args[0], hint)
		if err != nil {
			return nil, err
		}
		r, err := b.compileExpr(s, n.Args[1], l.Type())
		if err != nil {
			return nil, err
		}
		eq, err := b.binaryExprs("=", l, r)
		if err != nil {
			return nil, err
		}
		return &Case{Whens: []Expr{eq}, Thens: []Expr{&Const{D: types.Null, T: l.Type()}}, Else: l, T: l.Type()}, nil
	case "if":
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function if does not exist")
	case "nextval", "currval", "setval", "lastval", "unique_rowid":
		args, err := b.compileArgs(s, n.Args, types.Text)
		if err != nil {
			return nil, err
		}
		for i := range args {
			if args[i], err = b.coerce(args[i], types.Text); err != nil {
				return nil, err
			}
		}
		b.volatile = true
		return &SeqFunc{Name: name, Args: args}, nil
	case "outpost_concat", "outpost_bitxor", "outpost_json_get", "outpost_json_get_text":
		// Operators the pre-pass spelled as functions (TiDB lacks them or
		// reads them differently).
		if len(n.Args) != 2 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "malformed operator %s", name)
		}
		l, err := b.compileExpr(s, n.Args[0], nil)
		if err != nil {
			return nil, err
		}
		r, err := b.compileExpr(s, n.Args[1], nil)
		if err != nil {
			return nil, err
		}
		return b.binaryExprs(operatorFuncs[name], l, r)
	case "outpost_json_get_path", "outpost_json_get_path_text",
		"outpost_timezone", "outpost_full_join":
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported yet", unsupportedFuncs[name])
	}
	if isAggregateName(name) {
		return nil, sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed here")
	}
	args, err := b.compileArgs(s, n.Args, nil)
	if err != nil {
		return nil, err
	}
	if call, err := b.sessionCall(name, args); err != nil || call != nil {
		return call, err
	}
	argTypes := make([]*types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	ov, err := builtins.LookupFunction(name, argTypes)
	if err != nil {
		return nil, err
	}
	for i := range args {
		want := argType(ov, i)
		if args[i], err = b.coerce(args[i], want); err != nil {
			return nil, err
		}
		if want != nil && want.Family != types.UnknownFamily && !args[i].Type().Equal(want) {
			args[i] = &Cast{E: args[i], T: want}
		}
	}
	if ov.Volatility == builtins.Volatile {
		b.volatile = true
	}
	return &Func{Name: name, Args: args, Ov: ov}, nil
}

func (b *Builder) compileArgs(s *scope, nodes []ast.ExprNode, hint *types.T) ([]Expr, error) {
	out := make([]Expr, len(nodes))
	for i, a := range nodes {
		e, err := b.compileExpr(s, a, hint)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (b *Builder) compileCast(s *scope, n *ast.FuncCallExpr) (Expr, error) {
	if len(n.Args) != 2 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "malformed cast")
	}
	tn, ok := b.stringLiteral(n.Args[1])
	if !ok {
		return nil, sqlerr.New(sqlerr.SyntaxError, "malformed cast target")
	}
	if strings.HasSuffix(strings.TrimSpace(tn), "[]") {
		return b.arrayCast(s, n.Args[0], tn)
	}
	t, err := types.ParseTypeName(tn)
	if err != nil {
		return nil, err
	}
	e, err := b.compileExpr(s, n.Args[0], t)
	if err != nil {
		return nil, err
	}
	if r, ok, err := b.regConversion(e, t); ok {
		return r, err
	}
	if c, ok := e.(*Const); ok {
		if c.D == types.Null {
			return &Const{D: types.Null, T: t}, nil
		}
		if c.T.Family == types.UnknownFamily {
			d, err := types.ParseText(t, string(c.D.(types.DString)), b.Eval)
			if err != nil {
				return nil, err
			}
			return &Const{D: d, T: t}, nil
		}
		d, err := types.Cast(c.D, t, true, b.loc())
		if err != nil {
			return nil, err
		}
		return &Const{D: d, T: t}, nil
	}
	if p, ok := e.(*Param); ok && p.T.Family == types.UnknownFamily {
		return b.coerce(p, t)
	}
	if e.Type().Equal(t) {
		return e, nil
	}
	return &Cast{E: e, T: t, Explicit: true}, nil
}

// ---- subqueries ----

func (b *Builder) compileSubquery(s *scope, sq *ast.SubqueryExpr, mode SubqueryMode, left ast.ExprNode, cmp *opcode.Op, not bool) (Expr, error) {
	inner := &scope{parent: s}
	node, err := b.buildQuery(inner, sq.Query)
	if err != nil {
		return nil, err
	}
	cols := node.Columns()
	b.subqueries++
	out := &Subquery{Plan: node, Mode: mode, Not: not, Correlated: inner.correlated, T: types.Bool, id: b.subqueries}
	switch mode {
	case SubqueryArray:
		out.T = types.Text // array text form (see arrays.go)
	case SubqueryScalar:
		if len(cols) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column")
		}
		out.T = cols[0].T
	case SubqueryIn, SubqueryAny, SubqueryAll:
		if len(cols) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns")
		}
		l, err := b.compileExpr(s, left, cols[0].T)
		if err != nil {
			return nil, err
		}
		op := "="
		if cmp != nil {
			op = binOpNames[*cmp]
		}
		rt := cols[0].T
		if l, err = b.coerce(l, rt); err != nil {
			return nil, err
		}
		if rt.Family == types.UnknownFamily {
			rt = l.Type()
		}
		ov, err := builtins.LookupBinaryOp(op, l.Type(), rt)
		if err != nil {
			return nil, err
		}
		out.E, out.Cmp = l, ov
	}
	return out, nil
}

func (b *Builder) compileCompareSubquery(s *scope, n *ast.CompareSubqueryExpr) (Expr, error) {
	sq, ok := n.R.(*ast.SubqueryExpr)
	if !ok {
		return nil, sqlerr.New(sqlerr.SyntaxError, "ANY/ALL needs a subquery")
	}
	mode := SubqueryAny
	if n.All {
		mode = SubqueryAll
	}
	op := n.Op
	return b.compileSubquery(s, sq, mode, n.L, &op, false)
}

// ---- aggregates ----

// findAggregates collects the aggregate calls of an expression (not
// descending into subqueries).
func findAggregates(n ast.Node, out *[]aggCall) {
	if n == nil {
		return
	}
	v := &aggFinder{out: out}
	n.Accept(v)
}

type aggFinder struct{ out *[]aggCall }

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	if a, ok := asAggCall(n); ok {
		*v.out = append(*v.out, a)
		return n, true
	}
	if _, ok := n.(*ast.SubqueryExpr); ok {
		return n, true
	}
	return n, false
}
func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// compileAggRef resolves an expression over aggregated rows: a GROUP BY
// expression or an aggregate call becomes a column of the HashAgg output.
func (b *Builder) compileAggRef(s *scope, n ast.ExprNode) (Expr, bool, error) {
	a := s.agg
	switch n.(type) {
	case ast.ValueExpr, ast.ParamMarkerExpr, *ast.SubqueryExpr, *ast.ExistsSubqueryExpr:
		return nil, false, nil
	}
	text := exprText(n)
	if i, ok := a.groups[text]; ok {
		return &ColRef{Idx: i, T: a.cols[i].t, Name: a.cols[i].name}, true, nil
	}
	if agg, ok := asAggCall(n); ok {
		if i, ok := a.aggs[exprText(agg.node)]; ok {
			return &ColRef{Idx: i, T: a.cols[i].t, Name: agg.name}, true, nil
		}
	}
	if c, ok := n.(*ast.ColumnNameExpr); ok {
		// A column of the aggregation input that is not grouped.
		if idx, depth, _, err := a.input.resolve(c.Name.Table.O, c.Name.Name.O); err == nil && depth == 0 {
			name := c.Name.Name.O
			if tbl := a.input.cols[idx].table; tbl != "" {
				name = tbl + "." + name
			}
			return nil, true, sqlerr.New(sqlerr.GroupingError, "column %q must appear in the GROUP BY clause or be used in an aggregate function", name)
		}
	}
	return nil, false, nil
}

func aggName(f string) string { return strings.ToLower(f) }

// argType is the declared type of argument i (variadic functions repeat
// their last parameter).
func argType(ov *builtins.FuncOverload, i int) *types.T {
	if len(ov.Args) == 0 {
		return nil
	}
	if i >= len(ov.Args) {
		if !ov.Variadic {
			return nil
		}
		return ov.Args[len(ov.Args)-1]
	}
	return ov.Args[i]
}

var operatorFuncs = map[string]string{
	"outpost_concat": "||", "outpost_bitxor": "#", "outpost_json_get": "->", "outpost_json_get_text": "->>",
}

var unsupportedFuncs = map[string]string{
	"outpost_json_get_path": "the #> operator", "outpost_json_get_path_text": "the #>> operator",
	"outpost_timezone": "AT TIME ZONE", "outpost_full_join": "FULL JOIN in this position",
}

// aggregateNames are aggregates the TiDB grammar does not know as such
// (it parses them as plain function calls) plus the ones it does.
var aggregateNames = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "bool_and": true, "bool_or": true,
	"every": true, "string_agg": true, "array_agg": true, "stddev": true, "variance": true,
}

func isAggregateName(name string) bool { return aggregateNames[name] }

// aggCall is an aggregate call in either AST form.
type aggCall struct {
	node     ast.ExprNode
	name     string
	args     []ast.ExprNode
	distinct bool
}

func asAggCall(n ast.Node) (aggCall, bool) {
	switch x := n.(type) {
	case *ast.AggregateFuncExpr:
		return aggCall{node: x, name: strings.ToLower(x.F), args: x.Args, distinct: x.Distinct}, true
	case *ast.FuncCallExpr:
		if isAggregateName(x.FnName.L) {
			return aggCall{node: x, name: x.FnName.L, args: x.Args}, true
		}
	}
	return aggCall{}, false
}
