// Package txnwait queues requests that wait for another transaction to
// finish, and detects deadlocks among the waiting transactions.
//
// A pusher meets an intent of a pending pushee and waits here until the
// pushee is finalized (Finalize), its own transaction is aborted, or its
// context ends. Each transaction waits on at most one other at a time, so
// the wait-for graph is a set of chains; a new edge that closes a chain into
// a cycle is a deadlock, and Enqueue names the victim: the member with the
// lowest priority (then the youngest, then the largest ID), so the choice is
// deterministic and every member agrees on it.
//
// With several ranges each range has its own queue, holding the waits on
// the transactions whose records it owns, so a cycle through records on
// different ranges is not visible to any single queue. A waiter therefore
// carries the edges it knows into its own transaction (WaitsFor, learned
// by asking its record's queue, EdgesInto) and the queue reports them on:
// EdgesInto(x) is every edge leading to x that this queue knows, directly
// or through carried edges. A pusher that finds its pushee among the
// transactions waiting on itself has found a cycle (kv/local does this).
//
// It imports only kv/kvpb of ours.
package txnwait

import (
	"bytes"
	"sync"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// Waiter is one registered wait.
type Waiter struct {
	pusher *kvpb.TxnMeta // nil for a non-transactional request
	pushee kvpb.TxnMeta
	// waitsFor are the edges into pusher that it carried.
	waitsFor []kvpb.WaitEdge
	// Done is closed when the pushee is finalized.
	Done chan struct{}
	// Aborted is closed when the pusher's own transaction is aborted while
	// it waits (a deadlock victim).
	Aborted chan struct{}
}

// Queue is goroutine-safe.
type Queue struct {
	mu struct {
		sync.Mutex
		byPushee map[kvpb.TxnID]map[*Waiter]struct{}
		// byPusher: the (single) wait of each waiting transaction.
		byPusher map[kvpb.TxnID]*Waiter
		// finalized remembers recently finalized IDs so that a waiter that
		// registers after Finalize does not wait for nothing. Bounded.
		finalized     map[kvpb.TxnID]struct{}
		finalizedRing []kvpb.TxnID
		ringPos       int
	}
}

const finalizedMemory = 4096

// New returns an empty queue.
func New() *Queue {
	q := &Queue{}
	q.mu.byPushee = map[kvpb.TxnID]map[*Waiter]struct{}{}
	q.mu.byPusher = map[kvpb.TxnID]*Waiter{}
	q.mu.finalized = map[kvpb.TxnID]struct{}{}
	q.mu.finalizedRing = make([]kvpb.TxnID, finalizedMemory)
	return q
}

// Enqueue registers pusher (nil when non-transactional) as waiting on
// pushee. Register before reading the pushee's record, so that a
// finalization in between is not missed. If the new edge closes a cycle,
// victim names the transaction to abort; the caller aborts it and calls
// Finalize for it.
//
// waitsFor are the edges into pusher that the pusher knows of (from other
// ranges' queues); EdgesInto reports them on.
func (q *Queue) Enqueue(pusher *kvpb.TxnMeta, pushee kvpb.TxnMeta, waitsFor []kvpb.WaitEdge) (w *Waiter, victim *kvpb.TxnMeta) {
	w = &Waiter{pusher: pusher, pushee: pushee, waitsFor: waitsFor, Done: make(chan struct{}), Aborted: make(chan struct{})}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.mu.finalized[pushee.ID]; ok {
		close(w.Done)
		return w, nil
	}
	set := q.mu.byPushee[pushee.ID]
	if set == nil {
		set = map[*Waiter]struct{}{}
		q.mu.byPushee[pushee.ID] = set
	}
	set[w] = struct{}{}
	if pusher == nil {
		return w, nil
	}
	q.mu.byPusher[pusher.ID] = w
	return w, q.findCycleLocked(*pusher)
}

// findCycleLocked follows the chain of waits from start; if it returns to
// start, the victim is the least valuable member of the cycle.
func (q *Queue) findCycleLocked(start kvpb.TxnMeta) *kvpb.TxnMeta {
	victim := start
	cur := q.mu.byPusher[start.ID]
	for steps := 0; cur != nil && steps <= len(q.mu.byPusher); steps++ {
		next := cur.pushee
		if next.ID == start.ID {
			return &victim
		}
		if w := q.mu.byPusher[next.ID]; w != nil && w.pusher != nil {
			// Use the meta the waiter registered with: it carries the
			// current priority.
			if LessValuable(*w.pusher, victim) {
				victim = *w.pusher
			}
		}
		cur = q.mu.byPusher[next.ID]
	}
	return nil
}

// LessValuable orders deadlock victims: lower priority first, then younger,
// then larger ID. It is a strict total order on distinct transactions, so
// every member of a cycle picks the same victim.
func LessValuable(a, b kvpb.TxnMeta) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	if a.MinTimestamp != b.MinTimestamp {
		return b.MinTimestamp.Less(a.MinTimestamp)
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}

// Dequeue removes a wait. Safe to call more than once.
func (q *Queue) Dequeue(w *Waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if set := q.mu.byPushee[w.pushee.ID]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(q.mu.byPushee, w.pushee.ID)
		}
	}
	if w.pusher != nil && q.mu.byPusher[w.pusher.ID] == w {
		delete(q.mu.byPusher, w.pusher.ID)
	}
}

