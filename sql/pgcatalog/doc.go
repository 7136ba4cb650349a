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
//   - Outpost has no array type: array, int2vector and oidvector columns
//     (indkey, reloptions, conkey, proargtypes, ...) carry PostgreSQL's
//     text form ("1 2", "{1}") in a text column (sql/plan/arrays.go reads
//     it); "char", xid, inet and pg_node_tree columns are text too.
//   - There is one role (Roles), no comments (pg_description is empty), no
//     inheritance, partitions, policies, extensions, rules, triggers,
//     views, foreign data, text search or subscriptions: those catalogs
//     are empty, as they are for such a database in PostgreSQL.
//   - pg_proc lists the builtins of sql/builtins with synthetic OIDs
//     (firstProcOID on); pg_type's typinput/typoutput/... are 0 ("-") as
//     Outpost's I/O routines are not pg_proc entries.
//   - pg_cast, pg_operator, pg_opclass, pg_statistic and the pg_stat_*
//     views are not provided (psql's \dC and \do fail).
//   - Sizes (pg_table_size, pg_database_size, ...) are NULL: Outpost does
//     not measure them per object yet.
//   - pg_get_expr/pg_get_constraintdef print the stored expression text in
//     PostgreSQL's spelling for common shapes, without the implicit casts
//     PostgreSQL shows ("price >= 0", not "price >= 0::numeric"); now() is
//     stored as CURRENT_TIMESTAMP by the parser and printed so.
//   - The search_path decides where queries and DML find unqualified
//     names (pg_catalog first unless placed); DDL always works in public,
//     the only user schema.
//
// It imports kv, sql/catalog, sql/types, sql/builtins, sql/plan and
// sql/sqlerr; sql wires it into name resolution and never the reverse.
package pgcatalog
