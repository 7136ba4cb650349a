package types

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Family groups the SQL types that share one Datum representation. Several
// PostgreSQL types map to one family (int2/int4/int8 are IntFamily, text,
// varchar, bpchar and name are StringFamily); T tells them apart.
type Family int

// The families. Their numeric values are not persisted anywhere.
const (
	// UnknownFamily is the type of an untyped NULL or of a string literal
	// whose type has not been decided yet (PostgreSQL's "unknown").
	UnknownFamily Family = iota
	BoolFamily
	IntFamily
	FloatFamily
	DecimalFamily
	StringFamily
	BytesFamily
	DateFamily
	TimestampFamily
	TimestampTZFamily
	IntervalFamily
	UUIDFamily
	JSONFamily
	OidFamily
	numFamilies
)

var familyNames = [numFamilies]string{
	UnknownFamily:     "unknown",
	BoolFamily:        "bool",
	IntFamily:         "int",
	FloatFamily:       "float",
	DecimalFamily:     "decimal",
	StringFamily:      "string",
	BytesFamily:       "bytes",
	DateFamily:        "date",
	TimestampFamily:   "timestamp",
	TimestampTZFamily: "timestamptz",
	IntervalFamily:    "interval",
	UUIDFamily:        "uuid",
	JSONFamily:        "json",
	OidFamily:         "oid",
}

