package pgdialect

import (
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// maxIdentLen is PostgreSQL's NAMEDATALEN-1: longer identifiers are
// truncated (PostgreSQL also truncates, with a notice).
const maxIdentLen = 63

// maxParam is the largest $n accepted; the protocol cannot bind more.
const maxParam = 65535

// maxExponent bounds the exponent of a numeric literal written in
// scientific notation; it is expanded into plain decimal digits.
const maxExponent = 1000

// lexer turns PostgreSQL SQL text into tokens, following PostgreSQL's
// scan.l: identifiers fold to lower case, strings of every form are
// decoded, comments (including nested /* */) vanish.
type lexer struct {
	src  string
	pos  int
	toks []token
}

// lex tokenizes src. The result ends with a kEOF token at len(src).
func lex(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, size := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, errorf(src, off, sqlerr.CharacterNotInRepertoire,
			"invalid byte sequence for encoding \"UTF8\": 0x%02x", src[off])
	}
	if i := strings.IndexByte(src, 0); i >= 0 {
		return nil, errorf(src, i, sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00")
	}
	l := &lexer{src: src}
	for {
		if err := l.skipSpace(); err != nil {
			return nil, err
		}
		if l.pos >= len(src) {
			l.toks = append(l.toks, token{kind: kEOF, pos: len(src), end: len(src)})
			return l.toks, nil
		}
		if err := l.next(); err != nil {
			return nil, err
		}
		// Two string constants in a row are an error unless a newline
		// separates them (and then they are one, see continuation).
		if n := len(l.toks); n > 1 && l.toks[n-1].kind == kString && l.toks[n-2].kind == kString &&
			!(src[l.toks[n-1].pos] == 'U' || src[l.toks[n-1].pos] == 'u') {
			return nil, syntaxErrorAt(src, l.toks[n-1])
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || isDigit(c) || c == '$'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isOpChar reports PostgreSQL's op_chars.
func isOpChar(c byte) bool {
	return strings.IndexByte("~!@#^&|`?+-*/%<>=", c) >= 0
}

// skipSpace skips whitespace and comments.
func (l *lexer) skipSpace() error {
	src := l.src
	for l.pos < len(src) {
		c := src[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '-' && l.pos+1 < len(src) && src[l.pos+1] == '-':
			for l.pos < len(src) && src[l.pos] != '\n' && src[l.pos] != '\r' {
				l.pos++
			}
		case c == '/' && l.pos+1 < len(src) && src[l.pos+1] == '*':
			start := l.pos
			depth := 0
			for {
				if l.pos+1 >= len(src) {
					return errorf(src, start, sqlerr.SyntaxError, "unterminated /* comment at or near \"%s\"", src[start:])
				}
				if src[l.pos] == '/' && src[l.pos+1] == '*' {
					depth++
					l.pos += 2
					continue
				}
				if src[l.pos] == '*' && src[l.pos+1] == '/' {
					depth--
					l.pos += 2
					if depth == 0 {
						break
					}
					continue
				}
				l.pos++
			}
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) emit(t token) { l.toks = append(l.toks, t) }

func (l *lexer) next() error {
	src := l.src
	start := l.pos
	c := src[start]
	peek := func(i int) byte {
		if start+i < len(src) {
			return src[start+i]
		}
		return 0
	}
	switch {
	case c == '\'':
		l.pos++
		s, err := l.quoted(start, '\'', false)
		if err != nil {
			return err
		}
		l.emit(token{kind: kString, val: s, pos: start, end: l.pos})
		return nil
	case c == '"':
		l.pos++
		s, err := l.quoted(start, '"', false)
		if err != nil {
			return err
		}
		return l.emitQIdent(start, s)
	case (c == 'e' || c == 'E') && peek(1) == '\'':
		l.pos += 2
		s, err := l.quoted(start, '\'', true)
		if err != nil {
			return err
		}
		if !utf8.ValidString(s) {
			bad := 0
			for bad < len(s) {
				r, size := utf8.DecodeRuneInString(s[bad:])
				if r == utf8.RuneError && size <= 1 {
					break
				}
				bad += size
			}
			return errorf(src, start, sqlerr.CharacterNotInRepertoire,
				"invalid byte sequence for encoding \"UTF8\": 0x%02x", s[bad])
		}
		l.emit(token{kind: kString, val: s, pos: start, end: l.pos})
		return nil
	case (c == 'b' || c == 'B') && peek(1) == '\'':
		l.pos += 2
		s, err := l.quoted(start, '\'', false)
		if err != nil {
			return err
		}
		for i := 0; i < len(s); i++ {
			if s[i] != '0' && s[i] != '1' {
				return errorf(src, start, sqlerr.InvalidTextRepresentation,
					"\"%s\" is not a valid binary digit", s[i:i+1])
			}
		}
		l.emit(token{kind: kBitString, val: s, pos: start, end: l.pos})
		return nil
	case (c == 'x' || c == 'X') && peek(1) == '\'':
		l.pos += 2
		s, err := l.quoted(start, '\'', false)
		if err != nil {
			return err
		}
		for i := 0; i < len(s); i++ {
			if !isHexDigit(s[i]) {
				return errorf(src, start, sqlerr.InvalidTextRepresentation,
					"\"%s\" is not a valid hexadecimal digit", s[i:i+1])
			}
		}
		l.emit(token{kind: kHexString, val: s, pos: start, end: l.pos})
		return nil
	case (c == 'n' || c == 'N') && peek(1) == '\'':
		l.pos += 2
		s, err := l.quoted(start, '\'', false)
		if err != nil {
			return err
		}
		l.emit(token{kind: kString, val: s, pos: start, end: l.pos})
		return nil
	case (c == 'u' || c == 'U') && peek(1) == '&' && (peek(2) == '\'' || peek(2) == '"'):
		q := peek(2)
		l.pos += 3
		raw, err := l.quoted(start, q, false)
		if err != nil {
			return err
		}
		esc, err := l.uescape()
		if err != nil {
			return err
		}
		s, err := decodeUnicode(src, start, raw, esc)
		if err != nil {
			return err
		}
		if q == '"' {
			return l.emitQIdent(start, s)
		}
		l.emit(token{kind: kString, val: s, pos: start, end: l.pos})
		return nil
	case isIdentStart(c):
		for l.pos < len(src) && isIdentCont(src[l.pos]) {
			l.pos++
		}
		word := foldIdent(src[start:l.pos])
		l.emit(token{kind: kWord, val: truncIdent(word), pos: start, end: l.pos})
		return nil
	case isDigit(c) || c == '.' && isDigit(peek(1)):
		return l.number()
	case c == '$':
		return l.dollar()
	case c == '(':
		l.pos++
		l.emit(token{kind: kLParen, val: "(", pos: start, end: l.pos})
	case c == ')':
		l.pos++
		l.emit(token{kind: kRParen, val: ")", pos: start, end: l.pos})
	case c == '[':
		l.pos++
		l.emit(token{kind: kLBracket, val: "[", pos: start, end: l.pos})
	case c == ']':
		l.pos++
		l.emit(token{kind: kRBracket, val: "]", pos: start, end: l.pos})
	case c == ',':
		l.pos++
		l.emit(token{kind: kComma, val: ",", pos: start, end: l.pos})
	case c == ';':
		l.pos++
		l.emit(token{kind: kSemicolon, val: ";", pos: start, end: l.pos})
	case c == '.':
		l.pos++
		l.emit(token{kind: kDot, val: ".", pos: start, end: l.pos})
	case c == ':':
		switch peek(1) {
		case ':':
			l.pos += 2
			l.emit(token{kind: kOp, val: "::", pos: start, end: l.pos})
		case '=':
			l.pos += 2
			l.emit(token{kind: kOp, val: ":=", pos: start, end: l.pos})
		default:
			l.pos++
			l.emit(token{kind: kColon, val: ":", pos: start, end: l.pos})
		}
	case isOpChar(c):
		l.operator()
	default:
		_, size := utf8.DecodeRuneInString(src[start:])
		return errorf(src, start, sqlerr.SyntaxError, "syntax error at or near \"%s\"", src[start:start+size])
	}
	return nil
}

// foldIdent lower-cases ASCII letters, as PostgreSQL does for unquoted
// identifiers in a UTF8 database.
func foldIdent(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// truncIdent truncates to maxIdentLen bytes without splitting a character.
func truncIdent(s string) string {
	if len(s) <= maxIdentLen {
		return s
	}
	n := maxIdentLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (l *lexer) emitQIdent(start int, s string) error {
	if s == "" {
		return errorf(l.src, start, sqlerr.SyntaxError, "zero-length delimited identifier at or near \"%s\"", l.src[start:l.pos])
	}
	l.emit(token{kind: kQIdent, val: truncIdent(s), pos: start, end: l.pos})
	return nil
}

// quoted scans the body of a literal delimited by q (the opening quote is
// consumed), handling doubled quotes, backslash escapes when escapes is set,
// and PostgreSQL's continuation of '..' literals across a newline.
func (l *lexer) quoted(start int, q byte, escapes bool) (string, error) {
	src := l.src
	var b strings.Builder
	for {
		if l.pos >= len(src) {
			what := "quoted string"
			if q == '"' {
				what = "quoted identifier"
			}
			return "", errorf(src, start, sqlerr.SyntaxError, "unterminated %s at or near \"%s\"", what, src[start:])
		}
		c := src[l.pos]
		switch {
		case c == q:
			if l.pos+1 < len(src) && src[l.pos+1] == q {
				b.WriteByte(q)
				l.pos += 2
				continue
			}
			l.pos++
			if q == '\'' && l.continuation() {
				continue
			}
			return b.String(), nil
		case c == '\\' && escapes:
			if err := l.escape(start, &b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
}

// continuation consumes whitespace containing a newline followed by a
// quote, which PostgreSQL treats as the continuation of a string literal.
func (l *lexer) continuation() bool {
	src := l.src
	p := l.pos
	sawNewline := false
	for p < len(src) {
		c := src[p]
		switch {
		case c == '\n' || c == '\r':
			sawNewline = true
			p++
		case isSpace(c):
			p++
		case sawNewline && c == '-' && p+1 < len(src) && src[p+1] == '-':
			for p < len(src) && src[p] != '\n' && src[p] != '\r' {
				p++
			}
		case c == '\'' && sawNewline:
			l.pos = p + 1
			return true
		default:
			return false
		}
	}
	return false
}

// escape decodes one backslash escape of an E'...' string at l.pos.
func (l *lexer) escape(start int, b *strings.Builder) error {
	src := l.src
	at := l.pos
	l.pos++ // backslash
	if l.pos >= len(src) {
		return errorf(src, start, sqlerr.SyntaxError, "unterminated quoted string")
	}
	c := src[l.pos]
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'x':
		n, v := 0, 0
		for n < 2 && l.pos+1+n < len(src) && isHexDigit(src[l.pos+1+n]) {
			v = v*16 + hexVal(src[l.pos+1+n])
			n++
		}
		if n == 0 {
			b.WriteByte('x')
			break
		}
		if v == 0 {
			return errorf(src, at, sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00")
		}
		b.WriteByte(byte(v))
		l.pos += n
	case 'u', 'U':
		want := 4
		if c == 'U' {
			want = 8
		}
		n, v := 0, rune(0)
		for n < want && l.pos+1+n < len(src) && isHexDigit(src[l.pos+1+n]) {
			v = v*16 + rune(hexVal(src[l.pos+1+n]))
			n++
		}
		if n < want {
			return errorf(src, at, sqlerr.InvalidEscapeSequence, "invalid Unicode escape").
				WithHint(`Unicode escapes must be \uXXXX or \UXXXXXXXX.`)
		}
		l.pos += n // at the last hex digit
		if v >= 0xD800 && v <= 0xDBFF {
			// A high surrogate must be followed by a \uXXXX low surrogate.
			p := l.pos + 1
			if p+6 <= len(src) && src[p] == '\\' && src[p+1] == 'u' {
				lo, ok := parseHex(src[p+2 : p+6])
				if ok && lo >= 0xDC00 && lo <= 0xDFFF {
					b.WriteRune(0x10000 + (v-0xD800)<<10 + (lo - 0xDC00))
					l.pos = p + 5
					break
				}
			}
			return errorf(src, at, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
		}
		if v == 0 || v > utf8.MaxRune || v >= 0xDC00 && v <= 0xDFFF {
			return errorf(src, at, sqlerr.SyntaxError, "invalid Unicode escape value")
		}
		b.WriteRune(v)
	default:
		if c >= '0' && c <= '7' {
			n, v := 0, 0
			for n < 3 && l.pos+n < len(src) && src[l.pos+n] >= '0' && src[l.pos+n] <= '7' {
				v = v*8 + int(src[l.pos+n]-'0')
				n++
			}
			if byte(v) == 0 {
				return errorf(src, at, sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00")
			}
			b.WriteByte(byte(v))
			l.pos += n
			return nil
		}
		// Any other character stands for itself (\\, \', ...), including
		// the bytes of a multi-byte character.
		b.WriteByte(c)
	}
	l.pos++
	return nil
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

func parseHex(s string) (rune, bool) {
	if s == "" {
		return 0, false
	}
	v := rune(0)
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return 0, false
		}
		v = v*16 + rune(hexVal(s[i]))
	}
	return v, true
}

// uescape consumes an optional UESCAPE 'c' clause after a U& literal and
// returns the escape character.
func (l *lexer) uescape() (byte, error) {
	save := l.pos
	if err := l.skipSpace(); err != nil {
		return 0, err
	}
	src := l.src
	if l.pos+7 <= len(src) && strings.EqualFold(src[l.pos:l.pos+7], "uescape") &&
		(l.pos+7 == len(src) || !isIdentCont(src[l.pos+7])) {
		at := l.pos
		l.pos += 7
		if err := l.skipSpace(); err != nil {
			return 0, err
		}
		if l.pos+2 < len(src) && src[l.pos] == '\'' && src[l.pos+2] == '\'' {
			c := src[l.pos+1]
			l.pos += 3
			if isHexDigit(c) || c == '+' || c == '\'' || c == '"' || isSpace(c) {
				return 0, errorf(src, at, sqlerr.SyntaxError, "invalid Unicode escape character")
			}
			return c, nil
		}
		return 0, errorf(src, at, sqlerr.SyntaxError, "UESCAPE must be followed by a simple string literal")
	}
	l.pos = save
	return '\\', nil
}

// decodeUnicode decodes the body of a U&'...' literal.
func decodeUnicode(src string, start int, raw string, esc byte) (string, error) {
	var b strings.Builder
	bad := func() error {
		return errorf(src, start, sqlerr.InvalidEscapeSequence, "invalid Unicode escape").
			WithHint(`Unicode escapes must be \XXXX or \+XXXXXX.`)
	}
	var pendingHigh rune
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != esc {
			if pendingHigh != 0 {
				return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
			}
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(raw) && raw[i+1] == esc {
			b.WriteByte(esc)
			i += 2
			continue
		}
		var v rune
		var ok bool
		switch {
		case i+1 < len(raw) && raw[i+1] == '+' && i+8 <= len(raw):
			v, ok = parseHex(raw[i+2 : i+8])
			i += 8
		case i+5 <= len(raw):
			v, ok = parseHex(raw[i+1 : i+5])
			i += 5
		}
		if !ok {
			return "", bad()
		}
		switch {
		case v >= 0xD800 && v <= 0xDBFF:
			if pendingHigh != 0 {
				return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
			}
			pendingHigh = v
			continue
		case v >= 0xDC00 && v <= 0xDFFF:
			if pendingHigh == 0 {
				return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
			}
			v = 0x10000 + (pendingHigh-0xD800)<<10 + (v - 0xDC00)
			pendingHigh = 0
		case pendingHigh != 0:
			return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
		}
		if v == 0 || v > utf8.MaxRune {
			return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode escape value")
		}
		b.WriteRune(v)
	}
	if pendingHigh != 0 {
		return "", errorf(src, start, sqlerr.SyntaxError, "invalid Unicode surrogate pair")
	}
	return b.String(), nil
}

// dollar lexes $n parameters and $tag$ dollar-quoted strings.
func (l *lexer) dollar() error {
	src := l.src
	start := l.pos
	p := start + 1
	if p < len(src) && isDigit(src[p]) {
		for p < len(src) && isDigit(src[p]) {
			p++
		}
		if p < len(src) && isIdentCont(src[p]) {
			return errorf(src, start, sqlerr.SyntaxError, "trailing junk after parameter at or near \"%s\"", src[start:p+1])
		}
		n, err := strconv.Atoi(src[start+1 : p])
		if err != nil || n == 0 || n > maxParam {
			return errorf(src, start, sqlerr.UndefinedParameter, "there is no parameter %s", src[start:p])
		}
		l.pos = p
		l.emit(token{kind: kParam, n: n, val: src[start:p], pos: start, end: p})
		return nil
	}
	// Dollar quote: $tag$ where tag is an identifier without '$'.
	for p < len(src) && src[p] != '$' && isIdentCont(src[p]) && !(p == start+1 && isDigit(src[p])) {
		p++
	}
	if p >= len(src) || src[p] != '$' {
		return errorf(src, start, sqlerr.SyntaxError, "syntax error at or near \"$\"")
	}
	delim := src[start : p+1]
	body := p + 1
	end := strings.Index(src[body:], delim)
	if end < 0 {
		return errorf(src, start, sqlerr.SyntaxError, "unterminated dollar-quoted string at or near \"%s\"", src[start:])
	}
	l.pos = body + end + len(delim)
	l.emit(token{kind: kString, val: src[body : body+end], pos: start, end: l.pos})
	return nil
}

// operator lexes an operator following PostgreSQL's rules: the longest run
// of operator characters, cut before an embedded comment start, and not
// ending in + or - unless it contains one of ~ ! @ # % ^ & | ` ?.
func (l *lexer) operator() {
	src := l.src
	start := l.pos
	p := start
	for p < len(src) && isOpChar(src[p]) {
		p++
	}
	op := src[start:p]
	if i := strings.Index(op, "--"); i > 0 {
		op = op[:i]
	}
	if i := strings.Index(op, "/*"); i > 0 {
		op = op[:i]
	}
	if len(op) > 1 && (op[len(op)-1] == '+' || op[len(op)-1] == '-') &&
		!strings.ContainsAny(op, "~!@#%^&|`?") {
		for len(op) > 1 && (op[len(op)-1] == '+' || op[len(op)-1] == '-') {
			op = op[:len(op)-1]
		}
	}
	l.pos = start + len(op)
	l.emit(token{kind: kOp, val: op, pos: start, end: l.pos})
}

// number lexes a numeric constant (PostgreSQL 16 rules: 0x/0o/0b integers
// and digit separators included). The token's val is what TiDB receives:
// integers in plain decimal digits, non-integers as a plain decimal with a
// point (scientific notation expanded, so that the value is exact and TiDB
// reads a decimal, never a float: in PostgreSQL both are numeric).
func (l *lexer) number() error {
	src := l.src
	start := l.pos
	p := start
	junk := func(at int) error {
		e := at + 1
		for e < len(src) && isIdentCont(src[e]) {
			e++
		}
		return errorf(src, start, sqlerr.SyntaxError, "trailing junk after numeric literal at or near \"%s\"", src[start:min(e, len(src))])
	}
	// digits scans (_?digit)+ for the given digit class starting at q and
	// returns the digits without separators and the end offset. A bad
	// separator reports ok=false.
	digits := func(q int, ok func(byte) bool) (string, int, bool) {
		var b strings.Builder
		for q < len(src) {
			if ok(src[q]) {
				b.WriteByte(src[q])
				q++
				continue
			}
			if src[q] == '_' && b.Len() > 0 && q+1 < len(src) && ok(src[q+1]) {
				q++
				continue
			}
			break
		}
		return b.String(), q, b.Len() > 0
	}
	if src[p] == '0' && p+1 < len(src) && strings.IndexByte("xXoObB", src[p+1]) >= 0 {
		base := 16
		class := isHexDigit
		switch src[p+1] {
		case 'o', 'O':
			base = 8
			class = func(c byte) bool { return c >= '0' && c <= '7' }
		case 'b', 'B':
			base = 2
			class = func(c byte) bool { return c == '0' || c == '1' }
		}
		q := p + 2
		if q < len(src) && src[q] == '_' {
			q++
		}
		ds, e, ok := digits(q, class)
		if !ok {
			return junk(p + 1)
		}
		if e < len(src) && (isIdentCont(src[e]) || src[e] == '_') {
			return junk(e)
		}
		v, _ := new(big.Int).SetString(ds, base)
		l.pos = e
		l.emit(token{kind: kNumber, val: v.String(), isInt: true, pos: start, end: e})
		return nil
	}
	var intPart, fracPart string
	hasPoint := false
	if src[p] != '.' {
		ds, e, _ := digits(p, isDigit)
		intPart, p = ds, e
		if p < len(src) && src[p] == '_' {
			return junk(p)
		}
	}
	if p < len(src) && src[p] == '.' && !(p+1 < len(src) && src[p+1] == '.') {
		hasPoint = true
		p++
		if p < len(src) && isDigit(src[p]) {
			ds, e, _ := digits(p, isDigit)
			fracPart, p = ds, e
			if p < len(src) && src[p] == '_' {
				return junk(p)
			}
		}
	}
	exp := 0
	hasExp := false
	if p < len(src) && (src[p] == 'e' || src[p] == 'E') {
		q := p + 1
		neg := false
		if q < len(src) && (src[q] == '+' || src[q] == '-') {
			neg = src[q] == '-'
			q++
		}
		ds, e, ok := digits(q, isDigit)
		if !ok {
			return junk(p)
		}
		if len(ds) > 6 {
			return errorf(src, start, sqlerr.FeatureNotSupported,
				"numeric literal exponent out of the supported range (±%d)", maxExponent)
		}
		exp, _ = strconv.Atoi(ds)
		if neg {
			exp = -exp
		}
		hasExp = true
		p = e
	}
	if p < len(src) && isIdentStart(src[p]) {
		return junk(p)
	}
	l.pos = p
	tok := token{kind: kNumber, pos: start, end: p}
	switch {
	case !hasPoint && !hasExp:
		tok.val = trimLeadingZeros(intPart)
		tok.isInt = true
	case !hasExp:
		tok.val = trimLeadingZeros(intPart) + "." + fracPart
	default:
		if exp > maxExponent || exp < -maxExponent {
			return errorf(src, start, sqlerr.FeatureNotSupported,
				"numeric literal exponent out of the supported range (±%d)", maxExponent)
		}
		tok.val = expandExponent(intPart, fracPart, exp)
	}
	l.emit(tok)
	return nil
}

func trimLeadingZeros(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// expandExponent writes intPart.fracPart × 10^exp as a plain decimal that
// keeps PostgreSQL's scale (max(0, len(frac)-exp)); an integral result gets a
// trailing point so that TiDB still reads a decimal.
func expandExponent(intPart, fracPart string, exp int) string {
	digits := intPart + fracPart
	point := len(intPart) + exp // position of the decimal point in digits
	var s string
	switch {
	case point >= len(digits):
		s = digits + strings.Repeat("0", point-len(digits)) + "."
	case point <= 0:
		s = "0." + strings.Repeat("0", -point) + digits
	default:
		s = digits[:point] + "." + digits[point:]
	}
	i := strings.IndexByte(s, '.')
	head := trimLeadingZeros(s[:i])
	return head + s[i:]
}
