// Package pgwiretest runs datadriven scripts of PostgreSQL protocol messages
// against a server, in the spirit of CockroachDB's pgtest: `send` writes
// frontend messages given as JSON, `until` reads backend messages up to the
// ones named and prints them as JSON. Scripts talk TCP only, so the same
// file can run against pgwire over a fake session, a whole Outpost node,
// or a real PostgreSQL.
//
// Commands (each connection command takes conn=NAME, default "default";
// a Target can add more). Any command flagged pg_only runs only against a
// real PostgreSQL (Target.Postgres), ours_only only against anything else;
// a skipped command passes with its expected output.
//
//	connect [conn=c] [user=u] [database=d] [params=(k=v,...)] [raw] [print]
//	    Dial the server. Unless raw, send a StartupMessage and read up to
//	    ReadyForQuery (or an ErrorResponse); print "ok", or every message
//	    with print (or when startup fails).
//	send [conn=c]
//	    One message per line: a type name and an optional JSON body, e.g.
//	    Query {"String": "SELECT 1"}. Frontend types of pgproto3, plus
//	    StartupMessage, SSLRequest, GSSEncRequest, CancelRequest.
//	send-raw [conn=c]
//	    Raw bytes: a line of hex digits (spaces ignored) or a Go-quoted
//	    string ("Q\x00\x00\x00\x05").
//	until [conn=c] [ignore=(T1,T2)] [timeout=10s]
//	    Read messages until each listed type has been seen, in order,
//	    printing every message read except ignored types. Types are the
//	    "Type" of the JSON (AuthenticationOK, not AuthenticationOk). EOF,
//	    a read error or the timeout stops it and is printed: list EOF to
//	    wait for the server to close the connection.
//	read-byte [conn=c]
//	    Read one byte (the answer to SSLRequest) and print it.
//	cancel [conn=c]
//	    Send a CancelRequest with c's BackendKeyData on a new connection
//	    and wait for the server to close it.
//	close [conn=c]
//	    Close the client's socket.
//	close-write [conn=c]
//	    Close the sending half of the client's socket (the server reads
//	    EOF and may still write).
//	_breakpoint
//	    Does nothing; a place to stop a debugger.
//
// Output normalization: BackendKeyData prints without its key; an
// ErrorResponse or NoticeResponse prints only its non-empty fields.
package pgwiretest

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/datadriven"
	"github.com/jackc/pgproto3/v2"
)

// Target is a server under test.
type Target struct {
	// Addr is the server's TCP address.
	Addr string
	// Postgres says the server is a real PostgreSQL: commands flagged
	// ours_only are skipped, those flagged pg_only run. (Otherwise the
	// reverse.) Scripts mark known differences so, and running them
	// against PostgreSQL shows what is correct.
	Postgres bool
	// Commands are extra commands for scripts, for what only the test
	// knows about the server; their output is printed as is. (For
	// example, the pgwire tests' wait-sleeping waits until a pg_sleep
	// is running, so that a cancel has something to cancel.)
	Commands map[string]func(t *testing.T, d *datadriven.TestData) string
}

// Walk runs every file under dir, each against a fresh server: newServer
// starts one for the file's test (and stops it with t.Cleanup).
func Walk(t *testing.T, dir string, newServer func(t *testing.T) Target) {
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		RunTest(t, path, newServer(t))
	})
}

// RunTest runs one file against target.
func RunTest(t *testing.T, path string, target Target) {
	h := &harness{addr: target.Addr, postgres: target.Postgres, commands: target.Commands, conns: map[string]*client{}}
	defer h.closeAll()
	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
		out, err := h.handle(t, d)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		return out
	})
}

// defaultTimeout bounds each read of `until` and `read-byte`.
const defaultTimeout = 10 * time.Second

type harness struct {
	addr     string
	postgres bool
	commands map[string]func(t *testing.T, d *datadriven.TestData) string
	conns    map[string]*client
}

