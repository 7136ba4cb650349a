package pgwire

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outpostdb/outpost/sql/roles"
)

// fakeRoles is a RoleLookup over a map.
type fakeRoles map[string]LoginInfo

func (f fakeRoles) LoginInfo(_ context.Context, user string) (LoginInfo, error) {
	return f[user], nil
}

var testRoles = fakeRoles{
	"scram":   {Exists: true, CanLogin: true, Password: roles.SCRAMVerifier("s3cret", []byte("0123456789abcdef"), 4096)},
	"md5user": {Exists: true, CanLogin: true, Password: roles.MD5Verifier("md5user", "m5pw")},
	"nopw":    {Exists: true, CanLogin: true},
	"nologin": {Exists: true, Password: roles.MD5Verifier("nologin", "pw")},
}

func pwURL(s *testServer, user, password, sslmode string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: s.addr, Path: "/db", RawQuery: "sslmode=" + sslmode}
	return u.String()
}

func connectErr(ctx context.Context, dsn string) (string, string) {
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		_ = c.Close(ctx)
		return "", ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.Message
	}
	return "?", err.Error()
}

func TestPolicyAuth(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, Config{Authenticator: NewPolicyAuth(testRoles, nil)})
	for _, tc := range []struct {
		user, password, code, msg string
	}{
		{"scram", "s3cret", "", ""},
		{"md5user", "m5pw", "", ""},
		{"scram", "bad", "28P01", `password authentication failed for user "scram"`},
		{"md5user", "bad", "28P01", `password authentication failed for user "md5user"`},
		{"ghost", "x", "28P01", `password authentication failed for user "ghost"`},
		{"nopw", "", "28P01", `password authentication failed for user "nopw"`},
		{"nologin", "pw", "28000", `role "nologin" is not permitted to log in`},
		{"nologin", "bad", "28P01", `password authentication failed for user "nologin"`},
	} {
		code, msg := connectErr(ctx, pwURL(s, tc.user, tc.password, "disable"))
		if code != tc.code || msg != tc.msg {
			t.Errorf("%s/%s: got %s %q, want %s %q", tc.user, tc.password, code, msg, tc.code, tc.msg)
		}
	}
}

func TestPolicyAuthTrust(t *testing.T) {
	ctx := testCtx(t)
	s := startServer(t, Config{Authenticator: NewPolicyAuth(testRoles, DefaultTrust)})
	for _, tc := range []struct{ user, code, msg string }{
		{"nopw", "", ""},
		{"scram", "", ""},
		{"ghost", "28000", `role "ghost" does not exist`},
		{"nologin", "28000", `role "nologin" is not permitted to log in`},
	} {
		code, msg := connectErr(ctx, fmt.Sprintf("postgres://%s@%s/db?sslmode=disable", tc.user, s.addr))
		if code != tc.code || msg != tc.msg {
			t.Errorf("%s: got %s %q", tc.user, code, msg)
		}
	}
	a := NewPolicyAuth(testRoles, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "127.8.0.1:1": true, "10.0.0.1:1": false, "[::1]:1": false, "192.168.1.1:5": false} {
		tcp, _ := net.ResolveTCPAddr("tcp", addr)
		if got := a.Trusted(tcp); got != want {
			t.Errorf("Trusted(%s) = %v (trust is for loopback only)", addr, got)
		}
	}
}

// TestSCRAMChannelBindingRefused: a client asking for channel binding
// ('p=' flag) gets FATAL 08P01, as from PostgreSQL without -PLUS.
func TestSCRAMChannelBindingRefused(t *testing.T) {
	s := startServer(t, Config{Authenticator: NewPolicyAuth(testRoles, nil)})
	c := dialRaw(t, s.addr)
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "scram"}})
	c.until("*pgproto3.AuthenticationSASL")
	c.send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("p=tls-server-end-point,,n=,r=abcdef")})
	e := c.untilEOF()
	if e == nil || e.Code != "08P01" || e.Severity != "FATAL" || !strings.Contains(e.Detail, "channel binding") {
		t.Fatalf("got %+v", e)
	}
}

func testTLSConfig(t testing.TB) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestTLS(t *testing.T) {
	ctx := testCtx(t)
	plain := startServer(t, Config{})
	// Without a TLS config the server answers 'N': sslmode=require fails.
	if code, _ := connectErr(ctx, strings.TrimSuffix(plain.url("alice", "db"), "disable")+"require"); code == "" {
		t.Fatal("sslmode=require connected to a server without TLS")
	}
	s := startServer(t, Config{TLSConfig: testTLSConfig(t), RequireTLS: true})
	base := strings.TrimSuffix(s.url("alice", "db"), "disable")
	c, err := pgx.Connect(ctx, base+"require")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.PgConn().Conn().(*tls.Conn); !ok {
		t.Fatalf("not TLS: %T", c.PgConn().Conn())
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d %v", n, err)
	}
	_ = c.Close(ctx)
	code, msg := connectErr(ctx, base+"disable")
	if code != "28000" || msg != `no pg_hba.conf entry for host "127.0.0.1", user "alice", database "db", no encryption` {
		t.Fatalf("plaintext: %s %q", code, msg)
	}
	// GSSENCRequest is still 'N'.
	raw := dialRaw(t, s.addr)
	raw.write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30})
	var b [1]byte
	_ = raw.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := raw.nc.Read(b[:]); err != nil || b[0] != 'N' {
		t.Fatalf("GSSENCRequest answer %q %v", b, err)
	}
}

// TestTLSUnencryptedDataAfterSSLRequest: bytes that follow an SSLRequest
// before the handshake are refused (CVE-2021-23214), in one write so that
// they are buffered together.
func TestTLSUnencryptedDataAfterSSLRequest(t *testing.T) {
	s := startServer(t, Config{TLSConfig: testTLSConfig(t)})
	c := dialRaw(t, s.addr)
	ssl := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8}, sslRequest)
	startup, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "mallory"}}).Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.write(append(ssl, startup...))
	e := c.untilEOF()
	if e == nil || e.Code != "08P01" || e.Message != "received unencrypted data after SSL request" {
		t.Fatalf("got %+v", e)
	}
}
