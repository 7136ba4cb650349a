package pgwire

import (
	"context"
	"io"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// This file carries the COPY sub-protocol for a running statement
// (resultWriter implements sql.CopyWriter).
//
// COPY FROM STDIN: the session goroutine, inside the Session call, sends
// CopyInResponse and then takes the client's messages from c.msgs itself,
// as the message loop would (it is the only consumer of c.msgs), until
// CopyDone, CopyFail or an error. As in PostgreSQL 15, Flush and Sync are
// ignored in copy-in mode, any other message aborts the COPY (08P01), and
// CopyData/CopyDone/CopyFail that arrive after the COPY failed are dropped
// by the message loop. The reader goroutine's read-ahead bound applies
// as usual, so a client sending faster than rows are written waits on
// TCP flow control instead of filling memory.

var _ sql.CopyWriter = (*resultWriter)(nil)

// CopyIn sends CopyInResponse and returns the client's data stream.
func (w *resultWriter) CopyIn(format int16, columns int) (sql.CopySource, error) {
	c := w.c
	if err := c.send(&pgproto3.CopyInResponse{OverallFormat: byte(format), ColumnFormatCodes: formatCodes(format, columns)}); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return &copySource{c: c}, nil
}

// CopyOut sends CopyOutResponse.
func (w *resultWriter) CopyOut(format int16, columns int) error {
	return w.c.send(&pgproto3.CopyOutResponse{OverallFormat: byte(format), ColumnFormatCodes: formatCodes(format, columns)})
}

// CopyData sends one chunk of COPY TO data.
func (w *resultWriter) CopyData(data []byte) error {
	msg := pgproto3.CopyData{Data: data}
	return w.c.appended(msg.Encode(w.c.wbuf))
}

// CopyDone ends COPY TO data.
func (w *resultWriter) CopyDone() error {
	return w.c.send(&pgproto3.CopyDone{})
}

func formatCodes(format int16, columns int) []uint16 {
	codes := make([]uint16, columns)
	for i := range codes {
		codes[i] = uint16(format)
	}
	return codes
}

// copySource reads COPY FROM STDIN data on the session goroutine.
type copySource struct {
	c *conn
	// done: CopyDone arrived; every later Next returns io.EOF.
	done bool
}

// Next implements sql.CopySource.
func (s *copySource) Next(ctx context.Context) ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	c := s.c
	for {
		var r readResult
		select {
		case r = <-c.msgs:
		case <-ctx.Done():
			// A CancelRequest, a statement timeout, the client gone
			// (the reader canceled c.ctx; the message loop ends the
			// connection once this call returns) or a shutdown.
			return nil, ctx.Err()
		}
		if c.readAhead.Add(-int64(r.size)) < maxReadAheadBytes {
			select {
			case c.space <- struct{}{}:
			default:
			}
		}
		if r.err != nil {
			if isProtocolError(r.err) {
				return nil, r.err // FATAL 08P01: the connection ends
			}
			// An I/O error: c.ctx is canceled already.
			return nil, &sqlerr.Error{Code: sqlerr.ConnectionFailure, Severity: severityFatal,
				Message: "unexpected EOF on client connection with an open transaction"}
		}
		switch m := r.msg.(type) {
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			return m.Data, nil
		case *pgproto3.CopyDone:
			s.done = true
			return nil, io.EOF
		case *pgproto3.CopyFail:
			s.done = true
			return nil, sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
			continue
		case *pgproto3.Terminate:
			s.done = true
			return nil, &sqlerr.Error{Code: sqlerr.ProtocolViolation, Severity: severityFatal,
				Message: "terminating connection because protocol synchronization was lost"}
		default:
			s.done = true
			return nil, sqlerr.New(sqlerr.ProtocolViolation, "unexpected message type 0x%02X during COPY from stdin", messageType(r.msg))
		}
	}
}

// messageType is the type byte of a frontend message, for errors.
func messageType(msg pgproto3.FrontendMessage) byte {
	switch msg.(type) {
	case *pgproto3.Query:
		return msgQuery
	case *pgproto3.Parse:
		return msgParse
	case *pgproto3.Bind:
		return msgBind
	case *pgproto3.Describe:
		return msgDescribe
	case *pgproto3.Execute:
		return msgExecute
	case *pgproto3.Close:
		return msgClose
	case *pgproto3.FunctionCall:
		return msgFunctionCall
	}
	return 0
}