type client struct {
	nc      net.Conn
	br      *bufio.Reader
	haveKey bool
	pid     uint32
	secret  uint32
}

func (h *harness) closeAll() {
	for _, c := range h.conns {
		_ = c.nc.Close()
	}
}

// handle is the one command switch.
func (h *harness) handle(t *testing.T, d *datadriven.TestData) (string, error) {
	if d.HasArg("pg_only") && !h.postgres || d.HasArg("ours_only") && h.postgres {
		return d.Expected, nil
	}
	name := "default"
	d.MaybeScanArgs(t, "conn", &name)
	if d.Cmd == "connect" {
		return h.connect(t, d, name)
	}
	if d.Cmd == "_breakpoint" {
		return "", nil
	}
	if f, ok := h.commands[d.Cmd]; ok {
		return f(t, d), nil
	}
	c := h.conns[name]
	if c == nil {
		return "", fmt.Errorf("no connection %q", name)
	}
	switch d.Cmd {
	case "send":
		return "", c.send(d.Input)
	case "send-raw":
		return "", c.sendRaw(d.Input)
	case "until":
		var ignore []string
		if arg, ok := d.Arg("ignore"); ok {
			ignore = arg.Vals
		}
		timeout := defaultTimeout
		if arg, ok := d.Arg("timeout"); ok {
			v, err := time.ParseDuration(arg.SingleVal(t))
			if err != nil {
				return "", err
			}
			timeout = v
		}
		return c.until(strings.Fields(d.Input), ignore, timeout), nil
	case "read-byte":
		_ = c.nc.SetReadDeadline(time.Now().Add(defaultTimeout))
		b, err := c.br.ReadByte()
		if err != nil {
			return "", err
		}
		return string(b) + "\n", nil
	case "cancel":
		return "", sendCancel(c)
	case "close":
		delete(h.conns, name)
		return "", c.nc.Close()
	case "close-write":
		tc, ok := c.nc.(*net.TCPConn)
		if !ok {
			return "", errors.New("not a TCP connection")
		}
		return "", tc.CloseWrite()
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

func (h *harness) connect(t *testing.T, d *datadriven.TestData, name string) (string, error) {
	if old := h.conns[name]; old != nil {
		_ = old.nc.Close()
		delete(h.conns, name)
	}
	nc, err := net.DialTimeout("tcp", h.addr, defaultTimeout)
	if err != nil {
		return "", err
	}
	c := &client{nc: nc, br: bufio.NewReader(nc)}
	h.conns[name] = c
	if d.HasArg("raw") {
		return "", nil
	}
	params := map[string]string{"user": "testuser", "database": "testdb"}
	return c.startup(t, d, params)
}

func (c *client) startup(t *testing.T, d *datadriven.TestData, params map[string]string) (string, error) {
	var user, database string
	if d.MaybeScanArgs(t, "user", &user) {
		params["user"] = user
	}
	if d.MaybeScanArgs(t, "database", &database) {
		params["database"] = database
	}
	if arg, ok := d.Arg("params"); ok {
		for _, kv := range arg.Vals {
			k, v, _ := strings.Cut(kv, "=")
			params[k] = v
		}
	}
	if err := c.write(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: params}); err != nil {
		return "", err
	}
	var out strings.Builder
	ok := false
	for !ok {
		msg, err := c.receive(defaultTimeout)
		if err != nil {
			fmt.Fprintf(&out, "%s\n", describeErr(err))
			break
		}
		_, line := c.format(msg)
		out.WriteString(line)
		switch msg.(type) {
		case *pgproto3.ReadyForQuery:
			ok = true
		case *pgproto3.ErrorResponse:
			// FATAL: the server closes; print what it said.
			return out.String(), nil
		}
	}
	if ok && !d.HasArg("print") {
		return "ok\n", nil
	}
	return out.String(), nil
}

func (c *client) write(msg pgproto3.FrontendMessage) error {
	b, err := msg.Encode(nil)
	if err != nil {
		return err
	}
	_, err = c.nc.Write(b)
	return err
}

func (c *client) send(input string) error {
	var buf []byte
	for _, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		typ, body, _ := strings.Cut(line, " ")
		msg, err := newFrontendMessage(typ)
		if err != nil {
			return err
		}
		if body = strings.TrimSpace(body); body != "" {
			if err := json.Unmarshal([]byte(body), msg); err != nil {
				return fmt.Errorf("%s: %w", typ, err)
			}
		}
		if buf, err = msg.Encode(buf); err != nil {
			return fmt.Errorf("%s: %w", typ, err)
		}
	}
	// One write, as a pipelining client would.
	_, err := c.nc.Write(buf)
	return err
}

