package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ErrCorruptValue is the cause of DecodeValue's and DecodeKey's errors:
// the bytes are not an encoding this package wrote. The errors carry
// SQLSTATE XX001 (data_corrupted).
var ErrCorruptValue = errors.New("types: corrupt value encoding")

func corruptValue(format string, args ...any) error {
	return sqlerr.Wrap(fmt.Errorf("%w: "+format, append([]any{ErrCorruptValue}, args...)...), sqlerr.DataCorrupted, "")
}

// Value encoding tags: the first byte of every encoded value. They are the
// on-disk format: never renumber them.
const (
	vNull        byte = 0x00
	vFalse       byte = 0x01
	vTrue        byte = 0x02
	vInt         byte = 0x03 // zigzag varint
	vFloat       byte = 0x04 // 8 bytes, IEEE 754 big-endian
	vDecimal     byte = 0x05 // form byte; finite: uvarint scale, uvarint len, big-endian coefficient
	vString      byte = 0x06 // uvarint len, bytes
	vBytes       byte = 0x07 // uvarint len, bytes
	vDate        byte = 0x08 // zigzag varint days since 2000-01-01
	vTimestamp   byte = 0x09 // zigzag varint microseconds since 2000-01-01
	vTimestampTZ byte = 0x0a // zigzag varint microseconds since 2000-01-01 UTC
	vInterval    byte = 0x0b // zigzag varints months, days, micros
	vUUID        byte = 0x0c // 16 bytes
	vJSON        byte = 0x0d // uvarint len, text (jsonb canonical, json verbatim)
	vOid         byte = 0x0e // uvarint
)

// Decimal forms in the value encoding.
const (
	decFinitePos byte = 0
	decFiniteNeg byte = 1
	decNaN       byte = 2
	decPosInf    byte = 3
	decNegInf    byte = 4
)

// maxDecimalCoeffBytes bounds a stored coefficient (100000+16383 decimal
// digits need about 48 KiB).
const maxDecimalCoeffBytes = 64 << 10

// AppendValue appends the storage encoding of d: a tag byte and a compact
// payload. The encoding is self-delimiting (DecodeValue finds the end) but
// not order-preserving; use EncodeKey for keys. It keeps everything a
// value carries (a numeric's scale, a json value's verbatim text).
func AppendValue(b []byte, d Datum) []byte {
	switch v := d.(type) {
	case DNull:
		return append(b, vNull)
	case DBool:
		if v {
			return append(b, vTrue)
		}
		return append(b, vFalse)
	case DInt:
		return binary.AppendVarint(append(b, vInt), int64(v))
	case DFloat:
		return binary.BigEndian.AppendUint64(append(b, vFloat), math.Float64bits(float64(v)))
	case *DDecimal:
		b = append(b, vDecimal)
		switch v.Form {
		case apd.NaN, apd.NaNSignaling:
			return append(b, decNaN)
		case apd.Infinite:
			if v.Negative {
				return append(b, decNegInf)
			}
			return append(b, decPosInf)
		}
		form := decFinitePos
		if v.Negative && v.Coeff.Sign() != 0 {
			form = decFiniteNeg
		}
		b = append(b, form)
		b = binary.AppendUvarint(b, uint64(v.Scale()))
		var c apd.BigInt
		c.Abs(&v.Coeff)
		if v.Exponent > 0 { // not normalized; be tolerant
			var p apd.BigInt
			p.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(v.Exponent)), nil)
			c.Mul(&c, &p)
		}
		coeff := c.MathBigInt().Bytes()
		b = binary.AppendUvarint(b, uint64(len(coeff)))
		return append(b, coeff...)
	case DString:
		return appendLenBytes(append(b, vString), string(v))
	case DBytes:
		return appendLenBytes(append(b, vBytes), string(v))
	case DDate:
		return binary.AppendVarint(append(b, vDate), int64(v))
	case DTimestamp:
		return binary.AppendVarint(append(b, vTimestamp), timeToMicros(v.Time))
	case DTimestampTZ:
		return binary.AppendVarint(append(b, vTimestampTZ), timeToMicros(v.Time))
	case DInterval:
		b = binary.AppendVarint(append(b, vInterval), int64(v.Months))
		b = binary.AppendVarint(b, int64(v.Days))
		return binary.AppendVarint(b, v.Micros)
	case DUUID:
		return append(append(b, vUUID), v[:]...)
	case *DJSON:
		return appendLenBytes(append(b, vJSON), v.text)
	case DOid:
		return binary.AppendUvarint(append(b, vOid), uint64(v))
	}
	panic(fmt.Sprintf("types: AppendValue of unknown datum %T", d))
}

