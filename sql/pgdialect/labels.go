package pgdialect

import (
	"strconv"
	"strings"
)

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

// integerString reports whether n is a string literal holding an integer,
// returned in canonical form.
func integerString(n *node) (string, bool) {
	if !n.isKind(kString) {
		return "", false
	}
	s := strings.TrimSpace(n.tok.val)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(v, 10), true
}
