package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BenchmarkEdgeReads measures, with 60 ms simulated round trips between
// the core (us) and an edge node (eu), the latency of a point SELECT on
// the edge under each read mode, the same SELECT on a core node, and a
// single-row INSERT from the edge and from the core. Each sub-benchmark
// reports its p50 and p99 in milliseconds (run with -benchtime 200x).
func BenchmarkEdgeReads(b *testing.B) {
	ctx := context.Background()
	srvs := startEdgeDemo(b, 60*time.Millisecond)
	core, edge := mustConnect(b, srvs[0]), mustConnect(b, srvs[3])
	if _, err := core.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := core.Exec(ctx, "INSERT INTO kv VALUES ($1, 'v')", i); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // older than follower_read_timestamp() and closed on the edge
	ryw := mustConnect(b, srvs[3])
	if _, err := ryw.Exec(ctx, "SET default_transaction_use_follower_reads = on"); err != nil {
		b.Fatal(err)
	}
	token := core.PgConn().ParameterStatus("outpost_causality_token")
	if _, err := ryw.Exec(ctx, "SET outpost_causality_token = '"+token+"'"); err != nil {
		b.Fatal(err)
	}
	read := func(c *pgx.Conn, sql string) func(i int) error {
		return func(i int) error {
			var v string
			return c.QueryRow(ctx, sql, i%100).Scan(&v)
		}
	}
	next := 1000
	insert := func(c *pgx.Conn) func(int) error {
		return func(int) error {
			next++
			_, err := c.Exec(ctx, "INSERT INTO kv VALUES ($1, 'w')", next)
			return err
		}
	}
	for _, bc := range []struct {
		name string
		op   func(int) error
	}{
		{"select/core", read(core, "SELECT v FROM kv WHERE k = $1")},
		{"select/edge-strong", read(edge, "SELECT v FROM kv WHERE k = $1")},
		{"select/edge-bounded", read(edge, "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('10s') WHERE k = $1")},
		{"select/edge-follower-ryw", read(ryw, "SELECT v FROM kv WHERE k = $1")},
		{"insert/core", insert(core)},
		{"insert/edge", insert(edge)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := bc.op(i); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
	_ = fmt.Sprint()
}
