package pgdialect

import "strings"

// RenameIndex is ALTER INDEX [IF EXISTS] name RENAME TO new (GORM's
// Migrator.RenameIndex). Objects[0] is the index, Name the new name. It is
// a session statement for the same reason as DropIndex: only the catalog
// knows the index's table.
const RenameIndex SessionKind = 96

func init() { roleKindNames[RenameIndex] = "RenameIndex" }

// alterIndex parses ALTER INDEX [IF EXISTS] name RENAME TO new; the other
// ALTER INDEX forms (SET TABLESPACE, SET (...), ATTACH PARTITION, ...)
// are not supported.
func (r *rw) alterIndex(seq []*node) *SessionStmt {
	s := &SessionStmt{Kind: RenameIndex, tag: "ALTER INDEX"}
	p := &sparser{r: r, seq: seq, i: 2}
	if hasWords(seq, p.i, "if", "exists") {
		s.IfExists = true
		p.i += 2
	}
	s.Objects = []ObjectName{p.objectName()}
	if n := p.peek(); n == nil || !hasWords(seq, p.i, "rename", "to") {
		if n != nil && n.is("rename") {
			r.failSyntax(nodeAt(seq, p.i+1))
		}
		if n != nil && n.isKind(kWord) {
			r.notSupported(n, "ALTER INDEX ... %s", strings.ToUpper(n.tok.val))
		}
		r.failSyntax(n)
	}
	p.i += 2
	s.Name = p.name()
	p.done()
	return s
}
