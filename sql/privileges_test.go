package sql

import (
	"context"
	"testing"

	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

type nopWriter struct{}

func (nopWriter) RowDescription([]Column) error { return nil }
func (nopWriter) DataRow([][]byte) error        { return nil }
func (nopWriter) CommandComplete(string) error  { return nil }
func (nopWriter) EmptyQuery() error             { return nil }
func (nopWriter) Notice(*sqlerr.Error) error    { return nil }

// TestPrivilegeRules runs statements as a role holding exactly the listed
// privileges on table t (app owns nothing; s is readable by PUBLIC).
func TestPrivilegeRules(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	srv := NewServer(n.DB, Config{})
	if err := srv.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := srv.NewSession(ctx, SessionArgs{User: "root", Database: "defaultdb"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(s *Session, q string) error { return s.ExecSimple(ctx, q, nopWriter{}) }
	for _, q := range []string{
		`CREATE USER app`,
		`CREATE TABLE t (a INT PRIMARY KEY, b INT)`,
		`CREATE TABLE s (x INT)`,
		`GRANT SELECT ON s TO PUBLIC`,
		`INSERT INTO t VALUES (1, 1)`,
	} {
		if err := run(root, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	app, err := srv.NewSession(ctx, SessionArgs{User: "app", Database: "defaultdb"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		privs string // granted on t before the statement ("" = none)
		stmt  string
		ok    bool
	}{
		{"", `SELECT * FROM s`, true},
		{"", `SELECT 1`, true},
		{"", `WITH t AS (SELECT 1 AS a) SELECT * FROM t`, true}, // the CTE shadows t
		{"", `SELECT * FROM t`, false},
		{"", `EXPLAIN SELECT * FROM t`, false},
		{"", `SELECT * FROM s WHERE x IN (SELECT a FROM t)`, false},
		{"SELECT", `SELECT * FROM s JOIN t ON s.x = t.a`, true},
		{"INSERT", `INSERT INTO t VALUES (2, 2)`, true},
		{"INSERT", `INSERT INTO t VALUES (3, 3) RETURNING a`, false},
		{"INSERT", `INSERT INTO t VALUES (4, 4) ON CONFLICT DO NOTHING`, true},
		{"INSERT", `INSERT INTO t VALUES (1, 5) ON CONFLICT (a) DO NOTHING`, false},
		{"INSERT, UPDATE", `INSERT INTO t VALUES (1, 5) ON CONFLICT (a) DO UPDATE SET b = 6`, false},
		{"INSERT, UPDATE, SELECT", `INSERT INTO t VALUES (1, 5) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b`, true},
		{"INSERT", `INSERT INTO t SELECT x, x FROM s`, true},
		{"INSERT", `INSERT INTO t SELECT a + 100, b FROM t`, false},
		{"UPDATE", `UPDATE t SET b = 2`, true},
		{"UPDATE", `UPDATE t SET b = b + 1`, false},
		// Stricter than PostgreSQL, which looks inside the subquery and
		// lets this one pass: a SET subquery counts as reading the target.
		{"UPDATE", `UPDATE t SET b = (SELECT max(x) FROM s)`, false},
		{"UPDATE", `UPDATE t SET b = 2 WHERE a = 1`, false},
		{"UPDATE", `UPDATE t SET b = 2 RETURNING a`, false},
		{"UPDATE, SELECT", `UPDATE t SET b = b + 1 WHERE a = 1 RETURNING b`, true},
		{"DELETE", `DELETE FROM t WHERE a = 2`, false},
		{"DELETE, SELECT", `DELETE FROM t WHERE a = 2`, true},
		{"DELETE", `DELETE FROM t`, true},
		{"TRUNCATE", `TRUNCATE t`, true},
		{"SELECT", `TRUNCATE t`, false},
		{"ALL", `DROP TABLE t`, false},
		{"ALL", `CREATE INDEX t_b ON t (b)`, false},
		{"ALL", `ALTER TABLE t ADD COLUMN c INT`, false},
	} {
		if err := run(root, `REVOKE ALL ON t FROM app`); err != nil {
			t.Fatal(err)
		}
		if tc.privs != "" {
			if err := run(root, `GRANT `+tc.privs+` ON t TO app`); err != nil {
				t.Fatal(err)
			}
		}
		err := run(app, tc.stmt)
		switch {
		case tc.ok && err != nil:
			t.Errorf("[%s] %s: %v", tc.privs, tc.stmt, err)
		case !tc.ok && sqlerr.Code(err) != sqlerr.InsufficientPrivilege:
			t.Errorf("[%s] %s: got %v, want 42501", tc.privs, tc.stmt, err)
		}
	}
	// Ownership without role membership: app may act on its own objects
	// only, and give nothing away.
	for _, tc := range []struct {
		stmt string
		code string
	}{
		{`CREATE TABLE mine (a SERIAL)`, ""},
		{`ALTER TABLE mine OWNER TO root`, sqlerr.InsufficientPrivilege},
		{`ALTER TABLE t OWNER TO app`, sqlerr.InsufficientPrivilege},
		{`ALTER TABLE mine OWNER TO app`, ""},
		{`DROP OWNED BY root`, sqlerr.InsufficientPrivilege},
		{`REASSIGN OWNED BY app TO root`, sqlerr.InsufficientPrivilege},
		{`DROP OWNED BY app`, ""},
		{`SELECT * FROM mine`, sqlerr.UndefinedTable},
		{`SELECT nextval('mine_a_seq')`, sqlerr.UndefinedTable},
	} {
		if err := run(app, tc.stmt); sqlerr.Code(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%s: got %v, want %s", tc.stmt, err, tc.code)
		}
	}

	// Sequences: a SERIAL insert needs USAGE on the sequence.
	for _, tc := range []struct {
		root, stmt string
		code       string
	}{
		{`CREATE TABLE ser (id SERIAL, v INT)`, ``, ""},
		{`GRANT INSERT ON ser TO app`, `INSERT INTO ser (v) VALUES (1)`, sqlerr.InsufficientPrivilege},
		{`GRANT USAGE ON SEQUENCE ser_id_seq TO app`, `INSERT INTO ser (v) VALUES (1)`, ""},
		{``, `SELECT currval('ser_id_seq')`, ""},
		{``, `SELECT setval('ser_id_seq', 10)`, sqlerr.InsufficientPrivilege},
		{``, `SELECT * FROM ser`, sqlerr.InsufficientPrivilege},
		{`GRANT SELECT ON ALL TABLES IN SCHEMA public TO app`, `SELECT * FROM ser`, ""},
		{`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM app`, `SELECT nextval('ser_id_seq')`, sqlerr.InsufficientPrivilege},
		{`GRANT UPDATE ON ser_id_seq TO app`, `SELECT setval('ser_id_seq', 10)`, ""},
	} {
		if tc.root != "" {
			if err := run(root, tc.root); err != nil {
				t.Fatalf("%s: %v", tc.root, err)
			}
		}
		if tc.stmt == "" {
			continue
		}
		if err := run(app, tc.stmt); sqlerr.Code(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("after %q: %s: got %v, want %s", tc.root, tc.stmt, err, tc.code)
		}
	}

	// checkTablePrivilege (for COPY).
	if err := run(root, `REVOKE ALL ON t FROM app`); err != nil {
		t.Fatal(err)
	}
	if err := run(root, `GRANT INSERT ON t TO app`); err != nil {
		t.Fatal(err)
	}
	check := func(s *Session, table string, p catalog.Privilege) error {
		s.beginTxn(implicitTxn)
		defer s.rollbackTxn(ctx)
		return s.checkTablePrivilege(ctx, table, p)
	}
	if err := check(app, "t", catalog.PrivInsert); err != nil {
		t.Fatal(err)
	}
	if err := check(app, "t", catalog.PrivSelect); sqlerr.Code(err) != sqlerr.InsufficientPrivilege {
		t.Fatalf("COPY TO without SELECT: %v", err)
	}
	if err := check(root, "t", catalog.PrivSelect); err != nil {
		t.Fatalf("superuser: %v", err)
	}
}
