package mvcc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

func wts(wall int64) hlc.Timestamp { return hlc.Timestamp{WallTime: wall} }

// isCorruption reports whether err names stored data that does not decode.
func isCorruption(err error) bool {
	return errors.Is(err, ErrCorruptValue) || errors.Is(err, kvpb.ErrCorruptValue) || errors.Is(err, storage.ErrCorruptKey)
}

// allOps runs every mvcc entry point over [a, z) and returns their errors by
// name. Each write goes to its own batch, thrown away.
func allOps(eng storage.Engine, key []byte) map[string]error {
	var batches []*storage.Batch
	txn := &kvpb.Transaction{
		TxnMeta:       kvpb.TxnMeta{ID: txnID("T"), Key: []byte("a"), WriteTimestamp: wts(50), MinTimestamp: wts(50)},
		ReadTimestamp: wts(50),
	}
	batch := func() storage.ReadWriter {
		b := eng.NewBatch()
		batches = append(batches, b)
		return b
	}
	defer func() {
		for _, b := range batches {
			b.Close()
		}
	}()
	errs := map[string]error{}
	_, _, errs["get"] = Get(eng, key, wts(100), ReadOptions{})
	_, _, errs["get txn unc"] = Get(eng, key, wts(40), ReadOptions{Txn: txn, UncertaintyLimit: wts(100)})
	_, _, errs["get inconsistent"] = Get(eng, key, wts(100), ReadOptions{Inconsistent: true})
	_, _, errs["scan"] = Scan(eng, []byte("a"), []byte("z"), wts(100), 0, false, ReadOptions{})
	_, _, errs["scan reverse"] = Scan(eng, []byte("a"), []byte("z"), wts(100), 0, true, ReadOptions{Inconsistent: true})
	_, _, errs["scan max"] = Scan(eng, []byte("a"), []byte("z"), wts(100), 1, false, ReadOptions{Txn: txn})
	_, errs["put"] = Put(batch(), key, []byte("v"), nil, wts(60))
	_, errs["put txn"] = Put(batch(), key, []byte("v"), txn, wts(60))
	_, _, errs["delete"] = Delete(batch(), key, nil, wts(60))
	_, errs["cput"] = ConditionalPut(batch(), key, []byte("v"), nil, txn, wts(60))
	_, _, errs["delete range"] = DeleteRange(batch(), []byte("a"), []byte("z"), nil, wts(100), wts(100), ReadOptions{})
	_, errs["resolve"] = ResolveIntent(batch(), key, txn.TxnMeta, kvpb.COMMITTED, wts(50))
	_, errs["resolve range"] = ResolveIntentRange(batch(), []byte("a"), []byte("z"), txn.TxnMeta, kvpb.ABORTED, wts(50))
	errs["refresh"] = Refresh(eng, []byte("a"), []byte("z"), wts(99), wts(100), txn.ID)
	_, errs["gc"] = GarbageCollect(batch(), []byte("a"), []byte("z"), wts(100))
	return errs
}

// TestCorruptKeyInEngine writes engine keys that no MVCC key encodes to,
// straight into Pebble, and checks that every operation reaching them
// reports an error wrapping storage.ErrCorruptKey instead of panicking.
func TestCorruptKeyInEngine(t *testing.T) {
	for _, raw := range [][]byte{
		[]byte("m\x07"), // unknown suffix length
		[]byte("m\x0d"), // a version suffix length on a short key
		append([]byte("m\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00"), 13), // negative wall time
		append([]byte("m\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00"), 13), // no sentinel
	} {
		t.Run(fmt.Sprintf("%x", raw), func(t *testing.T) {
			eng := storage.OpenInMem()
			defer eng.Close()
			for _, k := range []string{"b", "x"} {
				if _, err := Put(eng, []byte(k), []byte(k), nil, wts(10)); err != nil {
					t.Fatal(err)
				}
			}
			// A nil *WriteOptions is Pebble's default; this test does not
			// import Pebble.
			if err := eng.RawPebble().Set(raw, []byte{valueTag, 'v'}, nil); err != nil {
				t.Fatal(err)
			}
			for name, err := range allOps(eng, []byte("m")) {
				switch name {
				case "get", "get txn unc", "get inconsistent", "put", "put txn", "delete", "cput", "resolve":
					// Point operations on "m" bound their iterator to the
					// versions of "m": only a corrupt key sorting among them
					// is met.
					if err != nil && !errors.Is(err, storage.ErrCorruptKey) {
						t.Errorf("%s: got %v, want nil or storage.ErrCorruptKey", name, err)
					}
				default:
					if !errors.Is(err, storage.ErrCorruptKey) {
						t.Errorf("%s: got %v, want an error wrapping storage.ErrCorruptKey", name, err)
					}
				}
			}
			// Scans that stop before the corrupt key are fine.
			rows, _, err := Scan(eng, []byte("a"), []byte("m"), wts(100), 0, false, ReadOptions{})
			if err != nil || len(rows) != 1 {
				t.Fatalf("scan [a, m): %v %v", rows, err)
			}
			rows, _, err = Scan(eng, []byte("n"), []byte("z"), wts(100), 0, true, ReadOptions{})
			if err != nil || len(rows) != 1 {
				t.Fatalf("scan [n, z) reverse: %v %v", rows, err)
			}
		})
	}
}

