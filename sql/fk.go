package sql

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// FOREIGN KEY DDL. The constraint lives on the referencing table
// (TableDesc.ForeignKeys); the referenced table keeps a back reference
// (TableDesc.InboundFKs) written in the same transaction, so both sides
// always agree. Enforcement is in sql/plan/fk.go.

// fkSpec is a FOREIGN KEY clause not yet resolved.
type fkSpec struct {
	name string
	cols []string
	ref  *ast.ReferenceDef
}

// referActions maps the parsed ON DELETE/ON UPDATE to pg_constraint codes.
func referAction(o ast.ReferOptionType) (string, error) {
	switch o {
	case ast.ReferOptionNoOption, ast.ReferOptionNoAction:
		return "a", nil
	case ast.ReferOptionRestrict:
		return "r", nil
	case ast.ReferOptionCascade:
		return "c", nil
	case ast.ReferOptionSetNull:
		return "n", nil
	}
	return "", sqlerr.New(sqlerr.FeatureNotSupported, "foreign key action %s is not supported", o)
}

// constraintNameTaken reports whether td has a constraint called name.
func constraintNameTaken(td *catalog.TableDesc, name string) bool {
	if _, ok := td.ForeignKey(name); ok {
		return true
	}
	for _, c := range td.Checks {
		if c.Name == name {
			return true
		}
	}
	for _, idx := range td.AllIndexes() {
		if idx.Constraint && idx.Name == name {
			return true
		}
	}
	return false
}

// addForeignKey resolves spec against td (the referencing table, which may
// not be stored yet) and records the constraint on both tables. The
// referenced descriptor is written here unless it is td itself.
func (d *ddl) addForeignKey(td *catalog.TableDesc, spec fkSpec) (*catalog.ForeignKeyDesc, error) {
	if spec.ref.Match == ast.MatchFull || spec.ref.Match == ast.MatchPartial {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "MATCH FULL foreign keys are not supported")
	}
	name := spec.name
	if name == "" {
		name = fmt.Sprintf("%s_%s_fkey", td.Name, strings.Join(spec.cols, "_"))
	}
	if constraintNameTaken(td, name) {
		return nil, sqlerr.New(sqlerr.DuplicateObject, "constraint %q for relation %q already exists", name, td.Name)
	}
	fk := catalog.ForeignKeyDesc{Name: name}
	var err error
	if fk.OnDelete, err = referAction(spec.ref.OnDelete.ReferOpt); err != nil {
		return nil, err
	}
	if fk.OnUpdate, err = referAction(spec.ref.OnUpdate.ReferOpt); err != nil {
		return nil, err
	}
	// The referenced table: td itself for a self reference.
	refName := spec.ref.Table.Name.O
	parent := td
	var parentDesc *catalog.Descriptor
	if refName != td.Name {
		if parentDesc, err = d.getTable(refName); err != nil {
			return nil, err
		}
		parent = parentDesc.Table
	}
	fk.RefTable = parent.ID
	for _, c := range spec.cols {
		col, ok := td.Column(c)
		if !ok || col.Hidden {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", c)
		}
		fk.ColumnIDs = append(fk.ColumnIDs, col.ID)
	}
	if len(spec.ref.IndexPartSpecifications) == 0 {
		if isRowID(parent) {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "there is no primary key for referenced table %q", parent.Name)
		}
		fk.RefColumnIDs = append([]uint32(nil), parent.PrimaryIndex.ColumnIDs...)
	} else {
		for _, p := range spec.ref.IndexPartSpecifications {
			if p.Column == nil {
				return nil, sqlerr.New(sqlerr.SyntaxError, "foreign key must reference columns")
			}
			col, ok := parent.Column(p.Column.Name.O)
			if !ok || col.Hidden {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", p.Column.Name.O)
			}
			fk.RefColumnIDs = append(fk.RefColumnIDs, col.ID)
		}
	}
	if len(fk.RefColumnIDs) != len(fk.ColumnIDs) {
		return nil, sqlerr.New(sqlerr.InvalidForeignKey, "number of referencing and referenced columns for foreign key disagree")
	}
	if idx, _ := plan.IndexOnColumns(parent, fk.RefColumnIDs, true); idx == nil {
		return nil, sqlerr.New(sqlerr.InvalidForeignKey, "there is no unique constraint matching given keys for referenced table %q", parent.Name)
	}
	for i := range fk.ColumnIDs {
		cc, _, _ := td.ColumnByID(fk.ColumnIDs[i])
		pc, _, _ := parent.ColumnByID(fk.RefColumnIDs[i])
		ct, err1 := types.ParseTypeName(cc.Type)
		pt, err2 := types.ParseTypeName(pc.Type)
		if err1 != nil || err2 != nil || !fkComparable(ct, pt) {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "foreign key constraint %q cannot be implemented", name).
				WithDetail("Key columns %q and %q are of incompatible types: %s and %s.", cc.Name, pc.Name, cc.Type, pc.Type)
		}
	}
	td.ForeignKeys = append(td.ForeignKeys, fk)
	parent.InboundFKs = append(parent.InboundFKs, catalog.InboundFK{Table: td.ID, Name: name})
	if parentDesc != nil {
		if err := catalog.Put(d.ctx, d.txn, parentDesc); err != nil {
			return nil, err
		}
	}
	return &td.ForeignKeys[len(td.ForeignKeys)-1], nil
}

