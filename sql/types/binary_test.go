package types

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// TestBinaryAgainstPG checks EncodeBinary against the bytes of
// PostgreSQL 15's send functions (pgbinary_test.go) and DecodeBinary
// against the text of the same values.
func TestBinaryAgainstPG(t *testing.T) {
	for _, c := range pgBinaryCases {
		typ, err := ParseTypeName(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseText(typ, c.text, nil)
		if err != nil {
			t.Fatalf("%s %q: %v", c.typ, c.text, err)
		}
		b, err := EncodeBinary(nil, typ, d)
		if err != nil {
			t.Errorf("%s %q: encode: %v", c.typ, c.text, err)
			continue
		}
		if got := hex.EncodeToString(b); got != c.hex {
			t.Errorf("%s %q: encoded %s, want %s", c.typ, c.text, got, c.hex)
		}
		raw, _ := hex.DecodeString(c.hex)
		d2, err := DecodeBinary(typ, raw)
		if err != nil {
			t.Errorf("%s %q: decode: %v", c.typ, c.text, err)
			continue
		}
		if got, want := string(AppendText(nil, typ, d2, nil)), string(AppendText(nil, typ, d, nil)); got != want {
			t.Errorf("%s %q: decoded %q, want %q", c.typ, c.text, got, want)
		}
	}
}

func TestDecodeBinaryErrors(t *testing.T) {
	for _, c := range []struct {
		typ  *T
		hex  string
		code string
	}{
		{Int4, "000001", sqlerr.InvalidBinaryRepresentation},
		{Int4, "0000000100", sqlerr.InvalidBinaryRepresentation},
		{Int2, "", sqlerr.InvalidBinaryRepresentation},
		{Int8, "00", sqlerr.InvalidBinaryRepresentation},
		{Float8, "3ff0", sqlerr.InvalidBinaryRepresentation},
		{Bool, "", sqlerr.InvalidBinaryRepresentation},
		{UUID, "00", sqlerr.InvalidBinaryRepresentation},
		{Interval, "00000000000000000000000000", sqlerr.InvalidBinaryRepresentation},
		{Numeric, "000100000000", sqlerr.InvalidBinaryRepresentation},             // short header
		{Numeric, "0001000000000000", sqlerr.InvalidBinaryRepresentation},         // missing digit
		{Numeric, "00010000123400002710", sqlerr.InvalidBinaryRepresentation},     // bad sign
		{Numeric, "00010000000000002710", sqlerr.InvalidBinaryRepresentation},     // digit 10000
		{Numeric, "0001000000008000", sqlerr.InvalidBinaryRepresentation},         // bad dscale (and length)
		{Numeric, "000100000000c0000001", sqlerr.InvalidBinaryRepresentation},     // dscale with high bits
		{Numeric, "ffff00000000000000000000", sqlerr.InvalidBinaryRepresentation}, // negative ndigits
		{Text, "c328", sqlerr.CharacterNotInRepertoire},
		{Text, "610062", sqlerr.CharacterNotInRepertoire},
		{JSONB, "027b7d", sqlerr.InvalidBinaryRepresentation},
		{JSONB, "", sqlerr.InvalidBinaryRepresentation},
		{JSONB, "017b", sqlerr.InvalidTextRepresentation},
		{Date, "7fffff00", sqlerr.DatetimeFieldOverflow},
		{Timestamp, "7fffffffffffff00", sqlerr.DatetimeFieldOverflow},
	} {
		b, _ := hex.DecodeString(c.hex)
		_, err := DecodeBinary(c.typ, b)
		if got := sqlerr.Code(err); got != c.code {
			t.Errorf("%s %s: got %v (%s), want %s", c.typ, c.hex, err, got, c.code)
		}
		if c.code == sqlerr.InvalidBinaryRepresentation && !errors.Is(err, ErrBinaryFormat) {
			t.Errorf("%s %s: %v does not wrap ErrBinaryFormat", c.typ, c.hex, err)
		}
	}
	// The UTF-8 message names the offending bytes, as PostgreSQL.
	_, err := DecodeBinary(Text, []byte("a\xc3\x28"))
	if msg := sqlerr.Convert(err).Message; msg != `invalid byte sequence for encoding "UTF8": 0xc3 0x28` {
		t.Errorf("message %q", msg)
	}
}

func TestNumericBinaryTruncatesToDscale(t *testing.T) {
	// 1.2345 sent with dscale 2 reads as 1.23 (PostgreSQL truncates).
	b, _ := hex.DecodeString("000200000000000200010929")
	d, err := DecodeBinary(Numeric, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatText(d, nil); got != "1.23" {
		t.Errorf("got %s", got)
	}
}
