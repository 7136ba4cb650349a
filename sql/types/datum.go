package types

import (
	"math/rand/v2"
	"time"

	"github.com/cockroachdb/apd/v3"
)

// Datum is one SQL value. The concrete types are DNull, DBool, DInt,
// DFloat, *DDecimal, DString, DBytes, DDate, DTimestamp, DTimestampTZ,
// DInterval, DUUID, *DJSON and DOid; the set is closed.
//
// A Datum does not know the modifiers or the width of the type it was
// stored as (a DInt may come from an int2 column): the planner tracks
// types, and functions whose result depends on them (AppendText for
// float4, EncodeBinary, Cast) take a *T. Datums are immutable values and
// safe to share between goroutines; pointer datums (*DDecimal, *DJSON)
// must not be modified after construction.
type Datum interface {
	// ResolvedType returns the default type of the value: Int8 for DInt,
	// Float8 for DFloat, Text for DString, JSONB or JSON for *DJSON,
	// Unknown for Null.
	ResolvedType() *T
	// String returns the text form (FormatText in UTC), for debugging and
	// tests.
	String() string
	isDatum()
}

// DNull is SQL NULL. Its only value is Null; compare with d == Null.
type DNull struct{}

// Null is the NULL datum.
var Null Datum = DNull{}

// DBool is a boolean.
type DBool bool

// DInt is an integer of any width (int2, int4, int8). Range checks against
// the declared width happen in casts and arithmetic.
type DInt int64

// DFloat is a float8 or a float4; a float4 value holds a float64 that is
// exactly a float32.
type DFloat float64

// DDecimal is an arbitrary-precision numeric.
//
// Invariant: a finite value has Exponent <= 0 and -Exponent is its display
// scale (PostgreSQL's dscale: 1.50 has Coeff 150, Exponent -2); Coeff is
// never negative (the sign is Negative) and zero is never negative. Forms
// NaN and Infinite (PostgreSQL 14+ allows ±Infinity) are the only others.
// Build values with the package's constructors, which normalize.
type DDecimal struct {
	apd.Decimal
}

// DString is text, varchar, bpchar or name: valid UTF-8 without NUL
// bytes. Values of char(n) are stored blank-padded to n.
type DString string

// DBytes is a bytea value. It is a string so that it is comparable and
// immutable; it may hold any bytes.
type DBytes string

// DDate is a date: days since 2000-01-01 (PostgreSQL's epoch), as in
// PostgreSQL's DateADT. math.MaxInt32 is 'infinity' and math.MinInt32
// '-infinity'; finite values lie in [MinDate, MaxDate].
type DDate int32

// DTimestamp is a timestamp without time zone: the wall-clock reading held
// as a UTC time.Time with microsecond precision. The instants
// TimestampPosInf and TimestampNegInf stand for 'infinity' and
// '-infinity'.
type DTimestamp struct {
	Time time.Time
}

// DTimestampTZ is a timestamp with time zone: an instant held in UTC with
// microsecond precision. It is rendered in the session's time zone.
// TimestampPosInf and TimestampNegInf stand for ±infinity.
type DTimestampTZ struct {
	Time time.Time
}

// DInterval is an interval with PostgreSQL's three independent fields.
// A month is not a fixed number of days and a day not a fixed number of
// microseconds (across DST changes); comparison uses 30-day months and
// 24-hour days.
type DInterval struct {
	Months int32
	Days   int32
	Micros int64
}

// DUUID is a uuid.
type DUUID [16]byte

// DOid is an object identifier (oid), an unsigned 32-bit integer.
type DOid uint32

// EvalContext is the session and statement state that evaluation depends
// on. It lives here rather than in sql/builtins because parsing and casting
// need it too ('now'::timestamptz, text in the session time zone). A nil
// *EvalContext is valid: UTC, and the current time.
//
// The zero value is usable; fields are read-only during evaluation, so an
// EvalContext may be shared by the goroutines of one statement (except
// Rand, see below).
type EvalContext struct {
	// Now is the transaction timestamp: now(), current_timestamp,
	// transaction_timestamp() and the input 'now'. Zero means time.Now()
	// at each use.
	Now time.Time
	// StmtTimestamp is statement_timestamp(); zero means Now.
	StmtTimestamp time.Time
	// Location is the session's TimeZone; nil means UTC.
	Location *time.Location
	// Rand supplies random() and gen_random_uuid(); nil uses the global
	// math/rand/v2 source. A *rand.Rand is not goroutine-safe.
	Rand *rand.Rand
	// Clock supplies clock_timestamp(); nil means time.Now.
	Clock func() time.Time
	// User is the session user (current_user, session_user).
	User string
}

// Loc returns the session time zone (UTC if unset). ctx may be nil.
func (ctx *EvalContext) Loc() *time.Location {
	if ctx == nil || ctx.Location == nil {
		return time.UTC
	}
	return ctx.Location
}

