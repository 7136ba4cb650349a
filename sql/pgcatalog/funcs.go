package pgcatalog

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Funcs serves the functions that read the catalog or the session
// (plan.SessionFuncs). env gives the environment of an execution.
type Funcs struct {
	Env func(*plan.ExecCtx) *Env
	// SetConfig applies set_config(name, value, is_local) to the session
	// and returns the new value.
	SetConfig func(name, value string, local bool) (string, error)
}

type sig struct {
	args   []*types.T
	result *types.T
	strict bool
	fn     func(e *Env, s *snapshot, args []types.Datum) (types.Datum, error)
}

var (
	tOid  = types.Oid
	tText = types.Text
	tInt  = types.Int4
	tBool = types.Bool
	tName = types.Name
)

// funcTable maps a function name to its overloads (matched by argument
// count, arguments coerced to the declared types).
var funcTable map[string][]sig

func init() {
	funcTable = map[string][]sig{
		"format_type": {{args: []*types.T{tOid, tInt}, result: tText, fn: fnFormatType}},
		"pg_get_indexdef": {
			{args: []*types.T{tOid}, result: tText, strict: true, fn: fnIndexDef},
			{args: []*types.T{tOid, tInt, tBool}, result: tText, strict: true, fn: fnIndexDef},
		},
		"pg_get_constraintdef": {
			{args: []*types.T{tOid}, result: tText, strict: true, fn: fnConstraintDef},
			{args: []*types.T{tOid, tBool}, result: tText, strict: true, fn: fnConstraintDef},
		},
		"pg_get_expr": {
			{args: []*types.T{tText, tOid}, result: tText, strict: true, fn: fnFirst},
			{args: []*types.T{tText, tOid, tBool}, result: tText, strict: true, fn: fnFirst},
		},
		"pg_get_userbyid":     {{args: []*types.T{tOid}, result: tName, strict: true, fn: fnUserByID}},
		"pg_table_is_visible": {{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnTableVisible}},
		"pg_type_is_visible":  {{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnTypeVisible}},
		"pg_function_is_visible": {{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnTrueIf(func(s *snapshot, oid uint32) bool {
			return procByOID(oid) != nil
		})}},
		"pg_collation_is_visible": {{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnTrueIf(func(s *snapshot, oid uint32) bool {
			return oid == 100 || oid == 950 || oid == 951
		})}},
		"obj_description": {
			{args: []*types.T{tOid}, result: tText, strict: true, fn: fnNull},
			{args: []*types.T{tOid, tName}, result: tText, strict: true, fn: fnNull},
		},
		"col_description":                 {{args: []*types.T{tOid, tInt}, result: tText, strict: true, fn: fnNull}},
		"shobj_description":               {{args: []*types.T{tOid, tName}, result: tText, strict: true, fn: fnNull}},
		"pg_get_statisticsobjdef_columns": {{args: []*types.T{tOid}, result: tText, strict: true, fn: fnNull}},
		"pg_get_viewdef": {
			{args: []*types.T{tOid}, result: tText, strict: true, fn: fnNull},
			{args: []*types.T{tOid, tBool}, result: tText, strict: true, fn: fnNull},
		},
		"pg_get_triggerdef": {{args: []*types.T{tOid, tBool}, result: tText, strict: true, fn: fnNull}},
		// Builtins have no SQL body.
		"pg_get_function_sqlbody":    {{args: []*types.T{tOid}, result: tText, strict: true, fn: fnNull}},
		"pg_relation_is_publishable": {{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnConst(types.DBool(false))}},
		"pg_encoding_to_char": {{args: []*types.T{tInt}, result: tName, strict: true, fn: func(_ *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
			if a[0] == types.DInt(6) {
				return types.DString("UTF8"), nil
			}
			return types.DString(""), nil
		}}},
		"pg_char_to_encoding": {{args: []*types.T{tName}, result: tInt, strict: true, fn: func(_ *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
			if strings.EqualFold(string(a[0].(types.DString)), "UTF8") {
				return types.DInt(6), nil
			}
			return types.DInt(-1), nil
		}}},
		"current_database": {{result: tName, fn: func(e *Env, _ *snapshot, _ []types.Datum) (types.Datum, error) {
			return types.DString(e.DBName), nil
		}}},
		"current_user": {{result: tName, fn: fnUser}},
		"session_user": {{result: tName, fn: fnUser}},
		"current_role": {{result: tName, fn: fnUser}},
		"user":         {{result: tName, fn: fnUser}},
		"current_schema": {{result: tName, fn: func(e *Env, _ *snapshot, _ []types.Datum) (types.Datum, error) {
			if path := e.searchPath(false); len(path) > 0 {
				return types.DString(path[0]), nil
			}
			return types.Null, nil
		}}},
		"current_schemas": {{args: []*types.T{tBool}, result: tText, strict: true, fn: func(e *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
			path := e.searchPath(a[0] == types.DBool(true))
			elems := make([]*string, len(path))
			for i := range path {
				elems[i] = &path[i]
			}
			return types.DString(types.FormatArrayText(elems)), nil
		}}},
		"version": {{result: tText, fn: func(*Env, *snapshot, []types.Datum) (types.Datum, error) {
			return types.DString("PostgreSQL " + ServerVersion + " (Outpost)"), nil
		}}},
		"pg_get_serial_sequence": {{args: []*types.T{tText, tText}, result: tText, strict: true, fn: fnSerialSequence}},
		"has_table_privilege":    privilege(),
		"has_column_privilege":   privilege(),
		"has_schema_privilege":   privilege(),
		"has_database_privilege": privilege(),
		"has_sequence_privilege": privilege(),
		"has_function_privilege": privilege(),
		"pg_has_role":            privilege(),
		"pg_get_function_result": {{args: []*types.T{tOid}, result: tText, strict: true, fn: func(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
			p := procByOID(uint32(a[0].(types.DOid)))
			if p == nil {
				return types.Null, nil
			}
			return types.DString(procTypeName(p.sig.Result)), nil
		}}},
		"pg_get_function_arguments":          {{args: []*types.T{tOid}, result: tText, strict: true, fn: fnFuncArgs}},
		"pg_get_function_identity_arguments": {{args: []*types.T{tOid}, result: tText, strict: true, fn: fnFuncArgs}},
		"pg_relation_size":                   sizeFunc(),
		"pg_table_size":                      sizeFunc(),
		"pg_total_relation_size":             sizeFunc(),
		"pg_indexes_size":                    sizeFunc(),
		"pg_database_size":                   sizeFunc(),
		"pg_tablespace_location": {{args: []*types.T{tOid}, result: tText, strict: true, fn: func(_ *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
			// pg_default and pg_global live in the data directory: "".
			if o := oidArg(a[0]); o == 1663 || o == 1664 {
				return types.DString(""), nil
			}
			return types.Null, nil
		}}},
		"to_regclass":              {{args: []*types.T{tText}, result: types.Regclass, strict: true, fn: toReg(regclassIn, true)}},
		"to_regtype":               {{args: []*types.T{tText}, result: types.Regtype, strict: true, fn: toReg(regtypeIn, true)}},
		"to_regnamespace":          {{args: []*types.T{tText}, result: types.Regnamespace, strict: true, fn: toReg(regnamespaceIn, true)}},
		"to_regproc":               {{args: []*types.T{tText}, result: types.Regproc, strict: true, fn: toReg(regprocIn, true)}},
		"outpost_to_regclass":      {{args: []*types.T{tText}, result: types.Regclass, strict: true, fn: toReg(regclassIn, false)}},
		"outpost_to_regtype":       {{args: []*types.T{tText}, result: types.Regtype, strict: true, fn: toReg(regtypeIn, false)}},
		"outpost_to_regproc":       {{args: []*types.T{tText}, result: types.Regproc, strict: true, fn: toReg(regprocIn, false)}},
		"outpost_to_regnamespace":  {{args: []*types.T{tText}, result: types.Regnamespace, strict: true, fn: toReg(regnamespaceIn, false)}},
		"outpost_regclass_out":     {{args: []*types.T{tOid}, result: tText, strict: true, fn: regOut(types.Regclass)}},
		"outpost_regtype_out":      {{args: []*types.T{tOid}, result: tText, strict: true, fn: regOut(types.Regtype)}},
		"outpost_regproc_out":      {{args: []*types.T{tOid}, result: tText, strict: true, fn: regOut(types.Regproc)}},
		"outpost_regnamespace_out": {{args: []*types.T{tOid}, result: tText, strict: true, fn: regOut(types.Regnamespace)}},
		"current_setting": {
			{args: []*types.T{tText}, result: tText, strict: true, fn: fnCurrentSetting},
			{args: []*types.T{tText, tBool}, result: tText, strict: true, fn: fnCurrentSetting},
		},
	}
}

