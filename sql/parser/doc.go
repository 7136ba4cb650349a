// Package parser parses PostgreSQL SQL into TiDB parser ASTs. It is the
// only package of Outpost that imports the TiDB parser
// (github.com/pingcap/tidb/pkg/parser and its ast, mysql, format, opcode,
// charset subpackages); it must not import TiDB's own packages (types,
// expression, ...) nor the parser's test_driver: it registers its own
// value-expression driver (driver.go) in init.
//
//	text → pgdialect.Rewrite → TiDB parser (one statement at a time) → Statement
//
// A Parser wraps one TiDB parser and is not safe for concurrent use: keep
// one per session.
//
// What the planner finds in the AST (beyond plain TiDB ASTs):
//   - Names: unquoted names arrive folded to lower case, quoted ones exact;
//     compare CIStr.O, never CIStr.L.
//   - Literals are *ValueExpr (Kind, Val: "1.50" keeps its scale; 1e3 is a
//     KindDecimal "1000", as PostgreSQL types it numeric) and parameters
//     *ParamMarker (Num is the $n; Order indexes Statement.ParamOrder).
//   - Column types of CREATE TABLE / ADD COLUMN are BLOB in the AST; the
//     PostgreSQL type is in Statement.ColumnTypes (serial, bigserial carry
//     no AUTO_INCREMENT: the planner creates the sequence).
//   - Functions standing for PostgreSQL constructs: outpost_cast(x, 'type')
//     (casts, typed literals), outpost_concat(a, b) (||, NULL if either is
//     NULL, unlike concat()), outpost_regex_match / outpost_regex_imatch
//     (~ and ~*; !~ is NOT over them), outpost_json_get, _get_text,
//     _get_path, _get_path_text (-> ->> #> #>>), outpost_timezone(zone, x)
//     (AT TIME ZONE), outpost_bitxor (#), power (^), date_part (EXTRACT),
//     current_database (current_catalog), abs/sqrt/cbrt (@ |/ ||/).
//     "nextval", "setval", "currval", "lastval" are plain FuncCallExprs.
//   - a FULL JOIN b ON c arrives as a LEFT JOIN whose ON is
//     outpost_full_join(c): a planner that does not know the marker fails
//     on an unknown function instead of computing a LEFT JOIN.
//   - a <=> b (opcode.NullEQ) is IS NOT DISTINCT FROM; IS DISTINCT FROM is
//     NOT over it.
//   - ORDER BY e NULLS FIRST/LAST that differs from the default (NULL is
//     the largest value) arrives as an extra leading item "(e) IS NULL
//     DESC|ASC"; a name inside it may be an output-column alias, which
//     PostgreSQL would resolve for e itself.
//   - OFFSET without LIMIT arrives as LIMIT 18446744073709551615.
//   - VALUES lists arrive as SELECT ... UNION ALL SELECT ..., columns named
//     column1..N (or by the alias list).
//   - agg(x) FILTER (WHERE c) arrives as agg(CASE WHEN c THEN x END).
//   - UPDATE t SET a = .. FROM u arrives as TiDB's multi-table UPDATE with
//     qualified targets; DELETE FROM t USING u as DELETE FROM t USING t, u.
//   - ALTER TABLE ... DROP CONSTRAINT c arrives as TiDB's
//     AlterTableDropCheck: resolve c by name, whatever its kind.
//   - count(*) arrives as COUNT(1); now() and current_timestamp in DEFAULT
//     as CURRENT_TIMESTAMP().
//   - RETURNING, ON CONFLICT and AS OF SYSTEM TIME are removed from the AST
//     and returned in Statement fields.
//
// Errors are *sqlerr.Error with PostgreSQL's SQLSTATE and a position in the
// original text.
package parser
