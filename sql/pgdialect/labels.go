package pgdialect

// isColumnLabel reports whether a word between prev and next is an output
// column label after AS (PostgreSQL allows any keyword there).
func isColumnLabel(prev, next *node) bool {
	if prev == nil || !prev.is("as") {
		return false
	}
	if next == nil || next.isKind(kComma) {
		return true
	}
	for _, w := range []string{"from", "where", "group", "having", "order", "limit", "offset", "union", "intersect", "except", "window", "fetch", "for"} {
		if next.is(w) {
			return true
		}
	}
	return false
}
