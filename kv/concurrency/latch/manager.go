package latch

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrInvalidSpan is returned (wrapped) by Acquire for a span whose EndKey is
// set but not greater than its Key.
var ErrInvalidSpan = errors.New("latch: invalid span")

// Access is the kind of access a request makes to a span.
type Access int

const (
	// Read latches do not conflict with each other.
	Read Access = iota
	// Write latches conflict with every overlapping Read or Write latch.
	Write
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Span is a key span with the access a request makes to it. If EndKey is
// empty (nil) the span is the single key Key; otherwise it is [Key, EndKey)
// and EndKey must be greater than Key.
type Span struct {
	Key, EndKey []byte
	Access      Access
}

// isPoint reports whether s is the single key s.Key.
func (s Span) isPoint() bool { return len(s.EndKey) == 0 }

// contains reports whether the range span s contains key.
func (s Span) contains(key []byte) bool {
	return bytes.Compare(s.Key, key) <= 0 && bytes.Compare(key, s.EndKey) < 0
}

// overlaps reports whether a and b share a key.
func overlaps(a, b Span) bool {
	switch {
	case a.isPoint() && b.isPoint():
		return bytes.Equal(a.Key, b.Key)
	case a.isPoint():
		return b.contains(a.Key)
	case b.isPoint():
		return a.contains(b.Key)
	default:
		return bytes.Compare(a.Key, b.EndKey) < 0 && bytes.Compare(b.Key, a.EndKey) < 0
	}
}

// conflicts reports whether two latch sets cannot be held at once.
func conflicts(a, b []Span) bool {
	for _, sa := range a {
		for _, sb := range b {
			if (sa.Access == Write || sb.Access == Write) && overlaps(sa, sb) {
				return true
			}
		}
	}
	return false
}

// Guard is a set of latches acquired together by Acquire. It is released,
// exactly once, by Manager.Release.
type Guard struct {
	spans []Span
	// done is closed when the guard is released (or its Acquire cancelled).
	done chan struct{}
	// elem is the guard's place in Manager.mu.guards; nil once removed.
	// Guarded by the Manager's mutex.
	elem *list.Element
}

// Manager hands out span latches. The zero Manager is ready to use; it must
// not be copied after first use. It is safe for concurrent use.
//
// The implementation is deliberately simple: one mutex and a list of all
// guards (held or waiting) in arrival order. Acquire scans the whole list
// for conflicts, so it costs O(n·s·t) for n guards in the list with s and t
// spans; that is fine while the number of concurrent requests on one range
// is modest. An interval tree per access kind would make it O(log n + k).
type Manager struct {
	mu struct {
		sync.Mutex
		// guards holds every guard that has entered Acquire and not been
		// released or cancelled, in arrival order (*Guard elements).
		guards list.List
	}
}

// Acquire acquires latches on spans and returns the guard holding them. It
// first enters the queue, then blocks until every conflicting guard that
// arrived before it has been released. The guard copies the spans slice but
// retains the key bytes until Release: the caller must not modify them in
// the meantime.
//
// If ctx is done before the latches are acquired, Acquire removes its guard
// (leaving no trace) and returns ctx.Err(). A request that needs not wait
// succeeds even if ctx is already done. An invalid span yields an error
// wrapping ErrInvalidSpan.
func (m *Manager) Acquire(ctx context.Context, spans []Span) (*Guard, error) {
	for _, s := range spans {
		if !s.isPoint() && bytes.Compare(s.Key, s.EndKey) >= 0 {
			return nil, fmt.Errorf("%w: [%q, %q)", ErrInvalidSpan, s.Key, s.EndKey)
		}
	}
	spans = slices.Clone(spans)
	g := &Guard{spans: spans, done: make(chan struct{})}

	var waitFor []*Guard
	m.mu.Lock()
	for e := m.mu.guards.Front(); e != nil; e = e.Next() {
		if prev := e.Value.(*Guard); conflicts(prev.spans, spans) {
			waitFor = append(waitFor, prev)
		}
	}
	g.elem = m.mu.guards.PushBack(g)
	m.mu.Unlock()

	for _, prev := range waitFor {
		select {
		case <-prev.done:
		default:
			select {
			case <-prev.done:
			case <-ctx.Done():
				m.Release(g)
				return nil, ctx.Err()
			}
		}
	}
	return g, nil
}

// Release releases the latches held by g, waking the requests waiting for
// them. Releasing a nil guard is a no-op; releasing a guard twice panics.
func (m *Manager) Release(g *Guard) {
	if g == nil {
		return
	}
	m.mu.Lock()
	if g.elem == nil {
		m.mu.Unlock()
		panic("latch: guard released twice")
	}
	m.mu.guards.Remove(g.elem)
	g.elem = nil
	m.mu.Unlock()
	close(g.done)
}

// len returns the number of guards held or waiting; for tests.
func (m *Manager) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.guards.Len()
}
