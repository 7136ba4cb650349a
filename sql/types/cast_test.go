package types

import (
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// TestCastAgainstPG runs explicit casts recorded from PostgreSQL 15
// (pgcast_test.go).
func TestCastAgainstPG(t *testing.T) {
	for _, c := range pgCastCases {
		from, err := ParseTypeName(c.from)
		if err != nil {
			t.Fatal(err)
		}
		to, err := ParseTypeName(c.to)
		if err != nil {
			t.Fatal(err)
		}
		ctx := mustLoc(t, c.tz)
		d, err := ParseText(from, c.in, ctx)
		if err != nil {
			t.Fatalf("%s %q: %v", c.from, c.in, err)
		}
		r, err := CastFrom(d, from, to, true, ctx)
		name := c.in + "::" + c.from + "::" + c.to
		if c.code != "" {
			if err == nil {
				t.Errorf("%s: got %q, want error %s %q", name, AppendText(nil, to, r, ctx.Loc()), c.code, c.msg)
			} else if e := sqlerr.Convert(err); e.Code != c.code || e.Message != c.msg {
				t.Errorf("%s: got %s %q, want %s %q", name, e.Code, e.Message, c.code, c.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := string(AppendText(nil, to, r, ctx.Loc())); got != c.out {
			t.Errorf("%s: got %q, want %q", name, got, c.out)
		}
	}
}

// TestAssignmentCasts: assignment (INSERT) semantics, verified on
// PostgreSQL 15 with INSERT INTO t(varchar(2) col) VALUES (...).
func TestAssignmentCasts(t *testing.T) {
	for _, c := range []struct {
		in   Datum
		from *T
		to   *T
		out  string
		code string
	}{
		{DString("abc"), Text, MakeVarchar(2), "", sqlerr.StringDataRightTruncation},
		{DString("ab   "), Text, MakeVarchar(2), "ab", ""},
		{DString("ab   "), Text, MakeBpchar(2), "ab", ""},
		{DString("a"), Text, MakeBpchar(3), "a  ", ""},
		{DString("héllo"), Text, MakeVarchar(5), "héllo", ""},
		{DString("abc"), Text, MakeBpchar(2), "", sqlerr.StringDataRightTruncation},
		{DInt(123), Int4, MakeVarchar(2), "", sqlerr.StringDataRightTruncation},
		{DInt(1), Int4, Bool, "", codeCannotCoerce}, // explicit only
		{DString("1"), Text, Int4, "", codeCannotCoerce},
		{DInt(5), Int8, Int4, "5", ""},
		{DFloat(2.5), Float8, Int4, "2", ""},
		{DBool(true), Bool, Text, "true", ""},
	} {
		r, err := CastFrom(c.in, c.from, c.to, false, nil)
		if c.code != "" {
			if sqlerr.Code(err) != c.code {
				t.Errorf("%v -> %s: got %v (%s), want %s", c.in, c.to, err, sqlerr.Code(err), c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v -> %s: %v", c.in, c.to, err)
			continue
		}
		if got := FormatText(r, nil); got != c.out {
			t.Errorf("%v -> %s: got %q, want %q", c.in, c.to, got, c.out)
		}
	}
	// The message names the type as PostgreSQL does.
	_, err := CastFrom(DString("abcd"), Text, MakeVarchar(3), false, nil)
	if msg := sqlerr.Convert(err).Message; msg != "value too long for type character varying(3)" {
		t.Errorf("message %q", msg)
	}
}

func TestCastContexts(t *testing.T) {
	for _, c := range []struct {
		from, to *T
		want     CastContext
		ok       bool
	}{
		{Int2, Int4, CastImplicit, true},
		{Int4, Int8, CastImplicit, true},
		{Int8, Int4, CastAssignment, true},
		{Int4, Numeric, CastImplicit, true},
		{Numeric, Float8, CastImplicit, true},
		{Float8, Numeric, CastAssignment, true},
		{Float4, Float8, CastImplicit, true},
		{Float8, Float4, CastAssignment, true},
		{Int8, Float4, CastImplicit, true},
		{Varchar, Text, CastImplicit, true},
		{Text, Varchar, CastImplicit, true},
		{Bpchar, Text, CastImplicit, true},
		{Name, Text, CastImplicit, true},
		{Unknown, Date, CastImplicit, true},
		{Date, Timestamp, CastImplicit, true},
		{Timestamp, TimestampTZ, CastImplicit, true},
		{TimestampTZ, Timestamp, CastAssignment, true},
		{Int4, Text, CastAssignment, true},
		{Text, Int4, CastExplicit, true},
		{Int4, Bool, CastExplicit, true},
		{Int8, Bool, 0, false},
		{JSON, JSONB, CastAssignment, true},
		{JSONB, Int4, CastExplicit, true},
		{JSON, Int4, 0, false},
		{Int4, Oid, CastImplicit, true},
		{Date, Int4, 0, false},
		{UUID, Bytea, 0, false},
		{MakeVarchar(3), MakeVarchar(10), CastImplicit, true},
	} {
		got, ok := LookupCast(c.from, c.to)
		if ok != c.ok || got != c.want {
			t.Errorf("%s -> %s: got %v,%v want %v,%v", c.from, c.to, got, ok, c.want, c.ok)
		}
		if CanCastImplicitly(c.from, c.to) != (c.ok && c.want == CastImplicit) {
			t.Errorf("CanCastImplicitly(%s, %s) wrong", c.from, c.to)
		}
	}
	if _, err := Cast(Null, Int4, false, nil); err != nil {
		t.Errorf("NULL cast: %v", err)
	}
}