// TestCorruptValues stores undecodable values and intent metadata and
// checks that every operation meeting them fails with a corruption error.
func TestCorruptValues(t *testing.T) {
	// Refresh, GC and ResolveIntentRange look at timestamps and metadata
	// only, never at version values.
	valuesUnread := []string{"refresh", "gc", "resolve range"}
	goodMeta := encodeMeta(&kvpb.TxnMeta{ID: txnID("O"), Key: []byte("k"), WriteTimestamp: wts(20)})
	for _, tc := range []struct {
		name    string
		entries map[hlc.Timestamp][]byte // empty timestamp: the meta slot
		// skip names operations that need not fail: they do not read the
		// corrupt entry.
		skip []string
	}{
		{"unknown value tag", map[hlc.Timestamp][]byte{wts(10): {0x07, 'x'}}, valuesUnread},
		{"meta tag on a version", map[hlc.Timestamp][]byte{wts(10): goodMeta}, valuesUnread},
		{"value tag in the meta slot", map[hlc.Timestamp][]byte{{}: {valueTag, 'x'}, wts(10): {valueTag, 'x'}}, nil},
		{"truncated meta", map[hlc.Timestamp][]byte{{}: goodMeta[:10], wts(20): {valueTag, 'x'}}, nil},
		{"meta with trailing bytes", map[hlc.Timestamp][]byte{{}: append(append([]byte(nil), goodMeta...), 0), wts(20): {valueTag, 'x'}}, nil},
		{"meta of an unknown version", map[hlc.Timestamp][]byte{{}: append([]byte{metaTag, 9}, goodMeta[2:]...), wts(20): {valueTag, 'x'}}, nil},
		{"empty meta", map[hlc.Timestamp][]byte{{}: {}, wts(20): {valueTag, 'x'}}, nil},
		{"meta without provisional value", map[hlc.Timestamp][]byte{{}: goodMeta, wts(10): {valueTag, 'x'}},
			// Readers that skip the intent read under it; refresh and GC
			// only need the metadata, and the intent is not T's to resolve.
			[]string{"get", "get txn unc", "get inconsistent", "scan", "scan reverse", "scan max", "delete range", "refresh", "gc", "resolve range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := storage.OpenInMem()
			defer eng.Close()
			for ts, v := range tc.entries {
				if err := eng.Put(storage.MVCCKey{Key: []byte("m"), Timestamp: ts}, v); err != nil {
					t.Fatal(err)
				}
			}
			for name, err := range allOps(eng, []byte("m")) {
				if err != nil && !isCorruption(err) {
					var wie *kvpb.WriteIntentError
					var rfe *kvpb.RefreshFailedError
					// A readable foreign intent may conflict first.
					if !errors.As(err, &wie) && !errors.As(err, &rfe) {
						t.Errorf("%s: %v is not a corruption error", name, err)
					}
					continue
				}
				skip := false
				for _, s := range tc.skip {
					skip = skip || s == name
				}
				if err == nil && !skip {
					t.Errorf("%s succeeded over corrupt data", name)
				}
			}
		})
	}
}

// TestRandomGarbage fills an engine with random bytes as values (well
// formed keys) and runs every operation: errors are fine, panics are not,
// and errors that are not conflicts must name the corruption.
func TestRandomGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := 0; iter < 30; iter++ {
		eng := storage.OpenInMem()
		for i := 0; i < 20; i++ {
			k := storage.MVCCKey{Key: []byte{'a' + byte(rng.IntN(4))}}
			if rng.IntN(3) > 0 {
				k.Timestamp = wts(int64(rng.IntN(60) + 1))
			}
			v := make([]byte, rng.IntN(40))
			for j := range v {
				v[j] = byte(rng.IntN(256))
			}
			if len(v) > 0 && rng.IntN(2) == 0 {
				v[0] = []byte{valueTag, metaTag}[rng.IntN(2)]
			}
			if err := eng.Put(k, v); err != nil {
				t.Fatal(err)
			}
		}
		for _, key := range []string{"a", "b", "c", "d"} {
			for name, err := range allOps(eng, []byte(key)) {
				var wie *kvpb.WriteIntentError
				var cfe *kvpb.ConditionFailedError
				var rwe *kvpb.ReadWithinUncertaintyIntervalError
				var rfe *kvpb.RefreshFailedError
				if err == nil || isCorruption(err) || errors.As(err, &wie) || errors.As(err, &cfe) || errors.As(err, &rwe) || errors.As(err, &rfe) {
					continue
				}
				t.Errorf("iter %d %s on %s: unexpected error %v", iter, name, key, err)
			}
		}
		eng.Close()
	}
}