// String returns a short lower-case name of the family.
func (f Family) String() string {
	if f >= 0 && f < numFamilies {
		return familyNames[f]
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

// Variant distinguishes the PostgreSQL types that share a family and a
// Datum representation but have their own OID and behaviour.
type Variant uint8

// The variants. VariantDefault is text in StringFamily and jsonb in
// JSONFamily; other families only use VariantDefault.
const (
	VariantDefault Variant = iota
	// VariantVarchar is character varying(n).
	VariantVarchar
	// VariantBpchar is character(n) (bpchar): blank-padded to Width.
	VariantBpchar
	// VariantName is PostgreSQL's name (catalog identifiers).
	VariantName
	// VariantJSON is json: the input text is kept verbatim (jsonb, the
	// default, keeps a canonical form).
	VariantJSON
	// VariantRegclass, VariantRegtype, VariantRegproc and
	// VariantRegnamespace are the OID alias types of OidFamily: the datum
	// is a DOid; their text forms are names, which needs the catalog, so
	// the planner turns text conversions of them into catalog function
	// calls (this package formats them as plain numbers).
	VariantRegclass
	VariantRegtype
	VariantRegproc
	VariantRegnamespace
)

// MaxTimePrecision is the largest fractional-second precision of
// timestamp(p), timestamptz(p) and interval(p): microseconds.
const MaxTimePrecision = 6

// T describes the type of a column or an expression. A *T is immutable once
// built: share it, never modify it. The zero value of every modifier means
// "unconstrained", so a literal such as &T{Family: StringFamily} is plain
// text; prefer the predefined types and the Make* constructors.
type T struct {
	Family Family
	// Variant picks the PostgreSQL type within Family (varchar vs text,
	// json vs jsonb, ...).
	Variant Variant
	// Width is the size in bits of an int (16, 32, 64) or a float (32, 64),
	// or the maximum length in characters of varchar(n)/char(n), 0 meaning
	// unlimited. Invariant: ints and floats always have a non-zero Width in
	// types built by this package; a zero Width is read as 64.
	Width int32
	// Precision and Scale constrain numeric(p,s); Precision 0 means an
	// unconstrained numeric. PostgreSQL 15 allows -1000 <= Scale <= 1000.
	//
	// For timestamp(p), timestamptz(p) and interval(p), Precision is the
	// number of fractional-second digits kept (0..6), meaningful only when
	// HasPrecision is set.
	Precision int32
	Scale     int32
	// HasPrecision is set when a timestamp, timestamptz or interval type
	// was declared with an explicit precision (timestamp(0) differs from
	// timestamp). It is not used by numeric.
	HasPrecision bool
}

// The predefined types. They are shared: never modify them.
var (
	Unknown     = &T{Family: UnknownFamily}
	Bool        = &T{Family: BoolFamily}
	Int2        = &T{Family: IntFamily, Width: 16}
	Int4        = &T{Family: IntFamily, Width: 32}
	Int8        = &T{Family: IntFamily, Width: 64}
	Float4      = &T{Family: FloatFamily, Width: 32}
	Float8      = &T{Family: FloatFamily, Width: 64}
	Numeric     = &T{Family: DecimalFamily}
	Text        = &T{Family: StringFamily}
	Varchar     = &T{Family: StringFamily, Variant: VariantVarchar}
	Bpchar      = &T{Family: StringFamily, Variant: VariantBpchar}
	Name        = &T{Family: StringFamily, Variant: VariantName}
	Bytea       = &T{Family: BytesFamily}
	Date        = &T{Family: DateFamily}
	Timestamp   = &T{Family: TimestampFamily}
	TimestampTZ = &T{Family: TimestampTZFamily}
	Interval    = &T{Family: IntervalFamily}
	UUID        = &T{Family: UUIDFamily}
	JSONB       = &T{Family: JSONFamily}
	JSON        = &T{Family: JSONFamily, Variant: VariantJSON}
	Oid         = &T{Family: OidFamily}
)

// The OID alias types.
var (
	Regclass     = &T{Family: OidFamily, Variant: VariantRegclass}
	Regtype      = &T{Family: OidFamily, Variant: VariantRegtype}
	Regproc      = &T{Family: OidFamily, Variant: VariantRegproc}
	Regnamespace = &T{Family: OidFamily, Variant: VariantRegnamespace}
)

// PostgreSQL type OIDs (pg_type.oid) of the supported types.
const (
	OidBool        uint32 = 16
	OidBytea       uint32 = 17
	OidName        uint32 = 19
	OidInt8        uint32 = 20
	OidInt2        uint32 = 21
	OidInt4        uint32 = 23
	OidText        uint32 = 25
	OidOid         uint32 = 26
	OidJSON        uint32 = 114
	OidFloat4      uint32 = 700
	OidFloat8      uint32 = 701
	OidUnknown     uint32 = 705
	OidBpchar      uint32 = 1042
	OidVarchar     uint32 = 1043
	OidDate        uint32 = 1082
	OidTimestamp   uint32 = 1114
	OidTimestampTZ uint32 = 1184
	OidInterval    uint32 = 1186
	OidNumeric     uint32 = 1700
	OidUUID        uint32 = 2950
	OidJSONB       uint32 = 3802

	OidRegproc      uint32 = 24
	OidRegclass     uint32 = 2205
	OidRegtype      uint32 = 2206
	OidRegnamespace uint32 = 4089
)

var oidToType = map[uint32]*T{
	OidBool: Bool, OidBytea: Bytea, OidName: Name, OidInt8: Int8, OidInt2: Int2,
	OidInt4: Int4, OidText: Text, OidOid: Oid, OidJSON: JSON, OidFloat4: Float4,
	OidFloat8: Float8, OidUnknown: Unknown, OidBpchar: Bpchar, OidVarchar: Varchar,
	OidDate: Date, OidTimestamp: Timestamp, OidTimestampTZ: TimestampTZ,
	OidInterval: Interval, OidNumeric: Numeric, OidUUID: UUID, OidJSONB: JSONB,
	OidRegproc: Regproc, OidRegclass: Regclass, OidRegtype: Regtype, OidRegnamespace: Regnamespace,
}

// IsRegType reports whether t is one of the OID alias types (regclass,
// regtype, regproc, regnamespace), whose text form is a name.
func (t *T) IsRegType() bool { return t.Family == OidFamily && t.Variant != VariantDefault }

// OidToType returns the predefined type with the given PostgreSQL OID.
func OidToType(oid uint32) (*T, bool) {
	t, ok := oidToType[oid]
	return t, ok
}

// MakeVarchar returns varchar(n); n == 0 is unlimited varchar.
func MakeVarchar(n int32) *T {
	return &T{Family: StringFamily, Variant: VariantVarchar, Width: n}
}

// MakeBpchar returns character(n); n == 0 is unlimited bpchar.
func MakeBpchar(n int32) *T {
	return &T{Family: StringFamily, Variant: VariantBpchar, Width: n}
}

// MakeNumeric returns numeric(precision, scale); precision 0 is
// unconstrained numeric.
func MakeNumeric(precision, scale int32) *T {
	if precision == 0 {
		return Numeric
	}
	return &T{Family: DecimalFamily, Precision: precision, Scale: scale}
}

// MakeTimestamp returns timestamp(p).
func MakeTimestamp(p int32) *T {
	return &T{Family: TimestampFamily, Precision: p, HasPrecision: true}
}

// MakeTimestampTZ returns timestamptz(p).
func MakeTimestampTZ(p int32) *T {
	return &T{Family: TimestampTZFamily, Precision: p, HasPrecision: true}
}

// MakeInterval returns interval(p).
func MakeInterval(p int32) *T {
	return &T{Family: IntervalFamily, Precision: p, HasPrecision: true}
}

// MakeFromOid returns the type with the given OID and PostgreSQL type
// modifier (atttypmod, -1 for none): the inverse of (Oid(), TypeMod()).
// Catalog code can persist a type as that pair.
func MakeFromOid(oid uint32, typmod int32) (*T, error) {
	t, ok := oidToType[oid]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "type with OID %d does not exist", oid)
	}
	if typmod < 0 {
		return t, nil
	}
	switch oid {
	case OidVarchar, OidBpchar:
		if typmod < 5 {
			break
		}
		c := *t
		c.Width = typmod - 4
		return &c, nil
	case OidNumeric:
		if typmod < 4 {
			break
		}
		m := typmod - 4
		p := (m >> 16) & 0xffff
		s := m & 0x7ff
		if s&0x400 != 0 { // sign-extend the 11-bit scale
			s |= ^int32(0x7ff)
		}
		return validNumeric(p, s)
	case OidTimestamp, OidTimestampTZ:
		return validTimePrecision(t, typmod)
	case OidInterval:
		return validTimePrecision(t, typmod&0xffff)
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid type modifier %d for type %s", typmod, t.SQLString())
}

// Oid returns the PostgreSQL type OID.
func (t *T) Oid() uint32 {
	switch t.Family {
	case BoolFamily:
		return OidBool
	case IntFamily:
		switch t.Width {
		case 16:
			return OidInt2
		case 32:
			return OidInt4
		}
		return OidInt8
	case FloatFamily:
		if t.Width == 32 {
			return OidFloat4
		}
		return OidFloat8
	case DecimalFamily:
		return OidNumeric
	case StringFamily:
		switch t.Variant {
		case VariantVarchar:
			return OidVarchar
		case VariantBpchar:
			return OidBpchar
		case VariantName:
			return OidName
		}
		return OidText
	case BytesFamily:
		return OidBytea
	case DateFamily:
		return OidDate
	case TimestampFamily:
		return OidTimestamp
	case TimestampTZFamily:
		return OidTimestampTZ
	case IntervalFamily:
		return OidInterval
	case UUIDFamily:
		return OidUUID
	case JSONFamily:
		if t.Variant == VariantJSON {
			return OidJSON
		}
		return OidJSONB
	case OidFamily:
		switch t.Variant {
		case VariantRegclass:
			return OidRegclass
		case VariantRegtype:
			return OidRegtype
		case VariantRegproc:
			return OidRegproc
		case VariantRegnamespace:
			return OidRegnamespace
		}
		return OidOid
	}
	return OidUnknown
}

// intervalFullRange is PostgreSQL's INTERVAL_FULL_RANGE field mask, stored
// in the high half of an interval typmod.
const intervalFullRange = 0x7fff

// TypeMod returns PostgreSQL's type modifier (pg_attribute.atttypmod):
// n+4 for varchar(n)/char(n), ((p<<16)|s)+4 for numeric(p,s), p for
// timestamp(p), and -1 when the type has no modifier.
func (t *T) TypeMod() int32 {
	switch t.Family {
	case StringFamily:
		if (t.Variant == VariantVarchar || t.Variant == VariantBpchar) && t.Width > 0 {
			return t.Width + 4
		}
	case DecimalFamily:
		if t.Precision > 0 {
			return ((t.Precision << 16) | (t.Scale & 0x7ff)) + 4
		}
	case TimestampFamily, TimestampTZFamily:
		if t.HasPrecision {
			return t.Precision
		}
	case IntervalFamily:
		if t.HasPrecision {
			return intervalFullRange<<16 | t.Precision
		}
	}
	return -1
}

// Size returns PostgreSQL's typlen: the fixed size in bytes, -1 for
// variable-length types and -2 for unknown (a C string).
func (t *T) Size() int16 {
	switch t.Family {
	case BoolFamily:
		return 1
	case IntFamily, FloatFamily:
		switch t.Oid() {
		case OidInt2:
			return 2
		case OidInt4, OidFloat4:
			return 4
		}
		return 8
	case DateFamily, OidFamily:
		return 4
	case TimestampFamily, TimestampTZFamily:
		return 8
	case IntervalFamily, UUIDFamily:
		return 16
	case StringFamily:
		if t.Variant == VariantName {
			return 64 // NAMEDATALEN
		}
	case UnknownFamily:
		return -2
	}
	return -1
}

// SQLString returns the type as PostgreSQL's format_type(oid, typmod)
// prints it: "integer", "character varying(10)", "numeric(10,2)",
// "timestamp(3) with time zone", ...
func (t *T) SQLString() string {
	switch t.Family {
	case BoolFamily:
		return "boolean"
	case IntFamily, FloatFamily:
		switch t.Oid() {
		case OidInt2:
			return "smallint"
		case OidInt4:
			return "integer"
		case OidInt8:
			return "bigint"
		case OidFloat4:
			return "real"
		}
		return "double precision"
	case DecimalFamily:
		if t.Precision > 0 {
			return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale)
		}
		return "numeric"
	case StringFamily:
		switch t.Variant {
		case VariantVarchar:
			if t.Width > 0 {
				return fmt.Sprintf("character varying(%d)", t.Width)
			}
			return "character varying"
		case VariantBpchar:
			if t.Width > 0 {
				return fmt.Sprintf("character(%d)", t.Width)
			}
			return "bpchar"
		case VariantName:
			return "name"
		}
		return "text"
	case BytesFamily:
		return "bytea"
	case DateFamily:
		return "date"
	case TimestampFamily:
		if t.HasPrecision {
			return fmt.Sprintf("timestamp(%d) without time zone", t.Precision)
		}
		return "timestamp without time zone"
	case TimestampTZFamily:
		if t.HasPrecision {
			return fmt.Sprintf("timestamp(%d) with time zone", t.Precision)
		}
		return "timestamp with time zone"
	case IntervalFamily:
		if t.HasPrecision {
			return fmt.Sprintf("interval(%d)", t.Precision)
		}
		return "interval"
	case UUIDFamily:
		return "uuid"
	case JSONFamily:
		if t.Variant == VariantJSON {
			return "json"
		}
		return "jsonb"
	case OidFamily:
		switch t.Variant {
		case VariantRegclass:
			return "regclass"
		case VariantRegtype:
			return "regtype"
		case VariantRegproc:
			return "regproc"
		case VariantRegnamespace:
			return "regnamespace"
		}
		return "oid"
	}
	return "unknown"
}

