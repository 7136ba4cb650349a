package pgcatalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/types"
)

// generators fill the virtual tables that have rows in Outpost; the others
// (pg_description, pg_inherits, pg_policy, ...) are truthfully empty.
var generators = map[string]func(*snapshot, *rowSet) error{
	"pg_catalog.pg_namespace":                    genNamespace,
	"pg_catalog.pg_class":                        genClass,
	"pg_catalog.pg_attribute":                    genAttribute,
	"pg_catalog.pg_type":                         genType,
	"pg_catalog.pg_index":                        genIndex,
	"pg_catalog.pg_indexes":                      genIndexes,
	"pg_catalog.pg_constraint":                   genConstraint,
	"pg_catalog.pg_attrdef":                      genAttrdef,
	"pg_catalog.pg_database":                     genDatabase,
	"pg_catalog.pg_roles":                        genRoles,
	"pg_catalog.pg_authid":                       genAuthid,
	"pg_catalog.pg_user":                         genUser,
	"pg_catalog.pg_settings":                     genSettings,
	"pg_catalog.pg_am":                           genAm,
	"pg_catalog.pg_proc":                         genProc,
	"pg_catalog.pg_collation":                    genCollation,
	"pg_catalog.pg_tables":                       genTables,
	"pg_catalog.pg_sequence":                     genSequence,
	"pg_catalog.pg_sequences":                    genSequences,
	"pg_catalog.pg_tablespace":                   genTablespace,
	"pg_catalog.pg_language":                     genLanguage,
	"pg_catalog.pg_depend":                       genDepend,
	"information_schema.schemata":                genSchemata,
	"information_schema.tables":                  genInfoTables,
	"information_schema.columns":                 genInfoColumns,
	"information_schema.key_column_usage":        genKeyColumnUsage,
	"information_schema.table_constraints":       genTableConstraints,
	"information_schema.constraint_column_usage": genConstraintColumnUsage,
	"information_schema.referential_constraints": genReferentialConstraints,
	"information_schema.sequences":               genInfoSequences,
}

var namespaces = []struct {
	oid  uint32
	name string
}{{NamespaceCatalog, pgCatalog}, {NamespacePublic, public}, {NamespaceInfo, infoSchema}}

func nspOID(schema string) uint32 {
	for _, n := range namespaces {
		if n.name == schema {
			return n.oid
		}
	}
	return 0
}

func genNamespace(s *snapshot, rs *rowSet) error {
	for _, n := range namespaces {
		rs.add().oid("oid", n.oid).s("nspname", n.name).oid("nspowner", BootstrapRoleOID)
	}
	return nil
}

// classRow fills the columns of pg_class common to every relation kind.
func classRow(rs *rowSet, oid uint32, name string, nsp uint32, kind string, natts int) row {
	filenode := oid
	if kind == "v" {
		filenode = 0
	}
	return rs.add().oid("oid", oid).s("relname", name).oid("relnamespace", nsp).oid("reltype", 0).
		oid("reloftype", 0).oid("relowner", BootstrapRoleOID).oid("relam", 0).oid("relfilenode", filenode).
		oid("reltablespace", 0).i("relpages", 0).set("reltuples", types.DFloat(-1)).i("relallvisible", 0).
		oid("reltoastrelid", 0).b("relhasindex", false).b("relisshared", false).s("relpersistence", "p").
		s("relkind", kind).i("relnatts", int64(natts)).i("relchecks", 0).b("relhasrules", false).
		b("relhastriggers", false).b("relhassubclass", false).b("relrowsecurity", false).
		b("relforcerowsecurity", false).b("relispopulated", true).s("relreplident", "n").
		b("relispartition", false).oid("relrewrite", 0).s("relfrozenxid", "0").s("relminmxid", "0")
}

const (
	amHeap  = 2
	amBtree = 403
)

