package transport

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// DefaultQueueLimit is the default MemConfig.QueueLimit.
const DefaultQueueLimit = 1024

// MemConfig configures a MemTransport.
type MemConfig struct {
	// Seed seeds the random number generators of drop-rate injection. Each
	// ordered pair draws from its own generator derived from (Seed, from,
	// to), so a pair's drop pattern depends only on the seed and the
	// sequence of messages sent on that pair. Default 0.
	Seed int64
	// QueueLimit is the maximum number of messages queued (accepted but not
	// yet delivered) per ordered pair; Send drops the newest messages beyond
	// it. Default DefaultQueueLimit.
	QueueLimit int
}

// EnsureDefaults fills zero fields with their defaults.
func (c *MemConfig) EnsureDefaults() {
	if c.QueueLimit == 0 {
		c.QueueLimit = DefaultQueueLimit
	}
}

// Validate reports an invalid configuration.
func (c *MemConfig) Validate() error {
	if c.QueueLimit < 1 {
		return fmt.Errorf("transport: QueueLimit %d must be at least 1", c.QueueLimit)
	}
	return nil
}

// Pair is an ordered pair of node IDs.
type Pair struct {
	From, To int32
}

// PairStats counts messages (not batches) of one ordered pair. At any time
// Sent = Delivered + Dropped + Queued, except that messages still queued at
// Close are neither delivered nor dropped.
type PairStats struct {
	// Sent is every message passed to Send, dropped or not.
	Sent uint64
	// Delivered is the messages handed to the receiver's handler.
	Delivered uint64
	// Dropped is the sum of the three drop reasons below.
	Dropped uint64
	// DroppedFault is dropped by injected faults: drop rate, or a partition,
	// isolation or one-way block in force at send or at delivery time.
	DroppedFault uint64
	// DroppedOverflow is dropped by Send because the pair's queue was full.
	DroppedOverflow uint64
	// DroppedNoListener is dropped because the receiver had no handler at
	// delivery time.
	DroppedNoListener uint64
	// Queued is the messages accepted and not yet delivered or dropped.
	Queued int
}

// MemTransport is an in-memory Transport with fault injection. Create it with
// NewMem or NewMemWithConfig; it is safe for concurrent use.
//
// Faults may be changed at any time. Delay is sampled when a message is sent
// (a queued message keeps its delivery time, but never overtakes an earlier
// one); drop rate is applied at send time; partitions, isolation and one-way
// blocks are checked both at send and at delivery time, so a partition also
// cuts messages in flight.
type MemTransport struct {
	cfg MemConfig
	// Faults holds the injected faults; its setters (SetDelay, Partition,
	// Heal, ...) are MemTransport's. Partitions also cut messages already
	// queued: delivery checks Blocked again.
	*Faults

	// ctx is the parent of handler contexts; cancel is called by Close.
	ctx    context.Context
	cancel context.CancelFunc
	// stopC is closed by Close to stop the pair goroutines.
	stopC chan struct{}
	// wg counts the pair goroutines.
	wg sync.WaitGroup

	// mu guards everything below. It is taken by Send, Listen, the fault
	// setters, Stats and the pair goroutines, never across a handler call.
	mu struct {
		sync.Mutex
		closed    bool
		pairs     map[Pair]*memPair
		listeners map[int32]*memListener
		stats     map[Pair]*PairStats
		// snapListeners: see snapshot.go.
		snapListeners map[int32]*memSnapListener
	}
}

var _ Transport = (*MemTransport)(nil)

// memPair is the queue and delivery goroutine of one ordered pair. q and
// lastAt are guarded by MemTransport.mu.
type memPair struct {
	key Pair
	// wake has capacity 1; Send signals it (non-blocking) after queueing.
	wake   chan struct{}
	q      []queued
	lastAt time.Time
}

type queued struct {
	at time.Time
	m  Message
}

type memListener struct {
	h      Handler
	ctx    context.Context
	cancel context.CancelFunc
	// inflight counts handler calls in progress. Add is called with
	// MemTransport.mu held while the listener is registered, so once stop
	// has unregistered it, Wait cannot race with a new Add.
	inflight sync.WaitGroup
}

// NewMem returns a MemTransport with default configuration and the given
// drop-rate seed.
func NewMem(seed int64) *MemTransport {
	t, err := NewMemWithConfig(MemConfig{Seed: seed})
	if err != nil {
		panic(err) // defaults are valid
	}
	return t
}

// NewMemWithConfig returns a MemTransport configured by cfg (defaults filled).
func NewMemWithConfig(cfg MemConfig) (*MemTransport, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &MemTransport{cfg: cfg, stopC: make(chan struct{}), Faults: NewFaults(cfg.Seed)}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.mu.pairs = make(map[Pair]*memPair)
	t.mu.listeners = make(map[int32]*memListener)
	t.mu.stats = make(map[Pair]*PairStats)
	return t, nil
}

