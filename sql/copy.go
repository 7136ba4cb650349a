package sql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/outpostdb/outpost/sql/copyfmt"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// This file runs COPY ... FROM STDIN and COPY ... TO STDOUT. The data
// formats are copyfmt's; the sub-protocol (CopyInResponse, CopyData,
// CopyDone, CopyFail, CopyOutResponse) is the protocol layer's, reached
// through the CopyWriter that its ResultWriter implements.
//
// COPY FROM writes in the session's transaction (an implicit one when
// none is open), row by row through the same writer as INSERT (defaults,
// NOT NULL, CHECK and unique constraints): a bad row fails the statement
// with PostgreSQL's CONTEXT ("COPY t, line 3, column b: ..."), and the
// transaction's rules then undo everything it loaded. Memory per row is
// constant: rows are decoded in reused buffers and nothing is kept after
// the row is written, beyond what the kv transaction records for its
// writes.

// CopyWriter is implemented by a ResultWriter that can carry the COPY
// sub-protocol (pgwire's does). A Session calls it from the statement's
// goroutine, between the statement's start and its CommandComplete.
type CopyWriter interface {
	// CopyIn sends CopyInResponse (format 0 text, 1 binary, for every
	// one of columns) and returns the stream of the client's data.
	CopyIn(format int16, columns int) (CopySource, error)
	// CopyOut sends CopyOutResponse; CopyData sends one chunk of data
	// (the slice may be reused once it returns); CopyDone ends the data,
	// before CommandComplete.
	CopyOut(format int16, columns int) error
	CopyData(data []byte) error
	CopyDone() error
}

// CopySource is the client's data for COPY FROM STDIN.
type CopySource interface {
	// Next returns the next CopyData chunk, owned by the caller. It
	// returns io.EOF at CopyDone (and on every later call), 57014 for a
	// CopyFail, 08P01 for a message that has no place in COPY, and an
	// error wrapping ctx.Err() when ctx ends.
	Next(ctx context.Context) ([]byte, error)
}

// copyBatchRows is how many rows COPY FROM writes per kv batch: enough to
// amortize a batch's fixed costs, few enough to bound the memory held.
const copyBatchRows = 128

// copyWriterOf finds the CopyWriter behind w.
func copyWriterOf(w ResultWriter) (CopyWriter, bool) {
	if n, ok := w.(noRowDescription); ok {
		w = n.ResultWriter
	}
	cw, ok := w.(CopyWriter)
	return cw, ok
}

// runCopy runs COPY.
func (s *Session) runCopy(ctx context.Context, st *parser.Statement, w ResultWriter) error {
	cs := st.Session.Copy
	o, err := copyfmt.ParseOptions(cs.Options, cs.Dups, cs.From)
	if err != nil {
		return err
	}
	cw, ok := copyWriterOf(w)
	if !ok {
		return sqlerr.New(sqlerr.FeatureNotSupported, "COPY is not supported over this connection")
	}
	if s.txn == nil {
		s.beginTxn(implicitTxn)
	}
	sctx, cancel := s.vars.statementContext(ctx)
	defer cancel()
	var n int64
	if cs.From {
		n, err = s.copyFrom(sctx, st, cs, o, cw)
	} else {
		n, err = s.copyTo(sctx, cs, o, cw)
	}
	if err != nil {
		return err
	}
	if err := s.flushNotices(w); err != nil {
		return err
	}
	return w.CommandComplete(fmt.Sprintf("COPY %d", n))
}

// copyColumns resolves the column list of COPY t (cols): positions in the
// table and names. No list means every visible column.
func copyColumns(t *plan.Table, names []string) ([]int, []string, error) {
	var pos []int
	var out []string
	if len(names) == 0 {
		for i, c := range t.Desc.Columns {
			if !c.Hidden {
				pos, out = append(pos, i), append(out, c.Name)
			}
		}
		return pos, out, nil
	}
	seen := map[int]bool{}
	for _, name := range names {
		i := copyColumnIndex(t, name)
		if i < 0 {
			return nil, nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", name, t.Desc.Name)
		}
		if seen[i] {
			return nil, nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", name)
		}
		seen[i] = true
		pos, out = append(pos, i), append(out, t.Desc.Columns[i].Name)
	}
	return pos, out, nil
}

func copyColumnIndex(t *plan.Table, name string) int {
	for i, c := range t.Desc.Columns {
		if c.Name == name && !c.Hidden {
			return i
		}
	}
	return -1
}

