// Package local is the request pipeline of one range on one storage
// engine: the kvrpc.Handler of a single-node store (the whole keyspace, no
// Replication) and of each range's leaseholder in the replicated store
// (Config.Replication, Config.Bounds). It sequences each batch
//
//	validate → latches → timestamp cache (push writes above served reads)
//	  → eval (pure) → apply (fsync when it commits) → timestamp cache (record
//	  reads) → release latches → wake waiters
//
// When evaluation meets another transaction's intent, it pushes that
// transaction at the range holding its record (PushTxn through
// Config.Sender; the store itself when there is one range): that range's
// store aborts it if its coordinator is gone or its heartbeat expired, or
// waits for it in its txnwait queue (never spinning). Once the holder is
// finalized the intent is resolved here and the batch retried. Deadlocks
// are broken within one queue at once, and across ranges by the pushers
// exchanging waits-for edges (push.go, kv/DESIGN.md).
//
// The store also serves the record requests (PushTxn, QueryTxn,
// ClearTxnRecord), garbage-collects old versions in its bounds, and
// cleans up transaction records their coordinators left (gc.go).
//
// Imports kv lower packages only; never kv root, sql or replication.
package local
