package copyfmt

import (
	"encoding/binary"
)

// Writer renders rows for COPY TO. Fields arrive rendered by their
// column's output function (text for text and CSV, the binary send
// format for binary); nil is NULL.
type Writer struct {
	o *Options
	// forceQuote[i]: column i is always quoted (CSV).
	forceQuote []bool
}

// NewWriter writes rows of the columns cols.
func NewWriter(o *Options, cols []string) *Writer {
	w := &Writer{o: o, forceQuote: make([]bool, len(cols))}
	for i, c := range cols {
		w.forceQuote[i] = o.ForceQuoteAll
		for _, f := range o.ForceQuote {
			if f == c {
				w.forceQuote[i] = true
			}
		}
	}
	return w
}

// Start appends what precedes the rows: the binary header, or the header
// line naming cols.
func (w *Writer) Start(dst []byte, cols []string) []byte {
	switch {
	case w.o.Format == Binary:
		dst = append(dst, binarySignature...)
		return append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // flags, extension length
	case w.o.Header:
		fields := make([][]byte, len(cols))
		for i, c := range cols {
			fields[i] = []byte(c)
		}
		// The header is never force-quoted.
		fq := w.forceQuote
		w.forceQuote = make([]bool, len(fq))
		dst = w.Row(dst, fields)
		w.forceQuote = fq
	}
	return dst
}

// End appends what follows the rows (the binary trailer).
func (w *Writer) End(dst []byte) []byte {
	if w.o.Format == Binary {
		return append(dst, 0xff, 0xff)
	}
	return dst
}

// Row appends one row.
func (w *Writer) Row(dst []byte, fields [][]byte) []byte {
	switch w.o.Format {
	case Binary:
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(fields)))
		for _, f := range fields {
			if f == nil {
				dst = binary.BigEndian.AppendUint32(dst, 0xffffffff)
				continue
			}
			dst = binary.BigEndian.AppendUint32(dst, uint32(len(f)))
			dst = append(dst, f...)
		}
		return dst
	case CSV:
		for i, f := range fields {
			if i > 0 {
				dst = append(dst, w.o.Delimiter)
			}
			if f == nil {
				dst = append(dst, w.o.Null...)
				continue
			}
			dst = w.csvField(dst, f, i < len(w.forceQuote) && w.forceQuote[i])
		}
		return append(dst, '\n')
	}
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, w.o.Delimiter)
		}
		if f == nil {
			dst = append(dst, w.o.Null...)
			continue
		}
		dst = w.textField(dst, f)
	}
	return append(dst, '\n')
}

// textField escapes backslash, control characters and the delimiter as
// PostgreSQL's CopyAttributeOutText does.
func (w *Writer) textField(dst, f []byte) []byte {
	d := w.o.Delimiter
	for _, c := range f {
		switch {
		case c < 0x20 || c == 0x7f:
			var e byte
			switch c {
			case '\b':
				e = 'b'
			case '\f':
				e = 'f'
			case '\n':
				e = 'n'
			case '\r':
				e = 'r'
			case '\t':
				e = 't'
			case '\v':
				e = 'v'
			}
			if e != 0 {
				dst = append(dst, '\\', e)
			} else if c == d {
				dst = append(dst, '\\', c)
			} else {
				dst = append(dst, c)
			}
		case c == '\\' || c == d:
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// csvField quotes a field when it must be (it holds the delimiter, the
// quote, a newline or carriage return, equals the null string, or is
// `\.`) or when forced, doubling quotes and escapes inside.
func (w *Writer) csvField(dst, f []byte, force bool) []byte {
	o := w.o
	quote := force || string(f) == o.Null || string(f) == `\.`
	if !quote {
		for _, c := range f {
			if c == o.Delimiter || c == o.Quote || c == '\n' || c == '\r' {
				quote = true
				break
			}
		}
	}
	if !quote {
		return append(dst, f...)
	}
	dst = append(dst, o.Quote)
	for _, c := range f {
		if c == o.Quote || c == o.Escape {
			dst = append(dst, o.Escape)
		}
		dst = append(dst, c)
	}
	return append(dst, o.Quote)
}
