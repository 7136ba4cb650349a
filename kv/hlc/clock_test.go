package hlc

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// memPersister is an in-memory Persister whose writes can be made to fail.
type memPersister struct {
	mu       sync.Mutex
	bound    int64
	writes   int
	failWith error // if non-nil, PersistUpperBound fails with it
}

func (p *memPersister) LoadUpperBound() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bound, nil
}

func (p *memPersister) PersistUpperBound(wallNanos int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failWith != nil {
		return p.failWith
	}
	p.bound = wallNanos
	p.writes++
	return nil
}

func (p *memPersister) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failWith = err
}

func (p *memPersister) get() (bound int64, writes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bound, p.writes
}

func TestNowFollowsPhysicalTime(t *testing.T) {
	mc := NewManualClock(1000)
	c := NewClock(mc.UnixNano, 0)

	if got, want := c.Now(), (Timestamp{WallTime: 1000}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	// Physical time stands still: logical bumps.
	if got, want := c.Now(), (Timestamp{WallTime: 1000, Logical: 1}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	// Physical time moves forward: logical resets.
	mc.Increment(5)
	if got, want := c.Now(), (Timestamp{WallTime: 1005}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	// Physical time goes backwards: the clock does not.
	mc.Set(10)
	if got, want := c.Now(), (Timestamp{WallTime: 1005, Logical: 1}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
	if got := c.PhysicalNow(); got != 10 {
		t.Fatalf("PhysicalNow = %d, want 10", got)
	}
}

func TestNowLogicalOverflow(t *testing.T) {
	mc := NewManualClock(100)
	c := NewClock(mc.UnixNano, 0)
	c.mu.last = Timestamp{WallTime: 100, Logical: maxLogical}
	if got, want := c.Now(), (Timestamp{WallTime: 101}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
}

func TestNowConcurrentMonotonic(t *testing.T) {
	// A physical clock that wobbles backwards and forwards, as a real one
	// may under NTP adjustments.
	mc := NewManualClock(1_000_000)
	c := NewClock(mc.UnixNano, 0)
	const goroutines, perG = 8, 2000
	results := make([][]Timestamp, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			out := make([]Timestamp, 0, perG)
			for i := range perG {
				switch i % 7 {
				case 0:
					mc.Increment(3)
				case 3:
					mc.Increment(-2)
				}
				out = append(out, c.Now())
			}
			results[g] = out
		})
	}
	wg.Wait()

	seen := make(map[Timestamp]bool, goroutines*perG)
	for g, out := range results {
		for i, ts := range out {
			if i > 0 && !out[i-1].Less(ts) {
				t.Fatalf("goroutine %d: Now went from %s to %s", g, out[i-1], ts)
			}
			if seen[ts] {
				t.Fatalf("timestamp %s handed out twice", ts)
			}
			seen[ts] = true
		}
	}
}

func TestUpdate(t *testing.T) {
	mc := NewManualClock(1000)
	c := NewClock(mc.UnixNano, 500*time.Nanosecond)

	// A remote timestamp behind the clock is a no-op.
	c.Now() // 1000,0
	if err := c.Update(Timestamp{WallTime: 900, Logical: 7}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), (Timestamp{WallTime: 1000, Logical: 1}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}

	// A remote timestamp ahead (within max offset) ratchets the clock.
	remote := Timestamp{WallTime: 1400, Logical: 3}
	if err := c.Update(remote); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), remote.Next(); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}

	// Same wall time, higher logical.
	if err := c.Update(Timestamp{WallTime: 1400, Logical: 10}); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), (Timestamp{WallTime: 1400, Logical: 11}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}

	// Once physical time passes the remote wall time, it takes over.
	mc.Set(2000)
	if got, want := c.Now(), (Timestamp{WallTime: 2000}); got != want {
		t.Fatalf("Now = %s, want %s", got, want)
	}
}

func TestUpdateMaxOffset(t *testing.T) {
	mc := NewManualClock(10_000)
	c := NewClock(mc.UnixNano, 100*time.Nanosecond)
	if c.MaxOffset() != 100*time.Nanosecond {
		t.Fatalf("MaxOffset = %s", c.MaxOffset())
	}
	before := c.Now()

	// Exactly max offset ahead is accepted.
	if err := c.Update(Timestamp{WallTime: 10_100}); err != nil {
		t.Fatalf("Update at max offset: %v", err)
	}
	// One nanosecond more is rejected and leaves the clock alone.
	err := c.Update(Timestamp{WallTime: 10_201})
	if !errors.Is(err, ErrClockOffset) {
		t.Fatalf("Update beyond max offset: err = %v, want ErrClockOffset", err)
	}
	if got, want := c.Now(), (Timestamp{WallTime: 10_100, Logical: 1}); got != want || !before.Less(got) {
		t.Fatalf("Now after rejected Update = %s, want %s", got, want)
	}
	// The offset is measured against physical time, not the clock.
	mc.Increment(1000)
	if err := c.Update(Timestamp{WallTime: 11_050}); err != nil {
		t.Fatalf("Update after physical time advanced: %v", err)
	}

	// Max offset 0 disables the check.
	c0 := NewClock(mc.UnixNano, 0)
	if err := c0.Update(Timestamp{WallTime: 1 << 62}); err != nil {
		t.Fatalf("Update with check disabled: %v", err)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	const hour = int64(time.Hour)
	const interval = 10 * time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	p := &memPersister{}

	mc := NewManualClock(start)
	c := NewClock(mc.UnixNano, time.Second)
	if err := c.EnablePersistence(p, interval); err != nil {
		t.Fatal(err)
	}
	if bound, _ := p.get(); bound != start+int64(interval) {
		t.Fatalf("initial bound = %d, want %d", bound, start+int64(interval))
	}

	// Run the clock for a while, including past the bound several times and
	// with a remote timestamp pushing it ahead.
	var highest Timestamp
	for range 100 {
		mc.Increment(int64(time.Second) / 3)
		highest.Forward(c.Now())
	}
	if err := c.Update(Timestamp{WallTime: mc.UnixNano() + int64(time.Second)}); err != nil {
		t.Fatal(err)
	}
	highest.Forward(c.Now())
	bound, writes := p.get()
	if writes < 3 {
		t.Fatalf("expected several persists over ~34s with a 10s interval, got %d", writes)
	}
	if highest.WallTime >= bound {
		t.Fatalf("issued %s at or above persisted bound %d", highest, bound)
	}
	if err := c.PersistError(); err != nil {
		t.Fatal(err)
	}

	// "Restart" with the machine clock set back by an hour.
	mc2 := NewManualClock(mc.UnixNano() - hour)
	c2 := NewClock(mc2.UnixNano, time.Second)
	if got := c2.Now(); !got.Less(highest) {
		t.Fatalf("test setup: expected the unprotected clock to go backwards, got %s vs %s", got, highest)
	}
	c2 = NewClock(mc2.UnixNano, time.Second)
	if err := c2.EnablePersistence(p, interval); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if got := c2.Now(); !highest.Less(got) {
			t.Fatalf("after restart Now = %s, not above previously issued %s", got, highest)
		}
	}
	if err := c2.EnablePersistence(p, interval); err == nil {
		t.Fatal("second EnablePersistence succeeded")
	}
}

