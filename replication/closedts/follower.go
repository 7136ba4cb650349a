package closedts

import (
	"fmt"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Reason says why a follower can or cannot serve a read. The numbers are
// stable, for logs and metrics.
type Reason int

const (
	// OK: the read can be served locally.
	OK Reason = 1
	// NotClosed: readTs is above every closed timestamp the follower knows.
	NotClosed Reason = 2
	// NotApplied: readTs is closed, but the follower has not yet applied the
	// log index at which that closed timestamp was published.
	NotApplied Reason = 3
)

func (r Reason) String() string {
	switch r {
	case OK:
		return "OK"
	case NotClosed:
		return "NotClosed"
	case NotApplied:
		return "NotApplied"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// maxPending is how many (closed, index) pairs a Follower keeps. Keeping a
// few older pairs lets a follower that applies slightly behind the
// leaseholder's publications still serve reads under an older closed
// timestamp instead of refusing everything until it catches up with the
// newest one.
const maxPending = 4

// closedAt is one publication: every write at or below closed is in the log
// at or before index.
type closedAt struct {
	closed hlc.Timestamp
	index  uint64
}

// Follower is the closed-timestamp state of one follower replica of one
// range. It is plain data: not safe for concurrent use (the replica guards it
// with its own mutex). The zero value knows no closed timestamp.
type Follower struct {
	// pairs holds the most recent publications, oldest first.
	// Invariant: closed is strictly increasing and index strictly increasing
	// along pairs (a pair with a higher closed timestamp and a lower or
	// equal index dominates the earlier ones, which are dropped), and
	// len(pairs) <= maxPending.
	pairs []closedAt
}

// Update records that the leaseholder closed closed, published at log index
// atIndex (the index of the command that carried it, or the applied index
// the side channel announced). Updates that do not raise the closed
// timestamp are ignored.
func (f *Follower) Update(closed hlc.Timestamp, atIndex uint64) {
	n := len(f.pairs)
	if n > 0 && !f.pairs[n-1].closed.Less(closed) {
		return
	}
	// Drop pairs dominated by the new one (no lower closed ts, no lower index).
	for n > 0 && f.pairs[n-1].index >= atIndex {
		n--
	}
	f.pairs = append(f.pairs[:n], closedAt{closed, atIndex})
	if len(f.pairs) > maxPending {
		f.pairs = append(f.pairs[:0], f.pairs[len(f.pairs)-maxPending:]...)
	}
}

// Closed returns the newest closed timestamp the follower knows and the
// index it was published at (empty and 0 if none).
func (f *Follower) Closed() (hlc.Timestamp, uint64) {
	if len(f.pairs) == 0 {
		return hlc.Timestamp{}, 0
	}
	p := f.pairs[len(f.pairs)-1]
	return p.closed, p.index
}

// Check says whether a read at readTs can be served by a follower that has
// applied the log up to appliedIndex: OK iff some published closed timestamp
// C >= readTs was published at an index <= appliedIndex.
func (f *Follower) Check(readTs hlc.Timestamp, appliedIndex uint64) Reason {
	closed := false
	for i := len(f.pairs) - 1; i >= 0; i-- {
		p := f.pairs[i]
		if p.closed.Less(readTs) {
			break // older pairs have lower closed timestamps
		}
		closed = true
		if p.index <= appliedIndex {
			return OK
		}
	}
	if !closed {
		return NotClosed
	}
	return NotApplied
}

// Servable returns the newest closed timestamp a follower that applied
// the log up to appliedIndex can serve reads at (empty if none).
func (f *Follower) Servable(appliedIndex uint64) hlc.Timestamp {
	for i := len(f.pairs) - 1; i >= 0; i-- {
		if f.pairs[i].index <= appliedIndex {
			return f.pairs[i].closed
		}
	}
	return hlc.Timestamp{}
}

// CanServe reports whether Check says OK.
func (f *Follower) CanServe(readTs hlc.Timestamp, appliedIndex uint64) bool {
	return f.Check(readTs, appliedIndex) == OK
}
