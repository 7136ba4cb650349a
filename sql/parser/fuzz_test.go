package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// FuzzParse checks that Parse never panics, that every error carries a
// SQLSTATE (never an internal error: whatever pgdialect accepts, TiDB
// either parses or rejects with a positioned syntax error) and that the
// ASTs can be restored.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../../testdata/pgdialect/*/*.txt")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "\n\n") {
			lines := strings.Split(strings.TrimSpace(block), "\n")
			if len(lines) < 2 || strings.HasPrefix(lines[0], "#") {
				continue
			}
			var in []string
			for _, l := range lines[1:] {
				if l == "----" {
					break
				}
				in = append(in, l)
			}
			f.Add(strings.Join(in, "\n"))
		}
	}
	p := New()
	f.Fuzz(func(t *testing.T, sql string) {
		var stmts []Statement
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			stmts, err = p.Parse(sql)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Parse of %d bytes takes more than 10s", len(sql))
		}
		if err != nil {
			var e *sqlerr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error without SQLSTATE: %v", err)
			}
			if e.Code == sqlerr.InternalError {
				t.Fatalf("internal error: %v", err)
			}
			if e.Position < 0 || e.Position > utf8.RuneCountInString(sql)+1 {
				t.Fatalf("position %d outside the query: %v", e.Position, err)
			}
			return
		}
		for _, s := range stmts {
			if s.AST != nil {
				_, _ = Restore(s.AST)
			}
		}
	})
}
