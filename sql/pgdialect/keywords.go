package pgdialect

import (
	"sort"
	"strings"
)

func wordSet(s string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(s) {
		m[strings.ToLower(w)] = true
	}
	return m
}

// pgReserved lists PostgreSQL's reserved keywords and its
// type_func_name keywords: words that can never be a column name unquoted.
var pgReserved = wordSet(`
ALL ANALYSE ANALYZE AND ANY ARRAY AS ASC ASYMMETRIC AUTHORIZATION BINARY BOTH
CASE CAST CHECK COLLATE COLLATION COLUMN CONCURRENTLY CONSTRAINT CREATE CROSS
CURRENT_CATALOG CURRENT_DATE CURRENT_ROLE CURRENT_SCHEMA CURRENT_TIME
CURRENT_TIMESTAMP CURRENT_USER DEFAULT DEFERRABLE DESC DISTINCT DO ELSE END
EXCEPT FALSE FETCH FOR FOREIGN FREEZE FROM FULL GRANT GROUP HAVING ILIKE IN
INITIALLY INNER INTERSECT INTO IS ISNULL JOIN LATERAL LEADING LEFT LIKE LIMIT
LOCALTIME LOCALTIMESTAMP NATURAL NOT NOTNULL NULL OFFSET ON ONLY OR ORDER
OUTER OVERLAPS PLACING PRIMARY REFERENCES RETURNING RIGHT SELECT SESSION_USER
SIMILAR SOME SYMMETRIC SYSTEM_USER TABLE TABLESAMPLE THEN TO TRAILING TRUE
UNION UNIQUE USER USING VARIADIC VERBOSE WHEN WHERE WINDOW WITH`)

// tidbReserved lists the words the TiDB parser reserves: its Keywords table
// (section "reserved") and the aliases of reserved words (SCHEMA is
// DATABASE, SCHEMAS DATABASES, DEC DECIMAL). A test in sql/parser checks
// it against the parser (see TiDBReservedWords).
var tidbReserved = wordSet(`SCHEMA SCHEMAS DEC

ADD ALL ALTER ANALYZE AND ARRAY AS ASC BETWEEN BIGINT BINARY BLOB BOTH BY CALL
CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONSTRAINT CONTINUE
CONVERT CREATE CROSS CUME_DIST CURRENT_DATE CURRENT_ROLE CURRENT_TIME
CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DATABASES DAY_HOUR
DAY_MICROSECOND DAY_MINUTE DAY_SECOND DECIMAL DEFAULT DELAYED DELETE
DENSE_RANK DESC DESCRIBE DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL ELSE ELSEIF
ENCLOSED ESCAPED EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT
FLOAT4 FLOAT8 FOR FORCE FOREIGN FROM FULLTEXT GENERATED GRANT GROUP GROUPS
HAVING HIGH_PRIORITY HOUR_MICROSECOND HOUR_MINUTE HOUR_SECOND IF IGNORE ILIKE
IN INDEX INFILE INNER INOUT INSERT INT INT1 INT2 INT3 INT4 INT8 INTEGER
INTERSECT INTERVAL INTO IS ITERATE JOIN KEY KEYS KILL LAG LAST_VALUE LATERAL
LEAD LEADING LEAVE LEFT LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP
LOCK LONG LONGBLOB LONGTEXT LOW_PRIORITY MATCH MAXVALUE MEDIUMBLOB MEDIUMINT
MEDIUMTEXT MIDDLEINT MINUTE_MICROSECOND MINUTE_SECOND MOD NATURAL NOT
NO_WRITE_TO_BINLOG NTH_VALUE NTILE NULL NUMERIC OF ON OPTIMIZE OPTION
OPTIONALLY OR ORDER OUT OUTER OUTFILE OVER PARTITION PERCENT_RANK PRECISION
PRIMARY PROCEDURE RANGE RANK READ REAL RECURSIVE REFERENCES REGEXP RELEASE
RENAME REPEAT REPLACE REQUIRE RESTRICT REVOKE RIGHT RLIKE ROW ROWS ROW_NUMBER
SECOND_MICROSECOND SELECT SET SHOW SMALLINT SPATIAL SQL SQLEXCEPTION SQLSTATE
SQLWARNING SQL_BIG_RESULT SQL_CALC_FOUND_ROWS SQL_SMALL_RESULT SSL STARTING
STORED STRAIGHT_JOIN TABLE TABLESAMPLE TERMINATED THEN TIDB_CURRENT_TSO
TINYBLOB TINYINT TINYTEXT TO TRAILING TRIGGER TRUE UNION UNIQUE UNLOCK UNSIGNED
UNTIL UPDATE USAGE USE USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES VARBINARY
VARCHAR VARCHARACTER VARYING VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR
YEAR_MONTH ZEROFILL`)

// structural lists TiDB-reserved words that PostgreSQL lets one use as
// names but that Outpost leaves unquoted because the statements it passes
// on use them as keywords all the time (quoting them in a name position is
// left to the client, as it would be in MySQL).
var structural = wordSet(`
ADD ALTER BETWEEN DELETE DROP EXISTS INSERT RENAME SET UPDATE VALUES`)

// clauseWords are words that end an expression: PostgreSQL keywords (beyond
// the reserved ones) that follow an expression in some clause. A word here
// is never taken as a column name by the expression rewriter.
var clauseWords = wordSet(`
ASC DESC NULLS FIRST LAST ROWS RANGE GROUPS PRECEDING FOLLOWING UNBOUNDED
OVER FILTER WITHIN PARTITION BY SET VALUES CONFLICT NOTHING ESCAPE AT
ORDINALITY RECURSIVE NOWAIT SKIP LOCKED SHARE NO CASCADE RESTRICT OF
RETURNING INCLUDE SEPARATOR EXCLUDE TIES DO ON USING COLLATE BETWEEN
IS ISNULL NOTNULL LIKE ILIKE SIMILAR IN AND OR NOT OVERLAPS`)

// valueWords are reserved words that are values by themselves.
var valueWords = wordSet(`
NULL TRUE FALSE DEFAULT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP LOCALTIME
LOCALTIMESTAMP CURRENT_USER SESSION_USER USER CURRENT_ROLE CURRENT_CATALOG
CURRENT_SCHEMA SYSTEM_USER`)

// spaceBeforeParen reports whether a word is a keyword after which the
// renderer keeps a space before "(": anything that is not a function name.
func spaceBeforeParen(w string) bool {
	if pgReserved[w] || clauseWords[w] || structural[w] {
		switch w {
		// Reserved words that are also function names.
		case "left", "right", "coalesce", "exists", "any", "some", "all",
			"current_date", "current_time", "current_timestamp",
			"localtime", "localtimestamp", "current_user", "session_user",
			"current_role", "current_schema":
			return false
		}
		return true
	}
	switch w {
	case "key", "index", "table", "view", "into", "unique", "primary", "check",
		"references", "over", "filter", "within", "as", "with", "lateral",
		"only", "database", "sequence", "if", "exists":
		return true
	}
	return false
}

// isAtomWord reports whether an unquoted word may be (the start of) an
// operand: a name, a function name, or a value keyword.
func isAtomWord(w string) bool {
	if valueWords[w] {
		return true
	}
	return !pgReserved[w] && !clauseWords[w]
}

// TiDBReservedWords returns, sorted, the words the rewrite treats as
// reserved by TiDB (and quotes where PostgreSQL has a name). It exists so
// that sql/parser can check the list against the TiDB parser.
func TiDBReservedWords() []string {
	out := make([]string, 0, len(tidbReserved))
	for w := range tidbReserved {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}
