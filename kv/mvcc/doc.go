// Package mvcc implements multi-version concurrency control over the
// storage package: reads at a timestamp, tombstones, write intents,
// intent resolution, refresh checks and garbage collection.
//
// Layout of one user key k (engine order):
//
//	k            intent metadata (TxnMeta) if a transaction holds k
//	k@t3         newest version (the provisional value, if an intent exists)
//	k@t2         older committed version
//	k@t1         ...
//
// Invariants:
//   - At most one intent per key. Its provisional value is the version at
//     meta.WriteTimestamp, and no committed version is newer than it.
//   - A version with an empty value is a tombstone.
//   - Functions here are pure over a Reader/Writer: no clocks, no waiting.
//     Conflicts are returned as kvpb errors (WriteIntentError,
//     ReadWithinUncertaintyIntervalError, ConditionFailedError,
//     RefreshFailedError) for the layers above to act on.
//
// It imports kv/storage, kv/kvpb and kv/hlc, never Pebble directly.
package mvcc
