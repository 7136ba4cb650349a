package pgwire

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Authenticator decides whether a client may connect as user. It runs on
// the connection's goroutine after the startup packet and before the
// session exists; the connection's AuthTimeout bounds it.
type Authenticator interface {
	// Authenticate returns nil to admit the client (pgwire then sends
	// AuthenticationOk). An error ends the connection with a FATAL
	// ErrorResponse carrying its SQLSTATE (sqlerr.Convert; 28P01 for a
	// wrong password, 28000 for a refused user). c exchanges
	// authentication messages with the client and must not be used after
	// Authenticate returns. Concurrency: called from many connection
	// goroutines at once.
	Authenticate(ctx context.Context, c Challenger, user, database string, remoteAddr net.Addr) error
}

// Challenger is the connection side of an authentication exchange. Each
// method sends one authentication request and flushes it; those that
// expect an answer read the client's next message, which must be a
// password-type ('p') message (else FATAL 08P01). Errors are I/O errors
// or *sqlerr.Error; either should be returned from Authenticate as is.
type Challenger interface {
	// CleartextPassword sends AuthenticationCleartextPassword and returns
	// the password the client sends back.
	CleartextPassword(ctx context.Context) (string, error)
	// MD5Password sends AuthenticationMD5Password with salt and returns
	// the client's answer ("md5" + hex(md5(hex(md5(password+user))+salt))).
	MD5Password(ctx context.Context, salt [4]byte) (string, error)
	// SASLStart sends AuthenticationSASL with the mechanisms offered
	// (e.g. "SCRAM-SHA-256") and returns the mechanism the client chose
	// and its initial response (nil if it sent none).
	SASLStart(ctx context.Context, mechanisms []string) (mechanism string, initial []byte, err error)
	// SASLContinue sends AuthenticationSASLContinue and returns the
	// client's next response.
	SASLContinue(ctx context.Context, data []byte) ([]byte, error)
	// SASLFinal sends AuthenticationSASLFinal (the server's last word; no
	// answer is expected).
	SASLFinal(ctx context.Context, data []byte) error
}

// TrustAuth admits everyone, as PostgreSQL's "trust" method does. It is the
// default Authenticator.
type TrustAuth struct{}

// Authenticate implements Authenticator.
func (TrustAuth) Authenticate(context.Context, Challenger, string, string, net.Addr) error {
	return nil
}

// PasswordAuth asks for a cleartext password and checks it with Check.
// Without TLS the password crosses the network in the clear; it exists for
// tests and trusted networks until SCRAM is implemented.
type PasswordAuth struct {
	// Check returns nil if password is user's. Any error refuses the
	// client with 28P01.
	Check func(ctx context.Context, user, password string) error
}

// Authenticate implements Authenticator.
func (a PasswordAuth) Authenticate(ctx context.Context, c Challenger, user, _ string, _ net.Addr) error {
	pw, err := c.CleartextPassword(ctx)
	if err != nil {
		return err
	}
	if a.Check == nil || a.Check(ctx, user, pw) != nil {
		return fatalf(sqlerr.InvalidPassword, "password authentication failed for user %q", user)
	}
	return nil
}

// challenger implements Challenger over a connection in its handshake.
type challenger struct {
	c *conn
}

// maxAuthBytes bounds an authentication answer (PostgreSQL's
// PG_MAX_AUTH_TOKEN_LENGTH is 65535).
const maxAuthBytes = 65535 + 5

func (ch challenger) ask(ctx context.Context, msg encoder) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := ch.c
	if err := c.send(msg); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	r := msgReader{r: c.br, maxBytes: maxAuthBytes}
	typ, body, err := r.readRaw(func(t byte) bool { return t == msgPassword })
	if err != nil {
		if typ != 0 && typ != msgPassword {
			return nil, fatalf(sqlerr.ProtocolViolation, "expected password response, got message type %d", typ)
		}
		return nil, err
	}
	return body, nil
}

func (ch challenger) password(ctx context.Context, msg encoder) (string, error) {
	body, err := ch.ask(ctx, msg)
	if err != nil {
		return "", err
	}
	d := decoder{b: body}
	pw := d.cstring()
	if err := d.end(msgPassword); err != nil {
		return "", err
	}
	return pw, nil
}

func (ch challenger) CleartextPassword(ctx context.Context) (string, error) {
	return ch.password(ctx, &pgproto3.AuthenticationCleartextPassword{})
}

func (ch challenger) MD5Password(ctx context.Context, salt [4]byte) (string, error) {
	return ch.password(ctx, &pgproto3.AuthenticationMD5Password{Salt: salt})
}

func (ch challenger) SASLStart(ctx context.Context, mechanisms []string) (string, []byte, error) {
	if len(mechanisms) == 0 {
		return "", nil, errors.New("pgwire: SASLStart without mechanisms")
	}
	body, err := ch.ask(ctx, &pgproto3.AuthenticationSASL{AuthMechanisms: mechanisms})
	if err != nil {
		return "", nil, err
	}
	d := decoder{b: body}
	mech := d.cstring()
	initial := d.value()
	if err := d.end(msgPassword); err != nil {
		return "", nil, err
	}
	return mech, initial, nil
}

func (ch challenger) SASLContinue(ctx context.Context, data []byte) ([]byte, error) {
	return ch.ask(ctx, &pgproto3.AuthenticationSASLContinue{Data: data})
}

func (ch challenger) SASLFinal(ctx context.Context, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ch.c.send(&pgproto3.AuthenticationSASLFinal{Data: data}); err != nil {
		return err
	}
	return ch.c.flush()
}
