package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// rawClient speaks the protocol by hand, for what drivers do not do.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	fe *pgproto3.Frontend
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(pgproto3.NewChunkReader(nc), nc)}
}

// startup logs in and reads up to ReadyForQuery.
func (c *rawClient) startup() {
	c.t.Helper()
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "raw"}})
	c.until("*pgproto3.ReadyForQuery")
}

func (c *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			c.t.Fatal(err)
		}
	}
	c.write(buf)
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// until reads messages up to one of type typ (as %T prints it) and
// returns the ErrorResponses met on the way (copied).
func (c *rawClient) until(typ string) []pgproto3.ErrorResponse {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var errs []pgproto3.ErrorResponse
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			errs = append(errs, *e)
		}
		if typeOf(msg) == typ {
			return errs
		}
	}
}

// untilEOF reads to the end of the connection and returns the last
// ErrorResponse read, if any.
func (c *rawClient) untilEOF() *pgproto3.ErrorResponse {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var last *pgproto3.ErrorResponse
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection not closed: %v", err)
			}
			return last
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			cp := *e
			last = &cp
		}
	}
}

func typeOf(v any) string { return fmt.Sprintf("%T", v) }

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDisconnectCancels: a client that goes away mid-statement cancels
// the statement, in the simple and (pipelined) extended protocols.
func TestDisconnectCancels(t *testing.T) {
	s := startServer(t, Config{})
	for _, extended := range []bool{false, true} {
		c := dialRaw(t, s.addr)
		c.startup()
		if extended {
			c.send(&pgproto3.Parse{Query: "SELECT pg_sleep(60)"}, &pgproto3.Bind{},
				&pgproto3.Execute{}, &pgproto3.Sync{})
		} else {
			c.send(&pgproto3.Query{String: "SELECT pg_sleep(60)"})
		}
		<-s.backend.sleeping
		_ = c.nc.Close()
		select {
		case cause := <-s.backend.sleepEnded:
			if !errors.Is(cause, errClientGone) {
				t.Fatalf("sleep ended by %v", cause)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("statement not canceled")
		}
		waitFor(t, "session close", func() bool { return s.backend.open.Load() == 0 })
	}
}

// TestDrain: idle connections end at once with 57P01, a running statement
// finishes first, an extended batch runs to its Sync, new connections are
// refused, and Drain returns when all are gone.
func TestDrain(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	idle := pgxConnect(t, ctx, s)
	busy := pgxConnect(t, ctx, s)
	batch := dialRaw(t, s.addr)
	batch.startup()
	batch.send(&pgproto3.Parse{Query: "SELECT 1"}, &pgproto3.Bind{}, &pgproto3.Flush{})
	batch.until("*pgproto3.BindComplete")

	busyErr := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "SELECT pg_sleep(0.3)")
		busyErr <- err
	}()
	<-s.backend.sleeping

	drained := make(chan error, 1)
	go func() { drained <- s.Drain(ctx) }()

	// The idle connection ends at once (its session closes; the other
	// two stay).
	waitFor(t, "idle session to end", func() bool { return s.backend.open.Load() == 2 })
	_, err := idle.Exec(ctx, "SELECT 1")
	var pgErr *pgconn.PgError
	if err == nil || (errors.As(err, &pgErr) && pgErr.Code != "57P01") {
		t.Fatalf("idle connection: %v", err)
	}
	// The running statement completes.
	if err := <-busyErr; err != nil {
		t.Fatalf("running statement: %v", err)
	}
	// The batch completes at its Sync, then the connection ends.
	batch.send(&pgproto3.Execute{}, &pgproto3.Sync{})
	if errs := batch.until("*pgproto3.ReadyForQuery"); len(errs) != 0 {
		t.Fatalf("batch: %v", errs)
	}
	if e := batch.untilEOF(); e == nil || e.Code != "57P01" || e.Severity != "FATAL" ||
		e.Message != "terminating connection due to administrator command" {
		t.Fatalf("batch end: %+v", e)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Fatal("new connection accepted after Drain")
	}
}

