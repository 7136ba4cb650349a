package closedts

import (
	"container/heap"
	"sync"
	"sync/atomic"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Tracker records the timestamps of writes being evaluated, so that the
// leaseholder does not close a timestamp at or above any of them.
//
// Implementations are safe for concurrent use.
type Tracker interface {
	// Track registers an in-flight write at ts and returns the function that
	// unregisters it. ts must not be empty (Track panics). The release
	// function must be called once the write has been proposed (or
	// abandoned); calls after the first are no-ops, and it may be called
	// from any goroutine.
	Track(ts hlc.Timestamp) (release func())
	// LowerBound returns the smallest timestamp currently tracked, or the
	// empty timestamp if nothing is tracked.
	LowerBound() hlc.Timestamp
}

func checkTrackable(ts hlc.Timestamp) {
	if ts.IsEmpty() {
		panic("closedts: Track of an empty timestamp")
	}
}

// RefTracker is the reference Tracker: a multiset under a mutex, with an
// O(n) LowerBound. It is meant for tests and as the specification of
// FastTracker. The zero value is ready to use.
type RefTracker struct {
	mu struct {
		sync.Mutex
		// counts maps each tracked timestamp to its multiplicity.
		// Invariant: every value is > 0.
		counts map[hlc.Timestamp]int
	}
}

var _ Tracker = (*RefTracker)(nil)

// Track implements Tracker.
func (r *RefTracker) Track(ts hlc.Timestamp) func() {
	checkTrackable(ts)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.counts == nil {
		r.mu.counts = make(map[hlc.Timestamp]int)
	}
	r.mu.counts[ts]++
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.mu.counts[ts]--; r.mu.counts[ts] == 0 {
			delete(r.mu.counts, ts)
		}
	}
}

// LowerBound implements Tracker.
func (r *RefTracker) LowerBound() hlc.Timestamp {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lb hlc.Timestamp
	for ts := range r.mu.counts {
		if lb.IsEmpty() || ts.Less(lb) {
			lb = ts
		}
	}
	return lb
}

// FastTracker is a Tracker backed by a min-heap of distinct timestamps, each
// with a reference count and its heap index, so that a release removes its
// entry eagerly in O(log n) and LowerBound is O(1). Memory is proportional to
// the number of distinct timestamps in flight. The zero value is ready to
// use.
type FastTracker struct {
	mu struct {
		sync.Mutex
		// heap holds one entry per distinct tracked timestamp.
		// Invariant: len(heap) == len(byTs), every count > 0, and
		// heap[i].index == i.
		heap entryHeap
		byTs map[hlc.Timestamp]*entry
	}
}

var _ Tracker = (*FastTracker)(nil)

type entry struct {
	ts    hlc.Timestamp
	count int
	index int
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].ts.Less(h[j].ts) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// Track implements Tracker.
func (f *FastTracker) Track(ts hlc.Timestamp) func() {
	checkTrackable(ts)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.byTs == nil {
		f.mu.byTs = make(map[hlc.Timestamp]*entry)
	}
	e, ok := f.mu.byTs[ts]
	if !ok {
		e = &entry{ts: ts}
		f.mu.byTs[ts] = e
		heap.Push(&f.mu.heap, e)
	}
	e.count++
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.releaseLocked(e)
	}
}

func (f *FastTracker) releaseLocked(e *entry) {
	if e.count--; e.count > 0 {
		return
	}
	heap.Remove(&f.mu.heap, e.index)
	delete(f.mu.byTs, e.ts)
}

// LowerBound implements Tracker.
func (f *FastTracker) LowerBound() hlc.Timestamp {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.mu.heap) == 0 {
		return hlc.Timestamp{}
	}
	return f.mu.heap[0].ts
}
