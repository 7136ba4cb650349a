package plan

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

var binOpNames = map[opcode.Op]string{
	opcode.GE: ">=", opcode.LE: "<=", opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.GT: ">",
	opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.Mod: "%",
	opcode.IntDiv: "/", opcode.And: "&", opcode.Or: "|", opcode.Xor: "#",
	opcode.LeftShift: "<<", opcode.RightShift: ">>",
}

// exprText is the canonical SQL text of an AST expression, used to match
// GROUP BY expressions and aggregate calls.
func exprText(n ast.Node) string {
	s, err := restore(n)
	if err != nil {
		return ""
	}
	return strings.ToLower(s)
}

// compileExpr compiles an AST expression in scope s. hint is the type the
// context expects (for parameters and unknown literals), or nil.
func (b *Builder) compileExpr(s *scope, n ast.ExprNode, hint *types.T) (Expr, error) {
	if s.agg != nil {
		if e, ok, err := b.compileAggRef(s, n); ok || err != nil {
			return e, err
		}
	}
	switch n := n.(type) {
	case *ast.ParenthesesExpr:
		return b.compileExpr(s, n.Expr, hint)
	case *ast.ColumnNameExpr:
		return b.compileColumn(s, n)
	case ast.ParamMarkerExpr:
		return b.compileParam(n, hint)
	case ast.ValueExpr:
		return b.compileLiteral(n, hint)
	case *ast.BinaryOperationExpr:
		return b.compileBinary(s, n)
	case *ast.UnaryOperationExpr:
		e, err := b.compileExpr(s, n.V, hint)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case opcode.Not, opcode.Not2:
			if err := requireBool(e, "NOT"); err != nil {
				return nil, err
			}
			return &Not{E: e}, nil
		case opcode.Minus:
			if c, ok := e.(*Const); ok && c.D != types.Null {
				d, err := builtins.UnaryOp(b.Eval, "-", c.D)
				if err != nil {
					return nil, err
				}
				return &Const{D: d, T: c.T}, nil
			}
			return &UnaryMinus{E: e}, nil
		case opcode.Plus:
			return e, nil
		}
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unary operator %s is not supported", n.Op)
	case *ast.IsNullExpr:
		e, err := b.compileExpr(s, n.Expr, nil)
		if err != nil {
			return nil, err
		}
		return &IsNull{E: e, Not: n.Not}, nil
	case *ast.IsTruthExpr:
		e, err := b.compileExpr(s, n.Expr, types.Bool)
		if err != nil {
			return nil, err
		}
		return &IsTruth{E: e, Truth: n.True != 0, Not: n.Not}, nil
	case *ast.BetweenExpr:
		return b.compileBetween(s, n)
	case *ast.PatternInExpr:
		return b.compileIn(s, n)
	case *ast.PatternLikeOrIlikeExpr:
		e, err := b.compileExpr(s, n.Expr, types.Text)
		if err != nil {
			return nil, err
		}
		p, err := b.compileExpr(s, n.Pattern, types.Text)
		if err != nil {
			return nil, err
		}
		esc := rune('\\')
		if n.EscapeExplicit || n.Escape != 0 {
			esc = rune(n.Escape)
		}
		return &Like{E: b.textOf(e), Pattern: b.textOf(p), Not: n.Not, Insensitive: !n.IsLike, Escape: esc}, nil
	case *ast.CaseExpr:
		return b.compileCase(s, n, hint)
	case *ast.FuncCallExpr:
		return b.compileFunc(s, n, hint)
	case *ast.AggregateFuncExpr:
		return nil, sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed here")
	case *ast.WindowFuncExpr:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "window functions are not supported yet")
	case *ast.SubqueryExpr:
		return b.compileSubquery(s, n, SubqueryScalar, nil, nil, false)
	case *ast.ExistsSubqueryExpr:
		sq, ok := n.Sel.(*ast.SubqueryExpr)
		if !ok {
			return nil, sqlerr.New(sqlerr.SyntaxError, "EXISTS needs a subquery")
		}
		return b.compileSubquery(s, sq, SubqueryExists, nil, nil, n.Not)
	case *ast.CompareSubqueryExpr:
		return b.compileCompareSubquery(s, n)
	case *ast.RowExpr:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "row constructors are not supported")
	case *ast.DefaultExpr:
		return nil, sqlerr.New(sqlerr.SyntaxError, "DEFAULT is not allowed in this context")
	case *ast.FuncCastExpr:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "MySQL-style CAST is not supported")
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "expression %T is not supported", n)
}

