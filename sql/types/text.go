package types

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ParseText parses s, the PostgreSQL text form of a value of type t (the
// input function of the type, as for a literal 'x'::t or a text-format
// parameter). Type modifiers are applied as PostgreSQL's typmod-aware
// input functions do: numeric(p,s) rounds and checks, timestamp(p) rounds,
// varchar(n)/char(n) reject longer values unless the excess is spaces and
// char(n) pads. ctx supplies the session time zone and 'now'; it may be
// nil (UTC). An Unknown t yields a DString.
//
// Errors carry PostgreSQL's SQLSTATE and wording: 22P02 `invalid input
// syntax for type integer: "abc"`, 22003 `value "99999999999" is out of
// range for type integer`, 22007/22008 for dates and times, 22021 for
// invalid UTF-8.
func ParseText(t *T, s string, ctx *EvalContext) (Datum, error) {
	if err := checkText(s); err != nil {
		return nil, err
	}
	switch t.Family {
	case UnknownFamily:
		return DString(s), nil
	case BoolFamily:
		b, ok := parseBool(s)
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type boolean: \"%s\"", s)
		}
		return DBool(b), nil
	case IntFamily:
		i, err := ParseInt(s, t.Width)
		return DInt(i), err
	case FloatFamily:
		f, err := ParseFloat(s, t.Width)
		return DFloat(f), err
	case DecimalFamily:
		d, err := ParseDDecimal(s)
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, t)
	case StringFamily:
		return castString(DString(s), t, false)
	case BytesFamily:
		b, err := ParseBytea(s)
		return DBytes(b), err
	case DateFamily:
		return ParseDate(s, ctx)
	case TimestampFamily:
		ts, err := ParseTimestamp(s, ctx)
		if err != nil {
			return nil, err
		}
		return roundTimestamp(ts, t)
	case TimestampTZFamily:
		ts, err := ParseTimestampTZ(s, ctx)
		if err != nil {
			return nil, err
		}
		r, err := roundTimestamp(DTimestamp(ts), t)
		if err != nil {
			return nil, err
		}
		return DTimestampTZ(r), nil
	case IntervalFamily:
		iv, err := ParseInterval(s)
		if err != nil {
			return nil, err
		}
		return roundInterval(iv, t), nil
	case UUIDFamily:
		u, ok := parseUUID(s)
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type uuid: \"%s\"", s)
		}
		return u, nil
	case JSONFamily:
		if t.Variant == VariantJSON {
			return ParseJSON(s)
		}
		return ParseJSONB(s)
	case OidFamily:
		return parseOid(s)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unsupported type %s", t.SQLString())
}

// checkText rejects strings that are not valid UTF-8 or contain NUL, as
// PostgreSQL does for text in a UTF8 database.
func checkText(s string) error {
	if i := firstInvalidUTF8(s); i >= 0 {
		return invalidUTF8(s[i:])
	}
	return nil
}

// firstInvalidUTF8 returns the byte offset of the first NUL or invalid
// UTF-8 sequence in s, or -1.
func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c != 0 && c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if c == 0 || r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// CheckText returns a 22021 error if s is not valid UTF-8 or contains a NUL
// byte.
func CheckText(s string) error { return checkText(s) }

// invalidUTF8 returns PostgreSQL's error for the invalid sequence at the
// start of s (or the first one in s): `invalid byte sequence for encoding
// "UTF8": 0xc3 0x28`, naming the bytes its lead byte claims.
func invalidUTF8(s string) error {
	if i := firstInvalidUTF8(s); i > 0 {
		s = s[i:]
	}
	n := 1
	if len(s) > 0 {
		switch c := s[0]; {
		case c&0xe0 == 0xc0:
			n = 2
		case c&0xf0 == 0xe0:
			n = 3
		case c&0xf8 == 0xf0:
			n = 4
		}
	}
	n = min(n, len(s))
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("0x")
		b.WriteString(hex.EncodeToString([]byte{s[i]}))
	}
	return sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": %s", b.String())
}

