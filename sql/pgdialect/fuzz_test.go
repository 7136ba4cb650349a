package pgdialect

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

// seedInputs returns the inputs of the rewrite test files.
func seedInputs(t testing.TB) []string {
	paths, _ := filepath.Glob("../../testdata/pgdialect/*/*.txt")
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
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
			out = append(out, strings.Join(in, "\n"))
		}
	}
	return out
}

// FuzzRewrite checks that Rewrite never panics or hangs, that its errors
// carry a SQLSTATE and a position inside the query, and that a rewritten
// text can map any offset back.
func FuzzRewrite(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		var stmts []*Stmt
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			stmts, err = Rewrite(sql)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Rewrite of %d bytes takes more than 10s", len(sql))
		}
		if err != nil {
			var e *sqlerr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error without SQLSTATE: %v", err)
			}
			if e.Code == sqlerr.InternalError {
				t.Fatalf("internal error: %v", err)
			}
			if e.Position < 1 || e.Position > utf8.RuneCountInString(sql)+1 {
				t.Fatalf("position %d outside the query (%d characters): %v", e.Position, utf8.RuneCountInString(sql), err)
			}
			return
		}
		for _, s := range stmts {
			texts := []*Text{s.Main, s.Info.Returning, s.Info.AsOf}
			if s.Info.OnConflict != nil {
				texts = append(texts, s.Info.OnConflict.Update)
			}
			if s.Session != nil {
				texts = append(texts, s.Session.Args, s.Session.Txn.AsOf)
			} else if s.Main == nil {
				t.Fatal("no text and no session statement")
			}
			for _, text := range texts {
				if text == nil {
					continue
				}
				if len(text.Params) != len(text.ParamOffsets) {
					t.Fatalf("%d params, %d offsets", len(text.Params), len(text.ParamOffsets))
				}
				for _, off := range text.ParamOffsets {
					if text.SQL[off] != '?' {
						t.Fatalf("no ? at %d of %q", off, text.SQL)
					}
				}
				for off := 0; off <= len(text.SQL); off += 1 + off/8 {
					if e := text.SyntaxError(off); e.Position < 1 || e.Position > utf8.RuneCountInString(sql)+1 {
						t.Fatalf("position %d outside the query", e.Position)
					}
				}
			}
		}
	})
}
