package hlc

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClockOffset is returned (wrapped) by Clock.Update when the remote wall
// time is more than the clock's maximum offset ahead of local physical time.
var ErrClockOffset = errors.New("hlc: remote wall time too far ahead")

// maxLogical is the largest logical component a Timestamp can carry.
const maxLogical = 1<<31 - 1

// UnixNano returns the system's wall time in nanoseconds since the Unix
// epoch. It is the physical clock used in production: NewClock(UnixNano, …).
func UnixNano() int64 { return time.Now().UnixNano() }

// Persister stores an upper bound on the wall times a Clock may hand out, so
// that a restarted node can start its clock above everything the previous
// incarnation produced.
//
// Implementations must be safe for use by one Clock at a time; the Clock
// calls them while holding its mutex, so they must not call back into the
// Clock.
type Persister interface {
	// LoadUpperBound returns the last bound stored by PersistUpperBound, or 0
	// with a nil error if none was ever stored. A non-nil error means the
	// bound could not be read; the caller must not assume it is 0.
	LoadUpperBound() (int64, error)
	// PersistUpperBound durably stores wallNanos (it must be fsynced, or
	// equivalent, before returning nil). On a nil return, a later
	// LoadUpperBound, including after a crash, returns a value >= wallNanos.
	// On error, the stored bound may be either the old or the new value.
	PersistUpperBound(wallNanos int64) error
}

// Clock is a hybrid logical clock. It is safe for concurrent use.
//
// See the package documentation for its invariants.
type Clock struct {
	// physical returns the local physical time in Unix nanoseconds. It is
	// called without holding mu and may go backwards.
	physical  func() int64
	maxOffset time.Duration // 0 disables the offset check

	mu struct {
		sync.Mutex
		// last is the highest timestamp handed out by Now or absorbed by
		// Update. Every later Now returns a timestamp > last.
		// Invariant: persister == nil || last.WallTime < bound.
		last Timestamp

		// persister is nil until EnablePersistence succeeds.
		persister Persister
		// interval is how far ahead of the current wall time a new bound is
		// set, in nanoseconds; one persist per interval of wall time.
		interval int64
		// bound is the upper bound last persisted successfully. Only
		// meaningful when persister != nil.
		bound int64
		// persistErr is the error of the most recent persist attempt made
		// by Now or Update (nil if it succeeded).
		persistErr error
	}
}

// NewClock returns a clock that reads physical time from physical (Unix
// nanoseconds; use UnixNano in production and ManualClock.UnixNano in tests)
// and rejects remote timestamps more than maxOffset ahead of it. A maxOffset
// of zero disables that check, which only tests should do. NewClock panics
// if physical is nil or maxOffset is negative.
func NewClock(physical func() int64, maxOffset time.Duration) *Clock {
	if physical == nil {
		panic("hlc: NewClock with nil physical clock")
	}
	if maxOffset < 0 {
		panic(fmt.Sprintf("hlc: NewClock with negative max offset %s", maxOffset))
	}
	return &Clock{physical: physical, maxOffset: maxOffset}
}

// MaxOffset returns the maximum clock offset tolerated by Update (0 if the
// check is disabled).
func (c *Clock) MaxOffset() time.Duration { return c.maxOffset }

// PhysicalNow returns the physical clock's current reading, in Unix
// nanoseconds, without touching the hybrid clock.
func (c *Clock) PhysicalNow() int64 { return c.physical() }

// Now returns a timestamp strictly greater than every timestamp previously
// returned by Now or passed to a successful Update. Its wall time is the
// physical time if that is ahead of the clock, otherwise the clock's wall
// time with the logical counter bumped.
//
// With persistence enabled, when the next timestamp would reach the
// persisted upper bound, Now first persists a new bound (wall time +
// interval), synchronously and under the clock's mutex, so concurrent Now
// calls wait for that one write; this happens about once per interval.
//
// If that persist fails, Now never hands out a wall time at or above the old
// bound: it returns the largest safe timestamp instead — wall time bound-1,
// bumping only the logical counter on later calls — so the clock runs slow
// until a later call (each one retries) persists successfully. The failure
// is reported by PersistError. If 2^31 calls exhaust the logical counter at
// wall time bound-1 during one outage, Now keeps returning that last
// timestamp: the clock then is only non-decreasing rather than strictly
// increasing, which we prefer to breaking the restart guarantee or
// panicking.
func (c *Clock) Now() Timestamp {
	phys := c.physical()
	c.mu.Lock()
	defer c.mu.Unlock()

	next := c.mu.last.Next()
	if phys > next.WallTime {
		next = Timestamp{WallTime: phys}
	}
	if c.mu.persister != nil && next.WallTime >= c.mu.bound {
		if err := c.persistLocked(next.WallTime); err != nil {
			next = c.highestSafeLocked()
		}
	}
	c.mu.last = next
	return next
}

