package sql

import (
	"context"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Privilege checks, as PostgreSQL makes them at executor start
// (ExecCheckRTPerms) and in DDL:
//
//   - a superuser and an object's owner have every privilege;
//   - every table a query reads needs SELECT; the target of INSERT,
//     UPDATE and DELETE needs that privilege, and SELECT as well when the
//     statement reads the target's rows (a WHERE clause, RETURNING, a SET
//     expression that reads a column, an ON CONFLICT target, a join);
//     ON CONFLICT DO UPDATE also needs UPDATE;
//   - DROP, ALTER, CREATE INDEX and RENAME need ownership ("must be owner
//     of table t"); TRUNCATE needs TRUNCATE; CREATE DATABASE needs
//     CREATEDB; DROP DATABASE ownership.
//
// Stricter than PostgreSQL: a subquery in an UPDATE's SET list counts as
// reading the target (PostgreSQL resolves its column references first).
//
// Sequences: nextval needs USAGE or UPDATE, currval SELECT or USAGE,
// setval UPDATE (so an INSERT that fills a SERIAL column needs USAGE on
// its sequence, as in PostgreSQL).
//
// Not checked (yet): SELECT from a sequence as a table, column privileges (refused by GRANT), schema privileges
// (Outpost has one schema; CREATE TABLE is open to every role, as in
// PostgreSQL 14 and earlier).

// allowed reports whether role r holds privileges p on an object owned by
// owner with access list acl.
func allowed(r *roles.Role, owner uint32, acl catalog.ACL, p catalog.Privilege) bool {
	return r.Superuser || r.OID == owner || acl.Has(r.OID, p)
}

func permissionDenied(kind, name string) error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", kind, name)
}

func mustBeOwner(kind, name string) error {
	return sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of %s %s", kind, name)
}

// tableRef is a table a statement names, with the privileges it needs.
type tableRef struct {
	name string
	need catalog.Privilege
}

// checkPrivileges checks that the session's role may run st (a statement
// the TiDB parser parsed; session statements check in their own code).
func (s *Session) checkPrivileges(cat *catalogView, st *parser.Statement) error {
	refs, ddl := statementTables(st)
	if len(refs) == 0 && ddl == nil {
		return nil
	}
	r, err := s.roleIn(cat)
	if err != nil {
		return err
	}
	if r.Superuser {
		return nil
	}
	if ddl != nil {
		return ddl(s, cat.ctx, r)
	}
	for _, ref := range refs {
		t, err := cat.Table(ref.name)
		if err != nil || t.Desc == nil || t.Desc.ID >= 1<<32 {
			// Not a stored table (a CTE, a virtual table, a sequence):
			// the planner has resolved it already.
			continue
		}
		if !allowed(r, t.Desc.OwnerOID(), t.Desc.ACL, ref.need) {
			return permissionDenied("table", t.Desc.Name)
		}
	}
	return nil
}

// statementTables returns the tables st reads or writes with the
// privileges each needs, or, for DDL, a check to run.
func statementTables(st *parser.Statement) ([]tableRef, func(*Session, context.Context, *roles.Role) error) {
	node := st.AST
	if e, ok := node.(*ast.ExplainStmt); ok {
		node = e.Stmt
	}
	var target *ast.TableName
	var targetNeed catalog.Privilege
	switch n := node.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	case *ast.InsertStmt:
		target = firstTable(n.Table)
		targetNeed = catalog.PrivInsert
		if st.Returning != nil {
			targetNeed |= catalog.PrivSelect
		}
		if oc := st.OnConflict; oc != nil {
			if oc.Columns != nil {
				targetNeed |= catalog.PrivSelect
			}
			if !oc.DoNothing {
				targetNeed |= catalog.PrivUpdate
				if oc.Where != nil || assignmentsRead(oc.Set) {
					targetNeed |= catalog.PrivSelect
				}
			}
		}
	case *ast.UpdateStmt:
		target = firstTable(n.TableRefs)
		targetNeed = catalog.PrivUpdate
		if n.Where != nil || st.Returning != nil || n.MultipleTable || assignmentsRead(n.List) {
			targetNeed |= catalog.PrivSelect
		}
	case *ast.DeleteStmt:
		if n.IsMultiTable && n.Tables != nil && len(n.Tables.Tables) > 0 {
			target = n.Tables.Tables[0]
		} else {
			target = firstTable(n.TableRefs)
		}
		targetNeed = catalog.PrivDelete
		if n.Where != nil || st.Returning != nil || n.IsMultiTable {
			targetNeed |= catalog.PrivSelect
		}
	default:
		return nil, ddlCheck(node)
	}
	c := &tableCollector{ctes: map[string]bool{}}
	node.Accept(c)
	var refs []tableRef
	for _, tn := range c.names {
		if tn.Schema.L == "pg_catalog" || tn.Schema.L == "information_schema" {
			continue
		}
		if tn.Schema.L == "" && c.ctes[tn.Name.L] {
			continue
		}
		need := catalog.PrivSelect
		if tn == target {
			need = targetNeed
		}
		refs = append(refs, tableRef{name: tn.Name.O, need: need})
	}
	if target != nil && len(refs) == 0 {
		refs = append(refs, tableRef{name: target.Name.O, need: targetNeed})
	}
	return refs, nil
}