func genClass(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		d := ti.desc
		oid := RelOID(d.ID)
		idxs := ti.indexes()
		r := classRow(rs, oid, d.Name, NamespacePublic, "r", len(ti.visibleColumns())).
			oid("reltype", RowTypeOID(d.ID)).oid("relam", amHeap).b("relhasindex", len(idxs) > 0).
			i("relchecks", int64(len(d.Checks))).s("relreplident", "d").
			s("relfrozenxid", "1").s("relminmxid", "1")
		if d.EdgeRegions != "" {
			opt := "edge_regions=" + d.EdgeRegions // ALTER TABLE ... SET (edge_regions = ...)
			r.s("reloptions", types.FormatArrayText([]*string{&opt}))
		}
		for _, idx := range idxs {
			ioid, ok := IndexOID(d.ID, idx.ID)
			if !ok {
				continue
			}
			classRow(rs, ioid, idx.Name, NamespacePublic, "i", len(idx.ColumnIDs)).oid("relam", amBtree)
		}
	}
	for _, seq := range s.sequences {
		classRow(rs, RelOID(seq.ID), seq.Name, NamespacePublic, "S", 3)
	}
	for _, schema := range []string{pgCatalog, infoSchema} {
		for _, d := range virtualTables(schema) {
			r := classRow(rs, d.oid, d.name, nspOID(schema), string(d.kind), len(d.cols))
			if d.kind == 'r' {
				r.oid("relam", amHeap)
			}
		}
	}
	return nil
}

// attRow fills a pg_attribute row.
func attRow(rs *rowSet, rel uint32, name string, num int, t *types.T, notNull, hasDef bool) row {
	return rs.add().oid("attrelid", rel).s("attname", name).oid("atttypid", t.Oid()).i("attstattarget", -1).
		i("attlen", int64(t.Size())).i("attnum", int64(num)).i("attndims", 0).i("attcacheoff", -1).
		i("atttypmod", int64(t.TypeMod())).b("attbyval", byval(t)).s("attalign", string(align(t))).
		s("attstorage", string(storage(t))).s("attcompression", "").b("attnotnull", notNull).
		b("atthasdef", hasDef).b("atthasmissing", false).s("attidentity", "").s("attgenerated", "").
		b("attisdropped", false).b("attislocal", true).i("attinhcount", 0).oid("attcollation", collationOf(t))
}

func align(t *types.T) byte {
	if ti, ok := typeByOID[t.Oid()]; ok {
		return ti.align
	}
	return 'i'
}

func storage(t *types.T) byte {
	if ti, ok := typeByOID[t.Oid()]; ok {
		return ti.storage
	}
	return 'p'
}

func genAttribute(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		d := ti.desc
		rel := RelOID(d.ID)
		for _, i := range ti.visibleColumns() {
			c := d.Columns[i]
			attRow(rs, rel, c.Name, int(c.ID), ti.types[i], !c.Nullable, c.Default != "")
		}
		for _, idx := range ti.indexes() {
			ioid, ok := IndexOID(d.ID, idx.ID)
			if !ok {
				continue
			}
			for k, cid := range idx.ColumnIDs {
				c, t := ti.colType(cid)
				if c == nil {
					continue
				}
				attRow(rs, ioid, c.Name, k+1, t, false, false)
			}
		}
	}
	for _, seq := range s.sequences {
		rel := RelOID(seq.ID)
		attRow(rs, rel, "last_value", 1, types.Int8, true, false)
		attRow(rs, rel, "log_cnt", 2, types.Int8, true, false)
		attRow(rs, rel, "is_called", 3, types.Bool, true, false)
	}
	for _, schema := range []string{pgCatalog, infoSchema} {
		for _, d := range virtualTables(schema) {
			for i, c := range d.cols {
				attRow(rs, d.oid, c.name, i+1, c.t, false, false)
			}
		}
	}
	return nil
}

