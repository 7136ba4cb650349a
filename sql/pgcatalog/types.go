package pgcatalog

import (
	"github.com/outpostdb/outpost/sql/types"
)

// typeInfo is a row of pg_type for a type Outpost supports. The values are
// PostgreSQL 15's for the same type.
type typeInfo struct {
	t         *types.T
	name      string
	category  byte
	preferred bool
	align     byte
	storage   byte
	collation uint32
}

// builtinTypes are the types of sql/types, by OID.
var builtinTypes = []typeInfo{
	{types.Bool, "bool", 'B', true, 'c', 'p', 0},
	{types.Bytea, "bytea", 'U', false, 'i', 'x', 0},
	{types.Name, "name", 'S', false, 'c', 'p', 950},
	{types.Int8, "int8", 'N', false, 'd', 'p', 0},
	{types.Int2, "int2", 'N', false, 's', 'p', 0},
	{types.Int4, "int4", 'N', false, 'i', 'p', 0},
	{types.Regproc, "regproc", 'N', false, 'i', 'p', 0},
	{types.Text, "text", 'S', true, 'i', 'x', 100},
	{types.Oid, "oid", 'N', true, 'i', 'p', 0},
	{types.JSON, "json", 'U', false, 'i', 'x', 0},
	{types.Float4, "float4", 'N', false, 'i', 'p', 0},
	{types.Float8, "float8", 'N', true, 'd', 'p', 0},
	{types.Unknown, "unknown", 'X', false, 'c', 'p', 0},
	{types.Bpchar, "bpchar", 'S', false, 'i', 'x', 100},
	{types.Varchar, "varchar", 'S', false, 'i', 'x', 100},
	{types.Date, "date", 'D', false, 'i', 'p', 0},
	{types.Timestamp, "timestamp", 'D', false, 'd', 'p', 0},
	{types.TimestampTZ, "timestamptz", 'D', true, 'd', 'p', 0},
	{types.Interval, "interval", 'T', true, 'd', 'p', 0},
	{types.Numeric, "numeric", 'N', false, 'i', 'm', 0},
	{types.Regclass, "regclass", 'N', false, 'i', 'p', 0},
	{types.Regtype, "regtype", 'N', false, 'i', 'p', 0},
	{types.UUID, "uuid", 'U', false, 'c', 'p', 0},
	{types.JSONB, "jsonb", 'U', false, 'i', 'x', 0},
	{types.Regnamespace, "regnamespace", 'N', false, 'i', 'p', 0},
}

var typeByOID = map[uint32]*typeInfo{}
var typeByName = map[string]*typeInfo{}

func init() {
	for i := range builtinTypes {
		ti := &builtinTypes[i]
		typeByOID[ti.t.Oid()] = ti
		typeByName[ti.name] = ti
	}
}

// byval reports whether PostgreSQL passes the type by value.
func byval(t *types.T) bool {
	s := t.Size()
	return s > 0 && s <= 8 && t.Family != types.StringFamily && t.Family != types.IntervalFamily && t.Family != types.UUIDFamily
}

// collationOf is the attcollation of a column of type t.
func collationOf(t *types.T) uint32 {
	if ti, ok := typeByOID[t.Oid()]; ok {
		return ti.collation
	}
	return 0
}

// formatType is format_type(oid, typmod): the type as SQL spells it, with
// its modifier ("character varying(20)"), "???" for an unknown OID as in
// PostgreSQL.
func (s *snapshot) formatType(oid uint32, typmod int32) string {
	if t, err := types.MakeFromOid(oid, typmod); err == nil {
		if oid == types.OidBpchar && typmod < 0 {
			return "bpchar"
		}
		return t.SQLString()
	}
	if id, sub, ok := decodeOID(oid); ok && sub == subRowType {
		if ti, ok := s.byOID[RelOID(id)]; ok {
			return ti.desc.Name
		}
	}
	return "???"
}