// parseBool implements PostgreSQL's boolin: after trimming whitespace, any
// case-insensitive prefix of true/false/yes/no (o alone is ambiguous: on
// and of(f) need two letters), and 1/0.
func parseBool(s string) (bool, bool) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return false, false
	}
	prefix := func(word string) bool { return len(v) <= len(word) && word[:len(v)] == v }
	switch v[0] {
	case 't':
		return true, prefix("true")
	case 'f':
		return false, prefix("false")
	case 'y':
		return true, prefix("yes")
	case 'n':
		return false, prefix("no")
	case 'o':
		if len(v) >= 2 && prefix("on") {
			return true, true
		}
		if len(v) >= 2 && prefix("off") {
			return false, true
		}
	case '1':
		return true, v == "1"
	case '0':
		return false, v == "0"
	}
	return false, false
}

// ParseInt parses PostgreSQL integer input for an int of the given width:
// surrounding whitespace, an optional sign, decimal digits.
func ParseInt(s string, width int32) (int64, error) {
	in := strings.TrimSpace(s)
	i := 0
	neg := false
	if i < len(in) && (in[i] == '+' || in[i] == '-') {
		neg = in[i] == '-'
		i++
	}
	if i == len(in) {
		return 0, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: \"%s\"", intTypeName(width), s)
	}
	var u uint64
	overflow := false
	for ; i < len(in); i++ {
		c := in[i]
		if c < '0' || c > '9' {
			return 0, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type %s: \"%s\"", intTypeName(width), s)
		}
		if u > (math.MaxUint64-9)/10 {
			overflow = true
		}
		u = u*10 + uint64(c-'0')
	}
	var v int64
	switch {
	case overflow:
	case neg && u <= 1<<63:
		v = -int64(u) // for u = 2^63 both int64(u) and its negation are MinInt64
	case !neg && u <= math.MaxInt64:
		v = int64(u)
	default:
		overflow = true
	}
	if overflow || !intFits(v, width) {
		return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type %s", s, intTypeName(width))
	}
	return v, nil
}

func parseOid(s string) (Datum, error) {
	in := strings.TrimSpace(s)
	v, err := strconv.ParseInt(in, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type oid", s)
		}
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type oid: \"%s\"", s)
	}
	if v < math.MinInt32 || v > math.MaxUint32 {
		return nil, sqlerr.New(sqlerr.NumericValueOutOfRange, "value \"%s\" is out of range for type oid", s)
	}
	return DOid(uint32(v)), nil
}