func genType(s *snapshot, rs *rowSet) error {
	for _, ti := range builtinTypes {
		typtype := "b"
		if ti.t.Family == types.UnknownFamily {
			typtype = "p"
		}
		typeRow(rs, ti.t.Oid(), ti.name, NamespaceCatalog, ti.t.Size(), byval(ti.t), typtype, string(ti.category)).
			b("typispreferred", ti.preferred).s("typalign", string(ti.align)).s("typstorage", string(ti.storage)).
			oid("typcollation", ti.collation)
	}
	// Every table has a composite row type, as in PostgreSQL.
	for _, t := range s.tables {
		typeRow(rs, RowTypeOID(t.desc.ID), t.desc.Name, NamespacePublic, -1, false, "c", "C").
			oid("typrelid", RelOID(t.desc.ID)).s("typalign", "d").s("typstorage", "x")
	}
	return nil
}

func typeRow(rs *rowSet, oid uint32, name string, nsp uint32, size int16, byval bool, typtype, category string) row {
	return rs.add().oid("oid", oid).s("typname", name).oid("typnamespace", nsp).oid("typowner", BootstrapRoleOID).
		i("typlen", int64(size)).b("typbyval", byval).s("typtype", typtype).s("typcategory", category).
		b("typispreferred", false).b("typisdefined", true).s("typdelim", ",").oid("typrelid", 0).
		set("typsubscript", types.DOid(0)).oid("typelem", 0).oid("typarray", 0).
		set("typinput", types.DOid(0)).set("typoutput", types.DOid(0)).set("typreceive", types.DOid(0)).
		set("typsend", types.DOid(0)).set("typmodin", types.DOid(0)).set("typmodout", types.DOid(0)).
		set("typanalyze", types.DOid(0)).b("typnotnull", false).oid("typbasetype", 0).i("typtypmod", -1).
		i("typndims", 0).oid("typcollation", 0)
}

// vector is PostgreSQL's text form of an int2vector/oidvector.
func vector[T uint32 | int](vals []T) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " ")
}

func genIndex(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		d := ti.desc
		for _, idx := range ti.indexes() {
			ioid, ok := IndexOID(d.ID, idx.ID)
			if !ok {
				continue
			}
			var colls, class, opts []uint32
			for k, cid := range idx.ColumnIDs {
				_, t := ti.colType(cid)
				if t == nil {
					t = types.Unknown
				}
				colls = append(colls, collationOf(t))
				class = append(class, 0)
				var opt uint32
				if k < len(idx.Descending) && idx.Descending[k] {
					opt = 3 // INDOPTION_DESC | INDOPTION_NULLS_FIRST
				}
				opts = append(opts, opt)
			}
			n := int64(len(idx.ColumnIDs))
			rs.add().oid("indexrelid", ioid).oid("indrelid", RelOID(d.ID)).i("indnatts", n).i("indnkeyatts", n).
				b("indisunique", idx.Unique || idx.ID == catalog.PrimaryIndexID).b("indnullsnotdistinct", false).
				b("indisprimary", idx.ID == catalog.PrimaryIndexID).b("indisexclusion", false).
				b("indimmediate", true).b("indisclustered", false).b("indisvalid", true).b("indcheckxmin", false).
				b("indisready", true).b("indislive", true).b("indisreplident", false).
				s("indkey", vector(idx.ColumnIDs)).s("indcollation", vector(colls)).s("indclass", vector(class)).
				s("indoption", vector(opts))
		}
	}
	return nil
}

// indexDef is pg_get_indexdef's text.
func indexDef(ti *tableInfo, idx *catalog.IndexDesc) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if idx.Unique || idx.ID == catalog.PrimaryIndexID {
		b.WriteString("UNIQUE ")
	}
	fmt.Fprintf(&b, "INDEX %s ON %s.%s USING btree (%s)", quoteIdent(idx.Name), public, quoteIdent(ti.desc.Name), indexColumns(ti, idx, 0))
	return b.String()
}

// indexColumns lists an index's columns (all when col is 0, else the
// col-th) as pg_get_indexdef does.
func indexColumns(ti *tableInfo, idx *catalog.IndexDesc, col int) string {
	var parts []string
	for k, cid := range idx.ColumnIDs {
		if col > 0 && k+1 != col {
			continue
		}
		c, _ := ti.colType(cid)
		name := "?"
		if c != nil {
			name = quoteIdent(c.Name)
		}
		if k < len(idx.Descending) && idx.Descending[k] {
			name += " DESC"
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, ", ")
}

func genIndexes(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, idx := range ti.indexes() {
			rs.add().s("schemaname", public).s("tablename", ti.desc.Name).s("indexname", idx.Name).
				s("indexdef", indexDef(ti, idx))
		}
	}
	return nil
}

