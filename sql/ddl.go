package sql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// runDDL executes a schema change inside the session's transaction and
// returns its command tag.
func (s *Session) runDDL(ctx context.Context, st *parser.Statement) (string, error) {
	d := &ddl{s: s, ctx: ctx, txn: s.txn, st: st}
	switch n := st.AST.(type) {
	case *ast.CreateTableStmt:
		return "CREATE TABLE", d.createTable(n)
	case *ast.DropTableStmt:
		return "DROP TABLE", d.dropTables(n)
	case *ast.CreateIndexStmt:
		return "CREATE INDEX", d.createIndex(n)
	case *ast.AlterTableStmt:
		return "ALTER TABLE", d.alterTable(n)
	case *ast.TruncateTableStmt:
		return "TRUNCATE TABLE", d.truncate(n.Table.Name.O)
	case *ast.CreateDatabaseStmt:
		return "CREATE DATABASE", d.createDatabase(n)
	case *ast.DropDatabaseStmt:
		return "DROP DATABASE", d.dropDatabase(n)
	case *ast.CreateSequenceStmt:
		return "CREATE SEQUENCE", d.createSequence(n)
	case *ast.DropSequenceStmt:
		return "DROP SEQUENCE", d.dropSequences(n)
	case *ast.RenameTableStmt:
		return "ALTER TABLE", d.renameTables(n)
	}
	return "", sqlerr.New(sqlerr.FeatureNotSupported, "statement %s is not supported", strings.TrimPrefix(fmt.Sprintf("%T", st.AST), "*ast."))
}

type ddl struct {
	s   *Session
	ctx context.Context
	txn *kv.Txn
	st  *parser.Statement
	// dropping: the tables one DROP TABLE drops; dropAll: DROP DATABASE
	// (foreign keys among them do not block the drop; see fk.go).
	dropping map[catalog.ID]bool
	dropAll  bool
}

func (d *ddl) getTable(name string) (*catalog.Descriptor, error) {
	return d.s.catalogView(d.ctx).lookup(name, catalog.KindTable)
}

func (d *ddl) exists(name string) (bool, error) {
	_, ok, err := catalog.LookupID(d.ctx, d.txn, d.s.dbID, name)
	return ok, err
}

// columnType returns the PostgreSQL type text of a column definition and
// whether it is serial.
func (d *ddl) columnType(col *ast.ColumnDef) (typeText string, t *types.T, serial bool, err error) {
	typeText = d.st.ColumnTypes[col.Name.Name.O]
	if typeText == "" {
		return "", nil, false, sqlerr.New(sqlerr.SyntaxError, "column %q has no type", col.Name.Name.O)
	}
	serial = types.IsSerialTypeName(typeText)
	t, err = types.ParseTypeName(typeText)
	if err != nil {
		return "", nil, false, err
	}
	if serial {
		typeText = t.SQLString()
	}
	return typeText, t, serial, nil
}

