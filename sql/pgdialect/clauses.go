package pgdialect

import (
	"fmt"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// maxLimit is what "no limit" becomes when TiDB needs a LIMIT before OFFSET.
const maxLimit = "18446744073709551615"

// clauses applies the rewrites that restructure a query level rather than
// an expression: VALUES lists, FILTER, ORDER BY ... NULLS, LIMIT/OFFSET/
// FETCH, row-locking strengths, and refuses constructs TiDB cannot carry.
func (r *rw) clauses(seq []*node) []*node {
	if len(seq) == 0 {
		return seq
	}
	seq = r.fromFunctions(seq)
	seq = r.valuesAliases(seq)
	if seq[0].is("values") {
		seq = r.valuesToSelect(seq, nil)
	}
	seq = r.checkClauses(seq)
	seq = r.filters(seq)
	seq = r.orderBy(seq)
	seq = r.limits(seq)
	return seq
}

// checkClauses refuses what TiDB cannot carry and rewrites harmless
// spellings (FOR NO KEY UPDATE, FROM ONLY t).
func (r *rw) checkClauses(seq []*node) []*node {
	out := make([]*node, 0, len(seq))
	notSupported := func(n *node, what string) {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		switch {
		case hasWords(seq, i, "distinct", "on"):
			notSupported(n, "DISTINCT ON")
		case hasWords(seq, i, "full", "join"), hasWords(seq, i, "full", "outer", "join"):
			nseq, ni := r.fullJoin(seq, i)
			out = append(out, nseq...)
			i = ni - 1
			continue
		case hasWords(seq, i, "natural", "full"):
			notSupported(n, "NATURAL FULL JOIN")
		case n.is("tablesample"):
			notSupported(n, "TABLESAMPLE")
		case hasWords(seq, i, "with", "ordinality"):
			notSupported(n, "WITH ORDINALITY")
		case hasWords(seq, i, "grouping", "sets"):
			notSupported(n, "GROUPING SETS")
		case (n.is("rollup") || n.is("cube")) && i > 0 && i+1 < len(seq) && seq[i+1].isParen() &&
			(seq[i-1].is("by") || seq[i-1].isKind(kComma)):
			notSupported(n, strings.ToUpper(n.tok.val))
		case hasWords(seq, i, "as", "materialized"), hasWords(seq, i, "as", "not", "materialized"):
			// A planner hint with no effect on results.
			out = append(out, n)
			if seq[i+1].is("not") {
				i++
			}
			i++
			continue
		case n.is("operator") && i+1 < len(seq) && seq[i+1].isParen():
			// OPERATOR(pg_catalog.~) is the operator ~.
			kids := seq[i+1].kids
			if len(kids) == 3 && kids[0].is("pg_catalog") && kids[1].isKind(kDot) {
				kids = kids[2:]
			}
			if len(kids) != 1 || !kids[0].isKind(kOp) {
				notSupported(n, "OPERATOR() with a schema other than pg_catalog")
			}
			op := *kids[0]
			op.tok.pos = n.tok.pos
			op.tok.explicit = true
			out = append(out, &op)
			i++
			continue
		case n.is("as") && i+2 < len(seq) && (seq[i+1].isKind(kWord) || seq[i+1].isKind(kQIdent)) &&
			seq[i+2].isParen() && i > 0 && !seq[i-1].is("with") && !seq[i-1].is("view"):
			notSupported(n, "a column alias list")
		case hasWords(seq, i, "for", "no", "key", "update"):
			out = append(out, n, seq[i+3])
			i += 3
			continue
		case hasWords(seq, i, "for", "key", "share"):
			out = append(out, n, seq[i+2])
			i += 2
			continue
		case n.is("only") && i > 0 && i+1 < len(seq) &&
			(seq[i-1].is("from") || seq[i-1].is("join") || seq[i-1].is("update") || seq[i-1].is("table") ||
				seq[i-1].isKind(kComma)) &&
			(seq[i+1].isKind(kWord) || seq[i+1].isKind(kQIdent)):
			continue // no table inheritance: ONLY t is t
		}
		out = append(out, n)
	}
	return out
}

// joinEnd reports words that end a join condition.
func joinEnd(n *node) bool {
	if n.isKind(kComma) {
		return true
	}
	if !n.isKind(kWord) {
		return false
	}
	switch n.tok.val {
	case "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for", "union",
		"intersect", "except", "join", "inner", "left", "right", "full", "cross", "natural", "returning",
		"on", "using":
		return true
	}
	return false
}

// fullJoin rewrites FULL [OUTER] JOIN t ON c (at seq[i]) into LEFT JOIN t
// ON outpost_full_join(c): TiDB has no FULL JOIN; the planner reads the
// marker (an unaware planner fails on the unknown function rather than
// computing a LEFT JOIN). It returns the rewritten join and the index after
// it.
func (r *rw) fullJoin(seq []*node, i int) ([]*node, int) {
	kw := seq[i]
	j := i + 2
	if seq[i+1].is("outer") {
		j++
	}
	// The joined table: everything up to ON.
	k := j
	for k < len(seq) && !seq[k].is("on") && !joinEnd(seq[k]) {
		k++
	}
	if k >= len(seq) || !seq[k].is("on") {
		r.fail(errorf(r.src, kw.tok.pos, sqlerr.FeatureNotSupported, "FULL JOIN is supported only with ON"))
	}
	e := k + 1
	for e < len(seq) && !joinEnd(seq[e]) {
		e++
	}
	if e == k+1 {
		r.failSyntax(nodeAt(seq, e))
	}
	pos := kw.tok.pos
	out := []*node{raw("LEFT", pos), raw("JOIN", pos)}
	out = append(out, seq[j:k+1]...)
	out = append(out, call("outpost_full_join", pos, seq[k+1:e])...)
	return out, e
}

// valuesAliases handles (VALUES ...) [AS] v(a, b) and (SELECT ...) [AS]
// v(a, b): TiDB has no column alias lists, so the names become the aliases
// of the select list (of the first SELECT of the rewritten VALUES).
func (r *rw) valuesAliases(seq []*node) []*node {
	var out []*node
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		if n.isParen() && len(n.kids) > 0 && (n.kids[0].is("values") || n.kids[0].is("select")) {
			j := i + 1
			as := j < len(seq) && seq[j].is("as")
			if as {
				j++
			}
			if j+1 < len(seq) && seq[j+1].isParen() &&
				(seq[j].isKind(kQIdent) || seq[j].isKind(kWord) && (as || isAtomWord(seq[j].tok.val))) {
				var names []*node
				for _, item := range splitTop(seq[j+1].kids) {
					if len(item) != 1 || !(item[0].isKind(kWord) || item[0].isKind(kQIdent)) {
						r.fail(syntaxErrorAt(r.src, seq[j+1].tok))
					}
					names = append(names, item[0])
				}
				g := *n
				if n.kids[0].is("values") {
					g.kids = r.valuesToSelect(n.kids, names)
				} else {
					g.kids = r.aliasSelectList(n.kids, names, seq[j])
				}
				out = append(out, &g)
				out = append(out, seq[i+1:j+1]...)
				i = j + 1
				continue
			}
		}
		out = append(out, n)
	}
	if out == nil {
		return seq
	}
	return out
}