// ServerVersion is reported by version(); sql sets it to its own.
var ServerVersion = "15.0"

// Resolve implements plan.SessionFuncs.
func (f *Funcs) Resolve(name string, args []*types.T) (*plan.SessionFunc, error) {
	if name == "set_config" {
		if len(args) != 3 {
			return nil, nil
		}
		return &plan.SessionFunc{Name: name, Args: []*types.T{tText, tText, tBool}, Result: tText, Strict: false,
			Fn: func(ec *plan.ExecCtx, a []types.Datum) (types.Datum, error) {
				if a[0] == types.Null {
					return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "SET requires parameter name")
				}
				val := "default"
				if a[1] != types.Null {
					val = string(a[1].(types.DString))
				}
				v, err := f.SetConfig(string(a[0].(types.DString)), val, a[2] == types.DBool(true))
				if err != nil {
					return nil, err
				}
				return types.DString(v), nil
			}}, nil
	}
	sigs, ok := funcTable[name]
	if !ok {
		return nil, nil
	}
	for i := range sigs {
		sg := &sigs[i]
		if !sigMatches(sg.args, args) {
			continue
		}
		return &plan.SessionFunc{Name: name, Args: sg.args, Result: sg.result, Strict: sg.strict,
			Fn: func(ec *plan.ExecCtx, a []types.Datum) (types.Datum, error) {
				e := f.Env(ec)
				s, err := e.snapshot()
				if err != nil {
					return nil, err
				}
				return sg.fn(e, s, a)
			}}, nil
	}
	return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s with %d arguments does not exist", name, len(args)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

