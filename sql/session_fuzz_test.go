package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// discard is a ResultWriter that drops everything.
type discard struct{}

func (discard) RowDescription([]sql.Column) error { return nil }
func (discard) DataRow([][]byte) error            { return nil }
func (discard) CommandComplete(string) error      { return nil }
func (discard) EmptyQuery() error                 { return nil }
func (discard) Notice(*sqlerr.Error) error        { return nil }

var fuzzSchema = []string{
	`CREATE TABLE t (a INT PRIMARY KEY, b TEXT, c NUMERIC(6,2), d TIMESTAMPTZ DEFAULT now(), e BOOL)`,
	`CREATE INDEX t_b ON t (b)`,
	`CREATE TABLE u (x INT, y TEXT UNIQUE)`,
	`INSERT INTO t VALUES (1, 'one', 1.5, '2024-01-01', true), (2, 'two', NULL, NULL, false), (3, NULL, 3.25, now(), NULL)`,
	`INSERT INTO u VALUES (1, 'a'), (2, 'b'), (NULL, NULL)`,
}

// FuzzSession runs arbitrary SQL through a session over a real (in-memory)
// kv: every input must end in a result or a clean SQLSTATE error, never a
// panic or a hang, and the session must stay usable afterwards.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"SELECT a, b FROM t WHERE a > 1 ORDER BY b DESC NULLS LAST LIMIT 2",
		"SELECT count(*), sum(c), string_agg(b, ',') FROM t GROUP BY e HAVING count(*) > 0",
		"SELECT * FROM t JOIN u ON t.a = u.x FULL JOIN u AS v ON v.y = t.b",
		"WITH w AS (SELECT a FROM t) SELECT * FROM w WHERE a IN (SELECT x FROM u)",
		"INSERT INTO t VALUES (9, 'nine', 9, now(), true) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING *",
		"UPDATE t SET c = c * 2 WHERE b LIKE 'o%' RETURNING a, c",
		"BEGIN; DELETE FROM u WHERE x = 1; SAVEPOINT s; INSERT INTO u VALUES (5, 'a'); ROLLBACK TO s; COMMIT",
		"SELECT $1::int", "SELECT (SELECT a FROM t)", "EXPLAIN SELECT * FROM t WHERE b = 'x'",
		"ALTER TABLE u ADD COLUMN z INT DEFAULT 4", "SELECT 1/0", "SELECT 'x'::jsonb->>'y'",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	srv := startFuzzServer(f, fuzzSchema)
	f.Fuzz(func(t *testing.T, query string) {
		s, err := srv.NewSession(ctx, sql.SessionArgs{User: "root", Database: "defaultdb"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.ExecSimple(qctx, query, discard{}); err != nil {
			if e := sqlerr.Convert(err); e.Code == "" {
				t.Fatalf("error without SQLSTATE: %v", err)
			}
		}
		// Extended protocol too.
		if _, err := s.Prepare(qctx, "", query, nil); err == nil {
			_ = s.Bind(qctx, "", "", nil, nil, nil)
			_, _ = s.Execute(qctx, "", 0, discard{})
		}
		_ = s.Sync(qctx)
		if s.TxnStatus() == sql.TxnInProg || s.TxnStatus() == sql.TxnFailed {
			_ = s.ExecSimple(qctx, "ROLLBACK", discard{})
		}
		if err := s.ExecSimple(qctx, "SELECT 1", discard{}); err != nil {
			t.Fatalf("session unusable after %q: %v", query, err)
		}
	})
}

// startFuzzServer starts a SQL server over a real (in-memory) kv with
// schema run as root in defaultdb.
func startFuzzServer(f *testing.F, schema []string) *sql.Server {
	ctx := context.Background()
	n := kvtest.Start(f, kvtest.Options{})
	srv := sql.NewServer(n.DB, sql.Config{StatementMemoryBytes: 8 << 20})
	if err := srv.Bootstrap(ctx); err != nil {
		f.Fatal(err)
	}
	setup, err := srv.NewSession(ctx, sql.SessionArgs{User: "root", Database: "defaultdb"})
	if err != nil {
		f.Fatal(err)
	}
	defer setup.Close()
	for _, q := range schema {
		if err := setup.ExecSimple(ctx, q, discard{}); err != nil {
			f.Fatalf("%s: %v", q, err)
		}
	}
	return srv
}
