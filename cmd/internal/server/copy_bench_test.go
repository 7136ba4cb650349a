package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkCopyFrom100k loads 100,000 rows (pgbench_accounts' shape) in
// one COPY FROM STDIN through pgx's CopyFrom (binary format), on Outpost
// and on the PostgreSQL peer; rows/s is reported beside ns/op.
func BenchmarkCopyFrom100k(b *testing.B) {
	const rows = 100_000
	for _, tgt := range benchTargets() {
		b.Run(tgt.name, func(b *testing.B) {
			ctx := context.Background()
			c, err := pgx.Connect(ctx, tgt.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close(ctx)
			filler := fmt.Sprintf("%84s", "")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, q := range []string{`DROP TABLE IF EXISTS bench_copy`,
					`CREATE TABLE bench_copy (aid INT PRIMARY KEY, bid INT, abalance INT, filler CHAR(84))`} {
					if _, err := c.Exec(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				k := 0
				n, err := c.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, []string{"aid", "bid", "abalance", "filler"},
					pgx.CopyFromFunc(func() ([]any, error) {
						if k == rows {
							return nil, nil
						}
						k++
						return []any{k, 1, 0, filler}, nil
					}))
				if err != nil || n != rows {
					b.Fatalf("copied %d: %v", n, err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
