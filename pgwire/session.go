package pgwire

import (
	"context"
	"time"

	"github.com/outpostdb/outpost/sql"
)

// Backend creates a Session per client connection. It is the whole of what
// pgwire needs from the SQL layer besides Session itself (consumer-defined
// interfaces, as rqlite's http.Store).
type Backend interface {
	// NewSession starts a session for a client that passed authentication.
	// An error ends the connection with a FATAL ErrorResponse carrying the
	// error's SQLSTATE (sqlerr.Convert), e.g. 3D000 for an unknown
	// database. ctx bounds the creation only; it is canceled when the
	// connection ends and must not be kept.
	//
	// Concurrency: called from many connection goroutines at once.
	NewSession(ctx context.Context, args sql.SessionArgs) (Session, error)
}

// Session runs one client connection's statements. pgwire calls it from a
// single goroutine (the connection's session goroutine), one call at a
// time, so it need not be safe for concurrent use.
//
// Cancellation arrives only through ctx: a CancelRequest from the client,
// a client that disconnects, or a server shutdown cancels the ctx of the
// call that is running. A method that notices should return an error that
// wraps ctx.Err() (sqlerr.Convert maps context.Canceled to 57014); pgwire
// renders it. Errors in general are rendered as ErrorResponse with the
// SQLSTATE of sqlerr.Convert(err); an *sqlerr.Error with Severity FATAL
// also ends the connection.
//
// Memory: byte slices passed in (params) are owned by the Session after the
// call (pgwire does not reuse them). Values a Session passes to a
// sql.ResultWriter may be reused by the Session once the call returns.
type Session interface {
	// ExecSimple runs a simple-query string: zero or more statements
	// separated by ';', with PostgreSQL's implicit-transaction rules. For
	// each statement it calls w.RowDescription (row-returning statements),
	// w.DataRow per row, w.CommandComplete(tag); a string without
	// statements calls w.EmptyQuery. It returns the first error (the
	// remaining statements are skipped); pgwire then sends ErrorResponse.
	// query is valid UTF-8 (pgwire rejects other strings with 22021).
	ExecSimple(ctx context.Context, query string, w sql.ResultWriter) error

	// Prepare parses and plans query as prepared statement name ("" is the
	// unnamed statement, which replaces the previous unnamed one; a
	// duplicate named one is error 42P05) with the parameter type OIDs the
	// client gave (0 = infer; fewer OIDs than parameters is allowed).
	Prepare(ctx context.Context, name, query string, paramOIDs []uint32) (*sql.StatementDescription, error)

	// DescribeStatement describes a prepared statement (26000 if there is
	// none). Column formats are ignored: pgwire sends 0, as PostgreSQL
	// does, since formats are not known before Bind.
	DescribeStatement(ctx context.Context, name string) (*sql.StatementDescription, error)

	// Bind creates portal ("" = unnamed, replacing the previous unnamed
	// one) from statement stmt with parameter values in the given formats
	// (PostgreSQL rules: no format codes = all text, one = applies to all,
	// else one per parameter) and result format codes (same rules). pgwire
	// has checked that the parameter format count fits those rules and
	// that every format code is 0 or 1; the Session checks counts against
	// the statement (08P01) and decodes the values (22P02, 22P03). A nil
	// param is NULL.
	Bind(ctx context.Context, portal, stmt string, paramFormats []int16, params [][]byte, resultFormats []int16) error

	// DescribePortal returns the portal's result columns with their bound
	// formats (34000 if there is no such portal). nil means the portal's
	// statement returns no rows (pgwire sends NoData); an empty non-nil
	// slice is a row-returning statement without columns ("SELECT;").
	DescribePortal(ctx context.Context, name string) ([]sql.Column, error)

	// Execute runs (or resumes) a portal, writing at most maxRows rows
	// (0 = all) with w.DataRow. suspended=true means rows remain: nothing
	// else was written and pgwire sends PortalSuspended. Otherwise the
	// statement ended with w.CommandComplete (or w.EmptyQuery for an
	// empty statement). Execute never calls w.RowDescription (pgwire drops
	// such calls in the extended protocol).
	Execute(ctx context.Context, portal string, maxRows int, w sql.ResultWriter) (suspended bool, err error)

	// CloseStatement and ClosePortal drop a prepared statement or portal.
	// Closing one that does not exist is not an error.
	CloseStatement(ctx context.Context, name string) error
	ClosePortal(ctx context.Context, name string) error

	// Sync ends an extended-protocol batch: it commits the implicit
	// transaction if one is open (and rolls it back if the batch failed:
	// a Session method returned an error, or Failer.Failed was called).
	// An error is sent as ErrorResponse before ReadyForQuery.
	Sync(ctx context.Context) error

	// TxnStatus is reported in every ReadyForQuery.
	TxnStatus() sql.TxnStatus

	// ParameterStatus returns the reportable settings: with
	// changedOnly=false all of them (sent once, at startup), with
	// changedOnly=true those whose value changed since the previous call
	// (pgwire calls it before every ReadyForQuery and sends them just
	// before it, where PostgreSQL 15 sends them). Drivers need at least:
	// server_version starting with "15." (lib/pq and pgx parse the
	// leading number), client_encoding=UTF8 and
	// standard_conforming_strings=on (pgx refuses simple-protocol
	// queries and escaping otherwise), DateStyle="ISO, MDY",
	// IntervalStyle=postgres, integer_datetimes=on, TimeZone (lib/pq
	// loads it for timestamptz), server_encoding, application_name,
	// is_superuser, session_authorization, and, as PostgreSQL 14+ does,
	// default_transaction_read_only and in_hot_standby (lib/pq reads them
	// for target_session_attrs). The map is owned by the caller.
	ParameterStatus(changedOnly bool) map[string]string

	// Close releases the session: it rolls back an open transaction and
	// drops statements and portals. Called exactly once, after the last
	// other call, when the connection ends for any reason.
	Close()
}

// Failer is an optional interface of Session, which a Session should
// implement: pgwire calls Failed when a statement fails in pgwire itself,
// before reaching the Session: a Query or Parse that is not valid UTF-8
// (22021), a Bind with bad format codes, a Describe or Close of an
// unknown kind (08P01), a FunctionCall (0A000). The Session then applies
// PostgreSQL's error rules as if one of its own methods had returned err:
// an explicit transaction fails (TxnStatus E), the implicit transaction
// of an extended batch is rolled back (at the latest at Sync). pgwire
// sends err to the client after the call. A Session without Failed
// diverges from PostgreSQL there: its transaction carries on.
type Failer interface {
	Failed(ctx context.Context, err error)
}

// IdleInTransactionTimeouter is an optional interface of Session: its
// idle_in_transaction_session_timeout (0 = none). While a transaction is
// open (TxnStatus T or E) and the client sends nothing for that long,
// pgwire ends the connection with FATAL 25P03, as PostgreSQL does.
type IdleInTransactionTimeouter interface {
	IdleInTransactionTimeout() time.Duration
}
