// Package latch owns span latches: short-lived, in-memory locks on key
// spans that serialize conflicting requests on one range while they evaluate
// and apply. Latches are not transaction locks (those live in the lock table
// and persist as intents); a latch is held only for the duration of one
// request and is never held across waiting for another transaction.
//
// latch imports nothing of ours.
//
// Invariants of a Manager:
//
//   - Two guards whose spans conflict (overlap, with at least one of the two
//     accesses a Write) are never held at the same time: the later one (in
//     arrival order, which is the order of entry into Acquire's critical
//     section) does not return from Acquire before the earlier one is
//     released.
//   - FIFO among conflicting requests: a request waits for every conflicting
//     request that arrived before it, held or still waiting. A writer queued
//     behind readers is therefore not overtaken by later readers, so writers
//     cannot be starved.
//   - A request waits only for requests that arrived before it, so waiting
//     can never deadlock.
//   - A cancelled Acquire leaves no trace: its guard is removed, and requests
//     that queued behind it proceed as if it had never arrived.
//
// Happens-before: everything a holder did before Release happens before the
// return of any later conflicting Acquire.
package latch