// String returns SQLString().
func (t *T) String() string { return t.SQLString() }

// Equal reports whether t and o are the same PostgreSQL type (same OID),
// ignoring modifiers: varchar(3) equals varchar(10). This is the identity
// that operator and function resolution use.
func (t *T) Equal(o *T) bool {
	if t == o {
		return true
	}
	if t == nil || o == nil {
		return false
	}
	return t.Oid() == o.Oid()
}

// Identical reports whether t and o are the same type with the same
// modifiers (same OID and TypeMod).
func (t *T) Identical(o *T) bool {
	return t.Equal(o) && (t == o || t.TypeMod() == o.TypeMod())
}

// IsNumeric reports whether t is an int, float or numeric type.
func (t *T) IsNumeric() bool {
	switch t.Family {
	case IntFamily, FloatFamily, DecimalFamily:
		return true
	}
	return false
}

// WithoutModifiers returns the predefined type with t's OID (varchar(10)
// → varchar, numeric(10,2) → numeric).
func (t *T) WithoutModifiers() *T {
	if p, ok := oidToType[t.Oid()]; ok {
		return p
	}
	return t
}

const msgTypeDoesNotExist = "type \"%s\" does not exist"

// ParseTypeName parses a type name as users write it in DDL and casts,
// case-insensitively and tolerant of extra spaces: "int", "integer",
// "bigserial", "double precision", "numeric(10, 2)", "character
// varying(20)", "timestamp(3) with time zone", "pg_catalog.int4", ...
// Serial names return the underlying int type; see IsSerialTypeName. An
// unknown name is a 42704 error `type "foo" does not exist`; bad modifiers
// are 22023.
func ParseTypeName(s string) (*T, error) {
	name, mods, suffix, err := splitTypeName(s)
	if err != nil {
		return nil, err
	}
	full := name
	if suffix != "" {
		full = name + " " + suffix
	}
	var base *T
	switch full {
	case "bool", "boolean":
		base = Bool
	case "int2", "smallint", "smallserial", "serial2":
		base = Int2
	case "int", "int4", "integer", "serial", "serial4":
		base = Int4
	case "int8", "bigint", "bigserial", "serial8":
		base = Int8
	case "real", "float4":
		base = Float4
	case "float8", "double precision":
		base = Float8
	case "float":
		if len(mods) == 0 {
			return Float8, nil
		}
		if len(mods) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q", s)
		}
		switch p := mods[0]; {
		case p < 1:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "precision for type float must be at least 1 bit")
		case p <= 24:
			return Float4, nil
		case p <= 53:
			return Float8, nil
		default:
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "precision for type float must be less than 54 bits")
		}
	case "numeric", "decimal", "dec":
		switch len(mods) {
		case 0:
			return Numeric, nil
		case 1:
			return validNumeric(mods[0], 0)
		case 2:
			return validNumeric(mods[0], mods[1])
		}
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid NUMERIC type modifier")
	case "text":
		base = Text
	case "varchar", "character varying", "char varying":
		return stringWithLength(Varchar, "varchar", mods, 0)
	case "char", "character", "bpchar":
		def := int32(1)
		if full == "bpchar" {
			def = 0
		}
		return stringWithLength(Bpchar, "char", mods, def)
	case "name":
		base = Name
	case "bytea":
		base = Bytea
	case "date":
		base = Date
	case "timestamp", "timestamp without time zone":
		return timeWithPrecision(Timestamp, "TIMESTAMP", mods)
	case "timestamptz", "timestamp with time zone":
		return timeWithPrecision(TimestampTZ, "TIMESTAMP", mods)
	case "interval":
		return timeWithPrecision(Interval, "INTERVAL", mods)
	case "uuid":
		base = UUID
	case "json":
		base = JSON
	case "jsonb":
		base = JSONB
	case "oid":
		base = Oid
	case "regclass":
		base = Regclass
	case "regtype":
		base = Regtype
	case "regproc":
		base = Regproc
	case "regnamespace":
		base = Regnamespace
	case "unknown":
		base = Unknown
	default:
		return nil, sqlerr.New(sqlerr.UndefinedObject, msgTypeDoesNotExist, strings.TrimSpace(s))
	}
	if len(mods) > 0 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "type modifier is not allowed for type %q", full)
	}
	return base, nil
}

