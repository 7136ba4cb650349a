// Package local serves the whole keyspace as one unreplicated range on one
// storage engine: the single-node kvrpc.Handler. It sequences each batch
//
//	validate → latches → timestamp cache (push writes above served reads)
//	  → eval (pure) → apply (fsync when it commits) → timestamp cache (record
//	  reads) → release latches → wake waiters
//
// and, when evaluation meets another transaction's intent, waits for that
// transaction in the txnwait queue (never spinning), aborts it when its
// coordinator is gone or its heartbeat expired, breaks deadlocks, resolves
// the intent and retries.
//
// The replicated store (package replication) will run the same sequence per
// range with Raft between eval and apply; nothing above kv/kvrpc sees the
// difference.
//
// Imports kv lower packages only; never kv root, sql or replication.
package local
