// Package pgdialect is the PostgreSQL pre-pass of the SQL parser: it turns
// PostgreSQL text into text the TiDB (MySQL-dialect) parser accepts with the
// same meaning, and records what it removed. It works on text only; it must
// not import TiDB (sql/parser does) and imports nothing of ours but
// sql/sqlerr.
//
//	query string
//	  │ lex        PostgreSQL's lexical rules (scan.l): identifiers fold to
//	  │            lower case, '..' E'..' $$..$$ U&'..' strings decode,
//	  │            comments vanish, $n parameters, numbers keep their scale
//	  │ split      on top-level semicolons; empty statements vanish
//	  │ tree       parentheses and CASE ... END become groups
//	  │ session    BEGIN, SET, SHOW, PREPARE, COPY, DROP INDEX, TRUNCATE, ...
//	  │            → SessionStmt (never reaches TiDB)
//	  │ shape      statement level: DDL types → Info.ColumnTypes, RETURNING /
//	  │            ON CONFLICT / AS OF removed into their own Texts
//	  │ process    per nesting level: clauses (VALUES, FILTER, ORDER BY
//	  │            NULLS, LIMIT/OFFSET/FETCH, FULL JOIN, ...), then every
//	  │            expression parsed with PostgreSQL precedence and printed
//	  │            for MySQL's, then names TiDB reserves quoted
//	  ▼ render     Text: TiDB SQL + the $n of each ? + an offset map
//
// Rewrites (each has a test file in testdata/pgdialect/rewrite):
//   - $n → ?, Text.Params[i] is the $n of the i-th ?;
//   - x::type, CAST(x AS type), type 'literal' → outpost_cast(x, 'type') with
//     the type normalized ("double precision", "varchar(10)", "timestamp
//     with time zone");
//   - operators TiDB lacks or reads differently become functions: ||
//     outpost_concat, ^ power, # outpost_bitxor, ~ ~* !~ !~* outpost_regex_
//     [i]match, -> ->> #> #>> outpost_json_get[_text|_path|_path_text],
//     AT TIME ZONE outpost_timezone(zone, x), @ |/ ||/ abs sqrt cbrt;
//     IS [NOT] DISTINCT FROM → [NOT] a <=> b; ISNULL/NOTNULL → IS [NOT] NULL;
//     EXTRACT(f FROM x) → date_part('f', x); COLLATE "C"/POSIX/default is
//     dropped (Outpost compares bytes);
//   - CREATE TABLE / ADD COLUMN types → BLOB, recorded in Info.ColumnTypes;
//     DEFAULT expressions parenthesized; identity clauses → Info.Identity;
//   - RETURNING, ON CONFLICT, AS OF SYSTEM TIME → Info (own Texts);
//   - ORDER BY e NULLS FIRST/LAST → (e) IS NULL DESC|ASC, e (when not the
//     default: NULL sorts as the largest value); OFFSET without LIMIT, LIMIT
//     ALL, FETCH FIRST → TiDB's LIMIT; VALUES → SELECT ... UNION ALL ...;
//     agg(x) FILTER (WHERE c) → agg(CASE WHEN c THEN x END); a FULL JOIN b
//     ON c → a LEFT JOIN b ON outpost_full_join(c); UPDATE ... FROM and
//     DELETE ... USING → TiDB's multi-table forms; subquery alias lists →
//     select-list aliases;
//   - DDL spellings (CREATE INDEX default names, DROP ... CASCADE, sequence
//     options, CREATE DATABASE options);
//   - arrays (arrays.go): ARRAY(subquery) and ARRAY[...] → outpost_array,
//     op ANY/ALL (array) → op outpost_any/outpost_all, e[i] →
//     outpost_subscript, x::t[] keeps "t[]", FROM f(args) AS a → FROM
//     (SELECT outpost_srf_f(args)) AS a;
//   - any word is a column label after AS (quoted for TiDB); LIMIT '5'
//     is LIMIT 5.
//
// Anything that cannot be carried with its meaning fails with SQLSTATE 0A000
// naming the construct; malformed input fails like PostgreSQL (42601 with
// the position). No rewrite may change what a statement means.
//
// Invariants:
//   - every token of a Text maps back to an original token or, when
//     synthesized, to the construct it came from (Text.SyntaxError);
//   - Text.ParamOffsets[i] is the offset of the i-th ? of Text.SQL;
//   - the rewrite never emits a comment, a backtick, '#', '@', or two
//     operator characters that TiDB would lex as one token.
package pgdialect
