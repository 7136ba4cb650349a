package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/outpostdb/outpost/kv/hlc"
)

func ts(wall int64) hlc.Timestamp { return hlc.Timestamp{WallTime: wall} }

// collect walks the whole iterator forward (or backward) and renders the
// keys, ending with the iterator's error if any.
func collect(t *testing.T, r Reader, opts IterOptions, reverse bool) string {
	t.Helper()
	it, err := r.NewIter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	ok, step := it.First(), it.Next
	if reverse {
		ok, step = it.Last(), it.Prev
	}
	for ; ok; ok = step() {
		if !it.Valid() {
			t.Fatal("positioning returned true but Valid is false")
		}
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%s", it.Key(), v))
	}
	if it.Valid() {
		t.Fatal("positioning returned false but Valid is true")
	}
	if err := it.Err(); err != nil {
		out = append(out, "err: "+err.Error())
	}
	return strings.Join(out, " ")
}

func TestEngineOrderAndBatch(t *testing.T) {
	eng := OpenInMem()
	defer eng.Close()
	for _, kv := range []struct {
		k MVCCKey
		v string
	}{
		{MVCCKey{Key: []byte("b"), Timestamp: ts(1)}, "b1"},
		{MVCCKey{Key: []byte("a"), Timestamp: ts(1)}, "a1"},
		{MVCCKey{Key: []byte("a"), Timestamp: ts(3)}, "a3"},
		{MVCCKey{Key: []byte("a")}, "meta"},
		{MVCCKey{Key: []byte("a\x00"), Timestamp: ts(2)}, "a0"},
	} {
		if err := eng.Put(kv.k, []byte(kv.v)); err != nil {
			t.Fatal(err)
		}
	}
	const want = `"a"=meta "a"/0.000000003,0=a3 "a"/0.000000001,0=a1 "a\x00"/0.000000002,0=a0 "b"/0.000000001,0=b1`
	if got := collect(t, eng, IterOptions{}, false); got != want {
		t.Fatalf("forward:\n got %s\nwant %s", got, want)
	}
	// Bounds are user keys: [a\x00, b) holds every version of a\x00 only.
	if got := collect(t, eng, IterOptions{LowerBound: []byte("a\x00"), UpperBound: []byte("b")}, true); got != `"a\x00"/0.000000002,0=a0` {
		t.Fatalf("bounded reverse: %s", got)
	}

	b := eng.NewBatch()
	defer b.Close()
	if err := b.Clear(MVCCKey{Key: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(MVCCKey{Key: []byte("c"), Timestamp: ts(9)}, []byte("c9")); err != nil {
		t.Fatal(err)
	}
	if b.Empty() || b.Len() == 0 {
		t.Fatal("batch with writes reports empty")
	}
	const inBatch = `"a"/0.000000003,0=a3 "a"/0.000000001,0=a1 "a\x00"/0.000000002,0=a0 "b"/0.000000001,0=b1 "c"/0.000000009,0=c9`
	if got := collect(t, b, IterOptions{}, false); got != inBatch {
		t.Fatalf("batch view:\n got %s\nwant %s", got, inBatch)
	}
	if got := collect(t, eng, IterOptions{}, false); got != want {
		t.Fatalf("engine changed before commit: %s", got)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, eng, IterOptions{}, false); got != inBatch {
		t.Fatalf("after commit:\n got %s\nwant %s", got, inBatch)
	}
}

// TestCorruptKeysInEngine writes keys that no caller of this package can
// produce, straight into Pebble, and checks that iteration reports
// ErrCorruptKey instead of panicking or skipping them.
func TestCorruptKeysInEngine(t *testing.T) {
	for _, raw := range [][]byte{
		[]byte("b\x07"),          // unknown suffix length
		[]byte("b\x0d"),          // version suffix length but too short
		versioned("b", 1<<63, 0), // negative wall time
		func() []byte { k := versioned("b", 5, 0); k[1] = 1; return k }(), // no sentinel
	} {
		t.Run(fmt.Sprintf("%x", raw), func(t *testing.T) {
			eng := OpenInMem()
			defer eng.Close()
			for _, k := range []string{"a", "c"} {
				if err := eng.Put(MVCCKey{Key: []byte(k), Timestamp: ts(1)}, []byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := eng.RawPebble().Set(raw, []byte("x"), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			for _, reverse := range []bool{false, true} {
				got := collect(t, eng, IterOptions{}, reverse)
				if !strings.Contains(got, "err: "+ErrCorruptKey.Error()) {
					t.Fatalf("reverse=%t: iteration over %x gave %q, want ErrCorruptKey", reverse, raw, got)
				}
			}
			it, err := eng.NewIter(IterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			if it.SeekGE(MVCCKey{Key: []byte("b")}) {
				t.Fatalf("SeekGE onto %x succeeded with key %v", raw, it.Key())
			}
			if !errors.Is(it.Err(), ErrCorruptKey) {
				t.Fatalf("Err() = %v, want ErrCorruptKey", it.Err())
			}
			// A bounded iterator that never reaches the corrupt key is fine.
			if got := collect(t, eng, IterOptions{UpperBound: []byte("a\x00")}, false); got != `"a"/0.000000001,0=a` {
				t.Fatalf("bounded iteration: %s", got)
			}
			// The key formatter used in Pebble's logs does not panic either.
			if s := fmt.Sprint(Comparer.FormatKey(raw)); !bytes.HasPrefix([]byte(s), []byte("corrupt(")) {
				t.Fatalf("FormatKey(%x) = %s", raw, s)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	var c Config
	if err := c.Validate(); err == nil {
		t.Fatal("empty Config validated")
	}
	c = Config{InMemory: true}
	c.EnsureDefaults()
	if c.FS == nil || c.CacheBytes != 64<<20 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestFlushEmptyUserKey flushes enough versions of the empty user key to
// fill several sstable blocks, so that Pebble asks the Comparer for a
// separator between two of them.
func TestFlushEmptyUserKey(t *testing.T) {
	eng := OpenInMem()
	defer eng.Close()
	val := bytes.Repeat([]byte("v"), 100)
	for i := int64(1); i <= 200; i++ {
		for _, k := range []string{"", "b"} {
			if err := eng.Put(MVCCKey{Key: []byte(k), Timestamp: ts(i)}, val); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := eng.RawPebble().Flush(); err != nil {
		t.Fatal(err)
	}
	it, err := eng.NewIter(IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if err := it.Err(); err != nil || n != 400 {
		t.Fatalf("read back %d keys, err %v", n, err)
	}
}
