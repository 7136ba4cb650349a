package builtins

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

const (
	codeSubstringError   = "22011" // substring_error
	codeNullNotAllowed   = "22004" // null_value_not_allowed
	maxStringResultBytes = 1 << 30 // PostgreSQL's MaxAllocSize
)

func errTooLarge() error {
	return sqlerr.New(sqlerr.ProgramLimitExceeded, "requested length too large")
}

func str(d types.Datum) string { return string(d.(types.DString)) }

// Like reports whether s matches the SQL LIKE pattern: % matches any
// sequence of characters, _ exactly one character, and escape (0 for none;
// '\\' is SQL's default) makes the next pattern character literal. With
// caseInsensitive it is ILIKE (both sides lower-cased). A pattern ending
// with the escape character is 22025. Matching runs in O(len(s) ×
// len(pattern)) time at worst.
func Like(s, pattern string, escape rune, caseInsensitive bool) (bool, error) {
	if caseInsensitive {
		s, pattern = strings.ToLower(s), strings.ToLower(pattern)
		escape = unicode.ToLower(escape)
	}
	type tok struct {
		kind byte // 'l' literal, '_', '%'
		r    rune
	}
	var toks []tok
	prs := []rune(pattern)
	for i := 0; i < len(prs); i++ {
		r := prs[i]
		switch {
		case escape != 0 && r == escape:
			if i+1 >= len(prs) {
				// PostgreSQL reports this only if matching reaches it.
				toks = append(toks, tok{'E', 0})
				continue
			}
			i++
			toks = append(toks, tok{'l', prs[i]})
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, tok{'%', 0})
			}
		case r == '_':
			toks = append(toks, tok{'_', 0})
		default:
			toks = append(toks, tok{'l', r})
		}
	}
	srs := []rune(s)
	i, j := 0, 0
	starJ, starI := -1, 0
	for i < len(srs) {
		switch {
		case j < len(toks) && toks[j].kind == 'E':
			return false, sqlerr.New(sqlerr.InvalidEscapeSequence, "LIKE pattern must not end with escape character")
		case j < len(toks) && (toks[j].kind == '_' || toks[j].kind == 'l' && toks[j].r == srs[i]):
			i++
			j++
		case j < len(toks) && toks[j].kind == '%':
			starJ, starI = j, i
			j++
		case starJ >= 0:
			starI++
			i, j = starI, starJ+1
		default:
			return false, nil
		}
	}
	for j < len(toks) && toks[j].kind == '%' {
		j++
	}
	return j == len(toks), nil
}

// LikeEscape validates an ESCAPE clause: "" means no escape character
// (0), one character is the escape; anything longer is 22025.
func LikeEscape(esc string) (rune, error) {
	switch utf8.RuneCountInString(esc) {
	case 0:
		return 0, nil
	case 1:
		r, _ := utf8.DecodeRuneInString(esc)
		return r, nil
	}
	return 0, sqlerr.New(sqlerr.InvalidEscapeSequence, "invalid escape string").WithHint("Escape string must be empty or one character.")
}

func registerLikeOps() {
	for _, c := range []struct {
		op      string
		neg, ci bool
	}{{"~~", false, false}, {"!~~", true, false}, {"~~*", false, true}, {"!~~*", true, true}} {
		c := c
		addBin(c.op, types.Text, types.Text, types.Bool, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
			m, err := Like(str(a), str(b), '\\', c.ci)
			return types.DBool(m != c.neg), err
		})
	}
}

func registerStringOps() {
	addBin("||", types.Text, types.Text, types.Text, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.DString(str(a) + str(b)), nil
	})
	// text || anynonarray and the reverse: the other operand through its
	// output function (stable, as PostgreSQL's anytextcat).
	addBin("||", types.Text, AnyType, types.Text, Stable, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.DString(str(a) + castText(b, ctx)), nil
	})
	addBin("||", AnyType, types.Text, types.Text, Stable, func(ctx *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return types.DString(castText(a, ctx) + str(b)), nil
	})
	addBin("||", types.Bytea, types.Bytea, types.Bytea, Immutable, func(_ *types.EvalContext, a, b types.Datum) (types.Datum, error) {
		return a.(types.DBytes) + b.(types.DBytes), nil
	})
	registerLikeOps()
}

// castText is value::text (bool gives "true", not "t"), as text ||
// anynonarray does.
func castText(d types.Datum, ctx *types.EvalContext) string {
	if b, ok := d.(types.DBool); ok {
		if b {
			return "true"
		}
		return "false"
	}
	return outText(d, ctx)
}

// outText is a value's text output (bool as PostgreSQL's output function:
// t/f).
func outText(d types.Datum, ctx *types.EvalContext) string {
	if s, ok := d.(types.DString); ok {
		return string(s)
	}
	return string(types.AppendText(nil, nil, d, ctx.Loc()))
}

// outTextTyped is outText for a value of a known type (float4 prints with
// float4 precision, bpchar as stored).
func outTextTyped(d types.Datum, t *types.T, ctx *types.EvalContext) string {
	if s, ok := d.(types.DString); ok {
		return string(s)
	}
	return string(types.AppendText(nil, t, d, ctx.Loc()))
}

