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
	// crlf: lines end in \r\n (decided by the first line).
	crlf, eolKnown bool
	started, done  bool
}

// NewReader reads rows of len(cols) fields from r; cols are the column
// names (for HEADER MATCH and error messages).
func NewReader(r io.Reader, o *Options, cols []string) *Reader {
	return &Reader{o: o, cols: cols, br: bufio.NewReaderSize(r, readBufferBytes)}
}

// Line is the 1-based number of the line (record) last read.
func (r *Reader) Line() int { return r.line }

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

// Read returns the next row: one field per column, nil for NULL. The
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

// nextLine reads one physical line into r.raw (text and CSV): the bytes
// up to an unescaped newline (text) or a newline outside quotes (CSV).
// It returns io.EOF at the end of the stream or at the end marker.
func (r *Reader) nextLine() error {
	r.raw = r.raw[:0]
	inQuote := false
	escaped := false // text: the previous byte was an unpaired backslash
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return err
		}
		start := len(r.raw)
		r.raw = append(r.raw, chunk...)
		// Scan what was added for quote/escape state, so that a
		// newline inside quotes (CSV) or after a backslash (text)
		// does not end the line.
		for i := start; i < len(r.raw); i++ {
			c := r.raw[i]
			if r.o.Format == CSV {
				switch {
				case inQuote && c == r.o.Escape && r.o.Escape != r.o.Quote && i+1 < len(r.raw) &&
					(r.raw[i+1] == r.o.Quote || r.raw[i+1] == r.o.Escape):
					i++
				case c == r.o.Quote:
					inQuote = !inQuote
				}
				continue
			}
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		endsNL := len(r.raw) > 0 && r.raw[len(r.raw)-1] == '\n'
		if endsNL && (inQuote || (r.o.Format == Text && escaped)) {
			escaped = false
			if err == io.EOF {
				break
			}
			continue // the newline is data
		}
		if err == io.EOF && len(r.raw) == 0 {
			return io.EOF
		}
		break
	}
	if inQuote {
		// The stream ended inside quotes.
		r.line++
		return badFormat("unterminated CSV quoted field")
	}
	r.line++
	n := len(r.raw)
	if n > 0 && r.raw[n-1] == '\n' {
		n--
		cr := n > 0 && r.raw[n-1] == '\r'
		if !r.eolKnown {
			r.eolKnown, r.crlf = true, cr
		}
		if r.crlf {
			if !cr {
				return badFormat("literal newline found in data").WithHint("Use \"\\n\" to represent newline.")
			}
			n--
		}
	}
	r.raw = r.raw[:n]
	if r.o.Format == Text {
		// A newline escaped by a backslash is data; an unescaped
		// carriage return is not allowed in data.
		// `\.` ends the data; it may only end a line.
		escaped := false
		for i, c := range r.raw {
			if escaped {
				escaped = false
				if c == '.' {
					if i+1 != len(r.raw) {
						return badFormat("end-of-copy marker corrupt")
					}
					r.raw = r.raw[:i-1]
					r.done = true
					if i == 1 {
						return io.EOF
					}
					break
				}
				continue
			}
			switch c {
			case '\\':
				escaped = true
			case '\r':
				return badFormat("literal carriage return found in data").WithHint("Use \"\\r\" to represent carriage return.")
			}
		}
	} else if string(r.raw) == `\.` {
		r.raw = r.raw[:0]
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

func (r *Reader) checkCount() error {
	if len(r.fields) > len(r.cols) {
		return badFormat("extra data after last expected column")
	}
	if len(r.fields) < len(r.cols) {
		return badFormat("missing data for column %q", r.cols[len(r.fields)])
	}
	return nil
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
			r.fields = append(r.fields, raw)
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
	return r.buf[start:len(r.buf):len(r.buf)]
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
			r.fields = append(r.fields, f[:len(f):len(f)])
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
	for range int(count) {
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
	for _, s := range sp {
		if s.off < 0 {
			r.fields = append(r.fields, nil)
			continue
		}
		r.fields = append(r.fields, r.buf[s.off:s.off+s.n:s.off+s.n])
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