func oidArg(d types.Datum) uint32 { return uint32(d.(types.DOid)) }

func fnNull(*Env, *snapshot, []types.Datum) (types.Datum, error) { return types.Null, nil }

func fnConst(d types.Datum) func(*Env, *snapshot, []types.Datum) (types.Datum, error) {
	return func(*Env, *snapshot, []types.Datum) (types.Datum, error) { return d, nil }
}

func fnFirst(_ *Env, _ *snapshot, a []types.Datum) (types.Datum, error) { return a[0], nil }

func fnUser(e *Env, _ *snapshot, _ []types.Datum) (types.Datum, error) {
	return types.DString(e.User), nil
}

func fnTrueIf(p func(*snapshot, uint32) bool) func(*Env, *snapshot, []types.Datum) (types.Datum, error) {
	return func(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
		return types.DBool(p(s, oidArg(a[0]))), nil
	}
}

func fnFormatType(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	if a[0] == types.Null {
		return types.Null, nil
	}
	mod := int32(-1)
	if a[1] != types.Null {
		mod = int32(a[1].(types.DInt))
	}
	return types.DString(s.formatType(oidArg(a[0]), mod)), nil
}

// indexByOID finds a user index.
func (s *snapshot) indexByOID(oid uint32) (*tableInfo, *catalog.IndexDesc) {
	id, sub, ok := decodeOID(oid)
	if !ok || sub == 0 || sub >= subConstraint {
		return nil, nil
	}
	ti := s.byOID[RelOID(id)]
	if ti == nil {
		return nil, nil
	}
	for _, idx := range ti.indexes() {
		if idx.ID == sub {
			return ti, idx
		}
	}
	return nil, nil
}

func fnIndexDef(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	ti, idx := s.indexByOID(oidArg(a[0]))
	if idx == nil {
		return types.Null, nil
	}
	if len(a) > 1 {
		if col := int(a[1].(types.DInt)); col > 0 {
			return types.DString(indexColumns(ti, idx, col)), nil
		}
	}
	return types.DString(indexDef(ti, idx)), nil
}

