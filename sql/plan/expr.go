package plan

import (
	"fmt"
	"strings"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Row is one row of datums.
type Row = []types.Datum

// Expr is a compiled, typed scalar expression.
type Expr interface {
	Type() *types.T
	Eval(ec *ExecCtx, row Row) (types.Datum, error)
	String() string
}

// ColRef reads a column of the current row (Depth 0) or of an enclosing
// query's row (Depth > 0, correlated subqueries).
type ColRef struct {
	Idx   int
	Depth int
	T     *types.T
	Name  string
}

func (c *ColRef) Type() *types.T { return c.T }
func (c *ColRef) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	if c.Depth == 0 {
		return row[c.Idx], nil
	}
	outer := ec.outer[len(ec.outer)-c.Depth]
	return outer[c.Idx], nil
}
func (c *ColRef) String() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("@%d", c.Idx+1)
}

// Const is a literal value.
type Const struct {
	D types.Datum
	T *types.T
}

func (c *Const) Type() *types.T                          { return c.T }
func (c *Const) Eval(*ExecCtx, Row) (types.Datum, error) { return c.D, nil }
func (c *Const) String() string {
	if c.D == types.Null {
		return "NULL"
	}
	return types.FormatText(c.D, nil)
}

// Param is a $n placeholder (0-based Idx).
type Param struct {
	Idx int
	T   *types.T
}

func (p *Param) Type() *types.T { return p.T }
func (p *Param) Eval(ec *ExecCtx, _ Row) (types.Datum, error) {
	if p.Idx >= len(ec.Params) {
		return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", p.Idx+1)
	}
	return ec.Params[p.Idx], nil
}
func (p *Param) String() string { return fmt.Sprintf("$%d", p.Idx+1) }

// BinOp applies a binary operator overload (strict: NULL in, NULL out).
type BinOp struct {
	Op   string
	L, R Expr
	Ov   *builtins.Overload
}

func (b *BinOp) Type() *types.T { return b.Ov.Result }
func (b *BinOp) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	l, err := b.L.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	r, err := b.R.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	if l == types.Null || r == types.Null {
		return types.Null, nil
	}
	if l, err = builtins.Coerce(ec.Eval, l, b.Ov.Left); err != nil {
		return nil, err
	}
	if r, err = builtins.Coerce(ec.Eval, r, b.Ov.Right); err != nil {
		return nil, err
	}
	return b.Ov.Fn(ec.Eval, l, r)
}
func (b *BinOp) String() string { return fmt.Sprintf("(%s %s %s)", b.L, b.Op, b.R) }

// UnaryMinus negates a number or interval.
type UnaryMinus struct{ E Expr }

func (u *UnaryMinus) Type() *types.T { return u.E.Type() }
func (u *UnaryMinus) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	d, err := u.E.Eval(ec, row)
	if err != nil || d == types.Null {
		return d, err
	}
	return builtins.UnaryOp(ec.Eval, "-", d)
}
func (u *UnaryMinus) String() string { return fmt.Sprintf("(-%s)", u.E) }

// And, Or and Not implement three-valued logic.
type And struct{ L, R Expr }
type Or struct{ L, R Expr }
type Not struct{ E Expr }

func evalBool(ec *ExecCtx, e Expr, row Row) (val, null bool, err error) {
	d, err := e.Eval(ec, row)
	if err != nil {
		return false, false, err
	}
	if d == types.Null {
		return false, true, nil
	}
	b, ok := d.(types.DBool)
	if !ok {
		return false, false, sqlerr.New(sqlerr.DatatypeMismatch, "argument must be type boolean, not type %s", d.ResolvedType().SQLString())
	}
	return bool(b), false, nil
}

func (a *And) Type() *types.T { return types.Bool }
func (a *And) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	l, ln, err := evalBool(ec, a.L, row)
	if err != nil {
		return nil, err
	}
	if !ln && !l {
		return types.DBool(false), nil
	}
	r, rn, err := evalBool(ec, a.R, row)
	if err != nil {
		return nil, err
	}
	if !rn && !r {
		return types.DBool(false), nil
	}
	if ln || rn {
		return types.Null, nil
	}
	return types.DBool(true), nil
}
func (a *And) String() string { return fmt.Sprintf("(%s AND %s)", a.L, a.R) }

func (o *Or) Type() *types.T { return types.Bool }
func (o *Or) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	l, ln, err := evalBool(ec, o.L, row)
	if err != nil {
		return nil, err
	}
	if !ln && l {
		return types.DBool(true), nil
	}
	r, rn, err := evalBool(ec, o.R, row)
	if err != nil {
		return nil, err
	}
	if !rn && r {
		return types.DBool(true), nil
	}
	if ln || rn {
		return types.Null, nil
	}
	return types.DBool(false), nil
}
func (o *Or) String() string { return fmt.Sprintf("(%s OR %s)", o.L, o.R) }

