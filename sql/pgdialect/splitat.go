package pgdialect

// SplitAt is ALTER TABLE name SPLIT AT query (CockroachDB's syntax): each
// row of the query (usually VALUES (...), (...)) gives values of leading
// primary key columns, and the table's data is split into a new range at
// the key they start. Objects[0] is the table, Query the query as written.
const SplitAt SessionKind = 97

func init() { roleKindNames[SplitAt] = "SplitAt" }

// splitAt parses ALTER TABLE name SPLIT AT query, or returns nil for the
// other ALTER TABLE forms (TiDB parses those).
func (r *rw) splitAt(seq []*node, toks []token) *SessionStmt {
	i := 2
	if hasWords(seq, i, "if", "exists") {
		i += 2
	}
	if n := nodeAt(seq, i); n == nil || !(n.isKind(kWord) || n.isKind(kQIdent)) {
		return nil
	}
	p := &sparser{r: r, seq: seq, i: i}
	name := p.objectName()
	if !hasWords(seq, p.i, "split", "at") {
		return nil
	}
	p.i += 2
	if p.i >= len(seq) {
		r.failSyntax(nil)
	}
	last := toks[len(toks)-1]
	return &SessionStmt{Kind: SplitAt, tag: "SPLIT", Objects: []ObjectName{name}, Query: r.src[seq[p.i].tok.pos:last.end]}
}
