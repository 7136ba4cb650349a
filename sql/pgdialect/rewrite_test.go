package pgdialect

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// TestRewrite runs the files in testdata/pgdialect/rewrite. Commands:
//
//	rewrite          the input is a query string; prints each statement
//	                 rewritten for TiDB with what Info recorded, or the
//	                 error with its SQLSTATE and position
//	expr             the input is one expression (RewriteExpr)
//	_breakpoint      does nothing: a place for a debugger breakpoint
func TestRewrite(t *testing.T) {
	datadriven.Walk(t, "../../testdata/pgdialect/rewrite", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "rewrite":
				stmts, err := Rewrite(d.Input)
				if err != nil {
					return formatError(err)
				}
				var b strings.Builder
				for i, s := range stmts {
					if len(stmts) > 1 {
						fmt.Fprintf(&b, "-- %d: %s\n", i+1, s.SQL)
					}
					formatStmt(&b, s)
				}
				if len(stmts) == 0 {
					b.WriteString("no statements\n")
				}
				return b.String()
			case "expr":
				text, err := RewriteExpr(d.Input)
				if err != nil {
					return formatError(err)
				}
				return formatText("sql", text)
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
	if e.Hint != "" {
		s += "\nhint: " + e.Hint
	}
	return s + "\n"
}

func formatText(label string, t *Text) string {
	s := fmt.Sprintf("%s: %s\n", label, t.SQL)
	if len(t.Params) > 0 {
		s += fmt.Sprintf("  params: %v\n", t.Params)
	}
	return s
}

func formatStmt(b *strings.Builder, s *Stmt) {
	info := &s.Info
	if s.Session != nil {
		formatSession(b, s.Session)
	} else {
		b.WriteString(formatText("sql", s.Main))
	}
	fmt.Fprintf(b, "tag: %s\n", info.Tag)
	if info.NumParams > 0 {
		fmt.Fprintf(b, "num-params: %d\n", info.NumParams)
	}
	if info.Returning != nil {
		b.WriteString(formatText("returning", info.Returning))
	}
	if oc := info.OnConflict; oc != nil {
		fmt.Fprintf(b, "on-conflict: columns=%v do-nothing=%t\n", oc.Columns, oc.DoNothing)
		if oc.Update != nil {
			b.WriteString(formatText("on-conflict-update", oc.Update))
		}
	}
	if info.AsOf != nil {
		b.WriteString(formatText("as-of", info.AsOf))
	}
	if len(info.ColumnTypes) > 0 {
		fmt.Fprintf(b, "column-types: %s\n", formatMap(info.ColumnTypes))
	}
	if len(info.AlterColumns) > 0 {
		m := map[string]string{}
		for k, v := range info.AlterColumns {
			m[k] = fmt.Sprintf("%+v", *v)
		}
		fmt.Fprintf(b, "alter-columns: %s\n", formatMap(m))
	}
	if len(info.Identity) > 0 {
		fmt.Fprintf(b, "identity: %s\n", formatMap(info.Identity))
	}
	if info.Cascade {
		b.WriteString("cascade\n")
	}
	if info.SequenceType != "" {
		fmt.Fprintf(b, "sequence-type: %s\n", info.SequenceType)
	}
	if info.OwnedBy != "" {
		fmt.Fprintf(b, "owned-by: %s\n", info.OwnedBy)
	}
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func formatSession(b *strings.Builder, s *SessionStmt) {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if s.Name != "" {
		add("name=%q", s.Name)
	}
	if s.All {
		add("all")
	}
	if s.Local {
		add("local")
	}
	if len(s.Values) > 0 {
		add("values=%q", s.Values)
	}
	if s.Default {
		add("default")
	}
	if s.Txn.Isolation != "" {
		add("isolation=%q", s.Txn.Isolation)
	}
	switch s.Txn.Access {
	case ReadOnly:
		add("read-only")
	case ReadWrite:
		add("read-write")
	}
	if s.Txn.Deferrable != nil {
		add("deferrable=%t", *s.Txn.Deferrable)
	}
	if s.SessionDefault {
		add("session-default")
	}
	if s.Query != "" {
		add("query=%q", s.Query)
	}
	if len(s.ParamTypes) > 0 {
		add("param-types=%q", s.ParamTypes)
	}
	if len(s.Objects) > 0 {
		var names []string
		for _, o := range s.Objects {
			names = append(names, o.String())
		}
		add("objects=%v", names)
	}
	if s.IfExists {
		add("if-exists")
	}
	if s.Cascade {
		add("cascade")
	}
	if s.RestartIdentity {
		add("restart-identity")
	}
	fmt.Fprintf(b, "session: %s %s\n", s.Kind, strings.Join(parts, " "))
	if s.Txn.AsOf != nil {
		b.WriteString(formatText("  as-of", s.Txn.AsOf))
	}
	if s.Args != nil {
		b.WriteString(formatText("  args", s.Args))
	}
	if c := s.Copy; c != nil {
		dir := "to stdout"
		if c.From {
			dir = "from stdin"
		}
		fmt.Fprintf(b, "  copy: table=%s columns=%v query=%q %s options=%s\n",
			c.Table, c.Columns, c.Query, dir, formatMap(c.Options))
	}
}

// TestParamPositions checks that each ? of a rewritten text maps back to
// the $n it stands for in the original query.
func TestParamPositions(t *testing.T) {
	sql := `SELECT $1::int, 'é', $2 FROM t WHERE a = $1 ORDER BY $3 NULLS FIRST`
	stmts, err := Rewrite(sql)
	if err != nil {
		t.Fatal(err)
	}
	text := stmts[0].Main
	runes := []rune(sql)
	for i, off := range text.ParamOffsets {
		pos := text.Position(off)
		want := fmt.Sprintf("$%d", text.Params[i])
		if got := string(runes[pos-1 : pos-1+len(want)]); got != want {
			t.Errorf("? #%d maps to %q at position %d, want %s", i, got, pos, want)
		}
	}
}