func (d *ddl) createTable(n *ast.CreateTableStmt) error {
	name := n.Table.Name.O
	if n.Select != nil || n.ReferTable != nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE AS / LIKE is not supported yet")
	}
	if ok, err := d.exists(name); err != nil {
		return err
	} else if ok {
		if n.IfNotExists {
			return d.notice(sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists, skipping", name))
		}
		return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", name)
	}
	id, err := catalog.AllocateID(d.ctx, d.txn)
	if err != nil {
		return err
	}
	td := &catalog.TableDesc{ID: id, ParentID: d.s.dbID, Name: name, NextColumnID: 1, NextIndexID: 2, Owner: d.s.roleOID}
	var pkCols []string
	var uniques [][]string
	var uniqueNames []string
	var serialCols []int
	var fks []fkSpec
	for _, col := range n.Cols {
		cname := col.Name.Name.O
		if _, dup := td.Column(cname); dup {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", cname)
		}
		typeText, _, serial, err := d.columnType(col)
		if err != nil {
			return err
		}
		cd := catalog.ColumnDesc{ID: td.NextColumnID, Name: cname, Type: typeText, Nullable: true}
		td.NextColumnID++
		for _, opt := range col.Options {
			switch opt.Tp {
			case ast.ColumnOptionNotNull:
				cd.Nullable = false
			case ast.ColumnOptionNull:
				cd.Nullable = true
			case ast.ColumnOptionPrimaryKey:
				if len(pkCols) > 0 {
					return sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", name)
				}
				pkCols = []string{cname}
			case ast.ColumnOptionUniqKey:
				uniques = append(uniques, []string{cname})
				uniqueNames = append(uniqueNames, opt.ConstraintName)
			case ast.ColumnOptionDefaultValue:
				text, err := parser.Restore(opt.Expr)
				if err != nil {
					return err
				}
				cd.Default = text
			case ast.ColumnOptionCheck:
				text, err := parser.Restore(opt.Expr)
				if err != nil {
					return err
				}
				cname := opt.ConstraintName
				if cname == "" {
					cname = fmt.Sprintf("%s_%s_check", name, cd.Name)
				}
				td.Checks = append(td.Checks, catalog.CheckDesc{Name: cname, Expr: text})
			case ast.ColumnOptionReference:
				fks = append(fks, fkSpec{name: opt.ConstraintName, cols: []string{cname}, ref: opt.Refer})
			case ast.ColumnOptionComment, ast.ColumnOptionCollate:
			default:
				return sqlerr.New(sqlerr.FeatureNotSupported, "column option %d is not supported", opt.Tp)
			}
		}
		if serial {
			serialCols = append(serialCols, len(td.Columns))
			cd.Nullable = false
		}
		td.Columns = append(td.Columns, cd)
	}
	for _, c := range n.Constraints {
		cols := make([]string, len(c.Keys))
		for i, k := range c.Keys {
			if k.Column == nil {
				return sqlerr.New(sqlerr.FeatureNotSupported, "expression indexes are not supported")
			}
			cols[i] = k.Column.Name.O
		}
		switch c.Tp {
		case ast.ConstraintPrimaryKey:
			if len(pkCols) > 0 {
				return sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", name)
			}
			pkCols = cols
		case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
			uniques = append(uniques, cols)
			uniqueNames = append(uniqueNames, c.Name)
		case ast.ConstraintCheck:
			text, err := parser.Restore(c.Expr)
			if err != nil {
				return err
			}
			cname := c.Name
			if cname == "" {
				cname = fmt.Sprintf("%s_check", name)
				if len(td.Checks) > 0 {
					cname = fmt.Sprintf("%s_check%d", name, len(td.Checks))
				}
			}
			td.Checks = append(td.Checks, catalog.CheckDesc{Name: cname, Expr: text})
		case ast.ConstraintForeignKey:
			fks = append(fks, fkSpec{name: c.Name, cols: cols, ref: c.Refer})
		case ast.ConstraintIndex, ast.ConstraintKey:
			return sqlerr.New(sqlerr.SyntaxError, "syntax error: use CREATE INDEX")
		}
	}
	// Primary key: declared, else a hidden row ID.
	if len(pkCols) == 0 {
		td.Columns = append(td.Columns, catalog.ColumnDesc{ID: td.NextColumnID, Name: "rowid", Type: "bigint", Default: "unique_rowid()", Hidden: true})
		td.NextColumnID++
		pkCols = []string{"rowid"}
	}
	pk, err := d.indexDesc(td, catalog.PrimaryIndexID, name+"_pkey", pkCols, nil, true)
	if err != nil {
		return err
	}
	pk.Constraint = true
	td.PrimaryIndex = *pk
	for _, id := range pk.ColumnIDs {
		c, _, _ := td.ColumnByID(id)
		c.Nullable = false
	}
	for i, cols := range uniques {
		iname := uniqueNames[i]
		if iname == "" {
			iname = fmt.Sprintf("%s_%s_key", name, strings.Join(cols, "_"))
		}
		idx, err := d.indexDesc(td, td.NextIndexID, iname, cols, nil, true)
		if err != nil {
			return err
		}
		idx.Constraint = true
		td.NextIndexID++
		td.Indexes = append(td.Indexes, *idx)
	}
	// Serial columns own a sequence named <table>_<col>_seq.
	for _, i := range serialCols {
		col := &td.Columns[i]
		seqName := fmt.Sprintf("%s_%s_seq", name, col.Name)
		seqID, err := d.makeSequence(seqName, 1, 1, 1, math.MaxInt64, id)
		if err != nil {
			return err
		}
		col.OwnedSequence = seqID
		col.Default = fmt.Sprintf("nextval('%s')", seqName)
	}
	for _, spec := range fks {
		if _, err := d.addForeignKey(td, spec); err != nil {
			return err
		}
	}
	if err := d.validateExprs(td); err != nil {
		return err
	}
	return catalog.Create(d.ctx, d.txn, &catalog.Descriptor{Kind: catalog.KindTable, Table: td})
}

