package tscache

import (
	"bytes"
	"sync"

	"github.com/google/btree"

	"github.com/outpostdb/outpost/kv/hlc"
)

// TxnID identifies the transaction that performed a read. The zero TxnID
// means a non-transactional reader, or "more than one reader" in answers.
type TxnID = [16]byte

// DefaultMaxEntries is the bound on held intervals used when New is given
// maxEntries <= 0. At roughly 200 bytes of overhead per interval plus its
// keys, that is about 13 MB plus keys.
const DefaultMaxEntries = 1 << 16

// btreeDegree is the degree of both B-trees; 32 is the usual sweet spot for
// pointer items.
const btreeDegree = 32

// value is what the cache holds for a key: the highest read timestamp and
// the sole transaction that read at it (zero if several, or none).
type value struct {
	ts  hlc.Timestamp
	txn TxnID
}

// merge returns the value for a key read by both a and b: the later read,
// and at equal timestamps the common reader if it is the same transaction,
// else the zero TxnID. It is commutative and associative.
func merge(a, b value) value {
	switch {
	case a.ts.Less(b.ts):
		return b
	case b.ts.Less(a.ts):
		return a
	case a.txn == b.txn:
		return a
	default:
		return value{ts: a.ts}
	}
}

// entry is a cached interval [start, end) with its value. Entries are
// immutable once inserted into the trees (their fields are the trees' sort
// keys); changing one means removing it and inserting a new one. Key bytes
// are owned by the cache and never modified, so entries may share them.
type entry struct {
	start, end []byte
	value
}

func lessByStart(a, b *entry) bool { return bytes.Compare(a.start, b.start) < 0 }

// lessByTS orders by timestamp, then start key. Starts are unique among held
// entries (they do not overlap), so this is a total order on them.
func lessByTS(a, b *entry) bool {
	if a.ts != b.ts {
		return a.ts.Less(b.ts)
	}
	return bytes.Compare(a.start, b.start) < 0
}

// Cache is the timestamp cache. It is safe for concurrent use; every method
// takes one mutex.
//
// It holds non-overlapping intervals in a B-tree ordered by start key (for
// lookups), and the same intervals in a second B-tree ordered by timestamp
// (to find eviction victims). Add costs O((k+1) log n) for a span overlapping
// k held intervals; GetMax the same; eviction O(log n) per evicted interval.
type Cache struct {
	maxEntries int // > 0

	mu struct {
		sync.Mutex
		// lowWater is a read by no transaction of every key.
		// Invariant: every held entry has ts > lowWater (the rest would be
		// redundant and are dropped).
		lowWater hlc.Timestamp
		// byStart and byTS hold the same entries.
		// Invariant: entries in byStart do not overlap and each has
		// start < end.
		// Invariant: byStart.Len() <= maxEntries after every method returns.
		byStart *btree.BTreeG[*entry]
		byTS    *btree.BTreeG[*entry]
		// evictions counts intervals dropped to respect maxEntries (not
		// those dropped because SetLowWater covered them).
		evictions int64
		// pivot and pivotHi are scratch entries for tree lookups, to avoid
		// allocating; only their start is set, and reset after use.
		pivot, pivotHi entry
		// overlaps and pieces are scratch slices reused by Add.
		overlaps []*entry
		pieces   []entry
	}
}

// New returns an empty cache whose low-water mark is lowWater, holding at
// most maxEntries intervals (DefaultMaxEntries if maxEntries <= 0). A new
// leaseholder passes a low-water mark at or above any read the previous
// leaseholder may have served (e.g. the new lease's start).
func New(lowWater hlc.Timestamp, maxEntries int) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	c := &Cache{maxEntries: maxEntries}
	c.mu.lowWater = lowWater
	c.mu.byStart = btree.NewG(btreeDegree, lessByStart)
	c.mu.byTS = btree.NewG(btreeDegree, lessByTS)
	return c
}

