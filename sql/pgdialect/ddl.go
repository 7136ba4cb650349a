package pgdialect

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// columnType is the type TiDB sees for every column: the real type is in
// Info.ColumnTypes. BLOB parses with every column option and carries no
// meaning of its own (no auto-increment, no charset).
const columnType = "BLOB"

// notSupported fails with 0A000 at n (nil: at the end of the statement).
func (r *rw) notSupported(n *node, format string, args ...any) {
	pos := r.end.pos
	if n != nil {
		pos = n.tok.pos
	}
	r.fail(errorf(r.src, pos, sqlerr.FeatureNotSupported, format+" is not supported", args...))
}

// create dispatches CREATE statements.
func (r *rw) create(seq []*node, info *Info) []*node {
	i := 1
	out := []*node{seq[0]}
	// Modifiers before the object kind.
modifiers:
	for i < len(seq) {
		n := seq[i]
		switch {
		case n.is("temp") || n.is("temporary"):
			out = append(out, raw("TEMPORARY", n.tok.pos))
		case n.is("global") || n.is("local") || n.is("unlogged"):
			// No meaning here: GLOBAL/LOCAL are noise words, and
			// UNLOGGED only trades durability.
		case hasWords(seq, i, "or", "replace"):
			out = append(out, n, seq[i+1])
			i++
		default:
			break modifiers
		}
		i++
	}
	if i >= len(seq) {
		r.failSyntax(nil)
	}
	n := seq[i]
	switch {
	case n.is("table"):
		info.Tag = "CREATE TABLE"
		return r.createTable(seq, i, out, info)
	case n.is("index"), n.is("unique") && i+1 < len(seq) && seq[i+1].is("index"):
		info.Tag = "CREATE INDEX"
		return r.createIndex(seq, i)
	case n.is("sequence"):
		info.Tag = "CREATE SEQUENCE"
		out = append(out, n)
		return r.sequence(seq, i+1, out, info)
	case n.is("database"):
		info.Tag = "CREATE DATABASE"
		return r.createDatabase(seq, i, out)
	case n.is("view"):
		info.Tag = "CREATE VIEW"
		for _, m := range out {
			if m.tok.val == "TEMPORARY" {
				r.notSupported(m, "CREATE TEMPORARY VIEW")
			}
		}
		return append(out, seq[i:]...)
	case n.is("schema"):
		r.notSupported(n, "CREATE SCHEMA")
	}
	r.notSupported(n, "CREATE %s", strings.ToUpper(n.tok.val))
	return nil
}

// createTable rewrites the column types of CREATE TABLE.
func (r *rw) createTable(seq []*node, i int, out []*node, info *Info) []*node {
	out = append(out, seq[i])
	i++
	if hasWords(seq, i, "if", "not", "exists") {
		out = append(out, seq[i:i+3]...)
		i += 3
	}
	j := qualifiedName(r, seq, i)
	out = append(out, seq[i:j]...)
	if j < len(seq) && seq[j].is("as") {
		info.Tag = "SELECT" // CREATE TABLE AS reports SELECT n.
		return append(out, seq[j:]...)
	}
	if j >= len(seq) || !seq[j].isParen() {
		r.failSyntax(nodeAt(seq, j))
	}
	g := seq[j]
	var elems [][]*node
	for _, item := range splitTop(g.kids) {
		if len(item) == 0 {
			if len(g.kids) == 0 {
				break
			}
			r.failSyntax(g.close.asNode())
		}
		if isTableConstraint(item[0]) {
			elems = append(elems, r.tableConstraint(item))
			continue
		}
		elems = append(elems, r.columnDef(item, info))
	}
	ng := *g
	ng.kids = joinComma(elems)
	out = append(out, &ng)
	j++
	if hasWords(seq, j, "with") && j+1 < len(seq) && seq[j+1].isParen() {
		j += 2 // storage parameters (fillfactor, ...): no meaning in Outpost
	}
	if j < len(seq) {
		n := seq[j]
		switch {
		case n.is("inherits"), n.is("partition"), n.is("with"), n.is("tablespace"), n.is("using"),
			n.is("without"):
			r.notSupported(n, "CREATE TABLE ... %s", strings.ToUpper(n.tok.val))
		case hasWords(seq, j, "on", "commit"):
			r.notSupported(n, "ON COMMIT")
		}
		r.failSyntax(n)
	}
	return out
}

