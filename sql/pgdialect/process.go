package pgdialect

import (
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// rw holds the state of rewriting one query string.
type rw struct {
	src string
	// groups caches processed groups, so that backtracking in the
	// expression parser never processes a group twice.
	groups map[*node]*node
	// end is the token after the statement being rewritten.
	end token
}

// bailout carries an error out of the rewriter (recovered in Rewrite).
type bailout struct{ err *sqlerr.Error }

func (r *rw) fail(err *sqlerr.Error) { panic(bailout{err}) }

// failSyntax fails with a syntax error at n (nil: at the statement's end).
func (r *rw) failSyntax(n *node) {
	if n == nil {
		r.fail(syntaxErrorAt(r.src, r.end))
	}
	r.fail(syntaxErrorAt(r.src, n.tok))
}

// group returns g with its contents rewritten.
func (r *rw) group(g *node) *node {
	if done, ok := r.groups[g]; ok {
		return done
	}
	if g.isBracket() {
		r.fail(errorf(r.src, g.tok.pos, sqlerr.FeatureNotSupported, "arrays are not supported here"))
	}
	c := *g
	c.kids = r.process(g.kids, false)
	r.groups[g] = &c
	return &c
}

// process rewrites one nesting level: clause-level rewrites first, then
// every expression, then the quoting of names TiDB reserves. top marks the
// statement level (its first word is the statement keyword).
func (r *rw) process(seq []*node, top bool) []*node {
	seq = r.clauses(seq)
	out := make([]*node, 0, len(seq))
	inSet := false
	for i := 0; i < len(seq); {
		n := seq[i]
		switch {
		case n.is("set"):
			inSet = true
			out = append(out, n)
			i++
			i = r.assignTarget(seq, i, &out)
			continue
		case inSet && n.isKind(kComma):
			out = append(out, n)
			i++
			i = r.assignTarget(seq, i, &out)
			continue
		case n.is("where") || n.is("from") || n.is("returning"):
			inSet = false
		case n.isOp("=>") || n.isOp(":="):
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "named arguments are not supported"))
		}
		if startsExpr(seq, i) {
			p := &eparser{r: r, seq: seq, i: i}
			if e := p.parse(0); e != nil && p.i > i {
				out = append(out, r.emit(e)...)
				i = p.i
				continue
			}
		}
		switch {
		case n.group:
			out = append(out, r.group(n))
		case n.isKind(kOp) && !n.isOp("*") && !n.isOp("="):
			// An operator outside any expression: TiDB might read it as
			// something else (! is NOT, && is AND, ? a parameter).
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "operator %s is not supported here", n.tok.val))
		default:
			out = append(out, n)
		}
		i++
	}
	quoteNames(out, top)
	return out
}

// assignTarget copies the target of an assignment (col = ..., t.col = ...,
// (a, b) = ...) at seq[i] unchanged, so that "=" is not read as equality.
func (r *rw) assignTarget(seq []*node, i int, out *[]*node) int {
	j := i
	if j < len(seq) && seq[j].isParen() {
		j++
	} else {
		for j < len(seq) && (seq[j].isKind(kWord) || seq[j].isKind(kQIdent)) {
			j++
			if j+1 < len(seq) && seq[j].isKind(kDot) {
				j++
				continue
			}
			break
		}
	}
	if j == i || j >= len(seq) || !seq[j].isOp("=") {
		return i
	}
	for k := i; k <= j; k++ {
		if seq[k].group {
			*out = append(*out, r.group(seq[k]))
		} else {
			*out = append(*out, seq[k])
		}
	}
	return j + 1
}

// quoteNames marks words that TiDB reserves but PostgreSQL lets one use as
// names (key, rank, interval, ...) to be emitted as quoted identifiers,
// unless the context shows they are used as keywords or function names.
func quoteNames(seq []*node, top bool) {
	for i, n := range seq {
		if !n.isKind(kWord) || n.tok.quote {
			continue
		}
		w := n.tok.val
		if !tidbReserved[w] {
			continue
		}
		var prev, next *node
		if i > 0 {
			prev = seq[i-1]
		}
		if i+1 < len(seq) {
			next = seq[i+1]
		}
		if prev != nil && prev.isKind(kDot) {
			n.tok.quote = true
			continue
		}
		if isColumnLabel(prev, next) && !structural[w] {
			n.tok.quote = true // expr AS primary: any word is a label after AS
			continue
		}
		if pgReserved[w] || structural[w] || valueWords[w] {
			continue
		}
		if top && i == 0 {
			continue
		}
		if next != nil && next.isParen() {
			continue // a function call or a keyword followed by a list
		}
		if keywordUse(w, prev, next) {
			continue
		}
		n.tok.quote = true
	}
}

// keywordUse reports whether w, between prev and next, is a keyword of a
// construct Outpost passes to TiDB rather than a name.
func keywordUse(w string, prev, next *node) bool {
	prevIs := func(ws ...string) bool {
		if prev == nil {
			return false
		}
		for _, x := range ws {
			if prev.is(x) {
				return true
			}
		}
		return false
	}
	nextIs := func(ws ...string) bool {
		if next == nil {
			return false
		}
		for _, x := range ws {
			if next.is(x) {
				return true
			}
		}
		return false
	}
	switch w {
	case "key":
		return prevIs("primary", "foreign")
	case "index":
		return prevIs("create", "unique", "drop", "alter", "using")
	case "database", "databases", "schema", "schemas":
		return prevIs("create", "drop", "alter")
	case "option":
		return prevIs("check")
	case "match":
		return nextIs("full", "partial", "simple")
	case "replace":
		return prevIs("or")
	case "if":
		return nextIs("not", "exists")
	case "generated":
		return nextIs("always", "by")
	case "stored", "virtual":
		return prev != nil && prev.isParen()
	case "cascade", "restrict":
		return prevIs("delete", "update")
	case "of":
		return prevIs("update", "share")
	case "over":
		return prev != nil && (prev.isParen() || prev.isKind(kRParen))
	case "partition":
		return nextIs("by")
	case "recursive":
		return prevIs("with")
	case "rows", "range", "groups":
		return nextIs("between", "unbounded", "current") ||
			next != nil && (next.isKind(kNumber) || next.isKind(kParam))
	case "row":
		return prevIs("current", "each")
	case "analyze":
		return prevIs("explain")
	case "by":
		return prevIs("order", "group", "partition", "increment", "owned", "generated")
	case "ignore":
		return false
	}
	return false
}