func fnConstraintDef(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	oid := oidArg(a[0])
	id, _, ok := decodeOID(oid)
	if !ok {
		return types.Null, nil
	}
	ti := s.byOID[RelOID(id)]
	if ti == nil {
		return types.Null, nil
	}
	for _, c := range s.constraints(ti) {
		if c.oid == oid {
			return types.DString(c.def()), nil
		}
	}
	return types.Null, nil
}

func fnUserByID(e *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
	oid := oidArg(a[0])
	if n, ok := roleName(e, oid); ok {
		return types.DString(n), nil
	}
	return types.DString(fmt.Sprintf("unknown (OID=%d)", oid)), nil
}

// fnTableVisible: every relation of public and pg_catalog is visible (both
// are on the search path); information_schema is not on it.
func fnTableVisible(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	oid := oidArg(a[0])
	if _, ok := s.byOID[oid]; ok {
		return types.DBool(true), nil
	}
	if _, ok := s.seqByOID[oid]; ok {
		return types.DBool(true), nil
	}
	if ti, idx := s.indexByOID(oid); ti != nil && idx != nil {
		return types.DBool(true), nil
	}
	for _, d := range byName[pgCatalog] {
		if d.oid == oid {
			return types.DBool(true), nil
		}
	}
	return types.DBool(false), nil
}

func fnTypeVisible(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	oid := oidArg(a[0])
	if _, ok := typeByOID[oid]; ok {
		return types.DBool(true), nil
	}
	if id, sub, ok := decodeOID(oid); ok && sub == subRowType {
		_, ok := s.byOID[RelOID(id)]
		return types.DBool(ok), nil
	}
	return types.DBool(false), nil
}

func privilege() []sig {
	yes := fnConst(types.DBool(true))
	return []sig{
		{args: []*types.T{tText, tText}, result: tBool, strict: true, fn: yes},
		{args: []*types.T{tText, tText, tText}, result: tBool, strict: true, fn: yes},
		{args: []*types.T{tText, tText, tText, tText}, result: tBool, strict: true, fn: yes},
	}
}

// sizeFunc: Outpost does not track the size of a relation or database
// yet, so the size is unknown: NULL (as PostgreSQL answers for an object
// it cannot find), never a made-up number.
func sizeFunc() []sig {
	return []sig{
		{args: []*types.T{tOid}, result: types.Int8, strict: true, fn: fnNull},
		{args: []*types.T{tText}, result: types.Int8, strict: true, fn: fnNull},
	}
}

func fnSerialSequence(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
	table := unqualify(string(a[0].(types.DString)))
	colName := string(a[1].(types.DString))
	var ti *tableInfo
	for _, t := range s.tables {
		if t.desc.Name == table {
			ti = t
		}
	}
	if ti == nil {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", table)
	}
	c, ok := ti.desc.Column(colName)
	if !ok || c.Hidden {
		return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", colName, table)
	}
	if c.OwnedSequence == 0 {
		return types.Null, nil
	}
	for _, q := range s.sequences {
		if q.ID == c.OwnedSequence {
			return types.DString(public + "." + quoteIdent(q.Name)), nil
		}
	}
	return types.Null, nil
}

// unqualify strips a schema (public/pg_catalog) and quotes from a name as
// regclass input reads it: "public.t" → t, "\"T\"" → T, "T" → t.
func unqualify(s string) string {
	parts := splitQualified(s)
	return parts[len(parts)-1]
}