// Send implements Transport.
func (t *MemTransport) Send(from, to int32, msgs []Message) error {
	cloned := make([]Message, len(msgs))
	for i, m := range msgs {
		cloned[i] = Message{RangeID: m.RangeID, Msg: cloneMsg(m.Msg)}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		return ErrClosed
	}
	key := Pair{From: from, To: to}
	st := t.statsLocked(key)
	st.Sent += uint64(len(cloned))
	now := time.Now()
	var p *memPair
	queuedAny := false
	for _, m := range cloned {
		if t.Drop(key.From, key.To) {
			st.Dropped++
			st.DroppedFault++
			continue
		}
		if p == nil {
			p = t.pairLocked(key)
		}
		if len(p.q) >= t.cfg.QueueLimit {
			st.Dropped++
			st.DroppedOverflow++
			continue
		}
		at := now.Add(t.Faults.Delay(key.From, key.To))
		if at.Before(p.lastAt) {
			at = p.lastAt // never overtake an earlier message
		}
		p.lastAt = at
		p.q = append(p.q, queued{at: at, m: m})
		queuedAny = true
	}
	if queuedAny {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func cloneMsg(m *raftpb.Message) *raftpb.Message {
	if m == nil {
		return nil
	}
	return proto.Clone(m).(*raftpb.Message)
}

// Listen implements Transport.
func (t *MemTransport) Listen(node int32, h Handler) (stop func()) {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return func() {}
	}
	if _, ok := t.mu.listeners[node]; ok {
		t.mu.Unlock()
		panic(fmt.Sprintf("transport: node %d already has a listener", node))
	}
	l := &memListener{h: h}
	l.ctx, l.cancel = context.WithCancel(t.ctx)
	t.mu.listeners[node] = l
	t.mu.Unlock()

	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			if t.mu.listeners[node] == l {
				delete(t.mu.listeners, node)
			}
			t.mu.Unlock()
			l.cancel()
			l.inflight.Wait()
		})
	}
}

// Close implements Transport.
func (t *MemTransport) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	t.mu.Unlock()
	t.cancel()
	close(t.stopC)
	t.wg.Wait()
	return nil
}

// pairLocked returns the pair's queue, creating it and starting its delivery
// goroutine on first use.
func (t *MemTransport) pairLocked(key Pair) *memPair {
	p, ok := t.mu.pairs[key]
	if !ok {
		p = &memPair{key: key, wake: make(chan struct{}, 1)}
		t.mu.pairs[key] = p
		t.wg.Add(1)
		go t.runPair(p)
	}
	return p
}

// runPair delivers the pair's queue in order until Close.
func (t *MemTransport) runPair(p *memPair) {
	defer t.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		t.mu.Lock()
		if t.mu.closed {
			t.mu.Unlock()
			return
		}
		msgs, l, wait, took := t.takeReadyLocked(p, time.Now())
		t.mu.Unlock()

		if took {
			if l != nil {
				l.h.HandleRaft(l.ctx, p.key.From, msgs)
				l.inflight.Done()
			}
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-p.wake:
				timer.Stop()
			case <-t.stopC:
				return
			}
			continue
		}
		select {
		case <-p.wake:
		case <-t.stopC:
			return
		}
	}
}

// takeReadyLocked removes the due prefix of p's queue. took reports whether
// anything was removed; if so, msgs and l (with l.inflight incremented) are
// the batch to hand to the handler, or l is nil when the batch was dropped.
// If nothing is due, wait is the time until the head is due, or 0 when the
// queue is empty.
func (t *MemTransport) takeReadyLocked(
	p *memPair, now time.Time,
) (msgs []Message, l *memListener, wait time.Duration, took bool) {
	n := 0
	for n < len(p.q) && !p.q[n].at.After(now) {
		n++
	}
	if n == 0 {
		if len(p.q) == 0 {
			return nil, nil, 0, false
		}
		return nil, nil, max(p.q[0].at.Sub(now), time.Nanosecond), false
	}
	msgs = make([]Message, n)
	for i := range n {
		msgs[i] = p.q[i].m
		p.q[i] = queued{} // let the message be collected
	}
	p.q = p.q[n:]
	if len(p.q) == 0 {
		p.q = nil
	}

	st := t.statsLocked(p.key)
	if t.Blocked(p.key.From, p.key.To) {
		st.Dropped += uint64(n)
		st.DroppedFault += uint64(n)
		return nil, nil, 0, true
	}
	l = t.mu.listeners[p.key.To]
	if l == nil {
		st.Dropped += uint64(n)
		st.DroppedNoListener += uint64(n)
		return nil, nil, 0, true
	}
	st.Delivered += uint64(n)
	l.inflight.Add(1)
	return msgs, l, 0, true
}

func (t *MemTransport) statsLocked(key Pair) *PairStats {
	st, ok := t.mu.stats[key]
	if !ok {
		st = &PairStats{}
		t.mu.stats[key] = st
	}
	return st
}

// Stats returns a snapshot of the statistics of every ordered pair that has
// been sent on.
func (t *MemTransport) Stats() map[Pair]PairStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[Pair]PairStats, len(t.mu.stats))
	for key := range t.mu.stats {
		out[key] = t.statsForLocked(key)
	}
	return out
}

// StatsFor returns a snapshot of the statistics of messages from from to to.
func (t *MemTransport) StatsFor(from, to int32) PairStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statsForLocked(Pair{from, to})
}

func (t *MemTransport) statsForLocked(key Pair) PairStats {
	var st PairStats
	if s, ok := t.mu.stats[key]; ok {
		st = *s
	}
	if p, ok := t.mu.pairs[key]; ok {
		st.Queued = len(p.q)
	}
	return st
}