// Add records that txn (zero if non-transactional) read [start, end) at ts.
// If end is nil the read is of the single key start. An empty span
// (end <= start) is ignored, as is a read at or below the low-water mark,
// which already covers it. Add copies the keys; the caller keeps ownership
// of start and end.
//
// If the cache then holds more than maxEntries intervals, it evicts those
// with the lowest timestamps and raises the low-water mark to the highest
// evicted timestamp. This only ever makes later answers larger, never
// smaller, which is safe (see the package documentation).
func (c *Cache) Add(start, end []byte, ts hlc.Timestamp, txn TxnID) {
	if end != nil && bytes.Compare(start, end) >= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := value{ts: ts, txn: txn}
	if ts.LessEq(c.mu.lowWater) || c.coveredLocked(start, end, v) {
		return
	}
	start, end = copySpan(start, end)
	c.addLocked(start, end, v)
	c.evictLocked()
}

// coveredLocked reports whether a single held entry contains [start, end)
// (the key start if end is nil) and already absorbs v, so that adding v
// would change nothing. It saves the copy and tree updates of a repeated
// read.
func (c *Cache) coveredLocked(start, end []byte, v value) bool {
	e := c.floorLocked(start)
	if e == nil || merge(e.value, v) != e.value {
		return false
	}
	if end == nil {
		return bytes.Compare(start, e.end) < 0
	}
	return bytes.Compare(end, e.end) <= 0
}

// copySpan copies a span into one fresh allocation, turning a point (end ==
// nil) into [start, start+"\x00").
func copySpan(start, end []byte) (s, e []byte) {
	if end == nil {
		buf := make([]byte, len(start)+1)
		copy(buf, start)
		return buf[:len(start):len(start)], buf
	}
	buf := make([]byte, len(start)+len(end))
	copy(buf, start)
	copy(buf[len(start):], end)
	return buf[:len(start):len(start)], buf[len(start):]
}

// addLocked merges the read [start, end) with value v into the held
// intervals, keeping them non-overlapping: overlapped intervals are split at
// start and end, the overlapped parts take merge(old, v), the gaps take v,
// and contiguous pieces with equal values (including the neighbours just
// outside the span) are coalesced.
func (c *Cache) addLocked(start, end []byte, v value) {
	overlaps := c.overlapsLocked(start, end, c.mu.overlaps[:0])
	pieces := c.mu.pieces[:0]

	cur := start // pieces cover [start or before, cur)
	for _, e := range overlaps {
		s := e.start
		if bytes.Compare(s, start) < 0 {
			pieces = append(pieces, entry{start: s, end: start, value: e.value})
			s = start
		}
		if bytes.Compare(cur, s) < 0 {
			pieces = append(pieces, entry{start: cur, end: s, value: v})
		}
		en := e.end
		if bytes.Compare(end, en) < 0 {
			en = end
		}
		pieces = append(pieces, entry{start: s, end: en, value: merge(e.value, v)})
		cur = en
		if bytes.Compare(end, e.end) < 0 {
			pieces = append(pieces, entry{start: end, end: e.end, value: e.value})
		}
	}
	if bytes.Compare(cur, end) < 0 {
		pieces = append(pieces, entry{start: cur, end: end, value: v})
	}

	for _, e := range overlaps {
		c.removeLocked(e)
	}

	// Coalesce with the neighbours just outside the affected range.
	first, last := &pieces[0], &pieces[len(pieces)-1]
	if left := c.floorLocked(first.start); left != nil && left.value == first.value &&
		bytes.Equal(left.end, first.start) {
		c.removeLocked(left)
		first.start = left.start
	}
	if right := c.ceilLocked(last.end); right != nil && right.value == last.value &&
		bytes.Equal(right.start, last.end) {
		c.removeLocked(right)
		last.end = right.end
	}

	// Coalesce among the pieces and insert.
	run := pieces[0]
	for _, p := range pieces[1:] {
		if p.value == run.value && bytes.Equal(p.start, run.end) {
			run.end = p.end
			continue
		}
		c.insertLocked(run)
		run = p
	}
	c.insertLocked(run)

	// Drop references so the scratch slices do not pin keys.
	clear(overlaps)
	clear(pieces)
	c.mu.overlaps, c.mu.pieces = overlaps[:0], pieces[:0]
}

// overlapsLocked appends to buf, in key order, the held entries overlapping
// [start, end) and returns it.
func (c *Cache) overlapsLocked(start, end []byte, buf []*entry) []*entry {
	// At most one entry starting before start can overlap: the last one.
	if e := c.floorLocked(start); e != nil && bytes.Compare(e.start, start) < 0 &&
		bytes.Compare(start, e.end) < 0 {
		buf = append(buf, e)
	}
	c.ascendLocked(start, end, func(e *entry) bool {
		buf = append(buf, e)
		return true
	})
	return buf
}

