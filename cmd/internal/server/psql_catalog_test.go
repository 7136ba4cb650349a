package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var psqlTiming = regexp.MustCompile(`(?m)^Time: [0-9.]+ ms$`)

// TestPsqlCatalog runs psql's meta-commands (\l \d \d+ \di \ds \dn \du
// \df \x \c \timing) and tab-completion queries with the real psql binary
// over pg_catalog: psql must exit 0 (ON_ERROR_STOP), print no ERROR, and
// print what PostgreSQL 15 prints for the same schema (compared with
// testdata/psql/catalog.out; OUTPOST_REWRITE=1 rewrites it, review the
// diff against a real PostgreSQL).
func TestPsqlCatalog(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql not installed (.ci/run installs postgresql-client)")
	}
	srv := startNode(t)
	script, _ := filepath.Abs("../../../testdata/psql/catalog.sql")
	expectedPath, _ := filepath.Abs("../../../testdata/psql/catalog.out")
	host, port, _ := strings.Cut(srv.SQLAddr(), ":")
	cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "root", "-d", "defaultdb", "-v", "ON_ERROR_STOP=1", "-f", script)
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable", "PGTZ=UTC", "COLUMNS=200")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	got := psqlTiming.ReplaceAllString(string(out), "Time: N ms")
	got = strings.ReplaceAll(got, script, "catalog.sql")
	if strings.Contains(got, "ERROR") {
		t.Fatalf("psql printed an error:\n%s", got)
	}
	for _, want := range []string{
		`Table "public.books"`, `"books_pkey" PRIMARY KEY, btree (id)`, `"books_isbn" UNIQUE, btree (isbn)`,
		`"books_author_title" btree (author_id, title)`, `'untitled'::character varying`, `character varying(200)`,
		`nextval('authors_id_seq'::regclass)`, `"authors_email_key" UNIQUE CONSTRAINT, btree (email)`,
		`Sequence "public.order_seq"`, `Owned by: public.authors.id`, `Index "public.books_isbn"`,
		`You are now connected to database "otherdb"`, `Expanded display is on.`, `Timing is on.`,
		`"books_price_check" CHECK (price >= 0)`, `CURRENT_TIMESTAMP`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("psql output lacks %q", want)
		}
	}
	if os.Getenv("OUTPOST_REWRITE") != "" {
		_ = os.WriteFile(expectedPath, []byte(got), 0o644)
	}
	want, err := os.ReadFile(expectedPath)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("psql output differs (OUTPOST_REWRITE=1 to rewrite):\n--- got\n%s\n--- want\n%s", got, want)
	}
}
