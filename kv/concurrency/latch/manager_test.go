package latch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func key(s string) []byte { return []byte(s) }

func point(k string, a Access) Span { return Span{Key: key(k), Access: a} }

func span(k, end string, a Access) Span { return Span{Key: key(k), EndKey: key(end), Access: a} }

// waitForLen waits until m holds n guards (held or waiting).
func waitForLen(t *testing.T, m *Manager, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("manager has %d guards, want %d", m.len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// acquireAsync starts Acquire in a goroutine; the channel yields its result.
type result struct {
	g   *Guard
	err error
}

func acquireAsync(ctx context.Context, m *Manager, spans ...Span) <-chan result {
	ch := make(chan result, 1)
	go func() {
		g, err := m.Acquire(ctx, spans)
		ch <- result{g, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, m *Manager, spans ...Span) *Guard {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g, err := m.Acquire(ctx, spans)
	if err != nil {
		t.Fatalf("Acquire(%v): %v", spans, err)
	}
	return g
}

func expectBlocked(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("Acquire returned (%v) while it should be blocked", r.err)
	case <-time.After(20 * time.Millisecond):
	}
}

func expectAcquired(t *testing.T, ch <-chan result) *Guard {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Acquire: %v", r.err)
		}
		return r.g
	case <-time.After(5 * time.Second):
		t.Fatal("Acquire still blocked")
	}
	return nil
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b Span
		want bool
	}{
		{point("a", Read), point("a", Read), true},
		{point("a", Read), point("b", Read), false},
		{point("a", Read), point("a\x00", Read), false},
		{point("b", Read), span("a", "c", Read), true},
		{point("a", Read), span("a", "c", Read), true},
		{point("c", Read), span("a", "c", Read), false},
		{span("a", "c", Read), span("b", "d", Read), true},
		{span("a", "c", Read), span("c", "d", Read), false},
		{span("a", "d", Read), span("b", "c", Read), true},
		{span("", "b", Read), point("", Read), true},
	} {
		if got := overlaps(tc.a, tc.b); got != tc.want {
			t.Errorf("overlaps(%v, %v) = %t, want %t", tc.a, tc.b, got, tc.want)
		}
		if got := overlaps(tc.b, tc.a); got != tc.want {
			t.Errorf("overlaps(%v, %v) = %t, want %t", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestConflictMatrix(t *testing.T) {
	for _, tc := range []struct {
		a, b Access
		want bool
	}{
		{Read, Read, false},
		{Read, Write, true},
		{Write, Read, true},
		{Write, Write, true},
	} {
		t.Run(fmt.Sprintf("%s-%s", tc.a, tc.b), func(t *testing.T) {
			var m Manager
			g := mustAcquire(t, &m, span("a", "c", tc.a))
			ch := acquireAsync(context.Background(), &m, point("b", tc.b))
			if tc.want {
				expectBlocked(t, ch)
				m.Release(g)
				m.Release(expectAcquired(t, ch))
			} else {
				m.Release(expectAcquired(t, ch))
				m.Release(g)
			}
			// Disjoint spans never conflict.
			g = mustAcquire(t, &m, span("a", "c", tc.a))
			m.Release(mustAcquire(t, &m, point("c", tc.b)))
			m.Release(g)
			if m.len() != 0 {
				t.Fatalf("%d guards left", m.len())
			}
		})
	}
}

func TestWritersSerialize(t *testing.T) {
	var m Manager
	counter := 0 // not atomic: only latches protect it
	const goroutines, perG = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			// Different but overlapping spans all covering key "k".
			spans := [][]Span{
				{point("k", Write)},
				{span("a", "z", Write)},
				{span("k", "k\x00", Write), point("x", Read)},
				{point("b", Read), span("j", "l", Write)},
			}[g%4]
			for range perG {
				lg, err := m.Acquire(context.Background(), spans)
				if err != nil {
					t.Error(err)
					return
				}
				counter++
				m.Release(lg)
			}
		})
	}
	wg.Wait()
	if counter != goroutines*perG {
		t.Fatalf("counter = %d, want %d", counter, goroutines*perG)
	}
	if m.len() != 0 {
		t.Fatalf("%d guards left", m.len())
	}
}

func TestReadersConcurrent(t *testing.T) {
	var m Manager
	const readers = 4
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Every reader waits, while holding its latch, until all readers hold
	// theirs; this deadlocks (and times out) if readers serialize.
	var all sync.WaitGroup
	all.Add(readers)
	errs := make(chan error, readers)
	for i := range readers {
		go func() {
			g, err := m.Acquire(ctx, []Span{span("a", "z", Read), point(fmt.Sprint(i), Write)})
			if err != nil {
				errs <- err
				return
			}
			all.Done()
			waited := make(chan struct{})
			go func() { all.Wait(); close(waited) }()
			select {
			case <-waited:
				errs <- nil
			case <-ctx.Done():
				errs <- errors.New("readers did not hold their latches concurrently")
			}
			m.Release(g)
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	var m Manager
	holder := mustAcquire(t, &m, point("a", Write))

	ctx, cancel := context.WithCancel(context.Background())
	waiter := acquireAsync(ctx, &m, point("a", Write))
	waitForLen(t, &m, 2)
	// A third request queues behind the waiter (and the holder).
	behind := acquireAsync(context.Background(), &m, span("a", "b", Read))
	waitForLen(t, &m, 3)

	cancel()
	r := <-waiter
	if !errors.Is(r.err, context.Canceled) || r.g != nil {
		t.Fatalf("cancelled Acquire = %v, %v", r.g, r.err)
	}
	waitForLen(t, &m, 2) // the cancelled guard is gone
	expectBlocked(t, behind)

	m.Release(holder)
	m.Release(expectAcquired(t, behind))
	if m.len() != 0 {
		t.Fatalf("%d guards left", m.len())
	}

	// A cancelled context does not prevent an uncontended acquisition.
	g, err := m.Acquire(ctx, []Span{point("a", Write)})
	if err != nil {
		t.Fatalf("uncontended Acquire with cancelled ctx: %v", err)
	}
	m.Release(g)
}

func TestFIFO(t *testing.T) {
	var m Manager
	r1 := mustAcquire(t, &m, point("a", Read))

	w := acquireAsync(context.Background(), &m, span("a", "c", Write))
	waitForLen(t, &m, 2)
	expectBlocked(t, w)

	// A later reader conflicts with the queued writer and must not overtake
	// it, although it does not conflict with the held reader.
	r2 := acquireAsync(context.Background(), &m, point("b", Read))
	waitForLen(t, &m, 3)
	expectBlocked(t, r2)

	// A later request that conflicts with nobody is not held up.
	m.Release(mustAcquire(t, &m, point("z", Write)))

	m.Release(r1)
	wg := expectAcquired(t, w)
	expectBlocked(t, r2)
	m.Release(wg)
	m.Release(expectAcquired(t, r2))
}

func TestInvalidSpanAndRelease(t *testing.T) {
	var m Manager
	if _, err := m.Acquire(context.Background(), []Span{span("b", "a", Read)}); !errors.Is(err, ErrInvalidSpan) {
		t.Fatalf("inverted span: err = %v", err)
	}
	if _, err := m.Acquire(context.Background(), []Span{span("b", "b", Write)}); !errors.Is(err, ErrInvalidSpan) {
		t.Fatalf("empty span: err = %v", err)
	}
	if m.len() != 0 {
		t.Fatalf("%d guards left", m.len())
	}
	m.Release(nil)
	g := mustAcquire(t, &m, point("a", Write))
	m.Release(g)
	defer func() {
		if recover() == nil {
			t.Fatal("double Release did not panic")
		}
	}()
	m.Release(g)
}

// refConflicts is the reference conflict check: two latch sets conflict if
// some key of universe is in a span of each, one of the two a write.
func refConflicts(universe []string, a, b []Span) bool {
	in := func(k string, s Span) bool {
		if len(s.EndKey) == 0 {
			return k == string(s.Key)
		}
		return string(s.Key) <= k && k < string(s.EndKey)
	}
	for _, k := range universe {
		for _, sa := range a {
			for _, sb := range b {
				if in(k, sa) && in(k, sb) && (sa.Access == Write || sb.Access == Write) {
					return true
				}
			}
		}
	}
	return false
}

// TestRandomized runs random requests from several goroutines and checks,
// against a brute-force record of the guards currently held, that no two
// conflicting guards are ever held at once.
func TestRandomized(t *testing.T) {
	var m Manager
	var held struct {
		sync.Mutex
		spans map[int][]Span
	}
	held.spans = map[int][]Span{}
	keys := []string{"a", "b", "c", "d", "e"}
	// Every span below starts at a key of keys and ends at one of keys or
	// of keys×keys, so these keys witness every overlap.
	var universe []string
	for _, k := range keys {
		universe = append(universe, k)
		for _, k2 := range keys {
			universe = append(universe, k+k2)
		}
	}
	randSpans := func(rng *rand.Rand) []Span {
		n := 1 + rng.IntN(3)
		out := make([]Span, n)
		for i := range out {
			a := Access(rng.IntN(2))
			k := keys[rng.IntN(len(keys))]
			if rng.IntN(2) == 0 {
				out[i] = point(k, a)
			} else {
				out[i] = span(k, k+keys[rng.IntN(len(keys))], a)
			}
		}
		return out
	}

	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 300 {
				spans := randSpans(rng)
				ctx, cancel := context.WithCancel(context.Background())
				if rng.IntN(10) == 0 {
					cancel() // exercise cancellation paths
				}
				lg, err := m.Acquire(ctx, spans)
				cancel()
				if err != nil {
					continue
				}
				id := g*1000 + i
				held.Lock()
				for other, os := range held.spans {
					if refConflicts(universe, os, spans) {
						t.Errorf("%v held together with conflicting %v (guard %d)", spans, os, other)
					}
				}
				held.spans[id] = spans
				held.Unlock()
				if rng.IntN(4) == 0 {
					time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
				}
				held.Lock()
				delete(held.spans, id)
				held.Unlock()
				m.Release(lg)
			}
		})
	}
	wg.Wait()
	if m.len() != 0 {
		t.Fatalf("%d guards left", m.len())
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	var m Manager
	ctx := context.Background()
	spans := []Span{point("a", Write), span("b", "c", Read)}
	for b.Loop() {
		g, err := m.Acquire(ctx, spans)
		if err != nil {
			b.Fatal(err)
		}
		m.Release(g)
	}
}
