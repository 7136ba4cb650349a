package hlc

import "sync/atomic"

// ManualClock is a physical clock for tests whose reading only changes when
// told to. It is safe for concurrent use. Pass its UnixNano method to
// NewClock.
type ManualClock struct {
	nanos atomic.Int64 // Unix nanoseconds
}

// NewManualClock returns a ManualClock reading nanos (Unix nanoseconds).
func NewManualClock(nanos int64) *ManualClock {
	m := &ManualClock{}
	m.nanos.Store(nanos)
	return m
}

// UnixNano returns the current reading in Unix nanoseconds.
func (m *ManualClock) UnixNano() int64 { return m.nanos.Load() }

// Increment moves the reading by d nanoseconds (d may be negative, to
// simulate a clock that jumps backwards).
func (m *ManualClock) Increment(d int64) { m.nanos.Add(d) }

// Set sets the reading to nanos (Unix nanoseconds), forwards or backwards.
func (m *ManualClock) Set(nanos int64) { m.nanos.Store(nanos) }
