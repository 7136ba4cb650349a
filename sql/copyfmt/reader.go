package copyfmt

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// BadCopyFileFormat is SQLSTATE 22P04.
const BadCopyFileFormat = sqlerr.BadCopyFileFormat

func badFormat(format string, args ...any) *sqlerr.Error {
	return sqlerr.New(BadCopyFileFormat, format, args...)
}

// binarySignature starts every binary COPY stream.
var binarySignature = []byte("PGCOPY\n\xff\r\n\x00")

// readBufferBytes is the bufio size over the data stream; longer lines
// are assembled from several reads.
const readBufferBytes = 64 << 10

// Reader splits a COPY FROM data stream into rows of raw fields.
type Reader struct {
	o    *Options
	cols []string
	br   *bufio.Reader

	// line counts the lines (text) or records (CSV, binary tuples) read,
	// the header included, as PostgreSQL's cur_lineno does.
	line int
	// raw is the current line without its terminator (text, CSV).
	raw []byte
	// fields are the current row's fields, pointing into raw or buf.
	fields [][]byte
	buf    []byte
	// eol is the line terminator style (eolNL, eolCR, eolCRNL), decided
	// by the first line.
	eol           int
	started, done bool
	// field is the binary field being read, -1 between fields.
	field int
}

// NewReader reads rows of len(cols) fields from r; cols are the column
// names (for HEADER MATCH and error messages).
func NewReader(r io.Reader, o *Options, cols []string) *Reader {
	return &Reader{o: o, cols: cols, br: bufio.NewReaderSize(r, readBufferBytes), field: -1}
}

// Line is the 1-based number of the line (record) last read.
func (r *Reader) Line() int { return r.line }

// Field is the index of the binary field whose reading failed, -1 if
// none (PostgreSQL's CONTEXT then names its column).
func (r *Reader) Field() int { return r.field }

// LineText is the current line as PostgreSQL quotes it in an error
// CONTEXT (at most 100 bytes, then "..."); empty in binary format.
func (r *Reader) LineText() string { return limitPrintout(r.raw) }

func limitPrintout(b []byte) string {
	const max = 100
	if len(b) <= max {
		return string(b)
	}
	// Do not cut a UTF-8 sequence.
	n := max
	for n > 0 && b[n]&0xc0 == 0x80 {
		n--
	}
	return string(b[:n]) + "..."
}

// Read returns the next row: one field per column, nil for NULL (in text
// and CSV, fewer fields than columns when the line is short: see
// Missing). The
// slices are valid until the next call. It returns io.EOF after the last
// row (the end of the stream or the `\.` marker), and an *sqlerr.Error
// for malformed data; errors of the stream itself are returned as they
// are.
func (r *Reader) Read() ([][]byte, error) {
	if r.done {
		return nil, io.EOF
	}
	if !r.started {
		r.started = true
		if r.o.Format == Binary {
			if err := r.binaryHeader(); err != nil {
				return nil, err
			}
		} else if r.o.Header {
			if err := r.header(); err != nil {
				return nil, err
			}
		}
	}
	var row [][]byte
	var err error
	switch r.o.Format {
	case Binary:
		row, err = r.readBinary()
	case CSV:
		row, err = r.readCSV()
	default:
		row, err = r.readText()
	}
	if err == io.EOF {
		r.done = true
	}
	return row, err
}

// header reads the header line: skipped, or checked with HEADER MATCH.
func (r *Reader) header() error {
	if err := r.nextLine(); err != nil {
		if err == io.EOF {
			r.done = true
			return nil
		}
		return err
	}
	if r.o.Format == CSV {
		if err := r.splitCSV(); err != nil {
			return err
		}
	} else if err := r.splitText(); err != nil {
		return err
	}
	if !r.o.HeaderMatch {
		return nil
	}
	if len(r.fields) != len(r.cols) {
		return badFormat("wrong number of fields in header line: got %d, expected %d", len(r.fields), len(r.cols))
	}
	for i, f := range r.fields {
		if f == nil {
			return badFormat("column name mismatch in header line field %d: got null value (\"%s\"), expected %q", i+1, r.o.Null, r.cols[i])
		}
		if string(f) != r.cols[i] {
			return badFormat("column name mismatch in header line field %d: got %q, expected %q", i+1, f, r.cols[i])
		}
	}
	return nil
}

