package copyfmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// chunkReader hands out its data a few bytes at a time, as CopyData
// messages split rows anywhere.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

func mustOptions(t testing.TB, opts map[string]string, from bool) *Options {
	t.Helper()
	o, err := ParseOptions(opts, nil, from)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// readAll reads every row, rendering NULL as <NULL>.
func readAll(o *Options, cols []string, data string, chunk int) ([]string, error) {
	rd := NewReader(&chunkReader{data: []byte(data), n: chunk}, o, cols)
	var out []string
	for {
		row, err := rd.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("line %d: %w", rd.Line(), err)
		}
		var fs []string
		for _, f := range row {
			if f == nil {
				fs = append(fs, "<NULL>")
			} else {
				fs = append(fs, fmt.Sprintf("%q", f))
			}
		}
		out = append(out, strings.Join(fs, " "))
	}
}

func TestReader(t *testing.T) {
	cols := []string{"a", "b"}
	text := map[string]string{}
	csv := map[string]string{"format": "csv"}
	for _, tc := range []struct {
		opts map[string]string
		data string
		want string // rows joined by " | ", then "; err" if any
	}{
		{text, "1\tx\n2\t\\N\n", `"1" "x" | "2" <NULL>`},
		{text, "1\tx", `"1" "x"`},
		{text, "1\ta\\tb\\\\c\\n\\101\\x41\\x4g\\q\n", `"1" "a\tb\\c\nAA\x04gq"`},
		{text, "1\ta\\\tb\n", `"1" "a\tb"`},             // escaped delimiter
		{text, "1\ta\\\nb\n", `"1" "a\nb"`},             // escaped newline
		{text, "1\tx\r\n2\ty\r\n", `"1" "x" | "2" "y"`}, // \r\n
		{text, "1\tx\r2\ty\r", `"1" "x" | "2" "y"`},     // \r
		{text, "1\tx\n\\.\n3\tz\n", `"1" "x"`},
		{text, "1\tx\\.\n3\tz\n", `"1" "x"`},
		{text, "1\tx\n\\.x\n", `"1" "x"; line 2: end-of-copy marker corrupt`},
		{text, "1\tx\n\\.", `"1" "x"; line 2: end-of-copy marker corrupt`},
		{text, "1\tx\n2\ty\r\n", `"1" "x"; line 2: literal carriage return found in data`},
		{text, "1\tx\r\n2\ty\n", `"1" "x"; line 2: literal newline found in data`},
		{text, "1\n", `"1"`}, // short: the caller reports the missing column
		{text, "1\t2\t3\n", `; line 1: extra data after last expected column`},
		{text, "\\N\t\\\\N\n", `<NULL> "\\N"`},
		{map[string]string{"header": "true"}, "a\tb\n1\t2\n", `"1" "2"`},
		{map[string]string{"header": "match"}, "a\tc\n1\t2\n", `; line 1: column name mismatch in header line field 2: got "c", expected "b"`},
		{map[string]string{"null": "NUL", "delimiter": "|"}, "NUL|x\\|y\n", `<NULL> "x|y"`},
		{csv, "1,x\n2,\n3,\"\"\n", `"1" "x" | "2" <NULL> | "3" ""`},
		{csv, "1,\"a\"\"b\",\n", `; line 1: extra data after last expected column`},
		{csv, "1,\"a\"\"b\"\n", `"1" "a\"b"`},
		{csv, "1,\"multi\nline\"\n2,x\n", `"1" "multi\nline" | "2" "x"`},
		{csv, "1,\"open\n", `; line 2: unterminated CSV quoted field`},
		{csv, "1,x\r\n2,y\r\n", `"1" "x" | "2" "y"`},
		{csv, "1,x\n\\.\n2,y\n", `"1" "x"`},
		{csv, "1,\"\\.\"\n", `"1" "\\."`},
		{csv, "1,ab\"c\"d\n", `"1" "abcd"`},
		{map[string]string{"format": "csv", "quote": "'", "escape": "\\"}, "1,'it\\'s \\\\'\n", `"1" "it's \\"`},
		{map[string]string{"format": "csv", "force_not_null": "b"}, "1,\n", `"1" ""`},
		{map[string]string{"format": "csv", "force_null": "b"}, "1,\"\"\n", `"1" <NULL>`},
		{map[string]string{"format": "csv", "header": "true"}, "a,b\n", ``},
	} {
		o := mustOptions(t, tc.opts, true)
		for _, chunk := range []int{1, 3, 1 << 20} {
			rows, err := readAll(o, cols, tc.data, chunk)
			got := strings.Join(rows, " | ")
			if err != nil {
				got += "; " + err.Error()
			}
			if got != tc.want {
				t.Errorf("%v %q (chunks of %d):\n got %s\nwant %s", tc.opts, tc.data, chunk, got, tc.want)
			}
		}
	}
}

