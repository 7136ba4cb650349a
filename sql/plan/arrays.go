package plan

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Arrays, as far as catalog queries need them. Outpost has no array type:
// array values are text in PostgreSQL's array text form ({a,b}, see
// types.ParseArrayText), produced by ARRAY(subquery), ARRAY[...], casts to
// type[] and the catalogs' array columns. The pgdialect pre-pass spells
// the array syntax as outpost_* functions; this file compiles them:
//
//	outpost_array((subquery))   elements of the subquery's column
//	outpost_array(a, b)         ARRAY[a, b]
//	x op outpost_any(arr)       x op ANY(arr); outpost_all for ALL
//	outpost_subscript(arr, i)   arr[i]: an element, typed by its context
//	outpost_cast(x, 't[]')      validates x as an array of t
//	arr || ARRAY(...)           array concatenation when a side is a
//	                            constructor (else || is text concatenation)
//	FROM f(args) AS a           set-returning functions generate_series
//	                            and unnest (SRFScan)

// arrayFunc compiles the array helper functions; ok is false for others.
func (b *Builder) arrayFunc(s *scope, n *ast.FuncCallExpr) (Expr, bool, error) {
	switch name := n.FnName.L; {
	case name == "outpost_array":
		e, err := b.compileArrayConstructor(s, n)
		return e, true, err
	case name == "outpost_subscript":
		if len(n.Args) != 2 {
			return nil, true, sqlerr.New(sqlerr.SyntaxError, "malformed subscript")
		}
		arr, err := b.compileExpr(s, n.Args[0], types.Text)
		if err != nil {
			return nil, true, err
		}
		if arr, err = b.arrayOperand(arr); err != nil {
			return nil, true, err
		}
		idx, err := b.compileExpr(s, n.Args[1], types.Int4)
		if err != nil {
			return nil, true, err
		}
		if idx, err = b.coerce(idx, types.Int4); err != nil {
			return nil, true, err
		}
		if idx.Type().Family != types.IntFamily {
			return nil, true, sqlerr.New(sqlerr.DatatypeMismatch, "array subscript must have type integer")
		}
		return &ArrayElem{Arr: arr, Idx: idx, T: types.Unknown}, true, nil
	case name == "outpost_any" || name == "outpost_all":
		return nil, true, sqlerr.New(sqlerr.SyntaxError, "ANY/ALL (array) must follow a comparison operator")
	case strings.HasPrefix(name, "outpost_srf_"):
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning function %s is only supported as a FROM item", strings.TrimPrefix(name, "outpost_srf_"))
	case name == "outpost_concat" && len(n.Args) == 2 && (isArrayCall(n.Args[0]) || isArrayCall(n.Args[1])):
		l, err := b.compileExpr(s, n.Args[0], types.Text)
		if err != nil {
			return nil, true, err
		}
		r, err := b.compileExpr(s, n.Args[1], types.Text)
		if err != nil {
			return nil, true, err
		}
		if l, err = b.arrayOperand(l); err != nil {
			return nil, true, err
		}
		if r, err = b.arrayOperand(r); err != nil {
			return nil, true, err
		}
		return &ArrayCat{L: l, R: r}, true, nil
	}
	return nil, false, nil
}

func isArrayCall(n ast.ExprNode) bool {
	f, ok := n.(*ast.FuncCallExpr)
	return ok && f.FnName.L == "outpost_array"
}

// arrayOperand makes e an array-text operand (an unknown literal is read
// as an array literal, as PostgreSQL types '{1}' by context).
func (b *Builder) arrayOperand(e Expr) (Expr, error) {
	if isUnknown(e) {
		return b.coerce(e, types.Text)
	}
	if e.Type().Family != types.StringFamily {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot use a value of type %s as an array", e.Type())
	}
	return e, nil
}

