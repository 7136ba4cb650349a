package pgdialect

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// The expression rewriter parses each expression with PostgreSQL's operator
// precedence and prints it back for TiDB, whose (MySQL) precedence differs:
// parentheses are added exactly where MySQL would group otherwise, and
// operators TiDB lacks or reads differently become function calls. An
// expression that needs neither is printed as it came.

// PostgreSQL precedence levels, loosest first (gram.y).
const (
	pgOr = iota + 1
	pgAnd
	pgNot
	pgIs      // IS, ISNULL, NOTNULL
	pgCmp     // < > = <= >= <> !=
	pgPred    // LIKE ILIKE SIMILAR BETWEEN IN
	pgOther   // any other operator: || ~ -> & | << >> # ...
	pgAdd     // + -
	pgMul     // * / %
	pgPow     // ^
	pgAt      // AT TIME ZONE
	pgCollate // COLLATE
	pgUnary   // unary + -
)

// MySQL (TiDB grammar) precedence levels of what we emit, loosest first.
const (
	myOr = iota + 1
	myXor
	myAnd
	myNot
	myIsBool // IS [NOT] TRUE|FALSE|UNKNOWN: Expression level
	myCmp    // comparison, <=>, IS [NOT] NULL: BoolPri level
	myPred   // LIKE, ILIKE, IN, BETWEEN: PredicateExpr level
	myBitOr
	myBitAnd
	myShift
	myAdd
	myMul
	myBitXor // ^ (bitwise XOR): never emitted, see outpost_bitxor
	myUnary
	myAtom
)

type ekind uint8

const (
	eAtom    ekind = iota
	eBinary        // l op r
	ePrefix        // op r
	ePostfix       // l op
	eBetween       // l op r AND x
	eLike          // l op r [ESCAPE x]
	eIn            // l op r (r is a group atom)
)

// expr is an expression parsed with PostgreSQL precedence.
type expr struct {
	kind  ekind
	nodes []*node // eAtom: the (already rewritten) nodes
	op    []*node // operator tokens as emitted
	l, r  *expr
	x     *expr
	prec  int // MySQL precedence of the emitted form
}

func atom(ns ...*node) *expr { return &expr{kind: eAtom, nodes: ns, prec: myAtom} }

// eparser parses one expression from seq starting at i.
type eparser struct {
	r     *rw
	seq   []*node
	i     int
	depth int // nesting of prefix operators
}

func (p *eparser) at(k int) *node {
	if p.i+k < len(p.seq) {
		return p.seq[p.i+k]
	}
	return nil
}

func (p *eparser) atWord(k int, w string) bool {
	n := p.at(k)
	return n != nil && n.is(w)
}

func (p *eparser) atOp(k int, op string) bool {
	n := p.at(k)
	return n != nil && n.isOp(op)
}

// startsExpr reports whether seq[i] can begin an expression.
func startsExpr(seq []*node, i int) bool {
	n := seq[i]
	if n.group {
		return true
	}
	switch n.tok.kind {
	case kNumber, kString, kBitString, kHexString, kParam, kQIdent:
		return true
	case kWord:
		switch n.tok.val {
		case "not", "cast", "array":
			return true
		}
		if isAtomWord(n.tok.val) {
			return true
		}
		// A clause word used as a name, recognisable by a following
		// binary operator (e.g. "first || 'x'").
		if !pgReserved[n.tok.val] && i+1 < len(seq) && seq[i+1].isKind(kOp) {
			return true
		}
	case kOp:
		switch n.tok.val {
		case "-", "+", "~", "@", "|/", "||/":
			return true
		}
	}
	return false
}

// parse parses an expression whose operators bind at least as tightly as
// minPrec. It returns nil, leaving p.i unchanged, when seq[p.i] does not
// start one.
func (p *eparser) parse(minPrec int) *expr {
	left := p.prefix()
	if left == nil {
		return nil
	}
	for {
		save := p.i
		next, ok := p.infix(left, minPrec)
		if !ok {
			p.i = save
			return left
		}
		left = next
	}
}

