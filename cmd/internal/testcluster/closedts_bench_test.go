package testcluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication"
)

// BenchmarkClosedTimestampLag measures what closing timestamps closer to
// the present costs writers: transfers between 20 accounts from 4 clients,
// each transaction reading both accounts, pausing think ms, then writing
// both. A write whose timestamp fell below the closed timestamp is pushed,
// and the commit must refresh or retry. Reported: retries per committed
// transaction and committed transactions per second, per target lag.
func BenchmarkClosedTimestampLag(b *testing.B) {
	for _, think := range []time.Duration{0, 20 * time.Millisecond, 150 * time.Millisecond} {
		for _, lag := range []time.Duration{time.Second, 300 * time.Millisecond, 100 * time.Millisecond, 30 * time.Millisecond} {
			b.Run(fmt.Sprintf("think=%s/lag=%s", think, lag), func(b *testing.B) {
				c := Start(b, Options{Nodes: 3, Seed: 61, Store: replication.Config{
					ClosedTimestampLag: lag, ClosedTimestampInterval: min(lag/2, 200*time.Millisecond)}})
				ctx := context.Background()
				db := c.Node(c.LeaseHolder()).DB
				acct := func(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("acct/%02d", i)) }
				for i := 0; i < 20; i++ {
					if err := put(ctx, db, acct(i), "x"); err != nil {
						b.Fatal(err)
					}
				}
				var attempts, commits atomic.Int64
				deadline := time.Now().Add(2 * time.Second)
				var wg sync.WaitGroup
				for w := 0; w < 4; w++ {
					wg.Add(1)
					go func(w int) {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(w), 2))
						for time.Now().Before(deadline) {
							from, to := rng.IntN(20), rng.IntN(20)
							err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
								attempts.Add(1)
								if _, err := txn.Get(ctx, acct(from)); err != nil {
									return err
								}
								if _, err := txn.Get(ctx, acct(to)); err != nil {
									return err
								}
								time.Sleep(think)
								v := binary.BigEndian.AppendUint64(nil, rng.Uint64())
								if err := txn.Put(ctx, acct(from), v); err != nil {
									return err
								}
								return txn.Put(ctx, acct(to), v)
							})
							if err == nil {
								commits.Add(1)
							}
						}
					}(w)
				}
				wg.Wait()
				n := max(commits.Load(), 1)
				b.ReportMetric(float64(attempts.Load()-commits.Load())/float64(n), "retries/txn")
				b.ReportMetric(float64(n)/2, "txn/s")
			})
		}
	}
}
