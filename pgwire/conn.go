package pgwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Causes of a conn's context cancellation.
var (
	// errClientGone: a read failed or met EOF (the reader goroutine's
	// cause; it hands over the error next).
	errClientGone = errors.New("pgwire: client connection lost")
	// errWriteFailed: a write to the client failed.
	errWriteFailed = errors.New("pgwire: write to client failed")
	// errShutdown: the Server is closing connections (Drain deadline,
	// Close); the client gets FATAL 57P01.
	errShutdown = errors.New("pgwire: server shutting down")
	// errConnDone: the session goroutine is done with the connection.
	errConnDone = errors.New("pgwire: connection ended")
	// errCancelRequest cancels one statement (a statement context's
	// cause, never the conn's).
	errCancelRequest = errors.New("pgwire: canceled by CancelRequest")
)

const (
	// maxReadAheadBytes bounds what the reader goroutine reads ahead of
	// the session goroutine (a pipelining client). Past it the reader
	// stops reading until the session catches up.
	maxReadAheadBytes = 1 << 20
	// readAheadMsgs bounds read-ahead in messages.
	readAheadMsgs = 64
	// readBufferBytes is the size of a connection's read buffer.
	readBufferBytes = 8 << 10
)

// conn serves one client connection.
//
// # Goroutines
//
// A conn has two goroutines, both owned by the Server (which waits for
// them in Close):
//
//   - The session goroutine (serve) runs the handshake, creates the
//     Session, then takes messages from c.msgs one by one, calls the
//     Session and writes the results. It alone writes to the socket and
//     touches the Session and the extended-protocol state.
//   - The reader goroutine (readLoop), started after the handshake, reads
//     and decodes messages and hands them over through c.msgs, reading
//     ahead up to maxReadAheadBytes. It keeps reading while a statement
//     runs, so that a client that disconnects mid-statement is noticed.
//
// How each ends the other:
//
//   - The reader ends the session: on an I/O error or EOF it cancels
//     c.ctx with errClientGone, which cancels the running statement's
//     context, then hands over the error and exits; the session goroutine
//     takes the error (a session goroutine that sees errClientGone can
//     count on it arriving) and ends the connection. A protocol violation
//     (bad length, unknown type, malformed body) is handed over after the
//     messages before it, without canceling: the session runs those, then
//     sends FATAL 08P01 and ends. Terminate is handed over and the reader
//     exits.
//   - The session ends the reader: when it stops (Terminate, FATAL, a
//     failed write, shutdown), close closes c.done, which unblocks a
//     reader waiting to hand over a message or for read-ahead space, and
//     closes the socket, which unblocks a reader in Read; then it waits
//     for c.readerDone before calling Session.Close and leaving.
//   - The Server ends both: kill cancels c.ctx with errShutdown and sets
//     socket deadlines (reads: now, writes: now+writeGrace). The session
//     goroutine's running statement is canceled; it sends FATAL 57P01 and
//     ends as above.
//
// A CancelRequest arrives on another connection; the Server finds this
// conn by its BackendKeyData and calls cancelStatement, which cancels the
// context of the Session call in progress, if any.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	// log gains the pid and user after startup; session goroutine only.
	log *slog.Logger

	// ctx is canceled (with one of the causes above) when the connection
	// is ending; every Session call runs in a child of it.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// stream is what messages are read from and written to: nc, or a
	// TLS connection over it once the handshake switched to TLS (then
	// tls is set). Session goroutine only; nc itself never changes, so
	// that kill may set its deadlines from any goroutine.
	stream net.Conn
	tls    bool

	// pid and secret are the BackendKeyData, set by Server.register.
	pid, secret uint32
	// session is true once Server.register counted the conn; ready once
	// the session is up (its first ReadyForQuery). Both under srv.mu.
	session, ready bool

	// Fields below belong to the session goroutine.

	sess     Session
	wbuf     []byte
	writeErr error // sticky: the first failed write
	simple   resultWriter
	ext      resultWriter
	// inBatch: extended-protocol messages arrived since the last Sync
	// (or ReadyForQuery). A drain waits for the batch's Sync.
	inBatch bool
	// ignoreTillSync: an extended-protocol message failed; messages up
	// to the next Sync are discarded (PostgreSQL's rule).
	ignoreTillSync bool
	// deferred: offsets in wbuf where the results of Executes the
	// Session deferred go (forward.go); splicing: they are being put in.
	// Either holds the output back.
	deferred []int
	splicing bool

	// Reader handoff.
	rd         msgReader // reader goroutine only
	msgs       chan readResult
	space      chan struct{} // signals read-ahead space; capacity 1
	readAhead  atomic.Int64  // bytes handed over and not yet taken
	done       chan struct{} // closed by the session goroutine when it stops reading msgs
	readerDone chan struct{} // closed by the reader goroutine on exit; nil before it starts

	mu struct {
		sync.Mutex
		// cancelStmt cancels the Session call in progress; nil between
		// calls.
		cancelStmt context.CancelCauseFunc
	}
}

