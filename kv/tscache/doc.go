// Package tscache owns the timestamp cache: for key spans, the highest
// timestamp at which they were read and by which transaction. A write at or
// below a key's cached read timestamp must be pushed above it, or it would
// rewrite history under a reader that has already returned (serializability).
//
// tscache imports only kv/hlc of ours.
//
// The cache is an approximation from above: GetMax may answer with a larger
// timestamp than any recorded read (after eviction or SetLowWater), never a
// smaller one. Larger answers are always safe — writers get pushed further
// than needed and may have to retry — while a smaller answer would lose a
// read.
//
// Invariants of a Cache:
//
//   - For every key k and every Add(span ∋ k, ts, txn) since New, GetMax over
//     any span containing k returns a timestamp >= ts.
//   - The low-water mark is a read at lowWater by no transaction on every key.
//     It only moves forward: through SetLowWater, and through eviction when
//     more than maxEntries intervals are held.
//   - GetMax returns a non-zero TxnID only if that transaction is the sole
//     reader at the returned timestamp over the queried span. A caller
//     comparing it with its own ID can therefore never mistake another
//     reader's read (or the low-water mark) for its own.
package tscache
