package storage

import (
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

func countKeys(t *testing.T, r Reader, lo, hi []byte) int {
	t.Helper()
	it, err := r.NewIter(IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = it.Close() }()
	n := 0
	for ok := it.SeekGE(MVCCKey{Key: lo}); ok; ok = it.Next() {
		n++
	}
	return n
}

// TestSnapshotIsolation: a snapshot does not see later writes; ClearRange
// removes every version of the keys in its span and nothing else.
func TestSnapshotIsolation(t *testing.T) {
	eng := OpenInMem()
	defer eng.Close()
	for _, k := range []string{"a", "b", "b\x00x", "c", "d"} {
		for ts := int64(1); ts <= 2; ts++ {
			if err := eng.Put(MVCCKey{Key: []byte(k), Timestamp: hlc.Timestamp{WallTime: ts}}, []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		if err := eng.Put(MVCCKey{Key: []byte(k)}, []byte("meta")); err != nil {
			t.Fatal(err)
		}
	}
	snap := eng.NewSnapshot()
	defer func() { _ = snap.Close() }()
	b := eng.NewBatch()
	if err := b.ClearRange([]byte("b"), []byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if n := countKeys(t, eng, []byte("a"), []byte("z")); n != 6 {
		t.Fatalf("after ClearRange [b, d): %d keys, want 6 (a and d, 3 each)", n)
	}
	if n := countKeys(t, snap, []byte("a"), []byte("z")); n != 15 {
		t.Fatalf("the snapshot sees %d keys, want all 15", n)
	}
}
