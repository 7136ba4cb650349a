package pgwire

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/pgwire/pgwiretest"
)

// testServer is a Server over a fakeBackend on 127.0.0.1.
type testServer struct {
	*Server
	backend *fakeBackend
	addr    string
}

// startServer starts a Server on 127.0.0.1:0; t.Cleanup closes it and
// checks that every session was closed exactly once.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	b := newFakeBackend()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := NewServer(cfg, b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		if n := b.open.Load(); n != 0 {
			t.Errorf("%d sessions not closed", n)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.misuse {
			t.Errorf("session misuse: %s", m)
		}
	})
	return &testServer{Server: s, backend: b, addr: ln.Addr().String()}
}

// testWriter sends log lines to t.Log (shown for failed tests and -v).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestDataDriven runs the protocol scripts in testdata/pgwire against a
// Server over the fake backend.
func TestDataDriven(t *testing.T) {
	pgwiretest.Walk(t, "../testdata/pgwire", func(t *testing.T) pgwiretest.Target {
		s := startServer(t, Config{})
		return pgwiretest.Target{
			Addr: s.addr,
			Commands: map[string]func(*testing.T, *datadriven.TestData) string{
				// wait-sleeping waits until a pg_sleep runs.
				"wait-sleeping": func(t *testing.T, d *datadriven.TestData) string {
					select {
					case <-s.backend.sleeping:
						return ""
					case <-time.After(10 * time.Second):
						return "timeout\n"
					}
				},
			},
		}
	})
}

// TestDataDrivenPostgres runs the same scripts against a real PostgreSQL
// 15, to establish what is correct, when OUTPOST_PGWIRE_PG names one
// (host:port; trust authentication, roles testuser and u, database
// testdb), e.g.
//
//	OUTPOST_PGWIRE_PG=127.0.0.1:5432 go test ./pgwire -run TestDataDrivenPostgres
//
// Commands flagged pg_only run only here, ours_only ones only above.
func TestDataDrivenPostgres(t *testing.T) {
	addr := os.Getenv("OUTPOST_PGWIRE_PG")
	if addr == "" {
		t.Skip("OUTPOST_PGWIRE_PG not set")
	}
	pgwiretest.Walk(t, "../testdata/pgwire", func(t *testing.T) pgwiretest.Target {
		return pgwiretest.Target{
			Addr:     addr,
			Postgres: true,
			Commands: map[string]func(*testing.T, *datadriven.TestData) string{
				"wait-sleeping": func(t *testing.T, d *datadriven.TestData) string {
					return waitPostgresSleeping(t, addr)
				},
			},
		}
	})
}

// waitPostgresSleeping waits until a pg_sleep runs on the server, as
// pg_stat_activity shows.
func waitPostgresSleeping(t *testing.T, addr string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://testuser@"+addr+"/testdb?sslmode=disable")
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	defer conn.Close(ctx)
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		if n > 0 {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}