func newFrontendMessage(typ string) (pgproto3.FrontendMessage, error) {
	switch typ {
	case "Bind":
		return &pgproto3.Bind{}, nil
	case "CancelRequest":
		return &pgproto3.CancelRequest{}, nil
	case "Close":
		return &pgproto3.Close{}, nil
	case "CopyData":
		return &pgproto3.CopyData{}, nil
	case "CopyDone":
		return &pgproto3.CopyDone{}, nil
	case "CopyFail":
		return &pgproto3.CopyFail{}, nil
	case "Describe":
		return &pgproto3.Describe{}, nil
	case "Execute":
		return &pgproto3.Execute{}, nil
	case "Flush":
		return &pgproto3.Flush{}, nil
	case "FunctionCall":
		return &pgproto3.FunctionCall{}, nil
	case "GSSEncRequest":
		return &pgproto3.GSSEncRequest{}, nil
	case "Parse":
		return &pgproto3.Parse{}, nil
	case "PasswordMessage":
		return &pgproto3.PasswordMessage{}, nil
	case "Query":
		return &pgproto3.Query{}, nil
	case "SASLInitialResponse":
		return &pgproto3.SASLInitialResponse{}, nil
	case "SASLResponse":
		return &pgproto3.SASLResponse{}, nil
	case "SSLRequest":
		return &pgproto3.SSLRequest{}, nil
	case "StartupMessage":
		return &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber}, nil
	case "Sync":
		return &pgproto3.Sync{}, nil
	case "Terminate":
		return &pgproto3.Terminate{}, nil
	}
	return nil, fmt.Errorf("unknown frontend message type %q", typ)
}

func (c *client) sendRaw(input string) error {
	var buf []byte
	for _, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, `"`):
			s, err := strconv.Unquote(line)
			if err != nil {
				return fmt.Errorf("%s: %w", line, err)
			}
			buf = append(buf, s...)
		default:
			b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
			if err != nil {
				return fmt.Errorf("%s: %w", line, err)
			}
			buf = append(buf, b...)
		}
	}
	_, err := c.nc.Write(buf)
	return err
}

// until reads messages until it has seen each type of want in order.
func (c *client) until(want, ignore []string, timeout time.Duration) string {
	var out strings.Builder
	for len(want) > 0 {
		msg, err := c.receive(timeout)
		if err != nil {
			fmt.Fprintf(&out, "%s\n", describeErr(err))
			break
		}
		typ, line := c.format(msg)
		if typ == want[0] {
			want = want[1:]
		}
		if slices.Contains(ignore, typ) {
			continue
		}
		out.WriteString(line)
	}
	return out.String()
}

func describeErr(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "connection reset"):
		return "EOF" // the server closed first; a reset is a close too
	}
	return "error: " + err.Error()
}

