package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/lib/pq"
)

// startNode runs an in-memory node for a test.
func startNode(t testing.TB) *Server {
	t.Helper()
	srv, err := Start(context.Background(), Config{InMemory: true, SQLAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
	})
	return srv
}

// mustConnect opens a pgx connection to defaultdb, closed with the test.
func mustConnect(t testing.TB, srv *Server) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

func dsn(srv *Server, db string) string {
	return fmt.Sprintf("postgres://root@%s/%s?sslmode=disable", srv.SQLAddr(), db)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	var qe *pq.Error
	if errors.As(err, &qe) {
		return string(qe.Code)
	}
	return ""
}

func TestLibPQ(t *testing.T) {
	srv := startNode(t)
	db, err := sql.Open("postgres", dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, score NUMERIC(10,2), joined TIMESTAMPTZ DEFAULT now())`)
	// Extended protocol with parameters (lib/pq prepares statements with args).
	for i, name := range []string{"ann", "bob", "cy"} {
		mustExec(`INSERT INTO users (name, score) VALUES ($1, $2)`, name, fmt.Sprintf("%d.5", i))
	}
	var name string
	var score string
	if err := db.QueryRow(`SELECT name, score FROM users WHERE id = $1`, 2).Scan(&name, &score); err != nil {
		t.Fatal(err)
	}
	if name != "bob" || score != "1.50" {
		t.Fatalf("got %q %q", name, score)
	}
	// RETURNING through database/sql.
	var id int
	if err := db.QueryRow(`INSERT INTO users (name) VALUES ($1) RETURNING id`, "dee").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 4 {
		t.Fatalf("id %d", id)
	}
	// NULLs.
	var s sql.NullString
	if err := db.QueryRow(`SELECT score::text FROM users WHERE name = 'dee'`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s.Valid {
		t.Fatalf("want NULL, got %q", s.String)
	}
	// Errors with SQLSTATE, and the connection stays usable.
	_, err = db.Exec(`INSERT INTO users (id, name) VALUES (1, 'dup')`)
	if pgCode(err) != "23505" {
		t.Fatalf("want 23505, got %v", err)
	}
	_, err = db.Exec(`SELEC 1`)
	if pgCode(err) != "42601" {
		t.Fatalf("want 42601, got %v", err)
	}
	// Transactions.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE users SET name = 'zed' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT name FROM users WHERE id = 1`).Scan(&name); err != nil || name != "ann" {
		t.Fatalf("rollback lost: %q %v", name, err)
	}
	// Unknown database: 3D000 at connect.
	bad, _ := sql.Open("postgres", dsn(srv, "nosuchdb"))
	defer bad.Close()
	if err := bad.Ping(); pgCode(err) != "3D000" {
		t.Fatalf("want 3D000, got %v", err)
	}
}

func TestPgxTypesBinaryAndText(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	conn := mustConnect(t, srv)
	_, err := conn.Exec(ctx, `CREATE TABLE ty (id INT8 PRIMARY KEY, b BOOL, i2 INT2, i4 INT4, f4 FLOAT4, f8 FLOAT8,
		n NUMERIC, t TEXT, v VARCHAR(10), by BYTEA, d DATE, ts TIMESTAMP, tz TIMESTAMPTZ, iv INTERVAL, u UUID, j JSONB)`)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 1, 31, 12, 34, 56, 789000000, time.UTC)
	u := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	args := []any{int64(1), true, int16(-2), int32(3), float32(1.5), 2.25,
		pgtype.Numeric{Int: big.NewInt(12345), Exp: -2, Valid: true}, "text", "varchar", []byte{1, 2, 255},
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ts, ts,
		pgtype.Interval{Months: 14, Days: 3, Microseconds: 3723000000, Valid: true}, u, map[string]any{"k": []any{1.0, "x"}}}
	// Extended protocol: pgx sends binary parameters where it can.
	_, err = conn.Exec(ctx, `INSERT INTO ty VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)`, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		var (
			b   bool
			i2  int16
			i4  int32
			f4  float32
			f8  float64
			n   pgtype.Numeric
			txt string
			v   string
			by  []byte
			d   time.Time
			tsv time.Time
			tzv time.Time
			iv  pgtype.Interval
			uv  [16]byte
			j   map[string]any
		)
		err := conn.QueryRow(ctx, `SELECT b, i2, i4, f4, f8, n, t, v, by, d, ts, tz, iv, u, j FROM ty WHERE id = $1`, mode, int64(1)).
			Scan(&b, &i2, &i4, &f4, &f8, &n, &txt, &v, &by, &d, &tsv, &tzv, &iv, &uv, &j)
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		nf, _ := n.Float64Value()
		if !b || i2 != -2 || i4 != 3 || f4 != 1.5 || f8 != 2.25 || nf.Float64 != 123.45 || txt != "text" || v != "varchar" ||
			string(by) != "\x01\x02\xff" || !d.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) || !tsv.Equal(ts) || !tzv.Equal(ts) ||
			iv.Months != 14 || iv.Days != 3 || iv.Microseconds != 3723000000 || uv != u || fmt.Sprint(j["k"]) != "[1 x]" {
			t.Fatalf("mode %v: round trip mismatch: %v %v %v %v %v %v %v %v %x %v %v %v %+v %x %v", mode, b, i2, i4, f4, f8, nf, txt, v, by, d, tsv, tzv, iv, uv, j)
		}
	}
	// NULL in every column.
	if _, err := conn.Exec(ctx, `INSERT INTO ty (id) VALUES (2)`); err != nil {
		t.Fatal(err)
	}
	var nb *bool
	var nt *string
	if err := conn.QueryRow(ctx, `SELECT b, t FROM ty WHERE id = 2`).Scan(&nb, &nt); err != nil || nb != nil || nt != nil {
		t.Fatalf("NULLs: %v %v %v", nb, nt, err)
	}
}