// IsSerialTypeName reports whether s names a serial pseudo-type
// (smallserial, serial, bigserial, serial2/4/8): a column of the int type
// ParseTypeName returns, NOT NULL, defaulting to a sequence.
func IsSerialTypeName(s string) bool {
	name, mods, suffix, err := splitTypeName(s)
	if err != nil || len(mods) > 0 || suffix != "" {
		return false
	}
	switch name {
	case "smallserial", "serial2", "serial", "serial4", "bigserial", "serial8":
		return true
	}
	return false
}

// splitTypeName lower-cases s, collapses spaces and splits it into the
// name words before the parenthesized modifiers, the integer modifiers and
// the words after them ("with time zone").
func splitTypeName(s string) (name string, mods []int32, suffix string, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "pg_catalog.")
	if strings.HasSuffix(s, "]") {
		return "", nil, "", sqlerr.New(sqlerr.FeatureNotSupported, "array types are not supported: %s", s)
	}
	head, tail := s, ""
	if i := strings.IndexByte(s, '('); i >= 0 {
		j := strings.IndexByte(s, ')')
		if j < i {
			return "", nil, "", sqlerr.New(sqlerr.SyntaxError, "syntax error in type name %q", s)
		}
		head, tail = s[:i], s[j+1:]
		for _, m := range strings.Split(s[i+1:j], ",") {
			m = strings.TrimSpace(m)
			v, perr := strconv.ParseInt(m, 10, 32)
			if perr != nil {
				return "", nil, "", sqlerr.New(sqlerr.SyntaxError, "syntax error in type modifier %q", m)
			}
			mods = append(mods, int32(v))
		}
	}
	name = strings.Join(strings.Fields(head), " ")
	suffix = strings.Join(strings.Fields(tail), " ")
	if name == "" {
		return "", nil, "", sqlerr.New(sqlerr.SyntaxError, "syntax error in type name %q", s)
	}
	return name, mods, suffix, nil
}

