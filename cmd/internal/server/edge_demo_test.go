package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/replication"
)

// startEdgeDemo runs three core nodes (region us) and one edge node
// (region eu) with rtt simulated between the regions.
func startEdgeDemo(tb testing.TB, rtt time.Duration) []*Server {
	tb.Helper()
	matrix, err := ParseLatencyMatrix(fmt.Sprintf("us-eu=%s", rtt))
	if err != nil {
		tb.Fatal(err)
	}
	nodes := append(slices.Clone(GlobalDemo[:3]), DemoNode{Locality: "region=eu,zone=a", Edge: true})
	base := Config{Replication: replication.Config{ClosedTimestampLag: 200 * time.Millisecond, ClosedTimestampInterval: 50 * time.Millisecond}}
	srvs, err := StartDemo(context.Background(), DemoConfig{Nodes: nodes, Latency: matrix, Base: base,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, s := range srvs {
			_ = s.Stop(context.Background())
		}
	})
	return srvs
}

// TestEdgeDemo: on an edge node of a simulated global cluster, bounded
// and session follower reads are served by its own replica, strong reads
// and writes reach the leaseholder in the core and return correct data,
// and the causality token makes another connection observe a write.
func TestEdgeDemo(t *testing.T) {
	ctx := context.Background()
	srvs := startEdgeDemo(t, 50*time.Millisecond)
	core, edge := srvs[0], srvs[3]
	cc := mustConnect(t, core)
	ec := mustConnect(t, edge)
	if _, err := cc.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	// A write from the edge goes to the core; a strong read on the edge
	// sees it.
	if _, err := ec.Exec(ctx, "INSERT INTO kv VALUES (1, 'from-edge')"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := ec.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v); err != nil || v != "from-edge" {
		t.Fatalf("strong read on the edge: %q %v", v, err)
	}
	lastRead := func(c *pgx.Conn) (mode, by string) {
		var ts string
		var st time.Duration
		var fb *string
		if err := c.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &by, &ts, &st, &fb); err != nil {
			t.Fatal(err)
		}
		return mode, by
	}
	// Bounded staleness: served by the edge's own replica once it caught up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := ec.QueryRow(ctx, "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('10s') WHERE k = 1").Scan(&v)
		mode, by := lastRead(ec)
		if err == nil && v == "from-edge" && mode == "bounded" && strings.Contains(by, "non-voter") {
			t.Logf("bounded read served by %s", by)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bounded read on the edge: %q %v, %s by %s", v, err, mode, by)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := edge.Store().FollowerReadStats().Served
	if _, err := ec.Exec(ctx, "SET default_transaction_use_follower_reads = on"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the row must be older than follower_read_timestamp()
	if err := ec.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v); err != nil || v != "from-edge" {
		t.Fatalf("session follower read: %q %v", v, err)
	}
	if mode, by := lastRead(ec); mode != "follower" || !strings.Contains(by, "non-voter") {
		t.Fatalf("session follower read: %s by %s", mode, by)
	}
	if edge.Store().FollowerReadStats().Served <= before {
		t.Fatal("the edge's replica served no follower read")
	}
	// Read-your-writes across connections: a write on the core, its token
	// SET on an edge connection using follower reads: the read observes it.
	if _, err := cc.Exec(ctx, "UPDATE kv SET v = 'new' WHERE k = 1"); err != nil {
		t.Fatal(err)
	}
	token := cc.PgConn().ParameterStatus("outpost_causality_token")
	if token == "" {
		t.Fatal("no causality token after a write")
	}
	if _, err := ec.Exec(ctx, "SET outpost_causality_token = '"+token+"'"); err != nil {
		t.Fatal(err)
	}
	if err := ec.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v); err != nil || v != "new" {
		t.Fatalf("follower read after SET outpost_causality_token: %q %v", v, err)
	}
}
