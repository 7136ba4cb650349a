// Package sql turns SQL text into work on the kv layer: Server holds what
// sessions share (catalog access, the kv.DB), Session runs statements for
// one connection (transaction state machine, prepared statements, portals)
// and writes results to a ResultWriter that the protocol layer provides.
//
//	text → sql/parser (pgdialect pre-pass + TiDB parser) → sql/plan → sql/exec → kv.Txn
//
// Historical reads (asof.go): an AS OF clause, BEGIN/SET TRANSACTION AS OF
// or a follower-read setting replaces the statement's fresh transaction by
// a read-only one at a fixed timestamp (kv.DB.NewReadOnlyTxnAt); bounded
// staleness asks the FollowerReads hook (followerreads.go), which the
// replication side implements, and falls back to a strong read. Invariant:
// the transaction is replaced only while kv.Txn.Unused, so no work is lost.
//
// Forwarding (forward.go, forward_txn.go): on an edge node
// (Config.Forwarder set) an implicit transaction that writes or reads
// strongly, and an explicit one whose first data statement does, runs on a
// core node's session instead; the edge relays the results and mirrors the
// transaction status. ServeForwarded is the core's side. Invariant: work is
// forwarded only while nothing of its transaction ran here, so a
// transaction is never split between nodes.
//
// It never imports replication or kv/storage; pgwire depends on it, never
// the reverse.
package sql
