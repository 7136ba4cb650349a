package builtins

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Volatility is PostgreSQL's provolatile: whether a function's result may
// be computed once at planning time.
type Volatility uint8

const (
	// Immutable functions return the same result for the same arguments
	// forever: the planner may fold calls with constant arguments.
	Immutable Volatility = iota
	// Stable functions return the same result within a statement (now(),
	// anything depending on the session time zone).
	Stable
	// Volatile functions may return a different result at every call
	// (random(), clock_timestamp()).
	Volatile
)

// String returns "immutable", "stable" or "volatile".
func (v Volatility) String() string {
	switch v {
	case Immutable:
		return "immutable"
	case Stable:
		return "stable"
	}
	return "volatile"
}

// Pseudo-types that overloads use for parameters. They are never the type
// of a value; resolution treats them specially. Compare them by pointer.
var (
	// AnyType ("any") accepts an argument of any type, uncast; the
	// function handles every family (concat, format, to_json).
	AnyType = &types.T{Family: types.UnknownFamily, Width: -1}
	// AnyElement ("anyelement") accepts any type, but all AnyElement
	// parameters of a call, and a Result of AnyElement, resolve to one
	// common type (greatest, min, ...). Unknown arguments resolve to text.
	AnyElement = &types.T{Family: types.UnknownFamily, Width: -2}
)

func isPseudo(t *types.T) bool { return t == AnyType || t == AnyElement }

// typeName prints a type as PostgreSQL prints signatures in errors.
func typeName(t *types.T) string {
	switch t {
	case AnyType:
		return "\"any\""
	case AnyElement:
		return "anyelement"
	}
	return t.SQLString()
}

// preferred reports whether t is the preferred type of its PostgreSQL type
// category (typispreferred): float8 for numbers, text for strings,
// timestamptz for date/time, interval, bool, oid.
func preferred(t *types.T) bool {
	switch t.Oid() {
	case types.OidFloat8, types.OidText, types.OidTimestampTZ, types.OidInterval, types.OidBool, types.OidOid:
		return true
	}
	return false
}

// category returns a PostgreSQL-like type category letter: N numeric, S
// string, D date/time, T timespan, B boolean, U user/other, X unknown.
func category(t *types.T) byte {
	switch t.Family {
	case types.IntFamily, types.FloatFamily, types.DecimalFamily, types.OidFamily:
		return 'N'
	case types.StringFamily:
		return 'S'
	case types.DateFamily, types.TimestampFamily, types.TimestampTZFamily:
		return 'D'
	case types.IntervalFamily:
		return 'T'
	case types.BoolFamily:
		return 'B'
	case types.UnknownFamily:
		return 'X'
	}
	return 'U'
}

// signature is what resolution needs of an overload.
type signature struct {
	params   []*types.T
	variadic bool // the last param repeats zero or more times
}

// expand returns the parameter types for n arguments, or nil if the
// signature does not take n arguments.
func (s signature) expand(n int) []*types.T {
	if !s.variadic {
		if n != len(s.params) {
			return nil
		}
		return s.params
	}
	fixed := len(s.params) - 1
	if n < len(s.params) { // at least one variadic argument, as PostgreSQL
		return nil
	}
	out := make([]*types.T, n)
	copy(out, s.params[:fixed])
	for i := fixed; i < n; i++ {
		out[i] = s.params[fixed]
	}
	return out
}

// candidate is a signature that accepts the arguments, with its expanded
// parameters (AnyElement replaced by the common type).
type candidate struct {
	idx    int
	params []*types.T
	poly   *types.T // the type AnyElement resolved to, if used
}