func requireBool(e Expr, ctx string) error {
	t := e.Type()
	if t.Family == types.BoolFamily || t.Family == types.UnknownFamily {
		return nil
	}
	return sqlerr.New(sqlerr.DatatypeMismatch, "argument of %s must be type boolean, not type %s", ctx, t.SQLString())
}

func (b *Builder) compileColumn(s *scope, n *ast.ColumnNameExpr) (Expr, error) {
	table, name := n.Name.Table.L, n.Name.Name.L
	if table == "" && name != "" {
		name = n.Name.Name.O
	}
	if table != "" {
		table = n.Name.Table.O
		name = n.Name.Name.O
	}
	idx, depth, t, err := s.resolve(table, name)
	if err != nil {
		return nil, err
	}
	return &ColRef{Idx: idx, Depth: depth, T: t, Name: name}, nil
}

func (b *Builder) compileParam(n ast.ParamMarkerExpr, hint *types.T) (Expr, error) {
	idx, err := b.paramIndex(n)
	if err != nil {
		return nil, err
	}
	for len(b.ParamTypes) <= idx {
		b.ParamTypes = append(b.ParamTypes, nil)
	}
	if b.ParamTypes[idx] == nil && hint != nil && hint.Family != types.UnknownFamily {
		b.ParamTypes[idx] = hint
	}
	t := b.ParamTypes[idx]
	if t == nil {
		// Resolved later (or text by default); the Param reads the
		// builder's slot at the end of planning.
		p := &Param{Idx: idx, T: types.Unknown}
		b.pendingParams = append(b.pendingParams, p)
		return p, nil
	}
	return &Param{Idx: idx, T: t}, nil
}

// coerce adapts an expression of unknown type (a string literal or an
// untyped parameter) to t, as PostgreSQL resolves unknown-type literals from
// context.
func (b *Builder) coerce(e Expr, t *types.T) (Expr, error) {
	if t == nil || t.Family == types.UnknownFamily {
		return e, nil
	}
	if t.IsRegType() {
		if r, ok, err := b.regConversion(e, t); ok {
			return r, err
		}
	}
	if r, ok := coerceArrayElem(e, t); ok {
		return r, nil
	}
	switch v := e.(type) {
	case *Const:
		if v.T.Family == types.UnknownFamily {
			if v.D == types.Null {
				return &Const{D: types.Null, T: t}, nil
			}
			d, err := types.ParseText(t, string(v.D.(types.DString)), b.Eval)
			if err != nil {
				return nil, err
			}
			return &Const{D: d, T: t}, nil
		}
	case *Param:
		if v.T.Family == types.UnknownFamily {
			for len(b.ParamTypes) <= v.Idx {
				b.ParamTypes = append(b.ParamTypes, nil)
			}
			if b.ParamTypes[v.Idx] == nil {
				b.ParamTypes[v.Idx] = t
			}
			v.T = b.ParamTypes[v.Idx]
			if !v.T.Equal(t) {
				return &Cast{E: v, T: t}, nil
			}
			return v, nil
		}
	}
	return e, nil
}

