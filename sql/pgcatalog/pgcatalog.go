package pgcatalog

import (
	"context"
	"sort"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Schema names.
const (
	pgCatalog  = "pg_catalog"
	infoSchema = "information_schema"
	public     = "public"
)

type col struct {
	name string
	t    *types.T
}

// tableDef is one virtual table: its PostgreSQL 15 columns (tables_gen.go)
// and the generator of its rows (nil: the catalog is truthfully empty in
// Outpost).
type tableDef struct {
	schema string
	name   string
	oid    uint32
	kind   byte // 'r' (catalog table) or 'v' (system view)
	cols   []col

	colIdx map[string]int
	gen    func(*snapshot, *rowSet) error
	desc   *catalog.TableDesc
	types  []*types.T
}

var byName = map[string]map[string]*tableDef{}

func init() {
	for _, d := range append(tableDefs, extraDefs...) {
		d.colIdx = map[string]int{}
		d.desc = &catalog.TableDesc{ID: virtualIDBase + uint64(d.oid), Name: d.name}
		for i, c := range d.cols {
			d.colIdx[c.name] = i
			d.desc.Columns = append(d.desc.Columns, catalog.ColumnDesc{ID: uint32(i + 1), Name: c.name, Type: c.t.SQLString(), Nullable: true})
			d.types = append(d.types, c.t)
		}
		if byName[d.schema] == nil {
			byName[d.schema] = map[string]*tableDef{}
		}
		byName[d.schema][d.name] = d
		d.gen = generators[d.schema+"."+d.name]
	}
}

// IsSystemSchema reports whether schema is one this package serves.
func IsSystemSchema(schema string) bool { return schema == pgCatalog || schema == infoSchema }

// Env is what generators and functions read: the statement's transaction
// and the session's state. Generators read the catalog in Txn, so they see
// the transaction's own uncommitted DDL.
type Env struct {
	Ctx    context.Context
	Txn    *kv.Txn
	DBID   catalog.ID
	DBName string
	User   string
	// Settings lists the session's settings, by name.
	Settings []Setting

	snap *snapshot
}

// Setting is one session setting as pg_settings shows it.
type Setting struct {
	Name, Value, Default string
	// Changed: set in this session (source "session").
	Changed bool
	// ReadOnly settings cannot be changed (context "internal").
	ReadOnly bool
}

// Lookup returns the virtual table schema.name as a plan.Table whose rows
// come from env(ec) at each execution; ok is false if there is no such
// table.
func Lookup(schema, name string, env func(*plan.ExecCtx) *Env) (*plan.Table, bool) {
	d, ok := byName[schema][name]
	if !ok {
		return nil, false
	}
	return &plan.Table{
		Desc:  d.desc,
		Types: d.types,
		View:  d.kind == 'v',
		Virtual: func(ec *plan.ExecCtx) ([]plan.Row, error) {
			e := env(ec)
			snap, err := e.snapshot()
			if err != nil {
				return nil, err
			}
			rs := &rowSet{def: d}
			if d.gen != nil {
				if err := d.gen(snap, rs); err != nil {
					return nil, err
				}
			}
			return rs.rows, nil
		},
	}, true
}

// rowSet collects a generator's rows.
type rowSet struct {
	def  *tableDef
	rows []plan.Row
}

// row is one row under construction; unset columns are NULL.
type row struct {
	rs *rowSet
	r  plan.Row
}

func (rs *rowSet) add() row {
	r := make(plan.Row, len(rs.def.cols))
	for i := range r {
		r[i] = types.Null
	}
	rs.rows = append(rs.rows, r)
	return row{rs: rs, r: r}
}

// set assigns a column; an unknown column name is a programming error
// caught by the package's tests.
func (r row) set(name string, d types.Datum) row {
	i, ok := r.rs.def.colIdx[name]
	if !ok {
		panic("pgcatalog: " + r.rs.def.name + " has no column " + name)
	}
	r.r[i] = d
	return r
}

func (r row) s(name, v string) row { return r.set(name, types.DString(v)) }
func (r row) oid(name string, v uint32) row {
	return r.set(name, types.DOid(v))
}
func (r row) b(name string, v bool) row  { return r.set(name, types.DBool(v)) }
func (r row) i(name string, v int64) row { return r.set(name, types.DInt(v)) }

// snapshot is the catalog of the current database as of the statement's
// transaction, read once per execution.
type snapshot struct {
	env       *Env
	databases []*catalog.DatabaseDesc
	tables    []*tableInfo
	sequences []*catalog.SequenceDesc
	byOID     map[uint32]*tableInfo
	seqByOID  map[uint32]*catalog.SequenceDesc
}

// tableInfo is a user table with its resolved column types.
type tableInfo struct {
	desc  *catalog.TableDesc
	types []*types.T
}

func (e *Env) snapshot() (*snapshot, error) {
	if e.snap != nil {
		return e.snap, nil
	}
	s := &snapshot{env: e, byOID: map[uint32]*tableInfo{}, seqByOID: map[uint32]*catalog.SequenceDesc{}}
	dbs, err := catalog.List(e.Ctx, e.Txn, 0)
	if err != nil {
		return nil, err
	}
	for _, d := range dbs {
		if d.Kind == catalog.KindDatabase {
			s.databases = append(s.databases, d.Database)
		}
	}
	descs, err := catalog.List(e.Ctx, e.Txn, e.DBID)
	if err != nil {
		return nil, err
	}
	for _, d := range descs {
		switch d.Kind {
		case catalog.KindTable:
			ti := &tableInfo{desc: d.Table}
			for _, c := range d.Table.Columns {
				t, err := types.ParseTypeName(c.Type)
				if err != nil {
					return nil, sqlerr.Wrap(err, sqlerr.DataCorrupted, "column "+d.Table.Name+"."+c.Name)
				}
				ti.types = append(ti.types, t)
			}
			s.tables = append(s.tables, ti)
			s.byOID[RelOID(d.Table.ID)] = ti
		case catalog.KindSequence:
			s.sequences = append(s.sequences, d.Sequence)
			s.seqByOID[RelOID(d.Sequence.ID)] = d.Sequence
		}
	}
	e.snap = s
	return s, nil
}

// visibleColumns are the columns PostgreSQL would show (not the hidden
// row ID), with their positions in the descriptor.
func (ti *tableInfo) visibleColumns() []int {
	var out []int
	for i, c := range ti.desc.Columns {
		if !c.Hidden {
			out = append(out, i)
		}
	}
	return out
}

// indexes are the table's indexes as PostgreSQL has them: the primary
// index only when it is a declared PRIMARY KEY (not the hidden row ID).
func (ti *tableInfo) indexes() []*catalog.IndexDesc {
	var out []*catalog.IndexDesc
	for _, idx := range ti.desc.AllIndexes() {
		if idx.ID == catalog.PrimaryIndexID && ti.hiddenPK() {
			continue
		}
		out = append(out, idx)
	}
	return out
}

func (ti *tableInfo) hiddenPK() bool {
	for _, id := range ti.desc.PrimaryIndex.ColumnIDs {
		if c, _, ok := ti.desc.ColumnByID(id); ok && c.Hidden {
			return true
		}
	}
	return false
}

func (ti *tableInfo) colType(colID uint32) (*catalog.ColumnDesc, *types.T) {
	c, i, ok := ti.desc.ColumnByID(colID)
	if !ok {
		return nil, nil
	}
	return c, ti.types[i]
}

// virtualTables lists the virtual tables of a schema by name.
func virtualTables(schema string) []*tableDef {
	var out []*tableDef
	for _, d := range byName[schema] {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Role is a role as pg_roles shows it.
type Role struct {
	OID       uint32
	Name      string
	Superuser bool
}

// Roles lists the roles. Outpost has no role catalog yet: the only role is
// the bootstrap superuser, named as PostgreSQL's initdb names it after the
// installing user ("root" here). Replace this function when roles exist.
var Roles = func(env *Env) []Role {
	return []Role{{OID: BootstrapRoleOID, Name: "root", Superuser: true}}
}

func roleName(env *Env, oid uint32) (string, bool) {
	for _, r := range Roles(env) {
		if r.OID == oid {
			return r.Name, true
		}
	}
	return "", false
}
