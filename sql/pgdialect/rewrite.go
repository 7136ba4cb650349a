package pgdialect

import (
	"errors"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Stmt is one statement of a query string, rewritten.
type Stmt struct {
	// SQL is the original text of the statement, without its terminating
	// semicolon.
	SQL string
	// Pos is the byte offset of SQL in the query string.
	Pos int
	// Session is set for statements that never reach TiDB (transaction
	// control, SET/SHOW, PREPARE/EXECUTE, COPY, DROP INDEX, TRUNCATE);
	// Main is nil then.
	Session *SessionStmt
	// Main is the statement rewritten for the TiDB parser.
	Main *Text
	// Info records what the rewrite removed or learnt.
	Info Info
}

// Info records what the rewrite of a statement removed from its text or
// learnt from it.
type Info struct {
	// Tag is the statement tag of CommandComplete ("SELECT", "INSERT",
	// "CREATE TABLE", ...), without counts.
	Tag string
	// NumParams is the highest $n in the statement.
	NumParams int
	// Returning is "SELECT <list>" for INSERT/UPDATE/DELETE ... RETURNING
	// <list>, nil without RETURNING.
	Returning *Text
	// OnConflict is the ON CONFLICT clause of an INSERT.
	OnConflict *OnConflict
	// AsOf is "SELECT <expr>" for AS OF SYSTEM TIME <expr> (or TiDB's AS OF
	// TIMESTAMP <expr>) after the FROM clause of a SELECT.
	AsOf *Text
	// ColumnTypes maps, for CREATE TABLE and ALTER TABLE ... ADD COLUMN,
	// each column (as TiDB names it: unquoted names folded) to its original
	// PostgreSQL type, normalized ("varchar(20)", "bigserial", "timestamp
	// with time zone", "double precision"). TiDB sees BLOB instead.
	ColumnTypes map[string]string
	// AlterColumns are the ALTER COLUMN ... TYPE / SET|DROP NOT NULL
	// actions of ALTER TABLE, by column (TiDB sees MODIFY COLUMN c BLOB).
	AlterColumns map[string]*AlterColumn
	// Identity maps columns declared GENERATED {ALWAYS|BY DEFAULT} AS
	// IDENTITY to "always" or "by default"; the clause is removed.
	Identity map[string]string
	// Cascade is set when DROP ... CASCADE (or ALTER TABLE ... DROP COLUMN
	// ... CASCADE) was given; CASCADE and RESTRICT are removed.
	Cascade bool
	// SequenceType is the normalized type of CREATE SEQUENCE ... AS type
	// (removed: TiDB sequences are bigint).
	SequenceType string
	// OwnedBy is the column of CREATE/ALTER SEQUENCE ... OWNED BY t.c
	// ("none" for OWNED BY NONE), removed from the text.
	OwnedBy string
}

// OnConflict is a removed ON CONFLICT clause.
type OnConflict struct {
	// Columns is the conflict target (column names), nil when absent.
	Columns []string
	// DoNothing is ON CONFLICT ... DO NOTHING.
	DoNothing bool
	// Update is "UPDATE outpost_on_conflict SET <assignments> [WHERE
	// <cond>]" for DO UPDATE; EXCLUDED.col stays a column reference.
	Update *Text
}

// Rewrite splits a PostgreSQL query string into statements and rewrites
// each one for the TiDB parser. Empty statements (only comments or
// semicolons) are dropped. Errors are *sqlerr.Error with PostgreSQL's
// SQLSTATE and a position in sql.
func Rewrite(sql string) ([]*Stmt, error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	r := &rw{src: sql, groups: make(map[*node]*node)}
	var out []*Stmt
	start := 0
	for i, t := range toks {
		if t.kind != kSemicolon && t.kind != kEOF {
			continue
		}
		if i > start {
			st, err := r.statement(toks[start:i], t)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		start = i + 1
	}
	return out, nil
}

// RewriteExpr rewrites sql, which must hold one expression (a stored
// DEFAULT or CHECK expression, say), into "SELECT <expr>" for the TiDB
// parser. Errors are positioned in sql.
func RewriteExpr(sql string) (text *Text, err error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	end := toks[len(toks)-1]
	toks = toks[:len(toks)-1]
	for _, t := range toks {
		if t.kind == kSemicolon {
			return nil, syntaxErrorAt(sql, t)
		}
	}
	if len(toks) == 0 {
		return nil, syntaxErrorAt(sql, end)
	}
	r := &rw{src: sql, groups: make(map[*node]*node), end: end}
	defer func() {
		if x := recover(); x != nil {
			b, ok := x.(bailout)
			if !ok {
				panic(x)
			}
			text, err = nil, b.err
		}
	}()
	seq, err := buildTree(sql, toks, end)
	if err != nil {
		return nil, err
	}
	for _, n := range seq {
		if n.isKind(kComma) {
			return nil, syntaxErrorAt(sql, n.tok)
		}
	}
	return r.fragment(toks[0].pos, "SELECT", seq, toks, end, false), nil
}

// statement rewrites one statement; end is its terminator (';' or EOF).
func (r *rw) statement(toks []token, end token) (st *Stmt, err error) {
	r.end = end
	defer func() {
		if x := recover(); x != nil {
			b, ok := x.(bailout)
			if !ok {
				panic(x)
			}
			st, err = nil, b.err
		}
	}()
	first, last := toks[0], toks[len(toks)-1]
	st = &Stmt{SQL: r.src[first.pos:last.end], Pos: first.pos}
	for _, t := range toks {
		if t.kind == kParam && t.n > st.Info.NumParams {
			st.Info.NumParams = t.n
		}
	}
	seq, terr := buildTree(r.src, toks, end)
	if terr != nil {
		var se *sqlerr.Error
		if errors.As(terr, &se) {
			return nil, se
		}
		return nil, terr
	}
	if s := r.session(seq, toks); s != nil {
		st.Session = s
		st.Info.Tag = s.tag
		if s.Kind == Prepare {
			st.Info.NumParams = 0 // the parameters are the prepared statement's
		}
		return st, nil
	}
	frag := fragments{}
	seq = r.shape(seq, &st.Info, &frag)
	main := r.process(seq, true)
	st.Main = render(r.src, main, toks, end)
	if frag.returning != nil {
		st.Info.Returning = r.fragment(frag.returningAt, "SELECT", frag.returning, toks, end, false)
	}
	if frag.conflict != nil {
		st.Info.OnConflict = frag.conflict
		if frag.conflictSet != nil {
			st.Info.OnConflict.Update = r.fragment(frag.conflictAt, "UPDATE outpost_on_conflict SET",
				frag.conflictSet, toks, frag.conflictEnd, true)
		}
	}
	if frag.asOf != nil {
		st.Info.AsOf = r.fragment(frag.asOfAt, "SELECT", frag.asOf, toks, frag.asOfEnd, false)
	}
	return st, nil
}

// fragment renders a clause removed from a statement as its own text,
// prefixed so that TiDB parses it ("SELECT <list>", ...).
func (r *rw) fragment(at int, prefix string, seq []*node, toks []token, end token, inSet bool) *Text {
	var pre []*node
	for _, w := range strings.Fields(prefix) {
		pre = append(pre, raw(w, at))
	}
	if inSet {
		// Let process see the SET keyword so that assignment targets
		// are kept out of the expression parser.
		pre[len(pre)-1] = word("set", at)
	}
	body := r.process(append(pre, seq...), false)
	return render(r.src, body, toks, end)
}

// fragments collects the clauses removed from a statement.
type fragments struct {
	returning   []*node
	returningAt int
	conflict    *OnConflict
	conflictSet []*node
	conflictAt  int
	conflictEnd token
	asOf        []*node
	asOfAt      int
	asOfEnd     token
}
