package pgwire

import (
	"bufio"
	"crypto/tls"
	"net"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// startTLS answers an SSLRequest with 'S' and runs the TLS handshake (the
// AuthTimeout deadline set on the socket bounds it). Bytes that the
// client sent after the SSLRequest, before the handshake, are refused
// (CVE-2021-23214: they could be injected by a man in the middle).
func (c *conn) startTLS() error {
	if c.br.Buffered() > 0 {
		return fatalf(sqlerr.ProtocolViolation, "received unencrypted data after SSL request")
	}
	if err := c.answerByte('S'); err != nil {
		return err
	}
	tc := tls.Server(c.nc, c.srv.cfg.TLSConfig)
	if err := tc.HandshakeContext(c.ctx); err != nil {
		// The client cannot read an ErrorResponse in the clear now.
		c.log.Debug("pgwire: TLS handshake failed", "err", err)
		return &net.OpError{Op: "tls handshake", Err: err}
	}
	c.stream = tc
	c.br = bufio.NewReaderSize(tc, readBufferBytes)
	c.rd.r = c.br
	c.tls = true
	return nil
}

// remoteHost is the client's IP address as pg_hba messages name it.
func remoteHost(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return remoteString(nc)
}