// ParseBytea parses bytea input: hex format (\x followed by hex digit
// pairs, whitespace allowed between pairs) or escape format (bytes as is,
// \\ for a backslash, \ooo octal).
func ParseBytea(s string) (string, error) {
	if len(s) >= 2 && s[0] == '\\' && s[1] == 'x' {
		out := make([]byte, 0, (len(s)-2)/2)
		for i := 2; i < len(s); {
			c := s[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			hi, ok := unhex(c)
			if !ok {
				return "", badHexDigit(s[i:])
			}
			if i+1 >= len(s) {
				return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
			}
			lo, ok := unhex(s[i+1])
			if !ok {
				if c := s[i+1]; c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal data: odd number of digits")
				}
				return "", badHexDigit(s[i+1:])
			}
			out = append(out, hi<<4|lo)
			i += 2
		}
		return string(out), nil
	}
	var out []byte
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i += 2
		case i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]):
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
		default:
			return "", sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type bytea")
		}
	}
	return string(out), nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func badHexDigit(s string) error {
	_, n := utf8.DecodeRuneInString(s)
	return sqlerr.New(sqlerr.InvalidParameterValue, "invalid hexadecimal digit: \"%s\"", s[:n])
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseUUID accepts 32 hex digits, optionally in braces, with an optional
// hyphen after any group of four digits (as PostgreSQL's uuid_in).
func parseUUID(s string) (DUUID, bool) {
	var u DUUID
	if len(s) > 0 && s[0] == '{' {
		if len(s) < 2 || s[len(s)-1] != '}' {
			return u, false
		}
		s = s[1 : len(s)-1]
	}
	j := 0
	for i := range 16 {
		if j+2 > len(s) {
			return u, false
		}
		hi, ok1 := unhex(s[j])
		lo, ok2 := unhex(s[j+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
		j += 2
		if i%2 == 1 && i < 15 && j < len(s) && s[j] == '-' {
			j++
		}
	}
	return u, j == len(s)
}

// ParseUUID parses uuid input (see ParseText).
func ParseUUID(s string) (DUUID, error) {
	u, ok := parseUUID(s)
	if !ok {
		return u, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type uuid: \"%s\"", s)
	}
	return u, nil
}

// timePrecisionScale[p] is 10^(6-p): the microsecond multiple kept by
// precision p.
var timePrecisionScale = [7]int64{1000000, 100000, 10000, 1000, 100, 10, 1}

// roundMicrosTo rounds us to a multiple of scale, halves away from zero.
func roundMicrosTo(us, scale int64) int64 {
	if scale == 1 {
		return us
	}
	if us >= 0 {
		return (us + scale/2) / scale * scale
	}
	return -((-us + scale/2) / scale * scale)
}

// roundTimestamp applies timestamp(p) rounding.
func roundTimestamp(ts DTimestamp, t *T) (DTimestamp, error) {
	if !t.HasPrecision || t.Precision >= MaxTimePrecision || ts.IsInfinite() {
		return ts, nil
	}
	p := max(t.Precision, 0)
	return MakeTimestampFromMicros(roundMicrosTo(timeToMicros(ts.Time), timePrecisionScale[p]))
}

// roundInterval applies interval(p) rounding to the time part.
func roundInterval(iv DInterval, t *T) DInterval {
	if !t.HasPrecision || t.Precision >= MaxTimePrecision {
		return iv
	}
	p := max(t.Precision, 0)
	if iv.Micros > math.MaxInt64-usPerSec || iv.Micros < math.MinInt64+usPerSec {
		return iv
	}
	iv.Micros = roundMicrosTo(iv.Micros, timePrecisionScale[p])
	return iv
}

// FormatText returns the PostgreSQL text output of d, formatting
// timestamptz values in loc (nil means UTC). It is AppendText with d's own
// resolved type; use AppendText for values whose declared type changes the
// output (float4). NULL has no text form: FormatText(Null) is "".
func FormatText(d Datum, loc *time.Location) string {
	return string(AppendText(nil, nil, d, loc))
}

// AppendText appends the PostgreSQL text output of d, a value of type t
// (nil means d.ResolvedType()), with PostgreSQL's default settings:
// DateStyle ISO, MDY; IntervalStyle postgres; extra_float_digits 1;
// bytea_output hex. Timestamptz values are rendered in loc (nil means
// UTC). NULL appends nothing (on the wire NULL is a length of -1, not
// text).
func AppendText(b []byte, t *T, d Datum, loc *time.Location) []byte {
	if loc == nil {
		loc = time.UTC
	}
	switch v := d.(type) {
	case DNull:
		return b
	case DBool:
		if v {
			return append(b, 't')
		}
		return append(b, 'f')
	case DInt:
		return strconv.AppendInt(b, int64(v), 10)
	case DFloat:
		width := int32(64)
		if t != nil && t.Family == FloatFamily && t.Width == 32 {
			width = 32
		}
		return appendFloat(b, float64(v), width)
	case *DDecimal:
		return appendDecimal(b, &v.Decimal)
	case DString:
		return append(b, v...)
	case DBytes:
		b = append(b, '\\', 'x')
		return hex.AppendEncode(b, []byte(v))
	case DDate:
		return appendDate(b, v)
	case DTimestamp:
		return appendTimestampMicros(b, timeToMicros(v.Time), false, 0)
	case DTimestampTZ:
		wall, off := UTCToLocalMicros(timeToMicros(v.Time), loc)
		return appendTimestampMicros(b, wall, true, off)
	case DInterval:
		return appendInterval(b, v)
	case DUUID:
		var buf [36]byte
		hex.Encode(buf[0:8], v[0:4])
		buf[8] = '-'
		hex.Encode(buf[9:13], v[4:6])
		buf[13] = '-'
		hex.Encode(buf[14:18], v[6:8])
		buf[18] = '-'
		hex.Encode(buf[19:23], v[8:10])
		buf[23] = '-'
		hex.Encode(buf[24:], v[10:])
		return append(b, buf[:]...)
	case *DJSON:
		return append(b, v.text...)
	case DOid:
		return strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}
