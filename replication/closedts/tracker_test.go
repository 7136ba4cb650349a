package closedts

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

func ts(wall int64, logical int32) hlc.Timestamp {
	return hlc.Timestamp{WallTime: wall, Logical: logical}
}

// randTs draws from a small range so that duplicates are common.
func randTs(rng *rand.Rand) hlc.Timestamp {
	return ts(1+rng.Int64N(20), rng.Int32N(3))
}

func TestTrackersEmpty(t *testing.T) {
	for _, tr := range []Tracker{&RefTracker{}, &FastTracker{}} {
		if lb := tr.LowerBound(); !lb.IsEmpty() {
			t.Errorf("%T: empty tracker LowerBound = %s", tr, lb)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%T: Track of empty timestamp did not panic", tr)
				}
			}()
			tr.Track(hlc.Timestamp{})
		}()
	}
}

// TestRefVsFast runs the same random Track/release sequence (including
// duplicate timestamps and double releases) against both trackers and
// compares LowerBound after every operation, and against a brute-force model.
func TestRefVsFast(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		ref, fast := &RefTracker{}, &FastTracker{}
		type held struct {
			ts         hlc.Timestamp
			relR, relF func()
		}
		var live []held
		for op := 0; op < 300; op++ {
			if len(live) == 0 || rng.IntN(100) < 55 {
				x := randTs(rng)
				live = append(live, held{x, ref.Track(x), fast.Track(x)})
			} else {
				i := rng.IntN(len(live))
				h := live[i]
				h.relR()
				h.relF()
				if rng.IntN(4) == 0 { // double release is a no-op
					h.relR()
					h.relF()
				}
				live = append(live[:i], live[i+1:]...)
			}
			var want hlc.Timestamp
			for _, h := range live {
				if want.IsEmpty() || h.ts.Less(want) {
					want = h.ts
				}
			}
			if r, f := ref.LowerBound(), fast.LowerBound(); r != want || f != want {
				t.Fatalf("seed %d op %d: ref %s fast %s model %s", seed, op, r, f, want)
			}
		}
	}
}