// operand parses the operand of an operator; a missing operand is a syntax
// error at the token where it should start.
func (p *eparser) operand(minPrec int) *expr {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		p.r.fail(errorf(p.r.src, p.at(0).tok.pos, sqlerr.StatementTooComplex, "stack depth limit exceeded"))
	}
	e := p.parse(minPrec)
	if e == nil {
		p.r.failSyntax(p.at(0))
	}
	return e
}

func (p *eparser) prefix() *expr {
	n := p.at(0)
	if n == nil {
		return nil
	}
	if n.isKind(kOp) {
		switch n.tok.val {
		case "-", "+":
			p.i++
			x := p.operand(pgUnary)
			return &expr{kind: ePrefix, op: []*node{n}, r: x, prec: myUnary}
		case "~":
			p.i++
			x := p.operand(pgOther + 1)
			return &expr{kind: ePrefix, op: []*node{n}, r: x, prec: myUnary}
		case "@", "|/", "||/":
			p.i++
			x := p.operand(pgOther + 1)
			fn := map[string]string{"@": "abs", "|/": "sqrt", "||/": "cbrt"}[n.tok.val]
			return atom(call(fn, n.tok.pos, p.r.emit(x))...)
		}
		return nil
	}
	if n.is("not") {
		p.i++
		x := p.operand(pgNot)
		return &expr{kind: ePrefix, op: []*node{n}, r: x, prec: myNot}
	}
	return p.primary()
}

// primary parses an operand: a literal, parameter, name, function call,
// parenthesized expression, CASE, typed literal; then any ::casts.
func (p *eparser) primary() *expr {
	n := p.at(0)
	start := p.i
	var e *expr
	switch {
	case n.isCase():
		p.i++
		e = atom(p.r.group(n))
	case n.isParen():
		p.i++
		e = atom(p.r.group(n))
	case n.group:
		return nil
	default:
		switch n.tok.kind {
		case kNumber, kString, kBitString, kHexString, kParam:
			p.i++
			e = atom(n)
		case kQIdent:
			e = p.name()
		case kWord:
			e = p.wordPrimary()
		}
	}
	if e == nil {
		p.i = start
		return nil
	}
	e = p.subscripts(e)
	for p.atOp(0, "::") {
		castAt := p.at(0).tok.pos
		p.i++
		typ, j := p.r.parseType(p.seq, p.i, false)
		if j == p.i {
			p.r.failSyntax(p.at(0))
		}
		p.i = j
		e = atom(call("outpost_cast", castAt, p.r.emit(e), []*node{str(typ, castAt)})...)
		e = p.subscripts(e)
	}
	return e
}

// wordPrimary parses an operand that starts with an unquoted word.
func (p *eparser) wordPrimary() *expr {
	n := p.at(0)
	w := n.tok.val
	next := p.at(1)
	nextParen := next != nil && next.isParen()
	pos := n.tok.pos
	switch {
	case w == "array":
		return p.arrayConstructor()
	case w == "cast" && nextParen:
		p.i += 2
		return atom(p.r.castCall(n, next)...)
	case w == "extract" && nextParen:
		if ns := p.r.extractCall(n, next); ns != nil {
			p.i += 2
			return atom(ns...)
		}
	case (w == "substring" || w == "overlay") && nextParen:
		p.r.checkSubstring(n, next)
	case (w == "any" || w == "some" || w == "all") && nextParen:
		kids := next.kids
		if len(kids) == 0 || !(kids[0].is("select") || kids[0].is("with") || kids[0].is("values") || kids[0].isParen()) {
			return p.anyArray(w, next)
		}
		p.i += 2
		return atom(n, p.r.group(next))
	case w == "exists" && nextParen:
		p.i += 2
		return atom(n, p.r.group(next))
	case w == "row" && nextParen:
		p.i += 2
		return atom(n, p.r.group(next))
	case !nextParen && (w == "user" || w == "current_user"):
		p.i++
		return atom(word("current_user", pos))
	case !nextParen && w == "session_user":
		p.i++
		return atom(call("session_user", pos)...)
	case !nextParen && w == "current_catalog":
		p.i++
		return atom(call("current_database", pos)...)
	case !nextParen && w == "current_schema":
		p.i++
		return atom(call("current_schema", pos)...)
	case w == "system_user":
		p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "SYSTEM_USER is not supported"))
	}
	if valueWords[w] {
		p.i++
		return atom(n)
	}
	// Typed literal: type 'string'.
	if isTypeStart(w) {
		typ, j := p.r.parseType(p.seq, p.i, true)
		if j > p.i && j < len(p.seq) && p.seq[j].isKind(kString) {
			lit := p.seq[j]
			p.i = j + 1
			if typ == "interval" {
				// interval '1' day [to second]: the fields follow the string.
				if f, k := intervalFields(p.seq, p.i); k > p.i {
					typ += " " + f
					p.i = k
				}
			}
			return atom(call("outpost_cast", pos, []*node{lit}, []*node{str(typ, pos)})...)
		}
	}
	if pgReserved[w] {
		return nil
	}
	return p.name()
}

