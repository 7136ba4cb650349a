package sql

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// SQLSTATEs of role and privilege statements that sqlerr does not name.
const (
	invalidGrantOperation = "0LP01"
	privilegeNotGranted   = "01007"
	privilegeNotRevoked   = "01006"
)

// runRoleStmt runs CREATE/ALTER/DROP ROLE, GRANT and REVOKE inside the
// session's transaction (they are transactional, like all DDL here).
func (s *Session) runRoleStmt(ctx context.Context, st *parser.Statement, w ResultWriter) error {
	if s.txn == nil {
		s.beginTxn(implicitTxn)
	}
	s.wroteCatalog = true
	me, err := s.currentRole(ctx)
	if err != nil {
		return err
	}
	ss := st.Session
	switch ss.Kind {
	case pgdialect.CreateRole:
		err = s.createRole(ctx, me, ss.Role)
	case pgdialect.AlterRole:
		err = s.alterRole(ctx, me, ss.Role)
	case pgdialect.DropRole:
		err = s.dropRoles(ctx, me, ss.Role)
	case pgdialect.AlterOwner:
		err = s.alterOwner(ctx, me, ss.Owner)
	case pgdialect.ReassignOwned:
		err = s.reassignOwned(ctx, me, ss.Owner)
	case pgdialect.DropOwned:
		err = s.dropOwned(ctx, st, me, ss.Owner)
	default:
		err = s.grant(ctx, me, ss.Grant, ss.Kind == pgdialect.Revoke)
	}
	if err != nil {
		s.pendingNotices = nil
		return err
	}
	if err := s.flushNotices(w); err != nil {
		return err
	}
	return w.CommandComplete(ss.Tag())
}

func (s *Session) roleNotice(code, format string, args ...any) {
	n := sqlerr.New(code, format, args...)
	n.Severity = "NOTICE"
	s.pendingNotices = append(s.pendingNotices, n)
}

func (s *Session) roleWarning(code, format string, args ...any) {
	n := sqlerr.New(code, format, args...)
	n.Severity = "WARNING"
	s.pendingNotices = append(s.pendingNotices, n)
}

func denied(format string, args ...any) error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, format, args...)
}

func undefinedRole(name string) error {
	return sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
}

// lookupRole resolves a role spec to an existing role (42704 if none).
func (s *Session) lookupRole(ctx context.Context, spec pgdialect.RoleSpec) (*roles.Role, error) {
	name := spec.Name
	if spec.Current {
		name = s.user
	}
	r, err := roles.Get(ctx, s.txn, name)
	if err != nil {
		return nil, err
	}
	if r == nil || spec.Public {
		return nil, undefinedRole(name)
	}
	return r, nil
}

// applyOptions sets r's attributes from CREATE/ALTER ROLE options.
func (s *Session) applyOptions(r *roles.Role, opts []pgdialect.RoleOption) error {
	for _, o := range opts {
		switch o.Name {
		case "superuser":
			r.Superuser = o.On
		case "createdb":
			r.CreateDB = o.On
		case "createrole":
			r.CreateRole = o.On
		case "inherit":
			r.Inherit = o.On
		case "login":
			r.Login = o.On
		case "replication":
			r.Replication = o.On
		case "bypassrls":
			r.BypassRLS = o.On
		case "valid until":
			ts, err := types.ParseTimestampTZ(o.Value, s.evalContext())
			if err != nil {
				return err
			}
			var us int64
			switch {
			case ts.Time.Equal(types.TimestampPosInf):
				us = math.MaxInt64
			case ts.Time.Equal(types.TimestampNegInf):
				us = math.MinInt64
			default:
				us = ts.Time.UnixMicro()
			}
			r.ValidUntil = &us
		case "connection limit":
			n, err := strconv.ParseInt(o.Value, 10, 32)
			if err != nil || n < -1 {
				return sqlerr.New(sqlerr.InvalidParameterValue, "invalid connection limit: %s", o.Value)
			}
			if n == -1 {
				r.ConnLimit = nil
			} else {
				lim := int32(n)
				r.ConnLimit = &lim
			}
		case "password":
			if o.PasswordNull {
				r.Password = ""
				continue
			}
			if o.Password == "" {
				s.roleNotice(sqlerr.SuccessfulCompletion, "empty string is not a valid password, clearing password")
				r.Password = ""
				continue
			}
			method, _ := s.vars.get("password_encryption")
			v, err := roles.Encrypt(r.Name, o.Password, method)
			if err != nil {
				return err
			}
			r.Password = v
		}
	}
	return nil
}

// optionSet returns the option named name, if given.
func optionSet(opts []pgdialect.RoleOption, name string) (pgdialect.RoleOption, bool) {
	for _, o := range opts {
		if o.Name == name {
			return o, true
		}
	}
	return pgdialect.RoleOption{}, false
}