// readResult is what the reader hands over: a message or the error that
// ended reading.
type readResult struct {
	msg  pgproto3.FrontendMessage
	size int
	err  error
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:   s,
		nc:    nc,
		br:    bufio.NewReaderSize(nc, readBufferBytes),
		msgs:  make(chan readResult, readAheadMsgs),
		space: make(chan struct{}, 1),
		done:  make(chan struct{}),
		log:   s.log.With("remote", remoteString(nc)),
	}
	c.stream = nc
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	c.rd = msgReader{r: c.br, maxBytes: s.cfg.MaxMessageBytes}
	c.simple = resultWriter{c: c}
	c.ext = resultWriter{c: c, extended: true}
	return c
}

func remoteString(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// serve runs the connection to its end, on the session goroutine.
func (c *conn) serve() {
	start := time.Now()
	c.log.Debug("pgwire: connection opened")
	reason := c.serveErr()
	c.close()
	c.log.Debug("pgwire: connection closed", "reason", reason, "duration", time.Since(start))
}

// serveErr runs the connection and returns why it ended.
func (c *conn) serveErr() string {
	// The handshake, authentication included, must finish in time; a
	// kill interrupts it sooner.
	if t := c.srv.cfg.AuthTimeout; t > 0 {
		_ = c.nc.SetDeadline(time.Now().Add(t))
	}
	args, err := c.handshake()
	if err == nil {
		err = c.startSession(args)
	}
	if err != nil {
		return c.endWith(err)
	}
	c.readerDone = make(chan struct{})
	go c.readLoop()
	return c.loop()
}

// endWith ends the connection because of err: it sends err if the client
// should see it and returns a reason for the log.
func (c *conn) endWith(err error) string {
	switch {
	case errors.Is(err, errShutdown), errors.Is(context.Cause(c.ctx), errShutdown):
		c.sendError(fatalf(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
		return "shutdown"
	case errors.Is(err, errCancelPacket):
		return "cancel request"
	case c.ctx.Err() != nil, isIOError(err):
		return "client gone: " + err.Error()
	}
	c.sendError(asFatal(err))
	return err.Error()
}

// loop is the session goroutine's message loop.
func (c *conn) loop() string {
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		// Between batches a drain ends the connection; inside one it
		// waits for the Sync.
		var drainC <-chan struct{}
		var idleC <-chan time.Time
		if !c.inBatch {
			drainC = c.srv.drainCh
			select {
			case <-drainC:
				return c.endWith(errShutdown)
			default:
			}
			if d := c.idleTimeout(); d > 0 {
				if idle == nil {
					idle = time.NewTimer(d)
				} else {
					idle.Reset(d)
				}
				idleC = idle.C
			}
		}
		var r readResult
		select {
		case r = <-c.msgs:
		case <-drainC:
			return c.endWith(errShutdown)
		case <-idleC:
			return c.endWith(c.idleError())
		case <-c.ctx.Done():
			if !errors.Is(context.Cause(c.ctx), errClientGone) {
				return c.endWith(context.Cause(c.ctx))
			}
			// The reader canceled and hands over its error next, after
			// the messages before it; skip to it.
			for r = <-c.msgs; r.err == nil; r = <-c.msgs {
			}
		}
		if idle != nil {
			idle.Stop()
		}
		if c.readAhead.Add(-int64(r.size)) < maxReadAheadBytes {
			select {
			case c.space <- struct{}{}:
			default:
			}
		}
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return "client closed the connection without Terminate"
			}
			if errors.Is(r.err, io.ErrUnexpectedEOF) {
				// Best effort: the client may still read.
				c.sendError(fatalf(sqlerr.ProtocolViolation, "unexpected EOF within message"))
				return "truncated message"
			}
			return c.endWith(r.err)
		}
		if !c.handle(r.msg) {
			if err := c.ctx.Err(); err != nil {
				return c.endWith(context.Cause(c.ctx))
			}
			return "terminated"
		}
	}
}