// constraint is a PRIMARY KEY, UNIQUE or CHECK constraint of a table.
type constraint struct {
	oid     uint32
	name    string
	kind    string // p, u, c
	table   *tableInfo
	index   *catalog.IndexDesc // p, u
	indexID uint32
	check   *catalog.CheckDesc
	fk      *catalog.ForeignKeyDesc // f; ref is the referenced table
	ref     *tableInfo
}

func (s *snapshot) constraints(ti *tableInfo) []constraint {
	var out []constraint
	for _, idx := range ti.indexes() {
		if !idx.Constraint && idx.ID != catalog.PrimaryIndexID {
			continue
		}
		oid, ok := IndexConstraintOID(ti.desc.ID, idx.ID)
		if !ok {
			continue
		}
		kind := "u"
		if idx.ID == catalog.PrimaryIndexID {
			kind = "p"
		}
		ioid, _ := IndexOID(ti.desc.ID, idx.ID)
		out = append(out, constraint{oid: oid, name: idx.Name, kind: kind, table: ti, index: idx, indexID: ioid})
	}
	for i := range ti.desc.Checks {
		oid, ok := CheckOID(ti.desc.ID, i)
		if !ok {
			continue
		}
		out = append(out, constraint{oid: oid, name: ti.desc.Checks[i].Name, kind: "c", table: ti, check: &ti.desc.Checks[i]})
	}
	return append(out, s.foreignKeys(ti)...)
}

// def is pg_get_constraintdef's text.
func (c constraint) def() string {
	switch c.kind {
	case "p":
		return "PRIMARY KEY (" + c.columnList() + ")"
	case "u":
		return "UNIQUE (" + c.columnList() + ")"
	case "f":
		return c.fkDef()
	}
	return "CHECK (" + formatExpr(c.check.Expr) + ")"
}

func (c constraint) columnList() string {
	var parts []string
	for _, cid := range c.index.ColumnIDs {
		if col, _ := c.table.colType(cid); col != nil {
			parts = append(parts, quoteIdent(col.Name))
		}
	}
	return strings.Join(parts, ", ")
}

func (c constraint) columnIDs() []uint32 {
	if c.fk != nil {
		return c.fk.ColumnIDs
	}
	if c.index != nil {
		return c.index.ColumnIDs
	}
	return nil
}

func genConstraint(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, c := range s.constraints(ti) {
			r := rs.add().oid("oid", c.oid).s("conname", c.name).oid("connamespace", NamespacePublic).
				s("contype", c.kind).b("condeferrable", false).b("condeferred", false).b("convalidated", true).
				oid("conrelid", RelOID(ti.desc.ID)).oid("contypid", 0).oid("conindid", c.indexID).
				oid("conparentid", 0).oid("confrelid", 0).s("confupdtype", " ").s("confdeltype", " ").
				s("confmatchtype", " ").b("conislocal", true).i("coninhcount", 0).b("connoinherit", false)
			if ids := c.columnIDs(); ids != nil {
				r.s("conkey", "{"+strings.ReplaceAll(vector(ids), " ", ",")+"}")
			}
			if c.check != nil {
				r.s("conbin", formatExpr(c.check.Expr))
			}
			if c.fk != nil {
				c.fkColumns(r)
			}
		}
	}
	return nil
}

func genAttrdef(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for i, c := range ti.desc.Columns {
			if c.Default == "" || c.Hidden {
				continue
			}
			oid, ok := AttrdefOID(ti.desc.ID, c.ID)
			if !ok {
				continue
			}
			rs.add().oid("oid", oid).oid("adrelid", RelOID(ti.desc.ID)).i("adnum", int64(c.ID)).
				s("adbin", formatDefault(c.Default, ti.types[i]))
		}
	}
	return nil
}

