package catalog_test

import (
	"context"
	"testing"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

func TestCreateLookupRenameDrop(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	var dbID, tableID catalog.ID
	var v0 uint64
	err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		var err error
		if v0, err = catalog.Version(ctx, txn); err != nil {
			return err
		}
		if dbID, err = catalog.AllocateID(ctx, txn); err != nil {
			return err
		}
		if err := catalog.Create(ctx, txn, &catalog.Descriptor{Kind: catalog.KindDatabase, Database: &catalog.DatabaseDesc{ID: dbID, Name: "db"}}); err != nil {
			return err
		}
		if tableID, err = catalog.AllocateID(ctx, txn); err != nil {
			return err
		}
		return catalog.Create(ctx, txn, &catalog.Descriptor{Kind: catalog.KindTable, Table: &catalog.TableDesc{ID: tableID, ParentID: dbID, Name: "t"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if tableID == dbID {
		t.Fatal("IDs must be unique")
	}
	err = n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		v, err := catalog.Version(ctx, txn)
		if err != nil {
			return err
		}
		if v <= v0 {
			t.Errorf("catalog version did not move: %d -> %d", v0, v)
		}
		id, ok, err := catalog.LookupID(ctx, txn, dbID, "t")
		if err != nil || !ok || id != tableID {
			t.Fatalf("lookup t: %d %v %v", id, ok, err)
		}
		// A second table with the same name is 42P07.
		dup := &catalog.Descriptor{Kind: catalog.KindTable, Table: &catalog.TableDesc{ID: tableID + 100, ParentID: dbID, Name: "t"}}
		if err := catalog.Create(ctx, txn, dup); sqlerr.Code(err) != sqlerr.DuplicateTable {
			t.Fatalf("duplicate create: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		d, err := catalog.Get(ctx, txn, tableID)
		if err != nil {
			return err
		}
		if err := catalog.Rename(ctx, txn, d, "u"); err != nil {
			return err
		}
		if _, ok, _ := catalog.LookupID(ctx, txn, dbID, "t"); ok {
			t.Error("old name still resolves")
		}
		list, err := catalog.List(ctx, txn, dbID)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Table.Name != "u" {
			t.Errorf("list after rename: %+v", list)
		}
		return catalog.Drop(ctx, txn, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		if _, ok, _ := catalog.LookupID(ctx, txn, dbID, "u"); ok {
			t.Error("dropped table still resolves")
		}
		d, err := catalog.Get(ctx, txn, tableID)
		if err != nil || d != nil {
			t.Errorf("dropped descriptor still readable: %v %v", d, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDDLIsTransactional: a rolled back CREATE leaves no trace.
func TestDDLIsTransactional(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	txn := n.DB.NewTxn("ddl")
	id, err := catalog.AllocateID(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.Create(ctx, txn, &catalog.Descriptor{Kind: catalog.KindTable, Table: &catalog.TableDesc{ID: id, ParentID: 1, Name: "gone"}}); err != nil {
		t.Fatal(err)
	}
	txn.Rollback(ctx)
	err = n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		if _, ok, _ := catalog.LookupID(ctx, txn, 1, "gone"); ok {
			t.Error("rolled back table is visible")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
