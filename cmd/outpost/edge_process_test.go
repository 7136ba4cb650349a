package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestEdgeProcessCluster runs real processes: three core nodes in region
// us and one edge node in region eu, 50 ms of simulated round trip
// between the regions. Through pgx on the edge: writes are forwarded to
// the core and read back by strong reads; bounded-staleness and session
// follower reads are served by the edge's own non-voting replica (SHOW
// LAST READ and the edge's /metrics say so). With the core frozen (a
// partition), bounded reads go on, writes fail with a clear error, and
// after the core resumes everything works again.
func TestEdgeProcessCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	bin := buildOutpost(t)
	dir := t.TempDir()
	var listen []string
	for i := 0; i < 4; i++ {
		listen = append(listen, freePort(t))
	}
	join := strings.Join(listen[:3], ",")
	edgeHTTP := freePort(t)
	procs := make([]*proc, 4)
	for i := range procs {
		p := &proc{sqlAddr: freePort(t), log: filepath.Join(dir, fmt.Sprintf("n%d.log", i+1))}
		locality, httpAddr := fmt.Sprintf("region=us,zone=%c", 'a'+i), ""
		if i == 3 {
			locality, httpAddr = "region=eu,zone=a", edgeHTTP
		}
		p.args = []string{"start", "--store", filepath.Join(dir, fmt.Sprintf("d%d", i+1)),
			"--sql-addr", p.sqlAddr, "--listen-addr", listen[i], "--http-addr", httpAddr, "--join", join,
			"--locality", locality, "--simulate-latency", "us-eu=50ms"}
		if i == 3 {
			p.args = append(p.args, "--edge")
		}
		procs[i] = p
	}
	for _, p := range procs[:3] {
		p.start(t, bin)
	}
	cleanupProcs(t, procs)
	initCluster(t, bin, listen[0])
	ctx := context.Background()
	core := connect(ctx, t, procs[0].sqlAddr)
	defer core.Close(ctx)
	if _, err := core.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	procs[3].start(t, bin) // the edge joins the running core
	edge := connect(ctx, t, procs[3].sqlAddr)
	defer edge.Close(ctx)
	for i := 0; i < 10; i++ {
		if _, err := edge.Exec(ctx, "INSERT INTO kv VALUES ($1, $2)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatalf("insert through the edge: %v", err)
		}
	}
	var n int
	if err := edge.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 10 {
		t.Fatalf("strong read on the edge: %d %v", n, err)
	}
	if err := core.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 10 {
		t.Fatalf("the core sees %d rows written through the edge: %v", n, err)
	}
	// Bounded staleness on the edge is served by its own replica once it
	// holds one that caught up.
	deadline := time.Now().Add(60 * time.Second)
	var by string
	for {
		var v string
		err := edge.QueryRow(ctx, "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('30s') WHERE k = 3").Scan(&v)
		if err == nil {
			var mode, ts string
			var st time.Duration
			var fb *string
			err = edge.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &by, &ts, &st, &fb)
			if err == nil && v == "v3" && strings.Contains(by, "non-voter") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bounded read on the edge never served locally (last: %s, %v)", by, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Cut the edge off from the core (the core processes are frozen with
	// SIGSTOP): reads within the bound go on locally; strong reads and
	// writes fail with a clear error instead of hanging; after the core
	// resumes, the edge catches up.
	for _, p := range procs[:3] {
		_ = p.cmd.Process.Signal(syscall.SIGSTOP)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			for _, p := range procs[:3] {
				_ = p.cmd.Process.Signal(syscall.SIGCONT)
			}
		}
	}
	t.Cleanup(resume)
	var v string
	if err := edge.QueryRow(ctx, "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('60s') WHERE k = 3").Scan(&v); err != nil || v != "v3" {
		t.Fatalf("bounded read on the cut-off edge: %q %v", v, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	_, err := edge.Exec(sctx, "INSERT INTO kv VALUES (100, 'lost?')")
	cancel()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("write on the cut-off edge: %v (want a PostgreSQL error)", err)
	}
	t.Logf("write on the cut-off edge: %s %s", pe.Code, pe.Message)
	sctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	err = edge.QueryRow(sctx, "SELECT v FROM kv WHERE k = 3").Scan(&v)
	cancel()
	if !errors.As(err, &pe) {
		t.Fatalf("strong read on the cut-off edge: %v (want a PostgreSQL error)", err)
	}
	t.Logf("strong read on the cut-off edge: %s %s", pe.Code, pe.Message)
	// The link is known down now: a write is refused without being sent,
	// and says so (58000, not the ambiguous 40003).
	sctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	_, err = edge.Exec(sctx, "INSERT INTO kv VALUES (101, 'never sent')")
	cancel()
	if !errors.As(err, &pe) || pe.Code != "58000" {
		t.Fatalf("write on the cut-off edge, link known down: %v (want 58000)", err)
	}
	resume()
	if _, err := edge.Exec(ctx, "INSERT INTO kv VALUES (11, 'after')"); err != nil {
		t.Fatalf("write after the core resumed: %v", err)
	}
	if err := edge.QueryRow(ctx, "SELECT v FROM kv WHERE k = 11").Scan(&v); err != nil || v != "after" {
		t.Fatalf("strong read after the core resumed: %q %v", v, err)
	}
	var unsent int
	if err := edge.QueryRow(ctx, "SELECT count(*) FROM kv WHERE k = 101").Scan(&unsent); err != nil || unsent != 0 {
		t.Fatalf("the write that was never sent: %d rows, %v", unsent, err)
	}
	resp, err := http.Get("http://" + edgeHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Follower reads were served by the edge's replicas, and its writes
	// were forwarded to the core.
	for _, metric := range []string{"outpost_store_follower_reads_served_total", "outpost_sql_forwarded_total"} {
		found := false
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, metric+" ") && !strings.HasSuffix(line, " 0") {
				found = true
			}
		}
		if !found {
			t.Fatalf("the edge's /metrics shows no %s:\n%s", metric, body)
		}
	}
}