func TestPgxErrorsTransactionsAndPortals(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	conn := mustConnect(t, srv)
	if _, err := conn.Exec(ctx, `CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	for i := 0; i < 100; i++ {
		batch.Queue(`INSERT INTO kv VALUES ($1, $2)`, i, fmt.Sprint("v", i))
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	// Streaming many rows.
	rows, err := conn.Query(ctx, `SELECT k, v FROM kv ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 100 {
		t.Fatalf("rows %d err %v", n, rows.Err())
	}
	// A failed transaction refuses statements until ROLLBACK (25P02).
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO kv VALUES (1, 'dup')`); pgCode(err) != "23505" {
		t.Fatalf("want 23505, got %v", err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); pgCode(err) != "25P02" {
		t.Fatalf("want 25P02, got %v", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Unknown table, column; division by zero; bad input.
	for q, code := range map[string]string{
		`SELECT * FROM nope`:              "42P01",
		`SELECT nope FROM kv`:             "42703",
		`SELECT 1/0`:                      "22012",
		`SELECT 'x'::int`:                 "22P02",
		`CREATE TABLE kv (a INT)`:         "42P07",
		`INSERT INTO kv VALUES (1, 2, 3)`: "42601",
	} {
		if _, err := conn.Exec(ctx, q); pgCode(err) != code {
			t.Errorf("%s: want %s, got %v", q, code, err)
		}
	}
	var one int
	if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("connection unusable after errors: %v", err)
	}
}

func TestPgxCancel(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	conn := mustConnect(t, srv)
	if _, err := conn.Exec(ctx, `CREATE TABLE big (k INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO big SELECT a.k * 1000 + b.k FROM (SELECT 1 AS k) a, (SELECT 1 AS k) b`); err != nil {
		t.Fatal(err)
	}
	// A cross join large enough to run for a while.
	batch := &pgx.Batch{}
	for i := 2; i <= 300; i++ {
		batch.Queue(`INSERT INTO big VALUES ($1)`, i)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := conn.Exec(qctx, `SELECT count(*) FROM big a, big b, big c WHERE a.k + b.k + c.k = -1`)
	if err == nil {
		t.Fatal("expected cancellation")
	}
	// pgx closes the connection on context cancellation; a new one works.
	conn2 := mustConnect(t, srv)
	var n int
	if err := conn2.QueryRow(ctx, `SELECT count(*) FROM big`).Scan(&n); err != nil || n != 300 {
		t.Fatalf("after cancel: %d %v", n, err)
	}
}

func TestManyConnections(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	setup, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Exec(ctx, `CREATE TABLE hits (conn INT PRIMARY KEY, n INT)`); err != nil {
		t.Fatal(err)
	}
	setup.Close(ctx)
	const conns = 200
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, `INSERT INTO hits VALUES ($1, 0)`, i); err != nil {
				errs <- err
				return
			}
			for j := 0; j < 3; j++ {
				if _, err := c.Exec(ctx, `UPDATE hits SET n = n + 1 WHERE conn = $1`, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := mustConnect(t, srv)
	var total int
	if err := c.QueryRow(ctx, `SELECT sum(n) FROM hits`).Scan(&total); err != nil || total != conns*3 {
		t.Fatalf("sum %d err %v", total, err)
	}
}

// TestPsqlScript runs the real psql binary over a script and compares its
// output with an expected file.
func TestPsqlScript(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatal("psql not installed (.ci/run installs postgresql-client)")
	}
	srv := startNode(t)
	script, _ := filepath.Abs("../../../testdata/psql/script.sql")
	expectedPath, _ := filepath.Abs("../../../testdata/psql/script.out")
	host, port, _ := strings.Cut(srv.SQLAddr(), ":")
	cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "root", "-d", "defaultdb", "-v", "ON_ERROR_STOP=0", "-f", script)
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable", "PGTZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), script, "script.sql")
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

// TestAutocommitRetry: statements outside explicit transactions that
// conflict are retried by the server, so clients hammering one row with
// read-modify-write UPDATEs never see 40001 and no increment is lost.
func TestAutocommitRetry(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, `CREATE TABLE counter (id INT PRIMARY KEY, n INT); INSERT INTO counter VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	const clients, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
			if err != nil {
				errs <- err
				return
			}
			defer cc.Close(ctx)
			for j := 0; j < each; j++ {
				if _, err := cc.Exec(ctx, `UPDATE counter SET n = n + 1 WHERE id = 1`); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("client saw %v (SQLSTATE %s)", err, pgCode(err))
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil || n != clients*each {
		t.Fatalf("n = %d, want %d (%v)", n, clients*each, err)
	}
}

// TestExplicitTransactionConflictIs40001: a conflict inside BEGIN...COMMIT
// reaches the client as 40001 (the client retries), never as a lost update.
func TestExplicitTransactionConflictIs40001(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	a := mustConnect(t, srv)
	b := mustConnect(t, srv)
	if _, err := a.Exec(ctx, `CREATE TABLE x (id INT PRIMARY KEY, v INT); INSERT INTO x VALUES (1, 10)`); err != nil {
		t.Fatal(err)
	}
	txA, _ := a.Begin(ctx)
	txB, _ := b.Begin(ctx)
	var va, vb int
	if err := txA.QueryRow(ctx, `SELECT v FROM x WHERE id = 1`).Scan(&va); err != nil {
		t.Fatal(err)
	}
	if err := txB.QueryRow(ctx, `SELECT v FROM x WHERE id = 1`).Scan(&vb); err != nil {
		t.Fatal(err)
	}
	if _, err := txA.Exec(ctx, `UPDATE x SET v = $1 WHERE id = 1`, va+1); err != nil {
		t.Fatal(err)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := txB.Exec(ctx, `UPDATE x SET v = $1 WHERE id = 1`, vb+1)
	if err == nil {
		err = txB.Commit(ctx)
	} else {
		_ = txB.Rollback(ctx)
	}
	if pgCode(err) != "40001" {
		t.Fatalf("want 40001, got %v", err)
	}
	var v int
	if err := a.QueryRow(ctx, `SELECT v FROM x WHERE id = 1`).Scan(&v); err != nil || v != 11 {
		t.Fatalf("v = %d (%v)", v, err)
	}
}

// TestMemoryBudget: a sort past the statement memory budget fails with
// 53200 instead of exhausting the process, and the session goes on.
func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx, Config{InMemory: true, SQLAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop(ctx) }()
	srv.sql.SetStatementMemoryForTesting(64 << 10)
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, `CREATE TABLE m (k INT PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	for i := 0; i < 2000; i++ {
		batch.Queue(`INSERT INTO m VALUES ($1, repeat('x', 100))`, i)
	}
	if err := c.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, `SELECT v FROM m ORDER BY v DESC, k`)
	if pgCode(err) != "53200" {
		t.Fatalf("want 53200, got %v", err)
	}
	// Streaming without a sort is not limited by the budget.
	rows, err := c.Query(ctx, `SELECT k, v FROM m`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 2000 {
		t.Fatalf("streamed %d rows: %v", n, rows.Err())
	}
}

// TestStatementTimeout: statement_timeout cancels a long statement with
// 57014 and the session keeps working.
func TestStatementTimeout(t *testing.T) {
	srv := startNode(t)
	ctx := context.Background()
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, `CREATE TABLE st (k INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	for i := 1; i <= 300; i++ {
		batch.Queue(`INSERT INTO st VALUES ($1)`, i)
	}
	if err := c.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `SET statement_timeout = 200`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Exec(ctx, `SELECT count(*) FROM st a, st b, st c WHERE a.k + b.k + c.k = -1`)
	if pgCode(err) != "57014" {
		t.Fatalf("want 57014, got %v", err)
	}
	t.Logf("cancelled after %s", time.Since(start))
	if _, err := c.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM st`).Scan(&n); err != nil || n != 300 {
		t.Fatalf("after timeout: %d %v", n, err)
	}
}
