package logictest

import (
	"errors"
	"strings"
	"testing"
)

type fakeConn struct {
	rows [][]*string
	err  error
}

func (f *fakeConn) Exec(string) error                 { return f.err }
func (f *fakeConn) Query(string) ([][]*string, error) { return f.rows, f.err }
func s(v string) *string                              { return &v }

func TestParseAndRun(t *testing.T) {
	file := `# a test
statement ok
CREATE TABLE t(a INT)

skipif outpost
statement ok
SELECT not for us

query IT rowsort
SELECT a, b FROM t
----
1
NULL
2
(empty)

query I nosort
SELECT 1
----
3 values hashing to 5e5bd89f9d7f6d25a6bc0f33d5d45d87
`
	recs, err := Parse("x", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("want 3 records (one skipped), got %d", len(recs))
	}
	c := &fakeConn{rows: [][]*string{{s("2"), s("")}, {s("1"), nil}}}
	if err := RunRecord(c, recs[1]); err != nil {
		t.Fatal(err)
	}
	c.rows = [][]*string{{s("1")}, {s("2")}, {s("3")}}
	want := hashValues([]string{"1", "2", "3"})
	recs[2].Expected = []string{"3 values hashing to " + want}
	if err := RunRecord(c, recs[2]); err != nil {
		t.Fatal(err)
	}
	recs[2].Expected = []string{"3 values hashing to 00"}
	if err := RunRecord(c, recs[2]); err == nil {
		t.Fatal("a wrong hash passed")
	}
}

func TestStatementError(t *testing.T) {
	Code = func(err error) string { return "42P01" }
	defer func() { Code = func(error) string { return "" } }()
	recs, err := Parse("x", strings.NewReader("statement error pgcode 42P01 relation .* does not exist\nSELECT * FROM nope\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConn{err: errors.New(`relation "nope" does not exist`)}
	if err := RunRecord(c, recs[0]); err != nil {
		t.Fatal(err)
	}
	c.err = nil
	if err := RunRecord(c, recs[0]); err == nil {
		t.Fatal("missing error passed")
	}
}

func TestFormatValues(t *testing.T) {
	for _, c := range []struct {
		v    *string
		typ  byte
		want string
	}{{nil, 'I', "NULL"}, {s("3.7"), 'I', "3"}, {s("2.5"), 'R', "2.500"}, {s(""), 'T', "(empty)"}, {s("x y"), 'T', "x y"}} {
		if got := formatValue(c.v, c.typ); got != c.want {
			t.Errorf("formatValue(%v, %c) = %q, want %q", c.v, c.typ, got, c.want)
		}
	}
}

// recordingConn returns fixed rows and remembers the SQL it ran.
type recordingConn struct {
	fakeConn
	ran []string
}

func (r *recordingConn) Query(sql string) ([][]*string, error) {
	r.ran = append(r.ran, sql)
	return r.rows, r.err
}

func TestLet(t *testing.T) {
	file := `let $t1
SELECT 'x'

query T
SELECT * FROM t AS OF SYSTEM TIME '$t1' WHERE a <> '$t10'
----
x
`
	recs, err := Parse("x", strings.NewReader(file))
	if err != nil || len(recs) != 2 || recs[0].Kind != "let" || recs[0].Label != "$t1" {
		t.Fatalf("parse: %+v, %v", recs, err)
	}
	c := &recordingConn{fakeConn: fakeConn{rows: [][]*string{{s("42")}}}}
	vars := map[string]string{"$t10": "ten"}
	if err := RunRecordVars(c, recs[0], vars); err != nil || vars["$t1"] != "42" {
		t.Fatalf("let: %v, %v", err, vars)
	}
	c.rows = [][]*string{{s("x")}}
	if err := RunRecordVars(c, recs[1], vars); err != nil {
		t.Fatal(err)
	}
	if want := "SELECT * FROM t AS OF SYSTEM TIME '42' WHERE a <> 'ten'"; c.ran[1] != want {
		t.Fatalf("ran %q, want %q", c.ran[1], want)
	}
	c.rows = nil
	if err := RunRecordVars(c, recs[0], vars); err == nil {
		t.Fatal("let with no row succeeded")
	}
	if _, err := Parse("x", strings.NewReader("let t1\nSELECT 1\n")); err == nil {
		t.Fatal("let without $ parsed")
	}
}
