// Package lease owns the rules of expiration-based range leases: when the
// holder of a Lease may serve a request (Lease.Evaluate), and when a replica
// may acquire or extend one (CanAcquire, Next). A range's lease is held by its
// Raft leader; the lease record itself is replicated through the Raft log by
// the replication package, which calls these functions with the previous
// lease read from the log at apply time.
//
// The package is pure: no goroutines, no I/O, no clocks of its own. Every
// function is a function of its arguments, so callers pass in "now" (a
// reading of the node's hlc.Clock) and the cluster's maximum clock offset
// (hlc.Clock.MaxOffset). Of our packages it imports only kv/hlc, and it must
// not import anything else of ours.
//
// # Clock assumptions
//
//  1. The physical clocks of all nodes are pairwise within maxOffset of each
//     other at every real instant. hlc.Clock.Update enforces the bound on
//     every timestamp received from a peer; nodes whose clocks drift further
//     must stop (that is the operator's and the server's job, not ours).
//  2. "now" is a reading of the node's hybrid clock (hlc.Clock.Now), which
//     never goes backwards. Every hybrid reading descends from some node's
//     physical clock, so at real instant t every node's reading lies in
//     [its own physical time, the largest physical time in the cluster],
//     which keeps hybrid readings of two nodes within maxOffset of each
//     other, too.
//
// # Invariant: an old leaseholder stops serving before a new one can start
//
// Let lease A, held by node a, expire at E. Then:
//
//   - A different node b can only acquire a new lease B when its own clock
//     reads now_b > E (CanAcquire, Next), and B starts at now_b.
//   - a treats A as Valid only while its clock reads now_a < E - maxOffset
//     (the "stasis" point, Lease.Stasis), and only for request timestamps
//     below the stasis point as well. Between stasis and E the lease is
//     Unsafe; from E on it is Expired. Either way a must not serve.
//
// At any real instant after b acquired B, now_b > E, so by assumption 1–2
// now_a >= now_b - maxOffset > E - maxOffset: a already refuses. So at no
// instant do two nodes both consider themselves Valid leaseholders, for any
// request timestamp. The request-timestamp ranges are disjoint as well: A
// serves only timestamps < E - maxOffset, and B is Valid only at timestamps
// < its own stasis; B's exclusive write interval [Start, Expiration) begins
// above E.
//
// A holder may be Valid for a request below its lease's Start (historical
// reads). Writes, however, must be evaluated above Start: the caller sets its
// timestamp-cache low-water mark to Start, so that a write can never land
// under a read that the previous holder served, nor under a timestamp that
// the previous holder closed (closed timestamps are below its expiration).
//
// Extending one's own lease keeps its Start and Sequence (the leases are
// Equivalent). A lease whose Sequence is older than the one a replica knows
// (the holder restarted, or the lease was transferred away and the record has
// not caught up) is Proscribed and must not be used: see EvaluateSeq.
package lease