// assignmentsRead reports whether a SET list reads a column.
func assignmentsRead(as []*ast.Assignment) bool {
	for _, a := range as {
		c := &columnFinder{}
		a.Expr.Accept(c)
		if c.found {
			return true
		}
	}
	return false
}

func firstTable(refs *ast.TableRefsClause) *ast.TableName {
	if refs == nil || refs.TableRefs == nil {
		return nil
	}
	var n ast.ResultSetNode = refs.TableRefs
	for {
		switch x := n.(type) {
		case *ast.Join:
			n = x.Left
		case *ast.TableSource:
			n = x.Source
		case *ast.TableName:
			return x
		default:
			return nil
		}
	}
}

// tableCollector gathers the table names of a statement and the names its
// WITH clauses define.
type tableCollector struct {
	names []*ast.TableName
	ctes  map[string]bool
}

func (c *tableCollector) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.TableName:
		c.names = append(c.names, x)
	case *ast.CommonTableExpression:
		c.ctes[x.Name.L] = true
	}
	return n, false
}

func (c *tableCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

type columnFinder struct{ found bool }

func (c *columnFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.ColumnNameExpr, *ast.SubqueryExpr:
		c.found = true
		return n, true
	}
	return n, false
}

func (c *columnFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// ddlCheck returns the privilege check of a DDL statement, nil if it
// needs none.
func ddlCheck(node ast.Node) func(*Session, context.Context, *roles.Role) error {
	switch n := node.(type) {
	case *ast.DropTableStmt:
		names := make([]string, len(n.Tables))
		for i, t := range n.Tables {
			names[i] = t.Name.O
		}
		return ownsTables(names...)
	case *ast.AlterTableStmt:
		return ownsTables(n.Table.Name.O)
	case *ast.CreateIndexStmt:
		return ownsTables(n.Table.Name.O)
	case *ast.RenameTableStmt:
		var names []string
		for _, t := range n.TableToTables {
			names = append(names, t.OldTable.Name.O)
		}
		return ownsTables(names...)
	case *ast.TruncateTableStmt:
		name := n.Table.Name.O
		return func(s *Session, ctx context.Context, r *roles.Role) error {
			return s.checkTruncate(ctx, r, name)
		}
	case *ast.DropSequenceStmt:
		names := make([]string, len(n.Sequences))
		for i, t := range n.Sequences {
			names[i] = t.Name.O
		}
		return func(s *Session, ctx context.Context, r *roles.Role) error {
			for _, name := range names {
				d, err := s.catalogView(ctx).lookup(name, catalog.KindSequence)
				if err != nil {
					continue // DROP reports it (or skips it with IF EXISTS)
				}
				if d.Sequence.OwnerOID() != r.OID {
					return mustBeOwner("sequence", name)
				}
			}
			return nil
		}
	case *ast.CreateDatabaseStmt:
		return func(_ *Session, _ context.Context, r *roles.Role) error {
			if !r.CreateDB {
				return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to create database")
			}
			return nil
		}
	case *ast.DropDatabaseStmt:
		name := n.Name.O
		return func(s *Session, ctx context.Context, r *roles.Role) error {
			id, ok, err := catalog.LookupID(ctx, s.txn, 0, name)
			if err != nil || !ok {
				return err
			}
			d, err := catalog.Get(ctx, s.txn, id)
			if err != nil || d == nil || d.Database == nil {
				return err
			}
			if d.Database.OwnerOID() != r.OID {
				return mustBeOwner("database", name)
			}
			return nil
		}
	}
	return nil
}

func ownsTables(names ...string) func(*Session, context.Context, *roles.Role) error {
	return func(s *Session, ctx context.Context, r *roles.Role) error {
		for _, name := range names {
			d, err := s.catalogView(ctx).lookup(name, catalog.KindTable)
			if err != nil {
				continue // the statement reports it (or skips it)
			}
			if d.Table.OwnerOID() != r.OID {
				return mustBeOwner("table", name)
			}
		}
		return nil
	}
}

// checkTruncate checks TRUNCATE on a table (the session statement and
// the TiDB form).
func (s *Session) checkTruncate(ctx context.Context, r *roles.Role, name string) error {
	if r == nil {
		var err error
		if r, err = s.currentRole(ctx); err != nil {
			return err
		}
	}
	if r.Superuser {
		return nil
	}
	d, err := s.catalogView(ctx).lookup(name, catalog.KindTable)
	if err != nil {
		return nil // TRUNCATE reports it
	}
	if !allowed(r, d.Table.OwnerOID(), d.Table.ACL, catalog.PrivTruncate) {
		return permissionDenied("table", name)
	}
	return nil
}

// checkDropIndex checks that the session's role owns the table of index
// name (PostgreSQL: "must be owner of index").
func (s *Session) checkDropIndex(ctx context.Context, name string) error {
	r, err := s.currentRole(ctx)
	if err != nil || r.Superuser {
		return err
	}
	descs, err := catalog.List(ctx, s.txn, s.dbID)
	if err != nil {
		return err
	}
	for _, d := range descs {
		if d.Kind != catalog.KindTable {
			continue
		}
		if _, ok := d.Table.Index(name); ok && d.Table.OwnerOID() != r.OID {
			return mustBeOwner("index", name)
		}
	}
	return nil
}

// checkTablePrivilege checks that the session's role holds p on table
// name (42501 otherwise). For statements that bypass the planner: COPY
// FROM needs catalog.PrivInsert, COPY TO catalog.PrivSelect. A table that
// does not exist passes: the caller reports it.
func (s *Session) checkTablePrivilege(ctx context.Context, name string, p catalog.Privilege) error {
	cat := s.catalogView(ctx)
	r, err := s.roleIn(cat)
	if err != nil || r.Superuser {
		return err
	}
	t, err := cat.Table(name)
	if err != nil || t.Desc == nil || t.Desc.ID >= 1<<32 {
		return nil
	}
	if !allowed(r, t.Desc.OwnerOID(), t.Desc.ACL, p) {
		return permissionDenied("table", t.Desc.Name)
	}
	return nil
}

// checkSequencePrivilege checks a sequence function call (nextval,
// currval, setval) against the sequence's owner and ACL.
func (s *Session) checkSequencePrivilege(ctx context.Context, d *catalog.SequenceDesc, fn string) error {
	var anyOf []catalog.Privilege
	switch fn {
	case "nextval":
		anyOf = []catalog.Privilege{catalog.PrivUsage, catalog.PrivUpdate}
	case "currval":
		anyOf = []catalog.Privilege{catalog.PrivSelect, catalog.PrivUsage}
	case "setval":
		anyOf = []catalog.Privilege{catalog.PrivUpdate}
	default:
		return nil
	}
	r, err := s.roleInTxn(ctx)
	if err != nil {
		return err
	}
	for _, p := range anyOf {
		if allowed(r, d.OwnerOID(), d.ACL, p) {
			return nil
		}
	}
	return permissionDenied("sequence", d.Name)
}
