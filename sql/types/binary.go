package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ErrBinaryFormat is the cause of DecodeBinary's errors about malformed
// input (wrong length, invalid numeric sign or digit, ...). They carry
// SQLSTATE 22P03 (invalid_binary_representation); pgwire adds the
// parameter number, as PostgreSQL's "incorrect binary data format in bind
// parameter 1".
var ErrBinaryFormat = errors.New("incorrect binary data format")

func binaryError(format string, args ...any) error {
	return sqlerr.Wrap(fmt.Errorf("%w: "+format, append([]any{ErrBinaryFormat}, args...)...), sqlerr.InvalidBinaryRepresentation, "")
}

// Sign words of PostgreSQL's external numeric format.
const (
	numericPos    = 0x0000
	numericNeg    = 0x4000
	numericNaN    = 0xC000
	numericPInf   = 0xD000
	numericNInf   = 0xF000
	numericDScale = 0x3FFF // mask of valid dscale bits
)

// EncodeBinary appends the PostgreSQL binary wire format (the type's send
// function) of d as a value of type t (nil means d.ResolvedType()): the
// type decides the width of ints and floats and json vs jsonb. NULL has no
// binary form (on the wire it is a length of -1) and is an error, as is a
// datum that does not belong to t's family.
func EncodeBinary(b []byte, t *T, d Datum) ([]byte, error) {
	if t == nil {
		t = d.ResolvedType()
	}
	mismatch := func() ([]byte, error) {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot send a %T as %s", d, t.SQLString())
	}
	switch v := d.(type) {
	case DNull:
		return nil, sqlerr.New(sqlerr.InternalError, "NULL has no binary representation")
	case DBool:
		if t.Family != BoolFamily {
			return mismatch()
		}
		if v {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case DInt:
		switch t.Oid() {
		case OidInt2:
			if !intFits(int64(v), 16) {
				return nil, errIntOutOfRange(16)
			}
			return binary.BigEndian.AppendUint16(b, uint16(v)), nil
		case OidInt4:
			if !intFits(int64(v), 32) {
				return nil, errIntOutOfRange(32)
			}
			return binary.BigEndian.AppendUint32(b, uint32(v)), nil
		case OidInt8:
			return binary.BigEndian.AppendUint64(b, uint64(v)), nil
		}
		return mismatch()
	case DFloat:
		switch t.Oid() {
		case OidFloat4:
			return binary.BigEndian.AppendUint32(b, math.Float32bits(float32(v))), nil
		case OidFloat8:
			return binary.BigEndian.AppendUint64(b, math.Float64bits(float64(v))), nil
		}
		return mismatch()
	case *DDecimal:
		if t.Family != DecimalFamily {
			return mismatch()
		}
		return appendNumericBinary(b, &v.Decimal), nil
	case DString:
		if t.Family != StringFamily && t.Family != UnknownFamily {
			return mismatch()
		}
		return append(b, v...), nil
	case DBytes:
		if t.Family != BytesFamily {
			return mismatch()
		}
		return append(b, v...), nil
	case DDate:
		if t.Family != DateFamily {
			return mismatch()
		}
		return binary.BigEndian.AppendUint32(b, uint32(int32(v))), nil
	case DTimestamp:
		if t.Family != TimestampFamily {
			return mismatch()
		}
		return binary.BigEndian.AppendUint64(b, uint64(timeToMicros(v.Time))), nil
	case DTimestampTZ:
		if t.Family != TimestampTZFamily {
			return mismatch()
		}
		return binary.BigEndian.AppendUint64(b, uint64(timeToMicros(v.Time))), nil
	case DInterval:
		if t.Family != IntervalFamily {
			return mismatch()
		}
		b = binary.BigEndian.AppendUint64(b, uint64(v.Micros))
		b = binary.BigEndian.AppendUint32(b, uint32(v.Days))
		return binary.BigEndian.AppendUint32(b, uint32(v.Months)), nil
	case DUUID:
		if t.Family != UUIDFamily {
			return mismatch()
		}
		return append(b, v[:]...), nil
	case *DJSON:
		if t.Family != JSONFamily {
			return mismatch()
		}
		if t.Variant == VariantJSON {
			return append(b, v.text...), nil
		}
		b = append(b, 1) // jsonb version
		return append(b, v.canonical()...), nil
	case DOid:
		if t.Family != OidFamily {
			return mismatch()
		}
		return binary.BigEndian.AppendUint32(b, uint32(v)), nil
	}
	return mismatch()
}

// appendNumericBinary appends numeric_send's format: int16 ndigits, int16
// weight, uint16 sign, uint16 dscale, then ndigits base-10000 digits.
func appendNumericBinary(b []byte, d *apd.Decimal) []byte {
	var sign uint16
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		sign = numericNaN
	case apd.Infinite:
		sign = numericPInf
		if d.Negative {
			sign = numericNInf
		}
	}
	if sign != 0 {
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, sign)
		if sign == numericNaN {
			return binary.BigEndian.AppendUint16(b, 0)
		}
		// PostgreSQL 15 sends infinities with dscale 32; match it byte for
		// byte.
		return binary.BigEndian.AppendUint16(b, 0x20)
	}
	weight, digits := numericDigits(d)
	if d.Negative && len(digits) > 0 {
		sign = numericNeg
	}
	dscale := 0
	if d.Exponent < 0 {
		dscale = int(-d.Exponent)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, g := range digits {
		b = binary.BigEndian.AppendUint16(b, uint16(g))
	}
	return b
}

