// Package kv is the client side of the key-value layer: DB for single
// operations and Txn, the transaction coordinator, for SERIALIZABLE
// transactions. Everything it does goes through one kvrpc.Handler, so the
// same code runs over the single-node store (kv/local) and, later, over the
// replicated, range-partitioned cluster.
//
// The transaction protocol, in short:
//
//   - A transaction reads at ReadTimestamp and writes intents at
//     WriteTimestamp (initially both its start time). Its first write batch
//     also creates its record (PENDING) at the anchor key, the first key it
//     writes; a goroutine heartbeats the record while it is open.
//   - Anyone meeting an intent consults the record: committed or aborted
//     intents are resolved, pending ones are waited for in a queue, a record
//     whose heartbeat lapsed (or whose coordinator restarted) is aborted, and
//     deadlocks among waiters abort the lowest-priority member.
//   - A write never lands at or below a read already served on its key (the
//     timestamp cache) or below a committed version (write-too-old): the
//     store moves WriteTimestamp forward instead.
//   - At commit, if WriteTimestamp > ReadTimestamp, the coordinator refreshes
//     its read spans: nothing may have been written in (ReadTimestamp,
//     WriteTimestamp]. If so the transaction commits at WriteTimestamp;
//     otherwise it gets a retryable error (SQLSTATE 40001).
//   - Commit writes the record COMMITTED and resolves the intents in one
//     fsynced batch (all intents are on the one range today), so a crash
//     never shows part of a transaction.
//
// DB.Txn reruns a closure on retryable errors with rising priority.
//
// DB.NewReadOnlyTxnAt starts a read-only transaction at a fixed past
// timestamp (SQL's AS OF SYSTEM TIME): no uncertainty interval, never a
// restart or refresh, writes refused in the coordinator
// (kvpb.ErrWriteInReadOnlyTxn), reads below the GC threshold fail with
// BatchTimestampBeforeGCError.
package kv