// fkComparable: key values convert between the types without loss of
// equality (same type family; numbers of different widths compare).
func fkComparable(a, b *types.T) bool {
	if a.Family == b.Family {
		return true
	}
	_, ok1 := types.LookupCast(a, b)
	_, ok2 := types.LookupCast(b, a)
	return isNumeric(a) && isNumeric(b) && ok1 && ok2
}

func isNumeric(t *types.T) bool {
	switch t.Family {
	case types.IntFamily, types.FloatFamily, types.DecimalFamily:
		return true
	}
	return false
}

// addForeignKeyConstraint is ALTER TABLE ... ADD [CONSTRAINT c] FOREIGN
// KEY: the existing rows must satisfy it (23503).
func (d *ddl) addForeignKeyConstraint(desc *catalog.Descriptor, c *ast.Constraint, cols []string) error {
	td := desc.Table
	fk, err := d.addForeignKey(td, fkSpec{name: c.Name, cols: cols, ref: c.Refer})
	if err != nil {
		return err
	}
	if err := catalog.Put(d.ctx, d.txn, desc); err != nil {
		return err
	}
	t, err := tableFromDesc(td)
	if err != nil {
		return err
	}
	return plan.ValidateForeignKey(d.s.execCtx(d.ctx, nil), d.s.catalogView(d.ctx), t, fk.Name)
}

// dropForeignKey removes td's constraint name and its back reference.
// It reports false when td has no such foreign key.
func (d *ddl) dropForeignKey(desc *catalog.Descriptor, name string) (bool, error) {
	td := desc.Table
	for i, fk := range td.ForeignKeys {
		if fk.Name != name {
			continue
		}
		td.ForeignKeys = append(td.ForeignKeys[:i], td.ForeignKeys[i+1:]...)
		if fk.RefTable == td.ID {
			td.RemoveInbound(td.ID, name)
		} else {
			pd, err := catalog.Get(d.ctx, d.txn, fk.RefTable)
			if err != nil {
				return false, err
			}
			if pd != nil && pd.Table != nil {
				pd.Table.RemoveInbound(td.ID, name)
				if err := catalog.Put(d.ctx, d.txn, pd); err != nil {
					return false, err
				}
			}
		}
		return true, catalog.Put(d.ctx, d.txn, desc)
	}
	return false, nil
}