// valuesToSelect rewrites VALUES (a, b), (c, d) [ORDER BY/LIMIT ...] into
// SELECT a AS column1, b AS column2 UNION ALL SELECT c, d ..., PostgreSQL's
// column names unless names override them.
func (r *rw) valuesToSelect(seq []*node, names []*node) []*node {
	kw := seq[0]
	var rows [][][]*node
	i := 1
	for {
		if i >= len(seq) || !seq[i].isParen() {
			r.failSyntax(nodeAt(seq, i))
		}
		rows = append(rows, splitTop(seq[i].kids))
		i++
		if i < len(seq) && seq[i].isKind(kComma) {
			i++
			continue
		}
		break
	}
	pos := kw.tok.pos
	var out []*node
	width := len(rows[0])
	for ri, row := range rows {
		if len(row) != width {
			r.fail(errorf(r.src, pos, sqlerr.SyntaxError, "VALUES lists must all be the same length"))
		}
		if ri == 0 {
			out = append(out, raw("SELECT", pos))
		} else {
			out = append(out, raw("UNION", pos), raw("ALL", pos), raw("SELECT", pos))
		}
		for ci, item := range row {
			if len(item) == 0 {
				r.failSyntax(nodeAt(seq, i))
			}
			if ci > 0 {
				out = append(out, synth(kComma, ",", pos))
			}
			out = append(out, item...)
			if ri == 0 {
				out = append(out, raw("AS", pos))
				if ci < len(names) {
					out = append(out, names[ci])
				} else {
					out = append(out, raw(fmt.Sprintf("column%d", ci+1), pos))
				}
			}
		}
	}
	return append(out, seq[i:]...)
}

