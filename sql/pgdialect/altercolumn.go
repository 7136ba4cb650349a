package pgdialect

// AlterColumn is an ALTER TABLE ... ALTER COLUMN action that TiDB cannot
// express: [SET DATA] TYPE t [USING c::t] and SET / DROP NOT NULL (what
// GORM's AutoMigrate emits when a field's type, size or not-null tag
// changes). The action reaches TiDB as MODIFY COLUMN c BLOB; Info keeps
// what it means, keyed by the column as TiDB names it.
type AlterColumn struct {
	// Type is the new type, normalized; "" leaves the type alone.
	Type string
	// Using is set when USING c[::t] was given: the conversion is an
	// explicit cast (varchar(n) truncates) rather than an assignment.
	Using bool
	// SetNotNull / DropNotNull are SET NOT NULL / DROP NOT NULL.
	SetNotNull, DropNotNull bool
}

// alterColumnAction rewrites "ALTER [COLUMN] col <a[k:]>" for the forms of
// AlterColumn; ok is false for other forms. USING is accepted only as the
// column itself, optionally cast to the new type (GORM's "USING c::t"),
// which means the same as no USING with an explicit cast; other USING
// expressions are not supported.
func (r *rw) alterColumnAction(col *node, a []*node, k int, info *Info) (out []*node, ok bool) {
	ac := &AlterColumn{}
	switch {
	case hasWords(a, k, "set", "not", "null") && k+3 == len(a):
		ac.SetNotNull = true
	case hasWords(a, k, "drop", "not", "null") && k+3 == len(a):
		ac.DropNotNull = true
	case hasWords(a, k, "type"), hasWords(a, k, "set", "data", "type"):
		if a[k].is("set") {
			k += 2
		}
		typ, j := r.parseType(a, k+1, false)
		ac.Type = typ
		if j < len(a) && a[j].is("collate") {
			r.notSupported(a[j], "ALTER COLUMN ... TYPE ... COLLATE")
		}
		if j < len(a) {
			if !a[j].is("using") {
				r.failSyntax(a[j])
			}
			ac.Using = true
			u := a[j+1:]
			same := len(u) > 0 && (u[0].isKind(kWord) || u[0].isKind(kQIdent)) && u[0].tok.val == col.tok.val
			if same && len(u) > 1 {
				same = u[1].isOp("::") && len(u) > 2
				if same {
					t2, end := r.parseType(u, 2, true)
					same = t2 == typ && end == len(u)
				}
			}
			if !same {
				r.notSupported(a[j], "ALTER COLUMN ... TYPE ... USING an expression")
			}
		}
	default:
		return nil, false
	}
	if !(col.isKind(kWord) || col.isKind(kQIdent)) {
		r.failSyntax(col)
	}
	if info.AlterColumns == nil {
		info.AlterColumns = make(map[string]*AlterColumn)
	}
	if prev := info.AlterColumns[col.tok.val]; prev != nil {
		// Several actions on one column: merge (each MODIFY applies all).
		if ac.Type == "" {
			ac.Type, ac.Using = prev.Type, prev.Using
		}
		ac.SetNotNull = ac.SetNotNull || prev.SetNotNull && !ac.DropNotNull
		ac.DropNotNull = ac.DropNotNull || prev.DropNotNull && !ac.SetNotNull
	}
	info.AlterColumns[col.tok.val] = ac
	c := *col
	if c.isKind(kWord) {
		c.tok.quote = tidbReserved[c.tok.val]
	}
	pos := a[0].tok.pos
	return []*node{raw("MODIFY", pos), raw("COLUMN", pos), &c, raw(columnType, pos)}, true
}