// textOf makes an expression text-typed (for LIKE and string functions).
func (b *Builder) textOf(e Expr) Expr {
	if e.Type().Family == types.StringFamily {
		return e
	}
	if c, ok := e.(*Const); ok && c.T.Family == types.UnknownFamily {
		return &Const{D: c.D, T: types.Text}
	}
	if p, ok := e.(*Param); ok && p.T.Family == types.UnknownFamily {
		out, _ := b.coerce(p, types.Text)
		return out
	}
	return &Cast{E: e, T: types.Text, Explicit: true}
}

func isUnknown(e Expr) bool { return e.Type().Family == types.UnknownFamily }

func (b *Builder) compileBinary(s *scope, n *ast.BinaryOperationExpr) (Expr, error) {
	switch n.Op {
	case opcode.LogicAnd, opcode.LogicOr:
		l, err := b.compileExpr(s, n.L, types.Bool)
		if err != nil {
			return nil, err
		}
		r, err := b.compileExpr(s, n.R, types.Bool)
		if err != nil {
			return nil, err
		}
		if l, err = b.coerce(l, types.Bool); err != nil {
			return nil, err
		}
		if r, err = b.coerce(r, types.Bool); err != nil {
			return nil, err
		}
		name := "AND"
		if n.Op == opcode.LogicOr {
			name = "OR"
		}
		if err := requireBool(l, name); err != nil {
			return nil, err
		}
		if err := requireBool(r, name); err != nil {
			return nil, err
		}
		if n.Op == opcode.LogicAnd {
			return &And{L: l, R: r}, nil
		}
		return &Or{L: l, R: r}, nil
	case opcode.NullEQ:
		// a <=> b is IS NOT DISTINCT FROM.
		eq, err := b.binary(s, "=", n.L, n.R)
		if err != nil {
			return nil, err
		}
		be := eq.(*BinOp)
		return &NotDistinct{L: be.L, R: be.R, Eq: be.Ov}, nil
	}
	op, ok := binOpNames[n.Op]
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "operator %s is not supported", n.Op)
	}
	return b.binary(s, op, n.L, n.R)
}

// binary compiles l op r, resolving unknown-typed sides from the other.
func (b *Builder) binary(s *scope, op string, ln, rn ast.ExprNode) (Expr, error) {
	if f, ok := rn.(*ast.FuncCallExpr); ok && (f.FnName.L == "outpost_any" || f.FnName.L == "outpost_all") {
		return b.compileAnyArray(s, op, ln, f)
	}
	l, err := b.compileExpr(s, ln, nil)
	if err != nil {
		return nil, err
	}
	r, err := b.compileExpr(s, rn, l.Type())
	if err != nil {
		return nil, err
	}
	return b.binaryExprs(op, l, r)
}

func (b *Builder) binaryExprs(op string, l, r Expr) (Expr, error) {
	var err error
	switch {
	case isUnknown(l) && isUnknown(r):
		if l, err = b.coerce(l, types.Text); err != nil {
			return nil, err
		}
		if r, err = b.coerce(r, types.Text); err != nil {
			return nil, err
		}
	case isUnknown(l):
		if l, err = b.coerce(l, unknownPeer(op, r.Type())); err != nil {
			return nil, err
		}
	case isUnknown(r):
		if r, err = b.coerce(r, unknownPeer(op, l.Type())); err != nil {
			return nil, err
		}
	}
	ov, err := builtins.LookupBinaryOp(op, l.Type(), r.Type())
	if err != nil {
		return nil, err
	}
	e := &BinOp{Op: op, L: l, R: r, Ov: ov}
	return b.fold(e)
}

// unknownPeer is the type an unknown operand takes opposite t: the same
// type, except that timestamp/date arithmetic takes an interval.
func unknownPeer(op string, t *types.T) *types.T {
	switch op {
	case "->", "->>", "?", "#>", "#>>":
		return types.Text // JSON keys and paths
	case "||":
		if t.Family != types.JSONFamily && t.Family != types.BytesFamily {
			return types.Text
		}
	}
	if (op == "+" || op == "-") && (t.Family == types.TimestampFamily || t.Family == types.TimestampTZFamily || t.Family == types.DateFamily) {
		return types.Interval
	}
	return t
}