// idleTimeout is how long the session may wait for the next message: the
// server's IdleTimeout, or the session's idle_in_transaction_session_timeout
// while a transaction is open, whichever is shorter (0 = no limit).
func (c *conn) idleTimeout() time.Duration {
	d := c.srv.cfg.IdleTimeout
	if it, ok := c.sess.(IdleInTransactionTimeouter); ok && c.sess.TxnStatus() != sql.TxnIdle {
		if t := it.IdleInTransactionTimeout(); t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

func (c *conn) idleError() error {
	if c.sess.TxnStatus() == sql.TxnIdle {
		return fatalf(idleSessionCode, "terminating connection due to idle-session timeout")
	}
	return fatalf(idleInTxnCode, "terminating connection due to idle-in-transaction timeout")
}

// readLoop is the reader goroutine (see conn).
func (c *conn) readLoop() {
	defer close(c.readerDone)
	for {
		for c.readAhead.Load() >= maxReadAheadBytes {
			select {
			case <-c.space:
			case <-c.done:
				return
			}
		}
		msg, size, err := c.rd.read()
		if err != nil && !isProtocolError(err) {
			c.cancel(errClientGone)
		}
		c.readAhead.Add(int64(size))
		select {
		case c.msgs <- readResult{msg: msg, size: size, err: err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
		if _, ok := msg.(*pgproto3.Terminate); ok {
			return
		}
	}
}

// close ends the connection (session goroutine): stop and wait for the
// reader, close the Session, close the socket, leave the Server.
func (c *conn) close() {
	close(c.done)
	c.cancel(errConnDone)
	_ = c.flush()
	_ = c.nc.Close()
	if c.readerDone != nil {
		<-c.readerDone
	}
	if c.sess != nil {
		c.sess.Close()
	}
	c.srv.untrack(c)
}

// kill makes the connection end soon (any goroutine): the running
// statement is canceled, blocked reads return, and writes get writeGrace
// to deliver a last FATAL.
func (c *conn) kill() {
	c.cancel(errShutdown)
	now := time.Now()
	_ = c.nc.SetReadDeadline(now)
	_ = c.nc.SetWriteDeadline(now.Add(writeGrace))
}

// cancelStatement cancels the Session call in progress, if any (any
// goroutine; a CancelRequest).
func (c *conn) cancelStatement() {
	c.mu.Lock()
	cancel := c.mu.cancelStmt
	c.mu.Unlock()
	if cancel != nil {
		cancel(errCancelRequest)
	}
}

// call runs f, one Session call, with a context that a CancelRequest can
// cancel.
func (c *conn) call(f func(ctx context.Context) error) (context.Context, error) {
	ctx, cancel := context.WithCancelCause(c.ctx)
	c.mu.Lock()
	c.mu.cancelStmt = cancel
	c.mu.Unlock()
	err := c.guard(ctx, f)
	c.mu.Lock()
	c.mu.cancelStmt = nil
	c.mu.Unlock()
	cancel(nil)
	return ctx, err
}

// guard runs a Session call and turns a panic into a FATAL internal error:
// the session's state can no longer be trusted, so this connection ends
// (its transaction rolled back by Session.Close) while every other
// connection keeps being served.
func (c *conn) guard(ctx context.Context, f func(ctx context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire: session panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = &sqlerr.Error{Code: sqlerr.InternalError, Severity: "FATAL",
				Message: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	return f(ctx)
}

// stmtError sends the error of a Session call made with ctx. It reports
// whether the connection must end (FATAL, or the connection is already
// ending).
func (c *conn) stmtError(ctx context.Context, err error) (end bool) {
	if c.ctx.Err() != nil {
		return true
	}
	e := sqlerr.Convert(err)
	if e.Code == sqlerr.InternalError && errors.Is(context.Cause(ctx), errCancelRequest) {
		// The Session lost the cancellation in its error; restore it.
		e = sqlerr.Convert(context.Canceled)
	}
	return c.sendError(e)
}

// handle processes one message. It returns false when the connection must
// end.
func (c *conn) handle(msg pgproto3.FrontendMessage) bool {
	switch msg.(type) {
	case *pgproto3.Parse, *pgproto3.Bind, *pgproto3.Describe, *pgproto3.Execute, *pgproto3.Close:
	case *pgproto3.Terminate:
		// No Sync: the batch's implicit transaction never commits.
		c.deferred = nil
	default:
		// Anything else ends a forwarded stretch of the batch first.
		_, sync := msg.(*pgproto3.Sync)
		if !c.runDeferred(sync) {
			return false
		}
	}
	switch msg.(type) {
	case *pgproto3.Sync:
		c.inBatch, c.ignoreTillSync = false, false
		if ctx, err := c.call(c.sess.Sync); err != nil && c.stmtError(ctx, err) {
			return false
		}
		return c.readyForQuery() == nil
	case *pgproto3.Terminate:
		return false
	}
	if c.ignoreTillSync {
		// PostgreSQL discards everything but Sync and Terminate after
		// an extended-protocol error, simple queries included.
		return true
	}
	switch m := msg.(type) {
	case *pgproto3.Query:
		return c.simpleQuery(m.String)
	case *pgproto3.Parse:
		return c.extended(func(ctx context.Context) error {
			if err := checkUTF8(m.Name, m.Query); err != nil {
				return c.refuse(err)
			}
			if _, err := c.sess.Prepare(ctx, m.Name, m.Query, m.ParameterOIDs); err != nil {
				return err
			}
			return c.send(&pgproto3.ParseComplete{})
		})
	case *pgproto3.Bind:
		return c.extended(func(ctx context.Context) error {
			if err := checkBind(m); err != nil {
				return c.refuse(err)
			}
			if err := c.sess.Bind(ctx, m.DestinationPortal, m.PreparedStatement,
				m.ParameterFormatCodes, m.Parameters, m.ResultFormatCodes); err != nil {
				return err
			}
			return c.send(&pgproto3.BindComplete{})
		})
	case *pgproto3.Describe:
		return c.extended(func(ctx context.Context) error { return c.describe(ctx, m) })
	case *pgproto3.Execute:
		c.inBatch = true
		if c.deferExecute(m.Portal, max(int(int32(m.MaxRows)), 0)) {
			return true
		}
		// An Execute that runs here runs after the deferred ones.
		if !c.runDeferred(false) {
			return false
		}
		if c.ignoreTillSync {
			return true // they failed: this one is skipped
		}
		return c.extended(func(ctx context.Context) error {
			if err := checkUTF8(m.Portal); err != nil {
				return c.refuse(err)
			}
			maxRows := int(int32(m.MaxRows))
			if maxRows < 0 {
				maxRows = 0 // PostgreSQL: a non-positive limit means all rows
			}
			suspended, err := c.sess.Execute(ctx, m.Portal, maxRows, &c.ext)
			if err != nil {
				return err
			}
			if suspended {
				return c.send(&pgproto3.PortalSuspended{})
			}
			return nil
		})
	case *pgproto3.Close:
		return c.extended(func(ctx context.Context) error {
			if err := checkUTF8(m.Name); err != nil {
				return c.refuse(err)
			}
			var err error
			switch m.ObjectType {
			case 'S':
				err = c.sess.CloseStatement(ctx, m.Name)
			case 'P':
				err = c.sess.ClosePortal(ctx, m.Name)
			default:
				err = c.refuse(sqlerr.New(sqlerr.ProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType))
			}
			if err != nil {
				return err
			}
			return c.send(&pgproto3.CloseComplete{})
		})
	case *pgproto3.Flush:
		return c.flush() == nil
	case *pgproto3.FunctionCall:
		// A query cycle of its own, like Query.
		c.inBatch = false
		if c.sendError(c.refuse(sqlerr.New(sqlerr.FeatureNotSupported, "fastpath function calls are not supported"))) {
			return false
		}
		return c.readyForQuery() == nil
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// Outside COPY, PostgreSQL ignores these "per protocol spec":
		// they are what a client still sends after a COPY failed.
		return true
	}
	// decodeFrontend returns no other types.
	panic("pgwire: unhandled message type")
}

// simpleQuery runs a Query message: one query cycle ending in
// ReadyForQuery.
func (c *conn) simpleQuery(query string) bool {
	c.inBatch = false
	if err := checkUTF8(query); err != nil {
		if c.sendError(c.refuse(err)) {
			return false
		}
		return c.readyForQuery() == nil
	}
	ctx, err := c.call(func(ctx context.Context) error {
		return c.sess.ExecSimple(ctx, query, &c.simple)
	})
	if err != nil && c.stmtError(ctx, err) {
		return false
	}
	return c.readyForQuery() == nil
}

// extended runs one extended-protocol message. An error is sent at once
// and starts discarding up to Sync.
func (c *conn) extended(f func(ctx context.Context) error) bool {
	c.inBatch = true
	ctx, err := c.call(f)
	if err == nil {
		return c.writeErr == nil
	}
	// Deferred Executes come before this error.
	if !c.runDeferred(false) {
		return false
	}
	if c.ignoreTillSync {
		return true // they failed first: this message is skipped
	}
	c.ignoreTillSync = true
	return !c.stmtError(ctx, err)
}

func (c *conn) describe(ctx context.Context, m *pgproto3.Describe) error {
	if err := checkUTF8(m.Name); err != nil {
		return c.refuse(err)
	}
	switch m.ObjectType {
	case 'S':
		desc, err := c.sess.DescribeStatement(ctx, m.Name)
		if err != nil {
			return err
		}
		if err := c.send(&pgproto3.ParameterDescription{ParameterOIDs: desc.ParamTypes}); err != nil {
			return err
		}
		if desc.Columns == nil {
			return c.send(&pgproto3.NoData{})
		}
		return c.send(rowDescription(desc.Columns, true))
	case 'P':
		cols, err := c.sess.DescribePortal(ctx, m.Name)
		if err != nil {
			return err
		}
		if cols == nil {
			return c.send(&pgproto3.NoData{})
		}
		return c.send(rowDescription(cols, false))
	}
	return c.refuse(sqlerr.New(sqlerr.ProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType))
}

// refuse hands an error that pgwire found itself, in a message the
// Session never saw, to the Session's Failer (so that the transaction
// fails as in PostgreSQL) and returns it.
func (c *conn) refuse(err error) error {
	if f, ok := c.sess.(Failer); ok {
		f.Failed(c.ctx, err)
	}
	return err
}

// checkBind applies the protocol's rules on format codes, which need no
// knowledge of the statement.
func checkBind(m *pgproto3.Bind) error {
	if err := checkUTF8(m.DestinationPortal, m.PreparedStatement); err != nil {
		return err
	}
	if n := len(m.ParameterFormatCodes); n > 1 && n != len(m.Parameters) {
		return sqlerr.New(sqlerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters",
			n, len(m.Parameters))
	}
	for _, codes := range [][]int16{m.ParameterFormatCodes, m.ResultFormatCodes} {
		for _, f := range codes {
			if f != 0 && f != 1 {
				return sqlerr.New(sqlerr.InvalidParameterValue, "unsupported format code: %d", f)
			}
		}
	}
	return nil
}

// checkUTF8 returns 22021 for a string that is not valid UTF-8, naming the
// bad bytes as PostgreSQL does.
func checkUTF8(ss ...string) error {
	for _, s := range ss {
		if utf8.ValidString(s) {
			continue
		}
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return sqlerr.New(sqlerr.CharacterNotInRepertoire,
			"invalid byte sequence for encoding \"UTF8\": %s", badSequence(s[i:]))
	}
	return nil
}

// badSequence formats the invalid sequence at the start of s: as many
// bytes as its first byte announces, like PostgreSQL's
// report_invalid_encoding.
func badSequence(s string) string {
	n := 1
	switch b := s[0]; {
	case b >= 0xc0 && b < 0xe0:
		n = 2
	case b >= 0xe0 && b < 0xf0:
		n = 3
	case b >= 0xf0 && b < 0xf8:
		n = 4
	}
	n = min(n, len(s))
	out := make([]byte, 0, 5*n)
	for i := range n {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, '0', 'x', hexDigit(s[i]>>4), hexDigit(s[i]&0xf))
	}
	return string(out)
}

func hexDigit(b byte) byte { return "0123456789abcdef"[b] }

// isProtocolError reports whether err is a protocol violation found by
// the message reader (rather than an I/O error).
func isProtocolError(err error) bool {
	var e *sqlerr.Error
	return errors.As(err, &e)
}

// isIOError reports whether err comes from the socket.
func isIOError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