func (t token) asNode() *node { return leaf(t) }

// qualifiedName checks for a name (a, s.a) at seq[i] and returns the index
// after it.
func qualifiedName(r *rw, seq []*node, i int) int {
	j := i
	for {
		if j >= len(seq) || !(seq[j].isKind(kWord) || seq[j].isKind(kQIdent)) {
			r.failSyntax(nodeAt(seq, j))
		}
		j++
		if j+1 < len(seq) && seq[j].isKind(kDot) {
			j++
			continue
		}
		return j
	}
}

func isTableConstraint(n *node) bool {
	if !n.isKind(kWord) {
		return false
	}
	switch n.tok.val {
	case "constraint", "primary", "unique", "check", "foreign", "exclude", "like":
		return true
	}
	return false
}

// tableConstraint passes a table constraint on, refusing what TiDB lacks.
func (r *rw) tableConstraint(item []*node) []*node {
	switch {
	case item[0].is("exclude"):
		r.notSupported(item[0], "EXCLUDE constraints")
	case item[0].is("like"):
		r.notSupported(item[0], "CREATE TABLE ... (LIKE ...)")
	}
	return r.constraintTail(item, nil)
}

// columnDef rewrites "name type [constraints]": the type goes to
// info.ColumnTypes and TiDB sees BLOB.
func (r *rw) columnDef(item []*node, info *Info) []*node {
	name := item[0]
	if !(name.isKind(kWord) || name.isKind(kQIdent)) {
		r.failSyntax(name)
	}
	if len(item) < 2 {
		r.failSyntax(nodeAt(item, 1))
	}
	typ, j := r.parseType(item, 1, false)
	if info.ColumnTypes == nil {
		info.ColumnTypes = make(map[string]string)
	}
	info.ColumnTypes[name.tok.val] = typ
	col := *name
	if col.isKind(kWord) {
		// A column named like a keyword (key, rank, ...): TiDB
		// needs it quoted, whatever the word.
		col.tok.quote = tidbReserved[col.tok.val]
	}
	out := []*node{&col, raw(columnType, item[1].tok.pos)}
	return append(out, r.constraintTail(item[j:], func(kind string, at *node) {
		if info.Identity == nil {
			info.Identity = make(map[string]string)
		}
		info.Identity[name.tok.val] = kind
	})...)
}

// constraintWords start a column constraint (and so end a DEFAULT).
func constraintWord(n *node) bool {
	if !n.isKind(kWord) {
		return false
	}
	switch n.tok.val {
	case "not", "null", "primary", "unique", "check", "references", "constraint", "generated",
		"collate", "default", "deferrable", "initially":
		return true
	}
	return false
}

// constraintTail rewrites column or table constraints: COLLATE C is
// dropped, DEFAULT expressions are parenthesized (TiDB takes only literals
// and a few functions bare), identity clauses go to identity, the default
// deferrability is dropped and anything TiDB lacks is refused.
func (r *rw) constraintTail(seq []*node, identity func(kind string, at *node)) []*node {
	var out []*node
	for i := 0; i < len(seq); {
		n := seq[i]
		switch {
		case n.is("collate"):
			i++
			r.collation(seq, &i, n.tok.pos)
			continue
		case n.is("default"):
			j := i + 1
			for j < len(seq) && !constraintWord(seq[j]) {
				j++
			}
			e := seq[i+1 : j]
			if len(e) == 0 {
				r.failSyntax(nodeAt(seq, j))
			}
			out = append(out, n)
			if len(e) == 1 && (e[0].isKind(kNumber) || e[0].isKind(kString) || e[0].is("null") ||
				e[0].is("true") || e[0].is("false") || e[0].isParen()) {
				out = append(out, e...)
			} else {
				out = append(out, paren(e[0].tok.pos, e...))
			}
			i = j
			continue
		case n.is("generated") && identity != nil:
			k := i + 1
			kind := ""
			switch {
			case hasWords(seq, k, "always"):
				kind, k = "always", k+1
			case hasWords(seq, k, "by", "default"):
				kind, k = "by default", k+2
			}
			if kind != "" && hasWords(seq, k, "as", "identity") {
				k += 2
				if k < len(seq) && seq[k].isParen() {
					r.notSupported(seq[k], "identity sequence options")
				}
				identity(kind, n)
				i = k
				continue
			}
		case hasWords(seq, i, "not", "deferrable"):
			i += 2
			continue
		case hasWords(seq, i, "initially", "immediate"):
			i += 2
			continue
		case n.is("deferrable"), n.is("initially"):
			r.notSupported(n, "deferrable constraints")
		case hasWords(seq, i, "no", "inherit"):
			i += 2
			continue
		case hasWords(seq, i, "nulls", "not", "distinct"):
			r.notSupported(n, "NULLS NOT DISTINCT")
		case hasWords(seq, i, "nulls", "distinct"):
			i += 2
			continue
		case hasWords(seq, i, "using", "index"):
			r.notSupported(n, "USING INDEX")
		case n.is("with") && i+1 < len(seq) && seq[i+1].isParen():
			r.notSupported(n, "storage parameters")
		case hasWords(seq, i, "not", "valid"):
			r.notSupported(n, "NOT VALID")
		}
		out = append(out, n)
		i++
	}
	return out
}

