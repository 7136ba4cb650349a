package builtins

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// likeReference is a simple reference implementation of LIKE: the pattern
// translated to an anchored regular expression.
func likeReference(s, pattern string, escape rune, ci bool) (bool, bool) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	if ci {
		s, pattern = strings.ToLower(s), strings.ToLower(pattern)
	}
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case escape != 0 && r == escape:
			if i+1 >= len(rs) {
				return false, false // error case: not compared
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '%':
			b.WriteString(`.*`)
		case r == '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(s), true
}

// FuzzLike compares Like with the regular-expression reference.
func FuzzLike(f *testing.F) {
	f.Add("hello", "h%o", false, true)
	f.Add("a%b", `a\%b`, false, true)
	f.Add("héllo", "h_llo", true, false)
	f.Fuzz(func(t *testing.T, s, pattern string, ci, noEscape bool) {
		if !utf8.ValidString(s) || !utf8.ValidString(pattern) || len(pattern) > 64 {
			return
		}
		esc := '\\'
		if noEscape {
			esc = 0
		}
		want, ok := likeReference(s, pattern, esc, ci)
		got, err := Like(s, pattern, esc, ci)
		if !ok {
			return // trailing escape: an error only if matching reaches it
		}
		if err != nil || got != want {
			t.Fatalf("Like(%q, %q, %q, %v) = %v, %v; reference %v", s, pattern, esc, ci, got, err, want)
		}
	})
}
