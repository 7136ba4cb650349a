package tscache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/outpostdb/outpost/kv/hlc"
)

// refCache is the reference implementation: every read ever added, and a
// brute-force GetMax over them. It never evicts.
type refCache struct {
	lowWater hlc.Timestamp
	reads    []entry // end already normalised (points are [k, k+"\x00"))
}

func pointEnd(start, end []byte) []byte {
	if end == nil {
		return append(append([]byte(nil), start...), 0)
	}
	return end
}

func (r *refCache) Add(start, end []byte, ts hlc.Timestamp, txn TxnID) {
	end = pointEnd(start, end)
	if bytes.Compare(start, end) >= 0 {
		return
	}
	r.reads = append(r.reads, entry{
		start: append([]byte(nil), start...),
		end:   append([]byte(nil), end...),
		value: value{ts: ts, txn: txn},
	})
}

func (r *refCache) GetMax(start, end []byte) (hlc.Timestamp, TxnID) {
	end = pointEnd(start, end)
	maxTS := r.lowWater
	if bytes.Compare(start, end) >= 0 {
		return maxTS, TxnID{}
	}
	// Readers at the max: the low-water mark is a reader "none" (zero ID).
	for _, e := range r.reads {
		if bytes.Compare(e.start, end) < 0 && bytes.Compare(start, e.end) < 0 {
			maxTS.Forward(e.ts)
		}
	}
	readers := map[TxnID]bool{}
	if maxTS == r.lowWater {
		readers[TxnID{}] = true
	}
	for _, e := range r.reads {
		if bytes.Compare(e.start, end) < 0 && bytes.Compare(start, e.end) < 0 && e.ts == maxTS {
			readers[e.txn] = true
		}
	}
	if len(readers) == 1 {
		for txn := range readers {
			return maxTS, txn
		}
	}
	return maxTS, TxnID{}
}

func (r *refCache) SetLowWater(ts hlc.Timestamp) { r.lowWater.Forward(ts) }

// checkInvariants verifies the structural invariants documented on Cache.
func checkInvariants(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.byStart.Len() != c.mu.byTS.Len() {
		t.Fatalf("byStart has %d entries, byTS %d", c.mu.byStart.Len(), c.mu.byTS.Len())
	}
	if c.mu.byStart.Len() > c.maxEntries {
		t.Fatalf("%d entries held, max %d", c.mu.byStart.Len(), c.maxEntries)
	}
	var prev *entry
	c.mu.byStart.Ascend(func(e *entry) bool {
		if bytes.Compare(e.start, e.end) >= 0 {
			t.Fatalf("empty entry [%q, %q)", e.start, e.end)
		}
		if !c.mu.lowWater.Less(e.ts) {
			t.Fatalf("entry [%q, %q) at %s not above low water %s", e.start, e.end, e.ts, c.mu.lowWater)
		}
		if prev != nil && bytes.Compare(prev.end, e.start) > 0 {
			t.Fatalf("entries overlap: [%q, %q) and [%q, %q)", prev.start, prev.end, e.start, e.end)
		}
		if !c.mu.byTS.Has(e) {
			t.Fatalf("entry [%q, %q) missing from byTS", e.start, e.end)
		}
		prev = e
		return true
	})
}

var testTxns = []TxnID{{}, {1}, {2}, {3}}