func (s *Session) createRole(ctx context.Context, me *roles.Role, rs *pgdialect.RoleStmt) error {
	name := rs.Roles[0].Name
	if !me.Superuser {
		for _, attr := range []string{"superuser", "replication", "bypassrls"} {
			if o, ok := optionSet(rs.Options, attr); ok && o.On {
				what := map[string]string{"superuser": "superusers", "replication": "replication users", "bypassrls": "bypassrls users"}[attr]
				return denied("must be superuser to create %s", what)
			}
		}
		if !me.CreateRole {
			return denied("permission denied to create role")
		}
	}
	if err := roles.CheckName(name); err != nil {
		return err
	}
	existing, err := roles.Get(ctx, s.txn, name)
	if err != nil {
		return err
	}
	if existing != nil {
		if rs.IfNotExists {
			s.roleNotice(sqlerr.DuplicateObject, "role %q already exists, skipping", name)
			return nil
		}
		return sqlerr.New(sqlerr.DuplicateObject, "role %q already exists", name)
	}
	r := &roles.Role{Name: name, Login: rs.User, Inherit: true}
	if err := s.applyOptions(r, rs.Options); err != nil {
		return err
	}
	return roles.Create(ctx, s.txn, r)
}

func (s *Session) alterRole(ctx context.Context, me *roles.Role, rs *pgdialect.RoleStmt) error {
	r, err := s.lookupRole(ctx, rs.Roles[0])
	if err != nil {
		return err
	}
	if rs.RenameTo != "" {
		return s.renameRole(ctx, me, r, rs.RenameTo)
	}
	if !me.Superuser {
		for _, attr := range []string{"superuser", "replication", "bypassrls"} {
			_, changes := optionSet(rs.Options, attr)
			target := map[string]bool{"superuser": r.Superuser, "replication": r.Replication, "bypassrls": r.BypassRLS}[attr]
			if changes || target {
				noun := map[string]string{"superuser": "superuser", "replication": "replication", "bypassrls": "bypassrls"}[attr]
				return denied("must be superuser to alter %s roles or change %s attribute", noun, noun)
			}
		}
		if !me.CreateRole {
			// Anyone may change their own password, and nothing else.
			_, pw := optionSet(rs.Options, "password")
			if r.OID != me.OID || !pw || len(rs.Options) != 1 {
				return denied("permission denied")
			}
		}
	}
	if err := s.applyOptions(r, rs.Options); err != nil {
		return err
	}
	return roles.Put(ctx, s.txn, r)
}

func (s *Session) renameRole(ctx context.Context, me, r *roles.Role, newName string) error {
	if r.Name == s.user {
		return sqlerr.New(sqlerr.FeatureNotSupported, "session user cannot be renamed")
	}
	if r.Superuser && !me.Superuser {
		return denied("must be superuser to rename superusers")
	}
	if !me.Superuser && !me.CreateRole {
		return denied("permission denied to rename role")
	}
	if err := roles.CheckName(newName); err != nil {
		return err
	}
	if roles.IsMD5(r.Password) {
		// The md5 verifier salts with the name: it no longer matches.
		r.Password = ""
		s.roleNotice(sqlerr.SuccessfulCompletion, "MD5 password cleared because of role rename")
	}
	return roles.Rename(ctx, s.txn, r, newName)
}

func (s *Session) dropRoles(ctx context.Context, me *roles.Role, rs *pgdialect.RoleStmt) error {
	if !me.Superuser && !me.CreateRole {
		return denied("permission denied to drop role")
	}
	for _, spec := range rs.Roles {
		if spec.Public || spec.Current || spec.Name == "public" {
			return sqlerr.New(sqlerr.InvalidParameterValue, "cannot use special role specifier in DROP ROLE")
		}
		r, err := roles.Get(ctx, s.txn, spec.Name)
		if err != nil {
			return err
		}
		if r == nil {
			if rs.IfExists {
				s.roleNotice(sqlerr.SuccessfulCompletion, "role %q does not exist, skipping", spec.Name)
				continue
			}
			return undefinedRole(spec.Name)
		}
		if r.Name == s.user {
			return sqlerr.New(sqlerr.ObjectInUse, "current user cannot be dropped")
		}
		if r.Superuser && !me.Superuser {
			return denied("must be superuser to drop superusers")
		}
		deps, err := s.roleDependents(ctx, r.OID)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			return sqlerr.New(sqlerr.DependentObjectsStillExist, "role %q cannot be dropped because some objects depend on it", r.Name).
				WithDetail("%s", strings.Join(deps, "\n"))
		}
		if err := roles.Drop(ctx, s.txn, r.Name); err != nil {
			return err
		}
	}
	return nil
}

