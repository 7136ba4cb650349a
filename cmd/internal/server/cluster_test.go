package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startCluster runs n in-process nodes on disk that form one cluster over
// gRPC (--join, then init), waits until the first range has min(n, 3)
// voters, and returns each node's DSN.
func startCluster(tb testing.TB, n int) []string {
	tb.Helper()
	ctx := context.Background()
	listen, err := FreeAddrs(n)
	if err != nil {
		tb.Fatal(err)
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = Config{Store: tb.TempDir(), SQLAddr: "127.0.0.1:0", ListenAddr: listen[i],
			Join: listen, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	srvs, err := StartJoined(ctx, cfgs)
	if err != nil {
		tb.Fatalf("starting the cluster: %v", err)
	}
	tb.Cleanup(func() {
		for _, s := range srvs {
			_ = s.Stop(context.Background())
		}
	})
	want := min(n, 3)
	deadline := time.Now().Add(60 * time.Second)
	for {
		voters, _ := srvs[0].Store().Replicas()[0].Membership()
		if len(voters) == want {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("range has voters %v, want %d", voters, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := make([]string, n)
	for i, s := range srvs {
		out[i] = dsn(s, "defaultdb")
	}
	return out
}

// TestInProcessCluster: SQL written through one node of a three-node
// cluster is read through the others, and SHOW RANGES agrees on the
// replica set everywhere.
func TestInProcessCluster(t *testing.T) {
	ctx := context.Background()
	dsns := startCluster(t, 3)
	conns := make([]*pgx.Conn, len(dsns))
	for i, d := range dsns {
		c, err := pgx.Connect(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		conns[i] = c
	}
	if _, err := conns[0].Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if _, err := conns[i%3].Exec(ctx, "INSERT INTO kv VALUES ($1, $2)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 30 {
			t.Fatalf("node %d: %d rows, %v", i+1, n, err)
		}
		rows, err := c.Query(ctx, "SHOW RANGES FROM TABLE kv")
		if err != nil {
			t.Fatal(err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowToMap)
		if err != nil {
			t.Fatal(err)
		}
		if len(vals) != 1 || vals[0]["replicas"] != "{1,2,3}" {
			t.Fatalf("node %d: SHOW RANGES FROM TABLE kv = %v", i+1, vals)
		}
	}
}
