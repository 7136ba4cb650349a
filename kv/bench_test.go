package kv_test

// Benchmarks pair each kv operation ("outpost") with the same operation on a
// raw Pebble DB in the same run ("pebble"); `make bench` prints the ratios.

import (
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

const benchKeys = 10000

func benchKey(i int) []byte { return []byte(fmt.Sprintf("bench/%08d", i)) }

var benchValue = make([]byte, 64)

func openRawPebble(b *testing.B) *pebble.DB {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietPebbleLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func loadRaw(b *testing.B, db *pebble.DB) {
	batch := db.NewBatch()
	for i := 0; i < benchKeys; i++ {
		_ = batch.Set(benchKey(i), benchValue, nil)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		b.Fatal(err)
	}
}

func loadKV(b *testing.B, db *kv.DB) {
	ctx := context.Background()
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		for i := 0; i < benchKeys; i++ {
			if err := txn.Put(ctx, benchKey(i), benchValue); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func startBenchNode(b *testing.B) *kvtest.Node {
	return kvtest.Start(b, kvtest.Options{Dir: b.TempDir()})
}

func BenchmarkPointGet(b *testing.B) {
	ctx := context.Background()
	b.Run("outpost", func(b *testing.B) {
		n := startBenchNode(b)
		loadKV(b, n.DB)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			txn := n.DB.NewTxn("get")
			v, err := txn.Get(ctx, benchKey(i%benchKeys))
			if err != nil || v == nil {
				b.Fatal(err)
			}
			if err := txn.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pebble", func(b *testing.B) {
		db := openRawPebble(b)
		loadRaw(b, db)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			v, closer, err := db.Get(benchKey(i % benchKeys))
			if err != nil || v == nil {
				b.Fatal(err)
			}
			closer.Close()
		}
	})
}

// BenchmarkTxnPut measures one Put inside an open transaction (an intent,
// not yet committed or synced) against an unsynced raw Set.
func BenchmarkTxnPut(b *testing.B) {
	ctx := context.Background()
	b.Run("outpost", func(b *testing.B) {
		n := startBenchNode(b)
		txn := n.DB.NewTxn("put")
		for i := 0; i < b.N; i++ {
			if i%1000 == 999 {
				if err := txn.Commit(ctx); err != nil {
					b.Fatal(err)
				}
				txn = n.DB.NewTxn("put")
			}
			if err := txn.Put(ctx, benchKey(i%benchKeys), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := txn.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("pebble", func(b *testing.B) {
		db := openRawPebble(b)
		for i := 0; i < b.N; i++ {
			if err := db.Set(benchKey(i%benchKeys), benchValue, pebble.NoSync); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkScan100(b *testing.B) {
	ctx := context.Background()
	b.Run("outpost", func(b *testing.B) {
		n := startBenchNode(b)
		loadKV(b, n.DB)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := (i * 100) % (benchKeys - 100)
			txn := n.DB.NewTxn("scan")
			rows, err := txn.Scan(ctx, benchKey(start), kvpb.Key(benchKey(benchKeys)), 100)
			if err != nil || len(rows) != 100 {
				b.Fatal(err, len(rows))
			}
			if err := txn.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pebble", func(b *testing.B) {
		db := openRawPebble(b)
		loadRaw(b, db)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := (i * 100) % (benchKeys - 100)
			it, err := db.NewIter(&pebble.IterOptions{UpperBound: benchKey(benchKeys)})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for ok := it.SeekGE(benchKey(start)); ok && n < 100; ok = it.Next() {
				_ = append([]byte(nil), it.Key()...)
				_ = append([]byte(nil), it.Value()...)
				n++
			}
			it.Close()
			if n != 100 {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkReadModifyWrite is a single-key transaction: read, write,
// commit (one fsync), against a raw Get + synced Set.
func BenchmarkReadModifyWrite(b *testing.B) {
	ctx := context.Background()
	b.Run("outpost", func(b *testing.B) {
		n := startBenchNode(b)
		loadKV(b, n.DB)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := benchKey(i % benchKeys)
			txn := n.DB.NewTxn("rmw")
			v, err := txn.Get(ctx, k)
			if err != nil {
				b.Fatal(err)
			}
			if err := txn.Put(ctx, k, v); err != nil {
				b.Fatal(err)
			}
			if err := txn.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pebble", func(b *testing.B) {
		db := openRawPebble(b)
		loadRaw(b, db)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := benchKey(i % benchKeys)
			v, closer, err := db.Get(k)
			if err != nil {
				b.Fatal(err)
			}
			nv := append([]byte(nil), v...)
			closer.Close()
			if err := db.Set(k, nv, pebble.Sync); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...interface{})  {}
func (quietPebbleLogger) Errorf(string, ...interface{}) {}
func (quietPebbleLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf(format, args...))
}