func TestReaderErrorsAre22P04(t *testing.T) {
	o := mustOptions(t, map[string]string{}, true)
	_, err := readAll(o, []string{"a"}, "1\t2\n", 4)
	if sqlerr.Code(err) != "22P04" {
		t.Fatalf("%v: %s", err, sqlerr.Code(err))
	}
}

func TestBinary(t *testing.T) {
	o := mustOptions(t, map[string]string{"format": "binary"}, false)
	w := NewWriter(o, []string{"a", "b"})
	buf := w.Start(nil, nil)
	buf = w.Row(buf, [][]byte{{0, 0, 0, 1}, nil})
	buf = w.Row(buf, [][]byte{{}, []byte("xyz")})
	buf = w.End(buf)
	in := mustOptions(t, map[string]string{"format": "binary"}, true)
	rows, err := readAll(in, []string{"a", "b"}, string(buf), 5)
	if err != nil || strings.Join(rows, " | ") != `"\x00\x00\x00\x01" <NULL> | "" "xyz"` {
		t.Fatalf("%v %v", rows, err)
	}
	for _, tc := range []struct{ data, err string }{
		{"PGCOPX\n\xff\r\n\x00", "COPY file signature not recognized"},
		{"PGCOPY\n\xff\r\n\x00\x00\x01\x00\x00\x00\x00\x00\x00", "invalid COPY file header (WITH OIDS)"},
		{"PGCOPY\n\xff\r\n\x00\x00\x02\x00\x00\x00\x00\x00\x00", "unrecognized critical flags in COPY file header"},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "row field count is 1, expected 2"},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x09ab", "unexpected EOF in COPY data"},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\xff\xff\xff\xfe", "invalid field size"},
		{"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff\xff\xff", "invalid COPY file header (wrong length)"},
	} {
		_, err := readAll(in, []string{"a", "b"}, tc.data, 3)
		if err == nil || !strings.Contains(err.Error(), tc.err) || sqlerr.Code(err) != "22P04" {
			t.Errorf("%q: %v, want %s", tc.data, err, tc.err)
		}
	}
}

