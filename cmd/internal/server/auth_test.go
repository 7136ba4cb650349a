package server

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/roles"
)

// startSecureNode runs an in-memory node that trusts nobody (every client
// proves a password) and gives root the password "rootpw".
func startSecureNode(t *testing.T, sec SecurityConfig) *Server {
	t.Helper()
	sec.NoTrust = true
	srv, err := Start(context.Background(), Config{InMemory: true, SQLAddr: "127.0.0.1:0", Security: sec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	err = srv.DB().Txn(context.Background(), func(ctx context.Context, txn *kv.Txn) error {
		r, err := roles.Get(ctx, txn, "root")
		if err != nil {
			return err
		}
		r.Password = roles.SCRAMVerifier("rootpw", []byte("fixed-test-salt!"), roles.SCRAMIterations)
		return roles.Put(ctx, txn, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func userDSN(srv *Server, user, password, sslmode string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: srv.SQLAddr(), Path: "/defaultdb",
		RawQuery: "sslmode=" + sslmode}
	return u.String()
}

// pgErr returns the SQLSTATE and message of a server error.
func pgErr(err error) (string, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.Message
	}
	var qe *pq.Error
	if errors.As(err, &qe) {
		return string(qe.Code), qe.Message
	}
	return "", fmt.Sprint(err)
}

// connectors open a connection and run "SELECT current_user" with pgx and
// lib/pq, returning the user or the error.
var connectors = map[string]func(dsn string) (string, error){
	"pgx": func(dsn string) (string, error) {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return "", err
		}
		defer c.Close(ctx)
		var u string
		err = c.QueryRow(ctx, "SELECT current_user").Scan(&u)
		return u, err
	},
	"pq": func(dsn string) (string, error) {
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return "", err
		}
		defer db.Close()
		var u string
		err = db.QueryRow("SELECT current_user").Scan(&u)
		return u, err
	},
}

func TestAuthPasswords(t *testing.T) {
	srv := startSecureNode(t, SecurityConfig{})
	admin, err := pgx.Connect(context.Background(), userDSN(srv, "root", "rootpw", "disable"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	for _, q := range []string{
		`CREATE USER alice PASSWORD 'alice pw'`,
		`SET password_encryption = 'md5'`,
		`CREATE USER bob PASSWORD 'bobpw'`,
		`RESET password_encryption`,
		`CREATE ROLE carol PASSWORD 'carolpw'`, // CREATE ROLE: NOLOGIN by default
		`CREATE USER dave`,                     // no password
		`CREATE USER erin PASSWORD 'erinpw' VALID UNTIL '2001-01-01 00:00:00+00'`,
		`CREATE USER fay PASSWORD 'faypw' VALID UNTIL 'infinity'`,
	} {
		if _, err := admin.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Verifiers are stored, never the password.
	err = srv.DB().Txn(context.Background(), func(ctx context.Context, txn *kv.Txn) error {
		all, err := roles.List(ctx, txn)
		for _, r := range all {
			switch r.Name {
			case "alice":
				if !strings.HasPrefix(r.Password, "SCRAM-SHA-256$4096:") {
					t.Errorf("alice: %q", r.Password)
				}
			case "bob":
				if r.Password != roles.MD5Verifier("bob", "bobpw") {
					t.Errorf("bob: %q", r.Password)
				}
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, connect := range connectors {
		for _, tc := range []struct {
			user, password string
			code, msg      string
		}{
			{"alice", "alice pw", "", ""}, // SCRAM-SHA-256
			{"bob", "bobpw", "", ""},      // md5
			{"root", "rootpw", "", ""},    // bootstrap superuser
			{"alice", "wrong", "28P01", `password authentication failed for user "alice"`},
			{"bob", "wrong", "28P01", `password authentication failed for user "bob"`},
			{"nobody", "x", "28P01", `password authentication failed for user "nobody"`},
			{"dave", "x", "28P01", `password authentication failed for user "dave"`},
			{"carol", "carolpw", "28000", `role "carol" is not permitted to log in`},
			{"erin", "erinpw", "28P01", `password authentication failed for user "erin"`}, // expired
			{"fay", "faypw", "", ""},
		} {
			for _, sslmode := range []string{"disable", "require"} {
				u, err := connect(userDSN(srv, tc.user, tc.password, sslmode))
				code, msg := pgErr(err)
				if tc.code == "" {
					if err != nil || u != tc.user {
						t.Errorf("%s %s %s: got %q, %v", name, sslmode, tc.user, u, err)
					}
					continue
				}
				if code != tc.code || !strings.Contains(msg, tc.msg) {
					t.Errorf("%s %s %s/%s: got %s %q, want %s %q", name, sslmode, tc.user, tc.password, code, msg, tc.code, tc.msg)
				}
			}
		}
	}
}

func TestAuthTrustIsLocalOnlyAndChecksRoles(t *testing.T) {
	srv := startNode(t) // default: loopback trusted
	ctx := context.Background()
	admin := mustConnect(t, srv)
	if _, err := admin.Exec(ctx, `CREATE ROLE nl`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, code, msg string }{
		{"root", "", ""},
		{"outpost", "", ""},
		{"ghost", "28000", `role "ghost" does not exist`},
		{"nl", "28000", `role "nl" is not permitted to log in`},
	} {
		for name, connect := range connectors {
			u, err := connect(fmt.Sprintf("postgres://%s@%s/defaultdb?sslmode=disable", tc.user, srv.SQLAddr()))
			code, msg := pgErr(err)
			if tc.code == "" && (err != nil || u != tc.user) || tc.code != "" && (code != tc.code || !strings.Contains(msg, tc.msg)) {
				t.Errorf("%s %s: got %q %s %q", name, tc.user, u, code, msg)
			}
		}
	}
	// Only loopback addresses can be trusted.
	if err := (&SecurityConfig{TrustAddrs: mustPrefixes("10.0.0.0/8")}).validate(); err == nil {
		t.Fatal("non-loopback trust accepted")
	}
}

func TestAuthTLS(t *testing.T) {
	srv := startSecureNode(t, SecurityConfig{RequireTLS: true})
	for name, connect := range connectors {
		if u, err := connect(userDSN(srv, "root", "rootpw", "require")); err != nil || u != "root" {
			t.Fatalf("%s sslmode=require: %q %v", name, u, err)
		}
		_, err := connect(userDSN(srv, "root", "rootpw", "disable"))
		code, msg := pgErr(err)
		if code != "28000" || !strings.Contains(msg, `no pg_hba.conf entry for host "127.0.0.1", user "root", database "defaultdb", no encryption`) {
			t.Fatalf("%s plaintext: %s %q", name, code, msg)
		}
	}
	// The session really is encrypted.
	ctx := context.Background()
	c, err := pgx.Connect(ctx, userDSN(srv, "root", "rootpw", "require"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("connection is %T, not TLS", c.PgConn().Conn())
	}
}

func TestPrivileges(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	admin := mustConnect(t, srv)
	exec := func(c *pgx.Conn, q string) error {
		_, err := c.Exec(ctx, q)
		return err
	}
	for _, q := range []string{
		`CREATE USER app`,
		`CREATE TABLE acct (id INT PRIMARY KEY, bal INT)`,
		`INSERT INTO acct VALUES (1, 100), (2, 50)`,
		`CREATE TABLE other (x INT)`,
	} {
		if err := exec(admin, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	app, err := pgx.Connect(ctx, fmt.Sprintf("postgres://app@%s/defaultdb?sslmode=disable", srv.SQLAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	expect := func(q, code string) {
		t.Helper()
		err := exec(app, q)
		got, msg := pgErr(err)
		if got != code {
			t.Fatalf("%s: got %s %q, want %q", q, got, msg, code)
		}
		if code == "42501" && !strings.Contains(msg, "table") && !strings.Contains(msg, "permission denied") {
			t.Fatalf("%s: message %q", q, msg)
		}
	}
	denied := "42501"
	expect(`SELECT * FROM acct`, denied)
	expect(`SELECT 1 WHERE EXISTS (SELECT 1 FROM acct)`, denied)
	expect(`INSERT INTO acct VALUES (3, 1)`, denied)
	expect(`DROP TABLE acct`, denied)
	expect(`WITH a AS (SELECT 1 AS x) SELECT * FROM a`, "")

	// Grants apply at once to the open session, and revokes too.
	if err := exec(admin, `GRANT SELECT ON acct TO app`); err != nil {
		t.Fatal(err)
	}
	expect(`SELECT * FROM acct`, "")
	expect(`UPDATE acct SET bal = 0`, denied)
	if err := exec(admin, `GRANT UPDATE, DELETE ON TABLE acct TO app`); err != nil {
		t.Fatal(err)
	}
	expect(`UPDATE acct SET bal = bal + 1 WHERE id = 1`, "")
	if err := exec(admin, `REVOKE SELECT ON acct FROM app`); err != nil {
		t.Fatal(err)
	}
	expect(`SELECT * FROM acct`, denied)
	expect(`UPDATE acct SET bal = 7`, "")                  // UPDATE alone: no column read
	expect(`UPDATE acct SET bal = bal + 1`, denied)        // reads bal: SELECT needed
	expect(`UPDATE acct SET bal = 1 WHERE id = 1`, denied) // WHERE: SELECT needed
	expect(`DELETE FROM acct WHERE id = 2`, denied)
	expect(`INSERT INTO other SELECT id FROM acct`, denied)
	if err := exec(admin, `GRANT ALL PRIVILEGES ON acct, other TO PUBLIC`); err != nil {
		t.Fatal(err)
	}
	expect(`INSERT INTO other SELECT id FROM acct`, "")
	expect(`DELETE FROM acct WHERE id = 2`, "")
	expect(`TRUNCATE other`, "")
	expect(`DROP TABLE other`, denied) // owner only

	// A table app creates is app's: it owns it; root (superuser) may too.
	expect(`CREATE TABLE mine (a INT)`, "")
	expect(`INSERT INTO mine VALUES (1)`, "")
	if err := exec(admin, `SELECT * FROM mine`); err != nil {
		t.Fatal(err)
	}
	// Dropping a role that owns objects or holds privileges: 2BP01.
	code, msg := pgErr(exec(admin, `DROP ROLE app`))
	if code != "2BP01" || !strings.Contains(msg, `role "app" cannot be dropped because some objects depend on it`) {
		t.Fatalf("drop role: %s %q", code, msg)
	}
	// CONNECT on a database.
	for _, q := range []string{`CREATE DATABASE priv`, `REVOKE CONNECT ON DATABASE priv FROM PUBLIC`} {
		if err := exec(admin, q); err != nil {
			t.Fatal(err)
		}
	}
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://app@%s/priv?sslmode=disable", srv.SQLAddr()))
	if code, msg := pgErr(err); code != "42501" || msg != `permission denied for database "priv"` {
		t.Fatalf("connect: %s %q", code, msg)
	}
	if err := exec(admin, `GRANT CONNECT ON DATABASE priv TO app`); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://app@%s/priv?sslmode=disable", srv.SQLAddr()))
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	// Role DDL needs CREATEROLE.
	expect(`CREATE ROLE x`, denied)
	expect(`CREATE DATABASE nope`, denied)
	expect(`ALTER ROLE app PASSWORD 'mine'`, "") // one's own password
	expect(`ALTER ROLE app CREATEDB`, denied)
	var su string
	if err := app.QueryRow(ctx, `SHOW is_superuser`).Scan(&su); err != nil || su != "off" {
		t.Fatalf("is_superuser %q %v", su, err)
	}
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestConnectionLimit(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	admin := mustConnect(t, srv)
	if _, err := admin.Exec(ctx, `CREATE USER lim CONNECTION LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://lim@%s/defaultdb?sslmode=disable", srv.SQLAddr())
	first, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgx.Connect(ctx, url)
	if code, msg := pgErr(err); code != "53300" || msg != `too many connections for role "lim"` {
		t.Fatalf("second connection: %s %q", code, msg)
	}
	// A closed session frees its slot.
	first.Close(ctx)
	var c *pgx.Conn
	for i := 0; ; i++ {
		if c, err = pgx.Connect(ctx, url); err == nil || i == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	// Superusers are exempt.
	if _, err := admin.Exec(ctx, `ALTER ROLE root CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	mustConnect(t, srv)
}

// TestPsqlPasswordAndTLS logs in with the real psql binary: SCRAM over TLS
// (sslmode=require), and a wrong password.
func TestPsqlPasswordAndTLS(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql not installed (.ci/run installs postgresql-client)")
	}
	srv := startSecureNode(t, SecurityConfig{})
	host, port, _ := net.SplitHostPort(srv.SQLAddr())
	run := func(password, sslmode string) (string, error) {
		cmd := exec.Command(psql, "-X", "-A", "-t", "-w",
			fmt.Sprintf("host=%s port=%s user=root dbname=defaultdb sslmode=%s", host, port, sslmode),
			"-c", "SELECT current_user || ' ' || (SELECT count(*) FROM (SELECT 1) x)")
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run("rootpw", "require"); err != nil || out != "root 1" {
		t.Fatalf("sslmode=require: %q %v", out, err)
	}
	out, err := run("nope", "require")
	if err == nil || !strings.Contains(out, `FATAL:  password authentication failed for user "root"`) {
		t.Fatalf("wrong password: %q %v", out, err)
	}
}