// selectListEnd reports words that end a select list.
func selectListEnd(n *node) bool {
	if !n.isKind(kWord) {
		return false
	}
	switch n.tok.val {
	case "from", "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for",
		"union", "intersect", "except", "into":
		return true
	}
	return false
}

// aliasSelectList gives the items of the select list of a SELECT (seq)
// the aliases names; alias is the alias naming them, for errors.
func (r *rw) aliasSelectList(seq []*node, names []*node, alias *node) []*node {
	i := 1
	for i < len(seq) && (seq[i].is("distinct") || seq[i].is("all")) {
		if seq[i].is("distinct") && i+1 < len(seq) && seq[i+1].is("on") {
			break
		}
		i++
	}
	end := i
	for end < len(seq) && !selectListEnd(seq[end]) {
		end++
	}
	items := splitTop(seq[i:end])
	if len(names) > len(items) {
		r.fail(errorf(r.src, alias.tok.pos, sqlerr.InvalidColumnReference,
			"table \"%s\" has %d columns available but %d columns specified", alias.tok.val, len(items), len(names)))
	}
	for k, name := range names {
		item := items[k]
		if len(item) == 0 {
			r.failSyntax(nodeAt(seq, end))
		}
		if last := item[len(item)-1]; last.isOp("*") {
			r.notSupported(alias, "a column alias list over *")
		}
		p := &eparser{r: r, seq: item, i: 0}
		if p.parse(0) == nil {
			r.failSyntax(item[0])
		}
		e := item[:p.i]
		switch rest := item[p.i:]; {
		case len(rest) == 0:
		case len(rest) == 1 && (rest[0].isKind(kWord) || rest[0].isKind(kQIdent)):
		case len(rest) == 2 && rest[0].is("as"):
		default:
			r.failSyntax(rest[0])
		}
		items[k] = append(append(append([]*node{}, e...), raw("AS", name.tok.pos)), name)
	}
	out := append([]*node{}, seq[:i]...)
	out = append(out, joinComma(items)...)
	return append(out, seq[end:]...)
}

func nodeAt(seq []*node, i int) *node {
	if i < len(seq) {
		return seq[i]
	}
	return nil
}

// filters rewrites agg(x) FILTER (WHERE c) into agg(CASE WHEN c THEN x END),
// which is the same for every aggregate that skips NULL inputs.
func (r *rw) filters(seq []*node) []*node {
	var out []*node
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		if i+2 < len(seq) && n.isKind(kWord) && seq[i+1].isParen() && seq[i+2].is("filter") {
			f := seq[i+2]
			if i+3 >= len(seq) || !seq[i+3].isParen() || len(seq[i+3].kids) < 2 || !seq[i+3].kids[0].is("where") {
				r.fail(syntaxErrorAt(r.src, f.tok))
			}
			switch n.tok.val {
			case "array_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg":
				r.fail(errorf(r.src, f.tok.pos, sqlerr.FeatureNotSupported, "FILTER on %s is not supported", n.tok.val))
			}
			cond := seq[i+3].kids[1:]
			args := seq[i+1]
			parts := splitTop(args.kids)
			first := parts[0]
			var prefix []*node
			if len(first) > 0 && (first[0].is("distinct") || first[0].is("all")) {
				prefix, first = first[:1], first[1:]
			}
			// ORDER BY inside the call belongs to the last argument.
			if len(first) == 1 && first[0].isOp("*") {
				first = []*node{synth(kNumber, "1", first[0].tok.pos)}
			}
			if len(first) == 0 {
				r.fail(syntaxErrorAt(r.src, args.close))
			}
			pos := f.tok.pos
			cs := &node{
				tok:   token{kind: kWord, val: "case", pos: pos, end: pos},
				close: token{kind: kWord, val: "end", pos: pos, end: pos},
				group: true,
			}
			cs.kids = append(cs.kids, word("when", pos))
			cs.kids = append(cs.kids, cond...)
			cs.kids = append(cs.kids, word("then", pos))
			cs.kids = append(cs.kids, first...)
			parts[0] = append(prefix, cs)
			g := *args
			g.kids = joinComma(parts)
			out = append(out, n, &g)
			i += 3
			continue
		}
		out = append(out, n)
	}
	if out == nil {
		return seq
	}
	return out
}

