package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/outpostdb/outpost/pgwire"
	"github.com/outpostdb/outpost/sql"
)

// SecurityConfig configures authentication and TLS for SQL clients.
type SecurityConfig struct {
	// TrustAddrs are the client addresses admitted without a password
	// (PostgreSQL's "trust"); trust applies to loopback addresses only.
	// nil means pgwire.DefaultTrust (127.0.0.0/8 and ::1); see NoTrust.
	TrustAddrs []netip.Prefix
	// NoTrust makes every client prove its password.
	NoTrust bool
	// CertsDir holds the node's TLS certificate and key, named
	// CertFile and KeyFile. "" : a self-signed pair is generated at the
	// first start into <Store>/certs (in memory for an in-memory node).
	CertsDir string
	// DisableTLS answers SSLRequest with 'N'.
	DisableTLS bool
	// RequireTLS refuses clients that do not use TLS (FATAL 28000).
	RequireTLS bool
}

// The names of the node's certificate and key in a certificates
// directory (PEM).
const (
	CertFile = "node.crt"
	KeyFile  = "node.key"
)

// trust returns the effective trusted prefixes.
func (c *SecurityConfig) trust() []netip.Prefix {
	switch {
	case c.NoTrust:
		return nil
	case c.TrustAddrs == nil:
		return pgwire.DefaultTrust
	}
	return c.TrustAddrs
}

func (c *SecurityConfig) validate() error {
	for _, p := range c.TrustAddrs {
		if !p.Addr().IsLoopback() || (p.Addr().Is4() && p.Bits() < 8) {
			return fmt.Errorf("server: trust address %s is not a loopback range: trust is for local connections only", p)
		}
	}
	if c.RequireTLS && c.DisableTLS {
		return errors.New("server: RequireTLS with TLS disabled")
	}
	return nil
}

// roleLookup adapts sql.Server to pgwire.RoleLookup.
type roleLookup struct{ srv *sql.Server }

func (l roleLookup) LoginInfo(ctx context.Context, user string) (pgwire.LoginInfo, error) {
	r, err := l.srv.LoginRole(ctx, user)
	if err != nil || r == nil {
		return pgwire.LoginInfo{}, err
	}
	return pgwire.LoginInfo{Exists: true, CanLogin: r.Login, Password: r.Password,
		PasswordExpired: r.PasswordExpired(time.Now())}, nil
}

// tlsConfig loads or creates the node's certificate.
func tlsConfig(cfg *Config, log *slog.Logger) (*tls.Config, error) {
	sec := &cfg.Security
	var cert tls.Certificate
	var err error
	switch {
	case sec.CertsDir != "":
		cert, err = tls.LoadX509KeyPair(filepath.Join(sec.CertsDir, CertFile), filepath.Join(sec.CertsDir, KeyFile))
		if err != nil {
			return nil, fmt.Errorf("server: TLS certificate: %w", err)
		}
	case cfg.InMemory:
		certPEM, keyPEM, err := selfSigned(cfg.SQLAddr)
		if err != nil {
			return nil, err
		}
		if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return nil, err
		}
	default:
		if cert, err = storeCert(cfg, log); err != nil {
			return nil, err
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// storeCert loads <Store>/certs/node.{crt,key}, generating a self-signed
// pair on first use.
func storeCert(cfg *Config, log *slog.Logger) (tls.Certificate, error) {
	dir := filepath.Join(cfg.Store, "certs")
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) {
		certPEM, keyPEM, err := selfSigned(cfg.SQLAddr)
		if err != nil {
			return tls.Certificate{}, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tls.Certificate{}, fmt.Errorf("server: certs directory: %w", err)
		}
		// The key first: a crash between the writes leaves no
		// certificate, so the next start generates a fresh pair.
		if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			return tls.Certificate{}, err
		}
		if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
			return tls.Certificate{}, err
		}
		log.Info("generated a self-signed TLS certificate", "cert", certPath, "key", keyPath)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server: TLS certificate: %w", err)
	}
	return cert, nil
}

// selfSigned makes an ECDSA P-256 certificate for the loopback names and
// the SQL address's host, valid for ten years.
func selfSigned(sqlAddr string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "outpost node", Organization: []string{"Outpost"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host, _, err := net.SplitHostPort(sqlAddr); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil {
			if !ip.IsLoopback() && !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if host != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// configureSecurity fills the listener's authentication and TLS settings
// from cfg.Security, where the PGWire config leaves them unset.
func (s *Server) configureSecurity(pgCfg *pgwire.Config) error {
	sec := &s.cfg.Security
	if pgCfg.Authenticator == nil {
		pgCfg.Authenticator = pgwire.NewPolicyAuth(roleLookup{s.sql}, sec.trust())
	}
	if pgCfg.TLSConfig == nil && !sec.DisableTLS {
		tc, err := tlsConfig(&s.cfg, s.log)
		if err != nil {
			return err
		}
		pgCfg.TLSConfig = tc
	}
	if sec.RequireTLS {
		pgCfg.RequireTLS = true
	}
	return nil
}
