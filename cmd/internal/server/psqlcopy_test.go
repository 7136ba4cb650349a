package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPsqlCopy runs testdata/psql/copy.sql with the real psql: \copy to
// and from client-side files, COPY FROM STDIN inlined in the script, COPY
// TO STDOUT, and failures (psql's output, including ERROR and CONTEXT
// lines, must be PostgreSQL 15's, which copy.out holds). The files psql
// writes are checked too.
func TestPsqlCopy(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql not installed (.ci/run installs postgresql-client)")
	}
	srv := startNode(t)
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("people.csv", "id,name\n1,ann\n2,\"bob \"\"b\"\"\"\n3,\"multi\nline\"\n")
	write("bad.txt", "5\tok\tx\n6\tbad\tx\textra\n")
	script, _ := filepath.Abs("../../../testdata/psql/copy.sql")
	expectedPath, _ := filepath.Abs("../../../testdata/psql/copy.out")
	host, port, _ := strings.Cut(srv.SQLAddr(), ":")
	cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "root", "-d", "defaultdb", "-v", "ON_ERROR_STOP=0", "-f", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable", "PGTZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), script, "copy.sql")
	want, err := os.ReadFile(expectedPath)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("psql output differs from PostgreSQL's:\n--- got\n%s\n--- want\n%s", got, want)
	}
	for name, want := range map[string]string{
		"out.txt": "1\tann\tn/a\n2\tbob \"b\"\tn/a\n3\tmulti\\nline\tn/a\n",
		"out.csv": "id,name\n3,\"multi\nline\"\n2,\"bob \"\"b\"\"\"\n1,ann\n",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q (%v), want %q", name, b, err, want)
		}
	}
}