// orderByEnd reports words that end an ORDER BY list at its level.
func orderByEnd(n *node) bool {
	if !n.isKind(kWord) {
		return false
	}
	switch n.tok.val {
	case "limit", "offset", "fetch", "for", "union", "intersect", "except", "window",
		"returning", "rows", "range", "groups", "on":
		return true
	}
	return false
}

// orderBy rewrites ORDER BY items with NULLS FIRST/LAST. Outpost's
// executor sorts NULL as the largest value (PostgreSQL's default), so a
// NULLS clause that asks for the default is dropped and the other one
// becomes an extra leading key: e NULLS FIRST → (e) IS NULL DESC, e.
func (r *rw) orderBy(seq []*node) []*node {
	for i := 0; i+1 < len(seq); i++ {
		if !hasWords(seq, i, "order", "by") {
			continue
		}
		start := i + 2
		end := start
		for end < len(seq) && !orderByEnd(seq[end]) {
			end++
		}
		items := splitTop(seq[start:end])
		changed := false
		for k, item := range items {
			if nitem, ok := r.orderItem(item); ok {
				items[k] = nitem
				changed = true
			}
		}
		if !changed {
			i = end - 1
			continue
		}
		list := joinComma(items)
		nseq := append(append(append([]*node{}, seq[:start]...), list...), seq[end:]...)
		seq = nseq
		i = start + len(list) - 1
	}
	return seq
}

func (r *rw) orderItem(item []*node) ([]*node, bool) {
	for _, n := range item {
		if n.is("using") {
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "ORDER BY ... USING is not supported"))
		}
	}
	k := len(item)
	if k < 3 || !item[k-2].is("nulls") || !(item[k-1].is("first") || item[k-1].is("last")) {
		return nil, false
	}
	nullsFirst := item[k-1].is("first")
	pos := item[k-2].tok.pos
	e := item[:k-2]
	var dir []*node
	desc := false
	if len(e) > 0 && (e[len(e)-1].is("asc") || e[len(e)-1].is("desc")) {
		desc = e[len(e)-1].is("desc")
		dir = e[len(e)-1:]
		e = e[:len(e)-1]
	}
	if len(e) == 0 {
		r.fail(syntaxErrorAt(r.src, item[k-2].tok))
	}
	if nullsFirst == desc {
		// The default order for this direction.
		return append(append([]*node{}, e...), dir...), true
	}
	if len(e) == 1 && e[0].isKind(kNumber) {
		r.fail(errorf(r.src, pos, sqlerr.FeatureNotSupported,
			"NULLS FIRST/LAST with an output column number is not supported"))
	}
	key := "ASC"
	if nullsFirst {
		key = "DESC"
	}
	// e appears twice: the nodes are shared (processing them is
	// deterministic, and shared groups are processed once).
	out := []*node{paren(firstPos(e, pos), e...), raw("IS", pos), raw("NULL", pos), raw(key, pos),
		synth(kComma, ",", pos)}
	out = append(out, e...)
	return append(out, dir...), true
}

// limitEnd reports words that end a LIMIT/OFFSET/FETCH value.
func limitEnd(n *node) bool {
	if !n.isKind(kWord) {
		return n.isKind(kComma)
	}
	switch n.tok.val {
	case "limit", "offset", "fetch", "for", "union", "intersect", "except", "row", "rows",
		"returning", "on":
		return true
	}
	return false
}