func splitQualified(s string) []string {
	var parts []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && inQuote && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '.' && !inQuote:
			parts = append(parts, cur.String())
			cur.Reset()
		case !inQuote:
			cur.WriteString(strings.ToLower(string(c)))
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

// ---- reg* conversions ----

type regIn func(s *snapshot, name string) (uint32, error)

func toReg(in regIn, missingOK bool) func(*Env, *snapshot, []types.Datum) (types.Datum, error) {
	return func(_ *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
		name := strings.TrimSpace(string(a[0].(types.DString)))
		if n, ok := numericOID(name); ok {
			return types.DOid(n), nil
		}
		oid, err := in(s, name)
		if err != nil {
			if missingOK {
				return types.Null, nil
			}
			return nil, err
		}
		return types.DOid(oid), nil
	}
}

func numericOID(s string) (uint32, bool) {
	if s == "" || s == "-" {
		return 0, s == "-"
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), true
}

func regclassIn(s *snapshot, name string) (uint32, error) {
	parts := splitQualified(name)
	rel := parts[len(parts)-1]
	schema := ""
	if len(parts) == 2 {
		schema = parts[0]
	}
	if len(parts) > 2 {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "cross-database references are not implemented: %s", name)
	}
	if schema == "" || schema == pgCatalog || schema == infoSchema {
		sch := schema
		if sch == "" {
			sch = pgCatalog
		}
		if d, ok := byName[sch][rel]; ok {
			return d.oid, nil
		}
	}
	if schema == "" || schema == public {
		for _, ti := range s.tables {
			if ti.desc.Name == rel {
				return RelOID(ti.desc.ID), nil
			}
			for _, idx := range ti.indexes() {
				if idx.Name == rel {
					if oid, ok := IndexOID(ti.desc.ID, idx.ID); ok {
						return oid, nil
					}
				}
			}
		}
		for _, q := range s.sequences {
			if q.Name == rel {
				return RelOID(q.ID), nil
			}
		}
	}
	return 0, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", name)
}

func regtypeIn(s *snapshot, name string) (uint32, error) {
	t, err := types.ParseTypeName(name)
	if err == nil {
		return t.Oid(), nil
	}
	rel := unqualify(name)
	for _, ti := range s.tables {
		if ti.desc.Name == rel {
			return RowTypeOID(ti.desc.ID), nil
		}
	}
	return 0, sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", name)
}

func regnamespaceIn(_ *snapshot, name string) (uint32, error) {
	if oid := nspOID(unqualify(name)); oid != 0 {
		return oid, nil
	}
	return 0, sqlerr.New(sqlerr.InvalidSchemaName, "schema \"%s\" does not exist", name)
}

func regprocIn(_ *snapshot, name string) (uint32, error) {
	n := unqualify(name)
	var found *proc
	for i := range procs() {
		p := &procs()[i]
		if p.sig.Name == n {
			if found != nil {
				return 0, sqlerr.New(sqlerr.AmbiguousFunction, "more than one function named \"%s\"", name)
			}
			found = p
		}
	}
	if found == nil {
		return 0, sqlerr.New(sqlerr.UndefinedFunction, "function \"%s\" does not exist", name)
	}
	return found.oid, nil
}

// regOut is the text output of a reg* value: the object's name, or its
// number when no such object exists ("-" for 0), as PostgreSQL prints it.
func regOut(t *types.T) func(*Env, *snapshot, []types.Datum) (types.Datum, error) {
	return func(e *Env, s *snapshot, a []types.Datum) (types.Datum, error) {
		return types.DString(s.RegName(t, oidArg(a[0]))), nil
	}
}

// RegName is the text form of a reg* value.
func (s *snapshot) RegName(t *types.T, oid uint32) string {
	if oid == 0 {
		return "-"
	}
	switch t.Variant {
	case types.VariantRegclass:
		if ti, ok := s.byOID[oid]; ok {
			return quoteIdent(ti.desc.Name)
		}
		if q, ok := s.seqByOID[oid]; ok {
			return quoteIdent(q.Name)
		}
		if _, idx := s.indexByOID(oid); idx != nil {
			return quoteIdent(idx.Name)
		}
		for _, schema := range []string{pgCatalog, infoSchema} {
			for _, d := range byName[schema] {
				if d.oid == oid {
					if schema == infoSchema {
						return schema + "." + d.name
					}
					return d.name
				}
			}
		}
	case types.VariantRegtype:
		if f := s.formatType(oid, -1); f != "???" {
			return f
		}
	case types.VariantRegnamespace:
		for _, n := range namespaces {
			if n.oid == oid {
				return n.name
			}
		}
	case types.VariantRegproc:
		if p := procByOID(oid); p != nil {
			return p.sig.Name
		}
	}
	return fmt.Sprint(oid)
}

