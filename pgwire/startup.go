package pgwire

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Startup packet codes (the int32 after the length of an untyped packet).
const (
	cancelRequest = 80877102 // 1234.5678
	sslRequest    = 80877103 // 1234.5679
	gssEncRequest = 80877104 // 1234.5680
)

const (
	// maxStartupBytes and minStartupBytes bound a startup packet
	// (PostgreSQL's MAX_STARTUP_PACKET_LENGTH; length + code).
	maxStartupBytes = 10000
	minStartupBytes = 8
	// pqOptionPrefix starts protocol options, which this server does not
	// know and lists in NegotiateProtocolVersion.
	pqOptionPrefix = "_pq_."
	// answerNo answers SSLRequest and GSSENCRequest: no encryption.
	answerNo = 'N'
	// negotiateVersion is the type of NegotiateProtocolVersion, which
	// pgproto3 v2 lacks.
	negotiateVersion = 'v'
	// writeGrace is how long a killed connection may take to write its
	// last FATAL.
	writeGrace = time.Second
)

// SQLSTATEs that only pgwire uses (not in sqlerr).
const (
	cannotConnectNow = "57P03"
	idleSessionCode  = "57P05" // idle_session_timeout
	idleInTxnCode    = "25P03" // idle_in_transaction_session_timeout
)

// errCancelPacket is handshake's result for a CancelRequest connection,
// which ends without a reply.
var errCancelPacket = errors.New("pgwire: cancel request served")

// handshake runs the startup phase: SSL and GSSAPI encryption
// negotiation, then the StartupMessage (or a CancelRequest, which it
// serves). It returns the client's session arguments, or an error: an
// *sqlerr.Error for the client (conn.endWith sends it), an I/O error, or
// errCancelPacket.
//
// TLS: with Config.TLSConfig the SSLRequest branch answers 'S' and
// switches the connection to TLS (startTLS), then loops for the
// StartupMessage, as it does after 'N'.
func (c *conn) handshake() (sql.SessionArgs, error) {
	var sslDone, gssDone bool
	for {
		code, body, err := c.readStartupPacket()
		if err != nil {
			return sql.SessionArgs{}, err
		}
		switch {
		case code == sslRequest && !sslDone && len(body) == 0:
			sslDone = true
			if c.srv.cfg.TLSConfig != nil {
				if err := c.startTLS(); err != nil {
					return sql.SessionArgs{}, err
				}
				continue
			}
			if err := c.answerByte(answerNo); err != nil {
				return sql.SessionArgs{}, err
			}
			continue
		case code == gssEncRequest && !gssDone && len(body) == 0:
			gssDone = true
			if err := c.answerByte(answerNo); err != nil {
				return sql.SessionArgs{}, err
			}
			continue
		case code == cancelRequest && len(body) == 8:
			c.srv.cancelRequest(binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:]))
			return sql.SessionArgs{}, errCancelPacket
		}
		major, minor := code>>16, code&0xffff
		if major != 3 {
			return sql.SessionArgs{}, fatalf(sqlerr.FeatureNotSupported,
				"unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor)
		}
		args, unknownOptions, err := parseStartup(body)
		if err != nil {
			return sql.SessionArgs{}, err
		}
		if minor > 0 || len(unknownOptions) > 0 {
			if err := c.send(negotiateProtocolVersion{version: protocolVersion, options: unknownOptions}); err != nil {
				return sql.SessionArgs{}, err
			}
		}
		return args, nil
	}
}