// name parses a possibly qualified name, with an optional call and window.
func (p *eparser) name() *expr {
	start := p.i
	var ns []*node
	for {
		n := p.at(0)
		if n == nil || !(n.isKind(kWord) || n.isKind(kQIdent)) {
			break
		}
		ns = append(ns, n)
		p.i++
		if !p.at0Kind(kDot) {
			break
		}
		after := p.at(1)
		if after != nil && after.isOp("*") {
			ns = append(ns, p.at(0), after)
			p.i += 2
			return atom(ns...)
		}
		if after == nil || !(after.isKind(kWord) || after.isKind(kQIdent)) {
			break
		}
		ns = append(ns, p.at(0))
		p.i++
	}
	if len(ns) == 0 {
		p.i = start
		return nil
	}
	last := ns[len(ns)-1]
	if g := p.at(0); g != nil && g.isParen() {
		p.i++
		if len(ns) == 3 && ns[0].is("pg_catalog") {
			// pg_catalog.f() is f(): TiDB then knows its built-ins
			// (aggregates above all) by name.
			ns = ns[2:]
		}
		if last.isKind(kWord) && len(ns) == 1 {
			switch last.tok.val {
			case "nextval", "setval", "currval", "lastval":
				// TiDB reserves these for its own sequence syntax; quoted,
				// they are plain function calls.
				q := *last
				q.tok.quote = true
				ns[0] = &q
			}
		}
		ns = append(ns, p.r.group(g))
		if p.atWord(0, "within") && p.atWord(1, "group") {
			p.r.fail(errorf(p.r.src, p.at(0).tok.pos, sqlerr.FeatureNotSupported, "WITHIN GROUP is not supported"))
		}
		if p.atWord(0, "over") {
			if w := p.at(1); w != nil && (w.isParen() || w.isKind(kWord) || w.isKind(kQIdent)) {
				ns = append(ns, p.at(0))
				if w.isParen() {
					ns = append(ns, p.r.group(w))
				} else {
					ns = append(ns, w)
				}
				p.i += 2
			}
		}
	}
	return atom(ns...)
}

func (p *eparser) at0Kind(k kind) bool {
	n := p.at(0)
	return n != nil && n.isKind(k)
}

// binary builds a binary expression emitted with MySQL precedence prec.
func binary(l *expr, op []*node, r *expr, prec int) *expr {
	return &expr{kind: eBinary, l: l, op: op, r: r, prec: prec}
}