// validateExprs compiles defaults and checks once so that a bad expression
// fails CREATE/ALTER rather than every later INSERT.
func (d *ddl) validateExprs(td *catalog.TableDesc) error {
	t, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	b := &plan.Builder{Eval: d.s.evalContext()}
	_, err = b.DefaultExprs(t, d.s.parser.ParseExpr)
	return err
}

func (d *ddl) indexDesc(td *catalog.TableDesc, id uint32, name string, cols []string, desc []bool, unique bool) (*catalog.IndexDesc, error) {
	idx := &catalog.IndexDesc{ID: id, Name: name, Unique: unique}
	seen := map[string]bool{}
	for i, c := range cols {
		col, ok := td.Column(c)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q named in key does not exist", c)
		}
		if seen[c] {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q appears twice in index", c)
		}
		seen[c] = true
		idx.ColumnIDs = append(idx.ColumnIDs, col.ID)
		idx.Descending = append(idx.Descending, i < len(desc) && desc[i])
	}
	return idx, nil
}

func (d *ddl) notice(n *sqlerr.Error) error {
	n.Severity = "NOTICE"
	d.s.pendingNotices = append(d.s.pendingNotices, n)
	return nil
}

func (d *ddl) makeSequence(name string, start, inc, min, max int64, owner catalog.ID) (catalog.ID, error) {
	if ok, err := d.exists(name); err != nil {
		return 0, err
	} else if ok {
		return 0, sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", name)
	}
	id, err := catalog.AllocateID(d.ctx, d.txn)
	if err != nil {
		return 0, err
	}
	sd := &catalog.SequenceDesc{ID: id, ParentID: d.s.dbID, Name: name, Start: start, Increment: inc, Min: min, Max: max, OwnedBy: owner, Owner: d.s.roleOID}
	return id, catalog.Create(d.ctx, d.txn, &catalog.Descriptor{Kind: catalog.KindSequence, Sequence: sd})
}

func (d *ddl) dropTables(n *ast.DropTableStmt) error {
	names := make([]string, len(n.Tables))
	d.dropping = map[catalog.ID]bool{}
	for i, tn := range n.Tables {
		names[i] = tn.Name.O
		if id, ok, err := catalog.LookupID(d.ctx, d.txn, d.s.dbID, names[i]); err != nil {
			return err
		} else if ok {
			d.dropping[id] = true
		}
	}
	return d.dropObjects(names, catalog.KindTable, "table", n.IfExists, d.dropTableDesc)
}

// dropObjects drops named objects of one kind; with IF EXISTS a missing
// one is a notice ("... does not exist, skipping"), as in PostgreSQL.
func (d *ddl) dropObjects(names []string, kind catalog.Kind, noun string, ifExists bool, drop func(*catalog.Descriptor) error) error {
	for _, name := range names {
		desc, err := d.s.catalogView(d.ctx).lookup(name, kind)
		if err != nil {
			if ifExists && sqlerr.Code(err) == sqlerr.UndefinedTable {
				_ = d.notice(sqlerr.New(sqlerr.UndefinedTable, "%s %q does not exist, skipping", noun, name))
				continue
			}
			return err
		}
		if err := drop(desc); err != nil {
			return err
		}
	}
	return nil
}

func (d *ddl) dropTableDesc(desc *catalog.Descriptor) error {
	td := desc.Table
	if err := d.dropTableForeignKeys(desc); err != nil {
		return err
	}
	if err := d.clearTable(td); err != nil {
		return err
	}
	for _, c := range td.Columns {
		if c.OwnedSequence != 0 {
			sd, err := catalog.Get(d.ctx, d.txn, c.OwnedSequence)
			if err != nil {
				return err
			}
			if sd != nil {
				if err := d.dropSequenceDesc(sd); err != nil {
					return err
				}
			}
		}
	}
	return catalog.Drop(d.ctx, d.txn, desc)
}

