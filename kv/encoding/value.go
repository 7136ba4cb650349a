package encoding

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/google/uuid"
)

// Value is a decoded value. Only the field matching Type is meaningful; the
// zero Value is NULL. Scalars are held unboxed so decoding them does not
// allocate.
type Value struct {
	Type    Type
	Bool    bool         // TypeBool
	Int     int64        // TypeInt; TypeDate: days since 1970-01-01
	Uint    uint64       // TypeUint
	Float   float64      // TypeFloat
	Decimal *apd.Decimal // TypeDecimal; never nil for a decimal
	Str     string       // TypeString
	Bytes   []byte       // TypeBytes
	Time    time.Time    // TypeTime
	UUID    uuid.UUID    // TypeUUID
}

// NullValue returns the NULL Value (the zero Value).
func NullValue() Value { return Value{} }

// BoolValue returns a TypeBool Value.
func BoolValue(v bool) Value { return Value{Type: TypeBool, Bool: v} }

// IntValue returns a TypeInt Value.
func IntValue(v int64) Value { return Value{Type: TypeInt, Int: v} }

// UintValue returns a TypeUint Value.
func UintValue(v uint64) Value { return Value{Type: TypeUint, Uint: v} }

// FloatValue returns a TypeFloat Value.
func FloatValue(v float64) Value { return Value{Type: TypeFloat, Float: v} }

// DecimalValue returns a TypeDecimal Value; v must not be nil.
func DecimalValue(v *apd.Decimal) Value { return Value{Type: TypeDecimal, Decimal: v} }

// StringValue returns a TypeString Value.
func StringValue(v string) Value { return Value{Type: TypeString, Str: v} }

// BytesValue returns a TypeBytes Value.
func BytesValue(v []byte) Value { return Value{Type: TypeBytes, Bytes: v} }

// TimeValue returns a TypeTime Value.
func TimeValue(v time.Time) Value { return Value{Type: TypeTime, Time: v} }

// DateValue returns a TypeDate Value for days since 1970-01-01.
func DateValue(days int64) Value { return Value{Type: TypeDate, Int: days} }

// UUIDValue returns a TypeUUID Value.
func UUIDValue(v uuid.UUID) Value { return Value{Type: TypeUUID, UUID: v} }

// EncodeValue appends v in direction dir. It panics if v.Type is not one of
// the declared types or a decimal Value has a nil Decimal; both are
// programming errors, not data errors.
func EncodeValue(b []byte, v Value, dir Direction) []byte {
	switch v.Type {
	case TypeNull:
		return EncodeNull(b, dir)
	case TypeBool:
		return EncodeBool(b, v.Bool, dir)
	case TypeInt:
		return EncodeInt(b, v.Int, dir)
	case TypeUint:
		return EncodeUint(b, v.Uint, dir)
	case TypeFloat:
		return EncodeFloat(b, v.Float, dir)
	case TypeDecimal:
		return EncodeDecimal(b, v.Decimal, dir)
	case TypeString:
		return EncodeString(b, v.Str, dir)
	case TypeBytes:
		return EncodeBytes(b, v.Bytes, dir)
	case TypeTime:
		return EncodeTime(b, v.Time, dir)
	case TypeDate:
		return EncodeDate(b, v.Int, dir)
	case TypeUUID:
		return EncodeUUID(b, v.UUID, dir)
	}
	panic(fmt.Sprintf("encoding: EncodeValue of invalid %s", v.Type))
}

// DecodeValue decodes the value at the start of b, of any type and
// direction, and returns the bytes after it.
func DecodeValue(b []byte) (rest []byte, v Value, err error) {
	t, _, err := PeekType(b)
	if err != nil {
		return nil, v, err
	}
	v.Type = t
	switch t {
	case TypeNull:
		rest = b[1:]
	case TypeBool:
		rest, v.Bool, err = DecodeBool(b)
	case TypeInt:
		rest, v.Int, err = DecodeInt(b)
	case TypeUint:
		rest, v.Uint, err = DecodeUint(b)
	case TypeFloat:
		rest, v.Float, err = DecodeFloat(b)
	case TypeDecimal:
		rest, v.Decimal, err = DecodeDecimal(b)
	case TypeString:
		rest, v.Str, err = DecodeString(b)
	case TypeBytes:
		rest, v.Bytes, err = DecodeBytes(b)
	case TypeTime:
		rest, v.Time, err = DecodeTime(b)
	case TypeDate:
		rest, v.Int, err = DecodeDate(b)
	case TypeUUID:
		rest, v.UUID, err = DecodeUUID(b)
	}
	if err != nil {
		return nil, Value{}, err
	}
	return rest, v, nil
}

