package server

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestSplitAt: ALTER TABLE ... SPLIT AT VALUES splits a table's data into
// ranges that SHOW RANGES lists, queries over several ranges return every
// row, and bad SPLIT AT input gets PostgreSQL-style errors.
func TestSplitAt(t *testing.T) {
	ctx := context.Background()
	c := mustConnect(t, startNode(t))
	mustExec := func(sql string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mustExec("CREATE TABLE kv (k INT PRIMARY KEY, v TEXT, n INT)")
	mustExec("CREATE INDEX kv_v ON kv (v)")
	for i := 0; i < 100; i++ {
		mustExec("INSERT INTO kv VALUES ($1, $2, $3)", i, "v", i%7)
	}
	rows, err := c.Query(ctx, "ALTER TABLE kv SPLIT AT VALUES (25), (50), (75)")
	if err != nil {
		t.Fatal(err)
	}
	splits, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 3 {
		t.Fatalf("SPLIT AT returned %v", splits)
	}
	rows, err = c.Query(ctx, "SHOW RANGES FROM TABLE kv")
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatal(err)
	}
	// The range before the table's first split holds its start (and what
	// comes before it), then one range per split.
	if len(ranges) != 4 {
		t.Fatalf("SHOW RANGES FROM TABLE kv: %v", ranges)
	}
	// Reads and writes across the ranges.
	var n, sum int
	if err := c.QueryRow(ctx, "SELECT count(*), sum(k) FROM kv").Scan(&n, &sum); err != nil || n != 100 || sum != 4950 {
		t.Fatalf("count %d sum %d: %v", n, sum, err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM kv WHERE k >= 20 AND k < 80").Scan(&n); err != nil || n != 60 {
		t.Fatalf("range count %d: %v", n, err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM (SELECT k FROM kv ORDER BY k DESC LIMIT 40) s").Scan(&n); err != nil || n != 40 {
		t.Fatalf("reverse limited scan %d: %v", n, err)
	}
	mustExec("UPDATE kv SET n = n + 1")
	var want int
	for i := 0; i < 100; i++ {
		want += i%7 + 1
	}
	if err := c.QueryRow(ctx, "SELECT sum(n) FROM kv").Scan(&sum); err != nil || sum != want {
		t.Fatalf("sum(n) after UPDATE = %d, want %d: %v", sum, want, err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM kv WHERE k IN (10, 60, 90)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil || n != 97 {
		t.Fatalf("after a multi-range delete: %d rows, %v", n, err)
	}
	// Errors.
	for _, tc := range []struct{ sql, code string }{
		{"ALTER TABLE nope SPLIT AT VALUES (1)", "42P01"},
		{"ALTER TABLE kv SPLIT AT VALUES (1, 2)", "42601"},
		{"ALTER TABLE kv SPLIT AT VALUES (NULL)", "23502"},
		{"ALTER TABLE kv SPLIT AT VALUES ('x')", "22P02"},
	} {
		_, err := c.Exec(ctx, tc.sql)
		if pgCode(err) != tc.code {
			t.Errorf("%s: %v, want SQLSTATE %s", tc.sql, err, tc.code)
		}
	}
}
