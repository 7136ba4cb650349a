package sql

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/kv/spanconfig"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// splitRecorder is a RangeReporter that records splits.
type splitRecorder struct {
	mu     sync.Mutex
	splits [][]byte
	fail   bool
}

func (r *splitRecorder) Ranges(context.Context) ([]RangeInfo, error) { return nil, nil }

func (r *splitRecorder) Split(_ context.Context, key []byte) (int64, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return 0, 0, errors.New("injected")
	}
	r.splits = append(r.splits, append([]byte(nil), key...))
	return 1, 2, nil
}

// TestEdgeRegionsStorage: ALTER TABLE ... SET (edge_regions = ...) writes
// the descriptor and the table's span config in the statement's
// transaction (both or neither), splits at the table's bounds, RESET and
// DROP TABLE delete the record, and only the owner may change it.
func TestEdgeRegionsStorage(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	ranges := &splitRecorder{}
	srv := NewServer(n.DB, Config{Ranges: ranges})
	if err := srv.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := srv.NewSession(ctx, SessionArgs{User: "root", Database: "defaultdb"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(s *Session, q string) error { return s.ExecSimple(ctx, q, nopWriter{}) }
	for _, q := range []string{`CREATE USER app`, `CREATE TABLE t (a INT PRIMARY KEY)`, `CREATE TABLE u (a INT PRIMARY KEY)`} {
		if err := run(root, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// What kv holds: the descriptor's setting and the span config records.
	state := func(table string) (string, []spanconfig.Config) {
		t.Helper()
		var setting string
		if err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			id, ok, err := catalog.LookupID(ctx, txn, root.dbID, table)
			if err != nil || !ok {
				return err
			}
			d, err := catalog.Get(ctx, txn, id)
			if err != nil {
				return err
			}
			setting = d.Table.EdgeRegions
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		set, err := spanconfig.Read(ctx, n.Store)
		if err != nil {
			t.Fatal(err)
		}
		return setting, set.Configs()
	}
	tableID := func(table string) catalog.ID {
		var id catalog.ID
		_ = n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			id, _, _ = catalog.LookupID(ctx, txn, root.dbID, table)
			return nil
		})
		return id
	}
	tid := tableID("t")

	if err := run(root, `ALTER TABLE t SET (edge_regions = 'eu, ap')`); err != nil {
		t.Fatal(err)
	}
	setting, cfgs := state("t")
	if setting != "eu,ap" || len(cfgs) != 1 || !slices.Equal(cfgs[0].EdgeRegions, []string{"eu", "ap"}) ||
		!bytes.Equal(cfgs[0].Span.Key, keys.TablePrefix(tid)) || !bytes.Equal(cfgs[0].Span.EndKey, keys.TablePrefix(tid+1)) {
		t.Fatalf("after SET: %q %+v", setting, cfgs)
	}
	if len(ranges.splits) != 2 || !bytes.Equal(ranges.splits[0], keys.TablePrefix(tid)) || !bytes.Equal(ranges.splits[1], keys.TablePrefix(tid+1)) {
		t.Fatalf("splits %q", ranges.splits)
	}

	// Opting out is a record with no region.
	if err := run(root, `ALTER TABLE t SET (edge_regions = 'none')`); err != nil {
		t.Fatal(err)
	}
	if setting, cfgs = state("t"); setting != "none" || len(cfgs) != 1 || len(cfgs[0].EdgeRegions) != 0 {
		t.Fatalf("after none: %q %+v", setting, cfgs)
	}

	// A rolled back change leaves both as they were.
	for _, q := range []string{`BEGIN`, `ALTER TABLE t SET (edge_regions = 'us')`, `ROLLBACK`} {
		if err := run(root, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if setting, cfgs = state("t"); setting != "none" || len(cfgs) != 1 || len(cfgs[0].EdgeRegions) != 0 {
		t.Fatalf("after rollback: %q %+v", setting, cfgs)
	}
	// A failed split fails the statement, which then changes nothing.
	ranges.fail = true
	if err := run(root, `ALTER TABLE t SET (edge_regions = 'us')`); sqlerr.Code(err) != sqlerr.InternalError {
		t.Fatalf("failed split: %v", err)
	}
	ranges.fail = false
	if setting, _ = state("t"); setting != "none" {
		t.Fatalf("after a failed split: %q", setting)
	}

	// Only the owner (or a superuser) may change it.
	app, err := srv.NewSession(ctx, SessionArgs{User: "app", Database: "defaultdb"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run(app, `ALTER TABLE t SET (edge_regions = 'eu')`); sqlerr.Code(err) != sqlerr.InsufficientPrivilege {
		t.Fatalf("non-owner SET: %v", err)
	}
	if err := run(app, `ALTER TABLE t RESET (edge_regions)`); sqlerr.Code(err) != sqlerr.InsufficientPrivilege {
		t.Fatalf("non-owner RESET: %v", err)
	}
	if err := run(app, `CREATE TABLE mine (a INT)`); err != nil {
		t.Fatal(err)
	}
	if err := run(app, `ALTER TABLE mine SET (edge_regions = 'eu')`); err != nil {
		t.Fatalf("owner: %v", err)
	}

	// RESET and DROP TABLE delete the record.
	if err := run(root, `ALTER TABLE t RESET (edge_regions)`); err != nil {
		t.Fatal(err)
	}
	if setting, cfgs = state("t"); setting != "" || len(cfgs) != 1 || !bytes.Equal(cfgs[0].Span.Key, keys.TablePrefix(tableID("mine"))) {
		t.Fatalf("after RESET: %q %+v", setting, cfgs)
	}
	if err := run(root, `DROP TABLE mine`); err != nil {
		t.Fatal(err)
	}
	if _, cfgs = state("t"); len(cfgs) != 0 {
		t.Fatalf("after DROP TABLE: %+v", cfgs)
	}
	// DROP DATABASE drops its tables' records too.
	for _, q := range []string{`CREATE DATABASE d2`} {
		if err := run(root, q); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := srv.NewSession(ctx, SessionArgs{User: "root", Database: "d2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE x (a INT)`, `ALTER TABLE x SET (edge_regions = 'eu')`} {
		if err := run(d2, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, cfgs = state("t"); len(cfgs) != 1 {
		t.Fatalf("table in d2: %+v", cfgs)
	}
	if err := run(root, `DROP DATABASE d2`); err != nil {
		t.Fatal(err)
	}
	if _, cfgs = state("t"); len(cfgs) != 0 {
		t.Fatalf("after DROP DATABASE: %+v", cfgs)
	}
}

func TestPrettyTableBound(t *testing.T) {
	for k, want := range map[string]string{
		string(keys.TablePrefix(104)):    "/Table/104",
		string(keys.TablePrefix(100000)): "/Table/100000",
		string(keys.IndexPrefix(104, 1)): "/Table/104/1",
		"\x88\x18hx":                     `"\x88\x18hx"`, // not a table bound or index prefix
	} {
		if got := prettyKey([]byte(k), "/Min"); got != want {
			t.Errorf("prettyKey(%q) = %s, want %s", k, got, want)
		}
	}
}