// TestTrackersConcurrent has 4 goroutines track and release on both trackers
// at once (run under -race). While a goroutine holds a timestamp, both
// trackers' LowerBound must be at or below it; at the end each goroutine
// keeps a few timestamps tracked and both trackers must agree on their
// minimum, then be empty once everything is released.
func TestTrackersConcurrent(t *testing.T) {
	ref, fast := &RefTracker{}, &FastTracker{}
	const workers = 4
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		leftover []hlc.Timestamp
		releases []func()
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			type held struct {
				ts   hlc.Timestamp
				r, f func()
			}
			var live []held
			for op := 0; op < 2000; op++ {
				if len(live) < 8 && (len(live) == 0 || rng.IntN(2) == 0) {
					x := randTs(rng)
					live = append(live, held{x, ref.Track(x), fast.Track(x)})
				} else {
					i := rng.IntN(len(live))
					live[i].r()
					live[i].f()
					live = append(live[:i], live[i+1:]...)
				}
				for _, h := range live {
					for _, lb := range []hlc.Timestamp{ref.LowerBound(), fast.LowerBound()} {
						if lb.IsEmpty() || h.ts.Less(lb) {
							t.Errorf("worker %d: LowerBound %s above held %s", w, lb, h.ts)
							return
						}
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, h := range live {
				leftover = append(leftover, h.ts)
				releases = append(releases, h.r, h.f)
			}
		}()
	}
	wg.Wait()
	var want hlc.Timestamp
	for _, x := range leftover {
		if want.IsEmpty() || x.Less(want) {
			want = x
		}
	}
	if r, f := ref.LowerBound(), fast.LowerBound(); r != want || f != want {
		t.Fatalf("final: ref %s fast %s want %s", r, f, want)
	}
	for _, rel := range releases {
		rel()
	}
	if r, f := ref.LowerBound(), fast.LowerBound(); !r.IsEmpty() || !f.IsEmpty() {
		t.Fatalf("after releasing all: ref %s fast %s", r, f)
	}
	if n := len(fast.mu.heap) + len(fast.mu.byTs); n != 0 {
		t.Fatalf("fast tracker retains %d entries", n)
	}
}

func TestCloseTable(t *testing.T) {
	const lag = 10 * time.Nanosecond
	for _, tc := range []struct {
		name       string
		now        hlc.Timestamp
		tracked    []hlc.Timestamp
		lastClosed hlc.Timestamp
		want       hlc.Timestamp
	}{
		{"idle: now - lag", ts(100, 5), nil, ts(50, 0), ts(90, 0)},
		{"in-flight write below target", ts(100, 0), []hlc.Timestamp{ts(80, 3), ts(95, 0)}, ts(50, 0), ts(80, 2)},
		{"in-flight write at logical 0", ts(100, 0), []hlc.Timestamp{ts(80, 0)}, ts(50, 0), ts(79, 1<<31-1)},
		{"in-flight write above target", ts(100, 0), []hlc.Timestamp{ts(95, 0)}, ts(50, 0), ts(90, 0)},
		{"monotonic: target below last", ts(100, 0), nil, ts(95, 0), ts(95, 0)},
		{"monotonic: write pins below last", ts(100, 0), []hlc.Timestamp{ts(60, 0)}, ts(70, 0), ts(70, 0)},
	} {
		for _, tr := range []Tracker{&RefTracker{}, &FastTracker{}} {
			for _, x := range tc.tracked {
				tr.Track(x)
			}
			if got := Close(tc.now, lag, tr, tc.lastClosed); got != tc.want {
				t.Errorf("%s (%T): Close = %s, want %s", tc.name, tr, got, tc.want)
			}
		}
	}
}

// TestCloseRandomized drives a leaseholder: writes are forwarded above the
// last closed timestamp (the package contract), tracked, and released at
// random; Close runs in between. The closed timestamp must never regress,
// never reach an in-flight write, and never pass now - lag unless it already
// had.
func TestCloseRandomized(t *testing.T) {
	for seed := uint64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		lag := time.Duration(rng.Int64N(50))
		tr := Tracker(&FastTracker{})
		if seed%2 == 0 {
			tr = &RefTracker{}
		}
		var (
			now    = ts(1000, 0)
			closed hlc.Timestamp
			live   []hlc.Timestamp
			rels   []func()
			moved  bool
		)
		for op := 0; op < 500; op++ {
			now = hlc.Max(now.Next(), now.Add(time.Duration(rng.Int64N(10))))
			switch rng.IntN(3) {
			case 0: // a write at now minus some slack, forwarded above closed
				w := ts(now.WallTime-rng.Int64N(100), rng.Int32N(3))
				if w.LessEq(closed) {
					w = closed.Next()
				}
				live = append(live, w)
				rels = append(rels, tr.Track(w))
			case 1:
				if len(live) > 0 {
					i := rng.IntN(len(live))
					rels[i]()
					live = append(live[:i], live[i+1:]...)
					rels = append(rels[:i], rels[i+1:]...)
				}
			default:
				next := Close(now, lag, tr, closed)
				if next.Less(closed) {
					t.Fatalf("seed %d: closed regressed %s -> %s", seed, closed, next)
				}
				for _, w := range live {
					if w.LessEq(next) {
						t.Fatalf("seed %d: closed %s at or above in-flight write %s", seed, next, w)
					}
				}
				if next != closed && now.Add(-lag).Less(next) {
					t.Fatalf("seed %d: closed %s above now-lag %s", seed, next, now.Add(-lag))
				}
				moved = moved || closed.Less(next)
				closed = next
			}
		}
		if !moved {
			t.Errorf("seed %d: closed timestamp never advanced", seed)
		}
	}
}

func BenchmarkTrackers(b *testing.B) {
	for _, mk := range []func() Tracker{
		func() Tracker { return &RefTracker{} },
		func() Tracker { return &FastTracker{} },
	} {
		tr := mk()
		b.Run(func() string {
			if _, ok := tr.(*RefTracker); ok {
				return "ref"
			}
			return "fast"
		}(), func(b *testing.B) {
			// Keep 1000 writes in flight.
			rels := make([]func(), 1000)
			for i := range rels {
				rels[i] = tr.Track(ts(int64(i+1), 0))
			}
			i := 0
			for b.Loop() {
				rels[i%len(rels)]()
				rels[i%len(rels)] = tr.Track(ts(int64(i+1001), 0))
				_ = tr.LowerBound()
				i++
			}
		})
	}
}
