// Package sql turns SQL text into work on the kv layer: Server holds what
// sessions share (catalog access, the kv.DB), Session runs statements for
// one connection (transaction state machine, prepared statements, portals)
// and writes results to a ResultWriter that the protocol layer provides.
//
//	text → sql/parser (pgdialect pre-pass + TiDB parser) → sql/plan → sql/exec → kv.Txn
//
// It never imports replication or kv/storage; pgwire depends on it, never
// the reverse.
package sql
