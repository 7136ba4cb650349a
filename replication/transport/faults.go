package transport

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Faults is a fault injector keyed by ordered node pair: delay, seeded
// random drops, partitions, one-way blocks and node isolation. It holds the
// fault state only; a transport consults it (Delay when a message is sent,
// Drop per message, Blocked at send and at delivery). The gRPC transport of
// replication/rpc takes one in its Config; tests that run several nodes in
// one process share one Faults between them, and separate processes each
// configure their own with the same settings (e.g. parsed from
// --simulate-latency).
//
// MemTransport embeds one, so its fault setters are these. The zero value is not usable; call NewFaults. All
// methods are safe for concurrent use; a nil *Faults injects nothing.
type Faults struct {
	seed int64
	mu   struct {
		sync.Mutex
		delay    map[Pair]time.Duration
		dropRate map[Pair]float64
		rngs     map[Pair]*rand.Rand
		blocked  map[Pair]struct{}
		isolated map[int32]struct{}
	}
}

// NewFaults returns an injector with no faults. Random drops of each pair
// draw from a generator seeded by (seed, from, to).
func NewFaults(seed int64) *Faults {
	f := &Faults{seed: seed}
	f.mu.delay = make(map[Pair]time.Duration)
	f.mu.dropRate = make(map[Pair]float64)
	f.mu.rngs = make(map[Pair]*rand.Rand)
	f.mu.blocked = make(map[Pair]struct{})
	f.mu.isolated = make(map[int32]struct{})
	return f
}

// Blocked reports whether a partition, isolation or one-way block cuts
// messages from from to to.
func (f *Faults) Blocked(from, to int32) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.blockedLocked(Pair{from, to})
}

func (f *Faults) blockedLocked(key Pair) bool {
	if _, ok := f.mu.blocked[key]; ok {
		return true
	}
	if _, ok := f.mu.isolated[key.From]; ok {
		return true
	}
	_, ok := f.mu.isolated[key.To]
	return ok
}

// Drop decides whether one message sent now from from to to is dropped: it
// is when the pair is blocked, or by a draw against the pair's drop rate.
// It draws from the pair's generator only when the rate is strictly between
// 0 and 1, so a pair's drop pattern depends only on the seed and the number
// of messages sent on it.
func (f *Faults) Drop(from, to int32) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := Pair{from, to}
	if f.blockedLocked(key) {
		return true
	}
	p := f.mu.dropRate[key]
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	r, ok := f.mu.rngs[key]
	if !ok {
		r = rand.New(rand.NewPCG(uint64(f.seed), uint64(uint32(key.From))<<32|uint64(uint32(key.To))))
		f.mu.rngs[key] = r
	}
	return r.Float64() < p
}

// Delay returns the one-way delay applied to messages from from to to.
func (f *Faults) Delay(from, to int32) time.Duration {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.delay[Pair{from, to}]
}

// SetDelay sets the one-way delay of both directions between a and b. A
// delay ≤ 0 removes it.
func (f *Faults) SetDelay(a, b int32, oneWay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setDelayLocked(Pair{a, b}, oneWay)
	f.setDelayLocked(Pair{b, a}, oneWay)
}

// SetOneWayDelay sets the delay of messages from from to to only.
func (f *Faults) SetOneWayDelay(from, to int32, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setDelayLocked(Pair{from, to}, d)
}

func (f *Faults) setDelayLocked(key Pair, d time.Duration) {
	if d <= 0 {
		delete(f.mu.delay, key)
		return
	}
	f.mu.delay[key] = d
}

// SetLatencyMatrix sets the delay between every two distinct nodes of
// localityOf to half the round-trip time between their regions, exactly as
// MemTransport.SetLatencyMatrix does.
func (f *Faults) SetLatencyMatrix(localityOf map[int32]string, rtt map[[2]string]time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for a, ra := range localityOf {
		for b, rb := range localityOf {
			if a == b {
				continue
			}
			d, ok := rtt[[2]string{ra, rb}]
			if !ok {
				d = rtt[[2]string{rb, ra}]
			}
			f.setDelayLocked(Pair{a, b}, d/2)
		}
	}
}

// SetDropRate makes each message between a and b, in either direction, be
// dropped with probability p (clamped to [0, 1]).
func (f *Faults) SetDropRate(a, b int32, p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setDropRateLocked(Pair{a, b}, p)
	f.setDropRateLocked(Pair{b, a}, p)
}

// SetOneWayDropRate is SetDropRate for messages from from to to only.
func (f *Faults) SetOneWayDropRate(from, to int32, p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setDropRateLocked(Pair{from, to}, p)
}

func (f *Faults) setDropRateLocked(key Pair, p float64) {
	if !(p > 0) { // also catches NaN
		delete(f.mu.dropRate, key)
		return
	}
	f.mu.dropRate[key] = min(p, 1)
}

// Partition cuts every node of groupA from every node of groupB in both
// directions. Partitions accumulate until Heal.
func (f *Faults) Partition(groupA, groupB []int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range groupA {
		for _, b := range groupB {
			if a == b {
				continue
			}
			f.mu.blocked[Pair{a, b}] = struct{}{}
			f.mu.blocked[Pair{b, a}] = struct{}{}
		}
	}
}

// BlockOneWay cuts messages from from to to only, until Heal.
func (f *Faults) BlockOneWay(from, to int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.blocked[Pair{from, to}] = struct{}{}
}

// Isolate cuts node from every other node in both directions, until Heal.
func (f *Faults) Isolate(node int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.isolated[node] = struct{}{}
}

// Isolated reports whether node is isolated (Isolate).
func (f *Faults) Isolated(node int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.mu.isolated[node]
	return ok
}

// Unisolate ends the isolation of node only; partitions and one-way
// blocks stay.
func (f *Faults) Unisolate(node int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mu.isolated, node)
}

// Heal removes all partitions, one-way blocks and isolations. Delays and
// drop rates stay.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.mu.blocked)
	clear(f.mu.isolated)
}
