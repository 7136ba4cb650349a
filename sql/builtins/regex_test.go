package builtins

import (
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

func TestRegexMatch(t *testing.T) {
	for _, c := range []struct {
		s, p string
		fold bool
		want bool
	}{
		{"books", "^(books)$", false, true},
		{"books_isbn", "^(books)$", false, false},
		{"abc", "^B", true, false},
		{"Abc", "^a", true, true},
		{"pg_toast", "^pg_toast", false, true},
		{"a word here", `\yword\y`, false, true},
		{"swordfish", `\yword\y`, false, false},
		{"x]y", "[]]", false, true},
		{"a1", "[[:digit:]]", false, true},
		{"a.b", `a\.b`, false, true},
	} {
		got, err := regexMatch(c.s, c.p, c.fold)
		if err != nil || got != types.DBool(c.want) {
			t.Errorf("%q ~ %q (fold %v) = %v, %v; want %v", c.s, c.p, c.fold, got, err, c.want)
		}
	}
	for _, p := range []string{"(", `(a)\1`, "a(?=b)", "[z-a]"} {
		_, err := regexMatch("x", p, false)
		if e, ok := err.(*sqlerr.Error); !ok || e.Code != sqlerr.InvalidRegularExpression {
			t.Errorf("%q: %v, want 2201B", p, err)
		}
	}
}

// TestSizePretty: pg_size_pretty as PostgreSQL 15 prints it.
func TestSizePretty(t *testing.T) {
	for in, want := range map[int64]string{0: "0 bytes", 10239: "10239 bytes", 10240: "10 kB", 123456789: "118 MB", -20000: "-20 kB", 9999999999999: "9313 GB"} {
		if got := sizePretty(in); got != want {
			t.Errorf("pg_size_pretty(%d) = %q, want %q", in, got, want)
		}
	}
}