// checkForced checks that FORCE_NOT_NULL / FORCE_NULL name copied columns.
func checkForced(t *plan.Table, cols []string, opt string, list []string) error {
	for _, name := range list {
		found := false
		for _, c := range cols {
			found = found || c == name
		}
		if found {
			continue
		}
		if copyColumnIndex(t, name) < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", name)
		}
		return sqlerr.New(sqlerr.InvalidColumnReference, "%s column %q not referenced by COPY", opt, name)
	}
	return nil
}

// copyFrom loads the client's rows into the table and returns how many.
func (s *Session) copyFrom(ctx context.Context, st *parser.Statement, cs *pgdialect.CopyStmt, o *copyfmt.Options, cw CopyWriter) (int64, error) {
	cat := s.catalogView(ctx)
	t, err := cat.Table(cs.Table.Name)
	if err != nil {
		return 0, err
	}
	pos, names, err := copyColumns(t, cs.Columns)
	if err != nil {
		return 0, err
	}
	if err := checkForced(t, names, "FORCE_NOT_NULL", o.ForceNotNull); err != nil {
		return 0, err
	}
	if err := checkForced(t, names, "FORCE_NULL", o.ForceNull); err != nil {
		return 0, err
	}
	b := s.newBuilder(cat, nil, st)
	defaults, err := b.DefaultExprs(t, s.parser.ParseExpr)
	if err != nil {
		return 0, err
	}
	ec := s.execCtx(ctx, nil)
	rw, err := plan.NewRowWriter(ec, t, b, s.parser.ParseExpr)
	if err != nil {
		return 0, err
	}
	fks, err := plan.ResolveForeignKeys(cat, t, true, false)
	if err != nil {
		return 0, err
	}
	rw.SetForeignKeys(fks) // checked batch by batch (InsertBatch)
	filled := make([]bool, len(t.Desc.Columns))
	for _, p := range pos {
		filled[p] = true
	}
	format := int16(0)
	if o.Format == copyfmt.Binary {
		format = 1
	}
	src, err := cw.CopyIn(format, len(pos))
	if err != nil {
		return 0, err
	}
	in := &sourceReader{ctx: ctx, src: src}
	rd := copyfmt.NewReader(in, o, names)
	table := t.Desc.Name
	where := func() string { return fmt.Sprintf("COPY %s, line %d", table, rd.Line()) }
	// Rows are written copyBatchRows at a time (one kv batch each); the
	// batch's rows and their line numbers are reused from batch to batch.
	batch := make([]plan.Row, copyBatchRows)
	for i := range batch {
		batch[i] = make(plan.Row, len(t.Desc.Columns))
	}
	lines := make([]int, copyBatchRows)
	pending := 0
	var n int64
	flush := func() error {
		if pending == 0 {
			return nil
		}
		i, err := rw.InsertBatch(batch[:pending])
		if err != nil {
			e := sqlerr.Convert(err)
			if i >= 0 {
				return e.WithWhere("COPY %s, line %d", table, lines[i])
			}
			return e.WithWhere("%s", where())
		}
		n += int64(pending)
		pending = 0
		return ctx.Err()
	}
	for {
		fields, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// Rows before the bad one come first: their errors too.
			if ferr := flush(); ferr != nil {
				return 0, ferr
			}
			if in.err != nil {
				// The stream failed (CopyFail, cancellation, the client
				// went away): PostgreSQL names the line it was at.
				return 0, sqlerr.Convert(in.err).WithWhere("%s", where())
			}
			e := sqlerr.Convert(err)
			if o.Format == copyfmt.Binary && rd.Line() == 0 {
				return 0, e // the file header: PostgreSQL gives no CONTEXT
			}
			if f := rd.Field(); f >= 0 {
				return 0, e.WithWhere("%s, column %s", where(), names[f])
			}
			if o.Format == copyfmt.Binary || copyfmt.InLine(err) {
				return 0, e.WithWhere("%s", where())
			}
			return 0, e.WithWhere("%s: \"%s\"", where(), rd.LineText())
		}
		row := batch[pending]
		for i, p := range pos {
			if i >= len(fields) {
				if ferr := flush(); ferr != nil {
					return 0, ferr
				}
				return 0, sqlerr.Convert(rd.Missing(i)).WithWhere("%s: \"%s\"", where(), rd.LineText())
			}
			f := fields[i]
			if f == nil {
				row[p] = types.Null
				continue
			}
			var d types.Datum
			var err error
			if o.Format == copyfmt.Binary {
				d, err = types.DecodeBinary(t.Types[p], f)
			} else {
				d, err = types.ParseText(t.Types[p], string(f), ec.Eval)
			}
			if err != nil {
				if ferr := flush(); ferr != nil {
					return 0, ferr
				}
				e := sqlerr.Convert(err)
				if o.Format == copyfmt.Binary {
					return 0, e.WithWhere("%s, column %s", where(), names[i])
				}
				return 0, e.WithWhere("%s, column %s: \"%s\"", where(), names[i], limitValue(f))
			}
			row[p] = d
		}
		for i := range row {
			if filled[i] {
				continue
			}
			row[i] = types.Null
			if defaults[i] != nil {
				if row[i], err = defaults[i].Eval(ec, nil); err != nil {
					if ferr := flush(); ferr != nil {
						return 0, ferr
					}
					return 0, sqlerr.Convert(err).WithWhere("%s", where())
				}
			}
		}
		lines[pending] = rd.Line()
		pending++
		if pending == len(batch) {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	// Data after the end marker is read and ignored, as PostgreSQL does.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return 0, sqlerr.Convert(err).WithWhere("%s", where())
	}
	return n, nil
}

