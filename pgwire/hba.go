package pgwire

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"

	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// LoginInfo is what authentication needs to know of a role.
type LoginInfo struct {
	// Exists is false for an unknown role.
	Exists bool
	// CanLogin is the role's LOGIN attribute.
	CanLogin bool
	// Password is the stored verifier (SCRAM or md5), "" for none.
	Password string
	// PasswordExpired: the role's VALID UNTIL has passed, so password
	// authentication fails (trust is not affected).
	PasswordExpired bool
}

// RoleLookup reads roles for PolicyAuth. Concurrency: called from many
// connection goroutines at once.
type RoleLookup interface {
	LoginInfo(ctx context.Context, user string) (LoginInfo, error)
}

// DefaultTrust is the default set of trusted addresses: loopback.
var DefaultTrust = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// PolicyAuth is Outpost's authentication policy, PostgreSQL's pg_hba
// reduced to two lines:
//
//	host all all <Trust>  trust           (loopback addresses only)
//	host all all all      md5             (SCRAM, or md5 for md5-stored passwords)
//
// A client from a trusted address is admitted without a password if its
// role exists (else 28000 role "x" does not exist) and may log in. Any
// other client proves its password: with SCRAM-SHA-256 unless the role's
// stored password is an md5 verifier, then with an MD5 challenge (as
// PostgreSQL's md5 method does). An unknown role, a role without a
// password and a wrong password all fail alike with 28P01 "password
// authentication failed", after a full (mock) exchange, so that a client
// cannot probe which roles exist. A NOLOGIN role that proved its password
// gets 28000 "role "x" is not permitted to log in".
type PolicyAuth struct {
	Roles RoleLookup
	// Trust lists the addresses admitted without a password. Trust
	// applies only to loopback addresses: a non-loopback client is never
	// trusted, whatever the list says. Empty: nobody is trusted.
	Trust []netip.Prefix
	// mockSecret derives mock SCRAM salts; set by NewPolicyAuth.
	mockSecret []byte
}

// NewPolicyAuth returns a policy over roles trusting the given loopback
// addresses.
func NewPolicyAuth(lookup RoleLookup, trust []netip.Prefix) *PolicyAuth {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &PolicyAuth{Roles: lookup, Trust: trust, mockSecret: secret}
}

// Trusted reports whether a client at addr is admitted without a password.
func (a *PolicyAuth) Trusted(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return false
	}
	for _, p := range a.Trust {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Authenticate implements Authenticator.
func (a *PolicyAuth) Authenticate(ctx context.Context, c Challenger, user, _ string, remote net.Addr) error {
	info, err := a.Roles.LoginInfo(ctx, user)
	if err != nil {
		return err
	}
	if a.Trusted(remote) {
		if !info.Exists {
			return fatalf(sqlerr.InvalidAuthorizationSpec, "role %q does not exist", user)
		}
	} else if err := a.password(ctx, c, user, info); err != nil {
		return err
	}
	if !info.CanLogin {
		return fatalf(sqlerr.InvalidAuthorizationSpec, "role %q is not permitted to log in", user)
	}
	return nil
}

func (a *PolicyAuth) password(ctx context.Context, c Challenger, user string, info LoginInfo) error {
	failed := fatalf(sqlerr.InvalidPassword, "password authentication failed for user %q", user)
	if info.Exists && roles.IsMD5(info.Password) {
		var salt [4]byte
		_, _ = rand.Read(salt[:])
		resp, err := c.MD5Password(ctx, salt)
		if err != nil {
			return err
		}
		if !roles.CheckMD5Response(info.Password, salt, resp) || info.PasswordExpired {
			return failed
		}
		return nil
	}
	v, err := roles.ParseSCRAM(info.Password)
	mock := !info.Exists || err != nil
	if mock {
		v = roles.MockSCRAM(a.mockSecret, user)
	}
	s := roles.NewSCRAMServer(v, mock)
	mech, initial, err := c.SASLStart(ctx, []string{roles.MechanismSCRAM})
	if err != nil {
		return err
	}
	if mech != roles.MechanismSCRAM {
		return fatalf(sqlerr.ProtocolViolation, "client selected an invalid SASL authentication mechanism")
	}
	serverFirst, err := s.First(initial)
	if err != nil {
		return err
	}
	clientFinal, err := c.SASLContinue(ctx, serverFirst)
	if err != nil {
		return err
	}
	serverFinal, ok, err := s.Final(clientFinal)
	if err != nil {
		return err
	}
	if !ok || info.PasswordExpired {
		return failed
	}
	return c.SASLFinal(ctx, serverFinal)
}