// createIndex rewrites CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS]
// [name] ON [ONLY] t [USING btree|hash] (cols) [INCLUDE (...)] into TiDB's
// form; an unnamed index gets PostgreSQL's default name.
func (r *rw) createIndex(seq []*node, i int) []*node {
	out := []*node{seq[0]}
	if seq[i].is("unique") {
		out = append(out, seq[i])
		i++
	}
	out = append(out, seq[i]) // INDEX
	i++
	if i < len(seq) && seq[i].is("concurrently") {
		i++
	}
	var ifNotExists []*node
	if hasWords(seq, i, "if", "not", "exists") {
		ifNotExists = seq[i : i+3]
		i += 3
	}
	var name *node
	if i < len(seq) && !seq[i].is("on") {
		name = seq[i]
		if !(name.isKind(kWord) || name.isKind(kQIdent)) {
			r.failSyntax(name)
		}
		i++
	}
	if !(i < len(seq) && seq[i].is("on")) {
		r.failSyntax(nodeAt(seq, i))
	}
	on := seq[i]
	i++
	if i < len(seq) && seq[i].is("only") {
		i++
	}
	t0 := i
	i = qualifiedName(r, seq, i)
	table := seq[t0:i]
	if hasWords(seq, i, "using") {
		m := nodeAt(seq, i+1)
		if m == nil || !(m.is("btree") || m.is("hash")) {
			if m == nil {
				r.failSyntax(nil)
			}
			r.notSupported(m, "index method %s", m.tok.val)
		}
		i += 2
	}
	if i >= len(seq) || !seq[i].isParen() {
		r.failSyntax(nodeAt(seq, i))
	}
	cols := seq[i]
	i++
	var elems [][]*node
	var colNames []string
	for _, item := range splitTop(cols.kids) {
		e, nm := r.indexElem(item, cols)
		elems = append(elems, e)
		colNames = append(colNames, nm)
	}
	for i < len(seq) {
		n := seq[i]
		switch {
		case n.is("include") && i+1 < len(seq) && seq[i+1].isParen():
			i += 2 // covering columns do not change results
		case hasWords(seq, i, "nulls", "distinct"):
			i += 2
		case hasWords(seq, i, "nulls", "not", "distinct"):
			r.notSupported(n, "NULLS NOT DISTINCT")
		case n.is("with") && i+1 < len(seq) && seq[i+1].isParen():
			i += 2 // storage parameters
		case n.is("tablespace"):
			r.notSupported(n, "TABLESPACE")
		case n.is("where"):
			r.notSupported(n, "partial indexes")
		default:
			r.failSyntax(n)
		}
	}
	if name == nil {
		tname := table[len(table)-1].tok.val
		name = word(indexName(tname, colNames), on.tok.pos)
		name.tok.quote = true
	}
	out = append(out, ifNotExists...)
	out = append(out, name, on)
	out = append(out, table...)
	ng := *cols
	ng.kids = joinComma(elems)
	return append(out, &ng)
}

