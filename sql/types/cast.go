package types

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// codeCannotCoerce is SQLSTATE 42846 (cannot_coerce), which sqlerr does not
// name.
const codeCannotCoerce = "42846"

// CastContext is where a cast may be applied without being written,
// as PostgreSQL's pg_cast.castcontext.
type CastContext uint8

// The contexts, from most to least permissive. A cast allowed implicitly
// is also allowed in assignments and explicitly.
const (
	// CastImplicit casts apply anywhere, e.g. int4 → int8 when resolving
	// an operator.
	CastImplicit CastContext = iota + 1
	// CastAssignment casts apply when storing into a column (INSERT,
	// UPDATE) and explicitly, e.g. int8 → int4, any type → text.
	CastAssignment
	// CastExplicit casts need CAST(x AS t) or x::t, e.g. text → int4.
	CastExplicit
)

// LookupCast reports whether a value of type from can be cast to type to
// at all, and in which contexts (see CastContext). Casts between the same
// type (a length coercion such as varchar(10) → varchar(3)) are implicit.
func LookupCast(from, to *T) (CastContext, bool) {
	if from.Oid() == to.Oid() {
		return CastImplicit, true
	}
	ff, tf := from.Family, to.Family
	if ff == UnknownFamily {
		return CastImplicit, true
	}
	if tf == StringFamily {
		if ff == StringFamily {
			return CastImplicit, true
		}
		// Automatic I/O conversion to a string type.
		return CastAssignment, true
	}
	if ff == StringFamily {
		if tf == UnknownFamily {
			return 0, false
		}
		return CastExplicit, true // I/O conversion from text
	}
	switch ff {
	case BoolFamily:
		if tf == IntFamily && intWidth(to) == 32 { // only bool ↔ int4, as PostgreSQL
			return CastExplicit, true
		}
	case IntFamily:
		switch tf {
		case IntFamily:
			if intWidth(to) >= intWidth(from) {
				return CastImplicit, true
			}
			return CastAssignment, true
		case FloatFamily, DecimalFamily, OidFamily:
			return CastImplicit, true
		case BoolFamily:
			if intWidth(from) == 32 {
				return CastExplicit, true
			}
		}
	case FloatFamily:
		switch tf {
		case FloatFamily:
			if to.Width != 32 || from.Width == 32 {
				return CastImplicit, true
			}
			return CastAssignment, true
		case IntFamily, DecimalFamily:
			return CastAssignment, true
		}
	case DecimalFamily:
		switch tf {
		case FloatFamily:
			return CastImplicit, true
		case IntFamily:
			return CastAssignment, true
		}
	case DateFamily:
		switch tf {
		case TimestampFamily, TimestampTZFamily:
			return CastImplicit, true
		}
	case TimestampFamily:
		switch tf {
		case TimestampTZFamily:
			return CastImplicit, true
		case DateFamily:
			return CastAssignment, true
		}
	case TimestampTZFamily:
		switch tf {
		case TimestampFamily, DateFamily:
			return CastAssignment, true
		}
	case JSONFamily:
		switch tf {
		case JSONFamily:
			return CastAssignment, true
		case BoolFamily, IntFamily, FloatFamily, DecimalFamily:
			if from.Variant != VariantJSON {
				return CastExplicit, true
			}
		}
	case OidFamily:
		switch tf {
		case IntFamily:
			return CastAssignment, true
		case OidFamily:
			// oid and its alias types (regclass, ...) are binary-coercible.
			return CastImplicit, true
		}
	}
	return 0, false
}

// CanCastImplicitly reports whether from converts to to implicitly (for
// function and operator resolution): int2 → int4 → int8 → numeric →
// float4 → float8, int → oid, date → timestamp → timestamptz, text ↔
// varchar ↔ bpchar ↔ name, unknown → anything.
func CanCastImplicitly(from, to *T) bool {
	c, ok := LookupCast(from, to)
	return ok && c == CastImplicit
}

func intWidth(t *T) int32 {
	if t.Width == 0 {
		return 64
	}
	return t.Width
}

func errCannotCast(from, to *T) error {
	return sqlerr.New(codeCannotCoerce, "cannot cast type %s to %s", from.SQLString(), to.SQLString())
}

// Cast converts d to type to, as CastFrom with d's resolved type as the
// source and a context holding only loc. explicit selects an explicit cast
// (x::t: strings are truncated to varchar(n), explicit-only casts allowed)
// rather than an assignment (INSERT: too-long strings are an error).
func Cast(d Datum, to *T, explicit bool, loc *time.Location) (Datum, error) {
	return CastFrom(d, nil, to, explicit, &EvalContext{Location: loc})
}

