package encoding

import (
	"fmt"
	"math"
	"math/bits"
)

// Signed varint (ascending; the first byte f decides the layout):
//
//	f in [0x00, 0x07]  negative, 8-f bytes follow: the low bytes of v
//	f in [0x08, 0xf7]  v = f - 0x78, i.e. v in [-112, 127], nothing follows
//	f in [0xf8, 0xff]  positive, f-0xf7 bytes follow: v big-endian
//
// Longer negatives are smaller and longer positives larger, so comparing f
// first and then the fixed-width big-endian tail orders values. Multi-byte
// forms must use the fewest bytes possible (one canonical encoding per value);
// decoders reject anything else.
const (
	intInlineMin  = -112
	intInlineMax  = 127
	intInlineBias = 0x78
	intNegBase    = 0x08 // f = intNegBase - n for n bytes of negative value
	intPosBase    = 0xf7 // f = intPosBase + n for n bytes of positive value
)

// Unsigned varint (ascending): f in [0x00, 0xf7] is the value itself,
// f in [0xf8, 0xff] is followed by f-0xf7 big-endian bytes, minimal.
const (
	uintInlineMax = 0xf7
	uintPosBase   = 0xf7
)

// byteLen is the number of bytes needed to hold x (at least 1).
func byteLen(x uint64) int {
	return max(1, (bits.Len64(x)+7)/8)
}

