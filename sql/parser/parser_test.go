package parser

import (
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// TestParse runs the files in testdata/pgdialect/parse. Commands:
//
//	parse        the input is a query string; prints, per statement, the
//	             AST's node type and its restored SQL (checked to read back
//	             to the same text), with the removed clauses and fields
//	literals     prints the literals and parameter markers of each
//	             statement, as the driver built them
//	expr         ParseExpr of the input, restored (and read back)
//	tree         ParseExpr of the input, restored with every binary
//	             operation in brackets: how TiDB grouped it
//	_breakpoint  does nothing: a place for a debugger breakpoint
func TestParse(t *testing.T) {
	datadriven.Walk(t, "../../testdata/pgdialect/parse", func(t *testing.T, path string) {
		p := New()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "parse":
				stmts, err := p.Parse(d.Input)
				if err != nil {
					return formatError(err)
				}
				var b strings.Builder
				for i, s := range stmts {
					if len(stmts) > 1 {
						fmt.Fprintf(&b, "-- %d: %s\n", i+1, s.SQL)
					}
					formatStatement(t, p, &b, &s)
				}
				if len(stmts) == 0 {
					b.WriteString("no statements\n")
				}
				return b.String()
			case "literals":
				stmts, err := p.Parse(d.Input)
				if err != nil {
					return formatError(err)
				}
				var b strings.Builder
				for _, s := range stmts {
					v := &literalVisitor{b: &b}
					if s.AST != nil {
						s.AST.Accept(v)
					}
					for _, f := range s.Returning {
						f.Accept(v)
					}
					fmt.Fprintf(&b, "param-order: %v\n", s.ParamOrder)
				}
				return b.String()
			case "tree":
				// Every binary operation bracketed: shows how TiDB
				// grouped the rewritten expression.
				e, err := p.ParseExpr(d.Input)
				if err != nil {
					return formatError(err)
				}
				var sb strings.Builder
				flags := format.RestoreStringSingleQuotes | format.RestoreNameDoubleQuotes |
					format.RestoreStringWithoutCharset | format.RestoreBracketAroundBinaryOperation
				if err := e.Restore(format.NewRestoreCtx(flags, &sb)); err != nil {
					return "restore error: " + err.Error() + "\n"
				}
				return sb.String() + "\n"
			case "expr":
				e, err := p.ParseExpr(d.Input)
				if err != nil {
					return formatError(err)
				}
				return fmt.Sprintf("%T: %s\n", e, restoreChecked(t, p, e))
			case "_breakpoint":
				return ""
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

func formatError(err error) string {
	var e *sqlerr.Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("error (no SQLSTATE): %v\n", err)
	}
	s := fmt.Sprintf("error %s: %s", e.Code, e.Message)
	if e.Position > 0 {
		s += fmt.Sprintf(" (position %d)", e.Position)
	}
	return s + "\n"
}

// restoreChecked restores n and checks that the text reads back to the same
// text (for expressions; statements are checked by reparsing the text).
func restoreChecked(t *testing.T, p *Parser, n ast.Node) string {
	t.Helper()
	s, err := Restore(n)
	if err != nil {
		return "restore error: " + err.Error()
	}
	if _, isDefault := n.(*ast.DefaultExpr); isDefault {
		return s // DEFAULT is no expression outside VALUES and SET
	}
	if _, ok := n.(ast.ExprNode); ok {
		e, err := p.ParseExpr(s)
		if err != nil {
			t.Errorf("restored %q does not parse: %v", s, err)
			return s
		}
		again, _ := Restore(e)
		if again != s {
			t.Errorf("restore is not stable:\n  %s\n  %s", s, again)
		}
	}
	return s
}

func formatStatement(t *testing.T, p *Parser, b *strings.Builder, s *Statement) {
	if s.Session != nil {
		fmt.Fprintf(b, "session: %s\n", s.Session.Kind)
	} else {
		r := restoreChecked(t, p, s.AST)
		fmt.Fprintf(b, "%T: %s\n", s.AST, r)
	}
	fmt.Fprintf(b, "tag: %s\n", s.Tag)
	if len(s.ParamOrder) > 0 || s.NumParams > 0 {
		fmt.Fprintf(b, "params: %v (num %d)\n", s.ParamOrder, s.NumParams)
	}
	if s.Returning != nil {
		var fs []string
		for _, f := range s.Returning {
			fs = append(fs, restoreChecked(t, p, f))
		}
		fmt.Fprintf(b, "returning: %s\n", strings.Join(fs, ", "))
	}
	if oc := s.OnConflict; oc != nil {
		fmt.Fprintf(b, "on-conflict: columns=%v do-nothing=%t\n", oc.Columns, oc.DoNothing)
		for _, a := range oc.Set {
			fmt.Fprintf(b, "  set: %s = %s\n", a.Column.Name.O+qualifier(a.Column), restoreChecked(t, p, a.Expr))
		}
		if oc.Where != nil {
			fmt.Fprintf(b, "  where: %s\n", restoreChecked(t, p, oc.Where))
		}
	}
	if s.AsOf != nil {
		fmt.Fprintf(b, "as-of: %s\n", restoreChecked(t, p, s.AsOf))
	}
	if len(s.ColumnTypes) > 0 {
		keys := make([]string, 0, len(s.ColumnTypes))
		for k := range s.ColumnTypes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%q", k, s.ColumnTypes[k]))
		}
		fmt.Fprintf(b, "column-types: %s\n", strings.Join(parts, " "))
	}
	for _, a := range s.ExecuteArgs {
		fmt.Fprintf(b, "execute-arg: %s\n", restoreChecked(t, p, a))
	}
}

func qualifier(c *ast.ColumnName) string {
	if c.Table.O != "" {
		return " (table " + c.Table.O + ")"
	}
	return ""
}

// literalVisitor prints literals and parameter markers.
type literalVisitor struct{ b *strings.Builder }

func (v *literalVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ParamMarker:
		fmt.Fprintf(v.b, "param $%d order=%d\n", x.Num, x.Order)
	case *ValueExpr:
		fmt.Fprintf(v.b, "%s %q\n", x.Kind, x.GetString())
	}
	return n, false
}

func (v *literalVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// TestTiDBReserved checks pgdialect's copy of TiDB's reserved words
// against the parser: it holds every reserved word of TiDB's Keywords
// table, and each of its words is refused by TiDB as a bare name
// (while a plain name is accepted).
func TestTiDBReserved(t *testing.T) {
	ours := map[string]bool{}
	for _, w := range pgdialect.TiDBReservedWords() {
		ours[w] = true
	}
	for _, k := range tidb.Keywords {
		if w := strings.ToLower(k.Word); k.Reserved && !ours[w] {
			t.Errorf("pgdialect's TiDB reserved words lack %q", w)
		}
	}
	p := tidb.New()
	p.SetSQLMode(sqlMode)
	if _, _, err := p.ParseSQL("SELECT a FROM plain"); err != nil {
		t.Fatal(err)
	}
	for w := range ours {
		if w == "dual" {
			continue // FROM DUAL is MySQL's table-less FROM; as a name it is quoted
		}
		if _, _, err := p.ParseSQL("SELECT a FROM " + w); err == nil {
			t.Errorf("pgdialect's TiDB reserved words have %q, which TiDB takes as a name", w)
		}
	}
}

// TestNames checks that words PostgreSQL lets one use as names (column,
// table, alias) work as names in every position, whatever TiDB reserves.
func TestNames(t *testing.T) {
	// Words PostgreSQL accepts as names, many of them keywords of TiDB.
	names := strings.Fields(`id name value type status level user_id data key timestamp date time text year month day hour minute second comment position count sum max min avg first last next action role password language format index start stop source event events database schema owner state version description enabled active locked deleted created updated global local session system label tag title body content url path file size length width height weight price amount total quantity rank score rating mode method kind class category region country city address phone email domain host port ip replica shard partition priority sequence serial hash checksum signature token secret salt nonce expires expiry ttl delay timeout interval period duration schedule cron job task queue stage step phase cycle round attempt retries error message payload metadata attributes properties settings config options params args result output input status_code by of read write keys release lock option match replace if generated stored virtual cascade restrict over recursive rows range groups row ignore force div mod xor regexp rlike sql ssl usage trigger procedure cursor describe explain kill load lines long linear spatial fulltext distinctrow dual change call continue exit iterate leave elseif while until optimize require revoke use unlock zerofill unsigned delayed infile outfile enclosed escaped optionally starting terminated maxvalue inout out int1 float4 float8 blob varbinary sqlexception sqlstate sqlwarning tinyint mediumint precision numeric decimal real double float integer bigint smallint char character varchar varying bit boolean bool json uuid bytea inet serial`)
	p := New()
	for _, n := range names {
		for _, q := range []string{
			"CREATE TABLE t (" + n + " int)",
			"SELECT " + n + " FROM t WHERE " + n + " = 1 ORDER BY " + n,
			"SELECT t." + n + ", " + n + " + 1 AS x FROM t GROUP BY " + n,
			"INSERT INTO t (" + n + ") VALUES (1) RETURNING " + n,
			"UPDATE t SET " + n + " = 1 WHERE " + n + " > 0",
			"SELECT 1 AS " + n,
			"SELECT x FROM t " + n,
			"SELECT " + n + " FROM " + n,
		} {
			if _, err := p.Parse(q); err != nil {
				st, _ := pgdialect.Rewrite(q)
				out := ""
				if len(st) > 0 && st[0].Main != nil {
					out = st[0].Main.SQL
				}
				t.Errorf("%s\n  %v\n  rewritten: %s", q, err, out)
			}
		}
	}
}

// TestParamNumbering checks that markers in removed clauses are numbered
// after those of the statement.
func TestParamNumbering(t *testing.T) {
	p := New()
	stmts, err := p.Parse(`INSERT INTO t (a, b) VALUES ($2, $1) ON CONFLICT (a) DO UPDATE SET b = $3 WHERE t.c = $1 RETURNING $4`)
	if err != nil {
		t.Fatal(err)
	}
	s := stmts[0]
	if got, want := fmt.Sprint(s.ParamOrder), "[2 1 4 3 1]"; got != want {
		t.Fatalf("ParamOrder = %s, want %s", got, want)
	}
	seen := map[int]int{}
	check := func(n ast.Node) {
		n.Accept(&markerVisitor{f: func(m *ParamMarker) {
			if s.ParamOrder[m.Order] != m.Num {
				t.Errorf("marker order %d has $%d, ParamOrder says $%d", m.Order, m.Num, s.ParamOrder[m.Order])
			}
			seen[m.Order]++
		}})
	}
	check(s.AST)
	for _, f := range s.Returning {
		check(f)
	}
	for _, a := range s.OnConflict.Set {
		check(a.Expr)
	}
	check(s.OnConflict.Where)
	for i := range s.ParamOrder {
		if seen[i] != 1 {
			t.Errorf("order %d seen %d times", i, seen[i])
		}
	}
}

type markerVisitor struct{ f func(*ParamMarker) }

func (v *markerVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*ParamMarker); ok {
		v.f(m)
	}
	return n, false
}

func (v *markerVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// TestImports checks that sql/parser pulls in the TiDB parser module only,
// never TiDB's own packages (types, expression, ...), and that pgdialect
// does not import TiDB at all.
func TestImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Skipf("go list: %v", err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps("github.com/outpostdb/outpost/sql/parser") {
		if strings.HasPrefix(d, "github.com/pingcap/tidb/") && !strings.HasPrefix(d, "github.com/pingcap/tidb/pkg/parser") {
			t.Errorf("sql/parser depends on %s", d)
		}
		if strings.HasSuffix(d, "/test_driver") {
			t.Errorf("sql/parser depends on %s", d)
		}
	}
	for _, d := range deps("github.com/outpostdb/outpost/sql/pgdialect") {
		if strings.HasPrefix(d, "github.com/pingcap/") {
			t.Errorf("sql/pgdialect depends on %s", d)
		}
	}
}
