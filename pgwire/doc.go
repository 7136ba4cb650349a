// Package pgwire serves the PostgreSQL frontend/backend protocol (version
// 3.0, as PostgreSQL 15 speaks it) over TCP and hands statements to a
// Session of the SQL layer.
//
//	client ──TCP──► Server.Serve (accept, connection limit, drain)
//	                  └─ conn: handshake (SSLRequest → TLS, startup, auth) ─► Backend.NewSession
//	                       reader goroutine ──msgs──► session goroutine ─► Session
//	                                                        └─ results ─► buffered socket writes
//
// It owns: message framing and decoding (read.go; strict, bounded by
// Config.MaxMessageBytes, never allocating more than arrives), the startup
// handshake, TLS (tls.go) and authentication exchange (startup.go,
// auth.go; hba.go is the policy: trust for loopback addresses,
// SCRAM-SHA-256 or md5 otherwise), the simple and extended query
// protocols with PostgreSQL's error recovery (discard to Sync), the COPY
// sub-protocol (copy.go: CopyInResponse/CopyOutResponse, CopyData,
// CopyDone, CopyFail, read on the session goroutine inside the running
// statement; outside COPY the last three are ignored, as PostgreSQL does),
// CancelRequest, connection limits, idle timeouts and draining
// (server.go, conn.go), and rendering errors as ErrorResponse: pgwire is
// where a SQLSTATE (sqlerr) becomes bytes, and nowhere else.
//
// Imports: of ours only sql, sql/sqlerr (sql.ResultWriter, which pgwire
// implements; sql.Column and friends) and sql/roles (password verifiers
// and the SCRAM exchange, pure functions). It is the only importer of
// github.com/jackc/pgproto3 (pgwiretest, its test harness, too). It
// declares what it needs from the SQL layer itself: Backend, Session and
// the optional Failer (session.go), so that it is tested over a fake
// session.
//
// Invariants:
//   - Only a connection's session goroutine writes to its socket and calls
//     its Session, one call at a time; Session.Close is its last call.
//   - Every goroutine has an owner that stops it and waits: the Server owns
//     Serve loops (the caller's) and session goroutines; a session
//     goroutine owns its reader goroutine (see conn).
//   - Output is flushed at ReadyForQuery, Flush, ErrorResponse and
//     NoticeResponse, and every flushBytes: a result streams, it is never
//     held whole.
//   - Hostile input ends at most its own connection: bad framing is FATAL
//     08P01, and reading never panics.
//
// Known differences from PostgreSQL 15: a malformed body (valid length,
// invalid contents) is FATAL here, ERROR there; a bad startup packet gets
// a FATAL ErrorResponse where PostgreSQL only logs it; FunctionCall is
// refused (0A000); GSSAPI encryption is refused ('N'), and SSLRequest too
// when Config.TLSConfig is nil; SCRAM-SHA-256-PLUS (channel binding) is
// not offered.
package pgwire