// appendBigEndian appends the low n bytes of x, most significant first.
func appendBigEndian(b []byte, x uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// readBigEndian reads n bytes (unmasked with mask) as a big-endian integer;
// the caller guarantees len(b) >= n and n <= 8.
func readBigEndian(b []byte, n int, mask byte) uint64 {
	var x uint64
	for _, c := range b[:n] {
		x = x<<8 | uint64(c^mask)
	}
	return x
}

// appendVarint appends the ascending signed varint of v.
func appendVarint(b []byte, v int64) []byte {
	switch {
	case v >= intInlineMin && v <= intInlineMax:
		return append(b, byte(v+intInlineBias))
	case v > 0:
		n := byteLen(uint64(v))
		return appendBigEndian(append(b, byte(intPosBase+n)), uint64(v), n)
	default:
		// ^v = -v-1 is the magnitude; the low bytes of v decrease as it grows.
		n := byteLen(uint64(^v))
		return appendBigEndian(append(b, byte(intNegBase-n)), uint64(v), n)
	}
}

// decodeVarint decodes a signed varint whose bytes are XORed with mask.
func decodeVarint(b []byte, mask byte) ([]byte, int64, error) {
	if len(b) == 0 {
		return nil, 0, truncated("varint")
	}
	f := int(b[0] ^ mask)
	switch {
	case f >= intNegBase && f <= intPosBase:
		return b[1:], int64(f - intInlineBias), nil
	case f > intPosBase:
		n := f - intPosBase
		if len(b) < 1+n {
			return nil, 0, truncated("varint")
		}
		x := readBigEndian(b[1:], n, mask)
		if x <= intInlineMax || (n > 1 && x < 1<<(8*(n-1))) || x > math.MaxInt64 {
			return nil, 0, corrupt("non-canonical positive varint")
		}
		return b[1+n:], int64(x), nil
	default:
		n := intNegBase - f
		if len(b) < 1+n {
			return nil, 0, truncated("varint")
		}
		// u = ^v, the magnitude minus one, restricted to n bytes.
		u := ^readBigEndian(b[1:], n, mask)
		if n < 8 {
			u &= 1<<(8*n) - 1
		}
		if u < -intInlineMin || (n > 1 && u < 1<<(8*(n-1))) || u > math.MaxInt64 {
			return nil, 0, corrupt("non-canonical negative varint")
		}
		return b[1+n:], ^int64(u), nil
	}
}

// appendUvarint appends the ascending unsigned varint of v.
func appendUvarint(b []byte, v uint64) []byte {
	if v <= uintInlineMax {
		return append(b, byte(v))
	}
	n := byteLen(v)
	return appendBigEndian(append(b, byte(uintPosBase+n)), v, n)
}

// decodeUvarint decodes an unsigned varint whose bytes are XORed with mask.
func decodeUvarint(b []byte, mask byte) ([]byte, uint64, error) {
	if len(b) == 0 {
		return nil, 0, truncated("uvarint")
	}
	f := int(b[0] ^ mask)
	if f <= uintInlineMax {
		return b[1:], uint64(f), nil
	}
	n := f - uintPosBase
	if len(b) < 1+n {
		return nil, 0, truncated("uvarint")
	}
	x := readBigEndian(b[1:], n, mask)
	if x <= uintInlineMax || (n > 1 && x < 1<<(8*(n-1))) {
		return nil, 0, corrupt("non-canonical uvarint")
	}
	return b[1+n:], x, nil
}

// EncodeNull appends the encoding of SQL NULL, which sorts before every other
// value when ascending and after every other value when descending.
func EncodeNull(b []byte, dir Direction) []byte {
	return appendTag(b, TypeNull, dir)
}

// DecodeIfNull reports whether b starts with a NULL (of either direction) and
// if so returns the bytes after it; otherwise it returns b unchanged.
func DecodeIfNull(b []byte) (rest []byte, isNull bool) {
	if len(b) > 0 && (b[0] == tagNull || b[0] == ^tagNull) {
		return b[1:], true
	}
	return b, false
}

// EncodeBool appends v; false sorts before true.
func EncodeBool(b []byte, v bool, dir Direction) []byte {
	var x byte
	if v {
		x = 1
	}
	return append(appendTag(b, TypeBool, dir), x^dirMask(dir))
}

// DecodeBool decodes a bool of either direction.
func DecodeBool(b []byte) (rest []byte, v bool, err error) {
	p, mask, err := expect(b, TypeBool)
	if err != nil {
		return nil, false, err
	}
	if len(p) == 0 {
		return nil, false, truncated("bool")
	}
	switch p[0] ^ mask {
	case 0:
		return p[1:], false, nil
	case 1:
		return p[1:], true, nil
	}
	return nil, false, corrupt("bool byte 0x%02x", p[0])
}

// EncodeInt appends v. Values in [-112, 127] take 2 bytes including the tag,
// others 3 to 10.
func EncodeInt(b []byte, v int64, dir Direction) []byte {
	start := len(b)
	return finish(appendVarint(append(b, tagInt), v), start, dir)
}

// DecodeInt decodes an int of either direction.
func DecodeInt(b []byte) (rest []byte, v int64, err error) {
	p, mask, err := expect(b, TypeInt)
	if err != nil {
		return nil, 0, err
	}
	return wrapInt(decodeVarint(p, mask))
}

// EncodeUint appends v. Values up to 247 take 2 bytes including the tag,
// others 3 to 10.
func EncodeUint(b []byte, v uint64, dir Direction) []byte {
	start := len(b)
	return finish(appendUvarint(append(b, tagUint), v), start, dir)
}

// DecodeUint decodes a uint of either direction.
func DecodeUint(b []byte) (rest []byte, v uint64, err error) {
	p, mask, err := expect(b, TypeUint)
	if err != nil {
		return nil, 0, err
	}
	rest, v, err = decodeUvarint(p, mask)
	if err != nil {
		return nil, 0, fmt.Errorf("uint: %w", err)
	}
	return rest, v, nil
}

// EncodeUvarintAscending appends v as an ascending Uint; it is the form used
// for table and index IDs in key prefixes.
func EncodeUvarintAscending(b []byte, v uint64) []byte {
	return EncodeUint(b, v, Ascending)
}

// DecodeUvarintAscending decodes a value written by EncodeUvarintAscending.
// Unlike DecodeUint it rejects descending encodings.
func DecodeUvarintAscending(b []byte) (rest []byte, v uint64, err error) {
	if len(b) > 0 && b[0] == ^tagUint {
		return nil, 0, fmt.Errorf("%w: want ascending UINT, found descending", ErrTypeMismatch)
	}
	return DecodeUint(b)
}

// EncodeDate appends a date given as days since 1970-01-01 (negative before).
// It uses the Int layout under its own tag.
func EncodeDate(b []byte, days int64, dir Direction) []byte {
	start := len(b)
	return finish(appendVarint(append(b, tagDate), days), start, dir)
}

// DecodeDate decodes a date of either direction as days since 1970-01-01.
func DecodeDate(b []byte) (rest []byte, days int64, err error) {
	p, mask, err := expect(b, TypeDate)
	if err != nil {
		return nil, 0, err
	}
	return wrapInt(decodeVarint(p, mask))
}

func wrapInt(rest []byte, v int64, err error) ([]byte, int64, error) {
	if err != nil {
		return nil, 0, fmt.Errorf("int: %w", err)
	}
	return rest, v, nil
}