// dropConstraint is ALTER TABLE ... DROP CONSTRAINT name (foreign keys and
// CHECK constraints).
func (d *ddl) dropConstraint(desc *catalog.Descriptor, name string) error {
	td := desc.Table
	if ok, err := d.dropForeignKey(desc, name); ok || err != nil {
		return err
	}
	for i, c := range td.Checks {
		if c.Name == name {
			td.Checks = append(td.Checks[:i], td.Checks[i+1:]...)
			return catalog.Put(d.ctx, d.txn, desc)
		}
	}
	if constraintNameTaken(td, name) {
		return sqlerr.New(sqlerr.FeatureNotSupported, "dropping constraint %q is not supported yet", name)
	}
	return sqlerr.New(sqlerr.UndefinedObject, "constraint %q of relation %q does not exist", name, td.Name)
}

// dropTableForeignKeys runs before td is dropped: its own foreign keys go
// (their back references with them); foreign keys of other tables that
// reference it block the drop (2BP01) unless CASCADE drops them too.
func (d *ddl) dropTableForeignKeys(desc *catalog.Descriptor) error {
	td := desc.Table
	var deps []string
	children := map[catalog.ID]*catalog.Descriptor{}
	var order []catalog.ID
	for _, in := range td.InboundFKs {
		if in.Table == td.ID || d.dropAll || d.dropping[in.Table] {
			continue // the referencing table goes in the same statement
		}
		cd := children[in.Table]
		if cd == nil {
			var err error
			if cd, err = catalog.Get(d.ctx, d.txn, in.Table); err != nil {
				return err
			}
			if cd == nil || cd.Table == nil {
				continue
			}
			children[in.Table] = cd
			order = append(order, in.Table)
		}
		deps = append(deps, fmt.Sprintf("constraint %s on table %s", in.Name, cd.Table.Name))
		for j, fk := range cd.Table.ForeignKeys {
			if fk.Name == in.Name {
				cd.Table.ForeignKeys = append(cd.Table.ForeignKeys[:j], cd.Table.ForeignKeys[j+1:]...)
				break
			}
		}
	}
	if len(deps) > 0 && !d.st.Cascade {
		detail := make([]string, len(deps))
		for i, dep := range deps {
			detail[i] = dep + " depends on table " + td.Name
		}
		return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop table %s because other objects depend on it", td.Name).
			WithDetail("%s", strings.Join(detail, "\n")).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	if len(deps) == 1 {
		_ = d.notice(sqlerr.New(sqlerr.SuccessfulCompletion, "drop cascades to %s", deps[0]))
	} else if len(deps) > 1 {
		detail := make([]string, len(deps))
		for i, dep := range deps {
			detail[i] = "drop cascades to " + dep
		}
		_ = d.notice(sqlerr.New(sqlerr.SuccessfulCompletion, "drop cascades to %d other objects", len(deps)).
			WithDetail("%s", strings.Join(detail, "\n")))
	}
	for _, id := range order {
		if err := catalog.Put(d.ctx, d.txn, children[id]); err != nil {
			return err
		}
	}
	td.InboundFKs = nil
	for len(td.ForeignKeys) > 0 {
		if _, err := d.dropForeignKey(desc, td.ForeignKeys[0].Name); err != nil {
			return err
		}
	}
	return nil
}

// truncateAllowed fails TRUNCATE of a table other tables reference, as
// PostgreSQL does (0A000).
func (d *ddl) truncateAllowed(td *catalog.TableDesc) error {
	for _, in := range td.InboundFKs {
		if in.Table == td.ID {
			continue
		}
		cd, err := catalog.Get(d.ctx, d.txn, in.Table)
		if err != nil {
			return err
		}
		if cd == nil || cd.Table == nil {
			continue
		}
		return sqlerr.New(sqlerr.FeatureNotSupported, "cannot truncate a table referenced in a foreign key constraint").
			WithDetail("Table %q references %q.", cd.Table.Name, td.Name).
			WithHint("Truncate table %q at the same time, or use TRUNCATE ... CASCADE.", cd.Table.Name)
	}
	return nil
}

// dropColumnForeignKeys runs before a column of td is dropped: foreign
// keys of td using it go with it (as in PostgreSQL, no CASCADE needed).
// (A referenced column is part of a primary key or unique index, whose
// own check refuses the drop.)
func (d *ddl) dropColumnForeignKeys(desc *catalog.Descriptor, colID uint32) error {
	td := desc.Table
	for i := 0; i < len(td.ForeignKeys); i++ {
		fk := td.ForeignKeys[i]
		if indexOfID(fk.ColumnIDs, colID) < 0 {
			continue
		}
		if _, err := d.dropForeignKey(desc, fk.Name); err != nil {
			return err
		}
		i--
	}
	return nil
}

func indexOfID(ids []uint32, id uint32) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// indexUsedByForeignKey fails dropping the index a foreign key referencing
// td relies on (2BP01, as PostgreSQL).
func (d *ddl) indexUsedByForeignKey(td *catalog.TableDesc, idx *catalog.IndexDesc) error {
	for _, in := range td.InboundFKs {
		cd := td
		if in.Table != td.ID {
			desc, err := catalog.Get(d.ctx, d.txn, in.Table)
			if err != nil {
				return err
			}
			if desc == nil || desc.Table == nil {
				continue
			}
			cd = desc.Table
		}
		fk, ok := cd.ForeignKey(in.Name)
		if !ok {
			continue
		}
		if used, _ := plan.IndexOnColumns(td, fk.RefColumnIDs, true); used != nil && used.ID == idx.ID {
			return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop index %s because other objects depend on it", idx.Name).
				WithDetail("constraint %s on table %s depends on index %s", fk.Name, cd.Name, idx.Name).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
	}
	return nil
}

// foreignKeyTypesAfterAlter fails a column type change that leaves a
// foreign key of td (either side) with incomparable key types (42804).
func (d *ddl) foreignKeyTypesAfterAlter(td *catalog.TableDesc, col *catalog.ColumnDesc) error {
	check := func(fk *catalog.ForeignKeyDesc, child, parent *catalog.TableDesc) error {
		for i := range fk.ColumnIDs {
			cc, _, ok1 := child.ColumnByID(fk.ColumnIDs[i])
			pc, _, ok2 := parent.ColumnByID(fk.RefColumnIDs[i])
			if !ok1 || !ok2 || (cc != col && pc != col) {
				continue
			}
			ct, err1 := types.ParseTypeName(cc.Type)
			pt, err2 := types.ParseTypeName(pc.Type)
			if err1 != nil || err2 != nil || !fkComparable(ct, pt) {
				return sqlerr.New(sqlerr.DatatypeMismatch, "foreign key constraint %q cannot be implemented", fk.Name).
					WithDetail("Key columns %q and %q are of incompatible types: %s and %s.", cc.Name, pc.Name, cc.Type, pc.Type)
			}
		}
		return nil
	}
	other := func(id catalog.ID) (*catalog.TableDesc, error) {
		if id == td.ID {
			return td, nil
		}
		desc, err := catalog.Get(d.ctx, d.txn, id)
		if err != nil || desc == nil || desc.Table == nil {
			return nil, err
		}
		return desc.Table, nil
	}
	for i := range td.ForeignKeys {
		fk := &td.ForeignKeys[i]
		parent, err := other(fk.RefTable)
		if err != nil {
			return err
		}
		if parent != nil {
			if err := check(fk, td, parent); err != nil {
				return err
			}
		}
	}
	for _, in := range td.InboundFKs {
		child, err := other(in.Table)
		if err != nil {
			return err
		}
		if child == nil {
			continue
		}
		if fk, ok := child.ForeignKey(in.Name); ok {
			if err := check(fk, child, td); err != nil {
				return err
			}
		}
	}
	return nil
}
