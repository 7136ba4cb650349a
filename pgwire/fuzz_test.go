package pgwire

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// fuzzSeeds are post-startup streams: well-formed batches and a few
// known troublemakers.
func fuzzSeeds() [][]byte {
	enc := func(msgs ...pgproto3.FrontendMessage) []byte {
		var b []byte
		for _, m := range msgs {
			b, _ = m.Encode(b)
		}
		return b
	}
	return [][]byte{
		enc(&pgproto3.Query{String: "SELECT 1"}),
		enc(&pgproto3.Query{String: "SELECT 1; SELEC 2"}, &pgproto3.Query{String: ""}),
		enc(&pgproto3.Parse{Name: "s", Query: "SELECT $1::int", ParameterOIDs: []uint32{23}},
			&pgproto3.Describe{ObjectType: 'S', Name: "s"},
			&pgproto3.Bind{DestinationPortal: "p", PreparedStatement: "s", ParameterFormatCodes: []int16{1},
				Parameters: [][]byte{{0, 0, 0, 7}}, ResultFormatCodes: []int16{1}},
			&pgproto3.Describe{ObjectType: 'P', Name: "p"},
			&pgproto3.Execute{Portal: "p", MaxRows: 1},
			&pgproto3.Close{ObjectType: 'P', Name: "p"},
			&pgproto3.Flush{}, &pgproto3.Sync{}),
		enc(&pgproto3.Parse{Query: "SELECT generate_series(1, 3)"}, &pgproto3.Bind{},
			&pgproto3.Execute{MaxRows: 2}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		enc(&pgproto3.FunctionCall{Function: 1, ArgFormatCodes: []uint16{0}, Arguments: [][]byte{nil}},
			&pgproto3.CopyData{Data: []byte("x")}, &pgproto3.CopyDone{}, &pgproto3.CopyFail{Message: "m"}),
		enc(&pgproto3.Query{String: "BEGIN"}, &pgproto3.Query{String: "SELECT 1/0"}, &pgproto3.Terminate{}),
		[]byte("B\x00\x00\x00\x10\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00"),
		[]byte("Q\x40\x00\x00\x00SELECT 1"),
		[]byte("Q\x00\x00\x00\x11SELECT '\xe2\x28\xa1'\x00"),
	}
}

// FuzzMessageReader feeds arbitrary bytes to the message reader: it must
// not panic, must allocate no more than about what it is given (bodies
// grow as bytes arrive), and must stop. Each message it decodes must
// survive an encode/decode round trip unchanged.
func FuzzMessageReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := msgReader{r: bytes.NewReader(data), maxBytes: DefaultMaxMessageBytes}
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatal("more messages than bytes")
			}
			msg, size, err := r.read()
			if err != nil {
				var e *sqlerr.Error
				if !errors.As(err, &e) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if size < 5 {
				t.Fatalf("size %d", size)
			}
			enc, err := msg.Encode(nil)
			if err != nil {
				t.Fatalf("re-encoding %T: %v", msg, err)
			}
			again, err := decodeFrontend(enc[0], enc[5:])
			if err != nil {
				t.Fatalf("decoding re-encoded %T: %v", msg, err)
			}
			if !reflect.DeepEqual(normalize(msg), normalize(again)) {
				t.Fatalf("round trip changed %#v into %#v", msg, again)
			}
		}
	})
}

// normalize makes empty and nil slices compare equal where the encoding
// cannot tell them apart.
func normalize(m pgproto3.FrontendMessage) pgproto3.FrontendMessage {
	switch m := m.(type) {
	case *pgproto3.CopyData:
		if len(m.Data) == 0 {
			return &pgproto3.CopyData{}
		}
	}
	return m
}

// FuzzConn feeds arbitrary bytes, after a valid startup, to a whole
// connection over the fake backend: no panic, the connection ends when
// the input does, and the session is closed.
func FuzzConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	// Inputs of odd length run over sessions that defer their Executes
	// (forward_test.go), so the output splicing is fuzzed too.
	servers := map[bool]*Server{}
	backends := map[bool]*fakeBackend{}
	for _, forwarding := range []bool{false, true} {
		b := newFakeBackend()
		b.maxSleep = time.Millisecond
		b.forwarding = forwarding
		backends[forwarding] = b
		servers[forwarding] = NewServer(Config{Logger: slog.New(slog.DiscardHandler)}, b)
	}
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "fuzz"}}).Encode(nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, b := servers[len(data)%2 == 1], backends[len(data)%2 == 1]
		nc := &fuzzConn{r: bytes.NewReader(append(startup[:len(startup):len(startup)], data...))}
		c := newConn(s, nc)
		s.mu.Lock()
		s.mu.conns[c] = struct{}{}
		s.mu.Unlock()
		c.serve() // returns when the connection has ended
		if n := b.open.Load(); n != 0 {
			t.Fatalf("%d sessions open", n)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.misuse) > 0 {
			t.Fatalf("session misuse: %v", b.misuse)
		}
	})
}

// fuzzConn is a net.Conn that reads its input then EOF and discards
// output.
type fuzzConn struct {
	r *bytes.Reader
}

func (c *fuzzConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *fuzzConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *fuzzConn) Close() error                       { return nil }
func (c *fuzzConn) LocalAddr() net.Addr                { return fuzzAddr{} }
func (c *fuzzConn) RemoteAddr() net.Addr               { return fuzzAddr{} }
func (c *fuzzConn) SetDeadline(t time.Time) error      { return nil }
func (c *fuzzConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fuzzConn) SetWriteDeadline(t time.Time) error { return nil }

type fuzzAddr struct{}

func (fuzzAddr) Network() string { return "fuzz" }
func (fuzzAddr) String() string  { return "fuzz" }