func (b *Builder) compileArrayConstructor(s *scope, n *ast.FuncCallExpr) (Expr, error) {
	if len(n.Args) == 1 {
		if sq, ok := n.Args[0].(*ast.SubqueryExpr); ok {
			sub, err := b.compileSubquery(s, sq, SubqueryArray, nil, nil, false)
			if err != nil {
				return nil, err
			}
			if len(sub.(*Subquery).Plan.Columns()) != 1 {
				return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column")
			}
			return sub, nil
		}
	}
	args, err := b.compileArgs(s, n.Args, nil)
	if err != nil {
		return nil, err
	}
	_, args, err = b.unify(args, "ARRAY")
	if err != nil {
		return nil, err
	}
	return &ArrayCtor{Elems: args}, nil
}

// compileAnyArray compiles x op ANY|ALL (array).
func (b *Builder) compileAnyArray(s *scope, op string, ln ast.ExprNode, fn *ast.FuncCallExpr) (Expr, error) {
	if len(fn.Args) != 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "malformed ANY/ALL")
	}
	l, err := b.compileExpr(s, ln, nil)
	if err != nil {
		return nil, err
	}
	if isUnknown(l) {
		if l, err = b.coerce(l, types.Text); err != nil {
			return nil, err
		}
	}
	arr, err := b.compileExpr(s, fn.Args[0], types.Text)
	if err != nil {
		return nil, err
	}
	if arr, err = b.arrayOperand(arr); err != nil {
		return nil, err
	}
	ov, err := builtins.LookupBinaryOp(op, l.Type(), l.Type())
	if err != nil {
		return nil, err
	}
	return &AnyArray{E: l, Arr: arr, Cmp: ov, All: fn.FnName.L == "outpost_all", Op: op}, nil
}

// arrayCast compiles x::t[]: the text of x must be an array literal whose
// elements are valid t values; the result is the array in canonical text
// form.
func (b *Builder) arrayCast(s *scope, arg ast.ExprNode, tn string) (Expr, error) {
	elem, err := types.ParseTypeName(strings.TrimSuffix(strings.TrimSpace(tn), "[]"))
	if err != nil {
		return nil, err
	}
	e, err := b.compileExpr(s, arg, types.Text)
	if err != nil {
		return nil, err
	}
	if e, err = b.arrayOperand(e); err != nil {
		return nil, err
	}
	return &ArrayCast{E: e, Elem: elem}, nil
}

// ArrayCtor is ARRAY[a, b, ...].
type ArrayCtor struct{ Elems []Expr }

func (a *ArrayCtor) Type() *types.T { return types.Text }
func (a *ArrayCtor) String() string {
	parts := make([]string, len(a.Elems))
	for i, e := range a.Elems {
		parts[i] = e.String()
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]"
}
func (a *ArrayCtor) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	out := make([]*string, len(a.Elems))
	for i, e := range a.Elems {
		d, err := e.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if d != types.Null {
			v := string(types.AppendText(nil, e.Type(), d, ec.Eval.Location))
			out[i] = &v
		}
	}
	return types.DString(types.FormatArrayText(out)), nil
}

// arrayFromRows builds ARRAY(subquery)'s value from the first column.
func arrayFromRows(ec *ExecCtx, t *types.T, rows []Row) types.Datum {
	out := make([]*string, len(rows))
	for i, r := range rows {
		if r[0] != types.Null {
			v := string(types.AppendText(nil, t, r[0], ec.Eval.Location))
			out[i] = &v
		}
	}
	return types.DString(types.FormatArrayText(out))
}

func evalArray(ec *ExecCtx, e Expr, row Row) ([]*string, bool, error) {
	d, err := e.Eval(ec, row)
	if err != nil || d == types.Null {
		return nil, false, err
	}
	elems, err := types.ParseArrayText(string(d.(types.DString)))
	return elems, err == nil, err
}

// ArrayElem is arr[i] (1-based; out of range or NULL gives NULL). Its
// type is decided by context (coerceArrayElem), as elements carry no type.
type ArrayElem struct {
	Arr, Idx Expr
	T        *types.T
}