// sendCancel sends a CancelRequest for target's session.
func sendCancel(target *client) error {
	if !target.haveKey {
		return errors.New("no BackendKeyData received on this connection")
	}
	nc, err := net.DialTimeout("tcp", target.nc.RemoteAddr().String(), defaultTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := (&pgproto3.CancelRequest{ProcessID: target.pid, SecretKey: target.secret}).Encode(nil)
	if err != nil {
		return err
	}
	if _, err := nc.Write(b); err != nil {
		return err
	}
	// The server answers nothing and closes.
	_ = nc.SetReadDeadline(time.Now().Add(defaultTimeout))
	n, err := nc.Read(make([]byte, 1))
	if n > 0 {
		return errors.New("server answered a CancelRequest")
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "connection reset") {
		return err
	}
	return nil
}

// receive reads one backend message.
func (c *client) receive(timeout time.Duration) (pgproto3.BackendMessage, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	var hdr [5]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
	if n < 0 || n > 1<<30 {
		return nil, fmt.Errorf("bad length %d for message type %q", n+4, hdr[0])
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, err
	}
	msg, err := newBackendMessage(hdr[0], body)
	if err != nil {
		return nil, err
	}
	if err := msg.Decode(body); err != nil {
		return nil, fmt.Errorf("decoding %T: %w", msg, err)
	}
	if k, ok := msg.(*pgproto3.BackendKeyData); ok {
		c.haveKey, c.pid, c.secret = true, k.ProcessID, k.SecretKey
	}
	return msg, nil
}

func newBackendMessage(typ byte, body []byte) (pgproto3.BackendMessage, error) {
	switch typ {
	case '1':
		return &pgproto3.ParseComplete{}, nil
	case '2':
		return &pgproto3.BindComplete{}, nil
	case '3':
		return &pgproto3.CloseComplete{}, nil
	case 'A':
		return &pgproto3.NotificationResponse{}, nil
	case 'c':
		return &pgproto3.CopyDone{}, nil
	case 'C':
		return &pgproto3.CommandComplete{}, nil
	case 'd':
		return &pgproto3.CopyData{}, nil
	case 'D':
		return &pgproto3.DataRow{}, nil
	case 'E':
		return &pgproto3.ErrorResponse{}, nil
	case 'G':
		return &pgproto3.CopyInResponse{}, nil
	case 'H':
		return &pgproto3.CopyOutResponse{}, nil
	case 'I':
		return &pgproto3.EmptyQueryResponse{}, nil
	case 'K':
		return &pgproto3.BackendKeyData{}, nil
	case 'n':
		return &pgproto3.NoData{}, nil
	case 'N':
		return &pgproto3.NoticeResponse{}, nil
	case 's':
		return &pgproto3.PortalSuspended{}, nil
	case 'S':
		return &pgproto3.ParameterStatus{}, nil
	case 't':
		return &pgproto3.ParameterDescription{}, nil
	case 'T':
		return &pgproto3.RowDescription{}, nil
	case 'V':
		return &pgproto3.FunctionCallResponse{}, nil
	case 'W':
		return &pgproto3.CopyBothResponse{}, nil
	case 'Z':
		return &pgproto3.ReadyForQuery{}, nil
	case 'v':
		return &NegotiateProtocolVersion{}, nil
	case 'R':
		if len(body) < 4 {
			return nil, errors.New("short authentication message")
		}
		switch binary.BigEndian.Uint32(body) {
		case pgproto3.AuthTypeOk:
			return &pgproto3.AuthenticationOk{}, nil
		case pgproto3.AuthTypeCleartextPassword:
			return &pgproto3.AuthenticationCleartextPassword{}, nil
		case pgproto3.AuthTypeMD5Password:
			return &pgproto3.AuthenticationMD5Password{}, nil
		case pgproto3.AuthTypeSASL:
			return &pgproto3.AuthenticationSASL{}, nil
		case pgproto3.AuthTypeSASLContinue:
			return &pgproto3.AuthenticationSASLContinue{}, nil
		case pgproto3.AuthTypeSASLFinal:
			return &pgproto3.AuthenticationSASLFinal{}, nil
		}
		return nil, fmt.Errorf("unknown authentication type %d", binary.BigEndian.Uint32(body))
	}
	return nil, fmt.Errorf("unknown backend message type %q", typ)
}

// NegotiateProtocolVersion is the 'v' message, which pgproto3 v2 lacks.
type NegotiateProtocolVersion struct {
	NewestMinorProtocol uint32
	UnrecognizedOptions []string
}

// Backend identifies this message as sendable by the backend.
func (*NegotiateProtocolVersion) Backend() {}

// Decode decodes the body.
func (m *NegotiateProtocolVersion) Decode(src []byte) error {
	if len(src) < 8 {
		return errors.New("short NegotiateProtocolVersion")
	}
	m.NewestMinorProtocol = binary.BigEndian.Uint32(src)
	n := binary.BigEndian.Uint32(src[4:])
	rest := src[8:]
	m.UnrecognizedOptions = nil
	for range n {
		i := slices.Index(rest, 0)
		if i < 0 {
			return errors.New("malformed NegotiateProtocolVersion")
		}
		m.UnrecognizedOptions = append(m.UnrecognizedOptions, string(rest[:i]))
		rest = rest[i+1:]
	}
	return nil
}

// Encode encodes the message.
func (m *NegotiateProtocolVersion) Encode(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 'v', 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, m.NewestMinorProtocol)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(m.UnrecognizedOptions)))
	for _, o := range m.UnrecognizedOptions {
		dst = append(append(dst, o...), 0)
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-1))
	return dst, nil
}

