package pgdialect

import (
	"strings"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// kind classifies a token.
type kind uint8

const (
	kEOF kind = iota
	// kWord is an unquoted identifier or keyword; val is folded to lower
	// case as PostgreSQL folds it.
	kWord
	// kQIdent is a "quoted identifier"; val is the exact name.
	kQIdent
	// kString is a string constant of any form ('..', E'..', $$..$$,
	// U&'..', N'..'); val is the decoded value.
	kString
	// kBitString is B'0101'; val holds the digits.
	kBitString
	// kHexString is X'1F'; val holds the digits.
	kHexString
	// kNumber is a numeric constant; val is the text TiDB is given (see
	// lexNumber), isInt says whether PostgreSQL types it as an integer.
	kNumber
	// kParam is $n; n holds the number.
	kParam
	// kOp is an operator (including "::"); val is its text.
	kOp
	kLParen
	kRParen
	kLBracket
	kRBracket
	kComma
	kSemicolon
	kDot
	kColon
	// kRaw is synthesized by the rewriter and emitted verbatim. It never
	// takes part in expressions.
	kRaw
)

// token is one lexical element of the original text or one synthesized by
// the rewriter. Synthesized tokens carry the position of the construct they
// stand for, so that an error on them points at something the client wrote.
type token struct {
	kind kind
	val  string
	n    int // parameter number of a kParam
	// pos and end are byte offsets into the full original query text.
	pos, end int
	isInt    bool // kNumber: an integer literal
	// quote asks the renderer to emit a kWord as a quoted identifier
	// (TiDB reserves the word, PostgreSQL does not).
	quote bool
	// explicit marks a kOp written OPERATOR(pg_catalog.op), which binds
	// like any other operator whatever op is.
	explicit bool
}

func (t *token) is(word string) bool { return t.kind == kWord && t.val == word }

// isOp reports whether t is the operator op.
func (t *token) isOp(op string) bool { return t.kind == kOp && t.val == op }

// charPos converts a byte offset into the 1-based character position that
// PostgreSQL reports.
func charPos(src string, off int) int {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return utf8.RuneCountInString(src[:off]) + 1
}

// errorf returns an error with code positioned at byte offset pos of src.
func errorf(src string, pos int, code, format string, args ...any) *sqlerr.Error {
	return sqlerr.New(code, format, args...).WithPosition(charPos(src, pos))
}

// syntaxErrorAt is PostgreSQL's "syntax error at or near" for the token t.
func syntaxErrorAt(src string, t token) *sqlerr.Error {
	if t.kind == kEOF {
		return errorf(src, t.pos, sqlerr.SyntaxError, "syntax error at end of input")
	}
	text := src[t.pos:t.end]
	if t.end <= t.pos || t.end > len(src) {
		text = t.val
	}
	return errorf(src, t.pos, sqlerr.SyntaxError, "syntax error at or near \"%s\"", text)
}

// quoteIdent renders name as an ANSI-quoted identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// quoteString renders s as a standard-conforming string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