// substrRunes is PostgreSQL's substring(s from start for count) on
// characters (1-based; positions before 1 count against the length).
func substrRunes(s string, start int64, count int64, hasCount bool) (string, error) {
	if hasCount && count < 0 {
		return "", sqlerr.New(codeSubstringError, "negative substring length not allowed")
	}
	rs := []rune(s)
	n := int64(len(rs))
	from := start
	var to int64
	if hasCount {
		to = start + count // exclusive; no overflow for int4 inputs
	} else {
		to = n + 1
	}
	if from < 1 {
		from = 1
	}
	if to > n+1 {
		to = n + 1
	}
	if from >= to {
		return "", nil
	}
	return string(rs[from-1 : to-1]), nil
}

func substrBytes(s string, start, count int64, hasCount bool) (string, error) {
	if hasCount && count < 0 {
		return "", sqlerr.New(codeSubstringError, "negative substring length not allowed")
	}
	n := int64(len(s))
	from, to := start, n+1
	if hasCount {
		to = start + count
	}
	from = max(from, 1)
	to = min(to, n+1)
	if from >= to {
		return "", nil
	}
	return s[from-1 : to-1], nil
}

// strpos returns the 1-based character position of sub in s, 0 if absent.
func strpos(s, sub string) int64 {
	i := strings.Index(s, sub)
	if i < 0 {
		return 0
	}
	return int64(utf8.RuneCountInString(s[:i])) + 1
}

func trimSet(s, chars string, left, right bool) string {
	if left {
		s = strings.TrimLeft(s, chars)
	}
	if right {
		s = strings.TrimRight(s, chars)
	}
	return s
}

func leftRunes(s string, n int64) string {
	rs := []rune(s)
	l := int64(len(rs))
	if n < 0 {
		n = max(l+n, 0)
	}
	return string(rs[:min(n, l)])
}

func rightRunes(s string, n int64) string {
	rs := []rune(s)
	l := int64(len(rs))
	if n < 0 {
		n = max(l+n, 0)
	}
	n = min(n, l)
	return string(rs[l-n:])
}

// pad is lpad/rpad: the result has exactly n characters (truncated from
// the right if s is longer).
func pad(s string, n int64, fill string, left bool) (string, error) {
	if n <= 0 {
		return "", nil
	}
	if n*4 > maxStringResultBytes {
		return "", errTooLarge()
	}
	rs := []rune(s)
	if int64(len(rs)) >= n {
		return string(rs[:n]), nil
	}
	fr := []rune(fill)
	if len(fr) == 0 {
		return s, nil
	}
	need := int(n) - len(rs)
	padding := make([]rune, need)
	for i := range padding {
		padding[i] = fr[i%len(fr)]
	}
	if left {
		return string(padding) + s, nil
	}
	return s + string(padding), nil
}

func splitPart(s, delim string, n int64) (string, error) {
	if n == 0 {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "field position must not be zero")
	}
	var parts []string
	if delim == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, delim)
	}
	if s == "" {
		return "", nil
	}
	if n < 0 {
		n = int64(len(parts)) + n + 1
		if n < 1 {
			return "", nil
		}
	}
	if n > int64(len(parts)) {
		return "", nil
	}
	return parts[n-1], nil
}

func initcap(s string) string {
	var b strings.Builder
	prevAlnum := false
	for _, r := range s {
		if prevAlnum {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToUpper(r))
		}
		prevAlnum = unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return b.String()
}

func chr(v int64) (string, error) {
	switch {
	case v == 0:
		return "", sqlerr.New(sqlerr.ProgramLimitExceeded, "null character not permitted")
	case v < 0:
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "character number must be positive")
	case v > unicode.MaxRune:
		return "", sqlerr.New(sqlerr.ProgramLimitExceeded, "requested character too large for encoding: %d", v)
	case v >= 0xd800 && v <= 0xdfff:
		return "", sqlerr.New(sqlerr.ProgramLimitExceeded, "requested character not valid for encoding: %d", v)
	}
	return string(rune(v)), nil
}

