package pgwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// This file reads frontend messages. It does its own framing and decoding
// instead of using pgproto3.Backend because that one allocates whatever
// length a header claims and some of its decoders panic on hostile input
// (a Bind parameter length below -1). Decoding here is strict: every byte
// of a body must be accounted for, as PostgreSQL's pq_getmsgend requires.

// Frontend message types after startup.
const (
	msgBind         = 'B'
	msgClose        = 'C'
	msgDescribe     = 'D'
	msgExecute      = 'E'
	msgFunctionCall = 'F'
	msgFlush        = 'H'
	msgParse        = 'P'
	msgQuery        = 'Q'
	msgSync         = 'S'
	msgTerminate    = 'X'
	msgCopyDone     = 'c'
	msgCopyData     = 'd'
	msgCopyFail     = 'f'
	msgPassword     = 'p' // only during authentication
)

// smallMessageBytes limits messages that carry no data, whatever
// MaxMessageBytes says (PostgreSQL's PQ_SMALL_MESSAGE_LIMIT).
const smallMessageBytes = 10000

// bodyChunkBytes is how much of a large body is allocated before its bytes
// arrive: a header claiming a large length costs nothing until the client
// actually sends the data.
const bodyChunkBytes = 64 << 10

// msgReader splits a byte stream into frontend messages.
//
// Invariant: every body returned is a fresh allocation that the caller owns
// (decoded messages alias it: Bind parameters, CopyData).
type msgReader struct {
	r io.Reader
	// maxBytes is Config.MaxMessageBytes.
	maxBytes int
	header   [5]byte
}

// limit returns the largest message (header included) accepted for typ.
func (r *msgReader) limit(typ byte) int {
	switch typ {
	case msgQuery, msgParse, msgBind, msgFunctionCall, msgCopyData:
		return r.maxBytes
	default:
		return min(smallMessageBytes, r.maxBytes)
	}
}

// readRaw reads one message: its type and body. Errors are io.EOF (clean
// end of stream at a message boundary), io.ErrUnexpectedEOF (the stream
// ended inside a message), another I/O error, or an *sqlerr.Error (FATAL
// 08P01) for a length that is out of bounds.
func (r *msgReader) readRaw(known func(byte) bool) (typ byte, body []byte, err error) {
	if _, err := io.ReadFull(r.r, r.header[:]); err != nil {
		return 0, nil, err
	}
	typ = r.header[0]
	if !known(typ) {
		return typ, nil, fatalf(sqlerr.ProtocolViolation, "invalid frontend message type %d", typ)
	}
	n := int64(binary.BigEndian.Uint32(r.header[1:])) // includes itself
	if n < 4 {
		return typ, nil, fatalf(sqlerr.ProtocolViolation, "invalid message length")
	}
	if n+1 > int64(r.limit(typ)) {
		return typ, nil, fatalf(sqlerr.ProtocolViolation, "invalid message length").
			WithDetail("Message type %q claims %d bytes; the limit is %d.", typ, n+1, r.limit(typ))
	}
	body, err = readBody(r.r, int(n-4))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return typ, body, err
}

