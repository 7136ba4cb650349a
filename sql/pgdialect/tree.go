package pgdialect

import (
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// node is a token or a group: a parenthesized list, or a CASE ... END
// expression (a pseudo-group whose open and close tokens are the words).
// The rewriter works on sequences of nodes, one nesting level at a time.
type node struct {
	tok   token // a leaf, or a group's opening token
	close token // a group's closing token
	kids  []*node
	group bool
}

func leaf(t token) *node { return &node{tok: t} }

// isParen reports whether n is a (...) group.
func (n *node) isParen() bool { return n.group && n.tok.kind == kLParen }

// isCase reports whether n is a CASE ... END group.
func (n *node) isCase() bool { return n.group && n.tok.kind == kWord }

func (n *node) is(word string) bool { return !n.group && n.tok.is(word) }

func (n *node) isOp(op string) bool { return !n.group && n.tok.isOp(op) }

func (n *node) isKind(k kind) bool { return !n.group && n.tok.kind == k }

// paren builds a synthetic (...) group positioned at pos.
func paren(pos int, kids ...*node) *node {
	return &node{
		tok:   token{kind: kLParen, val: "(", pos: pos, end: pos},
		close: token{kind: kRParen, val: ")", pos: pos, end: pos},
		kids:  kids,
		group: true,
	}
}

// synth builds a synthetic leaf positioned at pos.
func synth(k kind, val string, pos int) *node {
	return leaf(token{kind: k, val: val, pos: pos, end: pos})
}

// word builds a synthetic unquoted word (a function name, a keyword).
func word(val string, pos int) *node { return synth(kWord, val, pos) }

// raw builds a synthetic token emitted verbatim.
func raw(val string, pos int) *node { return synth(kRaw, val, pos) }

// call builds name(args...) with commas between args.
func call(name string, pos int, args ...[]*node) []*node {
	var kids []*node
	for i, a := range args {
		if i > 0 {
			kids = append(kids, synth(kComma, ",", pos))
		}
		kids = append(kids, a...)
	}
	return []*node{word(name, pos), paren(pos, kids...)}
}

// str builds a synthetic string literal.
func str(val string, pos int) *node { return synth(kString, val, pos) }

// firstPos returns the original position of the first token of ns, def
// if there is none.
func firstPos(ns []*node, def int) int {
	if len(ns) == 0 {
		return def
	}
	return ns[0].tok.pos
}

// maxDepth bounds the nesting of parentheses and of prefix operators, so
// that the recursive rewriter (and TiDB's parser after it) cannot exhaust
// the stack; PostgreSQL has a similar limit (max_stack_depth).
const maxDepth = 1000

// buildTree groups toks (one statement, without the terminator) into nodes.
// Parentheses must balance and CASE must meet its END; square brackets
// (arrays) are refused.
func buildTree(src string, toks []token, end token) ([]*node, error) {
	type frame struct {
		n    *node
		kids []*node
	}
	stack := []frame{{}}
	for _, t := range toks {
		top := &stack[len(stack)-1]
		switch {
		case t.kind == kLParen || t.is("case") || t.kind == kLBracket:
			if len(stack) > maxDepth {
				return nil, errorf(src, t.pos, sqlerr.StatementTooComplex, "stack depth limit exceeded").
					WithHint("Nest parentheses less than %d deep.", maxDepth)
			}
			stack = append(stack, frame{n: &node{tok: t, group: true}})
		case t.kind == kRParen:
			if len(stack) == 1 || top.n.tok.kind != kLParen {
				return nil, syntaxErrorAt(src, t)
			}
			g := top.n
			g.kids, g.close = top.kids, t
			stack = stack[:len(stack)-1]
			stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, g)
		case t.is("end") && len(stack) > 1 && top.n.tok.kind == kWord:
			g := top.n
			g.kids, g.close = top.kids, t
			stack = stack[:len(stack)-1]
			stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, g)
		case t.kind == kRBracket:
			// [ ... ] groups: array constructors, subscripts and array
			// types, rewritten in arrays.go; anything else is refused.
			if len(stack) == 1 || top.n.tok.kind != kLBracket {
				return nil, syntaxErrorAt(src, t)
			}
			g := top.n
			g.kids, g.close = top.kids, t
			stack = stack[:len(stack)-1]
			stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, g)
		default:
			top.kids = append(top.kids, leaf(t))
		}
	}
	if len(stack) > 1 {
		return nil, syntaxErrorAt(src, end)
	}
	return stack[0].kids, nil
}

// splitTop splits seq on top-level commas.
func splitTop(seq []*node) [][]*node {
	var out [][]*node
	start := 0
	for i, n := range seq {
		if n.isKind(kComma) {
			out = append(out, seq[start:i])
			start = i + 1
		}
	}
	return append(out, seq[start:])
}

// joinComma joins lists with synthetic commas.
func joinComma(lists [][]*node) []*node {
	var out []*node
	for i, l := range lists {
		if i > 0 {
			out = append(out, synth(kComma, ",", firstPos(l, 0)))
		}
		out = append(out, l...)
	}
	return out
}

// indexWord returns the index of the first top-level word w in seq at or
// after from, or -1.
func indexWord(seq []*node, from int, w string) int {
	for i := from; i < len(seq); i++ {
		if seq[i].is(w) {
			return i
		}
	}
	return -1
}

// hasWords reports whether seq[i:] starts with the given words.
func hasWords(seq []*node, i int, words ...string) bool {
	if i+len(words) > len(seq) {
		return false
	}
	for j, w := range words {
		if !seq[i+j].is(w) {
			return false
		}
	}
	return true
}