func genDatabase(s *snapshot, rs *rowSet) error {
	for _, d := range s.databases {
		rs.add().oid("oid", RelOID(d.ID)).s("datname", d.Name).oid("datdba", BootstrapRoleOID).i("encoding", 6).
			s("datlocprovider", "c").b("datistemplate", false).b("datallowconn", true).i("datconnlimit", -1).
			s("datfrozenxid", "1").s("datminmxid", "1").oid("dattablespace", 1663).s("datcollate", "C").
			s("datctype", "C")
	}
	return nil
}

func genRoles(s *snapshot, rs *rowSet) error {
	for _, r := range Roles(s.env) {
		rs.add().s("rolname", r.Name).b("rolsuper", r.Superuser).b("rolinherit", true).b("rolcreaterole", r.Superuser).
			b("rolcreatedb", r.Superuser).b("rolcanlogin", true).b("rolreplication", r.Superuser).i("rolconnlimit", -1).
			s("rolpassword", "********").b("rolbypassrls", r.Superuser).oid("oid", r.OID)
	}
	return nil
}

func genAuthid(s *snapshot, rs *rowSet) error {
	for _, r := range Roles(s.env) {
		rs.add().oid("oid", r.OID).s("rolname", r.Name).b("rolsuper", r.Superuser).b("rolinherit", true).
			b("rolcreaterole", r.Superuser).b("rolcreatedb", r.Superuser).b("rolcanlogin", true).
			b("rolreplication", r.Superuser).b("rolbypassrls", r.Superuser).i("rolconnlimit", -1)
	}
	return nil
}

func genUser(s *snapshot, rs *rowSet) error {
	for _, r := range Roles(s.env) {
		rs.add().s("usename", r.Name).oid("usesysid", r.OID).b("usecreatedb", r.Superuser).b("usesuper", r.Superuser).
			b("userepl", r.Superuser).b("usebypassrls", r.Superuser).s("passwd", "********")
	}
	return nil
}

func genSettings(s *snapshot, rs *rowSet) error {
	for _, st := range s.env.Settings {
		source := "default"
		if st.Changed {
			source = "session"
		}
		context := "user"
		if st.ReadOnly {
			context, source = "internal", "default"
		}
		rs.add().s("name", st.Name).s("setting", st.Value).s("category", "Outpost").s("short_desc", "").
			s("context", context).s("vartype", "string").s("source", source).s("boot_val", st.Default).
			s("reset_val", st.Default).b("pending_restart", false)
	}
	return nil
}

func genAm(s *snapshot, rs *rowSet) error {
	rs.add().oid("oid", amHeap).s("amname", "heap").set("amhandler", types.DOid(0)).s("amtype", "t")
	rs.add().oid("oid", amBtree).s("amname", "btree").set("amhandler", types.DOid(0)).s("amtype", "i")
	return nil
}

func genCollation(s *snapshot, rs *rowSet) error {
	for _, c := range []struct {
		oid       uint32
		name      string
		provider  string
		collate   string
		encoding  int64
		determine bool
	}{{100, "default", "d", "", -1, true}, {950, "C", "c", "C", -1, true}, {951, "POSIX", "c", "POSIX", -1, true}} {
		r := rs.add().oid("oid", c.oid).s("collname", c.name).oid("collnamespace", NamespaceCatalog).
			oid("collowner", BootstrapRoleOID).s("collprovider", c.provider).b("collisdeterministic", c.determine).
			i("collencoding", c.encoding)
		if c.collate != "" {
			r.s("collcollate", c.collate).s("collctype", c.collate)
		}
	}
	return nil
}

func genTables(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		rs.add().s("schemaname", public).s("tablename", ti.desc.Name).s("tableowner", ownerName(s)).
			b("hasindexes", len(ti.indexes()) > 0).b("hasrules", false).b("hastriggers", false).b("rowsecurity", false)
	}
	for _, d := range virtualTables(pgCatalog) {
		if d.kind == 'r' {
			rs.add().s("schemaname", pgCatalog).s("tablename", d.name).s("tableowner", ownerName(s)).
				b("hasindexes", false).b("hasrules", false).b("hastriggers", false).b("rowsecurity", false)
		}
	}
	return nil
}