// Finalize wakes everyone waiting on id, and the wait of id itself (which is
// now pointless: its transaction is over).
func (q *Queue) Finalize(id kvpb.TxnID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for w := range q.mu.byPushee[id] {
		close(w.Done)
		if w.pusher != nil && q.mu.byPusher[w.pusher.ID] == w {
			delete(q.mu.byPusher, w.pusher.ID)
		}
	}
	delete(q.mu.byPushee, id)
	if w := q.mu.byPusher[id]; w != nil {
		close(w.Aborted)
		delete(q.mu.byPusher, id)
		if set := q.mu.byPushee[w.pushee.ID]; set != nil {
			delete(set, w)
		}
	}
	old := q.mu.finalizedRing[q.mu.ringPos]
	delete(q.mu.finalized, old)
	q.mu.finalizedRing[q.mu.ringPos] = id
	q.mu.finalized[id] = struct{}{}
	q.mu.ringPos = (q.mu.ringPos + 1) % finalizedMemory
}

// maxEdges bounds the edges EdgesInto returns (and so what a PushTxn
// carries): a waits-for graph that large is beyond what detection by
// message passing serves; the waits end by expiry or lock timeouts.
const maxEdges = 1024

// EdgesInto returns the waits-for edges leading to id, transitively, that
// this queue knows: its waiters on id, the waiters on those waiters' own
// transactions when they are queued here too, and the edges every such
// waiter carried. At most maxEdges.
func (q *Queue) EdgesInto(id kvpb.TxnID) []kvpb.WaitEdge {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []kvpb.WaitEdge
	seen := map[kvpb.TxnID]bool{id: true}
	frontier := []kvpb.TxnID{id}
	type edgeKey struct{ a, b kvpb.TxnID }
	have := map[edgeKey]bool{}
	add := func(e kvpb.WaitEdge) {
		k := edgeKey{e.Waiter.ID, e.Holder.ID}
		if have[k] || len(out) >= maxEdges {
			return
		}
		have[k] = true
		out = append(out, e)
		if !seen[e.Waiter.ID] {
			seen[e.Waiter.ID] = true
			frontier = append(frontier, e.Waiter.ID)
		}
	}
	for len(frontier) > 0 && len(out) < maxEdges {
		x := frontier[0]
		frontier = frontier[1:]
		for w := range q.mu.byPushee[x] {
			if w.pusher == nil {
				continue
			}
			add(kvpb.WaitEdge{Waiter: *w.pusher, Holder: w.pushee})
			for _, e := range w.waitsFor {
				add(e)
			}
		}
	}
	return out
}

// Len returns the number of registered waits (tests, metrics).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, s := range q.mu.byPushee {
		n += len(s)
	}
	return n
}