func TestWriter(t *testing.T) {
	row := [][]byte{[]byte("1"), nil, []byte("a\tb\\c\nd\x01|"), []byte(""), []byte(`q"q`), []byte(`\.`)}
	cols := []string{"a", "b", "c", "d", "e", "f"}
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{}, "1\t\\N\ta\\tb\\\\c\\nd\x01|\t\tq\"q\t\\\\.\n"},
		{map[string]string{"delimiter": "|", "null": "NUL"}, "1|NUL|a\\tb\\\\c\\nd\x01\\|||q\"q|\\\\.\n"},
		{map[string]string{"format": "csv"}, "1,,\"a\tb\\c\nd\x01|\",\"\",\"q\"\"q\",\"\\.\"\n"},
		{map[string]string{"format": "csv", "force_quote": "a, c"}, "\"1\",,\"a\tb\\c\nd\x01|\",\"\",\"q\"\"q\",\"\\.\"\n"},
		{map[string]string{"format": "csv", "force_quote": "*", "null": "N"}, "\"1\",N,\"a\tb\\c\nd\x01|\",\"\",\"q\"\"q\",\"\\.\"\n"},
		{map[string]string{"format": "csv", "quote": "'", "escape": "\\"}, "1,,'a\tb\\\\c\nd\x01|','',q\"q,'\\\\.'\n"},
	} {
		o := mustOptions(t, tc.opts, false)
		got := string(NewWriter(o, cols).Row(nil, row))
		if got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.opts, got, tc.want)
		}
	}
	o := mustOptions(t, map[string]string{"format": "csv", "header": "true", "force_quote": "*"}, false)
	if got := string(NewWriter(o, cols).Start(nil, cols)); got != "a,b,c,d,e,f\n" {
		t.Errorf("header %q", got)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		from bool
		code string
	}{
		{map[string]string{"format": "xml"}, true, "22023"},
		{map[string]string{"bogus": "1"}, true, "42601"},
		{map[string]string{"delimiter": ",,"}, true, "0A000"},
		{map[string]string{"format": "csv", "escape": "ab"}, true, "0A000"},
		{map[string]string{"format": "csv", "quote": ","}, true, "22023"},
		{map[string]string{"delimiter": "\\"}, true, "22023"},
		{map[string]string{"delimiter": "\n"}, true, "22023"},
		{map[string]string{"null": "a\nb"}, true, "22023"},
		{map[string]string{"header": "x"}, true, "42601"},
		{map[string]string{"header": "match"}, false, "0A000"},
		{map[string]string{"quote": "x"}, true, "0A000"},
		{map[string]string{"format": "csv", "force_quote": "a"}, true, "0A000"},
		{map[string]string{"format": "csv", "force_not_null": "a"}, false, "0A000"},
		{map[string]string{"format": "csv", "force_not_null": "*"}, true, "22023"},
		{map[string]string{"force_quote": "*"}, false, "0A000"},
		{map[string]string{"format": "binary", "header": "true"}, false, "0A000"},
		{map[string]string{"format": "binary", "delimiter": ","}, false, "42601"},
		{map[string]string{"format": "csv", "delimiter": "a", "null": "xay"}, false, "0A000"},
		{map[string]string{"freeze": "maybe"}, true, "42601"},
		{map[string]string{"encoding": "latin1"}, true, "22023"},
		{map[string]string{"force": "quote a"}, false, "0A000"},
	} {
		_, err := ParseOptions(tc.opts, nil, tc.from)
		if sqlerr.Code(err) != tc.code {
			t.Errorf("%v from=%v: %v (%s), want %s", tc.opts, tc.from, err, sqlerr.Code(err), tc.code)
		}
	}
	if _, err := ParseOptions(map[string]string{"header": "true"}, []string{"header"}, true); sqlerr.Code(err) != "42601" {
		t.Errorf("duplicate: %v", err)
	}
	o, err := ParseOptions(map[string]string{"format": "csv", "force": "quote a, \"B\"", "freeze": "on", "encoding": "UTF8"}, nil, false)
	if err != nil || fmt.Sprint(o.ForceQuote) != "[a B]" || !o.Freeze {
		t.Fatalf("%+v %v", o, err)
	}
}

// roundTrip writes rows and reads them back in the same options.
func roundTrip(t testing.TB, opts map[string]string, rows [][][]byte, chunk int) {
	ncols := len(rows[0])
	cols := make([]string, ncols)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d", i)
	}
	out := mustOptions(t, opts, false)
	if out.Format == Text {
		// As in PostgreSQL, text format cannot tell a value equal to the
		// null string from NULL: leave such values out.
		for _, r := range rows {
			for j, f := range r {
				if f != nil && string(f) == out.Null {
					r[j] = append([]byte("not "), f...)
				}
			}
		}
	}
	w := NewWriter(out, cols)
	buf := w.Start(nil, cols)
	for _, r := range rows {
		buf = w.Row(buf, r)
	}
	buf = w.End(buf)
	in := mustOptions(t, opts, true)
	rd := NewReader(&chunkReader{data: buf, n: chunk}, in, cols)
	for i, want := range rows {
		got, err := rd.Read()
		if err != nil {
			t.Fatalf("%v row %d: %v\ndata %q", opts, i, err, buf)
		}
		for j := range want {
			if (got[j] == nil) != (want[j] == nil) || !bytes.Equal(got[j], want[j]) {
				t.Fatalf("%v row %d col %d: got %q want %q\ndata %q", opts, i, j, got[j], want[j], buf)
			}
		}
	}
	if _, err := rd.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("%v: after the rows: %v", opts, err)
	}
}

