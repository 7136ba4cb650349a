package sql

import (
	"context"
	"fmt"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/pgcatalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/rowenc"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

type cachedTable struct {
	table *plan.Table
}

// catalogView resolves names for one statement inside the session's
// transaction. Descriptors are cached server-wide per catalog version: the
// version key is read in the statement's transaction, so a concurrent DDL
// either is visible or conflicts (serializably) with the statement.
type catalogView struct {
	s       *Session
	ctx     context.Context
	txn     *kv.Txn
	version uint64
	checked bool

	// pgEC and pgEnvCache: the pgcatalog environment of the last execution.
	pgEC       *plan.ExecCtx
	pgEnvCache *pgcatalog.Env
}

func (s *Session) catalogView(ctx context.Context) *catalogView {
	return &catalogView{s: s, ctx: ctx, txn: s.txn}
}

func (c *catalogView) checkVersion() error {
	if c.checked {
		return nil
	}
	v, err := catalog.Version(c.ctx, c.txn)
	if err != nil {
		return err
	}
	c.version, c.checked = v, true
	if c.s.wroteCatalog {
		return nil // uncommitted schema: never share what this txn sees
	}
	srv := c.s.srv
	srv.mu.Lock()
	// A read at a fixed past timestamp may see an older version than the
	// present: it uses the shared cache only while it holds the version it
	// sees (userTable), and moves the cache only forward, never replacing
	// a newer version's cache by an older one. (Versions only grow.)
	if srv.mu.version != v && (!c.historical() || srv.mu.version < v) {
		srv.mu.version = v
		srv.mu.tables = map[string]*cachedTable{}
	}
	srv.mu.Unlock()
	return nil
}

// Table implements plan.Catalog: an unqualified name is looked up in the
// schemas of the search_path (pg_catalog first unless the path places it).
func (c *catalogView) Table(name string) (*plan.Table, error) {
	for _, schema := range c.s.searchPath() {
		if schema == "public" {
			t, err := c.userTable(name)
			if sqlerr.Code(err) == sqlerr.UndefinedTable {
				continue
			}
			return t, err
		}
		if t, ok := c.systemTable(schema, name); ok {
			return t, nil
		}
	}
	return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
}

func (c *catalogView) userTable(name string) (*plan.Table, error) {
	if err := c.checkVersion(); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%d/%s", c.s.dbID, name)
	srv := c.s.srv
	shared := !c.s.wroteCatalog
	if shared {
		// Every schema change bumps the version in its transaction, so
		// the descriptors cached for the version this statement sees are
		// the ones it would read, at whatever timestamp it reads.
		srv.mu.Lock()
		ct, ok := srv.mu.tables[key]
		ok = ok && srv.mu.version == c.version
		srv.mu.Unlock()
		if ok {
			return ct.table, nil
		}
	}
	d, err := c.lookup(name, catalog.KindTable)
	if err != nil {
		return nil, err
	}
	t, err := tableFromDesc(d.Table)
	if err != nil {
		return nil, err
	}
	if shared {
		srv.mu.Lock()
		if srv.mu.version == c.version {
			srv.mu.tables[key] = &cachedTable{table: t}
		}
		srv.mu.Unlock()
	}
	return t, nil
}

// historical reports a statement reading at a fixed timestamp (AS OF,
// follower reads): the catalog version it sees may be older than the
// present one.
func (c *catalogView) historical() bool {
	return c.txn != nil && c.txn == c.s.edge.hist
}

func (c *catalogView) lookup(name string, kind catalog.Kind) (*catalog.Descriptor, error) {
	id, ok, err := catalog.LookupID(c.ctx, c.txn, c.s.dbID, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
	}
	d, err := catalog.Get(c.ctx, c.txn, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
	}
	if d.Kind != kind {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", name, kind)
	}
	return d, nil
}

func tableFromDesc(d *catalog.TableDesc) (*plan.Table, error) {
	ts := make([]*types.T, len(d.Columns))
	for i, c := range d.Columns {
		t, err := types.ParseTypeName(c.Type)
		if err != nil {
			return nil, sqlerr.Wrap(err, sqlerr.DataCorrupted, fmt.Sprintf("column %s.%s", d.Name, c.Name))
		}
		ts[i] = t
	}
	return &plan.Table{Desc: d, Types: ts, Codec: rowenc.NewCodec(d, ts)}, nil
}

// TableByID implements plan.IDCatalog (foreign keys name tables by ID).
func (c *catalogView) TableByID(id catalog.ID) (*plan.Table, error) {
	d, err := catalog.Get(c.ctx, c.txn, id)
	if err != nil {
		return nil, err
	}
	if d == nil || d.Kind != catalog.KindTable {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation with ID %d does not exist", id)
	}
	return tableFromDesc(d.Table)
}
