// Package logictest runs SQL logic test files in the sqllogictest format
// (the public corpus's, extended with PostgreSQL error codes) against any
// connection: the same files run against one node, a cluster, or a real
// PostgreSQL to establish what is correct.
//
// Records:
//
//	statement ok
//	<sql>
//
//	statement error [pgcode XXXXX] [<regexp>]
//	<sql>
//
//	query <types> [nosort|rowsort|valuesort] [label]
//	<sql>
//	----
//	<one value per line>  |  N values hashing to <md5>
//
// Types are one letter per column: I integer, R real (printed %.3f), T
// text. NULL prints as NULL and the empty string as (empty). Lines
// "skipif <engine>" and "onlyif <engine>" before a record select engines
// (this runner is engine "outpost" and also honours "postgresql"); "halt"
// stops the file; "hash-threshold N" hashes results of more than N values
// when writing expectations (comparison accepts either form).
//
// "let $name" followed by a query binds $name to the query's single value;
// later records of the file have $name replaced by it in their SQL and
// expected values (RunRecordVars), so
// that a file can name values only known at run time (a commit timestamp).
package logictest

import (
	"bufio"
	"crypto/md5"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Conn runs SQL for the runner.
type Conn interface {
	// Exec runs a statement. Errors should expose their SQLSTATE through
	// Code.
	Exec(sql string) error
	// Query runs a query and returns its rows as text; nil is NULL.
	Query(sql string) ([][]*string, error)
}

// Code extracts a SQLSTATE from an error (drivers differ).
var Code func(err error) string = func(error) string { return "" }

// Record is one test case.
type Record struct {
	File string
	Line int
	Kind string // "statement" or "query"
	SQL  string
	// statement
	ExpectError bool
	ErrorCode   string
	ErrorRegex  string
	// query
	Types    string
	Sort     string
	Label    string
	Expected []string // values, or a single "N values hashing to H"
}

// Engines the runner counts as itself for skipif/onlyif. Outpost honours
// the corpus's "postgresql" lines too, since it emulates PostgreSQL; a run
// against a real PostgreSQL (to check expectations) sets only
// "postgresql", so "onlyif outpost" marks records where Outpost knowingly
// differs.
var Engines = map[string]bool{"outpost": true, "postgresql": true}

// Parse reads the records of a file.
func Parse(name string, r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var recs []Record
	skip := false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch fields[0] {
		case "halt":
			return recs, nil
		case "hash-threshold":
			continue
		case "skipif":
			if len(fields) > 1 && Engines[fields[1]] {
				skip = true
			}
			continue
		case "onlyif":
			if len(fields) > 1 && !Engines[fields[1]] {
				skip = true
			}
			continue
		case "statement", "query", "let":
		default:
			return nil, fmt.Errorf("%s:%d: unknown record %q", name, i+1, line)
		}
		rec := Record{File: name, Line: i + 1, Kind: fields[0]}
		if rec.Kind == "let" {
			if len(fields) != 2 || !strings.HasPrefix(fields[1], "$") || len(fields[1]) < 2 {
				return nil, fmt.Errorf("%s:%d: let needs one $name", name, i+1)
			}
			rec.Label = fields[1]
		} else if rec.Kind == "statement" {
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s:%d: statement needs ok or error", name, i+1)
			}
			if fields[1] == "error" {
				rec.ExpectError = true
				rest := strings.TrimSpace(strings.TrimPrefix(line, "statement error"))
				if strings.HasPrefix(rest, "pgcode ") {
					parts := strings.SplitN(strings.TrimPrefix(rest, "pgcode "), " ", 2)
					rec.ErrorCode = parts[0]
					rest = ""
					if len(parts) > 1 {
						rest = parts[1]
					}
				}
				rec.ErrorRegex = strings.TrimSpace(rest)
			}
		} else {
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s:%d: query needs types", name, i+1)
			}
			rec.Types = fields[1]
			rec.Sort = "nosort"
			if len(fields) > 2 {
				rec.Sort = fields[2]
			}
			if len(fields) > 3 {
				rec.Label = fields[3]
			}
		}
		var sqlLines []string
		i++
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != "" && lines[i] != "----"; i++ {
			sqlLines = append(sqlLines, lines[i])
		}
		rec.SQL = strings.Join(sqlLines, "\n")
		if rec.Kind == "query" {
			if i >= len(lines) || lines[i] != "----" {
				return nil, fmt.Errorf("%s:%d: query without ----", name, rec.Line)
			}
			i++
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				rec.Expected = append(rec.Expected, strings.TrimRight(lines[i], " "))
			}
		}
		if skip {
			skip = false
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// ParseFile reads a file's records.
func ParseFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Result of running one record.
type Result struct {
	Record Record
	Err    error // nil when the record passed
}

// Run runs the records in order on c.
func Run(c Conn, recs []Record) []Result {
	out := make([]Result, 0, len(recs))
	for _, r := range recs {
		out = append(out, Result{Record: r, Err: RunRecord(c, r)})
	}
	return out
}

// RunRecordVars runs one record with the variables bound by earlier "let"
// records of its file (vars, updated by a let) substituted in its SQL.
func RunRecordVars(c Conn, r Record, vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	// Longest first: $t10 before $t1.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	if len(names) > 0 {
		r.Expected = append([]string(nil), r.Expected...)
	}
	for _, name := range names {
		r.SQL = strings.ReplaceAll(r.SQL, name, vars[name])
		for i := range r.Expected {
			r.Expected[i] = strings.ReplaceAll(r.Expected[i], name, vars[name])
		}
	}
	if r.Kind != "let" {
		return RunRecord(c, r)
	}
	rows, err := c.Query(r.SQL)
	if err != nil {
		return fmt.Errorf("let %s: %v", r.Label, err)
	}
	if len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] == nil {
		return fmt.Errorf("let %s: the query must return one non-NULL value, got %d rows", r.Label, len(rows))
	}
	vars[r.Label] = *rows[0][0]
	return nil
}

