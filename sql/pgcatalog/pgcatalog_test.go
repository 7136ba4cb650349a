package pgcatalog

import (
	"testing"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/types"
)

// TestOIDs: user OIDs are at or above FirstNormalOID, distinct per object
// kind and descriptor, and decode back.
func TestOIDs(t *testing.T) {
	seen := map[uint32]string{}
	add := func(oid uint32, ok bool, what string) {
		t.Helper()
		if !ok {
			t.Fatalf("%s: no OID", what)
		}
		if oid < FirstNormalOID {
			t.Fatalf("%s: OID %d below %d", what, oid, FirstNormalOID)
		}
		if prev, dup := seen[oid]; dup {
			t.Fatalf("%s and %s share OID %d", what, prev, oid)
		}
		seen[oid] = what
	}
	for _, id := range []catalog.ID{catalog.FirstUserID, catalog.FirstUserID + 1, 5000, maxDescID} {
		add(RelOID(id), true, "rel")
		for _, idx := range []uint32{1, 2, 1023} {
			oid, ok := IndexOID(id, idx)
			add(oid, ok, "index")
			gotID, sub, _ := decodeOID(oid)
			if gotID != id || sub != idx {
				t.Fatalf("decode(%d) = %d/%d, want %d/%d", oid, gotID, sub, id, idx)
			}
			oid, ok = IndexConstraintOID(id, idx)
			add(oid, ok, "constraint")
		}
		oid, ok := CheckOID(id, 0)
		add(oid, ok, "check")
		oid, ok = AttrdefOID(id, 7)
		add(oid, ok, "attrdef")
		add(RowTypeOID(id), true, "rowtype")
	}
	if _, ok := IndexOID(1, 1024); ok {
		t.Fatal("an index ID past the block got an OID")
	}
	if _, ok := AttrdefOID(1, 1023); ok {
		t.Fatal("an attrdef past the block got an OID (it would be the row type's)")
	}
	if RelOID(maxDescID+1) != 0 {
		t.Fatal("a descriptor ID past the OID space got an OID")
	}
	if got := TableOID(virtualIDBase + 1259); got != 1259 {
		t.Fatalf("virtual table OID %d", got)
	}
}

func TestFormatExpr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"NOW()", "now()"},
		{"CURRENT_TIMESTAMP()", "CURRENT_TIMESTAMP"},
		{"nextval('s_seq')", "nextval('s_seq'::regclass)"},
		{`"price" >= 0`, "price >= 0"},
		{`"Weird Col" > 1`, `"Weird Col" > 1`},
		{"outpost_cast('1', 'integer')", "'1'::integer"},
		{"TRUE", "true"},
		{"'it''s'", "'it''s'"},
		{"LOWER(\"a\") = 'x'", "lower(a) = 'x'"},
	} {
		if got := formatExpr(c.in); got != c.want {
			t.Errorf("formatExpr(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := formatDefault("'x'", types.MakeVarchar(10)); got != "'x'::character varying" {
		t.Errorf("formatDefault = %q", got)
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"books": "books", "Books": `"Books"`, "order": `"order"`, "a b": `"a b"`, `x"y`: `"x""y"`, "_a1": "_a1", "1a": `"1a"`} {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitQualified(t *testing.T) {
	for in, want := range map[string]string{"public.Books": "public|books", `"My Table"`: "My Table", `pg_catalog."pg_class"`: "pg_catalog|pg_class"} {
		parts := splitQualified(in)
		got := ""
		for i, p := range parts {
			if i > 0 {
				got += "|"
			}
			got += p
		}
		if got != want {
			t.Errorf("splitQualified(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTableDefs: every virtual table has unique columns and a unique OID.
func TestTableDefs(t *testing.T) {
	oids := map[uint32]string{}
	for _, d := range append(tableDefs, extraDefs...) {
		if prev, dup := oids[d.oid]; dup {
			t.Errorf("%s and %s share OID %d", d.name, prev, d.oid)
		}
		oids[d.oid] = d.name
		if len(d.colIdx) != len(d.cols) {
			t.Errorf("%s has duplicate column names", d.name)
		}
		if d.oid >= FirstNormalOID {
			t.Errorf("%s: OID %d is in the user range", d.name, d.oid)
		}
	}
	for name := range generators {
		found := false
		for _, d := range append(tableDefs, extraDefs...) {
			if d.schema+"."+d.name == name {
				found = true
			}
		}
		if !found {
			t.Errorf("generator %s has no table", name)
		}
	}
}