func (n *Not) Type() *types.T { return types.Bool }
func (n *Not) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	v, null, err := evalBool(ec, n.E, row)
	if err != nil || null {
		return types.Null, err
	}
	return types.DBool(!v), nil
}
func (n *Not) String() string { return fmt.Sprintf("(NOT %s)", n.E) }

// IsNull tests for NULL (Not inverts).
type IsNull struct {
	E   Expr
	Not bool
}

func (e *IsNull) Type() *types.T { return types.Bool }
func (e *IsNull) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	d, err := e.E.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	return types.DBool((d == types.Null) != e.Not), nil
}
func (e *IsNull) String() string {
	if e.Not {
		return fmt.Sprintf("(%s IS NOT NULL)", e.E)
	}
	return fmt.Sprintf("(%s IS NULL)", e.E)
}

// IsTruth implements IS [NOT] TRUE / FALSE (never NULL).
type IsTruth struct {
	E     Expr
	Truth bool
	Not   bool
}

func (e *IsTruth) Type() *types.T { return types.Bool }
func (e *IsTruth) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	v, null, err := evalBool(ec, e.E, row)
	if err != nil {
		return nil, err
	}
	res := !null && v == e.Truth
	return types.DBool(res != e.Not), nil
}
func (e *IsTruth) String() string { return fmt.Sprintf("(%s IS TRUTH %v)", e.E, e.Truth) }

// Func calls a scalar function overload.
type Func struct {
	Name string
	Args []Expr
	Ov   *builtins.FuncOverload
}

func (f *Func) Type() *types.T { return f.Ov.Result }
func (f *Func) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	args := make([]types.Datum, len(f.Args))
	for i, a := range f.Args {
		d, err := a.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if d == types.Null && f.Ov.Strict {
			return types.Null, nil
		}
		if d, err = builtins.Coerce(ec.Eval, d, argType(f.Ov, i)); err != nil {
			return nil, err
		}
		args[i] = d
	}
	return f.Ov.Fn(ec.Eval, args)
}
func (f *Func) String() string {
	parts := make([]string, len(f.Args))
	for i, a := range f.Args {
		parts[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", f.Name, strings.Join(parts, ", "))
}

// Cast converts to T.
type Cast struct {
	E        Expr
	T        *types.T
	Explicit bool
}

func (c *Cast) Type() *types.T { return c.T }
func (c *Cast) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	d, err := c.E.Eval(ec, row)
	if err != nil || d == types.Null {
		return d, err
	}
	return types.Cast(d, c.T, c.Explicit, ec.Eval.Location)
}
func (c *Cast) String() string { return fmt.Sprintf("%s::%s", c.E, c.T.SQLString()) }

// Case is CASE WHEN ... (Operand nil) or CASE x WHEN v ... with Operand
// compared by Eq.
type Case struct {
	Whens []Expr // conditions (already Eq(operand, v) for simple CASE)
	Thens []Expr
	Else  Expr // nil → NULL
	T     *types.T
}

func (c *Case) Type() *types.T { return c.T }
func (c *Case) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	for i, w := range c.Whens {
		v, null, err := evalBool(ec, w, row)
		if err != nil {
			return nil, err
		}
		if !null && v {
			return c.Thens[i].Eval(ec, row)
		}
	}
	if c.Else == nil {
		return types.Null, nil
	}
	return c.Else.Eval(ec, row)
}
func (c *Case) String() string { return "CASE ... END" }

// Coalesce returns its first non-NULL argument.
type Coalesce struct {
	Args []Expr
	T    *types.T
}

func (c *Coalesce) Type() *types.T { return c.T }
func (c *Coalesce) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	for _, a := range c.Args {
		d, err := a.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if d != types.Null {
			return d, nil
		}
	}
	return types.Null, nil
}
func (c *Coalesce) String() string { return "COALESCE(...)" }

// InList is x [NOT] IN (a, b, ...) with SQL NULL semantics.
type InList struct {
	E    Expr
	List []Expr
	Not  bool
}

func (in *InList) Type() *types.T { return types.Bool }
func (in *InList) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	d, err := in.E.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	if d == types.Null {
		return types.Null, nil
	}
	sawNull := false
	for _, e := range in.List {
		v, err := e.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == types.Null {
			sawNull = true
			continue
		}
		c, err := types.Compare(d, v)
		if err != nil {
			return nil, err
		}
		if c == 0 {
			return types.DBool(!in.Not), nil
		}
	}
	if sawNull {
		return types.Null, nil
	}
	return types.DBool(in.Not), nil
}
func (in *InList) String() string { return fmt.Sprintf("(%s IN (...))", in.E) }

// Like is [NOT] LIKE / ILIKE.
type Like struct {
	E, Pattern       Expr
	Not, Insensitive bool
	Escape           rune
}