// ascendLocked calls fn, in key order, on the held entries whose start is in
// [start, end), until fn returns false.
func (c *Cache) ascendLocked(start, end []byte, fn func(*entry) bool) {
	c.mu.pivot.start, c.mu.pivotHi.start = start, end
	c.mu.byStart.AscendRange(&c.mu.pivot, &c.mu.pivotHi, fn)
	c.mu.pivot.start, c.mu.pivotHi.start = nil, nil
}

// floorLocked returns the held entry with the largest start <= key, or nil.
func (c *Cache) floorLocked(key []byte) *entry {
	var found *entry
	c.mu.pivot.start = key
	c.mu.byStart.DescendLessOrEqual(&c.mu.pivot, func(e *entry) bool {
		found = e
		return false
	})
	c.mu.pivot.start = nil
	return found
}

// ceilLocked returns the held entry with the smallest start >= key, or nil.
func (c *Cache) ceilLocked(key []byte) *entry {
	var found *entry
	c.mu.pivot.start = key
	c.mu.byStart.AscendGreaterOrEqual(&c.mu.pivot, func(e *entry) bool {
		found = e
		return false
	})
	c.mu.pivot.start = nil
	return found
}

func (c *Cache) insertLocked(e entry) {
	p := &entry{start: e.start, end: e.end, value: e.value}
	c.mu.byStart.ReplaceOrInsert(p)
	c.mu.byTS.ReplaceOrInsert(p)
}

func (c *Cache) removeLocked(e *entry) {
	c.mu.byStart.Delete(e)
	c.mu.byTS.Delete(e)
}

// evictLocked enforces maxEntries by evicting the entries with the lowest
// timestamps into the low-water mark.
func (c *Cache) evictLocked() {
	for c.mu.byStart.Len() > c.maxEntries {
		e, _ := c.mu.byTS.Min()
		c.mu.lowWater.Forward(e.ts)
		n := c.mu.byStart.Len()
		c.dropCoveredLocked()
		c.mu.evictions += int64(n - c.mu.byStart.Len())
	}
}

// dropCoveredLocked drops the entries whose timestamp is at or below the
// low-water mark: the low-water mark gives the same answer for them.
func (c *Cache) dropCoveredLocked() {
	for {
		e, ok := c.mu.byTS.Min()
		if !ok || c.mu.lowWater.Less(e.ts) {
			return
		}
		c.removeLocked(e)
	}
}

// GetMax returns the highest read timestamp over [start, end) (the single
// key start if end is nil), counting the low-water mark as a read of every
// key, and the reading transaction if exactly one transaction read at that
// timestamp; otherwise the zero TxnID. For an empty span it returns the
// low-water mark.
func (c *Cache) GetMax(start, end []byte) (hlc.Timestamp, TxnID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := value{ts: c.mu.lowWater}
	if end == nil {
		// No key lies strictly between start and start+"\x00", so only the
		// entry containing start can overlap the point.
		if e := c.floorLocked(start); e != nil && bytes.Compare(start, e.end) < 0 {
			res = merge(res, e.value)
		}
		return res.ts, res.txn
	}
	if bytes.Compare(start, end) >= 0 {
		return res.ts, res.txn
	}
	if e := c.floorLocked(start); e != nil && bytes.Compare(e.start, start) < 0 &&
		bytes.Compare(start, e.end) < 0 {
		res = merge(res, e.value)
	}
	c.ascendLocked(start, end, func(e *entry) bool {
		res = merge(res, e.value)
		return true
	})
	return res.ts, res.txn
}

// SetLowWater forwards the low-water mark to ts (a no-op if ts is not
// higher), as a read of every key by no transaction. Used when a lease
// changes hands: the new leaseholder cannot know what the old one served.
func (c *Cache) SetLowWater(ts hlc.Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.lowWater.Forward(ts) {
		c.dropCoveredLocked()
	}
}

// LowWater returns the current low-water mark.
func (c *Cache) LowWater() hlc.Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.lowWater
}

// Len returns the number of intervals held (at most maxEntries).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.byStart.Len()
}
