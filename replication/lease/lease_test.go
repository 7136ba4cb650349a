package lease

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

func ts(wall int64, logical int32) hlc.Timestamp {
	return hlc.Timestamp{WallTime: wall, Logical: logical}
}

func TestEvaluateBoundaries(t *testing.T) {
	const off = 10 * time.Nanosecond
	l := Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(200, 0), Sequence: 3}
	// Stasis is 190.
	for _, tc := range []struct {
		name     string
		now, req hlc.Timestamp
		want     Status
	}{
		{"well inside", ts(150, 0), ts(150, 0), Valid},
		{"request below start is served", ts(150, 0), ts(50, 0), Valid},
		{"zero request ts", ts(150, 0), hlc.Timestamp{}, Valid},
		{"now just before stasis", ts(189, 1<<31-1), ts(100, 0), Valid},
		{"now at stasis", ts(190, 0), ts(100, 0), Unsafe},
		{"now inside unsafe window", ts(195, 0), ts(100, 0), Unsafe},
		{"now just before expiration", ts(199, 1<<31-1), ts(100, 0), Unsafe},
		{"now at expiration", ts(200, 0), ts(100, 0), Expired},
		{"now past expiration", ts(250, 0), ts(100, 0), Expired},
		{"future request before stasis", ts(150, 0), ts(189, 5), Valid},
		{"future request at stasis", ts(150, 0), ts(190, 0), Unsafe},
		{"future request at expiration", ts(150, 0), ts(200, 0), Expired},
		{"future request past expiration", ts(150, 0), ts(300, 0), Expired},
	} {
		if got := l.Evaluate(tc.now, off, tc.req); got != tc.want {
			t.Errorf("%s: Evaluate(now=%s, req=%s) = %s, want %s", tc.name, tc.now, tc.req, got, tc.want)
		}
	}

	// Logical components of Expiration are kept by Stasis.
	ll := Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(200, 7)}
	if got := ll.Stasis(off); got != ts(190, 7) {
		t.Errorf("Stasis = %s, want 190,7", got)
	}
	if got := ll.Evaluate(ts(190, 6), off, hlc.Timestamp{}); got != Valid {
		t.Errorf("just below logical stasis: %s, want Valid", got)
	}
	if got := ll.Evaluate(ts(190, 7), off, hlc.Timestamp{}); got != Unsafe {
		t.Errorf("at logical stasis: %s, want Unsafe", got)
	}

	// Zero max offset: no unsafe window.
	if got := l.Evaluate(ts(199, 0), 0, hlc.Timestamp{}); got != Valid {
		t.Errorf("zero offset: %s, want Valid", got)
	}
	// A zero lease is expired.
	if got := (Lease{}).Evaluate(hlc.Timestamp{}, off, hlc.Timestamp{}); got != Expired {
		t.Errorf("zero lease: %s, want Expired", got)
	}
}

func TestEvaluateSeq(t *testing.T) {
	l := Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(200, 0), Sequence: 3}
	for _, tc := range []struct {
		minSeq int64
		now    hlc.Timestamp
		want   Status
	}{
		{2, ts(150, 0), Valid},
		{3, ts(150, 0), Valid},
		{4, ts(150, 0), Proscribed},
		{4, ts(300, 0), Proscribed}, // proscription wins over expiry
		{3, ts(195, 0), Unsafe},
		{3, ts(300, 0), Expired},
	} {
		if got := l.EvaluateSeq(tc.minSeq, tc.now, 10, ts(120, 0)); got != tc.want {
			t.Errorf("EvaluateSeq(min=%d, now=%s) = %s, want %s", tc.minSeq, tc.now, got, tc.want)
		}
	}
}

func TestCoversEquivalent(t *testing.T) {
	l := Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(200, 0), Sequence: 3}
	for _, tc := range []struct {
		ts   hlc.Timestamp
		want bool
	}{
		{ts(99, 1<<31-1), false},
		{ts(100, 0), true},
		{ts(150, 3), true},
		{ts(199, 1<<31-1), true},
		{ts(200, 0), false},
	} {
		if got := l.Covers(tc.ts); got != tc.want {
			t.Errorf("Covers(%s) = %v, want %v", tc.ts, got, tc.want)
		}
	}
	ext := l
	ext.Expiration = ts(400, 0)
	if !l.Equivalent(ext) {
		t.Error("extension not Equivalent")
	}
	other := l
	other.Sequence++
	if l.Equivalent(other) {
		t.Error("new sequence Equivalent")
	}
	other = l
	other.Replica = 2
	if l.Equivalent(other) {
		t.Error("other holder Equivalent")
	}
}

