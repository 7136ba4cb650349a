package types

import (
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// TestTypeNamesAgainstPG checks ParseTypeName, Oid, TypeMod, SQLString
// (format_type) and Size (attlen) against pg_attribute on PostgreSQL 15
// (pgtypename_test.go).
func TestTypeNamesAgainstPG(t *testing.T) {
	for _, c := range pgTypeNameCases {
		typ, err := ParseTypeName(c.name)
		if err != nil {
			t.Errorf("%q: %v", c.name, err)
			continue
		}
		if typ.Oid() != c.oid || typ.TypeMod() != c.typmod || typ.SQLString() != c.format || typ.Size() != c.size {
			t.Errorf("%q: got oid %d typmod %d %q size %d, want %d %d %q %d", c.name,
				typ.Oid(), typ.TypeMod(), typ.SQLString(), typ.Size(), c.oid, c.typmod, c.format, c.size)
		}
		// (Oid, TypeMod) round-trips through MakeFromOid.
		back, err := MakeFromOid(typ.Oid(), typ.TypeMod())
		if err != nil || !back.Identical(typ) || back.SQLString() != typ.SQLString() {
			t.Errorf("%q: MakeFromOid(%d, %d) = %v, %v", c.name, typ.Oid(), typ.TypeMod(), back, err)
		}
		if o, ok := OidToType(c.oid); !ok || !o.Equal(typ) {
			t.Errorf("%q: OidToType(%d) = %v", c.name, c.oid, o)
		}
	}
}

func TestParseTypeNameErrors(t *testing.T) {
	for _, c := range []struct {
		name, code, msg string
	}{
		// Messages verified on PostgreSQL 15.
		{"foo", sqlerr.UndefinedObject, `type "foo" does not exist`},
		{"varchar(0)", sqlerr.InvalidParameterValue, "length for type varchar must be at least 1"},
		{"numeric(1001)", sqlerr.InvalidParameterValue, "NUMERIC precision 1001 must be between 1 and 1000"},
		{"time", sqlerr.UndefinedObject, `type "time" does not exist`},
		{"int[]", sqlerr.FeatureNotSupported, ""},
		{"int(3)", sqlerr.SyntaxError, ""},
		{"varchar(x)", sqlerr.SyntaxError, ""},
		{"", sqlerr.SyntaxError, ""},
		{"float(54)", sqlerr.InvalidParameterValue, "precision for type float must be less than 54 bits"},
	} {
		_, err := ParseTypeName(c.name)
		e := sqlerr.Convert(err)
		if err == nil || e.Code != c.code || (c.msg != "" && e.Message != c.msg) {
			t.Errorf("%q: got %v (%s), want %s %q", c.name, err, e.Code, c.code, c.msg)
		}
	}
	for name, serial := range map[string]bool{"serial": true, "BIGSERIAL": true, "smallserial": true, "serial8": true, "int": false, "serial(3)": false} {
		if IsSerialTypeName(name) != serial {
			t.Errorf("IsSerialTypeName(%q) != %v", name, serial)
		}
	}
}

func TestTypeIdentity(t *testing.T) {
	if !MakeVarchar(3).Equal(MakeVarchar(10)) || MakeVarchar(3).Identical(MakeVarchar(10)) {
		t.Error("varchar(3) vs varchar(10)")
	}
	if !MakeVarchar(3).Identical(MakeVarchar(3)) {
		t.Error("varchar(3) identical")
	}
	if Text.Equal(Varchar) || JSON.Equal(JSONB) || Int4.Equal(Int8) {
		t.Error("distinct types compare equal")
	}
	if !MakeNumeric(10, 2).Equal(Numeric) || MakeNumeric(10, 2).Identical(Numeric) {
		t.Error("numeric(10,2)")
	}
	if MakeTimestamp(0).Identical(Timestamp) || MakeTimestamp(0).TypeMod() != 0 {
		t.Error("timestamp(0) must differ from timestamp")
	}
	// Every predefined type's datum resolves to a type of its family.
	for _, d := range []Datum{DBool(true), DInt(1), DFloat(1), DecimalFromInt(1), DString("x"), DBytes("x"),
		DDate(0), DTimestamp{}, DTimestampTZ{}, DInterval{}, DUUID{}, DOid(1)} {
		if d.ResolvedType().Family == UnknownFamily {
			t.Errorf("%T resolves to unknown", d)
		}
	}
	if Null.ResolvedType() != Unknown {
		t.Error("NULL must resolve to unknown")
	}
}
