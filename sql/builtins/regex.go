package builtins

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Regular expression matching: the operators ~ ~* !~ !~* (the pgdialect
// pre-pass spells them outpost_regex_match / outpost_regex_imatch, with NOT
// for the negations) and regexp_like.
//
// PostgreSQL's patterns are ARE (Henry Spencer's engine); Outpost runs Go's
// RE2. They agree on the common syntax (anchors, classes, bracket
// expressions with [:alpha:] classes, quantifiers, alternation,
// non-capturing groups, \d \s \w). translateARE maps the ARE escapes RE2
// spells differently (\y \Y word boundaries, \m \M as \b); constructs RE2
// does not have (back references, lookahead/lookbehind) fail with 2201B
// rather than matching something else.

func init() {
	def("outpost_regex_match", []*types.T{types.Text, types.Text}, types.Bool, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return regexMatch(string(a[0].(types.DString)), string(a[1].(types.DString)), false)
	})
	def("outpost_regex_imatch", []*types.T{types.Text, types.Text}, types.Bool, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return regexMatch(string(a[0].(types.DString)), string(a[1].(types.DString)), true)
	})
	def("regexp_like", []*types.T{types.Text, types.Text}, types.Bool, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return regexMatch(string(a[0].(types.DString)), string(a[1].(types.DString)), false)
	})
}

func regexMatch(s, pattern string, fold bool) (types.Datum, error) {
	re, err := compileRegex(pattern, fold)
	if err != nil {
		return nil, err
	}
	return types.DBool(re.MatchString(s)), nil
}

// regexCache holds compiled patterns: catalog queries (psql's \d) match
// the same pattern against every row.
var regexCache struct {
	sync.Mutex
	m map[regexKey]*regexp.Regexp
}

type regexKey struct {
	pattern string
	fold    bool
}

const regexCacheSize = 256

func compileRegex(pattern string, fold bool) (*regexp.Regexp, error) {
	k := regexKey{pattern, fold}
	regexCache.Lock()
	re, ok := regexCache.m[k]
	regexCache.Unlock()
	if ok {
		return re, nil
	}
	tr, err := translateARE(pattern)
	if err != nil {
		return nil, err
	}
	if fold {
		tr = "(?i)" + tr
	}
	re, err = regexp.Compile(tr)
	if err != nil {
		msg := err.Error()
		if e, ok := err.(*syntax.Error); ok {
			msg = string(e.Code)
		}
		return nil, sqlerr.New(sqlerr.InvalidRegularExpression, "invalid regular expression: %s", msg)
	}
	regexCache.Lock()
	if regexCache.m == nil || len(regexCache.m) >= regexCacheSize {
		regexCache.m = map[regexKey]*regexp.Regexp{}
	}
	regexCache.m[k] = re
	regexCache.Unlock()
	return re, nil
}

// translateARE rewrites the ARE escapes whose RE2 spelling differs.
func translateARE(p string) (string, error) {
	var b strings.Builder
	inBracket := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			i++
			if inBracket {
				b.WriteByte('\\')
				b.WriteByte(n)
				continue
			}
			switch n {
			case 'y', 'm', 'M':
				b.WriteString(`\b`)
			case 'Y':
				b.WriteString(`\B`)
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				return "", sqlerr.New(sqlerr.InvalidRegularExpression, "invalid regular expression: back references are not supported")
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case c == '[' && !inBracket:
			inBracket = true
			b.WriteByte(c)
			// A ] right after [ or [^ is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case c == '[' && inBracket && i+1 < len(p) && p[i+1] == ':':
			// [:class:] inside a bracket expression.
			end := strings.Index(p[i+2:], ":]")
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(p[i : i+2+end+2])
			i += 2 + end + 1
		case c == ']' && inBracket:
			inBracket = false
			b.WriteByte(c)
		case c == '(' && !inBracket && (strings.HasPrefix(p[i:], "(?=") || strings.HasPrefix(p[i:], "(?!") || strings.HasPrefix(p[i:], "(?<")):
			return "", sqlerr.New(sqlerr.InvalidRegularExpression, "invalid regular expression: lookahead and lookbehind constraints are not supported")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