// CastFrom converts d, a value of type from (nil means d.ResolvedType()),
// to type to, following PostgreSQL: numeric conversions round (floats half
// to even, numerics half away from zero) and check ranges (22003);
// numeric(p,s), timestamp(p) and interval(p) modifiers apply; strings
// convert through text input and output; varchar(n)/char(n) truncate on an
// explicit cast and fail with 22001 on assignment unless the excess is
// spaces; char(n) pads; a bpchar loses its trailing spaces when cast to
// another string type. A cast that does not exist, or needs explicit when
// explicit is false, is 42846 `cannot cast type X to Y`. NULL casts to
// NULL. ctx may be nil.
func CastFrom(d Datum, from, to *T, explicit bool, ctx *EvalContext) (Datum, error) {
	if d == Null {
		return Null, nil
	}
	if from == nil {
		from = d.ResolvedType()
	}
	c, ok := LookupCast(from, to)
	if !ok || (c == CastExplicit && !explicit) {
		return nil, errCannotCast(from, to)
	}
	r, err := castDatum(d, from, to, explicit, ctx)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func castDatum(d Datum, from, to *T, explicit bool, ctx *EvalContext) (Datum, error) {
	// Text input: strings (and unknown literals) convert to anything with
	// the target's input function.
	if s, ok := d.(DString); ok && to.Family != StringFamily {
		return ParseText(to, string(s), ctx)
	}
	switch to.Family {
	case UnknownFamily:
		return d, nil
	case BoolFamily:
		switch v := d.(type) {
		case DBool:
			return v, nil
		case DInt:
			return DBool(v != 0), nil
		case *DJSON:
			jv := v.Value()
			if jv.Kind != JSONBool {
				return nil, errJSONBCast(jv, to)
			}
			return DBool(jv.Bool), nil
		}
	case IntFamily:
		w := intWidth(to)
		switch v := d.(type) {
		case DInt:
			if !intFits(int64(v), w) {
				return nil, errIntOutOfRange(w)
			}
			return v, nil
		case DFloat:
			i, err := FloatToInt(float64(v), w)
			return DInt(i), err
		case *DDecimal:
			i, err := DecimalToInt(v, w)
			return DInt(i), err
		case DBool:
			if v {
				return DInt(1), nil
			}
			return DInt(0), nil
		case DOid:
			if w != 64 {
				return DInt(int32(v)), nil // oid → int4 wraps, as PostgreSQL
			}
			return DInt(v), nil
		case *DJSON:
			jv := v.Value()
			if jv.Kind != JSONNumber {
				return nil, errJSONBCast(jv, to)
			}
			i, err := DecimalToInt(jv.Num, w)
			return DInt(i), err
		}
	case FloatFamily:
		var f float64
		switch v := d.(type) {
		case DInt:
			f = float64(v)
		case DFloat:
			f = float64(v)
		case *DDecimal:
			var err error
			if f, err = DecimalToFloat(v); err != nil {
				return nil, err
			}
		case *DJSON:
			jv := v.Value()
			if jv.Kind != JSONNumber {
				return nil, errJSONBCast(jv, to)
			}
			var err error
			if f, err = DecimalToFloat(jv.Num); err != nil {
				return nil, err
			}
		default:
			return nil, errCannotCast(from, to)
		}
		if to.Width == 32 {
			r, err := floatToFloat4(f)
			return DFloat(r), err
		}
		return DFloat(f), nil
	case DecimalFamily:
		var dec *DDecimal
		switch v := d.(type) {
		case DInt:
			dec = DecimalFromInt(int64(v))
		case DFloat:
			digits := 15
			if from.Family == FloatFamily && from.Width == 32 {
				digits = 6
			}
			var err error
			if dec, err = FloatToDecimal(float64(v), digits); err != nil {
				return nil, err
			}
		case *DDecimal:
			dec = v
		case *DJSON:
			jv := v.Value()
			if jv.Kind != JSONNumber {
				return nil, errJSONBCast(jv, to)
			}
			dec = jv.Num
		default:
			return nil, errCannotCast(from, to)
		}
		return applyNumericTypmod(dec, to)
	case StringFamily:
		var s string
		switch v := d.(type) {
		case DString:
			s = string(v)
			if from.Family == StringFamily && from.Variant == VariantBpchar && to.Variant != VariantBpchar {
				s = strings.TrimRight(s, " ")
			}
		case DBool:
			// bool → text is booltext ("true"), not boolout ("t").
			if v {
				s = "true"
			} else {
				s = "false"
			}
		default:
			s = string(AppendText(nil, from, d, ctx.Loc()))
		}
		return castString(DString(s), to, explicit)
	case BytesFamily:
		if v, ok := d.(DBytes); ok {
			return v, nil
		}
	case DateFamily:
		switch v := d.(type) {
		case DDate:
			return v, nil
		case DTimestamp:
			return dateOfMicros(timeToMicros(v.Time)), nil
		case DTimestampTZ:
			wall, _ := UTCToLocalMicros(timeToMicros(v.Time), ctx.Loc())
			return dateOfMicros(wall), nil
		}
	case TimestampFamily:
		switch v := d.(type) {
		case DTimestamp:
			return roundTimestamp(v, to)
		case DDate:
			us, err := DateToMicros(v)
			if err != nil {
				return nil, err
			}
			return roundTimestamp(DTimestamp{Time: microsToTime(us)}, to)
		case DTimestampTZ:
			wall, _ := UTCToLocalMicros(timeToMicros(v.Time), ctx.Loc())
			ts, err := MakeTimestampFromMicros(wall)
			if err != nil {
				return nil, err
			}
			return roundTimestamp(ts, to)
		}
	case TimestampTZFamily:
		var us int64
		switch v := d.(type) {
		case DTimestampTZ:
			us = timeToMicros(v.Time)
		case DDate:
			wall, err := DateToMicros(v)
			if err != nil {
				return nil, err
			}
			us = LocalToUTCMicros(wall, ctx.Loc())
		case DTimestamp:
			us = LocalToUTCMicros(timeToMicros(v.Time), ctx.Loc())
		default:
			return nil, errCannotCast(from, to)
		}
		ts, err := MakeTimestampFromMicros(us)
		if err != nil {
			return nil, err
		}
		r, err := roundTimestamp(ts, to)
		return DTimestampTZ(r), err
	case IntervalFamily:
		if v, ok := d.(DInterval); ok {
			return roundInterval(v, to), nil
		}
	case UUIDFamily:
		if v, ok := d.(DUUID); ok {
			return v, nil
		}
	case JSONFamily:
		if v, ok := d.(*DJSON); ok {
			if to.Variant == VariantJSON {
				return v.ToJSON(), nil
			}
			return v.ToJSONB()
		}
	case OidFamily:
		switch v := d.(type) {
		case DOid:
			return v, nil
		case DInt:
			if v < math.MinInt32 || v > math.MaxUint32 {
				return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "OID out of range")
			}
			return DOid(uint32(v)), nil
		}
	}
	return nil, errCannotCast(from, to)
}

