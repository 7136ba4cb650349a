package sql

import (
	"fmt"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// alterTable runs ALTER TABLE specs in order, in the session's transaction.
// Changes that alter the stored row format (new column with a default,
// dropped column, new primary key) rewrite the table's rows.
func (d *ddl) alterTable(n *ast.AlterTableStmt) error {
	desc, err := d.getTable(n.Table.Name.O)
	if err != nil {
		return err
	}
	for _, spec := range n.Specs {
		if err := d.alterSpec(desc, spec); err != nil {
			return err
		}
	}
	return nil
}

func (d *ddl) alterSpec(desc *catalog.Descriptor, spec *ast.AlterTableSpec) error {
	td := desc.Table
	switch spec.Tp {
	case ast.AlterTableAddColumns:
		for _, col := range spec.NewColumns {
			if err := d.addColumn(desc, col, spec.IfNotExists); err != nil {
				return err
			}
		}
		return nil
	case ast.AlterTableDropColumn:
		return d.dropColumn(desc, spec.OldColumnName.Name.O, spec.IfExists)
	case ast.AlterTableRenameColumn:
		col, ok := td.Column(spec.OldColumnName.Name.O)
		if !ok {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", spec.OldColumnName.Name.O)
		}
		if _, dup := td.Column(spec.NewColumnName.Name.O); dup {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", spec.NewColumnName.Name.O, td.Name)
		}
		col.Name = spec.NewColumnName.Name.O
		return catalog.Put(d.ctx, d.txn, desc)
	case ast.AlterTableRenameTable:
		return catalog.Rename(d.ctx, d.txn, desc, spec.NewTable.Name.O)
	case ast.AlterTableAddConstraint:
		return d.addConstraint(desc, spec.Constraint)
	case ast.AlterTableDropCheck, ast.AlterTableDropForeignKey:
		name := spec.Name
		if spec.Constraint != nil {
			name = spec.Constraint.Name
		}
		return d.dropConstraint(desc, name)
	case ast.AlterTableModifyColumn:
		if len(spec.NewColumns) == 1 {
			return d.alterColumn(desc, spec.NewColumns[0])
		}
	case ast.AlterTableAlterColumn:
		if len(spec.NewColumns) != 1 {
			break
		}
		col, ok := td.Column(spec.NewColumns[0].Name.Name.O)
		if !ok {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", spec.NewColumns[0].Name.Name.O, td.Name)
		}
		opts := spec.NewColumns[0].Options
		if len(opts) == 0 {
			col.Default = "" // DROP DEFAULT
		} else if opts[0].Expr != nil {
			text, err := parser.Restore(opts[0].Expr)
			if err != nil {
				return err
			}
			col.Default = text
		}
		return catalog.Put(d.ctx, d.txn, desc)
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "this ALTER TABLE form is not supported yet")
}

func (d *ddl) addColumn(desc *catalog.Descriptor, col *ast.ColumnDef, ifNotExists bool) error {
	td := desc.Table
	name := col.Name.Name.O
	if _, dup := td.Column(name); dup {
		if ifNotExists {
			return d.notice(sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists, skipping", name, td.Name))
		}
		return sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", name, td.Name)
	}
	typeText, _, serial, err := d.columnType(col)
	if err != nil {
		return err
	}
	cd := catalog.ColumnDesc{ID: td.NextColumnID, Name: name, Type: typeText, Nullable: true}
	unique := false
	var fks []fkSpec
	for _, opt := range col.Options {
		switch opt.Tp {
		case ast.ColumnOptionNotNull:
			cd.Nullable = false
		case ast.ColumnOptionNull:
		case ast.ColumnOptionDefaultValue:
			if cd.Default, err = parser.Restore(opt.Expr); err != nil {
				return err
			}
		case ast.ColumnOptionUniqKey:
			unique = true
		case ast.ColumnOptionCheck:
			text, err := parser.Restore(opt.Expr)
			if err != nil {
				return err
			}
			td.Checks = append(td.Checks, catalog.CheckDesc{Name: fmt.Sprintf("%s_%s_check", td.Name, name), Expr: text})
		case ast.ColumnOptionPrimaryKey:
			return sqlerr.New(sqlerr.FeatureNotSupported, "use ALTER TABLE ... ADD PRIMARY KEY")
		case ast.ColumnOptionReference:
			fks = append(fks, fkSpec{name: opt.ConstraintName, cols: []string{name}, ref: opt.Refer})
		default:
			return sqlerr.New(sqlerr.FeatureNotSupported, "column option %d is not supported in ADD COLUMN", opt.Tp)
		}
	}
	if serial {
		seqName := fmt.Sprintf("%s_%s_seq", td.Name, name)
		seqID, err := d.makeSequence(seqName, 1, 1, 1, 1<<63-1, td.ID)
		if err != nil {
			return err
		}
		cd.OwnedSequence, cd.Default, cd.Nullable = seqID, fmt.Sprintf("nextval('%s')", seqName), false
	}
	td.NextColumnID++
	td.Columns = append(td.Columns, cd)
	pos := len(td.Columns) - 1
	// Existing rows get the default (evaluated per row, as PostgreSQL
	// does for volatile defaults) and must satisfy NOT NULL.
	if err := d.rewriteRows(desc, nil, func(ec *plan.ExecCtx, t *plan.Table, row plan.Row, defaults []plan.Expr) (plan.Row, error) {
		if defaults[pos] != nil {
			v, err := defaults[pos].Eval(ec, row)
			if err != nil {
				return nil, err
			}
			row[pos] = v
		}
		if row[pos] == types.Null && !cd.Nullable {
			return nil, sqlerr.New(sqlerr.NotNullViolation, "column %q of relation %q contains null values", name, td.Name)
		}
		return row, nil
	}); err != nil {
		return err
	}
	if unique {
		idx, err := d.indexDesc(td, td.NextIndexID, fmt.Sprintf("%s_%s_key", td.Name, name), []string{name}, nil, true)
		if err != nil {
			return err
		}
		idx.Constraint = true
		if err := d.addIndex(desc, idx); err != nil {
			return err
		}
	} else if err := catalog.Put(d.ctx, d.txn, desc); err != nil {
		return err
	}
	// REFERENCES: the existing rows (their defaults) must satisfy it.
	for _, spec := range fks {
		if err := d.addForeignKeyConstraint(desc, &ast.Constraint{Name: spec.name, Refer: spec.ref}, spec.cols); err != nil {
			return err
		}
	}
	return nil
}

func (d *ddl) dropColumn(desc *catalog.Descriptor, name string, ifExists bool) error {
	td := desc.Table
	col, pos, ok := columnIndex(td, name)
	if !ok {
		if ifExists {
			return d.notice(sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist, skipping", name, td.Name))
		}
		return sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", name, td.Name)
	}
	for _, idx := range td.AllIndexes() {
		for _, id := range idx.ColumnIDs {
			if id == col.ID {
				if idx.ID == catalog.PrimaryIndexID {
					return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop column %s of table %s because the primary key depends on it", name, td.Name)
				}
				return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop column %s of table %s because index %s depends on it", name, td.Name, idx.Name).
					WithHint("drop the index first")
			}
		}
	}
	if err := d.dropColumnForeignKeys(desc, col.ID); err != nil {
		return err
	}
	old := *td
	old.Columns = append([]catalog.ColumnDesc(nil), td.Columns...)
	td.Columns = append(td.Columns[:pos:pos], td.Columns[pos+1:]...)
	return d.rewriteRows(desc, &old, func(_ *plan.ExecCtx, _ *plan.Table, row plan.Row, _ []plan.Expr) (plan.Row, error) {
		return append(row[:pos:pos], row[pos+1:]...), nil
	})
}

func columnIndex(td *catalog.TableDesc, name string) (*catalog.ColumnDesc, int, bool) {
	for i := range td.Columns {
		if td.Columns[i].Name == name {
			return &td.Columns[i], i, true
		}
	}
	return nil, -1, false
}

func (d *ddl) addConstraint(desc *catalog.Descriptor, c *ast.Constraint) error {
	td := desc.Table
	cols := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		if k.Column == nil {
			return sqlerr.New(sqlerr.FeatureNotSupported, "expression indexes are not supported")
		}
		cols[i] = k.Column.Name.O
	}
	switch c.Tp {
	case ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex:
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("%s_%s_key", td.Name, joinNames(cols))
		}
		idx, err := d.indexDesc(td, td.NextIndexID, name, cols, nil, true)
		if err != nil {
			return err
		}
		idx.Constraint = true
		return d.addIndex(desc, idx)
	case ast.ConstraintPrimaryKey:
		if len(td.PrimaryIndex.ColumnIDs) != 1 || !isRowID(td) {
			return sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", td.Name)
		}
		return d.replacePrimaryKey(desc, cols, c.Name)
	case ast.ConstraintCheck:
		text, err := parser.Restore(c.Expr)
		if err != nil {
			return err
		}
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("%s_check", td.Name)
		}
		td.Checks = append(td.Checks, catalog.CheckDesc{Name: name, Expr: text})
		// Existing rows must satisfy it.
		return d.rewriteRows(desc, nil, nil)
	case ast.ConstraintForeignKey:
		return d.addForeignKeyConstraint(desc, c, cols)
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "this constraint is not supported yet")
}

