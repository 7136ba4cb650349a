package sql

import (
	"context"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Ownership statements. Outpost has no role membership, so "must be
// member of role" (PostgreSQL 15's rule for giving an object away, or for
// acting on another role's objects) reduces to: a superuser, or the role
// itself.

func mustBeMember(name string) error {
	return denied("must be member of role %q", name)
}

// alterOwner runs ALTER TABLE|SEQUENCE|DATABASE name OWNER TO role.
func (s *Session) alterOwner(ctx context.Context, me *roles.Role, o *pgdialect.OwnerStmt) error {
	newOwner, err := s.lookupRole(ctx, o.To)
	if err != nil {
		return err
	}
	if o.Name.Schema != "" && o.Name.Schema != "public" && o.Object != "DATABASE" {
		return sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", o.Name.String())
	}
	check := func(owner uint32, kind, name string) error {
		if me.Superuser {
			return nil
		}
		if owner != me.OID {
			return mustBeOwner(kind, name)
		}
		if newOwner.OID != me.OID {
			return mustBeMember(newOwner.Name)
		}
		return nil
	}
	switch o.Object {
	case "DATABASE":
		id, ok, err := catalog.LookupID(ctx, s.txn, 0, o.Name.Name)
		if err != nil {
			return err
		}
		d, err := catalog.Get(ctx, s.txn, id)
		if err != nil {
			return err
		}
		if !ok || d == nil || d.Database == nil {
			return sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", o.Name.Name)
		}
		if err := check(d.Database.OwnerOID(), "database", o.Name.Name); err != nil {
			return err
		}
		if !me.Superuser && !me.CreateDB {
			return denied("permission denied to change owner of database")
		}
		d.Database.Owner = newOwner.OID
		return catalog.Put(ctx, s.txn, d)
	case "SEQUENCE":
		d, err := s.catalogView(ctx).lookup(o.Name.Name, catalog.KindSequence)
		if err != nil {
			if o.IfExists && sqlerr.Code(err) == sqlerr.UndefinedTable {
				s.roleNotice(sqlerr.SuccessfulCompletion, "relation %q does not exist, skipping", o.Name.Name)
				return nil
			}
			return err
		}
		if err := check(d.Sequence.OwnerOID(), "sequence", o.Name.Name); err != nil {
			return err
		}
		d.Sequence.Owner = newOwner.OID
		return catalog.Put(ctx, s.txn, d)
	}
	d, err := s.catalogView(ctx).lookup(o.Name.Name, catalog.KindTable)
	if err != nil {
		if o.IfExists && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.roleNotice(sqlerr.SuccessfulCompletion, "relation %q does not exist, skipping", o.Name.Name)
			return nil
		}
		return err
	}
	if err := check(d.Table.OwnerOID(), "table", o.Name.Name); err != nil {
		return err
	}
	d.Table.Owner = newOwner.OID
	if err := catalog.Put(ctx, s.txn, d); err != nil {
		return err
	}
	// A SERIAL column's sequence follows its table, as in PostgreSQL.
	for _, c := range d.Table.Columns {
		if c.OwnedSequence == 0 {
			continue
		}
		sd, err := catalog.Get(ctx, s.txn, c.OwnedSequence)
		if err != nil {
			return err
		}
		if sd != nil && sd.Sequence != nil {
			sd.Sequence.Owner = newOwner.OID
			if err := catalog.Put(ctx, s.txn, sd); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownedRoles resolves the roles of REASSIGN/DROP OWNED BY, which the
// session's role must be (or be a superuser).
func (s *Session) ownedRoles(ctx context.Context, me *roles.Role, specs []pgdialect.RoleSpec, deniedMsg string) ([]*roles.Role, error) {
	out := make([]*roles.Role, 0, len(specs))
	for _, spec := range specs {
		r, err := s.lookupRole(ctx, spec)
		if err != nil {
			return nil, err
		}
		if !me.Superuser && r.OID != me.OID {
			return nil, denied("%s", deniedMsg)
		}
		out = append(out, r)
	}
	return out, nil
}

// reassignOwned runs REASSIGN OWNED BY roles TO role: the current
// database's tables and sequences, and every database, owned by one of
// the roles pass to the new owner.
func (s *Session) reassignOwned(ctx context.Context, me *roles.Role, o *pgdialect.OwnerStmt) error {
	from, err := s.ownedRoles(ctx, me, o.From, "permission denied to reassign objects")
	if err != nil {
		return err
	}
	to, err := s.lookupRole(ctx, o.To)
	if err != nil {
		return err
	}
	if !me.Superuser && to.OID != me.OID {
		return denied("permission denied to reassign objects")
	}
	owned := map[uint32]bool{}
	for _, r := range from {
		owned[r.OID] = true
	}
	dbs, err := catalog.List(ctx, s.txn, 0)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if d.Kind == catalog.KindDatabase && owned[d.Database.OwnerOID()] {
			d.Database.Owner = to.OID
			if err := catalog.Put(ctx, s.txn, d); err != nil {
				return err
			}
		}
	}
	descs, err := catalog.List(ctx, s.txn, s.dbID)
	if err != nil {
		return err
	}
	for _, d := range descs {
		switch {
		case d.Kind == catalog.KindTable && owned[d.Table.OwnerOID()]:
			d.Table.Owner = to.OID
		case d.Kind == catalog.KindSequence && owned[d.Sequence.OwnerOID()]:
			d.Sequence.Owner = to.OID
		default:
			continue
		}
		if err := catalog.Put(ctx, s.txn, d); err != nil {
			return err
		}
	}
	return nil
}

// dropOwned runs DROP OWNED BY roles: the current database's tables and
// sequences owned by one of the roles are dropped, and their privileges
// on the current database's tables and on every database are revoked.
// Databases they own stay (as in PostgreSQL).
func (s *Session) dropOwned(ctx context.Context, st *parser.Statement, me *roles.Role, o *pgdialect.OwnerStmt) error {
	from, err := s.ownedRoles(ctx, me, o.From, "permission denied to drop objects")
	if err != nil {
		return err
	}
	owned := map[uint32]bool{}
	for _, r := range from {
		owned[r.OID] = true
	}
	revoke := func(acl catalog.ACL) (catalog.ACL, bool) {
		changed := false
		for _, r := range from {
			if acl.Mentions(r.OID) {
				acl, changed = acl.Revoke(r.OID, ^catalog.Privilege(0)), true
			}
		}
		return acl, changed
	}
	dbs, err := catalog.List(ctx, s.txn, 0)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if d.Kind != catalog.KindDatabase || d.Database.ACL == nil {
			continue
		}
		if acl, changed := revoke(*d.Database.ACL); changed {
			d.Database.ACL = &acl
			if err := catalog.Put(ctx, s.txn, d); err != nil {
				return err
			}
		}
	}
	dd := &ddl{s: s, ctx: ctx, txn: s.txn, st: st}
	descs, err := catalog.List(ctx, s.txn, s.dbID)
	if err != nil {
		return err
	}
	dropped := map[catalog.ID]bool{}
	for _, d := range descs {
		if d.Kind != catalog.KindTable {
			continue
		}
		if owned[d.Table.OwnerOID()] {
			for _, c := range d.Table.Columns {
				dropped[c.OwnedSequence] = true
			}
			if err := dd.dropTableDesc(d); err != nil {
				return err
			}
			continue
		}
		if acl, changed := revoke(d.Table.ACL); changed {
			d.Table.ACL = acl
			if err := catalog.Put(ctx, s.txn, d); err != nil {
				return err
			}
		}
	}
	for _, d := range descs {
		if d.Kind != catalog.KindSequence || dropped[d.Sequence.ID] {
			continue
		}
		if owned[d.Sequence.OwnerOID()] {
			if err := dd.dropSequenceDesc(d); err != nil {
				return err
			}
			continue
		}
		if acl, changed := revoke(d.Sequence.ACL); changed {
			d.Sequence.ACL = acl
			if err := catalog.Put(ctx, s.txn, d); err != nil {
				return err
			}
		}
	}
	return nil
}
