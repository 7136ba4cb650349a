// Package closedts owns closed timestamps: the leaseholder's promise that no
// more writes will be evaluated at or below a timestamp T, and the follower
// side of that promise.
//
// On the leaseholder, evaluating writes register their timestamps with a
// Tracker while in flight, and Close computes the next closed timestamp:
//
//	closed = max(lastClosed, min(now - targetLag, LowerBound().Prev()))
//
// Two Trackers are provided: RefTracker, a simple reference (mutex + multiset,
// O(n) LowerBound), and FastTracker (mutex + indexed min-heap, O(log n)
// Track/release, O(1) LowerBound). Tests compare the two on random
// operation sequences.
//
// On followers, Follower records the (closed timestamp, log index) pairs the
// leaseholder published, with commands or through the side channel for idle
// ranges, and Check decides whether a read at T can be served locally: T must
// be closed, and the follower must have applied the log up to the index at
// which that closed timestamp was published. Refusals carry a numbered Reason
// for logging.
//
// The package is pure apart from the Trackers' mutexes: no goroutines, no
// I/O, no clocks of its own. Of our packages it imports only kv/hlc, and it
// must not import anything else of ours.
//
// Invariants:
//
//   - Close never returns a timestamp below lastClosed (closed timestamps of
//     a range only move forward).
//   - Close never returns a timestamp at or above an in-flight write, as
//     long as the caller keeps this contract: under one lock that Close also
//     runs under, a write is forwarded above the last closed timestamp and
//     then tracked. A tracked write at or below lastClosed is a caller bug;
//     Close then keeps lastClosed (the promise is already out).
//   - Follower.Check says OK only if readTs <= some published closed
//     timestamp C and appliedIndex >= the index at which C was published.
package closedts