// DecodeBinary decodes the PostgreSQL binary wire format (the type's
// receive function) of a value of type t. Wrong lengths and corrupt data
// are 22P03 errors wrapping ErrBinaryFormat; text that is not valid UTF-8
// is 22021; values out of the type's range are 22008/22003. Type
// modifiers of t are applied as in ParseText. DecodeBinary never panics.
func DecodeBinary(t *T, b []byte) (Datum, error) {
	fixed := func(n int) error {
		if len(b) != n {
			return binaryError("%s requires %d bytes, got %d", t.SQLString(), n, len(b))
		}
		return nil
	}
	switch t.Family {
	case BoolFamily:
		if err := fixed(1); err != nil {
			return nil, err
		}
		return DBool(b[0] != 0), nil
	case IntFamily:
		switch t.Oid() {
		case OidInt2:
			if err := fixed(2); err != nil {
				return nil, err
			}
			return DInt(int16(binary.BigEndian.Uint16(b))), nil
		case OidInt4:
			if err := fixed(4); err != nil {
				return nil, err
			}
			return DInt(int32(binary.BigEndian.Uint32(b))), nil
		}
		if err := fixed(8); err != nil {
			return nil, err
		}
		return DInt(int64(binary.BigEndian.Uint64(b))), nil
	case FloatFamily:
		if t.Width == 32 {
			if err := fixed(4); err != nil {
				return nil, err
			}
			return DFloat(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
		}
		if err := fixed(8); err != nil {
			return nil, err
		}
		return DFloat(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	case DecimalFamily:
		d, err := decodeNumericBinary(b)
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, t)
	case StringFamily, UnknownFamily:
		s := string(b)
		if err := checkText(s); err != nil {
			return nil, err
		}
		if t.Family == UnknownFamily {
			return DString(s), nil
		}
		return castString(DString(s), t, false)
	case BytesFamily:
		return DBytes(b), nil
	case DateFamily:
		if err := fixed(4); err != nil {
			return nil, err
		}
		v := int64(int32(binary.BigEndian.Uint32(b)))
		if !validDate(v) {
			return nil, errDateOutOfRange()
		}
		return DDate(v), nil
	case TimestampFamily, TimestampTZFamily:
		if err := fixed(8); err != nil {
			return nil, err
		}
		us := int64(binary.BigEndian.Uint64(b))
		ts, err := MakeTimestampFromMicros(us)
		if err != nil {
			return nil, err
		}
		ts, err = roundTimestamp(ts, t)
		if err != nil {
			return nil, err
		}
		if t.Family == TimestampTZFamily {
			return DTimestampTZ(ts), nil
		}
		return ts, nil
	case IntervalFamily:
		if err := fixed(16); err != nil {
			return nil, err
		}
		iv := DInterval{
			Micros: int64(binary.BigEndian.Uint64(b)),
			Days:   int32(binary.BigEndian.Uint32(b[8:])),
			Months: int32(binary.BigEndian.Uint32(b[12:])),
		}
		return roundInterval(iv, t), nil
	case UUIDFamily:
		if err := fixed(16); err != nil {
			return nil, err
		}
		var u DUUID
		copy(u[:], b)
		return u, nil
	case JSONFamily:
		s := b
		if t.Variant != VariantJSON {
			if len(b) == 0 {
				return nil, binaryError("jsonb requires a version byte")
			}
			if b[0] != 1 {
				return nil, binaryError("unsupported jsonb version number %d", b[0])
			}
			s = b[1:]
		}
		if err := checkText(string(s)); err != nil {
			return nil, err
		}
		if t.Variant == VariantJSON {
			return ParseJSON(string(s))
		}
		return ParseJSONB(string(s))
	case OidFamily:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return DOid(binary.BigEndian.Uint32(b)), nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "binary format is not supported for type %s", t.SQLString())
}

// decodeNumericBinary decodes numeric_recv's format. Digits beyond dscale
// are truncated, as PostgreSQL does.
func decodeNumericBinary(b []byte) (*DDecimal, error) {
	if len(b) < 8 {
		return nil, binaryError("numeric requires at least 8 bytes, got %d", len(b))
	}
	ndigits := int(int16(binary.BigEndian.Uint16(b)))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := binary.BigEndian.Uint16(b[6:])
	if ndigits < 0 {
		return nil, binaryError("invalid length in external \"numeric\" value")
	}
	if len(b) != 8+2*ndigits {
		return nil, binaryError("numeric with %d digits requires %d bytes, got %d", ndigits, 8+2*ndigits, len(b))
	}
	d := &DDecimal{}
	switch sign {
	case numericPos, numericNeg:
	case numericNaN:
		d.Form = apd.NaN
		return d, nil
	case numericPInf:
		d.Form = apd.Infinite
		return d, nil
	case numericNInf:
		d.Form, d.Negative = apd.Infinite, true
		return d, nil
	default:
		return nil, binaryError("invalid sign in external \"numeric\" value")
	}
	if dscale&numericDScale != dscale {
		return nil, binaryError("invalid scale in external \"numeric\" value")
	}
	// The value is 0.digits × 10000^(weight+1); bound its size before
	// building it.
	if ndigits > 0 && (weight+1)*4 > maxNumericIntDigits+4 {
		return nil, errNumericOverflow()
	}
	buf := make([]byte, 0, 4*ndigits+1)
	for i := range ndigits {
		g := binary.BigEndian.Uint16(b[8+2*i:])
		if g >= 10000 {
			return nil, binaryError("invalid digit in external \"numeric\" value")
		}
		buf = append(buf, byte('0'+g/1000), byte('0'+g/100%10), byte('0'+g/10%10), byte('0'+g%10))
	}
	if len(buf) == 0 {
		buf = append(buf, '0')
	}
	if _, ok := d.Coeff.SetString(string(buf), 10); !ok {
		return nil, binaryError("invalid digits in external \"numeric\" value")
	}
	// Last digit group has weight (weight - ndigits + 1).
	exp := int64(4 * (weight - ndigits + 1))
	if ndigits == 0 {
		exp = 0
	}
	if exp < -int64(dscale)-4*int64(maxNumericIntDigits) {
		return nil, errNumericOverflow()
	}
	d.Exponent = int32(exp)
	d.Negative = sign == numericNeg
	// Apply dscale: truncate extra digits, pad missing ones.
	r := TruncDecimal(d, int32(dscale))
	if r.Coeff.Sign() == 0 {
		r.Negative = false
	}
	if r.NumDigits()+int64(r.Exponent) > maxNumericIntDigits {
		return nil, errNumericOverflow()
	}
	return r, nil
}