// infix tries to extend left with the operator at p.i. It reports false
// when the next token is not an operator binding at least minPrec.
func (p *eparser) infix(left *expr, minPrec int) (*expr, bool) {
	n := p.at(0)
	if n == nil || n.group {
		return nil, false
	}
	pos := n.tok.pos
	if n.isKind(kOp) {
		op := n.tok.val
		prec, my := 0, 0
		switch op {
		case "+", "-":
			prec, my = pgAdd, myAdd
		case "*", "/", "%":
			prec, my = pgMul, myMul
		case "^":
			prec = pgPow
		case "<", ">", "=", "<=", ">=", "<>", "!=", "<=>":
			prec, my = pgCmp, myCmp
		case "&":
			prec, my = pgOther, myBitAnd
		case "|":
			prec, my = pgOther, myBitOr
		case "<<", ">>":
			prec, my = pgOther, myShift
		case "#":
			prec = pgOther
		case "||", "~", "~*", "!~", "!~*", "->", "->>", "#>", "#>>":
			prec = pgOther
		case "::":
			return nil, false
		case "=>", ":=":
			p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "named arguments are not supported"))
		default:
			p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "operator %s is not supported", op))
		}
		if n.tok.explicit {
			prec = pgOther
		}
		if prec < minPrec {
			return nil, false
		}
		p.i++
		right := p.operand(prec + 1)
		switch op {
		case "^":
			return atom(call("power", pos, p.r.emit(left), p.r.emit(right))...), true
		case "#":
			// Not MySQL's ^: Restore would print ^, which reads back as
			// PostgreSQL's exponentiation.
			return atom(call("outpost_bitxor", pos, p.r.emit(left), p.r.emit(right))...), true
		case "||":
			return atom(call("outpost_concat", pos, p.r.emit(left), p.r.emit(right))...), true
		case "~", "~*", "!~", "!~*":
			fn := "outpost_regex_match"
			if strings.HasSuffix(op, "*") {
				fn = "outpost_regex_imatch"
			}
			e := atom(call(fn, pos, p.r.emit(left), p.r.emit(right))...)
			if op[0] == '!' {
				e = &expr{kind: ePrefix, op: []*node{raw("NOT", pos)}, r: e, prec: myNot}
			}
			return e, true
		case "->", "->>", "#>", "#>>":
			fn := map[string]string{
				"->": "outpost_json_get", "->>": "outpost_json_get_text",
				"#>": "outpost_json_get_path", "#>>": "outpost_json_get_path_text",
			}[op]
			return atom(call(fn, pos, p.r.emit(left), p.r.emit(right))...), true
		}
		return binary(left, []*node{n}, right, my), true
	}
	if !n.isKind(kWord) {
		return nil, false
	}
	switch n.tok.val {
	case "or":
		if pgOr < minPrec {
			return nil, false
		}
		p.i++
		return binary(left, []*node{n}, p.operand(pgOr+1), myOr), true
	case "and":
		if pgAnd < minPrec {
			return nil, false
		}
		p.i++
		return binary(left, []*node{n}, p.operand(pgAnd+1), myAnd), true
	case "isnull", "notnull":
		if pgIs < minPrec {
			return nil, false
		}
		p.i++
		op := []*node{raw("IS", pos), raw("NULL", pos)}
		if n.tok.val == "notnull" {
			op = []*node{raw("IS", pos), raw("NOT", pos), raw("NULL", pos)}
		}
		return &expr{kind: ePostfix, l: left, op: op, prec: myCmp}, true
	case "is":
		if pgIs < minPrec {
			return nil, false
		}
		return p.isExpr(left)
	case "not":
		nx := p.at(1)
		if nx == nil || !(nx.is("like") || nx.is("ilike") || nx.is("between") || nx.is("in") || nx.is("similar")) {
			return nil, false
		}
		if pgPred < minPrec {
			return nil, false
		}
		return p.predicate(left, []*node{n}, nx)
	case "like", "ilike", "between", "in", "similar":
		if pgPred < minPrec {
			return nil, false
		}
		return p.predicate(left, nil, n)
	case "at":
		if !(p.atWord(1, "time") && p.atWord(2, "zone")) {
			if p.atWord(1, "local") {
				p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "AT LOCAL is not supported"))
			}
			return nil, false
		}
		if pgAt < minPrec {
			return nil, false
		}
		p.i += 3
		zone := p.operand(pgAt + 1)
		return atom(call("outpost_timezone", pos, p.r.emit(zone), p.r.emit(left))...), true
	case "collate":
		if pgCollate < minPrec {
			return nil, false
		}
		p.i++
		p.r.collation(p.seq, &p.i, pos)
		return left, true
	case "overlaps":
		p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "OVERLAPS is not supported"))
	}
	return nil, false
}

