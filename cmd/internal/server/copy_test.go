package server

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// COPY end to end, through lib/pq (CopyIn: text format over the simple
// protocol), pgx (CopyFrom: binary format; PgConn CopyFrom/CopyTo: text
// and CSV) and the failure paths: SQLSTATE, CONTEXT, nothing loaded.

func copyPgErr(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func TestCopyLibPQ(t *testing.T) {
	srv := startNode(t)
	db, err := sql.Open("postgres", dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE items (id INT PRIMARY KEY, name TEXT, price NUMERIC(10,2), seen TIMESTAMPTZ, note TEXT DEFAULT 'none')`); err != nil {
		t.Fatal(err)
	}
	load := func(rows [][]any) error {
		txn, err := db.Begin()
		if err != nil {
			return err
		}
		defer func() { _ = txn.Rollback() }()
		stmt, err := txn.Prepare(pq.CopyIn("items", "id", "name", "price", "seen"))
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := stmt.Exec(r...); err != nil {
				return err
			}
		}
		if _, err := stmt.Exec(); err != nil {
			return err
		}
		if err := stmt.Close(); err != nil {
			return err
		}
		return txn.Commit()
	}
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var rows [][]any
	for i := range 1000 {
		name := any(fmt.Sprintf("item\t%d\\\n\"x\"", i))
		if i%10 == 0 {
			name = nil
		}
		rows = append(rows, []any{i, name, fmt.Sprintf("%d.%02d", i, i%100), ts})
	}
	if err := load(rows); err != nil {
		t.Fatal(err)
	}
	var n int
	var sum float64
	if err := db.QueryRow(`SELECT count(*), sum(price) FROM items WHERE note = 'none'`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 1000 || sum < 499500 {
		t.Fatalf("count %d sum %v", n, sum)
	}
	var name sql.NullString
	if err := db.QueryRow(`SELECT name FROM items WHERE id = 7`).Scan(&name); err != nil || name.String != "item\t7\\\n\"x\"" {
		t.Fatalf("name %q %v", name.String, err)
	}
	if err := db.QueryRow(`SELECT name FROM items WHERE id = 10`).Scan(&name); err != nil || name.Valid {
		t.Fatalf("name %v %v", name, err)
	}
	// A duplicate key in the middle: 23505, and nothing of the batch is
	// loaded.
	err = load([][]any{{5000, "a", "1", ts}, {5001, "b", "1", ts}, {3, "dup", "1", ts}})
	var qe *pq.Error
	if !errors.As(err, &qe) || qe.Code != "23505" || qe.Where != "COPY items, line 3" {
		t.Fatalf("duplicate: %#v", err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM items WHERE id >= 5000`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("partial load: %d %v", n, err)
	}
	// A value that is not a number: 22P02 naming the column.
	err = load([][]any{{6000, "a", "abc", ts}})
	if !errors.As(err, &qe) || qe.Code != "22P02" || qe.Where != `COPY items, line 1, column price: "abc"` {
		t.Fatalf("bad value: %#v", err)
	}
}

func TestCopyPgxCopyFromBinary(t *testing.T) {
	srv := startNode(t)
	c := mustConnect(t, srv)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `CREATE TABLE pts (id BIGINT PRIMARY KEY, label TEXT, ok BOOL, score FLOAT8, at TIMESTAMPTZ, data BYTEA, amount NUMERIC, serial_no SERIAL)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2023, 1, 2, 3, 4, 5, 600000, time.UTC)
	// Few rows: every one takes a nextval for serial_no, which is a
	// transaction of its own (slow under -race).
	const n = 700
	src := pgx.CopyFromFunc(func() func() ([]any, error) {
		i := 0
		return func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			var label any = fmt.Sprintf("p%d", i)
			if i%7 == 0 {
				label = nil
			}
			return []any{int64(i), label, i%2 == 0, float64(i) / 4, at, []byte{byte(i), 0, 0xff}, fmt.Sprint(i)}, nil
		}
	}())
	got, err := c.CopyFrom(ctx, pgx.Identifier{"pts"}, []string{"id", "label", "ok", "score", "at", "data", "amount"}, src)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("copied %d", got)
	}
	var cnt, nulls, maxSerial int64
	var sum float64
	if err := c.QueryRow(ctx, `SELECT count(*), count(*) - count(label), sum(score), max(serial_no) FROM pts`).Scan(&cnt, &nulls, &sum, &maxSerial); err != nil {
		t.Fatal(err)
	}
	if cnt != n || nulls != n/7 || sum != float64(n*(n+1)/2)/4 || maxSerial != n {
		t.Fatalf("count %d nulls %d sum %v serial %d", cnt, nulls, sum, maxSerial)
	}
	var gotAt time.Time
	var data []byte
	if err := c.QueryRow(ctx, `SELECT at, data FROM pts WHERE id = 3`).Scan(&gotAt, &data); err != nil {
		t.Fatal(err)
	}
	if !gotAt.Equal(at) || !bytes.Equal(data, []byte{3, 0, 0xff}) {
		t.Fatalf("at %v data %x", gotAt, data)
	}
	// A NOT NULL violation aborts the whole COPY.
	if _, err := c.Exec(ctx, `CREATE TABLE nn (id INT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	_, err = c.CopyFrom(ctx, pgx.Identifier{"nn"}, []string{"id", "v"}, pgx.CopyFromRows([][]any{{1, "a"}, {2, nil}}))
	if pe := copyPgErr(err); pe == nil || pe.Code != "23502" || pe.Where != "COPY nn, line 2" {
		t.Fatalf("not null: %v", err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM nn`).Scan(&cnt); err != nil || cnt != 0 {
		t.Fatalf("partial load %d %v", cnt, err)
	}
	// COPY TO STDOUT in binary format, read back through pgx's decoder
	// of the raw stream: check the header and trailer.
	var buf bytes.Buffer
	tag, err := c.PgConn().CopyTo(ctx, &buf, `COPY (SELECT id, label FROM pts WHERE id <= 2 ORDER BY id) TO STDOUT WITH (FORMAT binary)`)
	if err != nil {
		t.Fatal(err)
	}
	want := "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" +
		"\x00\x02" + "\x00\x00\x00\x08" + "\x00\x00\x00\x00\x00\x00\x00\x01" + "\x00\x00\x00\x02p1" +
		"\x00\x02" + "\x00\x00\x00\x08" + "\x00\x00\x00\x00\x00\x00\x00\x02" + "\x00\x00\x00\x02p2" +
		"\xff\xff"
	if buf.String() != want || tag.String() != "COPY 2" {
		t.Fatalf("binary out %q %s", buf.String(), tag)
	}
}

// TestCopyPgConnTextAndCSV runs against a real PostgreSQL instead when
// OUTPOST_COPY_PGDSN is set (e.g. postgres://postgres:postgres@127.0.0.1/copy),
// to check the expectations.
func TestCopyPgConnTextAndCSV(t *testing.T) {
	ctx := context.Background()
	var c *pgx.Conn
	pg := os.Getenv("OUTPOST_COPY_PGDSN")
	onPG := pg != ""
	if onPG {
		var err error
		if c, err = pgx.Connect(ctx, pg); err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP TABLE IF EXISTS t`); err != nil {
			t.Fatal(err)
		}
	} else {
		c = mustConnect(t, startNode(t))
	}
	pc := c.PgConn()
	exec := func(q string) {
		t.Helper()
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE t (a INT PRIMARY KEY, b TEXT, c FLOAT8 DEFAULT 1.5)`)
	tag, err := pc.CopyFrom(ctx, strings.NewReader("1\tx\t2\n2\t\\N\t3\n3\ta\\tb\\\\c\\101\\x41\t4\n\\.\nignored after the end marker\n"), `COPY t FROM STDIN`)
	if err != nil || tag.String() != "COPY 3" {
		t.Fatalf("%s %v", tag, err)
	}
	tag, err = pc.CopyFrom(ctx, strings.NewReader("a,b\n7,\"q\"\"q\"\n8,\n9,\"\"\n10,\"multi\nline\"\n"), `COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER true)`)
	if err != nil || tag.String() != "COPY 4" {
		t.Fatalf("%s %v", tag, err)
	}
	// Legacy syntax; \r\n line ends.
	tag, err = pc.CopyFrom(ctx, strings.NewReader("11|'it''s'|5\r\n12||6\r\n"), `COPY t FROM STDIN WITH CSV DELIMITER '|' QUOTE ''''`)
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("%s %v", tag, err)
	}
	var out bytes.Buffer
	if _, err := pc.CopyTo(ctx, &out, `COPY t TO STDOUT`); err != nil {
		t.Fatal(err)
	}
	wantText := "1\tx\t2\n2\t\\N\t3\n3\ta\\tb\\\\cAA\t4\n7\tq\"q\t1.5\n8\t\\N\t1.5\n9\t\t1.5\n10\tmulti\\nline\t1.5\n11\tit's\t5\n12\t\\N\t6\n"
	if out.String() != wantText {
		t.Fatalf("text out:\n%q\nwant\n%q", out.String(), wantText)
	}
	out.Reset()
	tag, err = pc.CopyTo(ctx, &out, `COPY (SELECT a, b FROM t WHERE a IN (1, 2, 3, 7, 9, 10) ORDER BY a DESC) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE (b))`)
	if err != nil || tag.String() != "COPY 6" {
		t.Fatal(tag, err)
	}
	wantCSV := "a,b\n10,\"multi\nline\"\n9,\"\"\n7,\"q\"\"q\"\n3,\"a\tb\\cAA\"\n2,\n1,\"x\"\n"
	if out.String() != wantCSV {
		t.Fatalf("csv out:\n%q\nwant\n%q", out.String(), wantCSV)
	}

	// Errors: SQLSTATE, CONTEXT, and nothing loaded.
	for _, tc := range []struct {
		data, query, code, where string
		// pgCode is PostgreSQL's code where Outpost's differs: a short
		// binary integer is 22P03 (as for Bind parameters) where
		// PostgreSQL reports 08P01 "insufficient data left in message".
		pgCode string
	}{
		{"100\ta\t1\n101\tb\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 2: \"101\tb\"", ""},
		{"100\ta\t1\t2\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 1: \"100\ta\t1\t2\"", ""},
		{"100\ta\t1\n\n", `COPY t FROM STDIN`, "22P02", "COPY t, line 2, column a: \"\"", ""},
		{"100\ta\t1\n\\.", `COPY t FROM STDIN`, "22P04", "COPY t, line 2", ""},
		{"100\ta\tx\n", `COPY t FROM STDIN`, "22P02", `COPY t, line 1, column c: "x"`, ""},
		{"100\ta\t1\n1\tdup\t1\n", `COPY t FROM STDIN`, "23505", `COPY t, line 2`, ""},
		{"a,b\n100,\"open\n", `COPY t (a, b) FROM STDIN CSV HEADER`, "22P04", "COPY t, line 3: \"100,\"open\n\"", ""},
		{"100\ta\\.b\t1\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 1", ""},
		{"100\tx\r\t1\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 1: \"100\tx\"", ""},
		{"100\tx\t1\n101\ty\t1\r\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 2", ""},
		{"100,x,1\r\n101,y,1\n", `COPY t FROM STDIN CSV`, "22P04", "COPY t, line 2", ""},
		{"100\tx\t1\n\\.x\n", `COPY t FROM STDIN`, "22P04", "COPY t, line 2", ""},
		{"", `COPY t FROM STDIN (FORMAT xml)`, "22023", "", ""},
		{"", `COPY t FROM STDIN (HEADER, HEADER)`, "42601", "", ""},
		{"", `COPY t (a, a) FROM STDIN`, "42701", "", ""},
		{"", `COPY t (zz) FROM STDIN`, "42703", "", ""},
		{"", `COPY nosuch FROM STDIN`, "42P01", "", ""},
		{"", `COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE (a))`, "0A000", "", ""},
		{"x", `COPY t FROM STDIN (FORMAT binary)`, "22P04", "", ""},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", `COPY t FROM STDIN (FORMAT binary)`, "22P04", "COPY t, line 1", ""},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x01", `COPY t FROM STDIN (FORMAT binary)`, "22P04", "COPY t, line 1, column a", ""},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x01a\xff\xff\xff\xff\xff\xff\xff\xff", `COPY t FROM STDIN (FORMAT binary)`, "22P03", "COPY t, line 1, column a", "08P01"},
	} {
		_, err := pc.CopyFrom(ctx, strings.NewReader(tc.data), tc.query)
		if onPG && tc.pgCode != "" {
			tc.code = tc.pgCode
		}
		pe := copyPgErr(err)
		if pe == nil || pe.Code != tc.code || pe.Where != tc.where {
			t.Errorf("%s with %q: %v (where %q), want %s %q", tc.query, tc.data, err, func() string {
				if pe != nil {
					return pe.Where
				}
				return ""
			}(), tc.code, tc.where)
		}
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM t WHERE a >= 100`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("partial loads: %d %v", n, err)
	}

	// The client gives up (CopyFail): 57014, nothing loaded.
	r := io.MultiReader(strings.NewReader("200\ta\t1\n"), errReader{errors.New("client changed its mind")})
	_, err = pc.CopyFrom(ctx, r, `COPY t FROM STDIN`)
	if pe := copyPgErr(err); pe == nil || pe.Code != "57014" || !strings.Contains(pe.Message, "client changed its mind") {
		t.Fatalf("CopyFail: %v", err)
	}

	// Inside an explicit transaction: a failed COPY fails the
	// transaction (25P02 until ROLLBACK), and the rows of an earlier
	// successful COPY in it go away with the ROLLBACK.
	exec(`BEGIN`)
	if _, err := pc.CopyFrom(ctx, strings.NewReader("300\ta\t1\n"), `COPY t FROM STDIN`); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CopyFrom(ctx, strings.NewReader("301\ta\tbad\n"), `COPY t FROM STDIN`); copyPgErr(err) == nil || copyPgErr(err).Code != "22P02" {
		t.Fatalf("bad row in txn: %v", err)
	}
	if _, err := c.Exec(ctx, `SELECT 1`); copyPgErr(err) == nil || copyPgErr(err).Code != "25P02" {
		t.Fatalf("failed txn: %v", err)
	}
	exec(`ROLLBACK`)
	// A successful COPY in a transaction commits with it.
	exec(`BEGIN`)
	if _, err := pc.CopyFrom(ctx, strings.NewReader("400\ta\t1\n"), `COPY t FROM STDIN`); err != nil {
		t.Fatal(err)
	}
	exec(`COMMIT`)
	if err := c.QueryRow(ctx, `SELECT count(*) FROM t WHERE a >= 100`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after transactions: %d %v", n, err)
	}
	// The connection is still in sync after all this.
	if err := c.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 10 {
		t.Fatalf("count %d %v", n, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestCopyLarge loads 100k rows in one COPY (pgx CopyFrom) and reads
// them back with COPY TO.
func TestCopyLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := startNode(t)
	c := mustConnect(t, srv)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `CREATE TABLE big (id INT PRIMARY KEY, v INT, filler TEXT)`); err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	i := 0
	got, err := c.CopyFrom(ctx, pgx.Identifier{"big"}, []string{"id", "v", "filler"}, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return []any{i, i % 100, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, nil
	}))
	if err != nil || got != n {
		t.Fatalf("copied %d: %v", got, err)
	}
	var cnt countWriter
	tag, err := c.PgConn().CopyTo(ctx, &cnt, `COPY big TO STDOUT`)
	if err != nil || tag.String() != fmt.Sprintf("COPY %d", n) || cnt.lines != n {
		t.Fatalf("copy out %s %d %v", tag, cnt.lines, err)
	}
}

type countWriter struct{ lines int }

func (w *countWriter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
