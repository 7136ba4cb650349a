package sql

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// alterColumn runs ALTER TABLE ... ALTER COLUMN c TYPE t [USING c::t] and
// SET / DROP NOT NULL (the pre-pass hands them over as MODIFY COLUMN c
// with the meaning in Statement.AlterColumns).
//
// A type change converts every stored value (an assignment cast, or an
// explicit one with USING) and rewrites the table's rows and index
// entries, so an index or primary key on the column stays consistent.
// SET NOT NULL checks the existing rows first.
func (d *ddl) alterColumn(desc *catalog.Descriptor, def *ast.ColumnDef) error {
	td := desc.Table
	name := def.Name.Name.O
	ac := d.st.AlterColumns[name]
	if ac == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "this ALTER TABLE form is not supported yet")
	}
	col, pos, ok := columnIndex(td, name)
	if !ok || col.Hidden {
		return sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", name, td.Name)
	}
	if ac.DropNotNull {
		for _, id := range td.PrimaryIndex.ColumnIDs {
			if id == col.ID && !isRowID(td) {
				return sqlerr.New(sqlerr.InvalidTableDefinition, "column %q is in a primary key", name)
			}
		}
		col.Nullable = true
	}
	if ac.Type != "" {
		if err := d.changeColumnType(desc, pos, ac.Type, ac.Using); err != nil {
			return err
		}
		col = &td.Columns[pos]
	}
	if ac.SetNotNull && col.Nullable {
		if err := d.checkNoNulls(td, pos); err != nil {
			return err
		}
		col.Nullable = false
	}
	return catalog.Put(d.ctx, d.txn, desc)
}

func (d *ddl) changeColumnType(desc *catalog.Descriptor, pos int, typeText string, explicit bool) error {
	td := desc.Table
	col := &td.Columns[pos]
	if types.IsSerialTypeName(typeText) {
		return sqlerr.New(sqlerr.UndefinedObject, "type %q does not exist", typeText)
	}
	to, err := types.ParseTypeName(typeText)
	if err != nil {
		return err
	}
	from, err := types.ParseTypeName(col.Type)
	if err != nil {
		return err
	}
	c, ok := types.LookupCast(from, to)
	if !ok && explicit {
		return sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from.SQLString(), to.SQLString())
	}
	if !ok || c == types.CastExplicit && !explicit {
		return sqlerr.New(sqlerr.DatatypeMismatch, "column %q cannot be cast automatically to type %s", col.Name, to.SQLString()).
			WithHint("You might need to specify \"USING %s::%s\".", col.Name, to.SQLString())
	}
	old := *td
	old.Columns = append([]catalog.ColumnDesc(nil), td.Columns...)
	col.Type = typeText
	if err := d.foreignKeyTypesAfterAlter(td, col); err != nil {
		return err
	}
	ev := d.s.evalContext()
	return d.rewriteRows(desc, &old, func(_ *plan.ExecCtx, _ *plan.Table, row plan.Row, _ []plan.Expr) (plan.Row, error) {
		v, err := types.CastFrom(row[pos], from, to, explicit, ev)
		if err != nil {
			return nil, err
		}
		row[pos] = v
		return row, nil
	})
}

// checkNoNulls fails with PostgreSQL's 23502 if column pos of td holds a
// NULL in any row.
func (d *ddl) checkNoNulls(td *catalog.TableDesc, pos int) error {
	t, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	rows, err := plan.Collect(d.s.execCtx(d.ctx, nil), &plan.Scan{Table: t, Index: &t.Desc.PrimaryIndex})
	if err != nil {
		return err
	}
	for _, row := range rows {
		if pos < len(row) && row[pos] == types.Null {
			return sqlerr.New(sqlerr.NotNullViolation, "column %q of relation %q contains null values", td.Columns[pos].Name, td.Name)
		}
	}
	return nil
}
