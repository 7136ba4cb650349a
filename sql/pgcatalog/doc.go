// Package pgcatalog serves PostgreSQL's system catalogs: the read-only
// tables of the pg_catalog and information_schema schemas (pg_class,
// pg_attribute, information_schema.columns, ...) and the functions that
// read them (format_type, pg_get_indexdef, pg_table_is_visible, the
// regclass/regtype conversions, ...), so that psql's meta-commands and the
// catalog queries of drivers and ORMs work.
//
// Nothing here is canned: every row is generated per statement from the
// descriptors of sql/catalog, read in the statement's own transaction (so a
// table created earlier in the transaction is visible, as in PostgreSQL),
// plus the session's settings and the static facts Outpost really has (its
// types, builtins, access methods, the pg_catalog tables themselves).
//
//	plan.Builder ──Catalog.Table/TableIn──► sql.catalogView ──► Lookup(schema, name)
//	                                                              │ *Def
//	VirtualScan.Open(ec) ──► Def.Rows(env) ──► snapshot (catalog.List in ec.Txn)
//	                                              └► one []types.Datum per row
//
// OIDs (see oid.go): built-in objects keep PostgreSQL's OIDs (pg_catalog =
// 11, public = 2200, int4 = 23, pg_class = 1259); user objects get OIDs
// derived from their descriptor IDs, at or above 16384 (FirstNormalObjectId),
// so they never collide with built-in ones and stay stable for the life of
// the object.
//
// Deviations from PostgreSQL, on purpose or not yet done:
//   - Outpost has no arrays: array, int2vector and oidvector columns
//     (indkey, reloptions, conkey, proargtypes, ...) carry PostgreSQL's text
//     form ("1 2", "{1}") in a text column; "char" columns are text.
//   - There is one role (Roles), no comments (pg_description is empty), no
//     inheritance, partitions, policies, extensions, rules, triggers, or
//     views, so those catalogs are empty.
//   - pg_proc lists the builtins of sql/builtins with synthetic OIDs.
//
// It imports kv, sql/catalog, sql/types, sql/builtins, sql/plan and
// sql/sqlerr; sql wires it into name resolution and never the reverse.
package pgcatalog