// randKey returns a key of length 0..2 over a three-letter alphabet, so that
// spans collide often and both points and their "\x00" successors appear.
func randKey(rng *rand.Rand) []byte {
	const alphabet = "ab\x00c"
	k := make([]byte, rng.IntN(3))
	for i := range k {
		k[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return k
}

// randSpan returns a point (end nil) or a span with start < end, usually.
func randSpan(rng *rand.Rand) (start, end []byte) {
	start = randKey(rng)
	if rng.IntN(3) == 0 {
		return start, nil
	}
	end = randKey(rng)
	if rng.IntN(10) != 0 && bytes.Compare(start, end) > 0 {
		start, end = end, start // mostly valid spans; sometimes inverted
	}
	return start, end
}

func randTS(rng *rand.Rand) hlc.Timestamp {
	return hlc.Timestamp{WallTime: int64(rng.IntN(12)), Logical: int32(rng.IntN(3))}
}

func TestCacheRandomized(t *testing.T) {
	for _, maxEntries := range []int{1, 2, 5, 20, 1 << 20} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("max=%d/seed=%d", maxEntries, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(maxEntries)))
				low := hlc.Timestamp{WallTime: 1}
				c := New(low, maxEntries)
				ref := &refCache{lowWater: low}
				var log []string
				for i := range 300 {
					switch r := rng.IntN(100); {
					case r < 60:
						s, e := randSpan(rng)
						ts, txn := randTS(rng), testTxns[rng.IntN(len(testTxns))]
						log = append(log, fmt.Sprintf("add [%q, %q) %s txn=%d", s, e, ts, txn[0]))
						c.Add(s, e, ts, txn)
						ref.Add(s, e, ts, txn)
					case r < 63:
						ts := randTS(rng)
						log = append(log, fmt.Sprintf("low-water %s", ts))
						c.SetLowWater(ts)
						ref.SetLowWater(ts)
					default:
						s, e := randSpan(rng)
						gotTS, gotTxn := c.GetMax(s, e)
						wantTS, wantTxn := ref.GetMax(s, e)
						evicted := c.mu.evictions > 0 // single goroutine: no lock needed
						ok := gotTS == wantTS && gotTxn == wantTxn
						if evicted {
							// Eviction may only make answers larger; at an
							// equal timestamp the txn may become "none".
							ok = wantTS.Less(gotTS) ||
								(gotTS == wantTS && (gotTxn == wantTxn || gotTxn == TxnID{}))
						}
						if !ok {
							t.Fatalf("op %d: GetMax([%q, %q)) = %s txn=%d, reference %s txn=%d (evicted=%t)\nops:\n%s",
								i, s, e, gotTS, gotTxn[0], wantTS, wantTxn[0], evicted, joinLines(log))
						}
					}
					checkInvariants(t, c)
				}
				if maxEntries == 1<<20 && c.mu.evictions != 0 {
					t.Fatalf("unexpected evictions with a large bound")
				}
			})
		}
	}
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func TestCacheBasic(t *testing.T) {
	ts := func(w int64) hlc.Timestamp { return hlc.Timestamp{WallTime: w} }
	t1, t2 := TxnID{1}, TxnID{2}
	c := New(ts(10), 100)

	check := func(start, end string, wantTS hlc.Timestamp, wantTxn TxnID) {
		t.Helper()
		var e []byte
		if end != "" {
			e = []byte(end)
		}
		gotTS, gotTxn := c.GetMax([]byte(start), e)
		if gotTS != wantTS || gotTxn != wantTxn {
			t.Fatalf("GetMax(%q, %q) = %s %v, want %s %v", start, end, gotTS, gotTxn, wantTS, wantTxn)
		}
	}

	check("a", "", ts(10), TxnID{})
	c.Add([]byte("b"), []byte("d"), ts(20), t1)
	check("a", "", ts(10), TxnID{})
	check("b", "", ts(20), t1)
	check("c", "", ts(20), t1)
	check("d", "", ts(10), TxnID{})
	check("a", "b", ts(10), TxnID{})
	check("a", "b\x00", ts(20), t1)
	check("a", "z", ts(20), t1)

	// A second reader at the same timestamp: nobody owns the max.
	c.Add([]byte("c"), nil, ts(20), t2)
	check("b", "", ts(20), t1)
	check("c", "", ts(20), TxnID{})
	check("a", "z", ts(20), TxnID{})
	// The same reader again changes nothing.
	c.Add([]byte("b"), nil, ts(20), t1)
	check("b", "", ts(20), t1)

	// A later read wins outright.
	c.Add([]byte("c"), []byte("e"), ts(30), t2)
	check("c", "", ts(30), t2)
	check("b", "c", ts(20), t1)

	// Reads at or below the low-water mark are covered by it.
	c.Add([]byte("x"), nil, ts(10), t1)
	check("x", "", ts(10), TxnID{})

	// Forwarding the low-water mark drops covered entries.
	c.SetLowWater(ts(25))
	check("b", "", ts(25), TxnID{})
	check("d", "", ts(30), t2)
	if c.LowWater() != ts(25) || c.Len() != 1 {
		t.Fatalf("LowWater = %s, Len = %d", c.LowWater(), c.Len())
	}
	c.SetLowWater(ts(5)) // backwards: no-op
	if c.LowWater() != ts(25) {
		t.Fatalf("LowWater went backwards to %s", c.LowWater())
	}

	// Empty and inverted spans.
	c.Add([]byte("q"), []byte("q"), ts(99), t1)
	c.Add([]byte("r"), []byte("q"), ts(99), t1)
	check("q", "", ts(25), TxnID{})
	check("d", "c", ts(25), TxnID{})
}