// roleDependents lists what depends on role oid, as PostgreSQL's DROP
// ROLE detail does: objects of the current database one by one, other
// databases' objects counted, databases themselves by name.
func (s *Session) roleDependents(ctx context.Context, oid uint32) ([]string, error) {
	dbs, err := catalog.List(ctx, s.txn, 0)
	if err != nil {
		return nil, err
	}
	var out, others []string
	for _, db := range dbs {
		if db.Kind != catalog.KindDatabase {
			continue
		}
		dd := db.Database
		if dd.OwnerOID() == oid {
			out = append(out, "owner of database "+dd.Name)
		}
		if dd.ACL != nil && dd.ACL.Mentions(oid) {
			out = append(out, "privileges for database "+dd.Name)
		}
		descs, err := catalog.List(ctx, s.txn, dd.ID)
		if err != nil {
			return nil, err
		}
		var here []string
		for _, d := range descs {
			switch d.Kind {
			case catalog.KindTable:
				if d.Table.OwnerOID() == oid {
					here = append(here, "owner of table "+d.Table.Name)
				}
				if d.Table.ACL.Mentions(oid) {
					here = append(here, "privileges for table "+d.Table.Name)
				}
			case catalog.KindSequence:
				if d.Sequence.OwnerOID() == oid {
					here = append(here, "owner of sequence "+d.Sequence.Name)
				}
				if d.Sequence.ACL.Mentions(oid) {
					here = append(here, "privileges for sequence "+d.Sequence.Name)
				}
			}
		}
		switch {
		case len(here) == 0:
		case dd.ID == s.dbID:
			out = append(out, here...)
		case len(here) == 1:
			others = append(others, "1 object in database "+dd.Name)
		default:
			others = append(others, fmt.Sprintf("%d objects in database %s", len(here), dd.Name))
		}
	}
	return append(out, others...), nil
}

// grant runs GRANT or REVOKE of object privileges.
func (s *Session) grant(ctx context.Context, me *roles.Role, g *pgdialect.GrantStmt, revoke bool) error {
	all, kind := catalog.TablePrivileges, "table"
	switch g.Object {
	case "DATABASE":
		all, kind = catalog.DatabasePrivileges, "database"
	case "SEQUENCE":
		all, kind = catalog.SequencePrivileges, "sequence"
	case "SCHEMA":
		all, kind = catalog.SchemaPrivileges, "schema"
	}
	privs := all
	if g.Privileges != nil {
		privs = 0
		for _, name := range g.Privileges {
			p, ok := catalog.ParsePrivilege(name)
			if !ok || p&all == 0 {
				noun := kind
				if kind == "table" && p&(catalog.TablePrivileges|catalog.PrivUsage) == 0 {
					noun = "relation" // not a privilege of any relation
				}
				return sqlerr.New(invalidGrantOperation, "invalid privilege type %s for %s", name, noun)
			}
			privs |= p
		}
	}
	grantees := make([]uint32, 0, len(g.Roles))
	for _, spec := range g.Roles {
		if spec.Public {
			grantees = append(grantees, catalog.PublicGrantee)
			continue
		}
		r, err := s.lookupRole(ctx, spec)
		if err != nil {
			return err
		}
		grantees = append(grantees, r.OID)
	}
	apply := func(acl catalog.ACL, privs catalog.Privilege) catalog.ACL {
		for _, oid := range grantees {
			if revoke {
				acl = acl.Revoke(oid, privs)
			} else {
				acl = acl.Grant(oid, me.OID, privs)
			}
		}
		return acl
	}
	switch g.Object {
	case "DATABASE":
		for _, target := range g.Targets {
			if err := s.grantDatabase(ctx, me, target.Name, func(a catalog.ACL) catalog.ACL { return apply(a, privs) }, revoke); err != nil {
				return err
			}
		}
		return nil
	case "SCHEMA":
		for _, target := range g.Targets {
			if err := checkSchema(target.Name); err != nil {
				return err
			}
		}
		// PUBLIC holds USAGE and CREATE on schema public (see
		// privileges.go), as in PostgreSQL 14: granting them to a role,
		// or revoking such a grant, changes nothing. Only taking them
		// from PUBLIC would, and that is not supported.
		for _, oid := range grantees {
			if revoke && oid == catalog.PublicGrantee {
				return sqlerr.New(sqlerr.FeatureNotSupported, "REVOKE ... ON SCHEMA FROM PUBLIC is not supported").
					WithDetail("Every role may use schema public and create objects in it, as in PostgreSQL 14.")
			}
		}
		return nil
	}
	// Tables and sequences, named or ALL ... IN SCHEMA.
	var descs []*catalog.Descriptor
	if g.InSchemas != nil {
		for _, schema := range g.InSchemas {
			if err := checkSchema(schema); err != nil {
				return err
			}
		}
		list, err := catalog.List(ctx, s.txn, s.dbID)
		if err != nil {
			return err
		}
		for _, d := range list {
			if (d.Kind == catalog.KindTable && g.Object == "TABLE") || (d.Kind == catalog.KindSequence && g.Object == "SEQUENCE") {
				descs = append(descs, d)
			}
		}
	}
	for _, target := range g.Targets {
		if target.Schema != "" && target.Schema != "public" {
			return sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", target.String())
		}
		want := catalog.KindTable
		if g.Object == "SEQUENCE" {
			want = catalog.KindSequence
		}
		d, err := s.catalogView(ctx).lookup(target.Name, want)
		if sqlerr.Code(err) == sqlerr.WrongObjectType && want == catalog.KindTable {
			// GRANT ... ON [TABLE] names sequences too (they are
			// relations in PostgreSQL).
			d, err = s.catalogView(ctx).lookup(target.Name, catalog.KindSequence)
		}
		if sqlerr.Code(err) == sqlerr.WrongObjectType && want == catalog.KindSequence {
			return sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", target.Name)
		}
		if err != nil {
			return err
		}
		descs = append(descs, d)
	}
	for _, d := range descs {
		var owner uint32
		var acl *catalog.ACL
		var name, noun string
		p := privs
		if d.Kind == catalog.KindSequence {
			owner, acl, name, noun = d.Sequence.OwnerOID(), &d.Sequence.ACL, d.Sequence.Name, "sequence"
			if g.Object == "TABLE" {
				// Table privileges on a sequence: PostgreSQL keeps the
				// ones sequences have and warns about the rest.
				if g.Privileges != nil && p&^catalog.SequencePrivileges != 0 {
					s.roleWarning(invalidGrantOperation, "sequence %q only supports USAGE, SELECT, and UPDATE privileges", name)
				}
				p &= catalog.SequencePrivileges
				if g.Privileges == nil {
					p = catalog.SequencePrivileges
				}
			}
		} else {
			if p&catalog.PrivUsage != 0 {
				return sqlerr.New(invalidGrantOperation, "invalid privilege type USAGE for table")
			}
			owner, acl, name, noun = d.Table.OwnerOID(), &d.Table.ACL, d.Table.Name, "table"
		}
		if ok, err := s.mayGrant(me, owner, *acl, name, noun, revoke); !ok || err != nil {
			return err
		}
		*acl = apply(*acl, p)
		if err := catalog.Put(ctx, s.txn, d); err != nil {
			return err
		}
	}
	return nil
}