// isExpr parses what follows IS.
func (p *eparser) isExpr(left *expr) (*expr, bool) {
	isTok := p.at(0)
	pos := isTok.tok.pos
	k := 1
	not := p.atWord(k, "not")
	if not {
		k++
	}
	nx := p.at(k)
	if nx == nil || !nx.isKind(kWord) {
		return nil, false
	}
	switch nx.tok.val {
	case "null", "true", "false", "unknown":
		op := []*node{isTok}
		if not {
			op = append(op, p.at(1))
		}
		op = append(op, nx)
		p.i += k + 1
		prec := myIsBool
		if nx.tok.val == "null" {
			prec = myCmp
		}
		return &expr{kind: ePostfix, l: left, op: op, prec: prec}, true
	case "distinct":
		if !p.atWord(k+1, "from") {
			return nil, false
		}
		p.i += k + 2
		right := p.operand(pgIs + 1)
		e := binary(left, []*node{raw("<=>", pos)}, right, myCmp)
		if !not {
			e = &expr{kind: ePrefix, op: []*node{raw("NOT", pos)}, r: e, prec: myNot}
		}
		return e, true
	case "document", "normalized", "nfc", "nfd", "nfkc", "nfkd", "of", "json":
		p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "IS %s is not supported", strings.ToUpper(nx.tok.val)))
	}
	return nil, false
}

// predicate parses [NOT] LIKE/ILIKE/BETWEEN/IN after left; not holds the
// NOT token if present and kw the keyword.
func (p *eparser) predicate(left *expr, not []*node, kw *node) (*expr, bool) {
	pos := kw.tok.pos
	op := append(append([]*node{}, not...), kw)
	p.i += len(not) + 1
	switch kw.tok.val {
	case "similar":
		p.r.fail(errorf(p.r.src, pos, sqlerr.FeatureNotSupported, "SIMILAR TO is not supported"))
	case "like", "ilike":
		right := p.operand(pgPred + 1)
		e := &expr{kind: eLike, l: left, op: op, r: right, prec: myPred}
		if p.atWord(0, "escape") {
			esc := p.at(1)
			if esc == nil || !esc.isKind(kString) {
				p.r.fail(errorf(p.r.src, p.at(0).tok.pos, sqlerr.FeatureNotSupported, "ESCAPE takes a string literal"))
			}
			e.x = &expr{kind: eAtom, nodes: []*node{p.at(0), esc}, prec: myAtom}
			p.i += 2
		}
		return e, true
	case "in":
		g := p.at(0)
		if g == nil || !g.isParen() {
			return nil, false
		}
		p.i++
		return &expr{kind: eIn, l: left, op: op, r: atom(p.r.group(g)), prec: myPred}, true
	case "between":
		if p.atWord(0, "symmetric") {
			p.r.fail(errorf(p.r.src, p.at(0).tok.pos, sqlerr.FeatureNotSupported, "BETWEEN SYMMETRIC is not supported"))
		}
		if p.atWord(0, "asymmetric") {
			p.i++
		}
		lo := p.parse(pgCmp)
		if lo == nil || !p.atWord(0, "and") {
			return nil, false
		}
		and := p.at(0)
		p.i++
		hi := p.operand(pgPred + 1)
		return &expr{kind: eBetween, l: left, op: op, r: lo, x: &expr{kind: eAtom, nodes: []*node{and}, r: hi}, prec: myPred}, true
	}
	return nil, false
}

// emit prints e for TiDB, parenthesizing operands wherever MySQL precedence
// would group them differently from the PostgreSQL parse.
func (r *rw) emit(e *expr) []*node {
	switch e.kind {
	case eAtom:
		return e.nodes
	case eBinary:
		out := r.wrap(e.l, e.prec)
		out = append(out, e.op...)
		return append(out, r.wrap(e.r, e.prec+1)...)
	case ePrefix:
		min := e.prec
		if e.prec == myUnary {
			min = myUnary
		}
		return append(append([]*node{}, e.op...), r.wrap(e.r, min)...)
	case ePostfix:
		return append(r.wrap(e.l, myCmp), e.op...)
	case eLike:
		out := r.wrap(e.l, myBitOr)
		out = append(out, e.op...)
		out = append(out, r.wrap(e.r, myUnary)...)
		if e.x != nil {
			out = append(out, e.x.nodes...)
		}
		return out
	case eIn:
		out := r.wrap(e.l, myBitOr)
		out = append(out, e.op...)
		return append(out, e.r.nodes...)
	case eBetween:
		out := r.wrap(e.l, myBitOr)
		out = append(out, e.op...)
		out = append(out, r.wrap(e.r, myBitOr)...)
		out = append(out, e.x.nodes...)
		return append(out, r.wrap(e.x.r, myPred)...)
	}
	panic("unreachable")
}