func ownerName(s *snapshot) string {
	n, _ := roleName(s.env, BootstrapRoleOID)
	return n
}

func genSequence(s *snapshot, rs *rowSet) error {
	for _, q := range s.sequences {
		rs.add().oid("seqrelid", RelOID(q.ID)).oid("seqtypid", types.OidInt8).i("seqstart", q.Start).
			i("seqincrement", q.Increment).i("seqmax", q.Max).i("seqmin", q.Min).i("seqcache", 1).b("seqcycle", false)
	}
	return nil
}

func genSequences(s *snapshot, rs *rowSet) error {
	for _, q := range s.sequences {
		r := rs.add().s("schemaname", public).s("sequencename", q.Name).s("sequenceowner", ownerName(s)).
			set("data_type", types.DOid(types.OidInt8)).i("start_value", q.Start).i("min_value", q.Min).
			i("max_value", q.Max).i("increment_by", q.Increment).b("cycle", false).i("cache_size", 1)
		if v, ok, err := s.env.sequenceValue(q); err != nil {
			return err
		} else if ok {
			r.i("last_value", v)
		}
	}
	return nil
}

func genTablespace(s *snapshot, rs *rowSet) error {
	rs.add().oid("oid", 1663).s("spcname", "pg_default").oid("spcowner", BootstrapRoleOID)
	rs.add().oid("oid", 1664).s("spcname", "pg_global").oid("spcowner", BootstrapRoleOID)
	return nil
}

// ---- information_schema ----

func genSchemata(s *snapshot, rs *rowSet) error {
	for _, n := range namespaces {
		rs.add().s("catalog_name", s.env.DBName).s("schema_name", n.name).s("schema_owner", ownerName(s))
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func genInfoTables(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		rs.add().s("table_catalog", s.env.DBName).s("table_schema", public).s("table_name", ti.desc.Name).
			s("table_type", "BASE TABLE").s("is_insertable_into", "YES").s("is_typed", "NO")
	}
	for _, schema := range []string{pgCatalog, infoSchema} {
		for _, d := range virtualTables(schema) {
			typ := "BASE TABLE"
			if d.kind == 'v' {
				typ = "VIEW"
			}
			rs.add().s("table_catalog", s.env.DBName).s("table_schema", schema).s("table_name", d.name).
				s("table_type", typ).s("is_insertable_into", "NO").s("is_typed", "NO")
		}
	}
	return nil
}

// infoColumn fills information_schema.columns for one column.
func infoColumn(s *snapshot, rs *rowSet, schema, table, name string, num int, t *types.T, nullable bool, def string) {
	r := rs.add().s("table_catalog", s.env.DBName).s("table_schema", schema).s("table_name", table).
		s("column_name", name).i("ordinal_position", int64(num)).s("is_nullable", yesNo(nullable)).
		s("data_type", dataType(t)).s("udt_catalog", s.env.DBName).s("udt_schema", pgCatalog).
		s("udt_name", typeName(t)).s("dtd_identifier", strconv.Itoa(num)).s("is_self_referencing", "NO").
		s("is_identity", "NO").s("identity_cycle", "NO").s("is_generated", "NEVER").
		s("is_updatable", yesNo(schema == public))
	if def != "" {
		r.s("column_default", def)
	}
	switch t.Family {
	case types.StringFamily:
		if t.Variant == types.VariantName {
			break
		}
		if t.Width > 0 {
			r.i("character_maximum_length", int64(t.Width)).i("character_octet_length", int64(t.Width)*4)
		} else {
			r.i("character_octet_length", 1073741824)
		}
	case types.IntFamily:
		r.i("numeric_precision", int64(t.Width)).i("numeric_precision_radix", 2).i("numeric_scale", 0)
	case types.FloatFamily:
		p := int64(53)
		if t.Width == 32 {
			p = 24
		}
		r.i("numeric_precision", p).i("numeric_precision_radix", 2)
	case types.DecimalFamily:
		r.i("numeric_precision_radix", 10)
		if t.Precision > 0 {
			r.i("numeric_precision", int64(t.Precision)).i("numeric_scale", int64(t.Scale))
		}
	case types.DateFamily:
		r.i("datetime_precision", 0)
	case types.TimestampFamily, types.TimestampTZFamily, types.IntervalFamily:
		p := int64(6)
		if t.HasPrecision {
			p = int64(t.Precision)
		}
		r.i("datetime_precision", p)
	}
	if collationOf(t) != 0 {
		// Only explicitly collated columns have a collation_name in PG.
		_ = r
	}
}

// dataType is information_schema's data_type: the type name without
// modifiers.
func dataType(t *types.T) string {
	switch t.Oid() {
	case types.OidBpchar:
		return "character"
	case types.OidName:
		return "name"
	}
	return t.WithoutModifiers().SQLString()
}

// typeName is pg_type.typname of t.
func typeName(t *types.T) string {
	if ti, ok := typeByOID[t.Oid()]; ok {
		return ti.name
	}
	return t.SQLString()
}

func genInfoColumns(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, i := range ti.visibleColumns() {
			c := ti.desc.Columns[i]
			def := ""
			if c.Default != "" {
				def = formatDefault(c.Default, ti.types[i])
			}
			infoColumn(s, rs, public, ti.desc.Name, c.Name, int(c.ID), ti.types[i], c.Nullable, def)
		}
	}
	for _, schema := range []string{pgCatalog, infoSchema} {
		for _, d := range virtualTables(schema) {
			for i, c := range d.cols {
				infoColumn(s, rs, schema, d.name, c.name, i+1, c.t, true, "")
			}
		}
	}
	return nil
}