// resolve picks the best signature for args, following PostgreSQL's
// func_select_candidate in spirit:
//
//  1. keep signatures whose every parameter accepts its argument: the same
//     type, an unknown argument, an implicit cast, or a pseudo-type;
//  2. prefer the most exact type matches;
//  3. then the most preferred types (float8, text, ...) where a cast or an
//     unknown argument is involved;
//  4. then, for unknown arguments, signatures taking a string type there.
//
// It returns the index of the winner, its parameters for this call and
// whether more than one candidate remained (ambiguous); idx is -1 if none
// matched.
func resolve(sigs []signature, args []*types.T) (best candidate, ambiguous bool) {
	var cands []candidate
	for i, s := range sigs {
		params := s.expand(len(args))
		if params == nil && !(len(args) == 0 && len(s.params) == 0) {
			continue
		}
		c, ok := accepts(params, args)
		if !ok {
			continue
		}
		c.idx = i
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		return candidate{idx: -1}, false
	}
	if len(cands) == 1 {
		return cands[0], false
	}
	score := func(c candidate, exactOnly bool) int {
		n := 0
		for i, a := range args {
			p := c.params[i]
			exact := !isPseudo(p) && a.Family != types.UnknownFamily && a.Oid() == p.Oid()
			if exactOnly {
				if exact {
					n++
				}
			} else if !exact && !isPseudo(p) && preferred(p) {
				n++
			}
		}
		return n
	}
	cands = keepMax(cands, func(c candidate) int { return score(c, true) })
	if len(cands) > 1 {
		cands = keepMax(cands, func(c candidate) int { return score(c, false) })
	}
	if len(cands) > 1 {
		// Unknown arguments: prefer string parameters there.
		cands = keepMax(cands, func(c candidate) int {
			n := 0
			for i, a := range args {
				if a.Family == types.UnknownFamily && c.params[i].Family == types.StringFamily {
					n++
				}
			}
			return n
		})
	}
	if len(cands) > 1 {
		// Typed parameters beat pseudo-types.
		cands = keepMax(cands, func(c candidate) int {
			n := 0
			for _, p := range c.params {
				if !isPseudo(p) {
					n++
				}
			}
			return n
		})
	}
	return cands[0], len(cands) > 1
}

func keepMax(cands []candidate, f func(candidate) int) []candidate {
	best := -1
	var out []candidate
	for _, c := range cands {
		switch s := f(c); {
		case s > best:
			best, out = s, append(out[:0], c)
		case s == best:
			out = append(out, c)
		}
	}
	return out
}

// accepts checks params against args and resolves AnyElement.
func accepts(params, args []*types.T) (candidate, bool) {
	var polyArgs []*types.T
	for i, a := range args {
		p := params[i]
		switch {
		case p == AnyType:
		case p == AnyElement:
			polyArgs = append(polyArgs, a)
		case a.Family == types.UnknownFamily:
		case a.Oid() == p.Oid():
		case types.CanCastImplicitly(a, p):
		default:
			return candidate{}, false
		}
	}
	c := candidate{params: params}
	if polyArgs != nil {
		common, err := CommonType(polyArgs)
		if err != nil {
			return candidate{}, false
		}
		c.poly = common
		ps := make([]*types.T, len(params))
		for i, p := range params {
			if p == AnyElement {
				p = common
			}
			ps[i] = p
		}
		c.params = ps
	}
	return c, true
}

// CommonType returns the type that values of all the given types convert
// to, as PostgreSQL's select_common_type for UNION, CASE, COALESCE and
// polymorphic functions: all-unknown gives text; otherwise the unknown
// types are ignored and the first type to which every other converts
// implicitly wins, a preferred type of the category winning over
// non-preferred ones. Types of different categories are an error 42804
// ("CASE types integer and text cannot be matched" in PostgreSQL; here
// "types integer and text cannot be matched").
func CommonType(ts []*types.T) (*types.T, error) {
	var cur *types.T
	for _, t := range ts {
		if t.Family == types.UnknownFamily {
			continue
		}
		if cur == nil {
			cur = t
			continue
		}
		if t.Oid() == cur.Oid() {
			// Keep modifiers only if identical.
			if !t.Identical(cur) {
				cur = cur.WithoutModifiers()
			}
			continue
		}
		if category(t) != category(cur) && !(category(t) == 'N' && category(cur) == 'N') {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "types %s and %s cannot be matched", cur.SQLString(), t.SQLString())
		}
		switch {
		case types.CanCastImplicitly(cur, t) && !types.CanCastImplicitly(t, cur):
			cur = t
		case types.CanCastImplicitly(cur, t) && preferred(t) && !preferred(cur):
			cur = t
		case types.CanCastImplicitly(t, cur):
		default:
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "types %s and %s cannot be matched", cur.SQLString(), t.SQLString())
		}
	}
	if cur == nil {
		return types.Text, nil
	}
	return cur, nil
}

func argList(args []*types.T) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(typeName(a))
	}
	return b.String()
}

// Coerce casts d to the parameter type t of an overload (no-op for
// pseudo-types, NULL, and values already of t's representation). Callers
// that invoke an overload's Fn directly must coerce its arguments first.
func Coerce(ctx *types.EvalContext, d types.Datum, t *types.T) (types.Datum, error) {
	if t == nil {
		return d, nil
	}
	return coerce(ctx, d, t)
}