func (a *ArrayElem) Type() *types.T { return a.T }
func (a *ArrayElem) String() string { return fmt.Sprintf("%s[%s]", a.Arr, a.Idx) }
func (a *ArrayElem) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	elems, ok, err := evalArray(ec, a.Arr, row)
	if err != nil || !ok {
		return types.Null, err
	}
	i, err := a.Idx.Eval(ec, row)
	if err != nil || i == types.Null {
		return types.Null, err
	}
	n := int64(i.(types.DInt))
	if n < 1 || n > int64(len(elems)) || elems[n-1] == nil {
		return types.Null, nil
	}
	t := a.T
	if t.Family == types.UnknownFamily {
		t = types.Text
	}
	return types.ParseText(t, *elems[n-1], ec.Eval)
}

// coerceArrayElem gives an untyped array element the type its context
// wants.
func coerceArrayElem(e Expr, t *types.T) (Expr, bool) {
	if a, ok := e.(*ArrayElem); ok && a.T.Family == types.UnknownFamily {
		return &ArrayElem{Arr: a.Arr, Idx: a.Idx, T: t}, true
	}
	return nil, false
}

// AnyArray is E op ANY (Arr) / E op ALL (Arr), with SQL's NULL rules.
type AnyArray struct {
	E, Arr Expr
	Cmp    *builtins.Overload
	All    bool
	Op     string
}

func (a *AnyArray) Type() *types.T { return types.Bool }
func (a *AnyArray) String() string {
	q := "ANY"
	if a.All {
		q = "ALL"
	}
	return fmt.Sprintf("(%s %s %s(%s))", a.E, a.Op, q, a.Arr)
}
func (a *AnyArray) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	elems, ok, err := evalArray(ec, a.Arr, row)
	if err != nil || !ok {
		return types.Null, err
	}
	left, err := a.E.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return types.DBool(a.All), nil
	}
	if left == types.Null {
		return types.Null, nil
	}
	l, err := builtins.Coerce(ec.Eval, left, a.Cmp.Left)
	if err != nil {
		return nil, err
	}
	sawNull := false
	for _, e := range elems {
		if e == nil {
			sawNull = true
			continue
		}
		rv, err := types.ParseText(a.Cmp.Right, *e, ec.Eval)
		if err != nil {
			return nil, err
		}
		res, err := a.Cmp.Fn(ec.Eval, l, rv)
		if err != nil {
			return nil, err
		}
		match := res == types.DBool(true)
		if a.All && !match && res != types.Null {
			return types.DBool(false), nil
		}
		if !a.All && match {
			return types.DBool(true), nil
		}
		if res == types.Null {
			sawNull = true
		}
	}
	if sawNull {
		return types.Null, nil
	}
	return types.DBool(a.All), nil
}

// ArrayCat is array || array (NULL || a = a, as PostgreSQL's array_cat).
type ArrayCat struct{ L, R Expr }

func (a *ArrayCat) Type() *types.T { return types.Text }
func (a *ArrayCat) String() string { return fmt.Sprintf("(%s || %s)", a.L, a.R) }
func (a *ArrayCat) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	l, lok, err := evalArray(ec, a.L, row)
	if err != nil {
		return nil, err
	}
	r, rok, err := evalArray(ec, a.R, row)
	if err != nil {
		return nil, err
	}
	if !lok && !rok {
		return types.Null, nil
	}
	return types.DString(types.FormatArrayText(append(l, r...))), nil
}

// ArrayCast is x::t[]: elements are checked and normalized as t values.
type ArrayCast struct {
	E    Expr
	Elem *types.T
}

func (a *ArrayCast) Type() *types.T { return types.Text }
func (a *ArrayCast) String() string { return fmt.Sprintf("%s::%s[]", a.E, a.Elem) }
func (a *ArrayCast) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	elems, ok, err := evalArray(ec, a.E, row)
	if err != nil || !ok {
		return types.Null, err
	}
	out := make([]*string, len(elems))
	for i, e := range elems {
		if e == nil {
			continue
		}
		d, err := types.ParseText(a.Elem, *e, ec.Eval)
		if err != nil {
			return nil, err
		}
		v := string(types.AppendText(nil, a.Elem, d, ec.Eval.Location))
		out[i] = &v
	}
	return types.DString(types.FormatArrayText(out)), nil
}

// ---- set-returning functions in FROM ----