// indexElem rewrites one index element and returns the name PostgreSQL
// would use for it in a default index name.
func (r *rw) indexElem(item []*node, g *node) ([]*node, string) {
	if len(item) == 0 {
		r.failSyntax(g.close.asNode())
	}
	var e []*node
	name := "expr"
	switch {
	case item[0].isKind(kWord) || item[0].isKind(kQIdent):
		if len(item) > 1 && item[1].isParen() {
			// A function call: TiDB wants an expression index in parens.
			e = []*node{paren(item[0].tok.pos, item[:2]...)}
			name = item[0].tok.val
			item = item[2:]
		} else {
			e = item[:1]
			name = item[0].tok.val
			item = item[1:]
		}
	case item[0].isParen():
		e = item[:1]
		inner := item[0].kids
		if len(inner) >= 2 && inner[0].isKind(kWord) && inner[1].isParen() {
			name = inner[0].tok.val
		}
		item = item[1:]
	default:
		r.failSyntax(item[0])
	}
	for i := 0; i < len(item); i++ {
		n := item[i]
		switch {
		case n.is("asc"), n.is("desc"):
			e = append(e, n)
		case n.is("collate"):
			i++
			r.collation(item, &i, n.tok.pos)
			i--
		case hasWords(item, i, "nulls", "first"), hasWords(item, i, "nulls", "last"):
			i++ // the physical NULL placement does not change results
		case n.isKind(kWord) && strings.HasSuffix(n.tok.val, "_ops"):
			// An operator class: only affects which operators may use
			// the index.
		default:
			r.failSyntax(n)
		}
	}
	return e, name
}

// indexName is PostgreSQL's default index name: table_col1_col2_idx,
// shortened to fit NAMEDATALEN as makeObjectName does.
func indexName(table string, cols []string) string {
	col := ""
	for _, c := range cols {
		if col != "" {
			col += "_"
		}
		col += c
		if len(col) >= maxIdentLen {
			break
		}
	}
	const label = "idx"
	avail := maxIdentLen - len(label) - 1
	if col != "" {
		avail--
	}
	n1, n2 := len(table), len(col)
	for n1+n2 > avail {
		if n1 > n2 {
			n1--
		} else {
			n2--
		}
	}
	name := truncIdent(table[:n1])
	if col != "" {
		name += "_" + truncIdent(col[:n2])
	}
	return name + "_" + label
}

// sequence rewrites CREATE/ALTER SEQUENCE options into TiDB's spelling.
func (r *rw) sequence(seq []*node, i int, out []*node, info *Info) []*node {
	if hasWords(seq, i, "if", "not", "exists") || hasWords(seq, i, "if", "exists") {
		n := 3
		if seq[i+1].is("exists") {
			n = 2
		}
		out = append(out, seq[i:i+n]...)
		i += n
	}
	j := qualifiedName(r, seq, i)
	out = append(out, seq[i:j]...)
	i = j
	num := func(k int) ([]*node, int) {
		if k < len(seq) && (seq[k].isOp("-") || seq[k].isOp("+")) && k+1 < len(seq) && seq[k+1].isKind(kNumber) {
			return []*node{raw(seq[k].tok.val+seq[k+1].tok.val, seq[k].tok.pos)}, k + 2
		}
		if k < len(seq) && seq[k].isKind(kNumber) {
			return []*node{raw(seq[k].tok.val, seq[k].tok.pos)}, k + 1
		}
		r.failSyntax(nodeAt(seq, k))
		return nil, k
	}
	for i < len(seq) {
		n := seq[i]
		pos := n.tok.pos
		switch {
		case n.is("as"):
			typ, k := r.parseType(seq, i+1, false)
			info.SequenceType = typ
			i = k
		case n.is("increment"):
			k := i + 1
			if k < len(seq) && seq[k].is("by") {
				k++
			}
			v, k2 := num(k)
			out = append(append(out, raw("INCREMENT", pos), raw("BY", pos)), v...)
			i = k2
		case n.is("start"):
			k := i + 1
			if k < len(seq) && seq[k].is("with") {
				k++
			}
			v, k2 := num(k)
			out = append(append(out, raw("START", pos), raw("WITH", pos)), v...)
			i = k2
		case n.is("restart"):
			k := i + 1
			out = append(out, raw("RESTART", pos))
			if k < len(seq) && seq[k].is("with") {
				k++
			}
			if k < len(seq) && (seq[k].isKind(kNumber) || seq[k].isOp("-")) {
				v, k2 := num(k)
				out = append(append(out, raw("WITH", pos)), v...)
				k = k2
			}
			i = k
		case n.is("minvalue"), n.is("maxvalue"), n.is("cache"):
			v, k := num(i + 1)
			out = append(append(out, raw(strings.ToUpper(n.tok.val), pos)), v...)
			i = k
		case hasWords(seq, i, "no", "minvalue"), hasWords(seq, i, "no", "maxvalue"), hasWords(seq, i, "no", "cycle"):
			out = append(out, raw("NO", pos), raw(strings.ToUpper(seq[i+1].tok.val), pos))
			i += 2
		case n.is("cycle"):
			out = append(out, raw("CYCLE", pos))
			i++
		case hasWords(seq, i, "owned", "by"):
			k := i + 2
			var parts []string
			for k < len(seq) && (seq[k].isKind(kWord) || seq[k].isKind(kQIdent) || seq[k].isKind(kDot)) {
				if !seq[k].isKind(kDot) {
					parts = append(parts, identText(seq[k]))
				}
				k++
			}
			if len(parts) == 0 {
				r.failSyntax(nodeAt(seq, k))
			}
			info.OwnedBy = strings.Join(parts, ".")
			i = k
		default:
			r.failSyntax(n)
		}
	}
	return out
}