// MarshalJSON implements json.Marshaler.
func (m NegotiateProtocolVersion) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type                string
		NewestMinorProtocol uint32
		UnrecognizedOptions []string
	}{"NegotiateProtocolVersion", m.NewestMinorProtocol, m.UnrecognizedOptions})
}

// format prints msg as one line of JSON and returns the line and the
// message's type, as the JSON's "Type" field names it (the names `until`
// waits for).
func (c *client) format(msg pgproto3.BackendMessage) (typ, line string) {
	var v any = msg
	switch m := msg.(type) {
	case *pgproto3.BackendKeyData:
		v = struct{ Type string }{"BackendKeyData"}
	case *pgproto3.ErrorResponse:
		v = compactError("ErrorResponse", m)
	case *pgproto3.NoticeResponse:
		v = compactError("NoticeResponse", (*pgproto3.ErrorResponse)(m))
	case *NegotiateProtocolVersion:
		v = *m
	case *pgproto3.DataRow:
		v = dataRow(m)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", "error: " + err.Error() + "\n"
	}
	var t struct{ Type string }
	_ = json.Unmarshal(b, &t)
	return t.Type, string(b) + "\n"
}

// dataRow prints values as text unless they hold control characters or
// are not UTF-8 (pgproto3 prints only the former as binary).
func dataRow(m *pgproto3.DataRow) any {
	values := make([]map[string]string, len(m.Values))
	for i, v := range m.Values {
		switch {
		case v == nil:
		case utf8.Valid(v) && !slices.ContainsFunc(v, func(b byte) bool { return b < 32 }):
			values[i] = map[string]string{"text": string(v)}
		default:
			values[i] = map[string]string{"binary": hex.EncodeToString(v)}
		}
	}
	return struct {
		Type   string
		Values []map[string]string
	}{"DataRow", values}
}

type errorFields struct {
	Type     string
	Severity string `json:",omitempty"`
	Code     string `json:",omitempty"`
	Message  string `json:",omitempty"`
	Detail   string `json:",omitempty"`
	Hint     string `json:",omitempty"`
	Position int32  `json:",omitempty"`
}

func compactError(typ string, e *pgproto3.ErrorResponse) errorFields {
	return errorFields{Type: typ, Severity: e.Severity, Code: e.Code, Message: e.Message,
		Detail: e.Detail, Hint: e.Hint, Position: e.Position}
}
