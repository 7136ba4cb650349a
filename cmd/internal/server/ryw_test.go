package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// lastReadRow is SHOW LAST READ's row.
type lastReadRow struct {
	mode, servedBy, ts string
	staleness          time.Duration
	fallback           *string
}

func showLastRead(t *testing.T, c *pgx.Conn) lastReadRow {
	t.Helper()
	var r lastReadRow
	if err := c.QueryRow(context.Background(), "SHOW LAST READ").Scan(&r.mode, &r.servedBy, &r.ts, &r.staleness, &r.fallback); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEdgeReadYourWrites: on an edge node with session follower reads, a
// read right after a write made on the core, whose causality token the
// edge session SET, is at the token. With follower_read_wait = 0 the
// edge's replica,
// which has not closed the token yet, refuses and the leaseholder serves:
// SHOW LAST READ names the leaseholder that actually served and the
// edge's reason. With a wait above the closed-timestamp lag, the edge's
// own non-voter serves it after waiting. Both return the write.
func TestEdgeReadYourWrites(t *testing.T) {
	ctx := context.Background()
	srvs := startEdgeDemo(t, 50*time.Millisecond)
	edge := srvs[3]
	cc, ec := mustConnect(t, srvs[0]), mustConnect(t, edge)
	if _, err := cc.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Exec(ctx, "INSERT INTO kv VALUES (1, 'v0')"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the table is closed on the edge
	for _, q := range []string{"SET default_transaction_use_follower_reads = on", "SET follower_read_wait = 0"} {
		if _, err := ec.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	read := func(want string) lastReadRow {
		t.Helper()
		var v string
		if err := ec.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v); err != nil || v != want {
			t.Fatalf("read after the write: %q %v, want %q (older than the causality token)", v, err, want)
		}
		return showLastRead(t, ec)
	}
	// write updates the row on the core and hands its token to the edge
	// session, as an application passing the token along would.
	write := func(v string) string {
		t.Helper()
		if _, err := cc.Exec(ctx, "UPDATE kv SET v = $1 WHERE k = 1", v); err != nil {
			t.Fatal(err)
		}
		tok := cc.PgConn().ParameterStatus("outpost_causality_token")
		if _, err := ec.Exec(ctx, "SET outpost_causality_token = '"+tok+"'"); err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// No wait: refused on the edge, served by the leaseholder in the core.
	tok := write("v1")
	r := read("v1")
	if r.mode != "follower" || r.ts != tok || strings.Contains(r.servedBy, "non-voter") || !strings.Contains(r.servedBy, "leaseholder") ||
		strings.HasPrefix(r.servedBy, "n4 ") || r.fallback == nil || !strings.Contains(*r.fallback, "follower read refused: NotClosed") {
		t.Fatalf("token read without a wait: %+v (fallback %v)", r, deref(r.fallback))
	}
	t.Logf("without a wait: served by %s; %s", r.servedBy, *r.fallback)

	// A wait above the edge's lag (200ms target lag, 50ms interval, 25ms
	// one way): served by the edge's own replica.
	if _, err := ec.Exec(ctx, "SET follower_read_wait = '2s'"); err != nil {
		t.Fatal(err)
	}
	waited := edge.Store().FollowerReadStats().Waited
	tok = write("v2")
	start := time.Now()
	r = read("v2")
	took := time.Since(start)
	if r.mode != "follower" || r.ts != tok || !strings.HasPrefix(r.servedBy, "n4 ") || !strings.Contains(r.servedBy, "non-voter") || r.fallback != nil {
		t.Fatalf("token read with a wait: %+v (fallback %v)", r, deref(r.fallback))
	}
	if edge.Store().FollowerReadStats().Waited <= waited {
		t.Fatal("the edge served the token read without waiting")
	}
	t.Logf("with a wait: served by %s after %s", r.servedBy, took)

	// Bounded staleness limited by the token reads at the token too.
	tok = write("v3")
	var v string
	if err := ec.QueryRow(ctx, "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('10s') WHERE k = 1").Scan(&v); err != nil || v != "v3" {
		t.Fatalf("bounded read after the write: %q %v", v, err)
	}
	if r := showLastRead(t, ec); r.mode != "bounded" || r.ts != tok || !strings.Contains(r.servedBy, "non-voter") {
		t.Fatalf("bounded token read with a wait: %+v (fallback %v)", r, deref(r.fallback))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
