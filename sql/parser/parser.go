package parser

import (
	"fmt"
	"strings"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// sqlMode brings MySQL's grammar closer to PostgreSQL's:
//   - ANSI_QUOTES: "x" is an identifier, never a string;
//   - PIPES_AS_CONCAT: || is not OR (pgdialect rewrites || itself, with
//     PostgreSQL's precedence; the mode guards anything left over);
//   - NO_BACKSLASH_ESCAPES: standard_conforming_strings ('\' is a plain
//     character; E'...' strings are decoded by pgdialect).
//
// HIGH_NOT_PRECEDENCE stays off (NOT binds loosely, as in PostgreSQL) and
// IGNORE_SPACE stays off (pgdialect emits function names next to their "(",
// and IGNORE_SPACE would reserve every built-in function name).
const sqlMode = mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes

// Parser parses PostgreSQL SQL into TiDB ASTs. One per session: it is not
// safe for concurrent use.
type Parser struct {
	p *tidb.Parser
}

// New returns a Parser.
func New() *Parser {
	p := tidb.New()
	p.SetSQLMode(sqlMode)
	p.EnableWindowFunc(true)
	return &Parser{p: p}
}

// Statement is one parsed statement.
type Statement struct {
	// AST is the statement, nil when Session is set.
	AST ast.StmtNode
	// Session is a statement the session executes itself (transaction
	// control, SET/SHOW, PREPARE/EXECUTE, COPY, DROP INDEX, TRUNCATE).
	Session *pgdialect.SessionStmt
	// SQL is the original text of this statement.
	SQL string
	// NumParams is the highest $n.
	NumParams int
	// ParamOrder holds, for each parameter marker of the statement in
	// order (ParamMarker.Order), the $n it stands for. Markers are
	// numbered through AST first, then Returning, OnConflict.Set,
	// OnConflict.Where and AsOf. Every ParamMarker also carries its Num.
	ParamOrder []int
	// Returning is the RETURNING list of INSERT/UPDATE/DELETE.
	Returning []*ast.SelectField
	// OnConflict is the ON CONFLICT clause of an INSERT.
	OnConflict *OnConflict
	// AsOf is the expression of AS OF SYSTEM TIME (SELECT, BEGIN, SET
	// TRANSACTION) or TiDB's AS OF TIMESTAMP, removed from AST.
	AsOf ast.ExprNode
	// ColumnTypes maps the columns of CREATE TABLE and ALTER TABLE ... ADD
	// COLUMN to their PostgreSQL types, normalized ("varchar(20)",
	// "bigserial", "timestamp with time zone"); the AST has BLOB instead.
	ColumnTypes map[string]string
	// AlterColumns are ALTER TABLE's ALTER COLUMN ... TYPE and SET|DROP
	// NOT NULL actions (MODIFY COLUMN c BLOB in the AST).
	AlterColumns map[string]*pgdialect.AlterColumn
	// Identity maps GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY columns to
	// "always" or "by default" (removed from the AST).
	Identity map[string]string
	// Cascade is DROP ... CASCADE (removed from the AST).
	Cascade bool
	// SequenceType and OwnedBy are CREATE SEQUENCE's AS type and OWNED BY
	// (removed from the AST).
	SequenceType, OwnedBy string
	// ExecuteArgs are the arguments of EXECUTE name(args).
	ExecuteArgs []ast.ExprNode
	// Tag is the CommandComplete tag ("SELECT", "INSERT", "CREATE
	// TABLE"), without counts; empty for EXECUTE.
	Tag string
}

// OnConflict is INSERT ... ON CONFLICT.
type OnConflict struct {
	// Columns is the conflict target, nil if none was given.
	Columns []string
	// DoNothing is DO NOTHING; otherwise DO UPDATE SET Set WHERE Where.
	DoNothing bool
	// Set are the assignments; EXCLUDED.col is a column reference with
	// table name "excluded".
	Set   []*ast.Assignment
	Where ast.ExprNode
}

// Parse parses a query string. Empty input, or only comments and
// semicolons, yields no statements. Errors are *sqlerr.Error with
// PostgreSQL's SQLSTATE and a position in sql.
func (p *Parser) Parse(sql string) ([]Statement, error) {
	stmts, err := pgdialect.Rewrite(sql)
	if err != nil {
		return nil, err
	}
	out := make([]Statement, 0, len(stmts))
	for _, s := range stmts {
		st, err := p.statement(s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *Parser) statement(s *pgdialect.Stmt) (Statement, error) {
	info := &s.Info
	st := Statement{
		Session:      s.Session,
		SQL:          s.SQL,
		NumParams:    info.NumParams,
		ColumnTypes:  info.ColumnTypes,
		AlterColumns: info.AlterColumns,
		Identity:     info.Identity,
		Cascade:      info.Cascade,
		SequenceType: info.SequenceType,
		OwnedBy:      info.OwnedBy,
		Tag:          info.Tag,
	}
	if s.Session != nil {
		if t := s.Session.Txn.AsOf; t != nil {
			e, err := p.selectExpr(t, &st.ParamOrder)
			if err != nil {
				return st, err
			}
			st.AsOf = e
		}
		if t := s.Session.Args; t != nil {
			fields, err := p.selectFields(t, &st.ParamOrder)
			if err != nil {
				return st, err
			}
			for _, f := range fields {
				st.ExecuteArgs = append(st.ExecuteArgs, f.Expr)
			}
		}
		return st, nil
	}
	node, err := p.parseText(s.Main, &st.ParamOrder)
	if err != nil {
		return st, err
	}
	st.AST = node
	if info.Returning != nil {
		if st.Returning, err = p.selectFields(info.Returning, &st.ParamOrder); err != nil {
			return st, err
		}
	}
	if oc := info.OnConflict; oc != nil {
		st.OnConflict = &OnConflict{Columns: oc.Columns, DoNothing: oc.DoNothing}
		if oc.Update != nil {
			n, err := p.parseText(oc.Update, &st.ParamOrder)
			if err != nil {
				return st, err
			}
			upd, ok := n.(*ast.UpdateStmt)
			if !ok {
				return st, internalError(oc.Update, "ON CONFLICT DO UPDATE did not parse as UPDATE")
			}
			st.OnConflict.Set, st.OnConflict.Where = upd.List, upd.Where
		}
	}
	if info.AsOf != nil {
		if st.AsOf, err = p.selectExpr(info.AsOf, &st.ParamOrder); err != nil {
			return st, err
		}
	}
	return st, nil
}

// ParseExpr parses one expression written in PostgreSQL syntax (a stored
// DEFAULT or CHECK expression).
func (p *Parser) ParseExpr(sql string) (ast.ExprNode, error) {
	t, err := pgdialect.RewriteExpr(sql)
	if err != nil {
		return nil, err
	}
	var order []int
	return p.selectExpr(t, &order)
}

// parseText parses one rewritten text and numbers its parameter markers,
// appending their $n to order.
func (p *Parser) parseText(t *pgdialect.Text, order *[]int) (ast.StmtNode, error) {
	stmts, err := p.tidbParse(t.SQL)
	if err != nil {
		return nil, syntaxError(t, err)
	}
	if len(stmts) != 1 {
		return nil, internalError(t, fmt.Sprintf("%d statements", len(stmts)))
	}
	if err := numberParams(stmts[0], t, len(*order)); err != nil {
		return nil, err
	}
	*order = append(*order, t.Params...)
	return stmts[0], nil
}

// tidbParse runs the TiDB parser. A panic in it (a bug of the parser on
// some input) becomes an error rather than taking the session down.
func (p *Parser) tidbParse(sql string) (stmts []ast.StmtNode, err error) {
	defer func() {
		if x := recover(); x != nil {
			p.p = New().p // the panic may have left the parser inconsistent
			stmts, err = nil, fmt.Errorf("TiDB parser panic: %v", x)
		}
	}()
	stmts, _, err = p.p.ParseSQL(sql)
	return stmts, err
}

// selectFields parses "SELECT <list>".
func (p *Parser) selectFields(t *pgdialect.Text, order *[]int) ([]*ast.SelectField, error) {
	n, err := p.parseText(t, order)
	if err != nil {
		return nil, err
	}
	sel, ok := n.(*ast.SelectStmt)
	if !ok || sel.Fields == nil || sel.From != nil || sel.Where != nil || sel.OrderBy != nil || sel.Limit != nil ||
		sel.GroupBy != nil || sel.Having != nil || sel.Distinct || sel.LockInfo != nil {
		return nil, t.SyntaxError(len(t.SQL))
	}
	return sel.Fields.Fields, nil
}

// selectExpr parses "SELECT <expr>".
func (p *Parser) selectExpr(t *pgdialect.Text, order *[]int) (ast.ExprNode, error) {
	fields, err := p.selectFields(t, order)
	if err != nil {
		return nil, err
	}
	if len(fields) != 1 || fields[0].Expr == nil || fields[0].AsName.L != "" {
		return nil, t.SyntaxError(len(t.SQL))
	}
	return fields[0].Expr, nil
}

// numberParams sets Order and Num of the parameter markers of n.
func numberParams(n ast.Node, t *pgdialect.Text, base int) error {
	v := &paramVisitor{t: t, base: base}
	n.Accept(v)
	return v.err
}

type paramVisitor struct {
	t    *pgdialect.Text
	base int
	err  error
}

func (v *paramVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*ParamMarker); ok {
		k := -1
		for i, off := range v.t.ParamOffsets {
			if off == m.Offset {
				k = i
				break
			}
		}
		if k < 0 {
			v.err = internalError(v.t, fmt.Sprintf("unknown parameter marker at %d", m.Offset))
			return n, true
		}
		m.Order = v.base + k
		m.Num = v.t.Params[k]
	}
	return n, false
}

func (v *paramVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// syntaxError turns an error of the TiDB parser on t into PostgreSQL's
// syntax error positioned in the original text. TiDB reports `line L
// column C near "<rest of input>"`; the rest of the input locates the
// failing token.
func syntaxError(t *pgdialect.Text, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, `near "`); i >= 0 {
		rest := msg[i+len(`near "`):]
		if off, ok := errorOffset(t.SQL, rest); ok {
			e := t.SyntaxError(off)
			return e
		}
	}
	e := t.SyntaxError(len(t.SQL))
	return e.WithDetail("%s", msg)
}

// errorOffset finds the offset of the failing token: the message quotes
// the input from there on (cut at 2048 bytes, with the total length).
func errorOffset(src, rest string) (int, bool) {
	if j := strings.LastIndex(rest, `"(total length `); j >= 0 {
		var n int
		if _, err := fmt.Sscanf(rest[j:], `"(total length %d)`, &n); err == nil && n <= len(src) {
			return len(src) - n, true
		}
	}
	for off := 0; off <= len(src); off++ {
		tail := src[off:]
		if strings.HasPrefix(rest, tail+`"`) {
			return off, true
		}
	}
	return 0, false
}

func internalError(t *pgdialect.Text, what string) error {
	return sqlerr.New(sqlerr.InternalError, "internal error parsing %q: %s", t.SQL, what)
}

// Restore renders an AST node back to SQL that Parser reads back to the
// same AST (PostgreSQL syntax: "quoted" names, standard strings, $n
// parameters). It is used to store DEFAULT and CHECK expressions.
func Restore(node ast.Node) (string, error) {
	var w restoreWriter
	flags := format.RestoreStringSingleQuotes | format.RestoreKeyWordUppercase | format.RestoreNameDoubleQuotes |
		format.RestoreStringWithoutCharset | format.RestoreSpacesAroundBinaryOperation
	if err := node.Restore(format.NewRestoreCtx(flags, &w)); err != nil {
		return "", err
	}
	return w.b.String(), nil
}

// restoreWriter keeps two writes from forming a comment: TiDB prints -(-1)
// as "--1".
type restoreWriter struct {
	b    strings.Builder
	last byte
}

func (w *restoreWriter) WriteString(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if (w.last == '-' && s[0] == '-') || (w.last == '/' && s[0] == '*') {
		w.b.WriteByte(' ')
	}
	w.b.WriteString(s)
	w.last = s[len(s)-1]
	return len(s), nil
}

func (w *restoreWriter) Write(b []byte) (int, error) { return w.WriteString(string(b)) }