// srfSource recognizes the pre-pass's (SELECT outpost_srf_f(args)) AS a.
func (b *Builder) srfSource(s *scope, src ast.ResultSetNode, alias string) (Node, bool, error) {
	sel, ok := src.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.Where != nil {
		return nil, false, nil
	}
	f, ok := sel.Fields.Fields[0].Expr.(*ast.FuncCallExpr)
	if !ok || !strings.HasPrefix(f.FnName.L, "outpost_srf_") {
		return nil, false, nil
	}
	name := strings.TrimPrefix(f.FnName.L, "outpost_srf_")
	inner := &scope{parent: s.parent}
	args, err := b.compileArgs(inner, f.Args, nil)
	if err != nil {
		return nil, true, err
	}
	node := &SRFScan{Name: name, Args: args}
	switch name {
	case "generate_series":
		if len(args) != 2 && len(args) != 3 {
			return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "function generate_series with %d arguments does not exist", len(args))
		}
		t := types.Int4
		for _, a := range args {
			if !isUnknown(a) && a.Type().Family == types.IntFamily && a.Type().Width == 64 {
				t = types.Int8
			} else if !isUnknown(a) && a.Type().Family != types.IntFamily {
				return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "generate_series(%s) is not supported; only integers are", a.Type())
			}
		}
		for i := range args {
			if args[i], err = b.coerce(args[i], t); err != nil {
				return nil, true, err
			}
		}
		node.T = t
	case "unnest":
		if len(args) != 1 {
			return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "function unnest with %d arguments does not exist", len(args))
		}
		if args[0], err = b.arrayOperand(args[0]); err != nil {
			return nil, true, err
		}
		node.T = types.Text
	default:
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "function %s in FROM is not supported", name)
	}
	node.Col = alias
	if as := sel.Fields.Fields[0].AsName.O; as != "" {
		node.Col = as // FROM f(args) AS a(col)
	}
	s.correlated = s.correlated || inner.correlated
	s.cols = append(s.cols, scopeFromCols(node.Columns(), alias)...)
	return node, true, nil
}

// SRFScan produces the rows of a set-returning function (generate_series
// over integers, unnest over an array) with one column named Col.
type SRFScan struct {
	Name string
	Args []Expr
	T    *types.T
	Col  string
}

func (f *SRFScan) Columns() []ResultCol { return []ResultCol{{Name: f.Col, T: f.T}} }
func (f *SRFScan) Children() []Node     { return nil }
func (f *SRFScan) Explain() string {
	parts := make([]string, len(f.Args))
	for i, a := range f.Args {
		parts[i] = a.String()
	}
	return fmt.Sprintf("function %s(%s)", f.Name, strings.Join(parts, ", "))
}
func (f *SRFScan) Open(ec *ExecCtx) (RowIter, error) {
	args := make([]types.Datum, len(f.Args))
	for i, a := range f.Args {
		d, err := a.Eval(ec, nil)
		if err != nil {
			return nil, err
		}
		args[i] = d
	}
	var rows []Row
	switch f.Name {
	case "generate_series":
		for _, a := range args {
			if a == types.Null {
				return &sliceIter{}, nil
			}
		}
		start, stop, step := int64(args[0].(types.DInt)), int64(args[1].(types.DInt)), int64(1)
		if len(args) == 3 {
			step = int64(args[2].(types.DInt))
		}
		if step == 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "step size cannot equal zero")
		}
		for v := start; (step > 0 && v <= stop) || (step < 0 && v >= stop); v += step {
			rows = append(rows, Row{types.DInt(v)})
			if err := ec.reserve(40); err != nil {
				return nil, err
			}
			if (step > 0 && v > stop-step) || (step < 0 && v < stop-step) {
				break // the next step would overflow past stop
			}
		}
	case "unnest":
		if args[0] != types.Null {
			elems, err := types.ParseArrayText(string(args[0].(types.DString)))
			if err != nil {
				return nil, err
			}
			for _, e := range elems {
				if e == nil {
					rows = append(rows, Row{types.Null})
				} else {
					rows = append(rows, Row{types.DString(*e)})
				}
			}
		}
	}
	return &sliceIter{rows: rows}, nil
}