func (d *ddl) clearTable(td *catalog.TableDesc) error {
	t, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	sp := t.Codec.TableSpan()
	_, err = d.txn.DeleteRange(d.ctx, sp.Key, sp.EndKey)
	return err
}

func (d *ddl) truncate(name string) error {
	desc, err := d.getTable(name)
	if err != nil {
		return err
	}
	if err := d.truncateAllowed(desc.Table); err != nil {
		return err
	}
	return d.clearTable(desc.Table)
}

func (d *ddl) createIndex(n *ast.CreateIndexStmt) error {
	desc, err := d.getTable(n.Table.Name.O)
	if err != nil {
		return err
	}
	td := desc.Table
	if _, dup := td.Index(n.IndexName); dup {
		if n.IfNotExists {
			return d.notice(sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists, skipping", n.IndexName))
		}
		return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", n.IndexName)
	}
	var cols []string
	var desc2 []bool
	for _, p := range n.IndexPartSpecifications {
		if p.Column == nil {
			return sqlerr.New(sqlerr.FeatureNotSupported, "expression indexes are not supported")
		}
		cols = append(cols, p.Column.Name.O)
		desc2 = append(desc2, p.Desc)
	}
	unique := n.KeyType == ast.IndexKeyTypeUnique
	idx, err := d.indexDesc(td, td.NextIndexID, n.IndexName, cols, desc2, unique)
	if err != nil {
		return err
	}
	return d.addIndex(desc, idx)
}

// addIndex adds an index and backfills it from the table's rows, in the
// same transaction: the index is usable the moment the DDL commits.
func (d *ddl) addIndex(desc *catalog.Descriptor, idx *catalog.IndexDesc) error {
	td := desc.Table
	td.NextIndexID++
	td.Indexes = append(td.Indexes, *idx)
	t, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	ec := d.s.execCtx(d.ctx, nil)
	scan := &plan.Scan{Table: t, Index: &t.Desc.PrimaryIndex}
	it, err := scan.Open(ec)
	if err != nil {
		return err
	}
	defer it.Close()
	added := &td.Indexes[len(td.Indexes)-1]
	for {
		row, err := it.Next()
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		k, v, err := t.Codec.IndexEntry(added, row)
		if err != nil {
			return err
		}
		if added.Unique {
			if err := d.txn.ConditionalPut(d.ctx, k, v, nil); err != nil {
				if isCondFailed(err) {
					return sqlerr.New(sqlerr.UniqueViolation, "could not create unique index %q", added.Name).
						WithDetail("Key is duplicated.")
				}
				return err
			}
			continue
		}
		if err := d.txn.Put(d.ctx, k, v); err != nil {
			return err
		}
	}
	return catalog.Put(d.ctx, d.txn, desc)
}

func (d *ddl) dropIndex(name string, ifExists bool) error {
	// Index names are unique per database in PostgreSQL; find the table.
	descs, err := catalog.List(d.ctx, d.txn, d.s.dbID)
	if err != nil {
		return err
	}
	for _, desc := range descs {
		if desc.Kind != catalog.KindTable {
			continue
		}
		td := desc.Table
		for i, idx := range td.Indexes {
			if idx.Name != name {
				continue
			}
			if idx.Constraint {
				return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop index %s because constraint %s on table %s requires it", idx.Name, idx.Name, td.Name)
			}
			if err := d.indexUsedByForeignKey(td, &td.Indexes[i]); err != nil {
				return err
			}
			t, err := tableFromDesc(td)
			if err != nil {
				return err
			}
			sp := t.Codec.IndexSpan(&td.Indexes[i])
			if _, err := d.txn.DeleteRange(d.ctx, sp.Key, sp.EndKey); err != nil {
				return err
			}
			td.Indexes = append(td.Indexes[:i], td.Indexes[i+1:]...)
			return catalog.Put(d.ctx, d.txn, desc)
		}
		if td.PrimaryIndex.Name == name {
			return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop index %s because constraint %s on table %s requires it", name, name, td.Name)
		}
	}
	if ifExists {
		return d.notice(sqlerr.New(sqlerr.UndefinedObject, "index %q does not exist, skipping", name))
	}
	return sqlerr.New(sqlerr.UndefinedObject, "index %q does not exist", name)
}

func (d *ddl) createDatabase(n *ast.CreateDatabaseStmt) error {
	if _, ok, err := catalog.LookupID(d.ctx, d.txn, 0, n.Name.O); err != nil {
		return err
	} else if ok {
		if n.IfNotExists {
			return d.notice(sqlerr.New(sqlerr.DuplicateDatabase, "database %q already exists, skipping", n.Name.O))
		}
		return sqlerr.New(sqlerr.DuplicateDatabase, "database %q already exists", n.Name.O)
	}
	id, err := catalog.AllocateID(d.ctx, d.txn)
	if err != nil {
		return err
	}
	return catalog.Create(d.ctx, d.txn, &catalog.Descriptor{Kind: catalog.KindDatabase, Database: &catalog.DatabaseDesc{ID: id, Name: n.Name.O, Owner: d.s.roleOID}})
}

func (d *ddl) dropDatabase(n *ast.DropDatabaseStmt) error {
	id, ok, err := catalog.LookupID(d.ctx, d.txn, 0, n.Name.O)
	if err != nil {
		return err
	}
	if !ok {
		if n.IfExists {
			return d.notice(sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist, skipping", n.Name.O))
		}
		return sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", n.Name.O)
	}
	if id == d.s.dbID {
		return sqlerr.New(sqlerr.ObjectInUse, "cannot drop the currently open database")
	}
	descs, err := catalog.List(d.ctx, d.txn, id)
	if err != nil {
		return err
	}
	d.dropAll = true
	for _, desc := range descs {
		switch desc.Kind {
		case catalog.KindTable:
			if err := d.dropTableDesc(desc); err != nil {
				return err
			}
		case catalog.KindSequence:
			if err := d.dropSequenceDesc(desc); err != nil {
				return err
			}
		}
	}
	db, err := catalog.Get(d.ctx, d.txn, id)
	if err != nil {
		return err
	}
	return catalog.Drop(d.ctx, d.txn, db)
}

func (d *ddl) createSequence(n *ast.CreateSequenceStmt) error {
	name := n.Name.Name.O
	start, inc, min, max := int64(1), int64(1), int64(1), int64(math.MaxInt64)
	startSet, minSet := false, false
	for _, o := range n.SeqOptions {
		switch o.Tp {
		case ast.SequenceOptionIncrementBy:
			inc = o.IntValue
		case ast.SequenceStartWith:
			start, startSet = o.IntValue, true
		case ast.SequenceMinValue:
			min, minSet = o.IntValue, true
		case ast.SequenceMaxValue:
			max = o.IntValue
		case ast.SequenceNoMinValue, ast.SequenceNoMaxValue, ast.SequenceCache, ast.SequenceNoCache, ast.SequenceCycle, ast.SequenceNoCycle:
		}
	}
	if inc == 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "INCREMENT must not be zero")
	}
	if inc < 0 && !minSet {
		min = math.MinInt64
		if !startSet {
			max = -1
		}
	}
	if !startSet {
		if inc > 0 {
			start = min
		} else {
			start = max
		}
	}
	if ok, err := d.exists(name); err != nil {
		return err
	} else if ok && n.IfNotExists {
		return d.notice(sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists, skipping", name))
	}
	_, err := d.makeSequence(name, start, inc, min, max, 0)
	return err
}

func (d *ddl) dropSequences(n *ast.DropSequenceStmt) error {
	names := make([]string, len(n.Sequences))
	for i, tn := range n.Sequences {
		names[i] = tn.Name.O
	}
	return d.dropObjects(names, catalog.KindSequence, "sequence", n.IfExists, d.dropSequenceDesc)
}

func (d *ddl) dropSequenceDesc(desc *catalog.Descriptor) error {
	if _, err := d.txn.Delete(d.ctx, catalog.SequenceValueKey(desc.Sequence.ID)); err != nil {
		return err
	}
	return catalog.Drop(d.ctx, d.txn, desc)
}

func (d *ddl) renameTables(n *ast.RenameTableStmt) error {
	for _, t2t := range n.TableToTables {
		desc, err := d.getTable(t2t.OldTable.Name.O)
		if err != nil {
			return err
		}
		if err := catalog.Rename(d.ctx, d.txn, desc, t2t.NewTable.Name.O); err != nil {
			return err
		}
	}
	return nil
}

func isCondFailed(err error) bool {
	var cf *kvpb.ConditionFailedError
	return errors.As(err, &cf)
}
