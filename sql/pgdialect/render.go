package pgdialect

import (
	"sort"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Text is SQL text rewritten for the TiDB parser, with what is needed to
// relate it to the original query: the $n behind each ? and a map from
// rewritten offsets back to original tokens.
type Text struct {
	// SQL is the rewritten text.
	SQL string
	// Params lists, for each ? of SQL in order of appearance, the
	// PostgreSQL parameter number ($n, 1-based) it stands for. The same
	// $n may appear more than once.
	Params []int
	// ParamOffsets are the byte offsets of those ? in SQL (TiDB reports a
	// parameter marker's offset).
	ParamOffsets []int

	spans []span
	src   string  // the full original query text
	toks  []token // original tokens of the statement, by position
	end   token   // the original token following this text (';' or EOF)
}

// span maps an offset of Text.SQL to the original token emitted there.
type span struct {
	out      int // byte offset in Text.SQL
	pos, end int // the original token (pos == end when synthesized)
}

// SyntaxError returns PostgreSQL's syntax error for a failure that the TiDB
// parser reported at byte offset off of t.SQL (off >= len(t.SQL) means at the
// end of the text): `syntax error at or near "tok"` or `syntax error at end
// of input`, positioned in the original query text.
func (t *Text) SyntaxError(off int) *sqlerr.Error {
	if off >= len(strings.TrimRight(t.SQL, " ")) || len(t.spans) == 0 {
		return syntaxErrorAt(t.src, t.end)
	}
	i := sort.Search(len(t.spans), func(i int) bool { return t.spans[i].out > off }) - 1
	if i < 0 {
		i = 0
	}
	sp := t.spans[i]
	return syntaxErrorAt(t.src, t.original(sp.pos, sp.end))
}

// Position returns the 1-based character position in the original query of
// the token emitted at byte offset off of t.SQL.
func (t *Text) Position(off int) int {
	if off >= len(t.SQL) || len(t.spans) == 0 {
		return charPos(t.src, t.end.pos)
	}
	i := sort.Search(len(t.spans), func(i int) bool { return t.spans[i].out > off }) - 1
	if i < 0 {
		i = 0
	}
	return charPos(t.src, t.spans[i].pos)
}

// original finds the original token at pos (for synthesized tokens, the
// token of the construct they came from).
func (t *Text) original(pos, end int) token {
	if end > pos {
		return token{kind: kWord, pos: pos, end: end}
	}
	i := sort.Search(len(t.toks), func(i int) bool { return t.toks[i].pos >= pos })
	if i < len(t.toks) {
		return t.toks[i]
	}
	return t.end
}

// renderer writes nodes as TiDB-dialect text.
type renderer struct {
	b       strings.Builder
	spans   []span
	params  []int
	offsets []int
	prev    *token
}

// render turns seq into a Text. toks are the statement's original tokens;
// end is the token that follows the rendered text in the original.
func render(src string, seq []*node, toks []token, end token) *Text {
	r := &renderer{}
	r.seq(seq)
	return &Text{SQL: r.b.String(), Params: r.params, ParamOffsets: r.offsets, spans: r.spans, src: src, toks: toks, end: end}
}

func (r *renderer) seq(seq []*node) {
	for _, n := range seq {
		if n.group {
			r.tok(n.tok)
			r.seq(n.kids)
			r.tok(n.close)
			continue
		}
		r.tok(n.tok)
	}
}

// needSpace decides whether a space separates prev and t. Spaces are
// omitted only where TiDB needs or tolerates it: after "(" and ".", before
// ")" "," ".", and between a function name and its "(" (TiDB recognises
// built-in functions only when "(" follows the name immediately).
func needSpace(prev, t *token) bool {
	if prev == nil {
		return false
	}
	switch prev.kind {
	case kLParen:
		return false
	case kDot:
		return false
	}
	switch t.kind {
	case kRParen, kComma:
		return false
	case kDot:
		return prev.kind == kNumber
	case kLParen:
		switch prev.kind {
		case kQIdent:
			return false
		case kWord:
			return !prev.quote && spaceBeforeParen(prev.val)
		}
	}
	return true
}

func (r *renderer) tok(t token) {
	if needSpace(r.prev, &t) {
		r.b.WriteByte(' ')
	}
	r.spans = append(r.spans, span{out: r.b.Len(), pos: t.pos, end: t.end})
	switch t.kind {
	case kWord:
		if t.quote || !isPlainName(t.val) {
			r.b.WriteString(quoteIdent(t.val))
		} else {
			r.b.WriteString(t.val)
		}
	case kQIdent:
		r.b.WriteString(quoteIdent(t.val))
	case kString:
		r.b.WriteString(quoteString(t.val))
	case kBitString:
		r.b.WriteString("b'" + t.val + "'")
	case kHexString:
		r.b.WriteString("x'" + t.val + "'")
	case kParam:
		r.offsets = append(r.offsets, r.b.Len())
		r.b.WriteByte('?')
		r.params = append(r.params, t.n)
	default:
		r.b.WriteString(t.val)
	}
	tt := t
	r.prev = &tt
}