// TxnTime returns the transaction timestamp. ctx may be nil.
func (ctx *EvalContext) TxnTime() time.Time {
	if ctx == nil || ctx.Now.IsZero() {
		return time.Now()
	}
	return ctx.Now
}

// StmtTime returns the statement timestamp. ctx may be nil.
func (ctx *EvalContext) StmtTime() time.Time {
	if ctx != nil && !ctx.StmtTimestamp.IsZero() {
		return ctx.StmtTimestamp
	}
	return ctx.TxnTime()
}

// ClockTime returns the current wall-clock time. ctx may be nil.
func (ctx *EvalContext) ClockTime() time.Time {
	if ctx != nil && ctx.Clock != nil {
		return ctx.Clock()
	}
	return time.Now()
}

// Float64 returns a random number in [0, 1). ctx may be nil.
func (ctx *EvalContext) Float64() float64 {
	if ctx != nil && ctx.Rand != nil {
		return ctx.Rand.Float64()
	}
	return rand.Float64()
}

// Uint64 returns 64 random bits. ctx may be nil.
func (ctx *EvalContext) Uint64() uint64 {
	if ctx != nil && ctx.Rand != nil {
		return ctx.Rand.Uint64()
	}
	return rand.Uint64()
}

func (DNull) isDatum()        {}
func (DBool) isDatum()        {}
func (DInt) isDatum()         {}
func (DFloat) isDatum()       {}
func (*DDecimal) isDatum()    {}
func (DString) isDatum()      {}
func (DBytes) isDatum()       {}
func (DDate) isDatum()        {}
func (DTimestamp) isDatum()   {}
func (DTimestampTZ) isDatum() {}
func (DInterval) isDatum()    {}
func (DUUID) isDatum()        {}
func (*DJSON) isDatum()       {}
func (DOid) isDatum()         {}

// ResolvedType implements Datum: NULL is of unknown type.
func (DNull) ResolvedType() *T { return Unknown }

// ResolvedType implements Datum.
func (DBool) ResolvedType() *T { return Bool }

// ResolvedType implements Datum.
func (DInt) ResolvedType() *T { return Int8 }

// ResolvedType implements Datum.
func (DFloat) ResolvedType() *T { return Float8 }

// ResolvedType implements Datum.
func (*DDecimal) ResolvedType() *T { return Numeric }

// ResolvedType implements Datum.
func (DString) ResolvedType() *T { return Text }

// ResolvedType implements Datum.
func (DBytes) ResolvedType() *T { return Bytea }

// ResolvedType implements Datum.
func (DDate) ResolvedType() *T { return Date }

// ResolvedType implements Datum.
func (DTimestamp) ResolvedType() *T { return Timestamp }

// ResolvedType implements Datum.
func (DTimestampTZ) ResolvedType() *T { return TimestampTZ }

// ResolvedType implements Datum.
func (DInterval) ResolvedType() *T { return Interval }

// ResolvedType implements Datum.
func (DUUID) ResolvedType() *T { return UUID }

// ResolvedType implements Datum.
func (DOid) ResolvedType() *T { return Oid }

// String returns the text form (FormatText in UTC; "NULL" for Null).
func (d DNull) String() string        { return "NULL" }
func (d DBool) String() string        { return FormatText(d, time.UTC) }
func (d DInt) String() string         { return FormatText(d, time.UTC) }
func (d DFloat) String() string       { return FormatText(d, time.UTC) }
func (d *DDecimal) String() string    { return FormatText(d, time.UTC) }
func (d DString) String() string      { return string(d) }
func (d DBytes) String() string       { return FormatText(d, time.UTC) }
func (d DDate) String() string        { return FormatText(d, time.UTC) }
func (d DTimestamp) String() string   { return FormatText(d, time.UTC) }
func (d DTimestampTZ) String() string { return FormatText(d, time.UTC) }
func (d DInterval) String() string    { return FormatText(d, time.UTC) }
func (d DUUID) String() string        { return FormatText(d, time.UTC) }
func (d DOid) String() string         { return FormatText(d, time.UTC) }

// MakeDTimestamp returns t as a timestamp without time zone: its wall-clock
// reading in t's location, rounded to the microsecond.
func MakeDTimestamp(t time.Time) DTimestamp {
	y, mo, d := t.Date()
	w := time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return DTimestamp{Time: roundMicro(w)}
}

// MakeDTimestampTZ returns the instant t, rounded to the microsecond.
func MakeDTimestampTZ(t time.Time) DTimestampTZ {
	return DTimestampTZ{Time: roundMicro(t.UTC())}
}

// roundMicro rounds t to the microsecond, halves away from zero (as
// PostgreSQL rounds fractional seconds of input), and drops the monotonic
// clock reading.
func roundMicro(t time.Time) time.Time {
	return t.Round(time.Microsecond).Round(0)
}