// pgKeywords are the PostgreSQL keywords quote_ident quotes (all but the
// unreserved ones).
var pgKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric authorization binary
		both case cast check collate collation column concurrently constraint create cross current_catalog
		current_date current_role current_schema current_time current_timestamp current_user default
		deferrable desc distinct do else end except false fetch for foreign freeze from full grant group
		having ilike in initially inner intersect into is isnull join lateral leading left like limit
		localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing
		primary references returning right select session_user similar some symmetric system_user table
		tablesample then to trailing true union unique user using variadic verbose when where window with
		between bigint bit boolean char character coalesce dec decimal exists extract float greatest
		grouping inout int integer interval least national nchar none normalize nullif numeric out
		overlay position precision real row setof smallint substring time timestamp treat trim values
		varchar xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi
		xmlroot xmlserialize xmltable`) {
		m[w] = true
	}
	return m
}()

// QuoteIdent quotes an identifier if needed, as quote_ident and format's
// %I: unless it is lower-case letters, digits and underscores not starting
// with a digit and not a keyword.
func QuoteIdent(s string) string {
	safe := s != "" && !pgKeywords[s]
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && (r >= '0' && r <= '9' || r == '$'))) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// QuoteLiteral quotes a string literal as quote_literal and format's %L:
// quotes doubled; with backslashes, an E” literal with them doubled.
func QuoteLiteral(s string) string {
	var b strings.Builder
	if strings.Contains(s, `\`) {
		b.WriteByte('E')
	}
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// format is PostgreSQL's format(): %[n$][-][width]{s,I,L} and %%.
func format(ctx *types.EvalContext, argTypes []*types.T, args []types.Datum) (types.Datum, error) {
	if args[0] == types.Null {
		return types.Null, nil
	}
	f := str(args[0])
	vals, vtypes := args[1:], argTypes[1:]
	var b strings.Builder
	next := 0
	bad := func(format string, a ...any) *sqlerr.Error {
		return sqlerr.New(sqlerr.InvalidParameterValue, format, a...)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(f) {
			return nil, bad("unterminated format() type specifier").WithHint("For a single \"%%\" use \"%%%%\".")
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		// Optional argument position n$.
		argIdx := -1
		j := i
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > i && j < len(f) && f[j] == '$' {
			n, err := strconv.Atoi(f[i:j])
			if err != nil || n == 0 {
				return nil, bad("format specifies argument 0, but arguments are numbered from 1")
			}
			argIdx = n - 1
			i = j + 1
		}
		leftAlign := false
		if i < len(f) && f[i] == '-' {
			leftAlign = true
			i++
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			if width > 10000000 {
				return nil, bad("number is out of range")
			}
			i++
		}
		if i >= len(f) {
			return nil, bad("unterminated format() type specifier").WithHint("For a single \"%%\" use \"%%%%\".")
		}
		conv := f[i]
		if conv != 's' && conv != 'I' && conv != 'L' {
			_, n := utf8.DecodeRuneInString(f[i:])
			return nil, bad("unrecognized format() type specifier \"%s\"", f[i:i+n]).WithHint("For a single \"%%\" use \"%%%%\".")
		}
		if argIdx < 0 {
			argIdx = next
		}
		if argIdx >= len(vals) {
			return nil, bad("too few arguments for format()")
		}
		next = argIdx + 1
		v := vals[argIdx]
		var out string
		switch conv {
		case 's':
			if v != types.Null {
				out = outTextTyped(v, vtypes[argIdx], ctx)
			}
		case 'I':
			if v == types.Null {
				return nil, sqlerr.New(codeNullNotAllowed, "null values cannot be formatted as an SQL identifier")
			}
			out = QuoteIdent(outTextTyped(v, vtypes[argIdx], ctx))
		case 'L':
			if v == types.Null {
				out = "NULL"
			} else {
				out = QuoteLiteral(outTextTyped(v, vtypes[argIdx], ctx))
			}
		}
		if n := utf8.RuneCountInString(out); n < width {
			if leftAlign {
				out += strings.Repeat(" ", width-n)
			} else {
				out = strings.Repeat(" ", width-n) + out
			}
		}
		b.WriteString(out)
	}
	return types.DString(b.String()), nil
}

func translate(s, from, to string) string {
	fr, tr := []rune(from), []rune(to)
	var b strings.Builder
	for _, r := range s {
		idx := -1
		for i, c := range fr {
			if c == r {
				idx = i
				break
			}
		}
		switch {
		case idx < 0:
			b.WriteRune(r)
		case idx < len(tr):
			b.WriteRune(tr[idx])
		}
	}
	return b.String()
}

func encode(data []byte, format string) (string, error) {
	switch strings.ToLower(format) {
	case "hex":
		return hex.EncodeToString(data), nil
	case "base64":
		// PostgreSQL breaks base64 output into lines of 76 characters.
		s := base64.StdEncoding.EncodeToString(data)
		var b strings.Builder
		for len(s) > 76 {
			b.WriteString(s[:76])
			b.WriteByte('\n')
			s = s[76:]
		}
		b.WriteString(s)
		return b.String(), nil
	case "escape":
		var b strings.Builder
		for _, c := range data {
			switch {
			case c == '\\':
				b.WriteString(`\\`)
			case c == 0 || c >= 0x80:
				b.WriteString(`\` + strconv.FormatInt(int64(c)+01000, 8)[1:])
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized encoding: \"%s\"", format)
}

func decode(s, format string) ([]byte, error) {
	switch strings.ToLower(format) {
	case "hex":
		b, err := types.ParseBytea(`\x` + s)
		return []byte(b), err
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid base64 end sequence").WithHint("Input data is missing padding, is truncated, or is otherwise corrupted.")
		}
		return b, nil
	case "escape":
		b, err := types.ParseBytea(s)
		return []byte(b), err
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized encoding: \"%s\"", format)
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func sha256Bytes(b []byte) string {
	sum := sha256.Sum256(b)
	return string(sum[:])
}
