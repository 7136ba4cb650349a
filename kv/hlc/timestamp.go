package hlc

import (
	"fmt"
	"time"
)

// Timestamp is a hybrid logical clock reading: physical wall time in
// nanoseconds since the Unix epoch plus a logical counter that orders events
// sharing a wall time. The zero Timestamp is "no timestamp" and sorts first.
type Timestamp struct {
	WallTime int64 // nanoseconds since the Unix epoch
	Logical  int32
}

// MaxTimestamp sorts after every timestamp a clock can produce.
var MaxTimestamp = Timestamp{WallTime: 1<<63 - 1, Logical: 1<<31 - 1}

// IsEmpty reports whether t is the zero Timestamp.
func (t Timestamp) IsEmpty() bool { return t == Timestamp{} }

// Less reports whether t sorts strictly before u.
func (t Timestamp) Less(u Timestamp) bool {
	return t.WallTime < u.WallTime || (t.WallTime == u.WallTime && t.Logical < u.Logical)
}

// LessEq reports whether t sorts at or before u.
func (t Timestamp) LessEq(u Timestamp) bool { return !u.Less(t) }

// Compare returns -1, 0 or +1.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Less(u):
		return -1
	case u.Less(t):
		return 1
	}
	return 0
}

// Next returns the smallest timestamp greater than t.
func (t Timestamp) Next() Timestamp {
	if t.Logical == 1<<31-1 {
		return Timestamp{WallTime: t.WallTime + 1}
	}
	return Timestamp{WallTime: t.WallTime, Logical: t.Logical + 1}
}

// Prev returns the largest timestamp smaller than t (t must not be empty).
func (t Timestamp) Prev() Timestamp {
	if t.Logical > 0 {
		return Timestamp{WallTime: t.WallTime, Logical: t.Logical - 1}
	}
	return Timestamp{WallTime: t.WallTime - 1, Logical: 1<<31 - 1}
}

// Forward sets t to the later of t and u and reports whether t changed.
func (t *Timestamp) Forward(u Timestamp) bool {
	if t.Less(u) {
		*t = u
		return true
	}
	return false
}

// Max returns the later of t and u.
func Max(t, u Timestamp) Timestamp {
	if t.Less(u) {
		return u
	}
	return t
}

// Add returns t moved by d on the wall-time axis, logical reset to zero.
func (t Timestamp) Add(d time.Duration) Timestamp {
	return Timestamp{WallTime: t.WallTime + int64(d)}
}

// GoTime converts the wall component to a time.Time.
func (t Timestamp) GoTime() time.Time { return time.Unix(0, t.WallTime).UTC() }

// String renders "wall.logical" with wall in seconds and nine decimals, the
// form used by datadriven tests and logs.
func (t Timestamp) String() string {
	return fmt.Sprintf("%d.%09d,%d", t.WallTime/1e9, t.WallTime%1e9, t.Logical)
}

// Min returns the earlier of a and b.
func Min(a, b Timestamp) Timestamp {
	if b.Less(a) {
		return b
	}
	return a
}