// Line terminators: the first line decides, as in PostgreSQL.
const (
	eolUnknown = iota
	eolNL
	eolCR
	eolCRNL
)

// lineError is a malformed line: PostgreSQL reports it without the
// line's text, which it has not finished reading.
type lineError struct{ e *sqlerr.Error }

func (e lineError) Error() string { return e.e.Error() }
func (e lineError) Unwrap() error { return e.e }

// InLine reports whether err was found while reading a line, before its
// text was known: PostgreSQL's CONTEXT then names the line without
// quoting it.
func InLine(err error) bool {
	var le lineError
	return errors.As(err, &le)
}

// nextLine reads one line into r.raw (text and CSV) without its
// terminator: the bytes up to a newline that is not escaped by a
// backslash (text) or inside quotes (CSV). It returns io.EOF at the end
// of the stream or at the end marker (text: `\.` followed by the end of
// the line, the bytes before it being the last line; CSV: `\.` alone on
// a line).
func (r *Reader) nextLine() error {
	r.raw = r.raw[:0]
	csv := r.o.Format == CSV
	q, esc := r.o.Quote, r.o.Escape
	inQuote, escaped := false, false
	r.line++
	for {
		c, err := r.br.ReadByte()
		if err == io.EOF {
			if len(r.raw) == 0 {
				r.line--
				return io.EOF
			}
			break // a last line without terminator
		}
		if err != nil {
			return err
		}
		if csv {
			if inQuote {
				switch {
				case c == esc && esc != q:
					if n, err := r.br.ReadByte(); err == nil {
						if n == q || n == esc {
							r.raw = append(r.raw, c, n)
							continue
						}
						_ = r.br.UnreadByte()
					}
				case c == q:
					inQuote = false
				case c == '\n':
					r.line++ // PostgreSQL counts the lines inside quotes
				}
				r.raw = append(r.raw, c)
				continue
			}
			if c == q {
				inQuote = true
				r.raw = append(r.raw, c)
				continue
			}
		} else {
			if escaped {
				escaped = false
				if c == '.' {
					return r.endMarker()
				}
				r.raw = append(r.raw, c)
				continue
			}
			if c == '\\' {
				escaped = true
				r.raw = append(r.raw, c)
				continue
			}
		}
		if c != '\n' && c != '\r' {
			r.raw = append(r.raw, c)
			continue
		}
		if err := r.terminator(c); err != nil {
			return err
		}
		break
	}
	if csv && !inQuote && string(r.raw) == `\.` {
		r.raw = r.raw[:0]
		return io.EOF
	}
	return nil
}

// terminator checks a line's terminator c against the style of the first
// line, reading the \n of a \r\n.
func (r *Reader) terminator(c byte) error {
	if r.eol == eolUnknown {
		r.eol = eolNL
		if c == '\r' {
			r.eol = eolCR
			if n, err := r.br.ReadByte(); err == nil {
				if n == '\n' {
					r.eol = eolCRNL
				} else {
					_ = r.br.UnreadByte()
				}
			}
		}
		return nil
	}
	switch {
	case c == '\n' && r.eol == eolNL:
		return nil
	case c == '\r' && r.eol == eolCR:
		return nil
	case c == '\r' && r.eol == eolCRNL:
		if n, err := r.br.ReadByte(); err == nil {
			if n == '\n' {
				return nil
			}
			_ = r.br.UnreadByte()
		}
	}
	csv := r.o.Format == CSV
	if c == '\r' {
		if csv {
			return lineError{badFormat("unquoted carriage return found in data").WithHint("Use quoted CSV field to represent carriage return.")}
		}
		return lineError{badFormat("literal carriage return found in data").WithHint("Use \"\\r\" to represent carriage return.")}
	}
	if csv {
		return lineError{badFormat("unquoted newline found in data").WithHint("Use quoted CSV field to represent newline.")}
	}
	return lineError{badFormat("literal newline found in data").WithHint("Use \"\\n\" to represent newline.")}
}