func genKeyColumnUsage(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, c := range s.constraints(ti) {
			for k, cid := range c.columnIDs() {
				col, _ := ti.colType(cid)
				if col == nil {
					continue
				}
				r := rs.add().s("constraint_catalog", s.env.DBName).s("constraint_schema", public).s("constraint_name", c.name).
					s("table_catalog", s.env.DBName).s("table_schema", public).s("table_name", ti.desc.Name).
					s("column_name", col.Name).i("ordinal_position", int64(k+1))
				if c.fk != nil {
					r.i("position_in_unique_constraint", int64(c.uniquePosition(k)))
				}
			}
		}
	}
	return nil
}

var constraintTypes = map[string]string{"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}

func genTableConstraints(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		add := func(name, typ string) row {
			return rs.add().s("constraint_catalog", s.env.DBName).s("constraint_schema", public).s("constraint_name", name).
				s("table_catalog", s.env.DBName).s("table_schema", public).s("table_name", ti.desc.Name).
				s("constraint_type", typ).s("is_deferrable", "NO").s("initially_deferred", "NO").s("enforced", "YES")
		}
		for _, c := range s.constraints(ti) {
			r := add(c.name, constraintTypes[c.kind])
			if c.kind == "u" {
				r.s("nulls_distinct", "YES")
			}
		}
		// PostgreSQL lists NOT NULL columns as CHECK constraints named
		// <namespace oid>_<table oid>_<attnum>_not_null.
		for _, i := range ti.visibleColumns() {
			c := ti.desc.Columns[i]
			if !c.Nullable {
				add(fmt.Sprintf("%d_%d_%d_not_null", NamespacePublic, RelOID(ti.desc.ID), c.ID), "CHECK")
			}
		}
	}
	return nil
}

func genInfoSequences(s *snapshot, rs *rowSet) error {
	seqs := append([]*catalog.SequenceDesc(nil), s.sequences...)
	sort.Slice(seqs, func(i, j int) bool { return seqs[i].Name < seqs[j].Name })
	for _, q := range seqs {
		rs.add().s("sequence_catalog", s.env.DBName).s("sequence_schema", public).s("sequence_name", q.Name).
			s("data_type", "bigint").i("numeric_precision", 64).i("numeric_precision_radix", 2).i("numeric_scale", 0).
			s("start_value", strconv.FormatInt(q.Start, 10)).s("minimum_value", strconv.FormatInt(q.Min, 10)).
			s("maximum_value", strconv.FormatInt(q.Max, 10)).s("increment", strconv.FormatInt(q.Increment, 10)).
			s("cycle_option", "NO")
	}
	return nil
}

