package pgdialect

import (
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Arrays. TiDB has no array syntax, so the array forms PostgreSQL clients
// (psql's catalog queries above all) use become functions the planner
// knows:
//
//	ARRAY(subquery)        → outpost_array((subquery))
//	ARRAY[a, b]            → outpost_array(a, b)
//	x op ANY|SOME(array)   → x op outpost_any(array)
//	x op ALL(array)        → x op outpost_all(array)
//	e[i]                   → outpost_subscript(e, i)
//	x::type[]              → outpost_cast(x, 'type[]')
//	FROM f(args) [AS] a    → FROM (SELECT outpost_srf_f(args)) AS a
//
// Slices (e[a:b]), multi-dimensional constructors and column alias lists
// on FROM functions are refused with 0A000.

func (n *node) isBracket() bool { return n.group && n.tok.kind == kLBracket }

// arrayConstructor parses ARRAY(...) or ARRAY[...] at p.i.
func (p *eparser) arrayConstructor() *expr {
	n := p.at(0)
	next := p.at(1)
	pos := n.tok.pos
	switch {
	case next != nil && next.isParen():
		p.i += 2
		return atom(call("outpost_array", pos, []*node{p.r.group(next)})...)
	case next != nil && next.isBracket():
		p.i += 2
		var args [][]*node
		for _, item := range splitTop(next.kids) {
			if len(item) == 0 {
				p.r.failSyntax(next)
			}
			if len(item) == 1 && item[0].isBracket() {
				p.r.fail(errorf(p.r.src, item[0].tok.pos, sqlerr.FeatureNotSupported, "multidimensional arrays are not supported"))
			}
			args = append(args, p.r.seqExpr(item))
		}
		if len(args) == 0 {
			p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "empty ARRAY[] needs a type; write '{}'::type[]"))
		}
		return atom(call("outpost_array", pos, args...)...)
	}
	p.r.failSyntax(n)
	return nil
}

// anyArray turns ANY/SOME/ALL over an array expression into a function the
// planner pairs with the comparison before it.
func (p *eparser) anyArray(w string, g *node) *expr {
	fn := "outpost_any"
	if w == "all" {
		fn = "outpost_all"
	}
	pos := p.at(0).tok.pos
	p.i += 2
	return atom(call(fn, pos, p.r.seqExpr(g.kids))...)
}

// subscripts applies any [i] following e.
func (p *eparser) subscripts(e *expr) *expr {
	for {
		n := p.at(0)
		if n == nil || !n.isBracket() {
			return e
		}
		for _, k := range n.kids {
			if k.isKind(kColon) {
				p.r.fail(errorf(p.r.src, k.tok.pos, sqlerr.FeatureNotSupported, "array slices are not supported"))
			}
		}
		if len(n.kids) == 0 {
			p.r.failSyntax(n)
		}
		p.i++
		e = atom(call("outpost_subscript", n.tok.pos, p.r.emit(e), p.r.seqExpr(n.kids))...)
	}
}

// fromFunctions rewrites function calls used as FROM items into derived
// tables the planner recognizes as set-returning functions.
func (r *rw) fromFunctions(seq []*node) []*node {
	var out []*node
	inFrom, query := false, false
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		switch {
		case n.is("select") || n.is("delete") || n.is("update"):
			query = true
		case n.is("from") && query:
			inFrom = true
		case n.is("where") || n.is("group") || n.is("having") || n.is("order") || n.is("limit") ||
			n.is("union") || n.is("intersect") || n.is("except") || n.is("window") || n.is("offset") ||
			n.is("fetch") || n.is("for") || n.is("returning") || n.is("set"):
			inFrom = false
		}
		if !inFrom || !(n.is("from") || n.is("join") || n.isKind(kComma)) {
			out = append(out, n)
			continue
		}
		out = append(out, n)
		j := i + 1
		if j < len(seq) && seq[j].is("lateral") {
			j++
		}
		// [pg_catalog .] name ( args )
		k := j
		if k+2 < len(seq) && seq[k].is("pg_catalog") && seq[k+1].isKind(kDot) {
			k += 2
		}
		if k+1 >= len(seq) || !seq[k].isKind(kWord) || !seq[k+1].isParen() {
			continue
		}
		fn := seq[k]
		args := seq[k+1]
		pos := fn.tok.pos
		i = k + 1
		// The alias [AS] a, or the function's name as PostgreSQL names
		// it; a one-column alias list a(x) names the column.
		var alias, colList *node
		next := nodeAt(seq, i+1)
		switch {
		case next != nil && next.is("as") && nodeAt(seq, i+2) != nil:
			alias, i = seq[i+2], i+2
		case next != nil && (next.isKind(kWord) || next.isKind(kQIdent)) && !isClauseWord(next):
			alias, i = next, i+1
		}
		if a := nodeAt(seq, i+1); alias != nil && a != nil && a.isParen() {
			if len(a.kids) != 1 || !(a.kids[0].isKind(kWord) || a.kids[0].isKind(kQIdent)) {
				r.fail(errorf(r.src, a.tok.pos, sqlerr.FeatureNotSupported, "a column alias list of more than one column on a FROM function"))
			}
			colList, i = a.kids[0], i+1
		}
		sel := append([]*node{word("select", pos)}, call("outpost_srf_"+fn.tok.val, pos, args.kids)...)
		if colList != nil {
			sel = append(sel, word("as", pos), colList)
		}
		out = append(out, paren(pos, sel...))
		if alias == nil {
			alias = word(fn.tok.val, pos)
		}
		out = append(out, word("as", pos), alias)
	}
	return out
}

func isClauseWord(n *node) bool {
	for _, w := range []string{"where", "group", "having", "order", "limit", "union", "intersect", "except",
		"window", "offset", "fetch", "for", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using"} {
		if n.is(w) {
			return true
		}
	}
	return false
}
