package txnwait

import (
	"testing"

	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
)

func meta(pri int32, start int64) kvpb.TxnMeta {
	return kvpb.TxnMeta{ID: uuid.New(), Priority: pri, MinTimestamp: hlc.Timestamp{WallTime: start}}
}

func TestFinalizeWakesWaiters(t *testing.T) {
	q := New()
	a, b := meta(1, 1), meta(1, 2)
	w, victim := q.Enqueue(&a, b, nil)
	if victim != nil {
		t.Fatal("no cycle expected")
	}
	q.Finalize(b.ID)
	select {
	case <-w.Done:
	default:
		t.Fatal("waiter not woken")
	}
	// A late waiter on a finalized transaction does not wait.
	w2, _ := q.Enqueue(nil, b, nil)
	select {
	case <-w2.Done:
	default:
		t.Fatal("late waiter waits for a finished transaction")
	}
	q.Dequeue(w)
	q.Dequeue(w2)
	if q.Len() != 0 {
		t.Fatalf("leftover waits: %d", q.Len())
	}
}

func TestDeadlockVictimIsLowestPriority(t *testing.T) {
	q := New()
	a, b, c := meta(5, 1), meta(1, 2), meta(9, 3)
	if _, v := q.Enqueue(&a, b, nil); v != nil {
		t.Fatal("a->b is no cycle")
	}
	if _, v := q.Enqueue(&b, c, nil); v != nil {
		t.Fatal("a->b->c is no cycle")
	}
	_, v := q.Enqueue(&c, a, nil)
	if v == nil {
		t.Fatal("a->b->c->a not detected")
	}
	if v.ID != b.ID {
		t.Fatalf("victim %s, want the lowest priority b", v.Short())
	}
}

func TestFinalizeAbortsVictimWait(t *testing.T) {
	q := New()
	a, b := meta(1, 1), meta(2, 2)
	wa, _ := q.Enqueue(&a, b, nil)
	_, v := q.Enqueue(&b, a, nil)
	if v == nil || v.ID != a.ID {
		t.Fatalf("want a as victim, got %v", v)
	}
	q.Finalize(a.ID) // the store aborted a
	select {
	case <-wa.Aborted:
	default:
		t.Fatal("victim's own wait not aborted")
	}
}

func TestNonTransactionalWaitersNeverDeadlock(t *testing.T) {
	q := New()
	a := meta(1, 1)
	if _, v := q.Enqueue(nil, a, nil); v != nil {
		t.Fatal("non-transactional waiter cannot be in a cycle")
	}
}

// EdgesInto reports the waits on a transaction transitively: direct
// waiters, waiters on those queued here too, and the edges waiters carry
// from other queues.
func TestEdgesInto(t *testing.T) {
	q := New()
	x, a, b, c, far := meta(1, 1), meta(1, 2), meta(1, 3), meta(1, 4), meta(1, 5)
	wa, _ := q.Enqueue(&a, x, nil)
	wb, _ := q.Enqueue(&b, a, nil)
	// c waits on x and knows (from its own record's range) that far waits on c.
	wc, _ := q.Enqueue(&c, x, []kvpb.WaitEdge{{Waiter: far, Holder: c}})
	got := map[[2]kvpb.TxnID]bool{}
	for _, e := range q.EdgesInto(x.ID) {
		got[[2]kvpb.TxnID{e.Waiter.ID, e.Holder.ID}] = true
	}
	want := [][2]kvpb.TxnID{{a.ID, x.ID}, {b.ID, a.ID}, {c.ID, x.ID}, {far.ID, c.ID}}
	if len(got) != len(want) {
		t.Fatalf("got %d edges, want %d", len(got), len(want))
	}
	for _, e := range want {
		if !got[e] {
			t.Errorf("missing edge %v", e)
		}
	}
	if n := len(q.EdgesInto(b.ID)); n != 0 {
		t.Fatalf("nobody waits on b, got %d edges", n)
	}
	q.Dequeue(wa)
	q.Dequeue(wb)
	q.Dequeue(wc)
	if n := len(q.EdgesInto(x.ID)); n != 0 {
		t.Fatalf("edges after dequeue: %d", n)
	}
}