var roundTripOptions = []map[string]string{
	{}, {"header": "true", "delimiter": "|", "null": "NULL"},
	{"format": "csv"}, {"format": "csv", "header": "true", "quote": "'", "escape": "\\"},
	{"format": "binary"},
}

func TestRoundTrip(t *testing.T) {
	rows := [][][]byte{
		{[]byte("plain"), nil, []byte("")},
		{[]byte("a\tb\\c\nd\re|f,g\"h'i"), []byte(`\N`), []byte(`\.`)},
		{[]byte("NULL"), []byte("\x00\xff"), []byte("\r\n")},
	}
	for _, o := range roundTripOptions {
		for _, chunk := range []int{1, 7, 1 << 20} {
			roundTrip(t, o, rows, chunk)
		}
	}
}

// FuzzReader feeds arbitrary bytes to the reader in every format: it must
// end (EOF or an error) without panicking, and a row it returns has
// exactly one field per column.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"1\tx\n\\.\n", "1,\"a\nb\"\n", "a\\", "\\.", "\"", "\r\n\r", "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01a\xff\xff\xff\xff\xff\xff"} {
		for format := range 3 {
			f.Add([]byte(s), uint8(format), false, uint8(3))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format uint8, header bool, chunk uint8) {
		opts := map[string]string{"format": []string{"text", "csv", "binary"}[format%3]}
		if header && format%3 != 2 {
			opts["header"] = "true"
		}
		o := mustOptions(t, opts, true)
		cols := []string{"a", "b"}
		rd := NewReader(&chunkReader{data: data, n: int(chunk) + 1}, o, cols)
		for i := 0; ; i++ {
			row, err := rd.Read()
			if err != nil {
				if err != io.EOF && sqlerr.Code(err) != "22P04" {
					t.Fatalf("error %v has code %s", err, sqlerr.Code(err))
				}
				return
			}
			if len(row) > len(cols) || format%3 == 2 && len(row) != len(cols) {
				t.Fatalf("row %d has %d fields", i, len(row))
			}
			if i > len(data) {
				t.Fatal("more rows than input bytes")
			}
		}
	})
}

// FuzzRoundTrip writes fuzzed fields and reads them back: every format
// must give back exactly what was written.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("a\x00b\tc\x00\\N"), uint8(0))
	f.Add([]byte("\"q\"\x00\n\x00\r"), uint8(1))
	f.Add([]byte("\\.\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		parts := bytes.Split(data, []byte{0})
		row := make([][]byte, 3)
		for i := range row {
			if i < len(parts) {
				row[i] = parts[i]
			}
			if row[i] == nil {
				row[i] = []byte{}
			}
		}
		if len(parts) > 3 {
			row[1] = nil // a NULL
		}
		roundTrip(t, roundTripOptions[int(opt)%len(roundTripOptions)], [][][]byte{row, row}, 5)
	})
}

// TestEmptyIsNotNull: an empty field is an empty string, never NULL, even
// when it is the first thing decoded (no buffer allocated yet).
func TestEmptyIsNotNull(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		data string
	}{
		{map[string]string{}, "\n"},
		{map[string]string{"format": "csv"}, "\"\"\n"},
		{map[string]string{"format": "binary"}, "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\xff\xff"},
	} {
		rows, err := readAll(mustOptions(t, tc.opts, true), []string{"a"}, tc.data, 100)
		if err != nil || len(rows) != 1 || rows[0] != `""` {
			t.Errorf("%v %q: %v %v", tc.opts, tc.data, rows, err)
		}
	}
}