func (l *Like) Type() *types.T { return types.Bool }
func (l *Like) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	s, err := l.E.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	p, err := l.Pattern.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	if s == types.Null || p == types.Null {
		return types.Null, nil
	}
	ok, err := builtins.Like(datumString(s), datumString(p), l.Escape, l.Insensitive)
	if err != nil {
		return nil, err
	}
	return types.DBool(ok != l.Not), nil
}
func (l *Like) String() string { return fmt.Sprintf("(%s LIKE %s)", l.E, l.Pattern) }

func datumString(d types.Datum) string {
	if s, ok := d.(types.DString); ok {
		return string(s)
	}
	return types.FormatText(d, nil)
}

// Subquery modes.
type SubqueryMode int

const (
	SubqueryScalar SubqueryMode = iota
	SubqueryExists
	SubqueryIn  // E IN (subquery)
	SubqueryAny // E op ANY (subquery)
	SubqueryAll // E op ALL (subquery)
	// SubqueryArray is ARRAY(subquery): the column's values as an array
	// (text form, see arrays.go).
	SubqueryArray
)

// Subquery evaluates a nested plan. Uncorrelated subqueries are evaluated
// once per execution and cached.
type Subquery struct {
	Plan       Node
	Mode       SubqueryMode
	E          Expr // IN / ANY / ALL left side
	Cmp        *builtins.Overload
	Not        bool
	Correlated bool
	T          *types.T
	id         int
}

func (s *Subquery) Type() *types.T { return s.T }
func (s *Subquery) String() string {
	return fmt.Sprintf("subquery#%d", s.id)
}

func (s *Subquery) rows(ec *ExecCtx, row Row) ([]Row, error) {
	if !s.Correlated {
		if cached, ok := ec.subqueryCache[s]; ok {
			return cached, nil
		}
	}
	ec.outer = append(ec.outer, row)
	rows, err := collect(ec, s.Plan, s.Mode == SubqueryScalar || s.Mode == SubqueryExists)
	ec.outer = ec.outer[:len(ec.outer)-1]
	if err != nil {
		return nil, err
	}
	if !s.Correlated {
		if ec.subqueryCache == nil {
			ec.subqueryCache = map[*Subquery][]Row{}
		}
		ec.subqueryCache[s] = rows
	}
	return rows, nil
}

func (s *Subquery) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	rows, err := s.rows(ec, row)
	if err != nil {
		return nil, err
	}
	switch s.Mode {
	case SubqueryExists:
		return types.DBool((len(rows) > 0) != s.Not), nil
	case SubqueryScalar:
		if len(rows) == 0 {
			return types.Null, nil
		}
		if len(rows) > 1 {
			return nil, sqlerr.New(sqlerr.CardinalityViolation, "more than one row returned by a subquery used as an expression")
		}
		return rows[0][0], nil
	case SubqueryArray:
		return arrayFromRows(ec, s.Plan.Columns()[0].T, rows), nil
	}
	left, err := s.E.Eval(ec, row)
	if err != nil {
		return nil, err
	}
	if left == types.Null {
		if len(rows) == 0 && s.Mode != SubqueryAny && s.Mode != SubqueryIn {
			return types.DBool(true), nil
		}
		if len(rows) == 0 {
			return types.DBool(s.Not), nil
		}
		return types.Null, nil
	}
	sawNull := false
	for _, r := range rows {
		if r[0] == types.Null {
			sawNull = true
			continue
		}
		l, err := builtins.Coerce(ec.Eval, left, s.Cmp.Left)
		if err != nil {
			return nil, err
		}
		rv, err := builtins.Coerce(ec.Eval, r[0], s.Cmp.Right)
		if err != nil {
			return nil, err
		}
		res, err := s.Cmp.Fn(ec.Eval, l, rv)
		if err != nil {
			return nil, err
		}
		match := res == types.DBool(true)
		if s.Mode == SubqueryAll {
			if !match {
				return types.DBool(false), nil
			}
			continue
		}
		if match {
			return types.DBool(!s.Not), nil
		}
	}
	if sawNull {
		return types.Null, nil
	}
	if s.Mode == SubqueryAll {
		return types.DBool(true), nil
	}
	return types.DBool(s.Not), nil
}

// SeqFunc is nextval/currval/setval: functions with kv side effects.
type SeqFunc struct {
	Name string
	Args []Expr
}

func (f *SeqFunc) Type() *types.T { return types.Int8 }
func (f *SeqFunc) String() string { return f.Name + "(...)" }
func (f *SeqFunc) Eval(ec *ExecCtx, row Row) (types.Datum, error) {
	args := make([]types.Datum, len(f.Args))
	for i, a := range f.Args {
		d, err := a.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		if d == types.Null {
			return types.Null, nil
		}
		args[i] = d
	}
	if ec.Sequences == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "%s is not available here", f.Name)
	}
	return ec.Sequences.Call(ec, f.Name, args)
}