// RegText formats a reg* datum for the wire (text format) in env.
func RegText(env *Env, t *types.T, oid uint32) (string, error) {
	s, err := env.snapshot()
	if err != nil {
		return "", err
	}
	return s.RegName(t, oid), nil
}

func fnCurrentSetting(e *Env, _ *snapshot, a []types.Datum) (types.Datum, error) {
	name := strings.ToLower(string(a[0].(types.DString)))
	for _, st := range e.Settings {
		if strings.EqualFold(st.Name, name) {
			return types.DString(st.Value), nil
		}
	}
	if len(a) > 1 && a[1] == types.DBool(true) {
		return types.Null, nil
	}
	return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", name)
}

func (e *Env) sequenceValue(q *catalog.SequenceDesc) (int64, bool, error) {
	raw, err := e.Txn.Get(e.Ctx, catalog.SequenceValueKey(q.ID))
	if err != nil || len(raw) != 8 {
		return 0, false, err
	}
	return int64(binary.BigEndian.Uint64(raw)), true, nil
}

// quoteIdent quotes an identifier when PostgreSQL would.
func quoteIdent(s string) string {
	ok := s != ""
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || (i > 0 && (c >= '0' && c <= '9' || c == '$'))) {
			ok = false
		}
	}
	if ok && !reservedWords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

var reservedWords = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true, "asc": true,
	"asymmetric": true, "both": true, "case": true, "cast": true, "check": true, "collate": true, "column": true,
	"constraint": true, "create": true, "current_catalog": true, "current_date": true, "current_role": true,
	"current_time": true, "current_timestamp": true, "current_user": true, "default": true, "deferrable": true,
	"desc": true, "distinct": true, "do": true, "else": true, "end": true, "except": true, "false": true,
	"fetch": true, "for": true, "foreign": true, "from": true, "grant": true, "group": true, "having": true,
	"in": true, "initially": true, "intersect": true, "into": true, "lateral": true, "leading": true, "limit": true,
	"localtime": true, "localtimestamp": true, "not": true, "null": true, "offset": true, "on": true, "only": true,
	"or": true, "order": true, "placing": true, "primary": true, "references": true, "returning": true,
	"select": true, "session_user": true, "some": true, "symmetric": true, "table": true, "then": true, "to": true,
	"trailing": true, "true": true, "union": true, "unique": true, "user": true, "using": true, "variadic": true,
	"when": true, "where": true, "window": true, "with": true,
}

// searchPath is the session's search_path resolved to existing schemas,
// with pg_catalog first when implicit is set and the path does not name
// it (as current_schemas(true) shows it).
func (e *Env) searchPath(implicit bool) []string {
	raw := ""
	for _, st := range e.Settings {
		if st.Name == "search_path" {
			raw = st.Value
		}
	}
	var out []string
	named := false
	for _, part := range strings.Split(raw, ",") {
		name := strings.TrimSpace(part)
		if strings.HasPrefix(name, `"`) && strings.HasSuffix(name, `"`) && len(name) >= 2 {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		if name == "$user" {
			name = e.User
		}
		if nspOID(name) == 0 {
			continue
		}
		if name == pgCatalog {
			named = true
		}
		out = append(out, name)
	}
	if implicit && !named {
		out = append([]string{pgCatalog}, out...)
	}
	return out
}

// sigMatches: same argument count, and each argument is unknown (a
// literal or NULL) or converts implicitly to the parameter's type.
func sigMatches(params, args []*types.T) bool {
	if len(params) != len(args) {
		return false
	}
	for i, a := range args {
		if a.Family != types.UnknownFamily && !types.CanCastImplicitly(a, params[i]) {
			return false
		}
	}
	return true
}

func init() {
	// Visibility of objects Outpost has none of: NULL, as PostgreSQL
	// answers for an OID that names no object.
	for _, kind := range []string{"conversion", "ts_config", "ts_dict", "ts_parser", "ts_template", "opclass",
		"opfamily", "operator", "statistics_obj"} {
		funcTable["pg_"+kind+"_is_visible"] = []sig{{args: []*types.T{tOid}, result: tBool, strict: true, fn: fnNull}}
	}
}