// highestSafeLocked returns the timestamp Now hands out when the persisted
// bound cannot be raised: the smallest timestamp above last whose wall time
// stays below the bound, or last itself when there is none.
func (c *Clock) highestSafeLocked() Timestamp {
	last := c.mu.last
	switch {
	case last.WallTime < c.mu.bound-1:
		return Timestamp{WallTime: c.mu.bound - 1}
	case last.Logical < maxLogical:
		return Timestamp{WallTime: last.WallTime, Logical: last.Logical + 1}
	default:
		return last
	}
}

// persistLocked raises the persisted bound to wall + interval and records
// the outcome for PersistError. On error the old bound stays in force.
func (c *Clock) persistLocked(wall int64) error {
	newBound := wall + c.mu.interval
	err := c.mu.persister.PersistUpperBound(newBound)
	c.mu.persistErr = err
	if err != nil {
		return err
	}
	c.mu.bound = newBound
	return nil
}

// Update ratchets the clock forward to remote, a timestamp received from
// another node, so that every later Now() is greater than remote. A remote
// timestamp at or below the clock's current value is a no-op.
//
// If remote's wall time is more than MaxOffset ahead of local physical time,
// Update returns an error wrapping ErrClockOffset and leaves the clock
// unchanged; the caller should reject the message that carried remote. With
// persistence enabled, if absorbing remote requires raising the persisted
// bound and that fails, Update returns the wrapped persist error, also
// leaving the clock unchanged.
func (c *Clock) Update(remote Timestamp) error {
	if c.maxOffset > 0 {
		phys := c.physical()
		if remote.WallTime > phys && remote.WallTime-phys > int64(c.maxOffset) {
			return fmt.Errorf("%w: remote %s is %s ahead of local physical time (max offset %s)",
				ErrClockOffset, remote, time.Duration(remote.WallTime-phys), c.maxOffset)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mu.last.Less(remote) {
		return nil
	}
	if c.mu.persister != nil && remote.WallTime >= c.mu.bound {
		if err := c.persistLocked(remote.WallTime); err != nil {
			return fmt.Errorf("hlc: persisting clock upper bound: %w", err)
		}
	}
	c.mu.last = remote
	return nil
}

// EnablePersistence makes the clock survive restarts without going
// backwards. It loads the bound U stored by a previous incarnation, forwards
// the clock so that every later Now() is above every wall time < U (the only
// ones the previous incarnation can have handed out), and persists a new
// bound max(physical now, U, clock) + interval. From then on the clock keeps
// the persisted bound ahead of every timestamp it hands out; see Now.
//
// interval (> 0) trades persist frequency against start-up delay: a node
// restarted within interval of its last persist waits until physical time
// passes the stored bound (at most 2*interval). Half a second is typical.
//
// EnablePersistence may be called once per Clock, normally at startup before
// the clock is used. On error (load or persist failed, bad interval, already
// enabled) persistence is not enabled, though the clock may have been
// forwarded to U.
func (c *Clock) EnablePersistence(p Persister, interval time.Duration) error {
	if p == nil {
		return errors.New("hlc: EnablePersistence with nil Persister")
	}
	if interval <= 0 {
		return fmt.Errorf("hlc: EnablePersistence with non-positive interval %s", interval)
	}
	upper, err := p.LoadUpperBound()
	if err != nil {
		return fmt.Errorf("hlc: loading clock upper bound: %w", err)
	}
	// A quick restart finds the bound a little ahead of physical time. Wait
	// it out rather than jump: jumping would push the clock further ahead
	// with every restart of a crash loop. A bound far ahead (the physical
	// clock was set back) is jumped to, not waited for.
	if ahead := time.Duration(upper - c.physical()); ahead > 0 && ahead <= 2*interval {
		time.Sleep(ahead)
	}
	phys := c.physical()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.persister != nil {
		return errors.New("hlc: persistence already enabled")
	}
	// Everything the previous incarnation handed out had a wall time < upper,
	// so {upper, 0} is above all of it and every later Now is above that.
	c.mu.last.Forward(Timestamp{WallTime: upper})
	newBound := max(phys, upper, c.mu.last.WallTime) + int64(interval)
	if err := p.PersistUpperBound(newBound); err != nil {
		return fmt.Errorf("hlc: persisting clock upper bound: %w", err)
	}
	c.mu.persister = p
	c.mu.interval = int64(interval)
	c.mu.bound = newBound
	c.mu.persistErr = nil
	return nil
}

// PersistError returns the error of the most recent attempt by Now or Update
// to raise the persisted upper bound, or nil if that attempt succeeded or
// none was made. While it is non-nil, Now runs slow (see Now) and Update may
// fail; operators should treat it as a storage failure.
func (c *Clock) PersistError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.persistErr
}