// TestShutdownCancels: when Shutdown's context ends, running statements
// are canceled and their clients get FATAL 57P01.
func TestShutdownCancels(t *testing.T) {
	s := startServer(t, Config{})
	c := dialRaw(t, s.addr)
	c.startup()
	c.send(&pgproto3.Query{String: "SELECT pg_sleep(60)"})
	<-s.backend.sleeping
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if cause := <-s.backend.sleepEnded; !errors.Is(cause, errShutdown) {
		t.Fatalf("sleep ended by %v", cause)
	}
	if e := c.untilEOF(); e == nil || e.Code != "57P01" {
		t.Fatalf("got %+v", e)
	}
	if n := s.backend.open.Load(); n != 0 {
		t.Fatalf("%d sessions open after Shutdown", n)
	}
}

// TestSlowClient: a client that does not read its results blocks only
// its own session, and Close still finishes.
func TestSlowClient(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	slow := dialRaw(t, s.addr)
	slow.startup()
	slow.send(&pgproto3.Query{String: "SELECT generate_series(1, 10000000)"})
	time.Sleep(100 * time.Millisecond) // let the socket buffers fill
	conn := pgxConnect(t, ctx, s)
	for i := range 20 {
		var n int
		if err := conn.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("%d, %v", n, err)
		}
	}
	start := time.Now()
	_ = s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
}

// TestIdleTimeout: an idle session ends with 57P05, or 25P03 inside a
// transaction.
func TestIdleTimeout(t *testing.T) {
	s := startServer(t, Config{IdleTimeout: 50 * time.Millisecond})
	c := dialRaw(t, s.addr)
	c.startup()
	if e := c.untilEOF(); e == nil || e.Code != "57P05" || e.Severity != "FATAL" {
		t.Fatalf("got %+v", e)
	}
	c = dialRaw(t, s.addr)
	c.startup()
	c.send(&pgproto3.Query{String: "BEGIN"})
	if e := c.untilEOF(); e == nil || e.Code != "25P03" {
		t.Fatalf("got %+v", e)
	}
	// A busy session is not idle.
	c = dialRaw(t, s.addr)
	c.startup()
	c.send(&pgproto3.Query{String: "SELECT pg_sleep(0.2)"})
	if errs := c.until("*pgproto3.ReadyForQuery"); len(errs) != 0 {
		t.Fatalf("got %+v", errs)
	}
}

// TestAuthTimeout: a client that stalls during startup is dropped.
func TestAuthTimeout(t *testing.T) {
	s := startServer(t, Config{AuthTimeout: 50 * time.Millisecond})
	c := dialRaw(t, s.addr)
	c.write([]byte{0, 0, 0, 8}) // half a startup packet
	c.untilEOF()
	waitFor(t, "connection gone", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.mu.conns) == 0
	})
}