// readBody reads n bytes, allocating them as they arrive rather than all
// up front.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n <= bodyChunkBytes {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	b := make([]byte, 0, bodyChunkBytes)
	for len(b) < n {
		// Grow geometrically, so that a body costs O(n) copying in all.
		step := min(n-len(b), max(len(b), bodyChunkBytes))
		b = slices.Grow(b, step)
		m, err := io.ReadFull(r, b[len(b):len(b)+step])
		b = b[:len(b)+m]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// isSessionMessage reports whether typ may arrive after startup.
func isSessionMessage(typ byte) bool {
	switch typ {
	case msgBind, msgClose, msgDescribe, msgExecute, msgFunctionCall, msgFlush,
		msgParse, msgQuery, msgSync, msgTerminate, msgCopyDone, msgCopyData, msgCopyFail:
		return true
	}
	return false
}

// read reads and decodes one post-startup message. size is the number of
// bytes it took on the wire. Errors are those of readRaw, plus FATAL 08P01
// for a malformed body.
func (r *msgReader) read() (msg pgproto3.FrontendMessage, size int, err error) {
	typ, body, err := r.readRaw(isSessionMessage)
	if err != nil {
		return nil, 0, err
	}
	msg, err = decodeFrontend(typ, body)
	return msg, len(body) + 5, err
}

// decodeFrontend decodes the body of a post-startup message. The result
// aliases body.
func decodeFrontend(typ byte, body []byte) (pgproto3.FrontendMessage, error) {
	d := decoder{b: body}
	var msg pgproto3.FrontendMessage
	switch typ {
	case msgQuery:
		msg = &pgproto3.Query{String: d.cstring()}
	case msgParse:
		m := &pgproto3.Parse{Name: d.cstring(), Query: d.cstring()}
		if n := d.count(4); n > 0 {
			m.ParameterOIDs = make([]uint32, n)
			for i := range m.ParameterOIDs {
				m.ParameterOIDs[i] = d.uint32()
			}
		}
		msg = m
	case msgBind:
		m := &pgproto3.Bind{DestinationPortal: d.cstring(), PreparedStatement: d.cstring()}
		m.ParameterFormatCodes = d.int16s()
		if n := d.count(4); n > 0 {
			m.Parameters = make([][]byte, n)
			for i := range m.Parameters {
				m.Parameters[i] = d.value()
			}
		}
		m.ResultFormatCodes = d.int16s()
		msg = m
	case msgDescribe:
		msg = &pgproto3.Describe{ObjectType: d.byte(), Name: d.cstring()}
	case msgExecute:
		msg = &pgproto3.Execute{Portal: d.cstring(), MaxRows: d.uint32()}
	case msgClose:
		msg = &pgproto3.Close{ObjectType: d.byte(), Name: d.cstring()}
	case msgSync:
		msg = &pgproto3.Sync{}
	case msgFlush:
		msg = &pgproto3.Flush{}
	case msgTerminate:
		msg = &pgproto3.Terminate{}
	case msgFunctionCall:
		m := &pgproto3.FunctionCall{Function: d.uint32()}
		if n := d.count(2); n > 0 {
			m.ArgFormatCodes = make([]uint16, n)
			for i := range m.ArgFormatCodes {
				m.ArgFormatCodes[i] = uint16(d.int16())
			}
		}
		if n := d.count(4); n > 0 {
			m.Arguments = make([][]byte, n)
			for i := range m.Arguments {
				m.Arguments[i] = d.value()
			}
		}
		m.ResultFormatCode = uint16(d.int16())
		msg = m
	case msgCopyData:
		msg = &pgproto3.CopyData{Data: d.rest()}
	case msgCopyDone:
		msg = &pgproto3.CopyDone{}
	case msgCopyFail:
		msg = &pgproto3.CopyFail{Message: d.cstring()}
	default:
		return nil, fatalf(sqlerr.ProtocolViolation, "invalid frontend message type %d", typ)
	}
	if err := d.end(typ); err != nil {
		return nil, err
	}
	return msg, nil
}

// decoder reads the fields of a message body. The first error sticks:
// later reads return zero values, and end reports it.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) int16() int16 {
	if v := d.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (d *decoder) uint32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// count reads an int16 element count, checking that the body can hold that
// many elements of at least minBytes each, so that no slice is allocated
// for elements that are not there.
func (d *decoder) count(minBytes int) int {
	n := int(d.int16())
	if n < 0 || n*minBytes > len(d.b) {
		d.fail()
		return 0
	}
	return n
}

func (d *decoder) int16s() []int16 {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	v := make([]int16, n)
	for i := range v {
		v[i] = d.int16()
	}
	return v
}

// value reads an int32-length-prefixed value; length -1 is NULL (nil).
func (d *decoder) value() []byte {
	n := int32(d.uint32())
	if n == -1 {
		return nil
	}
	v := d.take(int(n))
	if v == nil && !d.bad {
		v = []byte{}
	}
	return v
}

func (d *decoder) cstring() string {
	if d.bad {
		return ""
	}
	i := bytes.IndexByte(d.b, 0)
	if i < 0 {
		d.fail()
		return ""
	}
	s := string(d.b[:i])
	d.b = d.b[i+1:]
	return s
}

func (d *decoder) rest() []byte {
	v := d.b
	d.b = nil
	return v
}

// end reports a malformed body: one that ran short or has bytes left over.
func (d *decoder) end(typ byte) error {
	if d.bad || len(d.b) != 0 {
		return fatalf(sqlerr.ProtocolViolation, "invalid message format").
			WithDetail("Malformed %q message.", typ)
	}
	return nil
}

// fatalf returns a connection-ending error.
func fatalf(code, format string, args ...any) *sqlerr.Error {
	e := sqlerr.New(code, format, args...)
	e.Severity = severityFatal
	return e
}
