package kv_test

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
	"github.com/outpostdb/outpost/kv/kvtest"
)

const (
	bankAccounts = 100
	bankInitial  = 1000
)

func acctKey(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("bank/%03d", i)) }

func encodeBalance(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func decodeBalance(t testing.TB, b []byte) int64 {
	if len(b) != 8 {
		t.Fatalf("bad balance %x", b)
	}
	return int64(binary.BigEndian.Uint64(b))
}

// bankTotal reads every account in one snapshot.
func bankTotal(ctx context.Context, t testing.TB, db *kv.DB) int64 {
	var total int64
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		rows, err := txn.Scan(ctx, kvpb.Key("bank/"), kvpb.Key("bank0"), 0)
		if err != nil {
			return err
		}
		if len(rows) != bankAccounts {
			return fmt.Errorf("saw %d accounts", len(rows))
		}
		total = 0
		for _, r := range rows {
			total += decodeBalance(t, r.Value)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// bankSplits cut the accounts into five ranges, so that most transfers and
// every audit cross ranges.
var bankSplits = []string{"bank/020", "bank/045", "bank/070", "bank/090"}

// TestBank moves money between 100 accounts from 8 workers, mixing reads by
// point and by scan, while an auditor checks the total at every snapshot.
//
// Over separate stores per range the transfers write their two accounts in
// random order (deadlocks across ranges must be detected and broken) and,
// in one topology, in key order.
func TestBank(t *testing.T) {
	runTopologies(t, testBank,
		topology{name: "five-ranges-shared-store", splits: bankSplits, shared: true},
		topology{name: "five-ranges-any-order", splits: bankSplits},
		topology{name: "five-ranges-ordered-writes", splits: bankSplits, orderedWrites: true})
}

func testBank(t *testing.T, topo topology) {
	ctx := context.Background()
	db := topo.start(t, kvtest.Options{Dir: t.TempDir()})
	orderedWrites := topo.orderedWrites
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		for i := 0; i < bankAccounts; i++ {
			if err := txn.Put(ctx, acctKey(i), encodeBalance(bankInitial)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const want = bankAccounts * bankInitial
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	deadline := time.Now().Add(duration)
	var transfers, audits atomic.Int64
	var wg sync.WaitGroup
	errCh := make(chan error, 16)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed))
			for time.Now().Before(deadline) {
				from, to := rng.IntN(bankAccounts), rng.IntN(bankAccounts)
				if from == to {
					continue
				}
				amount := int64(rng.IntN(100))
				err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					fb, err := txn.Get(ctx, acctKey(from))
					if err != nil {
						return err
					}
					tb, err := txn.Get(ctx, acctKey(to))
					if err != nil {
						return err
					}
					puts := []kvpb.Request{
						&kvpb.PutRequest{Key: acctKey(from), Value: encodeBalance(decodeBalance(t, fb) - amount)},
						&kvpb.PutRequest{Key: acctKey(to), Value: encodeBalance(decodeBalance(t, tb) + amount)},
					}
					if seed%2 == 1 {
						// One batch: the router splits it when the
						// accounts are in different ranges, sending the
						// parts in key order.
						return txn.Write(ctx, puts)
					}
					if orderedWrites && to < from {
						puts[0], puts[1] = puts[1], puts[0]
					}
					for _, p := range puts {
						if err := txn.Write(ctx, []kvpb.Request{p}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errCh <- err
					return
				}
				transfers.Add(1)
			}
		}(uint64(w))
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			if got := bankTotal(ctx, t, db); got != want {
				errCh <- fmt.Errorf("audit: total %d, want %d", got, want)
				return
			}
			audits.Add(1)
		}
	}()
	wg.Wait()
	close(errCh)
	for err := range errCh {
		t.Fatal(err)
	}
	if got := bankTotal(ctx, t, db); got != want {
		t.Fatalf("final total %d, want %d", got, want)
	}
	if transfers.Load() == 0 || audits.Load() == 0 {
		t.Fatalf("no progress: %d transfers, %d audits", transfers.Load(), audits.Load())
	}
	t.Logf("%d transfers, %d audits", transfers.Load(), audits.Load())
}