// limits normalizes LIMIT, OFFSET and FETCH FIRST into TiDB's LIMIT count
// [OFFSET offset]. In PostgreSQL the clauses are adjacent.
func (r *rw) limits(seq []*node) []*node {
	isClause := func(n *node) bool { return n.is("limit") || n.is("offset") || n.is("fetch") }
	first := -1
	for i := 1; i < len(seq); i++ {
		if isClause(seq[i]) {
			first = i
			break
		}
	}
	if first < 0 {
		return seq
	}
	var count, offset []*node
	haveCount, haveOffset := false, false
	i := first
	for i < len(seq) && isClause(seq[i]) {
		n := seq[i]
		dup := func(have bool, _ string) {
			if have {
				r.fail(syntaxErrorAt(r.src, n.tok))
			}
		}
		switch n.tok.val {
		case "limit":
			dup(haveCount, "LIMIT")
			haveCount = true
			j := i + 1
			for j < len(seq) && !limitEnd(seq[j]) {
				j++
			}
			if j < len(seq) && seq[j].isKind(kComma) {
				r.fail(errorf(r.src, n.tok.pos, sqlerr.SyntaxError, "LIMIT #,# syntax is not supported").
					WithHint("Use separate LIMIT and OFFSET clauses."))
			}
			val := seq[i+1 : j]
			if len(val) == 1 && (val[0].is("all") || val[0].is("null")) {
				val = nil
			} else {
				val = r.limitValue(n, val)
			}
			count = val
			i = j
		case "offset":
			dup(haveOffset, "OFFSET")
			haveOffset = true
			j := i + 1
			for j < len(seq) && !limitEnd(seq[j]) {
				j++
			}
			offset = r.limitValue(n, seq[i+1:j])
			if j < len(seq) && (seq[j].is("row") || seq[j].is("rows")) {
				j++
			}
			i = j
		case "fetch":
			dup(haveCount, "LIMIT")
			haveCount = true
			j := i + 1
			if j >= len(seq) || !(seq[j].is("first") || seq[j].is("next")) {
				r.failSyntax(nodeAt(seq, j))
			}
			j++
			k := j
			for k < len(seq) && !(seq[k].is("row") || seq[k].is("rows")) && !limitEnd(seq[k]) {
				k++
			}
			if k >= len(seq) || !(seq[k].is("row") || seq[k].is("rows")) {
				r.failSyntax(nodeAt(seq, k))
			}
			if k == j {
				count = []*node{synth(kNumber, "1", n.tok.pos)}
			} else {
				count = r.limitValue(n, seq[j:k])
			}
			k++
			switch {
			case k < len(seq) && seq[k].is("only"):
				k++
			case hasWords(seq, k, "with", "ties"):
				r.fail(errorf(r.src, seq[k].tok.pos, sqlerr.FeatureNotSupported, "FETCH ... WITH TIES is not supported"))
			default:
				r.failSyntax(nodeAt(seq, k))
			}
			i = k
		}
	}
	for j := i; j < len(seq); j++ {
		if isClause(seq[j]) {
			r.failSyntax(seq[j])
		}
	}
	pos := seq[first].tok.pos
	var clause []*node
	switch {
	case count != nil:
		clause = append([]*node{raw("LIMIT", pos)}, count...)
		if offset != nil {
			clause = append(append(clause, raw("OFFSET", pos)), offset...)
		}
	case offset != nil:
		clause = append([]*node{raw("LIMIT", pos), raw(maxLimit, pos), raw("OFFSET", pos)}, offset...)
	}
	out := append(append([]*node{}, seq[:first]...), clause...)
	return append(out, seq[i:]...)
}

// limitValue checks that a LIMIT/OFFSET value is something TiDB takes: a
// number or a parameter, possibly cast to an integer type.
func (r *rw) limitValue(kw *node, val []*node) []*node {
	if len(val) == 0 {
		r.fail(syntaxErrorAt(r.src, kw.tok))
	}
	v := val[0]
	if len(val) == 1 && v.isParen() && len(v.kids) == 1 {
		v = v.kids[0]
		val = []*node{v}
	}
	if n, ok := integerString(v); ok {
		// LIMIT '5': an unknown literal read as the integer it spells
		// (pgx's simple protocol sends parameters so).
		v = synth(kNumber, n, v.tok.pos)
		v.tok.isInt = true
		val[0] = v
	}
	if !(v.isKind(kNumber) && v.tok.isInt || v.isKind(kParam)) {
		r.fail(errorf(r.src, kw.tok.pos, sqlerr.FeatureNotSupported,
			"%s with an expression is not supported (use a constant or a parameter)", strings.ToUpper(kw.tok.val)))
	}
	if len(val) > 1 {
		if !val[1].isOp("::") {
			r.fail(errorf(r.src, kw.tok.pos, sqlerr.FeatureNotSupported,
				"%s with an expression is not supported (use a constant or a parameter)", strings.ToUpper(kw.tok.val)))
		}
		typ, j := r.parseType(val, 2, false)
		switch typ {
		case "bigint", "integer", "smallint", "numeric":
		default:
			r.fail(errorf(r.src, kw.tok.pos, sqlerr.FeatureNotSupported,
				"%s with an expression is not supported (use a constant or a parameter)", strings.ToUpper(kw.tok.val)))
		}
		if j != len(val) {
			r.failSyntax(val[j])
		}
	}
	return []*node{v}
}