// extraDefs are catalogs added by hand (same columns as PostgreSQL 15).
var extraDefs = []*tableDef{
	{schema: infoSchema, name: "constraint_column_usage", oid: 13300, kind: 'v', cols: []col{{"table_catalog", types.Name},
		{"table_schema", types.Name}, {"table_name", types.Name}, {"column_name", types.Name}, {"constraint_catalog", types.Name},
		{"constraint_schema", types.Name}, {"constraint_name", types.Name}}},
	{schema: pgCatalog, name: "pg_depend", oid: 2608, kind: 'r', cols: []col{{"classid", types.Oid}, {"objid", types.Oid},
		{"objsubid", types.Int4}, {"refclassid", types.Oid}, {"refobjid", types.Oid}, {"refobjsubid", types.Int4}, {"deptype", types.Text}}},
}

const oidPgClass = 1259

// genDepend lists the dependencies Outpost has: a SERIAL column's sequence
// is owned by (auto-dependent on) the column.
func genDepend(s *snapshot, rs *rowSet) error {
	for _, q := range s.sequences {
		if q.OwnedBy == 0 {
			continue
		}
		ti := s.byOID[RelOID(q.OwnedBy)]
		if ti == nil {
			continue
		}
		for _, c := range ti.desc.Columns {
			if c.OwnedSequence == q.ID {
				rs.add().oid("classid", oidPgClass).oid("objid", RelOID(q.ID)).i("objsubid", 0).
					oid("refclassid", oidPgClass).oid("refobjid", RelOID(ti.desc.ID)).i("refobjsubid", int64(c.ID)).
					s("deptype", "a")
			}
		}
	}
	return nil
}

// genConstraintColumnUsage lists the columns each constraint uses: the key
// columns of PRIMARY KEY/UNIQUE, the columns a CHECK expression names.
func genConstraintColumnUsage(s *snapshot, rs *rowSet) error {
	for _, ti := range s.tables {
		for _, c := range s.constraints(ti) {
			var cols []string
			if c.check != nil {
				words := map[string]bool{}
				for _, w := range strings.FieldsFunc(strings.ToLower(c.check.Expr), func(r rune) bool {
					return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '$')
				}) {
					words[w] = true
				}
				for _, i := range ti.visibleColumns() {
					if words[ti.desc.Columns[i].Name] {
						cols = append(cols, ti.desc.Columns[i].Name)
					}
				}
			} else if c.fk != nil {
				// A foreign key uses the referenced table's columns.
				for _, cid := range c.fk.RefColumnIDs {
					if col, _ := c.ref.colType(cid); col != nil {
						cols = append(cols, col.Name)
					}
				}
			} else {
				for _, cid := range c.columnIDs() {
					if col, _ := ti.colType(cid); col != nil {
						cols = append(cols, col.Name)
					}
				}
			}
			tableName := ti.desc.Name
			if c.fk != nil {
				tableName = c.ref.desc.Name
			}
			for _, name := range cols {
				rs.add().s("table_catalog", s.env.DBName).s("table_schema", public).s("table_name", tableName).
					s("column_name", name).s("constraint_catalog", s.env.DBName).s("constraint_schema", public).
					s("constraint_name", c.name)
			}
		}
	}
	return nil
}

// genLanguage: Outpost's functions are all built in ("internal").
func genLanguage(s *snapshot, rs *rowSet) error {
	rs.add().oid("oid", 12).s("lanname", "internal").oid("lanowner", BootstrapRoleOID).b("lanispl", false).
		b("lanpltrusted", false).oid("lanplcallfoid", 0).oid("laninline", 0).oid("lanvalidator", 0)
	return nil
}
