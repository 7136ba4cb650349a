package server

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkEdgeReadYourWrites measures, with 60 ms simulated round trips
// between the core and an edge node (closed-timestamp lag 200 ms, side
// channel every 50 ms), the latency of a session follower read on the
// edge at the causality token of a write made on the core `age` earlier,
// for several follower_read_wait bounds. It reports p50/p99 in ms and the
// share of reads the edge's own replica served (run with -benchtime 20x).
// It is what DefaultFollowerReadWait is chosen from: a wait pays off only
// where it replaces a round trip with a shorter wait.
func BenchmarkEdgeReadYourWrites(b *testing.B) {
	ctx := context.Background()
	srvs := startEdgeDemo(b, 60*time.Millisecond)
	core, edge := mustConnect(b, srvs[0]), mustConnect(b, srvs[3])
	if _, err := core.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v INT)"); err != nil {
		b.Fatal(err)
	}
	if _, err := core.Exec(ctx, "INSERT INTO kv VALUES (1, 0)"); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := edge.Exec(ctx, "SET default_transaction_use_follower_reads = on"); err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, wait := range []string{"0", "50ms", "100ms", "300ms"} {
		for _, age := range []time.Duration{0, 100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond} {
			b.Run(fmt.Sprintf("wait=%s/age=%s", wait, age), func(b *testing.B) {
				if _, err := edge.Exec(ctx, "SET follower_read_wait = '"+wait+"'"); err != nil {
					b.Fatal(err)
				}
				lat := make([]time.Duration, 0, b.N)
				local := 0
				for i := 0; i < b.N; i++ {
					n++
					if _, err := core.Exec(ctx, "UPDATE kv SET v = $1 WHERE k = 1", n); err != nil {
						b.Fatal(err)
					}
					tok := core.PgConn().ParameterStatus("outpost_causality_token")
					if _, err := edge.Exec(ctx, "SET outpost_causality_token = '"+tok+"'"); err != nil {
						b.Fatal(err)
					}
					time.Sleep(age)
					start := time.Now()
					var v int
					if err := edge.QueryRow(ctx, "SELECT v FROM kv WHERE k = 1").Scan(&v); err != nil || v != n {
						b.Fatalf("read at the token: %d %v, want %d", v, err, n)
					}
					lat = append(lat, time.Since(start))
					var mode, by, ts string
					var st time.Duration
					var fb *string
					if err := edge.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &by, &ts, &st, &fb); err != nil {
						b.Fatal(err)
					}
					if fb == nil {
						local++
					}
				}
				slices.Sort(lat)
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
				b.ReportMetric(float64(local)/float64(b.N), "local")
			})
		}
	}
}