// TestBadInput sends hostile bytes on fresh connections; each ends (or
// stays usable, for errors that are not fatal) and a bystander
// connection keeps working.
func TestBadInput(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	bystander := pgxConnect(t, ctx, s)
	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := make([]byte, 4096)
	for i := range randomBytes {
		randomBytes[i] = byte(rng.Uint32())
	}
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	startupCases := map[string][]byte{
		"http":              []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"),
		"random":            randomBytes,
		"zero length":       u32(0),
		"length 4":          cat(u32(4), u32(196608)),
		"huge length":       u32(0xffffffff),
		"truncated":         cat(u32(100), u32(196608), []byte("user\x00")),
		"no terminator":     cat(u32(17), u32(196608), []byte("user\x00u\x00x")),
		"odd pairs":         cat(u32(16), u32(196608), []byte("user\x00u\x00x\x00")),
		"cancel short":      cat(u32(12), u32(80877102), u32(1)),
		"bad version":       cat(u32(8), u32(0x12345678)),
		"ssl then garbage":  cat(u32(8), u32(80877103), randomBytes[:64]),
		"gss then gss":      cat(u32(8), u32(80877104), u32(8), u32(80877104)),
		"user empty":        cat(u32(15), u32(196608), []byte("user\x00\x00\x00")),
		"startup too large": cat(u32(10001), u32(196608)),
	}
	for name, input := range startupCases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.write(input)
			if tc, ok := c.nc.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			// The server closes; whatever it says must parse.
			_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, c.nc); err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("reading to EOF: %v", err)
			}
			if err := bystander.Ping(ctx); err != nil {
				t.Fatalf("bystander: %v", err)
			}
		})
	}

	sessionCases := map[string]struct {
		input []byte
		code  string // of the FATAL, "" if the server says nothing
	}{
		"1 GiB length":  {cat([]byte("Q"), u32(1<<30), []byte("SELECT 1")), "08P01"},
		"negative len":  {cat([]byte("Q"), u32(0xfffffff0)), "08P01"},
		"unknown type":  {cat([]byte("y"), u32(4)), "08P01"},
		"random":        {randomBytes, ""},
		"bad bind":      {cat([]byte("B"), u32(12), []byte{0, 0, 0, 0, 0, 1, 0xff, 0xff}), "08P01"},
		"huge counts":   {cat([]byte("B"), u32(10), []byte{0, 0, 0x7f, 0xff, 0, 0}), "08P01"},
		"parse no term": {cat([]byte("P"), u32(9), []byte("abcde")), "08P01"},
		"truncated":     {cat([]byte("Q"), u32(100), []byte("SELECT")), "08P01"},
	}
	for name, tc := range sessionCases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.startup()
			c.write(tc.input)
			if tcp, ok := c.nc.(*net.TCPConn); ok && name == "truncated" {
				_ = tcp.CloseWrite()
			}
			e := c.untilEOF()
			if tc.code != "" && (e == nil || e.Code != tc.code || e.Severity != "FATAL") {
				t.Fatalf("got %+v", e)
			}
			if err := bystander.Ping(ctx); err != nil {
				t.Fatalf("bystander: %v", err)
			}
		})
	}

	t.Run("invalid UTF-8 keeps the connection", func(t *testing.T) {
		c := dialRaw(t, s.addr)
		c.startup()
		c.send(&pgproto3.Query{String: "SELECT '\xc3\x28'"})
		errs := c.until("*pgproto3.ReadyForQuery")
		if len(errs) != 1 || errs[0].Code != "22021" {
			t.Fatalf("got %+v", errs)
		}
		c.send(&pgproto3.Query{String: "SELECT 1"})
		if errs := c.until("*pgproto3.ReadyForQuery"); len(errs) != 0 {
			t.Fatalf("got %+v", errs)
		}
	})
	waitFor(t, "sessions closed", func() bool { return s.backend.open.Load() == 1 })
}

// TestReaderAllocation: a header claiming a large body allocates only
// what arrives.
func TestReaderAllocation(t *testing.T) {
	input := cat5('Q', 60<<20)
	input = append(input, []byte("SELECT 1")...)
	r := msgReader{r: bytes.NewReader(input), maxBytes: DefaultMaxMessageBytes}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := r.read()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes for a truncated 60 MiB message", d)
	}
}

func cat5(typ byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{typ}, n)
}

// TestPgxPipeline: 500 statements pipelined in one batch (more than the
// reader's read-ahead holds) are answered in order.
func TestPgxPipeline(t *testing.T) {
	s := startServer(t, Config{})
	ctx := testCtx(t)
	conn := pgxConnect(t, ctx, s)
	b := &pgx.Batch{}
	for i := range 500 {
		b.Queue("SELECT $1::int", i)
	}
	br := conn.SendBatch(ctx, b)
	for i := range 500 {
		var n int
		if err := br.QueryRow().Scan(&n); err != nil || n != i {
			t.Fatalf("%d: %d, %v", i, n, err)
		}
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
}