func TestCacheCoalesces(t *testing.T) {
	c := New(hlc.Timestamp{}, 100)
	ts := hlc.Timestamp{WallTime: 7}
	// Adjacent reads with equal values become one interval.
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Add([]byte(k), []byte(k+"\xff\xff"), ts, TxnID{1})
		c.Add([]byte(k+"\xff\xff"), []byte(string(rune(k[0]+1))), ts, TxnID{1})
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d after adjacent equal adds, want 1", c.Len())
	}
	checkInvariants(t, c)
}

func TestCacheEviction(t *testing.T) {
	c := New(hlc.Timestamp{}, 3)
	for i := range 10 {
		k := []byte{byte('a' + 2*i)} // non-adjacent points: no coalescing
		c.Add(k, nil, hlc.Timestamp{WallTime: int64(10 + i)}, TxnID{byte(i + 1)})
	}
	checkInvariants(t, c)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	// The seven oldest were evicted into the low-water mark.
	if lw := c.LowWater(); lw != (hlc.Timestamp{WallTime: 16}) {
		t.Fatalf("LowWater = %s, want 16", lw)
	}
	for i := range 10 {
		k := []byte{byte('a' + 2*i)}
		ts, txn := c.GetMax(k, nil)
		want := hlc.Timestamp{WallTime: int64(10 + i)}
		if i < 7 {
			if ts != (hlc.Timestamp{WallTime: 16}) || txn != (TxnID{}) {
				t.Fatalf("evicted key %q: %s %v", k, ts, txn)
			}
		} else if ts != want || txn != (TxnID{byte(i + 1)}) {
			t.Fatalf("kept key %q: %s %v", k, ts, txn)
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := New(hlc.Timestamp{}, 64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for i := range 500 {
				s, e := randSpan(rng)
				ts := hlc.Timestamp{WallTime: int64(i + 1)}
				c.Add(s, e, ts, TxnID{byte(g)})
				if got, _ := c.GetMax(s, e); (e == nil || bytes.Compare(s, e) < 0) && got.Less(ts) {
					t.Errorf("GetMax after own Add = %s < %s", got, ts)
					return
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, c)
}

func benchKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "/table/%d/%08d", rng.IntN(4), rng.IntN(1_000_000))
	}
	return keys
}

func BenchmarkAdd(b *testing.B) {
	for _, span := range []bool{false, true} {
		b.Run(fmt.Sprintf("span=%t", span), func(b *testing.B) {
			keys := benchKeys(1 << 14)
			c := New(hlc.Timestamp{}, 1<<16)
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				var end []byte
				if span {
					end = keys[(i*7+1)%len(keys)]
					if bytes.Compare(k, end) > 0 {
						k, end = end, k
					}
				}
				c.Add(k, end, hlc.Timestamp{WallTime: int64(i + 1)}, TxnID{byte(i)})
				i++
			}
		})
	}
}

func BenchmarkGetMax(b *testing.B) {
	keys := benchKeys(1 << 14)
	c := New(hlc.Timestamp{}, 1<<16)
	for i, k := range keys {
		c.Add(k, nil, hlc.Timestamp{WallTime: int64(i + 1)}, TxnID{byte(i)})
	}
	ends := make([][]byte, len(keys))
	for i, k := range keys {
		ends[i] = append(k[:len(k):len(k)], 0xff) // covers about one key
	}
	for _, span := range []bool{false, true} {
		b.Run(fmt.Sprintf("span=%t", span), func(b *testing.B) {
			i := 0
			for b.Loop() {
				j := (i * 31) % len(keys)
				var end []byte
				if span {
					end = ends[j]
				}
				c.GetMax(keys[j], end)
				i++
			}
		})
	}
}