// checkSchema accepts the one schema Outpost has (3F000 for others).
func checkSchema(name string) error {
	if name != "public" {
		return sqlerr.New("3F000", "schema %q does not exist", name)
	}
	return nil
}

// mayGrant applies PostgreSQL's rule without grant options: the owner (or
// a superuser) grants; a role holding some privilege on the object gets
// a warning and changes nothing; any other role is refused.
func (s *Session) mayGrant(me *roles.Role, owner uint32, acl catalog.ACL, name, kind string, revoke bool) (bool, error) {
	if me.Superuser || me.OID == owner {
		return true, nil
	}
	var any bool
	for _, it := range acl {
		if it.Grantee == me.OID || it.Grantee == catalog.PublicGrantee {
			any = any || it.Privs != 0
		}
	}
	if !any {
		return false, permissionDenied(kind, name)
	}
	if revoke {
		s.roleWarning(privilegeNotRevoked, "no privileges could be revoked for %q", name)
	} else {
		s.roleWarning(privilegeNotGranted, "no privileges were granted for %q", name)
	}
	return false, nil
}

func (s *Session) grantDatabase(ctx context.Context, me *roles.Role, name string, apply func(catalog.ACL) catalog.ACL, revoke bool) error {
	id, ok, err := catalog.LookupID(ctx, s.txn, 0, name)
	if err != nil {
		return err
	}
	if !ok {
		return sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", name)
	}
	d, err := catalog.Get(ctx, s.txn, id)
	if err != nil {
		return err
	}
	if d == nil || d.Database == nil {
		return sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", name)
	}
	db := d.Database
	acl := db.DatabaseACL()
	if ok, err := s.mayGrant(me, db.OwnerOID(), acl, name, "database", revoke); !ok || err != nil {
		return err
	}
	acl = apply(acl)
	db.ACL = &acl
	return catalog.Put(ctx, s.txn, d)
}

// checkSessionDDL checks DROP INDEX and TRUNCATE, which the pre-pass
// parses itself.
func (s *Session) checkSessionDDL(ctx context.Context, kind pgdialect.SessionKind, name string) error {
	if kind == pgdialect.DropIndex || kind == pgdialect.RenameIndex {
		return s.checkDropIndex(ctx, name)
	}
	return s.checkTruncate(ctx, nil, name)
}
