// Package rowenc maps table rows to kv pairs and back.
//
//	primary index:    /Table/<t>/1/<pk cols>            → value: (colID, datum)* of the other columns
//	secondary unique: /Table/<t>/<i>/<idx cols>         → value: <pk cols> key suffix
//	  (when an indexed column is NULL the entry takes the non-unique form,
//	   since NULLs never collide in PostgreSQL unique indexes)
//	secondary:        /Table/<t>/<i>/<idx cols>/<pk cols> → empty value
//
// Key columns use kv/encoding (order-preserving); values use the compact
// types.AppendValue form. NULL non-key columns are omitted from values.
package rowenc

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Codec encodes rows of one table; rows are in the order of desc.Columns.
type Codec struct {
	Desc  *catalog.TableDesc
	Types []*types.T
	// colIdx maps column ID to position in a row.
	colIdx map[uint32]int
	pkSet  map[uint32]bool
}

// NewCodec returns a codec; colTypes follow desc.Columns.
func NewCodec(desc *catalog.TableDesc, colTypes []*types.T) *Codec {
	c := &Codec{Desc: desc, Types: colTypes, colIdx: map[uint32]int{}, pkSet: map[uint32]bool{}}
	for i, col := range desc.Columns {
		c.colIdx[col.ID] = i
	}
	for _, id := range desc.PrimaryIndex.ColumnIDs {
		c.pkSet[id] = true
	}
	return c
}

// ColumnIndex returns the row position of column id.
func (c *Codec) ColumnIndex(id uint32) int { return c.colIdx[id] }

// IndexPrefix is the start of an index's keys.
func (c *Codec) IndexPrefix(idx *catalog.IndexDesc) kvpb.Key {
	return kvpb.Key(keys.IndexPrefix(c.Desc.ID, uint64(idx.ID)))
}

// TableSpan covers every key of the table.
func (c *Codec) TableSpan() kvpb.Span {
	p := kvpb.Key(keys.TablePrefix(c.Desc.ID))
	return kvpb.Span{Key: p, EndKey: p.PrefixEnd()}
}

// IndexSpan covers every key of one index.
func (c *Codec) IndexSpan(idx *catalog.IndexDesc) kvpb.Span {
	p := c.IndexPrefix(idx)
	return kvpb.Span{Key: p, EndKey: p.PrefixEnd()}
}

func (c *Codec) appendCols(b []byte, ids []uint32, desc []bool, row []types.Datum) ([]byte, bool, error) {
	hasNull := false
	for i, id := range ids {
		d := row[c.colIdx[id]]
		if d == types.Null {
			hasNull = true
		}
		var err error
		b, err = types.EncodeKey(b, d, i < len(desc) && desc[i])
		if err != nil {
			return nil, false, err
		}
	}
	return b, hasNull, nil
}

// EncodeKeyPrefix encodes values of the leading columns of idx (for spans).
func (c *Codec) EncodeKeyPrefix(idx *catalog.IndexDesc, vals []types.Datum) (kvpb.Key, error) {
	b := []byte(c.IndexPrefix(idx))
	for i, d := range vals {
		var err error
		b, err = types.EncodeKey(b, d, i < len(idx.Descending) && idx.Descending[i])
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// PrimaryKey returns the row's primary index key.
func (c *Codec) PrimaryKey(row []types.Datum) (kvpb.Key, error) {
	pk := &c.Desc.PrimaryIndex
	b, _, err := c.appendCols([]byte(c.IndexPrefix(pk)), pk.ColumnIDs, pk.Descending, row)
	return b, err
}

// PrimaryValue encodes the non-key columns.
func (c *Codec) PrimaryValue(row []types.Datum) []byte {
	b := []byte{}
	for i, col := range c.Desc.Columns {
		if c.pkSet[col.ID] || row[i] == types.Null {
			continue
		}
		b = binary.AppendUvarint(b, uint64(col.ID))
		b = types.AppendValue(b, row[i])
	}
	return b
}

// IndexEntry returns the key and value of row in a secondary index.
func (c *Codec) IndexEntry(idx *catalog.IndexDesc, row []types.Datum) (kvpb.Key, []byte, error) {
	b, hasNull, err := c.appendCols([]byte(c.IndexPrefix(idx)), idx.ColumnIDs, idx.Descending, row)
	if err != nil {
		return nil, nil, err
	}
	pk := &c.Desc.PrimaryIndex
	suffix, _, err := c.appendCols(nil, pk.ColumnIDs, pk.Descending, row)
	if err != nil {
		return nil, nil, err
	}
	if idx.Unique && !hasNull {
		return b, append([]byte{1}, suffix...), nil
	}
	return append(b, suffix...), []byte{}, nil
}

// DecodePrimary decodes a primary index kv pair into a full row.
func (c *Codec) DecodePrimary(key kvpb.Key, value []byte) ([]types.Datum, error) {
	row := make([]types.Datum, len(c.Desc.Columns))
	for i := range row {
		row[i] = types.Null
	}
	prefix := c.IndexPrefix(&c.Desc.PrimaryIndex)
	if !bytes.HasPrefix(key, prefix) {
		return nil, corrupt("primary key %q outside index", key)
	}
	if _, err := c.decodeCols(key[len(prefix):], c.Desc.PrimaryIndex.ColumnIDs, row); err != nil {
		return nil, err
	}
	for len(value) > 0 {
		id, n := binary.Uvarint(value)
		if n <= 0 {
			return nil, corrupt("bad column id in row value")
		}
		value = value[n:]
		i, ok := c.colIdx[uint32(id)]
		if !ok {
			// A dropped column: its value is skipped but must still decode
			// to find where the next one starts.
			return nil, corrupt("unknown column id %d in row value", id)
		}
		d, rest, err := types.DecodeValue(c.Types[i], value)
		if err != nil {
			return nil, err
		}
		row[i], value = d, rest
	}
	return row, nil
}

func (c *Codec) decodeCols(b []byte, ids []uint32, row []types.Datum) ([]byte, error) {
	for _, id := range ids {
		i := c.colIdx[id]
		d, rest, err := types.DecodeKey(c.Types[i], b)
		if err != nil {
			return nil, err
		}
		row[i], b = d, rest
	}
	return b, nil
}

// DecodeIndexEntry decodes a secondary index entry into a row holding the
// index and primary key columns (others NULL) and returns the primary key.
func (c *Codec) DecodeIndexEntry(idx *catalog.IndexDesc, key kvpb.Key, value []byte) ([]types.Datum, kvpb.Key, error) {
	row := make([]types.Datum, len(c.Desc.Columns))
	for i := range row {
		row[i] = types.Null
	}
	prefix := c.IndexPrefix(idx)
	if !bytes.HasPrefix(key, prefix) {
		return nil, nil, corrupt("index key %q outside index %s", key, idx.Name)
	}
	rest, err := c.decodeCols(key[len(prefix):], idx.ColumnIDs, row)
	if err != nil {
		return nil, nil, err
	}
	pkBytes := rest
	if len(value) > 0 && value[0] == 1 {
		pkBytes = value[1:]
	}
	if _, err := c.decodeCols(pkBytes, c.Desc.PrimaryIndex.ColumnIDs, row); err != nil {
		return nil, nil, err
	}
	pk := append(append(kvpb.Key(nil), c.IndexPrefix(&c.Desc.PrimaryIndex)...), pkBytes...)
	return row, pk, nil
}

func corrupt(format string, args ...any) error {
	return sqlerr.New(sqlerr.DataCorrupted, "%s", fmt.Sprintf(format, args...))
}