func validNumeric(p, s int32) (*T, error) {
	if p < 1 || p > 1000 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "NUMERIC precision %d must be between 1 and 1000", p)
	}
	if s < -1000 || s > 1000 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "NUMERIC scale %d must be between -1000 and 1000", s)
	}
	return &T{Family: DecimalFamily, Precision: p, Scale: s}, nil
}

func stringWithLength(base *T, sqlName string, mods []int32, def int32) (*T, error) {
	n := def
	switch len(mods) {
	case 0:
	case 1:
		n = mods[0]
		if n < 1 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "length for type %s must be at least 1", sqlName)
		}
		if n > 10485760 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "length for type %s cannot exceed 10485760", sqlName)
		}
	default:
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid type modifier")
	}
	if n == 0 {
		return base, nil
	}
	c := *base
	c.Width = n
	return &c, nil
}

func timeWithPrecision(base *T, sqlName string, mods []int32) (*T, error) {
	switch len(mods) {
	case 0:
		return base, nil
	case 1:
		if mods[0] < 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s(%d) precision must not be negative", sqlName, mods[0])
		}
		return validTimePrecision(base, mods[0])
	}
	return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid type modifier")
}

// validTimePrecision returns base with precision p, reduced to 6 as
// PostgreSQL does (with a warning there, silently here).
func validTimePrecision(base *T, p int32) (*T, error) {
	if p < 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "precision must not be negative")
	}
	if p > MaxTimePrecision {
		p = MaxTimePrecision
	}
	c := *base
	c.Precision, c.HasPrecision = p, true
	return &c, nil
}
