package encoding

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// Float payload: 8 big-endian bytes. For v >= 0 the IEEE bits with the sign
// bit set, for v < 0 the complemented bits; this orders all non-NaN floats
// (including infinities) as unsigned integers. -0 is encoded as +0, and every
// NaN as all ones, which is above +Inf (0xfff0...). Any other NaN or -0
// pattern is non-canonical and rejected by the decoder.
const (
	floatSign = 1 << 63
	floatNaN  = math.MaxUint64
)

// EncodeFloat appends f. NaN sorts after +Inf; -0 equals +0.
func EncodeFloat(b []byte, f float64, dir Direction) []byte {
	var u uint64
	switch {
	case f != f:
		u = floatNaN
	case f == 0: // folds -0 into +0
		u = floatSign
	case f > 0:
		u = math.Float64bits(f) | floatSign
	default:
		u = ^math.Float64bits(f)
	}
	if dir == Descending {
		u = ^u
	}
	return binary.BigEndian.AppendUint64(appendTag(b, TypeFloat, dir), u)
}

// DecodeFloat decodes a float of either direction.
func DecodeFloat(b []byte) (rest []byte, f float64, err error) {
	p, mask, err := expect(b, TypeFloat)
	if err != nil {
		return nil, 0, err
	}
	if len(p) < 8 {
		return nil, 0, truncated("float")
	}
	u := binary.BigEndian.Uint64(p)
	if mask != 0 {
		u = ^u
	}
	if u == floatNaN {
		return p[8:], math.NaN(), nil
	}
	if u&floatSign != 0 {
		f = math.Float64frombits(u &^ floatSign)
	} else {
		f = math.Float64frombits(^u)
		if f == 0 {
			return nil, 0, corrupt("float -0")
		}
	}
	if f != f {
		return nil, 0, corrupt("non-canonical float NaN")
	}
	return p[8:], f, nil
}

// EncodeUUID appends the 16 bytes of u; UUIDs compare bytewise.
func EncodeUUID(b []byte, u uuid.UUID, dir Direction) []byte {
	start := len(b)
	return finish(append(append(b, tagUUID), u[:]...), start, dir)
}

// DecodeUUID decodes a UUID of either direction.
func DecodeUUID(b []byte) (rest []byte, u uuid.UUID, err error) {
	p, mask, err := expect(b, TypeUUID)
	if err != nil {
		return nil, u, err
	}
	if len(p) < len(u) {
		return nil, u, truncated("uuid")
	}
	for i := range u {
		u[i] = p[i] ^ mask
	}
	return p[len(u):], u, nil
}

// Time payload: signed varint of Unix seconds, then unsigned varint of the
// nanoseconds in [0, 1e9). Both parts are prefix-free and order preserving,
// so the pair orders lexicographically, which is chronological order for
// every time whose Unix seconds fit in an int64.
const nanosPerSecond = 1e9

// EncodeTime appends t with nanosecond precision; the location and any
// monotonic clock reading are dropped.
func EncodeTime(b []byte, t time.Time, dir Direction) []byte {
	start := len(b)
	b = appendVarint(append(b, tagTime), t.Unix())
	b = appendUvarint(b, uint64(t.Nanosecond()))
	return finish(b, start, dir)
}

// DecodeTime decodes a time of either direction; the result is in UTC.
func DecodeTime(b []byte) (rest []byte, t time.Time, err error) {
	p, mask, err := expect(b, TypeTime)
	if err != nil {
		return nil, t, err
	}
	p, sec, err := decodeVarint(p, mask)
	if err != nil {
		return nil, t, fmt.Errorf("time seconds: %w", err)
	}
	p, nsec, err := decodeUvarint(p, mask)
	if err != nil {
		return nil, t, fmt.Errorf("time nanos: %w", err)
	}
	if nsec >= nanosPerSecond {
		return nil, t, corrupt("time nanos %d out of range", nsec)
	}
	return p, time.Unix(sec, int64(nsec)).UTC(), nil
}
