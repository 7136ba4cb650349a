package testcluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/outpostdb/outpost/replication"
)

// BenchmarkFailover measures leaseholder failover with the production
// timings (50ms ticks, 10-tick elections, 3s leases): the time from
// killing the leaseholder to the first acknowledged write through a
// survivor, over five kills. It reports the median as failover-ms.
func BenchmarkFailover(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		c := Start(b, Options{Nodes: 3, Seed: int64(i), Store: replication.Config{
			TickInterval: 50 * time.Millisecond, LeaseDuration: 3 * time.Second}, RouterTimeout: 30 * time.Second})
		var samples []time.Duration
		for k := 0; k < 5; k++ {
			lh := c.LeaseHolder()
			gw := c.Node(someOther(c, lh)).DB
			if err := put(ctx, gw, key(k), "warm"); err != nil {
				b.Fatal(err)
			}
			c.Kill(lh)
			start := time.Now()
			if err := put(ctx, gw, key(100+k), "after"); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
			if err := c.Restart(lh); err != nil {
				b.Fatal(err)
			}
			if err := c.WaitForLeaseholder(30 * time.Second); err != nil {
				b.Fatal(err)
			}
		}
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2].Milliseconds()), "failover-ms")
		b.ReportMetric(float64(samples[len(samples)-1].Milliseconds()), "max-failover-ms")
	}
}