// readStartupPacket reads an untyped startup packet: its code and the
// bytes after it.
func (c *conn) readStartupPacket() (code uint32, body []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < minStartupBytes || n > maxStartupBytes {
		return 0, nil, fatalf(sqlerr.ProtocolViolation, "invalid length of startup packet")
	}
	b, err := readBody(c.br, int(n)-4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return binary.BigEndian.Uint32(b), b[4:], nil
}

// answerByte writes the one-byte answer to SSLRequest or GSSENCRequest.
func (c *conn) answerByte(b byte) error {
	if err := c.send(rawBytes{b}); err != nil {
		return err
	}
	return c.flush()
}

// parseStartup decodes the parameters of a StartupMessage: name/value
// C-string pairs ending with an empty name. Options named _pq_.* are
// protocol extensions this server does not know; they are returned for
// NegotiateProtocolVersion and left out of the session's parameters.
func parseStartup(body []byte) (args sql.SessionArgs, unknownOptions []string, err error) {
	d := decoder{b: body}
	params := map[string]string{}
	for {
		name := d.cstring()
		if name == "" {
			break
		}
		value := d.cstring()
		if d.bad {
			break
		}
		if strings.HasPrefix(name, pqOptionPrefix) {
			unknownOptions = append(unknownOptions, name)
			continue
		}
		params[name] = value
	}
	if d.bad || len(d.b) != 0 {
		return args, nil, fatalf(sqlerr.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
	}
	args.User = params["user"]
	if args.User == "" {
		return args, nil, fatalf(sqlerr.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet")
	}
	args.Database = params["database"]
	if args.Database == "" {
		args.Database = args.User
	}
	switch strings.ToLower(params["replication"]) {
	case "", "false", "off", "no", "0":
	default:
		return args, nil, fatalf(sqlerr.FeatureNotSupported, "replication connections are not supported")
	}
	delete(params, "user")
	delete(params, "database")
	args.Params = params
	return args, unknownOptions, nil
}

// rawBytes is pre-encoded output (the SSLRequest answer).
type rawBytes []byte

func (b rawBytes) Encode(dst []byte) ([]byte, error) { return append(dst, b...), nil }

// protocolVersion is the protocol served, 3.0 (major<<16 | minor).
const protocolVersion = 3 << 16

// negotiateProtocolVersion is the 'v' message: the newest protocol version
// served and the protocol options not recognized. The protocol document
// calls the first field the "newest minor protocol version"; PostgreSQL
// sends the whole version code (196608 for 3.0), and libpq reads it so.
type negotiateProtocolVersion struct {
	version uint32
	options []string
}

func (m negotiateProtocolVersion) Encode(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, negotiateVersion, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, m.version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.options)))
	for _, o := range m.options {
		dst = append(dst, o...)
		dst = append(dst, 0)
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst, nil
}

// startSession takes a handshaken client to ReadyForQuery: connection
// limit, authentication, AuthenticationOk, session creation, ParameterStatus,
// BackendKeyData.
func (c *conn) startSession(args sql.SessionArgs) error {
	if err := c.srv.register(c); err != nil {
		return err
	}
	c.log = c.log.With("pid", c.pid, "user", args.User, "database", args.Database)
	if c.srv.cfg.RequireTLS && !c.tls {
		return fatalf(sqlerr.InvalidAuthorizationSpec, "no pg_hba.conf entry for host %q, user %q, database %q, no encryption",
			remoteHost(c.nc), args.User, args.Database)
	}
	if err := c.srv.cfg.Authenticator.Authenticate(c.ctx, challenger{c}, args.User, args.Database, c.nc.RemoteAddr()); err != nil {
		return asFatal(err)
	}
	if err := c.send(&pgproto3.AuthenticationOk{}); err != nil {
		return err
	}
	sess, err := c.srv.backend.NewSession(c.ctx, args)
	if err != nil {
		return asFatal(err)
	}
	if sess == nil {
		return fatalf(sqlerr.InternalError, "backend returned no session")
	}
	c.sess = sess
	// Authentication is over: lift its deadline. A kill that set a
	// deadline meanwhile has canceled c.ctx first, which the check below
	// sees.
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	c.sendParameterStatus(sess.ParameterStatus(false))
	if err := c.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret}); err != nil {
		return err
	}
	c.srv.setReady(c)
	return c.readyForQuery()
}

// asFatal returns err as a connection-ending *sqlerr.Error. I/O errors
// and cancellations pass through unchanged.
func asFatal(err error) error {
	if isIOError(err) || errors.Is(err, errCancelPacket) {
		return err
	}
	e := *sqlerr.Convert(err)
	e.Severity = severityFatal
	return &e
}
