package pgwire

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Server. The zero value is usable: NewServer fills
// unset fields with EnsureDefaults.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on. Default
	// "127.0.0.1:5433".
	Addr string

	// MaxConnections is the most sessions (connections past the startup
	// packet) served at once; the next client gets FATAL 53300 "sorry, too
	// many clients already". CancelRequest connections do not count.
	// Default 1000.
	MaxConnections int

	// MaxMessageBytes is the largest frontend message accepted, header
	// included. A message claiming more ends the connection with FATAL
	// 08P01 before any of its body is read or allocated. Messages that
	// never carry data (Sync, Execute, Describe, ...) are limited to
	// 10000 bytes, as in PostgreSQL. Default 64 MiB.
	MaxMessageBytes int

	// IdleTimeout ends a session that waits for a query longer than this
	// (FATAL 57P05, or 25P03 inside a transaction). 0, the default, never
	// does.
	IdleTimeout time.Duration

	// AuthTimeout bounds the time from accepting a connection to the end
	// of authentication (PostgreSQL's authentication_timeout). Default
	// 60s.
	AuthTimeout time.Duration

	// Authenticator checks a client's identity after the startup packet.
	// Default TrustAuth{} (everyone is who they say).
	Authenticator Authenticator

	// Logger receives connection events: opened/closed at Debug, protocol
	// violations and internal errors at Warn. Default slog.Default().
	Logger *slog.Logger

	// TLSConfig, if set, is offered to clients that send SSLRequest
	// ('S', then a TLS handshake). Nil: SSLRequest is answered 'N'.
	// GSSENCRequest is always answered 'N'.
	TLSConfig *tls.Config

	// RequireTLS refuses clients that did not negotiate TLS, with FATAL
	// 28000 as PostgreSQL's pg_hba.conf does ("no pg_hba.conf entry for
	// host ..., no encryption"). It needs TLSConfig.
	RequireTLS bool
}

// The defaults.
const (
	DefaultAddr            = "127.0.0.1:5433"
	DefaultMaxConnections  = 1000
	DefaultMaxMessageBytes = 64 << 20
	DefaultAuthTimeout     = 60 * time.Second
)

// minMessageBytes is the smallest MaxMessageBytes that Validate accepts:
// the limit of PostgreSQL's small messages, so that every message type
// stays usable.
const minMessageBytes = smallMessageBytes

// EnsureDefaults fills unset fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.AuthTimeout == 0 {
		c.AuthTimeout = DefaultAuthTimeout
	}
	if c.Authenticator == nil {
		c.Authenticator = TrustAuth{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports an unusable configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("pgwire: MaxConnections %d < 0", c.MaxConnections))
	}
	if c.MaxMessageBytes < minMessageBytes {
		errs = append(errs, fmt.Errorf("pgwire: MaxMessageBytes %d < %d", c.MaxMessageBytes, minMessageBytes))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("pgwire: IdleTimeout %s < 0", c.IdleTimeout))
	}
	if c.AuthTimeout < 0 {
		errs = append(errs, fmt.Errorf("pgwire: AuthTimeout %s < 0", c.AuthTimeout))
	}
	if c.RequireTLS && c.TLSConfig == nil {
		errs = append(errs, errors.New("pgwire: RequireTLS without TLSConfig"))
	}
	return errors.Join(errs...)
}