// fold evaluates an expression whose inputs are all constants.
func (b *Builder) fold(e Expr) (Expr, error) {
	switch v := e.(type) {
	case *BinOp:
		lc, ok1 := v.L.(*Const)
		rc, ok2 := v.R.(*Const)
		if ok1 && ok2 {
			d, err := v.Eval(b.foldCtx(), nil)
			if err != nil {
				return nil, err
			}
			return &Const{D: d, T: v.Type()}, nil
		}
		_ = lc
		_ = rc
	}
	return e, nil
}

func (b *Builder) foldCtx() *ExecCtx { return &ExecCtx{Eval: b.Eval} }

// NotDistinct is a IS NOT DISTINCT FROM b (never NULL).
type NotDistinct struct {
	L, R Expr
	Eq   *builtins.Overload
	Not  bool
}

func (n *NotDistinct) Type() *types.T { return types.Bool }
func (n *NotDistinct) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	l, err := n.L.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	r, err := n.R.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	var same bool
	switch {
	case l == types.Null || r == types.Null:
		same = l == r
	default:
		if l, err = builtins.Coerce(ec.Eval, l, n.Eq.Left); err != nil {
			return nil, err
		}
		if r, err = builtins.Coerce(ec.Eval, r, n.Eq.Right); err != nil {
			return nil, err
		}
		d, err := n.Eq.Fn(ec.Eval, l, r)
		if err != nil {
			return nil, err
		}
		same = d == types.DBool(true)
	}
	return types.DBool(same != n.Not), nil
}
func (n *NotDistinct) String() string {
	return "(" + n.L.String() + " IS NOT DISTINCT FROM " + n.R.String() + ")"
}

func (b *Builder) compileBetween(s *scope, n *ast.BetweenExpr) (Expr, error) {
	ge, err := b.binary(s, ">=", n.Expr, n.Left)
	if err != nil {
		return nil, err
	}
	le, err := b.binary(s, "<=", n.Expr, n.Right)
	if err != nil {
		return nil, err
	}
	var e Expr = &And{L: ge, R: le}
	if n.Not {
		e = &Not{E: e}
	}
	return e, nil
}

func (b *Builder) compileIn(s *scope, n *ast.PatternInExpr) (Expr, error) {
	if n.Sel != nil {
		sq, ok := n.Sel.(*ast.SubqueryExpr)
		if !ok {
			return nil, sqlerr.New(sqlerr.SyntaxError, "IN needs a list or a subquery")
		}
		return b.compileSubquery(s, sq, SubqueryIn, n.Expr, nil, n.Not)
	}
	e, err := b.compileExpr(s, n.Expr, nil)
	if err != nil {
		return nil, err
	}
	list := make([]Expr, len(n.List))
	for i, item := range n.List {
		c, err := b.compileExpr(s, item, e.Type())
		if err != nil {
			return nil, err
		}
		list[i] = c
	}
	// Unify the types: compare everything in the type of the first known
	// member, like PostgreSQL's resolution of IN lists.
	target := e.Type()
	if target.Family == types.UnknownFamily {
		for _, c := range list {
			if !isUnknown(c) {
				target = c.Type()
				break
			}
		}
		if target.Family == types.UnknownFamily {
			target = types.Text
		}
		if e, err = b.coerce(e, target); err != nil {
			return nil, err
		}
	}
	for i := range list {
		if list[i], err = b.coerce(list[i], target); err != nil {
			return nil, err
		}
		if _, err := builtins.LookupBinaryOp("=", target, list[i].Type()); err != nil {
			return nil, err
		}
	}
	return &InList{E: e, List: list, Not: n.Not}, nil
}