// endMarker handles `\.` in a text line (the backslash is in r.raw): it
// must end the line; the bytes before it are the last line.
func (r *Reader) endMarker() error {
	r.raw = r.raw[:len(r.raw)-1]
	c, err := r.br.ReadByte()
	switch {
	case err == io.EOF:
		// PostgreSQL wants a line end after the marker.
		return lineError{badFormat("end-of-copy marker corrupt")}
	case err != nil:
		return err
	case c == '\n' || c == '\r':
		if c == '\r' {
			if n, err := r.br.ReadByte(); err == nil && n != '\n' {
				_ = r.br.UnreadByte()
			}
		}
	default:
		return lineError{badFormat("end-of-copy marker corrupt")}
	}
	r.done = true
	if len(r.raw) == 0 {
		return io.EOF
	}
	return nil
}

// readText reads one text-format row.
func (r *Reader) readText() ([][]byte, error) {
	if err := r.nextLine(); err != nil {
		return nil, err
	}
	if err := r.splitText(); err != nil {
		return nil, err
	}
	return r.fields, r.checkCount()
}

// checkCount refuses a row with more fields than columns. A row with
// fewer is returned as it is: PostgreSQL converts the fields it has, in
// column order, before it reports the first missing one (Missing), so
// that a bad value in an earlier column is the error.
func (r *Reader) checkCount() error {
	if len(r.fields) > len(r.cols) {
		return badFormat("extra data after last expected column")
	}
	return nil
}

// Missing is the error for a row that has no field for column i.
func (r *Reader) Missing(i int) error {
	return badFormat("missing data for column %q", r.cols[i])
}

// splitText splits r.raw into fields, undoing backslash escapes. A field
// whose raw text equals the null string is NULL.
func (r *Reader) splitText() error {
	r.fields = r.fields[:0]
	r.buf = r.buf[:0]
	line := r.raw
	d := r.o.Delimiter
	for start := 0; ; {
		end := start
		hasEsc := false
		for end < len(line) && line[end] != d {
			if line[end] == '\\' {
				hasEsc = true
				end++
			}
			end++
		}
		end = min(end, len(line))
		raw := line[start:end]
		switch {
		case string(raw) == r.o.Null:
			r.fields = append(r.fields, nil)
		case !hasEsc:
			r.fields = append(r.fields, nonNil(raw))
		default:
			r.fields = append(r.fields, r.unescape(raw))
		}
		if end >= len(line) {
			return nil
		}
		start = end + 1
	}
}

// unescape decodes PostgreSQL's text-format escapes into r.buf.
func (r *Reader) unescape(raw []byte) []byte {
	start := len(r.buf)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			r.buf = append(r.buf, c)
			continue
		}
		i++
		c = raw[i]
		switch c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'v':
			c = '\v'
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			c = byte(v)
		case 'x':
			if i+1 < len(raw) && isHex(raw[i+1]) {
				i++
				v := hexVal(raw[i])
				if i+1 < len(raw) && isHex(raw[i+1]) {
					i++
					v = v<<4 | hexVal(raw[i])
				}
				c = v
			}
		}
		r.buf = append(r.buf, c)
	}
	return nonNil(r.buf[start:len(r.buf):len(r.buf)])
}

// empty is the value of an empty field: not nil, which is NULL.
var empty = []byte{}