// wrap emits e, in parentheses if its precedence is below min.
func (r *rw) wrap(e *expr, min int) []*node {
	ns := r.emit(e)
	if e.prec >= min {
		return ns
	}
	return []*node{paren(firstPos(ns, 0), ns...)}
}

// castCall rewrites CAST(x AS type) into outpost_cast(x, 'type').
func (r *rw) castCall(kw, g *node) []*node {
	kids := g.kids
	as := -1
	for i := len(kids) - 1; i >= 0; i-- {
		if kids[i].is("as") {
			as = i
			break
		}
	}
	if as <= 0 {
		r.failSyntax(g.close.asNode())
	}
	typ, j := r.parseType(kids, as+1, false)
	if j != len(kids) {
		at := g.close
		if j < len(kids) {
			at = kids[j].tok
		}
		r.fail(syntaxErrorAt(r.src, at))
	}
	x := r.seqExpr(kids[:as])
	return call("outpost_cast", kw.tok.pos, x, []*node{str(typ, kw.tok.pos)})
}

// extractCall rewrites EXTRACT(field FROM x) into date_part('field', x).
func (r *rw) extractCall(kw, g *node) []*node {
	kids := g.kids
	if len(kids) < 3 || !kids[1].is("from") {
		return nil
	}
	var field string
	switch {
	case kids[0].isKind(kWord), kids[0].isKind(kString):
		field = strings.ToLower(kids[0].tok.val)
	case kids[0].isKind(kQIdent):
		field = kids[0].tok.val
	default:
		return nil
	}
	x := r.seqExpr(kids[2:])
	return call("date_part", kw.tok.pos, []*node{str(field, kids[0].tok.pos)}, x)
}

// checkSubstring refuses the regular-expression forms of SUBSTRING and
// OVERLAY, which TiDB would silently read as something else.
func (r *rw) checkSubstring(kw, g *node) {
	for i, k := range g.kids {
		switch {
		case k.is("similar"):
			r.fail(errorf(r.src, k.tok.pos, sqlerr.FeatureNotSupported, "SUBSTRING ... SIMILAR is not supported"))
		case k.is("placing"):
			r.fail(errorf(r.src, kw.tok.pos, sqlerr.FeatureNotSupported, "OVERLAY is not supported"))
		case k.is("from") && i+1 < len(g.kids) && g.kids[i+1].isKind(kString) &&
			(i+2 == len(g.kids) || g.kids[i+2].is("for")):
			r.fail(errorf(r.src, k.tok.pos, sqlerr.FeatureNotSupported,
				"SUBSTRING with a regular expression is not supported"))
		}
	}
}

// collation consumes the name after COLLATE. The default collation of
// Outpost compares bytes, as "C" does: C, POSIX and default are dropped,
// anything else is refused.
func (r *rw) collation(seq []*node, i *int, pos int) {
	if *i >= len(seq) {
		r.failSyntax(nil)
	}
	n := seq[*i]
	if n.isKind(kWord) && n.tok.val == "pg_catalog" && *i+2 < len(seq) && seq[*i+1].isKind(kDot) {
		*i += 2
		n = seq[*i]
	}
	if !(n.isKind(kWord) || n.isKind(kQIdent)) {
		r.fail(syntaxErrorAt(r.src, n.tok))
	}
	*i++
	switch strings.ToLower(n.tok.val) {
	case "c", "posix", "default", "ucs_basic":
		return
	}
	r.fail(errorf(r.src, pos, sqlerr.FeatureNotSupported, "collation \"%s\" is not supported", n.tok.val))
}

// seqExpr rewrites a sequence that must be one expression (a function
// argument, say).
func (r *rw) seqExpr(seq []*node) []*node {
	return r.process(seq, false)
}
