package pgwire

import (
	"context"
	"crypto/md5"
	gosql "database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/lib/pq"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Tests with real drivers, over the fake backend.

func (s *testServer) url(user, database string) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", user, s.addr, database)
}

func pgxConnect(t testing.TB, ctx context.Context, s *testServer) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, s.url("alice", "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLibPQ(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	db, err := gosql.Open("postgres", s.url("alice", "db")+"&application_name=libpq-test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("simple", func(t *testing.T) {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("got %d, %v", n, err)
		}
		var app string
		if err := db.QueryRowContext(ctx, "SHOW application_name").Scan(&app); err != nil || app != "libpq-test" {
			t.Fatalf("application_name %q, %v", app, err)
		}
	})

	t.Run("prepared", func(t *testing.T) {
		var n int
		var txt string
		if err := db.QueryRowContext(ctx, "SELECT $1::int, $2::text", 42, "héllo").Scan(&n, &txt); err != nil {
			t.Fatal(err)
		}
		if n != 42 || txt != "héllo" {
			t.Fatalf("got %d %q", n, txt)
		}
		stmt, err := db.PrepareContext(ctx, "SELECT $1::int8 AS x")
		if err != nil {
			t.Fatal(err)
		}
		defer stmt.Close()
		for i := int64(0); i < 3; i++ {
			var x int64
			if err := stmt.QueryRowContext(ctx, i<<40).Scan(&x); err != nil || x != i<<40 {
				t.Fatalf("got %d, %v", x, err)
			}
		}
		var null gosql.NullString
		if err := db.QueryRowContext(ctx, "SELECT $1::text", nil).Scan(&null); err != nil || null.Valid {
			t.Fatalf("NULL: %v %v", null, err)
		}
	})

	t.Run("rows", func(t *testing.T) {
		rows, err := db.QueryContext(ctx, "SELECT generate_series(1, 100000)")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		sum := 0
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			sum += v
		}
		if err := rows.Err(); err != nil || sum != 100000*100001/2 {
			t.Fatalf("sum %d, %v", sum, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := db.ExecContext(ctx, "SELEC 1")
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "42601" || pqErr.Position != "1" {
			t.Fatalf("got %#v", err)
		}
		_, err = db.QueryContext(ctx, "SELECT $1::int", "nan")
		if !errors.As(err, &pqErr) || pqErr.Code != "22P02" {
			t.Fatalf("got %#v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT 2").Scan(&n); err != nil || n != 2 {
			t.Fatalf("after errors: %d, %v", n, err)
		}
	})

	t.Run("txn", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT 1/0"); err == nil {
			t.Fatal("no error")
		}
		if _, err := tx.ExecContext(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "aborted") {
			t.Fatalf("got %v", err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			<-s.backend.sleeping
			cancel()
		}()
		_, err := db.ExecContext(cctx, "SELECT pg_sleep(60)")
		var pqErr *pq.Error
		if !errors.Is(err, context.Canceled) && !(errors.As(err, &pqErr) && pqErr.Code == "57014") {
			t.Fatalf("got %v", err)
		}
		if cause := <-s.backend.sleepEnded; !errors.Is(cause, errCancelRequest) {
			t.Fatalf("sleep ended by %v", cause)
		}
		// lib/pq drops a canceled connection; the pool still works.
		var n int
		if err := db.QueryRowContext(ctx, "SELECT 3").Scan(&n); err != nil || n != 3 {
			t.Fatalf("after cancel: %d, %v", n, err)
		}
	})

	t.Run("unknown database", func(t *testing.T) {
		db2, err := gosql.Open("postgres", s.url("alice", "nosuchdb"))
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		err = db2.PingContext(ctx)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "3D000" || pqErr.Severity != "FATAL" {
			t.Fatalf("got %#v", err)
		}
	})
}