func TestNext(t *testing.T) {
	const d = 100 * time.Nanosecond
	prev := Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(200, 0), Sequence: 3}
	for _, tc := range []struct {
		name   string
		prev   Lease
		holder int32
		now    hlc.Timestamp
		want   Lease
		err    error
	}{
		{"first lease", Lease{}, 2, ts(10, 0), Lease{Replica: 2, Start: ts(10, 0), Expiration: ts(110, 0), Sequence: 1}, nil},
		{"extension", prev, 1, ts(150, 0), Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(250, 0), Sequence: 3}, nil},
		{"extension at expiration", prev, 1, ts(200, 0), Lease{Replica: 1, Start: ts(100, 0), Expiration: ts(300, 0), Sequence: 3}, nil},
		{"extension never shrinks", prev, 1, ts(50, 0), prev, nil},
		{"takeover before expiration", prev, 2, ts(150, 0), Lease{}, ErrLeaseHeld},
		{"takeover at expiration", prev, 2, ts(200, 0), Lease{}, ErrLeaseHeld},
		{"takeover just after expiration", prev, 2, ts(200, 1), Lease{Replica: 2, Start: ts(200, 1), Expiration: ts(300, 0), Sequence: 4}, nil},
		{"same holder after expiry gets a new lease", prev, 1, ts(250, 0), Lease{Replica: 1, Start: ts(250, 0), Expiration: ts(350, 0), Sequence: 4}, nil},
		{"no holder", prev, 0, ts(300, 0), Lease{}, ErrNoHolder},
	} {
		got, err := Next(tc.prev, tc.holder, tc.now, d)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	if _, err := Next(prev, 1, ts(150, 0), 0); !errors.Is(err, ErrBadDuration) {
		t.Errorf("zero duration: err = %v", err)
	}
	if CanAcquire(prev, ts(200, 0)) || !CanAcquire(prev, ts(200, 1)) || !CanAcquire(Lease{}, ts(0, 1)) {
		t.Error("CanAcquire boundary wrong")
	}
}

// TestRandomizedSafety simulates nodes whose hybrid clocks read, at real time
// t, anything in [t, t+maxOffset] (never going backwards), so any two clocks
// differ by at most maxOffset. The lease record is shared (it lives in the
// Raft log); each node may lag in learning about new leases and keeps
// evaluating the lease it last saw. At every step, for random request
// timestamps, at most one node may report Valid for its own lease.
func TestRandomizedSafety(t *testing.T) {
	const nodes = 3
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		maxOffset := time.Duration(1 + rng.IntN(50))
		dur := time.Duration(1 + rng.IntN(200))
		var (
			real  int64 = 1000
			cur   Lease
			known [nodes + 1]Lease
			last  [nodes + 1]hlc.Timestamp
			valid int // steps with some node Valid, to check the test does something
		)
		clock := func(n int) hlc.Timestamp {
			r := hlc.Timestamp{WallTime: real + rng.Int64N(int64(maxOffset)+1), Logical: rng.Int32N(3)}
			if !last[n].Less(r) {
				r = last[n].Next()
			}
			last[n] = r
			return r
		}
		for step := 0; step < 400; step++ {
			real += rng.Int64N(30)
			n := 1 + rng.IntN(nodes)
			switch rng.IntN(3) {
			case 0: // acquire or extend, applied atomically against the log's lease
				now := clock(n)
				if next, err := Next(cur, int32(n), now, dur); err == nil {
					if next.Replica != cur.Replica && !cur.Empty() && !cur.Expiration.Less(next.Start) {
						t.Fatalf("seed %d: new lease %s starts at or before previous expiration %s", seed, next, cur)
					}
					cur = next
					known[n] = cur
				}
			case 1: // n catches up with the log
				known[n] = cur
			}
			// Check the safety property at this instant.
			var nowAt [nodes + 1]hlc.Timestamp
			for m := 1; m <= nodes; m++ {
				nowAt[m] = clock(m)
			}
			reqs := []hlc.Timestamp{{}, {WallTime: real + rng.Int64N(300) - 150}}
			for m := 1; m <= nodes; m++ {
				reqs = append(reqs, nowAt[m], known[m].Start, known[m].Stasis(maxOffset).Prev())
			}
			for _, req := range reqs {
				holder := 0
				for m := 1; m <= nodes; m++ {
					l := known[m]
					if int(l.Replica) != m || l.Evaluate(nowAt[m], maxOffset, req) != Valid {
						continue
					}
					valid++
					if holder != 0 {
						t.Fatalf("seed %d step %d: nodes %d (%s, now %s) and %d (%s, now %s) both Valid at %s",
							seed, step, holder, known[holder], nowAt[holder], m, l, nowAt[m], req)
					}
					holder = m
				}
			}
		}
		if valid == 0 && dur > 4*maxOffset {
			t.Errorf("seed %d: no node was ever Valid; the simulation is vacuous", seed)
		}
	}
}