// DecodeValue decodes one value written by AppendValue from the start of b
// and returns it with the remaining bytes. t is the column's type: the tag
// must belong to t's family (NULL fits any type); t == nil decodes by tag
// alone (json as jsonb). Corrupt input is an error wrapping
// ErrCorruptValue (SQLSTATE XX001); DecodeValue never panics.
func DecodeValue(t *T, b []byte) (Datum, []byte, error) {
	if len(b) == 0 {
		return nil, nil, corruptValue("empty input")
	}
	tag, p := b[0], b[1:]
	if tag != vNull && t != nil && tagFamily(tag) != t.Family && !(t.Family == UnknownFamily && tag == vString) {
		return nil, nil, corruptValue("tag 0x%02x for a %s value", tag, t.SQLString())
	}
	switch tag {
	case vNull:
		return Null, p, nil
	case vFalse:
		return DBool(false), p, nil
	case vTrue:
		return DBool(true), p, nil
	case vInt:
		v, n := binary.Varint(p)
		if n <= 0 {
			return nil, nil, corruptValue("int varint")
		}
		return DInt(v), p[n:], nil
	case vFloat:
		if len(p) < 8 {
			return nil, nil, corruptValue("float truncated")
		}
		return DFloat(math.Float64frombits(binary.BigEndian.Uint64(p))), p[8:], nil
	case vDecimal:
		return decodeDecimalValue(p)
	case vString, vBytes, vJSON:
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return nil, nil, corruptValue("length prefix")
		}
		s, rest := string(p[k:k+int(n)]), p[k+int(n):]
		switch tag {
		case vString:
			if !utf8.ValidString(s) {
				return nil, nil, corruptValue("string is not UTF-8")
			}
			return DString(s), rest, nil
		case vBytes:
			return DBytes(s), rest, nil
		}
		var j *DJSON
		var err error
		if t != nil && t.Variant == VariantJSON {
			j, err = ParseJSON(s)
		} else {
			j, err = ParseJSONB(s)
		}
		if err != nil {
			return nil, nil, corruptValue("json: %v", err)
		}
		return j, rest, nil
	case vDate:
		v, n := binary.Varint(p)
		if n <= 0 || !validDate(v) {
			return nil, nil, corruptValue("date")
		}
		return DDate(v), p[n:], nil
	case vTimestamp, vTimestampTZ:
		v, n := binary.Varint(p)
		if n <= 0 || !(timestampMicrosValid(v) || v == math.MaxInt64 || v == math.MinInt64) {
			return nil, nil, corruptValue("timestamp")
		}
		if tag == vTimestamp {
			return DTimestamp{Time: microsToTime(v)}, p[n:], nil
		}
		return DTimestampTZ{Time: microsToTime(v)}, p[n:], nil
	case vInterval:
		var f [3]int64
		for i := range f {
			v, n := binary.Varint(p)
			if n <= 0 {
				return nil, nil, corruptValue("interval")
			}
			f[i], p = v, p[n:]
		}
		if f[0] != int64(int32(f[0])) || f[1] != int64(int32(f[1])) {
			return nil, nil, corruptValue("interval")
		}
		return DInterval{Months: int32(f[0]), Days: int32(f[1]), Micros: f[2]}, p, nil
	case vUUID:
		if len(p) < 16 {
			return nil, nil, corruptValue("uuid truncated")
		}
		var u DUUID
		copy(u[:], p)
		return u, p[16:], nil
	case vOid:
		v, n := binary.Uvarint(p)
		if n <= 0 || v > math.MaxUint32 {
			return nil, nil, corruptValue("oid")
		}
		return DOid(v), p[n:], nil
	}
	return nil, nil, corruptValue("unknown tag 0x%02x", tag)
}

func validDate(v int64) bool {
	return v == int64(DatePosInf) || v == int64(DateNegInf) || v >= int64(MinDate) && v <= int64(MaxDate)
}

func tagFamily(tag byte) Family {
	switch tag {
	case vFalse, vTrue:
		return BoolFamily
	case vInt:
		return IntFamily
	case vFloat:
		return FloatFamily
	case vDecimal:
		return DecimalFamily
	case vString:
		return StringFamily
	case vBytes:
		return BytesFamily
	case vDate:
		return DateFamily
	case vTimestamp:
		return TimestampFamily
	case vTimestampTZ:
		return TimestampTZFamily
	case vInterval:
		return IntervalFamily
	case vUUID:
		return UUIDFamily
	case vJSON:
		return JSONFamily
	case vOid:
		return OidFamily
	}
	return -1
}

func decodeDecimalValue(p []byte) (Datum, []byte, error) {
	if len(p) == 0 {
		return nil, nil, corruptValue("decimal truncated")
	}
	d := &DDecimal{}
	form, p := p[0], p[1:]
	switch form {
	case decNaN:
		d.Form = apd.NaN
		return d, p, nil
	case decPosInf:
		d.Form = apd.Infinite
		return d, p, nil
	case decNegInf:
		d.Form, d.Negative = apd.Infinite, true
		return d, p, nil
	case decFinitePos, decFiniteNeg:
	default:
		return nil, nil, corruptValue("decimal form %d", form)
	}
	scale, k := binary.Uvarint(p)
	if k <= 0 || scale > maxNumericScale {
		return nil, nil, corruptValue("decimal scale")
	}
	p = p[k:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) || n > maxDecimalCoeffBytes {
		return nil, nil, corruptValue("decimal coefficient length")
	}
	cb := p[k : k+int(n)]
	p = p[k+int(n):]
	if len(cb) > 0 && cb[0] == 0 {
		return nil, nil, corruptValue("decimal coefficient not minimal")
	}
	var c apd.BigInt
	c.SetBytes(cb)
	if form == decFiniteNeg && c.Sign() == 0 {
		return nil, nil, corruptValue("negative zero decimal")
	}
	d.Coeff.Set(&c)
	d.Exponent = -int32(scale)
	d.Negative = form == decFiniteNeg
	if d.NumDigits()+int64(d.Exponent) > maxNumericIntDigits {
		return nil, nil, corruptValue("decimal too large")
	}
	return d, p, nil
}
