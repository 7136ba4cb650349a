package server

// Benchmarks against PostgreSQL: each operation runs as "outpost" (an
// in-process node over loopback) and as "postgres" (a PostgreSQL server at
// OUTPOST_BENCH_PG, started by `make bench`), through pgx with prepared
// statements. The figure is the ratio printed by cmd/benchratio.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

const benchRows = 10000

type benchTarget struct {
	name string
	dsn  func(b *testing.B) string
}

func benchTargets() []benchTarget {
	ts := []benchTarget{{"outpost", func(b *testing.B) string {
		// On disk, like the peer: commits pay their fsync.
		srv, err := Start(context.Background(), Config{Store: b.TempDir(), SQLAddr: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = srv.Stop(context.Background()) })
		return dsn(srv, "defaultdb")
	}}}
	ts = append(ts, benchTarget{"cluster3", func(b *testing.B) string {
		return startCluster(b, 3)[0]
	}})
	if pg := os.Getenv("OUTPOST_BENCH_PG"); pg != "" {
		ts = append(ts, benchTarget{"postgres", func(*testing.B) string { return pg }})
	}
	return ts
}

func benchSetup(b *testing.B, dsn string) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	for _, q := range []string{
		`DROP TABLE IF EXISTS bench_kv`,
		`CREATE TABLE bench_kv (k INT8 PRIMARY KEY, v TEXT)`,
		fmt.Sprintf(`INSERT INTO bench_kv SELECT k, 'value' FROM generate_series(1, %d) AS g(k)`, benchRows),
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			// generate_series may be missing: fall back to batches.
			if q[0] == 'I' {
				batch := &pgx.Batch{}
				for i := 1; i <= benchRows; i++ {
					batch.Queue(`INSERT INTO bench_kv VALUES ($1, 'value')`, i)
				}
				if err := c.SendBatch(ctx, batch).Close(); err != nil {
					b.Fatal(err)
				}
				continue
			}
			b.Fatal(err)
		}
	}
}

// runClients runs b.N operations spread over n connections.
func runClients(b *testing.B, dsn string, clients int, op func(ctx context.Context, c *pgx.Conn, i int64) error) {
	ctx := context.Background()
	conns := make([]*pgx.Conn, clients)
	for i := range conns {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		conns[i] = c
	}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := op(ctx, c, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPointSelect1(b *testing.B) { benchPointSelect(b, 1) }
func BenchmarkPointSelect8(b *testing.B) { benchPointSelect(b, 8) }
func BenchmarkInsert1(b *testing.B)      { benchInsert(b, 1) }
func BenchmarkInsert8(b *testing.B)      { benchInsert(b, 8) }

func benchPointSelect(b *testing.B, clients int) {
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			d := tgt.dsn(b)
			benchSetup(b, d)
			runClients(b, d, clients, func(ctx context.Context, c *pgx.Conn, i int64) error {
				var v string
				return c.QueryRow(ctx, `SELECT v FROM bench_kv WHERE k = $1`, i%benchRows+1).Scan(&v)
			})
		})
	}
}

func benchInsert(b *testing.B, clients int) {
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			d := tgt.dsn(b)
			benchSetup(b, d)
			runClients(b, d, clients, func(ctx context.Context, c *pgx.Conn, i int64) error {
				_, err := c.Exec(ctx, `INSERT INTO bench_kv VALUES ($1, 'new')`, benchRows+i)
				return err
			})
		})
	}
}