func isRowID(td *catalog.TableDesc) bool {
	c, _, ok := td.ColumnByID(td.PrimaryIndex.ColumnIDs[0])
	return ok && c.Hidden && c.Name == "rowid"
}

func joinNames(cols []string) string {
	out := ""
	for i, c := range cols {
		if i > 0 {
			out += "_"
		}
		out += c
	}
	return out
}

// replacePrimaryKey moves a table off its hidden rowid onto cols, checking
// uniqueness and NOT NULL, and rewrites every row and index entry.
func (d *ddl) replacePrimaryKey(desc *catalog.Descriptor, cols []string, name string) error {
	td := desc.Table
	old := *td
	old.Columns = append([]catalog.ColumnDesc(nil), td.Columns...)
	old.Indexes = append([]catalog.IndexDesc(nil), td.Indexes...)
	if name == "" {
		name = td.Name + "_pkey"
	}
	pk, err := d.indexDesc(td, catalog.PrimaryIndexID, name, cols, nil, true)
	if err != nil {
		return err
	}
	pk.Constraint = true
	for _, id := range pk.ColumnIDs {
		c, _, _ := td.ColumnByID(id)
		c.Nullable = false
	}
	td.PrimaryIndex = *pk
	return d.rewriteRows(desc, &old, nil)
}