func errJSONBCast(v JSONValue, to *T) error {
	kind := v.Kind.String()
	if v.Kind == JSONNumber {
		kind = "numeric"
	}
	return sqlerr.New(sqlerr.InvalidParameterValue, "cannot cast jsonb %s to type %s", kind, to.SQLString())
}

// dateOfMicros returns the date of a wall-clock timestamp.
func dateOfMicros(us int64) DDate {
	switch us {
	case math.MaxInt64:
		return DatePosInf
	case math.MinInt64:
		return DateNegInf
	}
	return DDate(floorDiv(us, usPerDay))
}

// castString applies a string type's length: varchar(n) and char(n)
// truncate when explicit, and otherwise fail with 22001 unless only spaces
// are cut; char(n) pads with spaces; name truncates to 63 bytes.
func castString(s DString, to *T, explicit bool) (Datum, error) {
	if to.Family != StringFamily {
		return s, nil
	}
	switch to.Variant {
	case VariantName:
		const maxName = 63 // NAMEDATALEN - 1
		if len(s) > maxName {
			n := maxName
			for n > 0 && !utf8.RuneStart(s[n]) {
				n--
			}
			s = s[:n]
		}
		return s, nil
	case VariantVarchar, VariantBpchar:
	default:
		return s, nil
	}
	n := int(to.Width)
	if n <= 0 {
		return s, nil
	}
	// Find the byte offset of the n-th character.
	cut, chars := len(s), 0
	for i := range string(s) {
		if chars == n {
			cut = i
			break
		}
		chars++
	}
	if cut < len(s) {
		if !explicit && strings.Trim(string(s[cut:]), " ") != "" {
			return nil, sqlerr.New(sqlerr.StringDataRightTruncation, "value too long for type %s", to.SQLString())
		}
		return s[:cut], nil
	}
	if to.Variant == VariantBpchar && chars < n {
		return s + DString(strings.Repeat(" ", n-chars)), nil
	}
	return s, nil
}