// nonNil returns b, or an empty non-nil slice when b is nil (a slice of a
// buffer not allocated yet).
func nonNil(b []byte) []byte {
	if b == nil {
		return empty
	}
	return b
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// readCSV reads one CSV record.
func (r *Reader) readCSV() ([][]byte, error) {
	if err := r.nextLine(); err != nil {
		return nil, err
	}
	if err := r.splitCSV(); err != nil {
		return nil, err
	}
	return r.fields, r.checkCount()
}

// splitCSV splits r.raw into CSV fields. An unquoted field equal to the
// null string is NULL (except in FORCE_NOT_NULL columns); a quoted one is
// a string (except in FORCE_NULL columns).
func (r *Reader) splitCSV() error {
	r.fields = r.fields[:0]
	r.buf = r.buf[:0]
	line := r.raw
	o := r.o
	i := 0
	for {
		start := len(r.buf)
		quoted := false
		rawStart := i
		for i < len(line) && line[i] != o.Delimiter {
			c := line[i]
			if c != o.Quote {
				r.buf = append(r.buf, c)
				i++
				continue
			}
			// A quoted section.
			quoted = true
			i++
			for {
				if i >= len(line) {
					return badFormat("unterminated CSV quoted field")
				}
				c := line[i]
				if c == o.Escape && i+1 < len(line) && (line[i+1] == o.Quote || line[i+1] == o.Escape) &&
					(o.Escape != o.Quote || line[i+1] == o.Quote) {
					r.buf = append(r.buf, line[i+1])
					i += 2
					continue
				}
				if c == o.Quote {
					i++
					break
				}
				r.buf = append(r.buf, c)
				i++
			}
		}
		f := r.buf[start:]
		col := len(r.fields)
		isNull := false
		if !quoted && string(line[rawStart:i]) == o.Null {
			isNull = !r.forced(o.ForceNotNull, col)
		} else if quoted && string(f) == o.Null {
			isNull = r.forced(o.ForceNull, col)
		}
		if isNull {
			r.fields = append(r.fields, nil)
		} else {
			r.fields = append(r.fields, nonNil(f[:len(f):len(f)]))
		}
		if i >= len(line) {
			return nil
		}
		i++ // the delimiter
	}
}

// forced reports whether column col is named in list.
func (r *Reader) forced(list []string, col int) bool {
	if col >= len(r.cols) {
		return false
	}
	for _, n := range list {
		if n == r.cols[col] {
			return true
		}
	}
	return false
}

// binaryHeader reads the signature, flags and header extension.
func (r *Reader) binaryHeader() error {
	var hdr [19]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return badFormat("COPY file signature not recognized")
		}
		return err
	}
	if !bytes.Equal(hdr[:11], binarySignature) {
		return badFormat("COPY file signature not recognized")
	}
	flags := binary.BigEndian.Uint32(hdr[11:15])
	if flags&(1<<16) != 0 {
		return badFormat("invalid COPY file header (WITH OIDS)")
	}
	if flags&^(1<<16)>>16 != 0 {
		return badFormat("unrecognized critical flags in COPY file header")
	}
	ext := int32(binary.BigEndian.Uint32(hdr[15:19]))
	if ext < 0 {
		return badFormat("invalid COPY file header (missing length)")
	}
	if _, err := io.CopyN(io.Discard, r.br, int64(ext)); err != nil {
		if errors.Is(err, io.EOF) {
			return badFormat("invalid COPY file header (wrong length)")
		}
		return err
	}
	return nil
}

// readBinary reads one binary tuple.
func (r *Reader) readBinary() ([][]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r.br, n[:2]); err != nil {
		if err == io.EOF {
			// PostgreSQL accepts a stream without the trailer.
			return nil, io.EOF
		}
		return nil, r.binaryEOF(err)
	}
	r.line++
	count := int16(binary.BigEndian.Uint16(n[:2]))
	if count == -1 {
		return nil, io.EOF
	}
	if int(count) != len(r.cols) {
		return nil, badFormat("row field count is %d, expected %d", count, len(r.cols))
	}
	r.fields = r.fields[:0]
	r.buf = r.buf[:0]
	type span struct{ off, n int }
	var spans [16]span
	sp := spans[:0]
	for i := range int(count) {
		r.field = i
		if _, err := io.ReadFull(r.br, n[:]); err != nil {
			return nil, r.binaryEOF(err)
		}
		l := int32(binary.BigEndian.Uint32(n[:]))
		if l == -1 {
			sp = append(sp, span{-1, 0})
			continue
		}
		if l < 0 {
			return nil, badFormat("invalid field size")
		}
		off := len(r.buf)
		// Grow as bytes arrive, never by what a length claims.
		for left := int(l); left > 0; {
			k := min(left, readBufferBytes)
			r.buf = append(r.buf, make([]byte, k)...)
			if _, err := io.ReadFull(r.br, r.buf[len(r.buf)-k:]); err != nil {
				return nil, r.binaryEOF(err)
			}
			left -= k
		}
		sp = append(sp, span{off, int(l)})
	}
	r.field = -1
	for _, s := range sp {
		if s.off < 0 {
			r.fields = append(r.fields, nil)
			continue
		}
		r.fields = append(r.fields, nonNil(r.buf[s.off:s.off+s.n:s.off+s.n]))
	}
	return r.fields, nil
}

func (r *Reader) binaryEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badFormat("unexpected EOF in COPY data")
	}
	return err
}

// String describes the reader's position (for debugging).
func (r *Reader) String() string { return fmt.Sprintf("copyfmt.Reader{line %d}", r.line) }
