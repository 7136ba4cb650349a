package sql

import (
	"context"
	"fmt"
	"sync"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// DefaultBootstrapSuperusers are the superusers a fresh cluster gets
// (LOGIN, no password): "outpost" (OID 10, the owner of objects created
// before owners were recorded) and "root", whom the README and the tests
// connect as.
var DefaultBootstrapSuperusers = []string{"outpost", "root"}

// connCounts counts the open sessions of each role, for CONNECTION LIMIT.
type connCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// acquireConn counts a new session of r, or refuses it with FATAL 53300
// when r is at its connection limit (superusers have none).
func (s *Server) acquireConn(r *roles.Role) error {
	c := &s.conns
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if lim := r.ConnectionLimit(); lim >= 0 && !r.Superuser && c.n[r.Name] >= int(lim) {
		return &sqlerr.Error{Code: sqlerr.TooManyConnections, Severity: "FATAL",
			Message: fmt.Sprintf("too many connections for role %q", r.Name)}
	}
	c.n[r.Name]++
	return nil
}

// releaseConn uncounts a session of user (Session.Close).
func (s *Server) releaseConn(user string) {
	c := &s.conns
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[user] <= 1 {
		delete(c.n, user)
		return
	}
	c.n[user]--
}

// roleCache holds roles read by sessions, valid for one catalog version
// (every role change bumps it).
type roleCache struct {
	mu      sync.Mutex
	version uint64
	m       map[string]*roles.Role
}

// LoginRole returns the role user logs in as, nil if there is none. It
// reads in a transaction of its own (authentication happens before a
// session exists).
func (s *Server) LoginRole(ctx context.Context, user string) (*roles.Role, error) {
	var r *roles.Role
	err := s.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		var err error
		r, err = roles.Get(ctx, txn, user)
		return err
	})
	return r, err
}

// Roles lists every role (for pg_roles and pg_authid).
func (s *Server) Roles(ctx context.Context, txn *kv.Txn) ([]*roles.Role, error) {
	return roles.List(ctx, txn)
}

// connectCheck is NewSession's check that user may connect to database id:
// the role must exist (28000, as PostgreSQL's InitializeSessionUserId),
// may log in (28000) and have CONNECT on the database (42501).
func connectCheck(ctx context.Context, txn *kv.Txn, user string, dbID catalog.ID, dbName string) (*roles.Role, error) {
	r, err := roles.Get(ctx, txn, user)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, &sqlerr.Error{Code: sqlerr.InvalidAuthorizationSpec, Severity: "FATAL", Message: "role \"" + user + "\" does not exist"}
	}
	if !r.Login {
		return nil, &sqlerr.Error{Code: sqlerr.InvalidAuthorizationSpec, Severity: "FATAL", Message: "role \"" + user + "\" is not permitted to log in"}
	}
	d, err := catalog.Get(ctx, txn, dbID)
	if err != nil {
		return nil, err
	}
	if d == nil || d.Database == nil || r.Superuser || d.Database.OwnerOID() == r.OID ||
		d.Database.DatabaseACL().Has(r.OID, catalog.PrivConnect) {
		return r, nil
	}
	e := sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for database %q", dbName).
		WithDetail("User does not have CONNECT privilege.")
	e.Severity = "FATAL"
	return nil, e
}

// initRole records the session's role (its OID owns what it creates) and
// reports is_superuser.
func (s *Session) initRole(r *roles.Role) {
	s.roleOID = r.OID
	if r.Superuser {
		s.vars.vals["is_superuser"] = "on"
	} else {
		s.vars.vals["is_superuser"] = "off"
	}
}

// currentRole returns the session user's role as of the statement's
// transaction: from the server's cache when it is valid for the catalog
// version the statement reads (and this transaction changed no schema),
// else from kv. A role dropped while its session lives has no rights
// beyond PUBLIC's.
func (s *Session) currentRole(ctx context.Context) (*roles.Role, error) {
	return s.roleIn(s.catalogView(ctx))
}

// roleMemo is the role a transaction read: within one (serializable)
// transaction the role cannot change under it, unless it changes roles
// itself (wroteCatalog), so per-row checks (nextval) read it once.
type roleMemo struct {
	txn kvpb.TxnID
	r   *roles.Role
}

// roleInTxn returns the session's role as of its transaction, read once
// per transaction.
func (s *Session) roleInTxn(ctx context.Context) (*roles.Role, error) {
	if s.txn != nil && !s.wroteCatalog && s.roleMemo.r != nil && s.roleMemo.txn == s.txn.ID() {
		return s.roleMemo.r, nil
	}
	r, err := s.currentRole(ctx)
	if err == nil && s.txn != nil && !s.wroteCatalog {
		s.roleMemo = roleMemo{txn: s.txn.ID(), r: r}
	}
	return r, err
}

// roleIn is currentRole for the statement that cat serves (its catalog
// version is read once per statement).
func (s *Session) roleIn(cat *catalogView) (*roles.Role, error) {
	ctx := cat.ctx
	if err := cat.checkVersion(); err != nil {
		return nil, err
	}
	rc := &s.srv.roles
	if !s.wroteCatalog {
		rc.mu.Lock()
		r, ok := rc.m[s.user]
		valid := rc.version == cat.version
		rc.mu.Unlock()
		if ok && valid {
			return r, nil
		}
	}
	r, err := roles.Get(ctx, s.txn, s.user)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &roles.Role{Name: s.user, OID: ^uint32(0)}
	}
	if !s.wroteCatalog {
		rc.mu.Lock()
		if rc.version != cat.version && (!cat.historical() || rc.version < cat.version) {
			rc.version, rc.m = cat.version, map[string]*roles.Role{}
		}
		if rc.version == cat.version && rc.m != nil {
			rc.m[s.user] = r
		}
		rc.mu.Unlock()
	}
	return r, nil
}

// validatePasswordEncryption accepts PostgreSQL 15's values.
func validatePasswordEncryption(v string) (string, error) {
	switch v {
	case roles.MethodMD5, roles.MethodSCRAM:
		return v, nil
	}
	return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"password_encryption\": %q", v).
		WithHint("Available values: md5, scram-sha-256.")
}
