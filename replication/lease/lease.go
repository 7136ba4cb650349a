package lease

import (
	"errors"
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Lease is an expiration-based range lease, held by the range's Raft leader.
// The holder has the exclusive right to write at timestamps in
// [Start, Expiration), and may serve requests only while Evaluate says Valid.
//
// Invariant: Start < Expiration for every lease made by Next.
type Lease struct {
	// Replica is the node/replica ID of the holder; 0 means "no holder".
	Replica int32
	// Start is the holder's clock reading when the lease was acquired. It is
	// strictly above the previous holder's Expiration.
	Start hlc.Timestamp
	// Expiration is the first timestamp the lease no longer covers.
	Expiration hlc.Timestamp
	// Sequence numbers leases of a range: it is bumped for every new lease
	// and unchanged by an extension.
	Sequence int64
}

// Status is the outcome of evaluating a lease for one request. Only Valid
// allows the holder to serve.
type Status int

const (
	// Invalid is the zero Status; Evaluate never returns it.
	Invalid Status = iota
	// Valid: the holder may serve the request.
	Valid
	// Unsafe: the holder's clock, or the request timestamp, is within
	// maxOffset of Expiration. Another node may already see the lease as
	// expired, so the holder must not serve; it should extend the lease.
	Unsafe
	// Expired: the holder's clock, or the request timestamp, is at or past
	// Expiration.
	Expired
	// Proscribed: the lease's Sequence is older than the one the replica
	// knows (the holder restarted or the lease was transferred away).
	Proscribed
)

var statusNames = [...]string{"Invalid", "Valid", "Unsafe", "Expired", "Proscribed"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Errors returned by Next.
var (
	ErrLeaseHeld   = errors.New("lease: previous lease held by another replica has not expired")
	ErrNoHolder    = errors.New("lease: holder must be a non-zero replica ID")
	ErrBadDuration = errors.New("lease: duration must be positive")
)

// Stasis returns the point from which the holder must stop serving:
// Expiration moved back by maxOffset on the wall-time axis (the logical
// component is kept, so the margin is exactly maxOffset).
func (l Lease) Stasis(maxOffset time.Duration) hlc.Timestamp {
	return hlc.Timestamp{WallTime: l.Expiration.WallTime - int64(maxOffset), Logical: l.Expiration.Logical}
}

// Evaluate returns whether the holder, whose clock reads now, may serve a
// request at requestTs. With t = max(now, requestTs):
//
//	t <  Stasis(maxOffset)       Valid
//	t <  Expiration              Unsafe
//	otherwise                    Expired
//
// Evaluate does not check who the holder is (the caller compares Replica
// with its own ID) nor the Sequence (see EvaluateSeq). A zero Lease is
// Expired. maxOffset must be the cluster's maximum clock offset, the same
// value on all nodes.
func (l Lease) Evaluate(now hlc.Timestamp, maxOffset time.Duration, requestTs hlc.Timestamp) Status {
	t := hlc.Max(now, requestTs)
	switch {
	case !t.Less(l.Expiration):
		return Expired
	case !t.Less(l.Stasis(maxOffset)):
		return Unsafe
	default:
		return Valid
	}
}

// EvaluateSeq is Evaluate for a replica that knows minSequence is the oldest
// lease sequence still usable: a lease with an older Sequence is Proscribed,
// whatever the clocks say.
func (l Lease) EvaluateSeq(minSequence int64, now hlc.Timestamp, maxOffset time.Duration, requestTs hlc.Timestamp) Status {
	if l.Sequence < minSequence {
		return Proscribed
	}
	return l.Evaluate(now, maxOffset, requestTs)
}

// Covers reports whether ts lies in the lease's exclusive interval
// [Start, Expiration).
func (l Lease) Covers(ts hlc.Timestamp) bool {
	return l.Start.LessEq(ts) && ts.Less(l.Expiration)
}

// Equivalent reports whether other is the same lease as l, possibly
// extended: same holder and same sequence.
func (l Lease) Equivalent(other Lease) bool {
	return l.Replica == other.Replica && l.Sequence == other.Sequence
}

// Empty reports whether l is the zero Lease (no lease was ever granted).
func (l Lease) Empty() bool { return l == Lease{} }

func (l Lease) String() string {
	return fmt.Sprintf("r%d seq=%d [%s, %s)", l.Replica, l.Sequence, l.Start, l.Expiration)
}

// CanAcquire reports whether a replica other than prev's holder, whose clock
// reads now, may acquire a new lease: prev must have expired on that clock,
// i.e. now > prev.Expiration.
func CanAcquire(prev Lease, now hlc.Timestamp) bool {
	return prev.Expiration.Less(now)
}

// Next returns the lease that follows prev when holder, whose clock reads
// now, asks for a lease of the given duration.
//
//   - If prev has expired on holder's clock (now > prev.Expiration), the
//     result is a new lease [now, now+duration) with Sequence+1, whoever the
//     holder is.
//   - Otherwise, if holder already holds prev, the result is an extension:
//     same Start and Sequence, Expiration forwarded to now+duration (never
//     moved back).
//   - Otherwise ErrLeaseHeld.
//
// The caller must run Next against the lease that is current in the Raft
// log when the request applies, not the one it saw when proposing.
func Next(prev Lease, holder int32, now hlc.Timestamp, duration time.Duration) (Lease, error) {
	if holder == 0 {
		return Lease{}, ErrNoHolder
	}
	if duration <= 0 {
		return Lease{}, ErrBadDuration
	}
	exp := now.Add(duration)
	if CanAcquire(prev, now) {
		return Lease{Replica: holder, Start: now, Expiration: exp, Sequence: prev.Sequence + 1}, nil
	}
	if holder != prev.Replica {
		return Lease{}, fmt.Errorf("%w: %s, now %s", ErrLeaseHeld, prev, now)
	}
	next := prev
	next.Expiration.Forward(exp)
	return next, nil
}
