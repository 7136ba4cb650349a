package sql

import (
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// renameIndex runs ALTER INDEX [IF EXISTS] name RENAME TO newName. Index
// names share the relation namespace of the database with tables and
// sequences, so newName must be free among all of them. Renaming the index
// of a constraint renames the constraint too (it is the same name here, as
// in PostgreSQL). Like PostgreSQL, ALTER INDEX on a table renames the table.
func (d *ddl) renameIndex(name, newName string, ifExists bool) error {
	descs, err := catalog.List(d.ctx, d.txn, d.s.dbID)
	if err != nil {
		return err
	}
	var found *catalog.IndexDesc
	var foundIn *catalog.Descriptor
	taken := false
	for _, desc := range descs {
		if desc.Kind != catalog.KindTable {
			continue
		}
		td := desc.Table
		idxs := []*catalog.IndexDesc{&td.PrimaryIndex}
		for i := range td.Indexes {
			idxs = append(idxs, &td.Indexes[i])
		}
		for _, idx := range idxs {
			if idx.Name == name && found == nil {
				found, foundIn = idx, desc
			}
			if idx.Name == newName {
				taken = true
			}
		}
	}
	if found == nil {
		if ok, err := d.exists(name); err != nil {
			return err
		} else if ok {
			desc, err := d.getTable(name)
			if err != nil {
				return err
			}
			if taken {
				return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", newName)
			}
			return catalog.Rename(d.ctx, d.txn, desc, newName)
		}
		if ifExists {
			return d.notice(sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist, skipping", name))
		}
		return sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
	}
	if ok, err := d.exists(newName); err != nil {
		return err
	} else if ok || taken {
		return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", newName)
	}
	found.Name = newName
	return catalog.Put(d.ctx, d.txn, foundIn)
}
