package pgwire

import (
	"cmp"
	"slices"
	"strings"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Severities.
const (
	severityError  = "ERROR"
	severityFatal  = "FATAL"
	severityPanic  = "PANIC"
	severityNotice = "NOTICE"
)

// flushBytes is the output buffered before a write to the socket, so that
// a large result streams instead of piling up (PostgreSQL buffers 8 KiB).
const flushBytes = 32 << 10

// The output side of a conn. Only the session goroutine writes; the buffer
// is flushed at ReadyForQuery, Flush, after ErrorResponse and
// NoticeResponse (as PostgreSQL's elog does), when it grows past
// flushBytes, and before the connection closes.

// encoder is a backend message with an appending encoder.
type encoder interface {
	Encode(dst []byte) ([]byte, error)
}

// send buffers msg, flushing when the buffer is large.
func (c *conn) send(msg encoder) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	return c.appended(msg.Encode(c.wbuf))
}

// appended takes the buffer that a message's Encode returned.
func (c *conn) appended(b []byte, err error) error {
	if err != nil {
		// Only oversized contents (more than 65535 fields) fail to
		// encode; c.wbuf still ends at a message boundary, so the
		// statement fails and the connection stays in sync.
		return sqlerr.Wrap(err, sqlerr.ProgramLimitExceeded, "encoding result")
	}
	c.wbuf = b
	if len(c.wbuf) >= flushBytes {
		return c.flush()
	}
	return nil
}

// flush writes the buffer to the socket. A failed write sticks: the client
// is gone or stuck, so the connection ends.
func (c *conn) flush() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if len(c.wbuf) == 0 || c.holdingOutput() {
		return nil
	}
	_, err := c.stream.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > 4*flushBytes {
		c.wbuf = nil // do not pin a buffer grown by one huge row
	}
	if err != nil {
		c.writeErr = err
		c.cancel(errWriteFailed)
	}
	return err
}

// sendError renders err as an ErrorResponse and flushes it. It reports
// whether the error ends the connection (FATAL or PANIC severity).
func (c *conn) sendError(err error) (fatal bool) {
	e := sqlerr.Convert(err)
	sev := cmp.Or(e.Severity, severityError)
	fatal = sev == severityFatal || sev == severityPanic
	switch {
	case e.Code == sqlerr.AdminShutdown:
		c.log.Info("pgwire: connection terminated by shutdown")
	case fatal || e.Code == sqlerr.InternalError || e.Code == sqlerr.ProtocolViolation:
		c.log.Warn("pgwire: error", "severity", sev, "code", e.Code, "msg", e.Message)
	default:
		c.log.Debug("pgwire: error", "code", e.Code, "msg", e.Message)
	}
	_ = c.send(errorResponse(e, sev))
	_ = c.flush()
	return fatal
}

func errorResponse(e *sqlerr.Error, sev string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            sev,
		SeverityUnlocalized: sev,
		Code:                e.Code,
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
		Where:               e.Where,
		Position:            int32(min(e.Position, 1<<31-1)),
	}
}

// readyForQuery ends a query cycle: changed settings, ReadyForQuery with
// the session's transaction status, flush.
func (c *conn) readyForQuery() error {
	c.sendParameterStatus(c.sess.ParameterStatus(true))
	if err := c.send(&pgproto3.ReadyForQuery{TxStatus: byte(c.sess.TxnStatus())}); err != nil {
		return err
	}
	return c.flush()
}

// sendParameterStatus sends settings in case-insensitive name order, as
// PostgreSQL does (and deterministically).
func (c *conn) sendParameterStatus(params map[string]string) {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a), strings.ToLower(b)), cmp.Compare(a, b))
	})
	for _, name := range names {
		_ = c.send(&pgproto3.ParameterStatus{Name: name, Value: params[name]})
	}
}

func rowDescription(cols []sql.Column, zeroFormats bool) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name:                 []byte(col.Name),
			TableOID:             col.TableOID,
			TableAttributeNumber: uint16(col.ColumnAttr),
			DataTypeOID:          col.TypeOID,
			DataTypeSize:         col.TypeSize,
			TypeModifier:         col.TypeMod,
			Format:               col.Format,
		}
		if zeroFormats {
			fields[i].Format = 0
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// resultWriter is the sql.ResultWriter a Session writes a statement's
// results to. It lives in the conn (no allocation per statement).
type resultWriter struct {
	c *conn
	// extended drops RowDescription: the extended protocol describes
	// portals with Describe.
	extended bool
}

var _ sql.ResultWriter = (*resultWriter)(nil)

func (w *resultWriter) RowDescription(cols []sql.Column) error {
	if w.extended {
		return w.c.writeErr
	}
	return w.c.send(rowDescription(cols, false))
}

func (w *resultWriter) DataRow(values [][]byte) error {
	c := w.c
	if c.writeErr != nil {
		return c.writeErr
	}
	// Not through send: the hot path, and an interface would make the
	// message escape.
	row := pgproto3.DataRow{Values: values}
	return c.appended(row.Encode(c.wbuf))
}

func (w *resultWriter) CommandComplete(tag string) error {
	return w.c.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
}

func (w *resultWriter) EmptyQuery() error {
	return w.c.send(&pgproto3.EmptyQueryResponse{})
}

func (w *resultWriter) Notice(n *sqlerr.Error) error {
	msg := pgproto3.NoticeResponse(*errorResponse(n, cmp.Or(n.Severity, severityNotice)))
	if err := w.c.send(&msg); err != nil {
		return err
	}
	return w.c.flush()
}