// PeekLength returns the length of the encoded value at the start of b
// without decoding (or allocating) it. It validates enough to find the end
// of the value, not that the value is canonical.
func PeekLength(b []byte) (int, error) {
	t, dir, err := PeekType(b)
	if err != nil {
		return 0, err
	}
	mask := dirMask(dir)
	p := b[1:]
	switch t {
	case TypeNull:
		return 1, nil
	case TypeBool:
		return fixedLength(p, 1)
	case TypeFloat:
		return fixedLength(p, 8)
	case TypeUUID:
		return fixedLength(p, 16)
	case TypeInt, TypeDate:
		rest, _, err := decodeVarint(p, mask)
		return consumed(b, rest, err)
	case TypeUint:
		rest, _, err := decodeUvarint(p, mask)
		return consumed(b, rest, err)
	case TypeTime:
		rest, _, err := decodeVarint(p, mask)
		if err == nil {
			rest, _, err = decodeUvarint(rest, mask)
		}
		return consumed(b, rest, err)
	case TypeString, TypeBytes:
		bodyLen, _, err := scanEscaped(p, mask)
		if err != nil {
			return 0, err
		}
		return 1 + bodyLen + 2, nil
	case TypeDecimal:
		if len(p) == 0 {
			return 0, truncated("decimal")
		}
		switch p[0] ^ mask {
		case decNegInf, decZero, decPosInf, decNaN:
			return 2, nil
		case decNeg:
			mask ^= 0xff
		case decPos:
		default:
			return 0, corrupt("decimal class 0x%02x", p[0]^mask)
		}
		rest, _, err := decodeVarint(p[1:], mask)
		if err != nil {
			return 0, err
		}
		for i, c := range rest {
			if c^mask == decTerminator {
				return len(b) - len(rest) + i + 1, nil
			}
		}
		return 0, truncated("unterminated decimal")
	}
	return 0, fmt.Errorf("%w: %s", ErrUnknownTag, t) // unreachable
}

func fixedLength(payload []byte, n int) (int, error) {
	if len(payload) < n {
		return 0, truncated("fixed-width value")
	}
	return 1 + n, nil
}

func consumed(b, rest []byte, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return len(b) - len(rest), nil
}

// String renders v for humans (keys in logs and debugging output); it is
// not a SQL literal syntax and not meant to be parsed.
func (v Value) String() string {
	switch v.Type {
	case TypeNull:
		return "NULL"
	case TypeBool:
		return strconv.FormatBool(v.Bool)
	case TypeInt:
		return strconv.FormatInt(v.Int, 10)
	case TypeUint:
		return strconv.FormatUint(v.Uint, 10)
	case TypeFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case TypeDecimal:
		return formatDecimal(v.Decimal)
	case TypeString:
		return strconv.Quote(v.Str)
	case TypeBytes:
		return "x'" + hex.EncodeToString(v.Bytes) + "'"
	case TypeTime:
		return v.Time.UTC().Format(time.RFC3339Nano)
	case TypeDate:
		return formatDate(v.Int)
	case TypeUUID:
		return v.UUID.String()
	}
	return v.Type.String()
}

// formatDecimal prints normalized decimals such as 1E+2 as 100 when that is
// reasonably short.
func formatDecimal(d *apd.Decimal) string {
	if d == nil {
		return "<nil>"
	}
	if d.Form == apd.Finite && d.Exponent > 0 && d.Exponent <= 20 {
		return d.Text('f')
	}
	return d.String()
}

// maxFormatDays keeps days*86400 far from overflow (about ±94 million years).
const maxFormatDays = 1 << 35

func formatDate(days int64) string {
	switch {
	case days == math.MinInt64:
		return "-infinity"
	case days == math.MaxInt64:
		return "infinity"
	case days < -maxFormatDays || days > maxFormatDays:
		return "date(" + strconv.FormatInt(days, 10) + ")"
	}
	return time.Unix(days*86400, 0).UTC().Format("2006-01-02")
}

// PrettyPrint renders a key made of encoded values, e.g. /1/"abc"/NULL/-3.5.
// Bytes that do not decode are rendered in hex after "/?" and end the
// output. It never panics, and an empty key renders as "/".
func PrettyPrint(b []byte) string {
	if len(b) == 0 {
		return "/"
	}
	var sb strings.Builder
	for len(b) > 0 {
		rest, v, err := DecodeValue(b)
		if err != nil {
			sb.WriteString("/?")
			sb.WriteString(hex.EncodeToString(b))
			break
		}
		sb.WriteByte('/')
		sb.WriteString(v.String())
		b = rest
	}
	return sb.String()
}