func TestPgx(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	conn := pgxConnect(t, ctx, s)

	if v := conn.PgConn().ParameterStatus("server_version"); !strings.HasPrefix(v, "15") {
		t.Fatalf("server_version %q", v)
	}

	t.Run("types and formats", func(t *testing.T) {
		// pgx asks for binary results of int4/int8/bool and sends
		// binary parameters for them.
		var n int32
		var big int64
		var txt string
		var b bool
		err := conn.QueryRow(ctx, "SELECT $1::int, $2::int8, $3::text, $4::bool", int32(-7), int64(1)<<50, "ünïcode", true).
			Scan(&n, &big, &txt, &b)
		if err != nil {
			t.Fatal(err)
		}
		if n != -7 || big != 1<<50 || txt != "ünïcode" || !b {
			t.Fatalf("got %d %d %q %v", n, big, txt, b)
		}
	})

	t.Run("exec modes", func(t *testing.T) {
		for _, mode := range []pgx.QueryExecMode{
			pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
			pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol,
		} {
			for i := 0; i < 3; i++ {
				var n int64
				if err := conn.QueryRow(ctx, "SELECT $1::int8", mode, int64(i)).Scan(&n); err != nil || n != int64(i) {
					t.Fatalf("mode %v: got %d, %v", mode, n, err)
				}
			}
		}
	})

	t.Run("rows", func(t *testing.T) {
		rows, err := conn.Query(ctx, "SELECT generate_series(1, 50000)")
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for rows.Next() {
			var v int32
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			sum += int64(v)
		}
		if err := rows.Err(); err != nil || sum != 50000*50001/2 {
			t.Fatalf("sum %d, %v", sum, err)
		}
		if tag := rows.CommandTag(); tag.String() != "SELECT 50000" {
			t.Fatalf("tag %q", tag)
		}
	})

	t.Run("batch", func(t *testing.T) {
		// Pipelined: pgx prepares all, then one Bind/Execute each and a
		// single Sync. The failing Execute skips the rest to the Sync.
		b := &pgx.Batch{}
		b.Queue("SELECT 1")
		b.Queue("SELECT 1/0")
		b.Queue("SELECT 3")
		br := conn.SendBatch(ctx, b)
		var n int
		if err := br.QueryRow().Scan(&n); err != nil || n != 1 {
			t.Fatalf("first: %d, %v", n, err)
		}
		_, err := br.Exec()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
			t.Fatalf("second: %v", err)
		}
		_ = br.Close()
		if err := conn.QueryRow(ctx, "SELECT 4").Scan(&n); err != nil || n != 4 {
			t.Fatalf("after batch: %d, %v", n, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := conn.Exec(ctx, "SELECT 1 FROM nosuchtable")
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || pgErr.Position != 15 || pgErr.Severity != "ERROR" {
			t.Fatalf("got %#v", err)
		}
		_, err = conn.Exec(ctx, "SELECT $1::int", "x")
		if !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
			t.Fatalf("got %#v", err)
		}
		if err := conn.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("txn", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st := conn.PgConn().TxStatus(); st != 'T' {
			t.Fatalf("status %c", st)
		}
		if _, err := tx.Exec(ctx, "SELECT 1/0"); err == nil {
			t.Fatal("no error")
		}
		if st := conn.PgConn().TxStatus(); st != 'E' {
			t.Fatalf("status %c", st)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("parameter status", func(t *testing.T) {
		if _, err := conn.Exec(ctx, "SET application_name = 'changed'"); err != nil {
			t.Fatal(err)
		}
		if v := conn.PgConn().ParameterStatus("application_name"); v != "changed" {
			t.Fatalf("application_name %q", v)
		}
	})
}

// TestPgxCancel cancels a running query through the context: pgx sends a
// CancelRequest, the statement fails with 57014, the connection stays.
func TestPgxCancel(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	cfg, err := pgx.ParseConfig(s.url("alice", "db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: 0, DeadlineDelay: 10 * time.Second}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	for i, query := range []string{"SELECT pg_sleep(60)", "SELECT $1::int, pg_sleep(60)"} {
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			<-s.backend.sleeping
			cancel()
		}()
		var args []any
		if i == 1 {
			args = []any{1}
		}
		_, err := conn.Exec(cctx, query, args...)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" || pgErr.Message != "canceling statement due to user request" {
			t.Fatalf("%s: got %#v", query, err)
		}
		if cause := <-s.backend.sleepEnded; !errors.Is(cause, errCancelRequest) {
			t.Fatalf("sleep ended by %v", cause)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT 5").Scan(&n); err != nil || n != 5 {
			t.Fatalf("after cancel: %d, %v", n, err)
		}
	}
}

// TestManyConnections runs 200 connections at once, each with its own
// queries.
func TestManyConnections(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make([]*pgx.Conn, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, s.url(fmt.Sprintf("user%d", i), "db"))
			if err != nil {
				errs <- err
				return
			}
			conns[i] = conn
			for j := range 5 {
				var got int64
				if err := conn.QueryRow(ctx, "SELECT $1::int8", int64(i*100+j)).Scan(&got); err != nil {
					errs <- err
					return
				}
				if got != int64(i*100+j) {
					errs <- fmt.Errorf("conn %d: got %d", i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.backend.open.Load(); got != n {
		t.Errorf("%d sessions open, want %d", got, n)
	}
	for _, c := range conns {
		if c != nil {
			_ = c.Close(ctx)
		}
	}
}

// TestConnectionLimit: past MaxConnections a client gets FATAL 53300; a
// slot freed by a closing connection is reused.
func TestConnectionLimit(t *testing.T) {
	s := startServer(t, Config{MaxConnections: 2})
	ctx := testCtx(t)
	c1 := pgxConnect(t, ctx, s)
	pgxConnect(t, ctx, s)
	_, err := pgx.Connect(ctx, s.url("alice", "db"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" || pgErr.Severity != "FATAL" ||
		pgErr.Message != "sorry, too many clients already" {
		t.Fatalf("got %#v", err)
	}
	// A CancelRequest is not a session: it is served even when full.
	if err := c1.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c1.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c3, err := pgx.Connect(ctx, s.url("alice", "db"))
		if err == nil {
			_ = c3.Close(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasswordAuth drives the Challenger with both drivers.
func TestPasswordAuth(t *testing.T) {
	s := startServer(t, Config{Authenticator: PasswordAuth{Check: func(_ context.Context, user, pw string) error {
		if user == "alice" && pw == "secret" {
			return nil
		}
		return errors.New("no")
	}}})
	ctx := testCtx(t)
	url := fmt.Sprintf("postgres://alice:secret@%s/db?sslmode=disable", s.addr)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	_, err = pgx.Connect(ctx, strings.Replace(url, "secret", "wrong", 1))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("got %#v", err)
	}

	db, err := gosql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
}

// Benchmarks: protocol overhead over the fake backend (which does almost
// nothing), as seen by pgx.

func BenchmarkPgxSelect1(b *testing.B) {
	s := startServer(b, Config{})
	ctx := context.Background()
	conn := pgxConnect(b, ctx, s)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		b.Run(mode.String(), func(b *testing.B) {
			var n int
			for b.Loop() {
				if err := conn.QueryRow(ctx, "SELECT 1", mode).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPgxRows(b *testing.B) {
	s := startServer(b, Config{})
	ctx := context.Background()
	conn := pgxConnect(b, ctx, s)
	const rows = 10000
	b.SetBytes(rows * 15) // about a DataRow of one int4 in binary
	for b.Loop() {
		r, err := conn.Query(ctx, "SELECT generate_series(1, 10000)")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		if r.Err() != nil || n != rows {
			b.Fatalf("%d rows, %v", n, r.Err())
		}
	}
}

// md5Auth checks PostgreSQL's md5 scheme, to drive Challenger.MD5Password.
type md5Auth struct{ password string }

func (a md5Auth) Authenticate(ctx context.Context, c Challenger, user, _ string, _ net.Addr) error {
	salt := [4]byte{0x01, 0x02, 0x03, 0xff}
	got, err := c.MD5Password(ctx, salt)
	if err != nil {
		return err
	}
	md5hex := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	if got != "md5"+md5hex(md5hex(a.password+user)+string(salt[:])) {
		return sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user %q", user)
	}
	return nil
}

func TestMD5Auth(t *testing.T) {
	s := startServer(t, Config{Authenticator: md5Auth{password: "pw"}})
	ctx := testCtx(t)
	url := fmt.Sprintf("postgres://alice:pw@%s/db?sslmode=disable", s.addr)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	db, err := gosql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = pgx.Connect(ctx, strings.Replace(url, ":pw@", ":nope@", 1))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" || pgErr.Severity != "FATAL" {
		t.Fatalf("got %#v", err)
	}
}