// rewriteRows reads every row under the old descriptor (nil: desc as it
// was before this statement's in-memory edits is the same as desc), maps
// it with fn (nil: identity), deletes the table's data and writes every row
// and index entry again under desc, checking constraints. It stores desc.
func (d *ddl) rewriteRows(desc *catalog.Descriptor, old *catalog.TableDesc, fn func(*plan.ExecCtx, *plan.Table, plan.Row, []plan.Expr) (plan.Row, error)) error {
	td := desc.Table
	readDesc := old
	if readDesc == nil {
		// Same row layout: only columns may have been appended.
		cp := *td
		cp.Columns = td.Columns
		readDesc = &cp
	}
	oldT, err := tableFromDesc(readDesc)
	if err != nil {
		return err
	}
	newT, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	ec := d.s.execCtx(d.ctx, nil)
	b := &plan.Builder{Eval: d.s.evalContext()}
	defaults, err := b.DefaultExprs(newT, d.s.parser.ParseExpr)
	if err != nil {
		return err
	}
	scan := &plan.Scan{Table: oldT, Index: &oldT.Desc.PrimaryIndex}
	rows, err := plan.Collect(ec, scan)
	if err != nil {
		return err
	}
	sp := oldT.Codec.TableSpan()
	if _, err := d.txn.DeleteRange(d.ctx, sp.Key, sp.EndKey); err != nil {
		return err
	}
	ins, err := plan.NewRowWriter(ec, newT, b, d.s.parser.ParseExpr)
	if err != nil {
		return err
	}
	for i, row := range rows {
		for len(row) < len(td.Columns) {
			row = append(row, types.Null)
		}
		if fn != nil {
			if row, err = fn(ec, newT, row, defaults); err != nil {
				return err
			}
		}
		rows[i] = row
	}
	// Written in kv batches (bulk: one round trip per batch).
	for len(rows) > 0 {
		k := min(len(rows), 128)
		if _, err := ins.InsertBatch(rows[:k]); err != nil {
			return err
		}
		rows = rows[k:]
	}
	return catalog.Put(d.ctx, d.txn, desc)
}
