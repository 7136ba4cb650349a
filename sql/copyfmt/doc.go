// Package copyfmt reads and writes the data formats of PostgreSQL's COPY:
// text, CSV and binary, with their options (DELIMITER, NULL, HEADER,
// QUOTE, ESCAPE, FORCE_QUOTE, FORCE_NOT_NULL, FORCE_NULL).
//
//	CopyData chunks ──io.Reader──► Reader.Read ──► one row of raw fields ([]byte, nil = NULL)
//	rendered fields ([]byte, nil = NULL) ──► Writer ──► bytes for CopyData
//
// It knows nothing of SQL types or tables: a field is bytes, as the text
// or binary input/output function of its column would see them. The SQL
// layer (sql/copy.go) turns fields into datums and back, and adds the
// error CONTEXT ("COPY t, line 3, column b: ...").
//
// Errors carry PostgreSQL's SQLSTATE and wording: 22P04
// (bad_copy_file_format) for malformed data, 22023, 42601 and 0A000 for
// bad options, as PostgreSQL 15's copy.c and copyfromparse.c do.
//
// Invariants:
//   - Reading never panics and never allocates more than the input
//     holds plus one row's worth of fields: a row is decoded in buffers
//     reused for the next row (so the caller must copy what it keeps).
//   - Rows are split exactly as PostgreSQL does: in text format a
//     backslash escapes the next byte (including a newline and the
//     delimiter), and a line holding only `\.` ends the data; in CSV a
//     quoted field may span lines and `\.` alone on a line ends the data.
//
// Known differences from PostgreSQL 15: a bare carriage return as the
// line terminator (old Mac files) is refused ("literal carriage return
// found in data"); \n and \r\n are accepted. Only the UTF8 encoding is
// accepted for ENCODING.
//
// Imports of ours: only sql/sqlerr.
package copyfmt
