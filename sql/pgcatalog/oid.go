package pgcatalog

import "github.com/outpostdb/outpost/sql/catalog"

// FirstNormalOID is PostgreSQL's FirstNormalObjectId: OIDs below it belong
// to built-in objects.
const FirstNormalOID = 16384

// Namespace OIDs (pg_catalog and public are fixed in PostgreSQL;
// information_schema's is the one a PostgreSQL 15 initdb assigns).
const (
	NamespaceCatalog = 11
	NamespacePublic  = 2200
	NamespaceInfo    = 13207
)

// BootstrapRoleOID is the OID of the bootstrap superuser in PostgreSQL.
const BootstrapRoleOID = 10

// Every descriptor owns a block of 2^blockBits OIDs starting at
// FirstNormalOID + id<<blockBits; the offset within the block says what
// the OID names:
//
//	0              the relation (table, sequence) or database itself
//	1..1023        the index with that index ID
//	1024..2047     the constraint backed by index (offset - 1024)
//	2048..2559     the CHECK constraint number (offset - 2048)
//	2560..3071     the FOREIGN KEY constraint number (offset - 2560)
//	3072..4094     the default (pg_attrdef) of column ID (offset - 3072)
//	4095           the table's row type (pg_type)
//
// Invariant: descriptor IDs up to maxDescID map into uint32 without
// overflow; larger IDs get OID 0 (InvalidOid, never a colliding one), and
// objects past a range (a 1024th index ID, ...) get no OID and are left
// out of the catalogs.
const (
	blockBits     = 12
	subIndex      = 0
	subConstraint = 1024
	subCheck      = 2048
	subAttrdef    = 3072
	subRowType    = 4095
	subRange      = 1024
	// virtualIDBase marks plan.Table descriptor IDs of virtual tables:
	// ID = virtualIDBase + the table's OID.
	virtualIDBase = uint64(1) << 32
	// maxDescID is the largest descriptor ID whose whole block fits.
	maxDescID = (uint64(1)<<32-FirstNormalOID)>>blockBits - 1
)

// RelOID is the OID of a table, sequence or database descriptor.
func RelOID(id catalog.ID) uint32 {
	if id >= virtualIDBase {
		return uint32(id - virtualIDBase)
	}
	if id > maxDescID {
		return 0
	}
	return uint32(FirstNormalOID + id<<blockBits)
}

func subOID(id catalog.ID, base, n uint32) (uint32, bool) {
	if n >= subRange || (base == subAttrdef && n >= subRange-1) || id > maxDescID {
		return 0, false
	}
	return RelOID(id) + base + n, true
}

// IndexOID is the OID of index indexID of table id.
func IndexOID(id catalog.ID, indexID uint32) (uint32, bool) {
	if indexID == 0 {
		return 0, false
	}
	return subOID(id, subIndex, indexID)
}

// IndexConstraintOID is the OID of the PRIMARY KEY/UNIQUE constraint
// backed by index indexID.
func IndexConstraintOID(id catalog.ID, indexID uint32) (uint32, bool) {
	return subOID(id, subConstraint, indexID)
}

// CheckOID is the OID of the n-th CHECK constraint of table id.
func CheckOID(id catalog.ID, n int) (uint32, bool) {
	if n >= subRange/2 {
		return 0, false
	}
	return subOID(id, subCheck, uint32(n))
}

// ForeignKeyOID is the OID of the n-th FOREIGN KEY constraint of table id.
func ForeignKeyOID(id catalog.ID, n int) (uint32, bool) {
	if n >= subRange/2 {
		return 0, false
	}
	return subOID(id, subCheck+subRange/2, uint32(n))
}

// AttrdefOID is the OID of the default of column colID.
func AttrdefOID(id catalog.ID, colID uint32) (uint32, bool) { return subOID(id, subAttrdef, colID) }

// RowTypeOID is the OID of table id's row type.
func RowTypeOID(id catalog.ID) uint32 {
	if RelOID(id) == 0 {
		return 0
	}
	return RelOID(id) + subRowType
}

// decodeOID splits a user object's OID into its descriptor ID and offset.
func decodeOID(oid uint32) (id catalog.ID, sub uint32, ok bool) {
	if oid < FirstNormalOID {
		return 0, 0, false
	}
	v := uint64(oid - FirstNormalOID)
	return v >> blockBits, uint32(v & (1<<blockBits - 1)), true
}

// TableOID maps a plan.Table descriptor ID (as in plan.ResultCol.TableID)
// to the table's OID, for RowDescription.
func TableOID(id uint64) uint32 {
	if id == 0 {
		return 0
	}
	return RelOID(id)
}