// createDatabase keeps CREATE DATABASE name, dropping options that have no
// meaning in Outpost and refusing the others.
func (r *rw) createDatabase(seq []*node, i int, out []*node) []*node {
	out = append(out, seq[i])
	i++
	if hasWords(seq, i, "if", "not", "exists") {
		out = append(out, seq[i:i+3]...)
		i += 3
	}
	if i >= len(seq) {
		r.failSyntax(nil)
	}
	out = append(out, seq[i])
	i++
	if i < len(seq) && seq[i].is("with") {
		i++
	}
	for i < len(seq) {
		n := seq[i]
		if !n.isKind(kWord) {
			r.failSyntax(n)
		}
		k := i + 1
		if k < len(seq) && seq[k].isOp("=") {
			k++
		}
		if k >= len(seq) {
			r.failSyntax(nil)
		}
		v := seq[k]
		val := strings.ToLower(v.tok.val)
		switch n.tok.val {
		case "owner", "template", "connection", "is_template", "allow_connections", "tablespace", "strategy":
		case "encoding":
			if val != "utf8" && val != "unicode" && val != "utf-8" {
				r.notSupported(v, "encoding %s", v.tok.val)
			}
		case "locale", "lc_collate", "lc_ctype":
			if val != "c" && val != "posix" {
				r.notSupported(v, "locale %s", v.tok.val)
			}
		default:
			r.failSyntax(n)
		}
		if n.is("connection") {
			k++ // CONNECTION LIMIT n
			if k >= len(seq) {
				r.failSyntax(nil)
			}
		}
		i = k + 1
	}
	return out
}

// alter dispatches ALTER statements.
func (r *rw) alter(seq []*node, info *Info) []*node {
	if len(seq) < 2 {
		r.failSyntax(nil)
	}
	n := seq[1]
	switch {
	case n.is("table"):
		info.Tag = "ALTER TABLE"
		return r.alterTable(seq, info)
	case n.is("sequence"):
		info.Tag = "ALTER SEQUENCE"
		return r.sequence(seq, 2, seq[:2:2], info)
	}
	r.notSupported(n, "ALTER %s", strings.ToUpper(n.tok.val))
	return nil
}

// alterTable rewrites ALTER TABLE actions.
func (r *rw) alterTable(seq []*node, info *Info) []*node {
	i := 2
	out := append([]*node{}, seq[:2]...)
	if hasWords(seq, i, "if", "exists") {
		out = append(out, seq[i:i+2]...)
		i += 2
	}
	if i < len(seq) && seq[i].is("only") {
		i++
	}
	j := qualifiedName(r, seq, i)
	out = append(out, seq[i:j]...)
	var actions [][]*node
	for _, a := range splitTop(seq[j:]) {
		if len(a) == 0 {
			r.failSyntax(nodeAt(seq, j))
		}
		actions = append(actions, r.alterAction(a, info))
	}
	return append(out, joinComma(actions)...)
}

