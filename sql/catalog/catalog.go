// Package catalog owns schema descriptors (databases, tables, indexes,
// sequences) and their storage in kv. Descriptors are read and written
// inside the caller's kv.Txn, so DDL is transactional; a catalog version key
// bumped by every change lets sessions cache descriptors and notice changes
// with one read. Tables, sequences and databases record their owner and
// access list (acl.go); roles themselves live in sql/roles.
//
// Layout (system keyspace, see kv/keys):
//
//	/sys/desc-id                 next descriptor ID
//	/sys/catalog-version         bumped by every DDL
//	/sys/ns/<parentID>/<name>    name → descriptor ID (parent 0 = database)
//	/sys/desc/<id>               descriptor (JSON, versioned by Kind)
//	/sys/spancfg/<table start>   a table's edge placement (placement.go)
//
// It imports kv, kv/keys and kv/spanconfig; never kv/storage.
package catalog

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ID identifies a descriptor.
type ID = uint64

// Kind of descriptor.
type Kind string

// The kinds.
const (
	KindDatabase Kind = "database"
	KindTable    Kind = "table"
	KindSequence Kind = "sequence"
)

// FirstUserID is the first ID given to user objects; lower IDs are reserved
// for system objects (and virtual pg_catalog tables use IDs above 1<<32).
const FirstUserID ID = 100

// Descriptor is the stored form of any schema object.
type Descriptor struct {
	Kind     Kind          `json:"kind"`
	Database *DatabaseDesc `json:"database,omitempty"`
	Table    *TableDesc    `json:"table,omitempty"`
	Sequence *SequenceDesc `json:"sequence,omitempty"`
}

// DatabaseDesc describes a database.
type DatabaseDesc struct {
	ID   ID     `json:"id"`
	Name string `json:"name"`
	// Owner is the owning role's OID (0: BootstrapOwner).
	Owner uint32 `json:"owner,omitempty"`
	// ACL is nil until the first GRANT or REVOKE (see DatabaseACL).
	ACL *ACL `json:"acl,omitempty"`
}

// ColumnDesc describes a column.
type ColumnDesc struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	// Type is the PostgreSQL type text ("integer", "character varying(10)").
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	// Default is the DEFAULT expression as SQL text, "" for none.
	Default string `json:"default,omitempty"`
	// Hidden columns (the implicit rowid) are not returned by SELECT *.
	Hidden bool `json:"hidden,omitempty"`
	// OwnedSequence is the sequence created by SERIAL for this column.
	OwnedSequence ID `json:"owned_sequence,omitempty"`
}

// IndexDesc describes an index. The primary index has ID 1.
type IndexDesc struct {
	ID        uint32   `json:"id"`
	Name      string   `json:"name"`
	Unique    bool     `json:"unique"`
	ColumnIDs []uint32 `json:"column_ids"`
	// Descending per column.
	Descending []bool `json:"descending"`
	// Constraint is set for indexes backing a PRIMARY KEY or UNIQUE
	// constraint (as opposed to CREATE INDEX).
	Constraint bool `json:"constraint,omitempty"`
}

// CheckDesc is a CHECK constraint.
type CheckDesc struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// PrimaryIndexID is the ID of every table's primary index.
const PrimaryIndexID = 1

// TableDesc describes a table.
type TableDesc struct {
	ID           ID           `json:"id"`
	ParentID     ID           `json:"parent_id"`
	Name         string       `json:"name"`
	Columns      []ColumnDesc `json:"columns"`
	NextColumnID uint32       `json:"next_column_id"`
	PrimaryIndex IndexDesc    `json:"primary_index"`
	Indexes      []IndexDesc  `json:"indexes,omitempty"`
	NextIndexID  uint32       `json:"next_index_id"`
	Checks       []CheckDesc  `json:"checks,omitempty"`
	// ForeignKeys this table declares; InboundFKs those referencing it.
	ForeignKeys []ForeignKeyDesc `json:"foreign_keys,omitempty"`
	InboundFKs  []InboundFK      `json:"inbound_fks,omitempty"`
	// Version increases with every change of the descriptor.
	Version uint64 `json:"version"`
	// Owner is the creating role's OID (0: BootstrapOwner); ACL holds
	// what GRANT gave others.
	Owner uint32 `json:"owner,omitempty"`
	ACL   ACL    `json:"acl,omitempty"`
	// EdgeRegions is ALTER TABLE ... SET (edge_regions = ...); see
	// placement.go.
	EdgeRegions string `json:"edge_regions,omitempty"`
}

