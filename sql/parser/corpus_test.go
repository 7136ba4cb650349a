package parser

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusStatements extracts the SQL of the "statement ok" and "query"
// records of sqllogictest-format files.
func corpusStatements(t *testing.T, pattern string, withErrors bool) (files int, stmts []string) {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		files++
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur []string
		in := false
		flush := func() {
			if len(cur) > 0 {
				stmts = append(stmts, strings.Join(cur, "\n"))
			}
			cur, in = nil, false
		}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case in && (line == "" || line == "----"):
				flush()
			case in:
				cur = append(cur, line)
			case strings.HasPrefix(line, "statement ok"), strings.HasPrefix(line, "query "),
				withErrors && strings.HasPrefix(line, "statement error"):
				in = true
			}
		}
		flush()
		f.Close()
	}
	return files, stmts
}

// TestSQLLogicCorpus parses every statement of the sqllogictest subset:
// all are valid PostgreSQL.
func TestSQLLogicCorpus(t *testing.T) {
	files, stmts := corpusStatements(t, "/work/shared/sqllogictest/*.test", false)
	if files == 0 {
		t.Skip("no corpus")
	}
	p := New()
	for _, s := range stmts {
		if _, err := p.Parse(s); err != nil {
			t.Errorf("%s\n  %v", s, err)
		}
	}
	t.Logf("%d files, %d statements", files, len(stmts))
}

// TestLogicTestCorpus parses the statements of Outpost's own logic tests
// that are expected to succeed.
func TestLogicTestCorpus(t *testing.T) {
	files, stmts := corpusStatements(t, "../../testdata/logic/*.test", false)
	if files == 0 {
		t.Skip("no logic tests")
	}
	p := New()
	for _, s := range stmts {
		if _, err := p.Parse(s); err != nil {
			t.Errorf("%s\n  %v", s, err)
		}
	}
	t.Logf("%d files, %d statements", files, len(stmts))
}
