// Package hlc owns time for the kv layer: the hybrid logical clock (Clock),
// its Timestamp type, a manual physical clock for tests (ManualClock), and the
// Persister hook that keeps a node's clock from going backwards across
// restarts.
//
// A Timestamp is a physical wall time in Unix nanoseconds plus a logical
// counter that orders events sharing a wall time. A Clock hands out
// timestamps that are close to physical time yet respect causality: every
// timestamp it receives from another node (Update) is ratcheted into the
// clock, so that everything the node does afterwards is ordered after it.
//
// hlc is a leaf: it imports nothing of ours, and every other kv package may
// import it.
//
// Invariants of a Clock:
//
//   - Now is strictly increasing across all calls on one Clock, whatever the
//     physical clock does, including when it goes backwards. (The one
//     exception is documented on Clock.Now: 2^31 calls within a single
//     persistence outage.)
//   - After Update(r) returns nil, every later Now() is > r.
//   - Update rejects (ErrClockOffset) a remote timestamp whose wall time is
//     more than MaxOffset ahead of the local physical clock, and then leaves
//     the clock unchanged. This bounds how far a single bad peer can drag the
//     cluster's clocks into the future.
//   - With persistence enabled (EnablePersistence), no timestamp handed out
//     (by Now) or absorbed (by Update) has a wall time at or above the upper
//     bound last made durable by the Persister. After a restart, the new
//     Clock starts above that bound, so it is above everything the previous
//     incarnation ever produced, even if the machine's clock was set back.
package hlc
