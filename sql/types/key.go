package types

import (
	"math"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/encoding"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// EncodeKey appends the order-preserving key encoding of d (see
// kv/encoding), ascending or descending: bytes.Compare of two encodings
// has the sign of Compare of the values (reversed for desc), and NULL
// sorts first ascending (last descending).
//
// Keys are not value-preserving where Compare equates distinct values:
// numerics lose their scale (1.50 and 1.5 encode alike; DecodeKey
// restores the scale of a numeric(p,s) column, not of an unconstrained
// numeric), -0 floats become 0, intervals keep only their span ('1 mon'
// and '30 days' encode alike), and json is encoded as its canonical text
// (bytes, so the order is that of Compare, not PostgreSQL's jsonb order).
// A row encoder that needs the exact value must also store it in the
// value.
func EncodeKey(b []byte, d Datum, desc bool) ([]byte, error) {
	dir := encoding.Ascending
	if desc {
		dir = encoding.Descending
	}
	switch v := d.(type) {
	case DNull:
		return encoding.EncodeNull(b, dir), nil
	case DBool:
		return encoding.EncodeBool(b, bool(v), dir), nil
	case DInt:
		return encoding.EncodeInt(b, int64(v), dir), nil
	case DOid:
		return encoding.EncodeInt(b, int64(v), dir), nil
	case DFloat:
		return encoding.EncodeFloat(b, float64(v), dir), nil
	case *DDecimal:
		return encoding.EncodeDecimal(b, &v.Decimal, dir), nil
	case DString:
		return encoding.EncodeString(b, string(v), dir), nil
	case DBytes:
		return encoding.EncodeBytes(b, []byte(v), dir), nil
	case DDate:
		return encoding.EncodeDate(b, int64(v)-unixEpochDays, dir), nil
	case DTimestamp:
		return encoding.EncodeTime(b, v.Time, dir), nil
	case DTimestampTZ:
		return encoding.EncodeTime(b, v.Time, dir), nil
	case DInterval:
		days, us := intervalSpan(v)
		b = encoding.EncodeInt(b, days, dir)
		return encoding.EncodeInt(b, us, dir), nil
	case DUUID:
		return encoding.EncodeUUID(b, uuid.UUID(v), dir), nil
	case *DJSON:
		return encoding.EncodeBytes(b, []byte(v.canonical()), dir), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot encode %T as a key", d)
}

// DecodeKey decodes one value of type t written by EncodeKey (either
// direction) from the start of b, returning the rest. See EncodeKey for
// what a key does not preserve; an interval decodes with its span spread
// as justify_interval would (30-day months). Corrupt input is an error
// wrapping ErrCorruptValue (SQLSTATE XX001); DecodeKey never panics.
func DecodeKey(t *T, b []byte) (Datum, []byte, error) {
	if rest, isNull := encoding.DecodeIfNull(b); isNull {
		return Null, rest, nil
	}
	wrap := func(err error) error { return corruptValue("key: %v", err) }
	switch t.Family {
	case BoolFamily:
		rest, v, err := encoding.DecodeBool(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		return DBool(v), rest, nil
	case IntFamily:
		rest, v, err := encoding.DecodeInt(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		return DInt(v), rest, nil
	case OidFamily:
		rest, v, err := encoding.DecodeInt(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		if v < 0 || v > math.MaxUint32 {
			return nil, nil, corruptValue("key: oid %d", v)
		}
		return DOid(v), rest, nil
	case FloatFamily:
		rest, v, err := encoding.DecodeFloat(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		return DFloat(v), rest, nil
	case DecimalFamily:
		rest, v, err := encoding.DecodeDecimal(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		d := &DDecimal{}
		d.Set(v)
		if d.Form == apd.Finite && d.NumDigits()+int64(d.Exponent) > maxNumericIntDigits {
			return nil, nil, corruptValue("key: decimal too large")
		}
		if d.Form == apd.Finite && -d.Exponent > maxNumericScale {
			return nil, nil, corruptValue("key: decimal scale")
		}
		if err := normalizeDecimal(&d.Decimal); err != nil {
			return nil, nil, wrap(err)
		}
		if t.Precision > 0 && d.Form == apd.Finite {
			d = RoundDecimal(d, t.Scale)
		}
		return d, rest, nil
	case StringFamily, UnknownFamily:
		rest, v, err := encoding.DecodeString(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		if !utf8.ValidString(v) {
			return nil, nil, corruptValue("key: string is not UTF-8")
		}
		return DString(v), rest, nil
	case BytesFamily:
		rest, v, err := encoding.DecodeBytes(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		return DBytes(v), rest, nil
	case DateFamily:
		rest, v, err := encoding.DecodeDate(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		days := v + unixEpochDays
		if !validDate(days) {
			return nil, nil, corruptValue("key: date out of range")
		}
		return DDate(days), rest, nil
	case TimestampFamily, TimestampTZFamily:
		rest, v, err := encoding.DecodeTime(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		if v.Nanosecond()%1000 != 0 {
			return nil, nil, corruptValue("key: timestamp has nanoseconds")
		}
		us := timeToMicros(v)
		if !(timestampMicrosValid(us) || us == math.MaxInt64 || us == math.MinInt64) {
			return nil, nil, corruptValue("key: timestamp out of range")
		}
		ts := microsToTime(us)
		if t.Family == TimestampFamily {
			return DTimestamp{Time: ts}, rest, nil
		}
		return DTimestampTZ{Time: ts}, rest, nil
	case IntervalFamily:
		rest, days, err := encoding.DecodeInt(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		rest, us, err := encoding.DecodeInt(rest)
		if err != nil {
			return nil, nil, wrap(err)
		}
		if us < 0 || us >= usPerDay {
			return nil, nil, corruptValue("key: interval time part")
		}
		months := days / 30
		if months > math.MaxInt32 || months < math.MinInt32 {
			return nil, nil, corruptValue("key: interval out of range")
		}
		return DInterval{Months: int32(months), Days: int32(days - months*30), Micros: us}, rest, nil
	case UUIDFamily:
		rest, v, err := encoding.DecodeUUID(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		return DUUID(v), rest, nil
	case JSONFamily:
		rest, v, err := encoding.DecodeBytes(b)
		if err != nil {
			return nil, nil, wrap(err)
		}
		j, err := ParseJSONB(string(v))
		if err != nil {
			return nil, nil, wrap(err)
		}
		if t.Variant == VariantJSON {
			j = j.ToJSON()
		}
		return j, rest, nil
	}
	return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot decode a key of type %s", t.SQLString())
}