// SequenceDesc describes a sequence; its value lives at SequenceValueKey.
type SequenceDesc struct {
	ID        ID     `json:"id"`
	ParentID  ID     `json:"parent_id"`
	Name      string `json:"name"`
	Start     int64  `json:"start"`
	Increment int64  `json:"increment"`
	Min       int64  `json:"min"`
	Max       int64  `json:"max"`
	// OwnedBy is the table owning a SERIAL sequence (dropped with it).
	OwnedBy ID `json:"owned_by,omitempty"`
	// Owner is the creating role's OID (0: BootstrapOwner); ACL holds
	// what GRANT gave others (USAGE, SELECT, UPDATE).
	Owner uint32 `json:"owner,omitempty"`
	ACL   ACL    `json:"acl,omitempty"`
}

// Column returns the column named name.
func (t *TableDesc) Column(name string) (*ColumnDesc, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// ColumnByID returns the column with ID id.
func (t *TableDesc) ColumnByID(id uint32) (*ColumnDesc, int, bool) {
	for i := range t.Columns {
		if t.Columns[i].ID == id {
			return &t.Columns[i], i, true
		}
	}
	return nil, -1, false
}

// AllIndexes returns the primary index followed by the secondary ones.
func (t *TableDesc) AllIndexes() []*IndexDesc {
	out := []*IndexDesc{&t.PrimaryIndex}
	for i := range t.Indexes {
		out = append(out, &t.Indexes[i])
	}
	return out
}

// Index returns the index named name.
func (t *TableDesc) Index(name string) (*IndexDesc, bool) {
	for _, idx := range t.AllIndexes() {
		if idx.Name == name {
			return idx, true
		}
	}
	return nil, false
}

// Keys of the catalog.
var (
	descIDKey         = keys.SystemKey("desc-id")
	catalogVersionKey = keys.SystemKey("catalog-version")
)

func namespaceKey(parent ID, name string) kvpb.Key {
	return kvpb.Key(keys.SystemKey("ns/" + strconv.FormatUint(parent, 10) + "/" + name))
}

func namespacePrefix(parent ID) kvpb.Key {
	return kvpb.Key(keys.SystemKey("ns/" + strconv.FormatUint(parent, 10) + "/"))
}

func descKey(id ID) kvpb.Key {
	return kvpb.Key(keys.SystemKey("desc/" + strconv.FormatUint(id, 10)))
}

// SequenceValueKey holds a sequence's last value.
func SequenceValueKey(id ID) kvpb.Key { return kvpb.Key(keys.IndexPrefix(id, 0)) }

func encodeUint(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeUint(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("catalog: corrupt counter (%d bytes)", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// Version returns the catalog version as of txn.
func Version(ctx context.Context, txn *kv.Txn) (uint64, error) {
	v, err := txn.Get(ctx, kvpb.Key(catalogVersionKey))
	if err != nil || v == nil {
		return 0, err
	}
	return decodeUint(v)
}

// bumpVersion marks a schema change in txn.
func bumpVersion(ctx context.Context, txn *kv.Txn) error {
	v, err := Version(ctx, txn)
	if err != nil {
		return err
	}
	return txn.Put(ctx, kvpb.Key(catalogVersionKey), encodeUint(v+1))
}

// AllocateID returns a fresh descriptor ID.
func AllocateID(ctx context.Context, txn *kv.Txn) (ID, error) {
	v, err := txn.Get(ctx, kvpb.Key(descIDKey))
	if err != nil {
		return 0, err
	}
	next := FirstUserID
	if v != nil {
		if next, err = decodeUint(v); err != nil {
			return 0, err
		}
	}
	if err := txn.Put(ctx, kvpb.Key(descIDKey), encodeUint(next+1)); err != nil {
		return 0, err
	}
	return next, nil
}

// LookupID resolves a name under parent (0 for databases).
func LookupID(ctx context.Context, txn *kv.Txn, parent ID, name string) (ID, bool, error) {
	v, err := txn.Get(ctx, namespaceKey(parent, name))
	if err != nil || v == nil {
		return 0, false, err
	}
	id, err := decodeUint(v)
	return id, err == nil, err
}

// Get reads a descriptor.
func Get(ctx context.Context, txn *kv.Txn, id ID) (*Descriptor, error) {
	v, err := txn.Get(ctx, descKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	d := &Descriptor{}
	if err := json.Unmarshal(v, d); err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.DataCorrupted, fmt.Sprintf("descriptor %d", id))
	}
	return d, nil
}

// List returns the descriptors named under parent, by name.
func List(ctx context.Context, txn *kv.Txn, parent ID) ([]*Descriptor, error) {
	p := namespacePrefix(parent)
	rows, err := txn.Scan(ctx, p, p.PrefixEnd(), 0)
	if err != nil {
		return nil, err
	}
	out := make([]*Descriptor, 0, len(rows))
	for _, r := range rows {
		id, err := decodeUint(r.Value)
		if err != nil {
			return nil, err
		}
		d, err := Get(ctx, txn, id)
		if err != nil {
			return nil, err
		}
		if d != nil {
			out = append(out, d)
		}
	}
	return out, nil
}

func (d *Descriptor) nameAndParent() (ID, ID, string) {
	switch d.Kind {
	case KindDatabase:
		return d.Database.ID, 0, d.Database.Name
	case KindTable:
		return d.Table.ID, d.Table.ParentID, d.Table.Name
	case KindSequence:
		return d.Sequence.ID, d.Sequence.ParentID, d.Sequence.Name
	}
	return 0, 0, ""
}

// Create stores a new descriptor and its name; the name must be free
// (ConditionalPut), else 42P07/42P04.
func Create(ctx context.Context, txn *kv.Txn, d *Descriptor) error {
	id, parent, name := d.nameAndParent()
	if err := txn.ConditionalPut(ctx, namespaceKey(parent, name), encodeUint(id), nil); err != nil {
		if isCondFailed(err) {
			if d.Kind == KindDatabase {
				return sqlerr.New(sqlerr.DuplicateDatabase, "database %q already exists", name)
			}
			return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", name)
		}
		return err
	}
	return Put(ctx, txn, d)
}

// Put overwrites a descriptor (its name entry is unchanged).
func Put(ctx context.Context, txn *kv.Txn, d *Descriptor) error {
	if d.Kind == KindTable {
		d.Table.Version++
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	id, _, _ := d.nameAndParent()
	if err := txn.Put(ctx, descKey(id), b); err != nil {
		return err
	}
	return bumpVersion(ctx, txn)
}

// Rename moves a descriptor to a new name under the same parent.
func Rename(ctx context.Context, txn *kv.Txn, d *Descriptor, newName string) error {
	id, parent, old := d.nameAndParent()
	if err := txn.ConditionalPut(ctx, namespaceKey(parent, newName), encodeUint(id), nil); err != nil {
		if isCondFailed(err) {
			return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", newName)
		}
		return err
	}
	if _, err := txn.Delete(ctx, namespaceKey(parent, old)); err != nil {
		return err
	}
	switch d.Kind {
	case KindTable:
		d.Table.Name = newName
	case KindSequence:
		d.Sequence.Name = newName
	case KindDatabase:
		d.Database.Name = newName
	}
	return Put(ctx, txn, d)
}

// Drop removes a descriptor and its name. The caller removes its data.
func Drop(ctx context.Context, txn *kv.Txn, d *Descriptor) error {
	id, parent, name := d.nameAndParent()
	if _, err := txn.Delete(ctx, namespaceKey(parent, name)); err != nil {
		return err
	}
	if _, err := txn.Delete(ctx, descKey(id)); err != nil {
		return err
	}
	if err := dropSpanConfig(ctx, txn, d); err != nil {
		return err
	}
	return bumpVersion(ctx, txn)
}
