package pgcatalog

import (
	"strings"

	"github.com/outpostdb/outpost/sql/catalog"
)

// Foreign keys in the catalogs: pg_constraint rows of contype 'f',
// information_schema.referential_constraints, and the FOREIGN KEY rows of
// table_constraints, key_column_usage and constraint_column_usage.

// foreignKeys are ti's FOREIGN KEY constraints whose referenced table is
// in the snapshot.
func (s *snapshot) foreignKeys(ti *tableInfo) []constraint {
	var out []constraint
	for i := range ti.desc.ForeignKeys {
		fk := &ti.desc.ForeignKeys[i]
		ref := s.byOID[RelOID(fk.RefTable)]
		oid, ok := ForeignKeyOID(ti.desc.ID, i)
		if ref == nil || !ok {
			continue
		}
		c := constraint{oid: oid, name: fk.Name, kind: "f", table: ti, fk: fk, ref: ref}
		if idx := referencedIndex(ref.desc, fk.RefColumnIDs); idx != nil {
			c.index = idx
			c.indexID, _ = IndexOID(ref.desc.ID, idx.ID)
		}
		out = append(out, c)
	}
	return out
}

// referencedIndex is the primary key or unique index on exactly cols.
func referencedIndex(td *catalog.TableDesc, cols []uint32) *catalog.IndexDesc {
	for _, idx := range td.AllIndexes() {
		if len(idx.ColumnIDs) != len(cols) || (!idx.Unique && idx.ID != catalog.PrimaryIndexID) {
			continue
		}
		all := true
		for _, id := range idx.ColumnIDs {
			found := false
			for _, c := range cols {
				found = found || c == id
			}
			all = all && found
		}
		if all {
			return idx
		}
	}
	return nil
}

var fkActions = map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

func fkAction(code string) string {
	if a, ok := fkActions[code]; ok {
		return a
	}
	return "NO ACTION"
}

func names(ti *tableInfo, ids []uint32) string {
	var parts []string
	for _, id := range ids {
		if col, _ := ti.colType(id); col != nil {
			parts = append(parts, quoteIdent(col.Name))
		}
	}
	return strings.Join(parts, ", ")
}

// fkDef is pg_get_constraintdef of a foreign key.
func (c constraint) fkDef() string {
	var b strings.Builder
	b.WriteString("FOREIGN KEY (" + names(c.table, c.fk.ColumnIDs) + ") REFERENCES " + quoteIdent(c.ref.desc.Name) +
		"(" + names(c.ref, c.fk.RefColumnIDs) + ")")
	if a := fkAction(c.fk.OnUpdate); a != "NO ACTION" {
		b.WriteString(" ON UPDATE " + a)
	}
	if a := fkAction(c.fk.OnDelete); a != "NO ACTION" {
		b.WriteString(" ON DELETE " + a)
	}
	return b.String()
}

func intArray(ids []uint32) string {
	return "{" + strings.ReplaceAll(vector(ids), " ", ",") + "}"
}

// fkColumns fills the foreign key columns of a pg_constraint row.
func (c constraint) fkColumns(r row) {
	code := func(a string) string {
		if a == "" {
			return "a"
		}
		return a
	}
	r.oid("confrelid", RelOID(c.ref.desc.ID)).s("confupdtype", code(c.fk.OnUpdate)).s("confdeltype", code(c.fk.OnDelete)).
		s("confmatchtype", "s").s("confkey", intArray(c.fk.RefColumnIDs))
}

// uniquePosition is, for the k-th referencing column, the position of the
// referenced column in the referenced unique constraint (1-based).
func (c constraint) uniquePosition(k int) int {
	if c.index == nil {
		return k + 1
	}
	for i, id := range c.index.ColumnIDs {
		if id == c.fk.RefColumnIDs[k] {
			return i + 1
		}
	}
	return k + 1
}

func genReferentialConstraints(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, c := range s.foreignKeys(ti) {
			r := rs.add().s("constraint_catalog", s.env.DBName).s("constraint_schema", public).s("constraint_name", c.name).
				s("match_option", "NONE").s("update_rule", fkAction(c.fk.OnUpdate)).s("delete_rule", fkAction(c.fk.OnDelete))
			if c.index != nil {
				r.s("unique_constraint_catalog", s.env.DBName).s("unique_constraint_schema", public).
					s("unique_constraint_name", c.index.Name)
			}
		}
	}
	return nil
}