// limitValue quotes a field in an error CONTEXT as PostgreSQL does (at
// most 100 bytes).
func limitValue(f []byte) string {
	const max = 100
	if len(f) <= max {
		return string(f)
	}
	n := max
	for n > 0 && f[n]&0xc0 == 0x80 {
		n--
	}
	return string(f[:n]) + "..."
}

// sourceReader is an io.Reader over a CopySource. It remembers the end
// (so that it never asks for data after CopyDone) and the stream's own
// error (to tell it from a format error).
type sourceReader struct {
	ctx context.Context
	src CopySource
	buf []byte
	eof bool
	err error
}

func (r *sourceReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		if r.err != nil {
			return 0, r.err
		}
		b, err := r.src.Next(r.ctx)
		if errors.Is(err, io.EOF) {
			r.eof = true
			continue
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		r.buf = b
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// copyTo runs the query (or reads the table) and sends its rows.
func (s *Session) copyTo(ctx context.Context, cs *pgdialect.CopyStmt, o *copyfmt.Options, cw CopyWriter) (int64, error) {
	query := cs.Query
	if query == "" {
		cat := s.catalogView(ctx)
		t, err := cat.Table(cs.Table.Name)
		if err != nil {
			return 0, err
		}
		_, names, err := copyColumns(t, cs.Columns)
		if err != nil {
			return 0, err
		}
		for _, c := range o.ForceQuote {
			if copyColumnIndex(t, c) < 0 {
				return 0, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c, t.Desc.Name)
			}
		}
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = quoteIdent(n)
		}
		query = "SELECT " + strings.Join(quoted, ", ") + " FROM " + quoteIdent(t.Desc.Name)
	}
	stmts, err := s.parser.Parse(query)
	if err != nil {
		return 0, err
	}
	if len(stmts) != 1 || stmts[0].Session != nil {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "COPY query must be a single SELECT, VALUES or DML ... RETURNING statement")
	}
	st := &stmts[0]
	res, err := s.execute(ctx, st, nil, nil)
	if err != nil {
		return 0, addPosition(err, st.SQL)
	}
	defer res.close()
	if res.node == nil {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "COPY query must have a RETURNING clause")
	}
	cols := res.node.Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	wr := copyfmt.NewWriter(o, names)
	format := int16(0)
	if o.Format == copyfmt.Binary {
		format = 1
	}
	if err := cw.CopyOut(format, len(cols)); err != nil {
		return 0, err
	}
	loc := s.vars.location()
	buf := wr.Start(nil, names)
	if len(buf) > 0 {
		if err := cw.CopyData(buf); err != nil {
			return 0, err
		}
	}
	fields := make([][]byte, len(cols))
	var line []byte
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		row, err := res.iter.Next()
		if err != nil {
			return 0, err
		}
		if row == nil {
			break
		}
		// One CopyData per row, as PostgreSQL sends them; the field
		// bytes live in one buffer reused for every row.
		buf = buf[:0]
		for i, d := range row {
			if d == types.Null {
				fields[i] = nil
				continue
			}
			start := len(buf)
			t := cols[i].T
			if t == nil || t.Family == types.UnknownFamily {
				t = types.Text
			}
			if o.Format == copyfmt.Binary {
				if buf, err = types.EncodeBinary(buf, t, d); err != nil {
					return 0, err
				}
			} else {
				buf = types.AppendText(buf, t, d, loc)
			}
			fields[i] = buf[start:len(buf):len(buf)]
		}
		line = wr.Row(line[:0], fields)
		if err := cw.CopyData(line); err != nil {
			return 0, err
		}
		n++
	}
	if end := wr.End(nil); len(end) > 0 {
		if err := cw.CopyData(end); err != nil {
			return 0, err
		}
	}
	return n, cw.CopyDone()
}

// quoteIdent quotes a name for the parser.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
