package pgdialect

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// shape applies the statement-level rewrites: it classifies the statement,
// rewrites DDL, and removes RETURNING, ON CONFLICT and AS OF clauses into
// frag. It returns the statement for process.
func (r *rw) shape(seq []*node, info *Info, frag *fragments) []*node {
	head := seq[0]
	if head.isParen() {
		info.Tag = "SELECT"
		return r.dml(seq, "select", frag)
	}
	if !head.isKind(kWord) {
		r.failSyntax(head)
	}
	notSupported := func(what string) {
		r.fail(errorf(r.src, head.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	switch head.tok.val {
	case "select", "values", "with", "insert", "update", "delete":
		verb := mainVerb(seq)
		info.Tag = strings.ToUpper(verb)
		if verb == "values" {
			info.Tag = "SELECT"
		}
		return r.dml(seq, verb, frag)
	case "table":
		// TABLE t is SELECT * FROM t.
		info.Tag = "SELECT"
		pos := head.tok.pos
		nseq := append([]*node{raw("SELECT", pos), synth(kOp, "*", pos), raw("FROM", pos)}, seq[1:]...)
		return r.dml(nseq, "select", frag)
	case "explain":
		info.Tag = "EXPLAIN"
		i := 1
		var out []*node
		out = append(out, head)
		if i < len(seq) && seq[i].isParen() {
			notSupported("EXPLAIN with an option list")
		}
		for i < len(seq) && (seq[i].is("analyze") || seq[i].is("analyse") || seq[i].is("verbose")) {
			if !seq[i].is("verbose") {
				out = append(out, raw("ANALYZE", seq[i].tok.pos))
			}
			i++
		}
		if i >= len(seq) {
			r.failSyntax(nil)
		}
		var inner Info
		rest := r.shape(seq[i:], &inner, frag)
		if frag.returning != nil || frag.conflict != nil || frag.asOf != nil {
			notSupported("EXPLAIN of a statement with RETURNING, ON CONFLICT or AS OF")
		}
		return append(out, rest...)
	case "create":
		return r.create(seq, info)
	case "alter":
		return r.alter(seq, info)
	case "drop":
		return r.drop(seq, info)
	case "comment", "grant", "revoke", "lock", "cluster", "reindex",
		"refresh", "load", "import", "do", "call", "notify", "declare", "fetch",
		"move", "close", "security", "reassign", "merge":
		notSupported(strings.ToUpper(head.tok.val))
	}
	r.failSyntax(head)
	return nil
}

// mainVerb finds the verb of a DML statement, skipping a WITH clause.
func mainVerb(seq []*node) string {
	for _, n := range seq {
		if n.isKind(kWord) {
			switch n.tok.val {
			case "select", "values", "insert", "update", "delete":
				return n.tok.val
			}
		}
	}
	return "select"
}

// dml handles SELECT/INSERT/UPDATE/DELETE/VALUES at the statement level.
func (r *rw) dml(seq []*node, verb string, frag *fragments) []*node {
	notSupported := func(n *node, what string) {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	if seq[0].is("with") {
		for _, n := range seq {
			if n.isParen() && len(n.kids) > 0 {
				switch k := n.kids[0]; {
				case k.is("insert"), k.is("update"), k.is("delete"):
					notSupported(k, "a data-modifying statement in WITH")
				}
			}
			if n.is("select") || n.is("insert") || n.is("update") || n.is("delete") {
				break
			}
		}
	}
	// RETURNING (always the last clause).
	if verb == "insert" || verb == "update" || verb == "delete" {
		if k := indexWord(seq, 0, "returning"); k >= 0 {
			if k+1 >= len(seq) {
				r.failSyntax(nil)
			}
			frag.returning = seq[k+1:]
			frag.returningAt = seq[k].tok.pos
			seq = seq[:k]
		}
	}
	switch verb {
	case "insert":
		seq = r.onConflict(seq, frag)
		// PostgreSQL has no empty row constructor: VALUES () is a syntax
		// error at ")" (the rewrite below produces it only for DEFAULT
		// VALUES).
		if v := indexWord(seq, 0, "values"); v >= 0 {
			for _, n := range seq[v+1:] {
				if n.isParen() && len(n.kids) == 0 {
					r.fail(syntaxErrorAt(r.src, n.close))
				}
			}
		}
		// DEFAULT VALUES → () VALUES ().
		for i := 0; i+1 < len(seq); i++ {
			if hasWords(seq, i, "default", "values") {
				pos := seq[i].tok.pos
				nseq := append([]*node{}, seq[:i]...)
				nseq = append(nseq, paren(pos), raw("VALUES", pos), paren(pos))
				seq = append(nseq, seq[i+2:]...)
				break
			}
		}
	case "update":
		seq = r.updateFrom(seq)
	case "select":
		into := indexWord(seq, 0, "into")
		if into >= 0 {
			notSupported(seq[into], "SELECT ... INTO")
		}
		seq = r.asOf(seq, frag)
	case "delete":
		seq = r.deleteUsing(seq)
	}
	return seq
}

// target reads "name [[AS] alias]" at seq[i] (after UPDATE or DELETE FROM)
// and returns the index after it and the name to qualify columns with.
func (r *rw) target(seq []*node, i int) (int, *node) {
	j := i
	if j < len(seq) && seq[j].is("only") {
		j++
	}
	if j >= len(seq) || !(seq[j].isKind(kWord) && !pgReserved[seq[j].tok.val] || seq[j].isKind(kQIdent)) {
		r.failSyntax(nodeAt(seq, j))
	}
	ref := seq[j]
	j++
	for j+1 < len(seq) && seq[j].isKind(kDot) {
		ref = seq[j+1]
		j += 2
	}
	if j < len(seq) && seq[j].is("as") {
		j++
	}
	if j < len(seq) && (seq[j].isKind(kQIdent) || seq[j].isKind(kWord) && isAtomWord(seq[j].tok.val) &&
		!seq[j].is("set") && !seq[j].is("using") && !seq[j].is("where")) {
		ref = seq[j]
		j++
	}
	return j, ref
}

// updateFrom rewrites UPDATE t [AS x] SET a = e FROM l WHERE ... into TiDB's
// multi-table UPDATE t [AS x], l SET x.a = e WHERE ..., which has the same
// meaning once the targets are qualified.
func (r *rw) updateFrom(seq []*node) []*node {
	u := indexWord(seq, 0, "update")
	set := indexWord(seq, u+1, "set")
	if u < 0 || set < 0 {
		return seq
	}
	from := indexWord(seq, set, "from")
	if from < 0 {
		return seq
	}
	end, ref := r.target(seq, u+1)
	if end != set {
		r.failSyntax(nodeAt(seq, end))
	}
	stop := len(seq)
	if w := indexWord(seq, from, "where"); w >= 0 {
		stop = w
	}
	var assigns [][]*node
	for _, item := range splitTop(seq[set+1 : from]) {
		if len(item) < 3 || !(item[0].isKind(kWord) || item[0].isKind(kQIdent)) || !item[1].isOp("=") {
			at := seq[set]
			if len(item) > 0 {
				at = item[0]
			}
			r.fail(errorf(r.src, at.tok.pos, sqlerr.FeatureNotSupported,
				"UPDATE ... FROM supports only simple column = value assignments"))
		}
		q := append([]*node{ref, synth(kDot, ".", item[0].tok.pos)}, item...)
		assigns = append(assigns, q)
	}
	out := append([]*node{}, seq[:set]...)
	out = append(out, synth(kComma, ",", seq[from].tok.pos))
	out = append(out, seq[from+1:stop]...)
	out = append(out, seq[set])
	out = append(out, joinComma(assigns)...)
	return append(out, seq[stop:]...)
}

// deleteUsing rewrites DELETE FROM t [AS x] USING l WHERE ... into TiDB's
// DELETE FROM x USING t [AS x], l WHERE ..., which deletes the same rows.
func (r *rw) deleteUsing(seq []*node) []*node {
	d := indexWord(seq, 0, "delete")
	if d < 0 || d+1 >= len(seq) || !seq[d+1].is("from") {
		return seq
	}
	using := indexWord(seq, d+2, "using")
	if using < 0 {
		return seq
	}
	end, ref := r.target(seq, d+2)
	if end != using {
		r.failSyntax(nodeAt(seq, end))
	}
	start := d + 2
	if seq[start].is("only") {
		start++
	}
	out := append([]*node{}, seq[:d+2]...)
	out = append(out, ref, seq[using])
	out = append(out, seq[start:using]...)
	out = append(out, synth(kComma, ",", seq[using].tok.pos))
	return append(out, seq[using+1:]...)
}

// onConflict removes ON CONFLICT ... from an INSERT.
func (r *rw) onConflict(seq []*node, frag *fragments) []*node {
	k := -1
	for i := 0; i+2 < len(seq); i++ {
		if hasWords(seq, i, "on", "conflict") && (seq[i+2].isParen() || seq[i+2].is("do") || seq[i+2].is("on")) {
			k = i
			break
		}
	}
	if k < 0 {
		return seq
	}
	oc := &OnConflict{}
	i := k + 2
	notSupported := func(n *node, what string) {
		r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "%s is not supported", what))
	}
	if hasWords(seq, i, "on", "constraint") {
		notSupported(seq[i], "ON CONFLICT ON CONSTRAINT")
	}
	if i < len(seq) && seq[i].isParen() {
		for _, item := range splitTop(seq[i].kids) {
			if len(item) != 1 || !(item[0].isKind(kWord) || item[0].isKind(kQIdent)) {
				at := seq[i]
				if len(item) > 0 {
					at = item[0]
				}
				notSupported(at, "an ON CONFLICT target other than a column list")
			}
			oc.Columns = append(oc.Columns, item[0].tok.val)
		}
		i++
		if i < len(seq) && seq[i].is("where") {
			notSupported(seq[i], "ON CONFLICT ... WHERE (partial index inference)")
		}
	}
	if !(i < len(seq) && seq[i].is("do")) {
		r.failSyntax(nodeAt(seq, i))
	}
	i++
	switch {
	case i < len(seq) && seq[i].is("nothing"):
		oc.DoNothing = true
		i++
		if i < len(seq) {
			r.failSyntax(seq[i])
		}
	case hasWords(seq, i, "update", "set"):
		if oc.Columns == nil {
			r.fail(errorf(r.src, seq[k].tok.pos, sqlerr.SyntaxError,
				"ON CONFLICT DO UPDATE requires inference specification or constraint name").
				WithHint("For example, ON CONFLICT (column_name)."))
		}
		if i+2 >= len(seq) {
			r.failSyntax(nil)
		}
		frag.conflictSet = seq[i+2:]
		frag.conflictAt = seq[i].tok.pos
		frag.conflictEnd = r.end
		if frag.returning != nil {
			frag.conflictEnd = token{kind: kWord, pos: frag.returningAt, end: frag.returningAt + len("returning")}
		}
	default:
		r.failSyntax(nodeAt(seq, i))
	}
	frag.conflict = oc
	return seq[:k]
}

// asOf removes AS OF SYSTEM TIME <expr> (or AS OF TIMESTAMP <expr>) from
// the top level of a SELECT.
func (r *rw) asOf(seq []*node, frag *fragments) []*node {
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		if n.isParen() {
			nestedAsOf(r, n)
			continue
		}
		skip := 0
		switch {
		case hasWords(seq, i, "as", "of", "system", "time"):
			skip = 4
		case hasWords(seq, i, "as", "of", "timestamp"):
			skip = 3
		default:
			continue
		}
		if frag.asOf != nil {
			r.fail(errorf(r.src, n.tok.pos, sqlerr.SyntaxError, "multiple AS OF clauses are not allowed"))
		}
		p := &eparser{r: r, seq: seq, i: i + skip}
		e := p.parse(0)
		if e == nil {
			r.failSyntax(nodeAt(seq, i+skip))
		}
		frag.asOf = seq[i+skip : p.i]
		frag.asOfAt = n.tok.pos
		frag.asOfEnd = r.end
		if p.i < len(seq) {
			frag.asOfEnd = seq[p.i].tok
		}
		seq = append(append([]*node{}, seq[:i]...), seq[p.i:]...)
		i--
	}
	return seq
}

// nestedAsOf refuses AS OF inside a subquery.
func nestedAsOf(r *rw, g *node) {
	for i, n := range g.kids {
		if n.group {
			nestedAsOf(r, n)
			continue
		}
		if hasWords(g.kids, i, "as", "of", "system", "time") || hasWords(g.kids, i, "as", "of", "timestamp") {
			r.fail(errorf(r.src, n.tok.pos, sqlerr.FeatureNotSupported, "AS OF must be at the top level of a statement"))
		}
	}
}
