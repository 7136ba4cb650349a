// Package plan turns parsed statements (TiDB AST, after the pgdialect
// pre-pass) into plans and runs them over a kv.Txn.
//
//	AST ──builder──► Node tree (immutable; EXPLAIN prints it)
//	                   │ Open(ExecCtx)
//	                   ▼
//	                RowIter tree (per execution state) ──► rows
//
// Expressions are compiled once into typed Expr trees with column references
// resolved to row positions; evaluation is a plain tree walk over
// types.Datum rows with PostgreSQL's NULL semantics.
//
// The planner chooses access paths with a few named rules: point lookups and
// span scans on the primary key or a secondary index when WHERE constrains
// their leading columns, hash joins for equi-joins, limits pushed into scans
// when no filter, sort or aggregation stands between them.
//
// It imports sql/types, sql/builtins, sql/catalog, sql/rowenc, sql/parser's
// AST (via the TiDB ast package re-exported through sql/parser) and kv.
package plan
