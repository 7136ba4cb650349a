package builtins

import (
	"fmt"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Overload is one signature of an operator, with its result type so that
// the planner can type-check an expression before evaluating it.
//
// Operators are strict: a NULL operand gives NULL without calling Fn (Call
// does this; a caller invoking Fn directly must not pass Null). Fn may
// assume its operands are non-NULL datums of the families of Left and
// Right, i.e. that the planner cast them to those types (an unknown
// literal must be cast too). AND, OR, NOT, IS [NOT] NULL and IS [NOT]
// DISTINCT FROM are not operators here: the planner evaluates them (they
// are not strict).
type Overload struct {
	// Op is the operator name: "+", "=", "||", "->", ...; "!=" is
	// registered as "<>".
	Op string
	// Left is nil for a prefix operator (-x, ~x, @x).
	Left, Right *types.T
	Result      *types.T
	Volatility  Volatility
	// Fn computes the result. For a prefix operator a is nil and b is
	// the operand. Errors are *sqlerr.Error.
	Fn func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error)
}

// Call evaluates the operator with strict NULL handling.
func (o *Overload) Call(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
	if b == types.Null || (o.Left != nil && a == types.Null) {
		return types.Null, nil
	}
	return o.Fn(ctx, a, b)
}

// String returns the signature, e.g. "integer + bigint -> bigint".
func (o *Overload) String() string {
	if o.Left == nil {
		return fmt.Sprintf("%s %s -> %s", o.Op, typeName(o.Right), typeName(o.Result))
	}
	return fmt.Sprintf("%s %s %s -> %s", typeName(o.Left), o.Op, typeName(o.Right), typeName(o.Result))
}

type binFn = func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error)

var (
	binOps   = map[string][]*Overload{}
	unaryOps = map[string][]*Overload{}
)

func addBin(op string, l, r, res *types.T, v Volatility, fn binFn) {
	binOps[op] = append(binOps[op], &Overload{Op: op, Left: l, Right: r, Result: res, Volatility: v, Fn: fn})
}

func addUnary(op string, arg, res *types.T, fn func(ctx *types.EvalContext, x types.Datum) (types.Datum, error)) {
	unaryOps[op] = append(unaryOps[op], &Overload{Op: op, Right: arg, Result: res, Volatility: Immutable,
		Fn: func(ctx *types.EvalContext, _, b types.Datum) (types.Datum, error) { return fn(ctx, b) }})
}

func normalizeOp(op string) string {
	if op == "!=" {
		return "<>"
	}
	return op
}

// LookupBinaryOp returns the overload of the binary operator op for
// operands of types left and right, resolving as PostgreSQL does: an exact
// match; else, if one operand is unknown (an untyped literal), an exact
// match with it taken as the other's type; else the best candidate
// reachable by implicit casts (see resolve). The planner must cast the
// operands to the overload's Left and Right. No match is 42883 `operator
// does not exist: integer + text`; a tie is 42725.
func LookupBinaryOp(op string, left, right *types.T) (*Overload, error) {
	op = normalizeOp(op)
	ovs := binOps[op]
	if len(ovs) == 0 {
		return nil, errNoOperator(op, left, right)
	}
	exact := func(l, r *types.T) *Overload {
		for _, o := range ovs {
			if o.Left.Oid() == l.Oid() && o.Right.Oid() == r.Oid() && !isPseudo(o.Left) && !isPseudo(o.Right) {
				return o
			}
		}
		return nil
	}
	lu, ru := left.Family == types.UnknownFamily, right.Family == types.UnknownFamily
	if !lu && !ru {
		if o := exact(left, right); o != nil {
			return o, nil
		}
	}
	if lu != ru {
		known := left
		if lu {
			known = right
		}
		if o := exact(known, known); o != nil {
			return o, nil
		}
	}
	sigs := make([]signature, len(ovs))
	for i, o := range ovs {
		sigs[i] = signature{params: []*types.T{o.Left, o.Right}}
	}
	best, ambiguous := resolve(sigs, []*types.T{left, right})
	if best.idx < 0 {
		return nil, errNoOperator(op, left, right)
	}
	if ambiguous {
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "operator is not unique: %s %s %s", typeName(left), op, typeName(right)).
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.")
	}
	return ovs[best.idx], nil
}

// LookupUnaryOp returns the overload of the prefix operator op for an
// operand of type arg ("-", "+", "~", "@").
func LookupUnaryOp(op string, arg *types.T) (*Overload, error) {
	ovs := unaryOps[op]
	for _, o := range ovs {
		if o.Right.Oid() == arg.Oid() && arg.Family != types.UnknownFamily {
			return o, nil
		}
	}
	sigs := make([]signature, len(ovs))
	for i, o := range ovs {
		sigs[i] = signature{params: []*types.T{o.Right}}
	}
	best, ambiguous := resolve(sigs, []*types.T{arg})
	if best.idx < 0 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: %s %s", op, typeName(arg)).
			WithHint("No operator matches the given name and argument type. You might need to add an explicit type cast.")
	}
	if ambiguous {
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "operator is not unique: %s %s", op, typeName(arg)).
			WithHint("Could not choose a best candidate operator. You might need to add an explicit type cast.")
	}
	return ovs[best.idx], nil
}

func errNoOperator(op string, left, right *types.T) error {
	return sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: %s %s %s", typeName(left), op, typeName(right)).
		WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

// BinaryOp evaluates a op b for datums typed by their ResolvedType (an
// untyped DString literal should be passed as the typed value the planner
// would make of it): it resolves the overload, applies the implicit casts
// and calls it, with NULL in giving NULL out. It is a convenience for
// tests and constant folding; the planner resolves once with
// LookupBinaryOp.
func BinaryOp(ctx *types.EvalContext, op string, a, b types.Datum) (types.Datum, error) {
	if a == types.Null || b == types.Null {
		return types.Null, nil
	}
	o, err := LookupBinaryOp(op, a.ResolvedType(), b.ResolvedType())
	if err != nil {
		return nil, err
	}
	if a, err = coerce(ctx, a, o.Left); err != nil {
		return nil, err
	}
	if b, err = coerce(ctx, b, o.Right); err != nil {
		return nil, err
	}
	return o.Fn(ctx, a, b)
}

// UnaryOp evaluates the prefix operator op on x (see BinaryOp).
func UnaryOp(ctx *types.EvalContext, op string, x types.Datum) (types.Datum, error) {
	if x == types.Null {
		return types.Null, nil
	}
	o, err := LookupUnaryOp(op, x.ResolvedType())
	if err != nil {
		return nil, err
	}
	if x, err = coerce(ctx, x, o.Right); err != nil {
		return nil, err
	}
	return o.Fn(ctx, nil, x)
}

// coerce casts d to t unless t is a pseudo-type or d already has t's
// family and OID-compatible representation.
func coerce(ctx *types.EvalContext, d types.Datum, t *types.T) (types.Datum, error) {
	if isPseudo(t) || d == types.Null {
		return d, nil
	}
	rt := d.ResolvedType()
	if rt.Family == t.Family && (t.Family != types.FloatFamily || t.Width != 32) &&
		t.Family != types.JSONFamily && t.Family != types.DecimalFamily {
		return d, nil
	}
	if rt.Oid() == t.Oid() && !(t.Family == types.DecimalFamily && t.Precision > 0) {
		return d, nil
	}
	return types.CastFrom(d, rt, t, true, ctx)
}