func (b *Builder) compileCase(s *scope, n *ast.CaseExpr, hint *types.T) (Expr, error) {
	c := &Case{}
	var operand Expr
	var err error
	if n.Value != nil {
		if operand, err = b.compileExpr(s, n.Value, nil); err != nil {
			return nil, err
		}
	}
	var results []Expr
	for _, w := range n.WhenClauses {
		var cond Expr
		if operand != nil {
			v, err := b.compileExpr(s, w.Expr, operand.Type())
			if err != nil {
				return nil, err
			}
			if cond, err = b.binaryExprs("=", operand, v); err != nil {
				return nil, err
			}
		} else {
			if cond, err = b.compileExpr(s, w.Expr, types.Bool); err != nil {
				return nil, err
			}
			if cond, err = b.coerce(cond, types.Bool); err != nil {
				return nil, err
			}
			if err := requireBool(cond, "CASE/WHEN"); err != nil {
				return nil, err
			}
		}
		r, err := b.compileExpr(s, w.Result, hint)
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, cond)
		results = append(results, r)
	}
	if n.ElseClause != nil {
		e, err := b.compileExpr(s, n.ElseClause, hint)
		if err != nil {
			return nil, err
		}
		results = append(results, e)
	}
	t, results, err := b.unify(results, "CASE")
	if err != nil {
		return nil, err
	}
	c.T = t
	c.Thens = results[:len(c.Whens)]
	if n.ElseClause != nil {
		c.Else = results[len(results)-1]
	}
	return c, nil
}

// unify resolves a common type for CASE/COALESCE/UNION branches the way
// PostgreSQL does for the common cases: unknowns take the first known type;
// numeric types widen (int < numeric < float); otherwise types must match.
func (b *Builder) unify(es []Expr, ctx string) (*types.T, []Expr, error) {
	var t *types.T
	for _, e := range es {
		et := e.Type()
		if et.Family == types.UnknownFamily {
			continue
		}
		if t == nil {
			t = et
			continue
		}
		nt, err := commonType(t, et, ctx)
		if err != nil {
			return nil, nil, err
		}
		t = nt
	}
	if t == nil {
		t = types.Text
	}
	out := make([]Expr, len(es))
	for i, e := range es {
		c, err := b.coerce(e, t)
		if err != nil {
			return nil, nil, err
		}
		if !c.Type().Equal(t) && c.Type().Family != types.UnknownFamily {
			c = &Cast{E: c, T: t}
		}
		out[i] = c
	}
	return t, out, nil
}

func numericRank(t *types.T) int {
	switch t.Family {
	case types.IntFamily:
		switch t.Width {
		case 16:
			return 1
		case 32:
			return 2
		}
		return 3
	case types.DecimalFamily:
		return 4
	case types.FloatFamily:
		if t.Width == 32 {
			return 5
		}
		return 6
	}
	return 0
}

func commonType(a, b *types.T, ctx string) (*types.T, error) {
	if a.Equal(b) {
		return a, nil
	}
	ra, rb := numericRank(a), numericRank(b)
	if ra > 0 && rb > 0 {
		if ra >= rb {
			return a, nil
		}
		return b, nil
	}
	if a.Family == b.Family {
		if a.Family == types.StringFamily {
			return types.Text, nil
		}
		return a, nil
	}
	if (a.Family == types.TimestampFamily && b.Family == types.TimestampTZFamily) || (b.Family == types.TimestampFamily && a.Family == types.TimestampTZFamily) {
		return types.TimestampTZ, nil
	}
	if a.Family == types.DateFamily && (b.Family == types.TimestampFamily || b.Family == types.TimestampTZFamily) {
		return b, nil
	}
	if b.Family == types.DateFamily && (a.Family == types.TimestampFamily || a.Family == types.TimestampTZFamily) {
		return a, nil
	}
	return nil, sqlerr.New(sqlerr.DatatypeMismatch, "%s types %s and %s cannot be matched", ctx, a.SQLString(), b.SQLString())
}
