package catalog

// ForeignKeyDesc is a FOREIGN KEY constraint, stored on the referencing
// (child) table. Columns are by ID so that renames keep it valid.
type ForeignKeyDesc struct {
	Name string `json:"name"`
	// ColumnIDs are the referencing columns of this table.
	ColumnIDs []uint32 `json:"column_ids"`
	// RefTable is the referenced table; RefColumnIDs its columns, in the
	// order matching ColumnIDs. They are the columns of RefTable's primary
	// key or of one of its unique indexes (a set, any order).
	RefTable     ID       `json:"ref_table"`
	RefColumnIDs []uint32 `json:"ref_column_ids"`
	// OnDelete and OnUpdate are pg_constraint's action codes: 'a' NO
	// ACTION, 'r' RESTRICT, 'c' CASCADE, 'n' SET NULL.
	OnDelete string `json:"on_delete"`
	OnUpdate string `json:"on_update"`
}

// InboundFK names a foreign key of another table (or this one) that
// references this table. The referenced table keeps this back reference so
// that deletes and updates of its rows find the constraints to check
// without listing every table; both sides change in the same transaction.
type InboundFK struct {
	Table ID     `json:"table"`
	Name  string `json:"name"`
}

// ForeignKey returns the foreign key named name.
func (t *TableDesc) ForeignKey(name string) (*ForeignKeyDesc, bool) {
	for i := range t.ForeignKeys {
		if t.ForeignKeys[i].Name == name {
			return &t.ForeignKeys[i], true
		}
	}
	return nil, false
}

// RemoveInbound drops the back reference to table's constraint name.
func (t *TableDesc) RemoveInbound(table ID, name string) {
	for i, in := range t.InboundFKs {
		if in.Table == table && in.Name == name {
			t.InboundFKs = append(t.InboundFKs[:i], t.InboundFKs[i+1:]...)
			return
		}
	}
}