// RunRecord runs one record and reports a mismatch as an error.
func RunRecord(c Conn, r Record) error {
	if r.Kind == "let" {
		return fmt.Errorf("let %s needs RunRecordVars", r.Label)
	}
	if r.Kind == "statement" {
		err := c.Exec(r.SQL)
		return checkError(r, err)
	}
	rows, err := c.Query(r.SQL)
	if err != nil {
		if r.ExpectError {
			return checkError(r, err)
		}
		return fmt.Errorf("query failed: %v", err)
	}
	got, err := format(rows, r.Types)
	if err != nil {
		return err
	}
	got = sortValues(got, len(r.Types), r.Sort)
	if len(r.Expected) == 1 && strings.Contains(r.Expected[0], "values hashing to") {
		var n int
		var h string
		if _, err := fmt.Sscanf(r.Expected[0], "%d values hashing to %s", &n, &h); err != nil {
			return fmt.Errorf("bad hash line %q", r.Expected[0])
		}
		gh := hashValues(got)
		if n != len(got) || gh != h {
			return fmt.Errorf("got %d values hashing to %s, want %s\n%s", len(got), gh, r.Expected[0], strings.Join(got, "\n"))
		}
		return nil
	}
	// Expectations are a value per line, or (in our own files) a row per
	// line with values separated by spaces.
	want := r.Expected
	if len(want) != len(got) {
		if rowWise := splitRows(r.Expected, len(r.Types)); rowWise != nil && equalStrings(rowWise, got) {
			return nil
		}
		return fmt.Errorf("got %d values, want %d\ngot:\n%s\nwant:\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !equalStrings(want, got) {
		if rowWise := splitRows(r.Expected, len(r.Types)); rowWise != nil && equalStrings(rowWise, got) {
			return nil
		}
		return fmt.Errorf("results differ\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	return nil
}

// splitRows accepts expectations written one row per line, values
// separated by spaces (only when no value contains spaces).
func splitRows(lines []string, ncols int) []string {
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != ncols {
			return nil
		}
		out = append(out, f...)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkError(r Record, err error) error {
	if !r.ExpectError {
		if err != nil {
			return fmt.Errorf("unexpected error: %v (SQLSTATE %s)", err, Code(err))
		}
		return nil
	}
	if err == nil {
		return fmt.Errorf("expected an error, got none")
	}
	if r.ErrorCode != "" && Code(err) != r.ErrorCode {
		return fmt.Errorf("expected SQLSTATE %s, got %s: %v", r.ErrorCode, Code(err), err)
	}
	if r.ErrorRegex != "" {
		re, rerr := regexp.Compile(r.ErrorRegex)
		if rerr != nil {
			return fmt.Errorf("bad error regexp: %v", rerr)
		}
		if !re.MatchString(err.Error()) {
			return fmt.Errorf("error %q does not match %q", err.Error(), r.ErrorRegex)
		}
	}
	return nil
}

// format renders values as sqllogictest prints them.
func format(rows [][]*string, types string) ([]string, error) {
	var out []string
	for _, row := range rows {
		if len(row) != len(types) {
			return nil, fmt.Errorf("query returned %d columns, the record declares %d", len(row), len(types))
		}
		for i, v := range row {
			out = append(out, formatValue(v, types[i]))
		}
	}
	return out, nil
}

func formatValue(v *string, typ byte) string {
	if v == nil {
		return "NULL"
	}
	s := *v
	switch typ {
	case 'I':
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return s
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatInt(int64(math.Trunc(f)), 10)
		}
		if s == "t" || s == "true" {
			return "1"
		}
		if s == "f" || s == "false" {
			return "0"
		}
		return s
	case 'R':
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return fmt.Sprintf("%.3f", f)
		}
		return s
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

func sortValues(vals []string, ncols int, mode string) []string {
	switch mode {
	case "valuesort":
		out := append([]string(nil), vals...)
		sort.Strings(out)
		return out
	case "rowsort":
		var rows [][]string
		for i := 0; i+ncols <= len(vals); i += ncols {
			rows = append(rows, vals[i:i+ncols])
		}
		sort.SliceStable(rows, func(a, b int) bool {
			for k := 0; k < ncols; k++ {
				if rows[a][k] != rows[b][k] {
					return rows[a][k] < rows[b][k]
				}
			}
			return false
		})
		out := make([]string, 0, len(vals))
		for _, r := range rows {
			out = append(out, r...)
		}
		return out
	}
	return vals
}

func hashValues(vals []string) string {
	h := md5.New()
	for _, v := range vals {
		io.WriteString(h, v)
		io.WriteString(h, "\n")
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
