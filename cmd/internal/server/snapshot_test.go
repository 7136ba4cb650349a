package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/replication"
)

// TestRestartCatchesUpBySnapshotOverGRPC: three nodes over gRPC with tiny
// raft logs; one node is stopped while the others write enough to truncate
// past its log; restarted on its store, it receives a snapshot streamed
// over gRPC and serves every row.
func TestRestartCatchesUpBySnapshotOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-node")
	}
	ctx := context.Background()
	const n = 3
	listen, err := FreeAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = Config{Store: t.TempDir(), SQLAddr: "127.0.0.1:0", ListenAddr: listen[i], Join: listen,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Replication: replication.Config{RaftLogMaxEntries: 20, RaftLogQueueInterval: 50 * time.Millisecond,
				SnapshotChunkBytes: 4 << 10, SnapshotRetryBackoff: 200 * time.Millisecond}}
	}
	srvs, err := StartJoined(ctx, cfgs)
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Cleanup(func() {
		for _, s := range srvs {
			if s != nil {
				_ = s.Stop(context.Background())
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		voters, _ := srvs[0].Store().Replicas()[0].Membership()
		if len(voters) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("range has voters %v", voters)
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := pgx.Connect(ctx, dsn(srvs[0], "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	// Stop the node that does not hold the first range's lease (node 1
	// serves the SQL connection).
	victim := 2
	if l := srvs[0].Store().Replicas()[0].Lease().Replica; l == 3 {
		victim = 1
	}
	_, lastBefore := srvs[victim].Store().Replicas()[0].RaftLogBounds()
	if err := srvs[victim].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	srvs[victim] = nil
	for i := 0; i < 120; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO kv VALUES ($1, repeat('x', 200))", i); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if first, _ := srvs[0].Store().Replicas()[0].RaftLogBounds(); first > lastBefore+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the survivors' log was not truncated past %d", lastBefore)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv, err := Start(ctx, cfgs[victim])
	if err != nil {
		t.Fatal(err)
	}
	srvs[victim] = srv
	deadline = time.Now().Add(60 * time.Second)
	for {
		if applied, _ := srv.Store().SnapshotCounts(); applied > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted node received no snapshot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	c2, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	var rows int
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&rows); err != nil || rows != 120 {
		t.Fatalf("through the restarted node: %d rows, %v", rows, err)
	}
	// Its own copy: the replica applied as far as the leaseholder.
	r := srv.Store().Replicas()[0]
	target := srvs[0].Store().Replicas()[0].Status().Commit
	deadline = time.Now().Add(30 * time.Second)
	for r.Status().AppliedIndex < target {
		if time.Now().After(deadline) {
			t.Fatalf("restarted replica applied %d < %d", r.Status().AppliedIndex, target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
