package rowenc

import (
	"bytes"
	"testing"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/types"
)

func testCodec(t *testing.T) *Codec {
	t.Helper()
	desc := &catalog.TableDesc{
		ID: 100, Name: "t",
		Columns: []catalog.ColumnDesc{
			{ID: 1, Name: "id", Type: "bigint"},
			{ID: 2, Name: "name", Type: "text", Nullable: true},
			{ID: 3, Name: "score", Type: "numeric(6,2)", Nullable: true},
			{ID: 4, Name: "email", Type: "character varying(20)", Nullable: true},
		},
		PrimaryIndex: catalog.IndexDesc{ID: 1, Name: "t_pkey", Unique: true, ColumnIDs: []uint32{1}, Descending: []bool{false}},
		Indexes: []catalog.IndexDesc{
			{ID: 2, Name: "t_email_key", Unique: true, ColumnIDs: []uint32{4}, Descending: []bool{false}},
			{ID: 3, Name: "t_name_idx", ColumnIDs: []uint32{2}, Descending: []bool{true}},
		},
	}
	ts := make([]*types.T, len(desc.Columns))
	for i, c := range desc.Columns {
		typ, err := types.ParseTypeName(c.Type)
		if err != nil {
			t.Fatal(err)
		}
		ts[i] = typ
	}
	return NewCodec(desc, ts)
}

func row(id int64, name, email types.Datum, score string) []types.Datum {
	var sc types.Datum = types.Null
	if score != "" {
		sc = types.MustParseDDecimal(score)
	}
	return []types.Datum{types.DInt(id), name, sc, email}
}

func equalRows(t *testing.T, a, b []types.Datum) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == types.Null) != (b[i] == types.Null) {
			return false
		}
		if a[i] == types.Null {
			continue
		}
		c, err := types.Compare(a[i], b[i])
		if err != nil || c != 0 {
			return false
		}
	}
	return true
}

func TestPrimaryRoundTrip(t *testing.T) {
	c := testCodec(t)
	for _, r := range [][]types.Datum{
		row(1, types.DString("ann"), types.DString("a@x"), "1.50"),
		row(-7, types.Null, types.Null, ""),
		row(1<<62, types.DString(""), types.DString("e"), "-9999.99"),
	} {
		k, err := c.PrimaryKey(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DecodePrimary(k, c.PrimaryValue(r))
		if err != nil {
			t.Fatal(err)
		}
		if !equalRows(t, got, r) {
			t.Fatalf("round trip: got %v, want %v", got, r)
		}
	}
}

func TestPrimaryKeysOrderByKey(t *testing.T) {
	c := testCodec(t)
	var prev kvpb.Key
	for _, id := range []int64{-100, -1, 0, 1, 2, 1000, 1 << 40} {
		k, err := c.PrimaryKey(row(id, types.Null, types.Null, ""))
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("key for %d does not sort after the previous one", id)
		}
		if !c.TableSpan().ContainsKey(k) || !c.IndexSpan(&c.Desc.PrimaryIndex).ContainsKey(k) {
			t.Fatalf("key for %d outside its spans", id)
		}
		prev = k
	}
}

func TestIndexEntries(t *testing.T) {
	c := testCodec(t)
	unique, nonUnique := &c.Desc.Indexes[0], &c.Desc.Indexes[1]
	r1 := row(1, types.DString("bob"), types.DString("b@x"), "")
	r2 := row(2, types.DString("bob"), types.DString("c@x"), "")
	// Unique index: the key is the indexed value alone, the value points
	// at the primary key.
	k1, v1, err := c.IndexEntry(unique, r1)
	if err != nil {
		t.Fatal(err)
	}
	got, pk, err := c.DecodeIndexEntry(unique, k1, v1)
	if err != nil {
		t.Fatal(err)
	}
	wantPK, _ := c.PrimaryKey(r1)
	if !bytes.Equal(pk, wantPK) || got[3] != r1[3] || got[0] != r1[0] {
		t.Fatalf("unique entry decodes to %v / %q", got, pk)
	}
	// Non-unique: equal values from two rows get distinct keys.
	a, _, _ := c.IndexEntry(nonUnique, r1)
	b, _, _ := c.IndexEntry(nonUnique, r2)
	if bytes.Equal(a, b) {
		t.Fatal("non-unique entries of two rows collide")
	}
	// NULLs in a unique index take the non-unique form: they never
	// collide.
	n1, _, _ := c.IndexEntry(unique, row(3, types.Null, types.Null, ""))
	n2, _, _ := c.IndexEntry(unique, row(4, types.Null, types.Null, ""))
	if bytes.Equal(n1, n2) {
		t.Fatal("NULLs collide in a unique index")
	}
}

func TestCorruptValuesError(t *testing.T) {
	c := testCodec(t)
	k, err := c.PrimaryKey(row(1, types.Null, types.Null, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]byte{{0x80}, {2}, {2, 0xff, 0xff}, {99, 1, 2, 3}, bytes.Repeat([]byte{0xff}, 20)} {
		if _, err := c.DecodePrimary(k, v); err == nil {
			t.Errorf("corrupt value %x decoded without error", v)
		}
	}
	if _, err := c.DecodePrimary(kvpb.Key("junk"), nil); err == nil {
		t.Error("a key outside the table decoded without error")
	}
}