func TestPersistenceFailure(t *testing.T) {
	const interval = 100
	mc := NewManualClock(1000)
	c := NewClock(mc.UnixNano, 0)
	p := &memPersister{}
	if err := c.EnablePersistence(p, interval); err != nil {
		t.Fatal(err)
	}
	bound, _ := p.get() // 1100
	if bound != 1100 {
		t.Fatalf("bound = %d", bound)
	}

	errDisk := errors.New("disk on fire")
	p.setFail(errDisk)
	c.Now()        // 1000,0: below the bound, no persist needed
	mc.Set(5000)   // physical time jumps past the bound
	got := c.Now() // cannot persist: capped below the old bound
	if want := (Timestamp{WallTime: bound - 1}); got != want {
		t.Fatalf("Now with failing persister = %s, want %s", got, want)
	}
	if !errors.Is(c.PersistError(), errDisk) {
		t.Fatalf("PersistError = %v, want %v", c.PersistError(), errDisk)
	}
	prev := got
	for range 5 {
		got := c.Now()
		if got.WallTime >= bound || !prev.Less(got) {
			t.Fatalf("Now with failing persister = %s after %s (bound %d)", got, prev, bound)
		}
		prev = got
	}
	// Update cannot absorb a timestamp past the bound either.
	if err := c.Update(Timestamp{WallTime: 2000}); !errors.Is(err, errDisk) {
		t.Fatalf("Update with failing persister: err = %v", err)
	}
	// ... but can absorb one below it.
	if err := c.Update(Timestamp{WallTime: bound - 1, Logical: 100}); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); got != (Timestamp{WallTime: bound - 1, Logical: 101}) {
		t.Fatalf("Now = %s", got)
	}

	// Logical exhaustion at bound-1: non-decreasing, never past the bound.
	c.mu.Lock()
	c.mu.last = Timestamp{WallTime: bound - 1, Logical: maxLogical}
	c.mu.Unlock()
	if got := c.Now(); got != (Timestamp{WallTime: bound - 1, Logical: maxLogical}) {
		t.Fatalf("Now with exhausted logical = %s", got)
	}

	// The disk recovers: the next Now persists and catches up.
	p.setFail(nil)
	if got := c.Now(); got != (Timestamp{WallTime: 5000}) {
		t.Fatalf("Now after recovery = %s", got)
	}
	if c.PersistError() != nil {
		t.Fatalf("PersistError after recovery = %v", c.PersistError())
	}
	if bound, _ := p.get(); bound != 5000+interval {
		t.Fatalf("bound after recovery = %d", bound)
	}
}

func TestEnablePersistenceErrors(t *testing.T) {
	mc := NewManualClock(1000)
	c := NewClock(mc.UnixNano, 0)
	if err := c.EnablePersistence(&memPersister{}, 0); err == nil {
		t.Fatal("zero interval accepted")
	}
	p := &memPersister{bound: 5000}
	p.setFail(errors.New("read-only"))
	if err := c.EnablePersistence(p, time.Second); err == nil {
		t.Fatal("EnablePersistence succeeded with failing persister")
	}
	// Persistence is off, but the clock was still forwarded past the loaded
	// bound (conservative).
	if got := c.Now(); !(Timestamp{WallTime: 5000}).Less(got) {
		t.Fatalf("Now = %s", got)
	}
}

func TestManualClock(t *testing.T) {
	m := NewManualClock(5)
	m.Increment(10)
	if m.UnixNano() != 15 {
		t.Fatal(m.UnixNano())
	}
	m.Increment(-20)
	if m.UnixNano() != -5 {
		t.Fatal(m.UnixNano())
	}
	m.Set(42)
	if m.UnixNano() != 42 {
		t.Fatal(m.UnixNano())
	}
	if d := UnixNano() - time.Now().UnixNano(); d > int64(time.Second) || d < -int64(time.Second) {
		t.Fatalf("UnixNano off by %d", d)
	}
}