func (r *rw) alterAction(a []*node, info *Info) []*node {
	n := a[0]
	pos := n.tok.pos
	switch {
	case n.is("add"):
		k := 1
		if k < len(a) && isTableConstraint(a[k]) {
			return append([]*node{n}, r.tableConstraint(a[k:])...)
		}
		out := []*node{n, raw("COLUMN", pos)}
		if k < len(a) && a[k].is("column") {
			k++
		}
		if hasWords(a, k, "if", "not", "exists") {
			out = append(out, a[k:k+3]...)
			k += 3
		}
		if k >= len(a) {
			r.failSyntax(nil)
		}
		return append(out, r.columnDef(a[k:], info)...)
	case n.is("drop"):
		out := []*node{n}
		for _, m := range a[1:] {
			switch {
			case m.is("cascade"):
				info.Cascade = true
			case m.is("restrict"):
			default:
				out = append(out, m)
			}
		}
		if len(out) > 1 && !out[1].is("column") && !out[1].is("constraint") {
			out = append([]*node{n, raw("COLUMN", pos)}, out[1:]...)
		}
		return out
	case n.is("alter"):
		k := 1
		if k < len(a) && a[k].is("column") {
			k++
		}
		if k >= len(a) {
			r.failSyntax(nil)
		}
		col := a[k]
		k++
		if m, ok := r.alterColumnAction(col, a, k, info); ok {
			return m
		}
		out := []*node{n, raw("COLUMN", pos), col}
		switch {
		case hasWords(a, k, "set", "default"):
			return append(append(out, a[k]), r.constraintTail(a[k+1:], nil)...)
		case hasWords(a, k, "drop", "default"):
			if k+2 != len(a) {
				r.failSyntax(a[k+2])
			}
			return append(out, a[k:]...)
		case hasWords(a, k, "set", "not", "null"), hasWords(a, k, "drop", "not", "null"):
			r.notSupported(a[k], "ALTER COLUMN ... %s NOT NULL", strings.ToUpper(a[k].tok.val))
		case hasWords(a, k, "type"), hasWords(a, k, "set", "data", "type"):
			r.notSupported(a[k], "changing a column type")
		}
		r.notSupported(nodeAt(a, k), "this ALTER COLUMN form")
	case n.is("rename"):
		switch {
		case hasWords(a, 1, "to"):
			return a
		case hasWords(a, 1, "constraint"):
			r.notSupported(a[1], "RENAME CONSTRAINT")
		case hasWords(a, 1, "column"):
			return a
		default:
			return append([]*node{n, raw("COLUMN", pos)}, a[1:]...)
		}
	}
	r.notSupported(n, "ALTER TABLE ... %s", strings.ToUpper(n.tok.val))
	return nil
}

// drop handles DROP TABLE/VIEW/SEQUENCE/DATABASE (DROP INDEX is a session
// statement: TiDB wants the table of the index).
func (r *rw) drop(seq []*node, info *Info) []*node {
	if len(seq) < 2 {
		r.failSyntax(nil)
	}
	n := seq[1]
	switch {
	case n.is("table"), n.is("view"), n.is("sequence"):
		info.Tag = "DROP " + strings.ToUpper(n.tok.val)
	case n.is("database"):
		info.Tag = "DROP DATABASE"
		if k := len(seq) - 1; k > 2 && seq[k].isParen() {
			r.notSupported(seq[k], "DROP DATABASE ... WITH (...)")
		}
	case n.is("schema"):
		r.notSupported(n, "DROP SCHEMA")
	default:
		r.notSupported(n, "DROP %s", strings.ToUpper(n.tok.val))
	}
	k := len(seq) - 1
	if k >= 2 && (seq[k].is("cascade") || seq[k].is("restrict")) {
		info.Cascade = seq[k].is("cascade")
		seq = seq[:k]
	}
	return seq
}
