package encoding

import (
	"fmt"
	"math"

	"github.com/cockroachdb/apd/v3"
)

// Decimal payload (ascending): a class byte, then for finite non-zero values
// the magnitude. Classes are ordered like the values they stand for.
const (
	decNegInf byte = 0x10
	decNeg    byte = 0x11
	decZero   byte = 0x12
	decPos    byte = 0x13
	decPosInf byte = 0x14
	decNaN    byte = 0x15
)

// The magnitude of a finite non-zero decimal is written in the normalized
// form 0.d1d2...dn × 10^e with d1 != 0 and dn != 0, as
//
//	varint(e) | digit pairs | 0x00
//
// where each pair d(2i+1)d(2i+2) is one byte 1+10*d(2i+1)+d(2i+2) in
// [1, 100] (an odd count is padded with a 0 digit). For positive values a
// larger e means a larger value; with equal e the digit strings compare
// lexicographically, and since the normalized string has no trailing zeros a
// proper prefix (cut by the 0x00 terminator, smaller than any pair) is the
// smaller value. Negative values use the complemented magnitude, reversing
// that order. Trailing zeros of the coefficient are stripped, so every scale
// of a value (1, 1.0, 1.00) has the same encoding.
const (
	decTerminator byte = 0x00
	// maxDecimalPad bounds the zeros a decoder appends to a coefficient to
	// keep the exponent within int32 (only values near 1E+2147483647 need
	// any); it bounds the work a corrupt key can cause.
	maxDecimalPad = 4096
)

// EncodeDecimal appends d, which must not be nil. The sign of a zero or NaN
// and the scale are not preserved. The sign of d.Coeff is ignored (apd keeps
// the sign in d.Negative).
func EncodeDecimal(b []byte, d *apd.Decimal, dir Direction) []byte {
	start := len(b)
	b = append(b, tagDecimal)
	switch {
	case d.Form == apd.Infinite && d.Negative:
		b = append(b, decNegInf)
	case d.Form == apd.Infinite:
		b = append(b, decPosInf)
	case d.Form != apd.Finite: // NaN, NaNSignaling
		b = append(b, decNaN)
	case d.Coeff.Sign() == 0:
		b = append(b, decZero)
	case d.Negative:
		b = append(b, decNeg)
		m := len(b)
		b = appendMagnitude(b, d)
		invert(b[m:])
	default:
		b = append(b, decPos)
		b = appendMagnitude(b, d)
	}
	return finish(b, start, dir)
}

// appendMagnitude appends the ascending magnitude of the finite non-zero d.
// It formats the coefficient's digits in place at the end of b and packs
// them into pairs there, so it allocates only when b grows (or when apd
// formats a coefficient that does not fit in 64 bits).
func appendMagnitude(b []byte, d *apd.Decimal) []byte {
	p := len(b)
	b = d.Coeff.Append(b, 10)
	if b[p] == '-' {
		b = append(b[:p], b[p+1:]...)
	}
	// Value = 0.digits × 10^e where digits has all len(b)-p coefficient
	// digits; stripping trailing zeros does not change e.
	e := int64(d.Exponent) + int64(len(b)-p)
	n := len(b) - p
	for b[p+n-1] == '0' {
		n--
	}
	// Pack pairs in place: pair i is read from p+2i, p+2i+1 and written to
	// p+i, which is never ahead of the reads.
	pairs := (n + 1) / 2
	for i := range pairs {
		hi := b[p+2*i] - '0'
		var lo byte
		if 2*i+1 < n {
			lo = b[p+2*i+1] - '0'
		}
		b[p+i] = 1 + 10*hi + lo
	}
	b = b[:p+pairs]
	// Shift the pairs right to make room for the exponent.
	var tmp [9]byte
	exp := appendVarint(tmp[:0], e)
	b = append(b, exp...)
	copy(b[p+len(exp):], b[p:p+pairs])
	copy(b[p:], exp)
	return append(b, decTerminator)
}

// DecodeDecimal decodes a decimal of either direction into a new
// apd.Decimal. Finite results are normalized: no trailing zeros in the
// coefficient unless needed to keep the exponent within int32.
func DecodeDecimal(b []byte) (rest []byte, d *apd.Decimal, err error) {
	p, mask, err := expect(b, TypeDecimal)
	if err != nil {
		return nil, nil, err
	}
	if len(p) == 0 {
		return nil, nil, truncated("decimal")
	}
	d = new(apd.Decimal)
	class, p := p[0]^mask, p[1:]
	switch class {
	case decNegInf:
		d.Form, d.Negative = apd.Infinite, true
	case decPosInf:
		d.Form = apd.Infinite
	case decNaN:
		d.Form = apd.NaN
	case decZero:
	case decNeg:
		d.Negative = true
		p, err = decodeMagnitude(p, mask^0xff, d)
	case decPos:
		p, err = decodeMagnitude(p, mask, d)
	default:
		err = corrupt("decimal class 0x%02x", class)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decimal: %w", err)
	}
	return p, d, nil
}

// decodeMagnitude decodes a magnitude (bytes XORed with mask) into d's
// coefficient and exponent.
func decodeMagnitude(b []byte, mask byte, d *apd.Decimal) ([]byte, error) {
	b, e, err := decodeVarint(b, mask)
	if err != nil {
		return nil, err
	}
	// Find the terminator; every byte before it must be a valid pair.
	end := -1
	for i, c := range b {
		c ^= mask
		if c == decTerminator {
			end = i
			break
		}
		if c > 100 {
			return nil, corrupt("decimal digit pair 0x%02x", c)
		}
	}
	switch {
	case end < 0:
		return nil, truncated("unterminated decimal")
	case end == 0:
		return nil, corrupt("decimal without digits")
	case b[0]^mask < 1+10: // leading digit 0
		return nil, corrupt("decimal leading zero")
	case b[end-1]^mask == 1: // trailing pair 00
		return nil, corrupt("decimal trailing zeros")
	}
	pairs := b[:end]
	n := 2 * len(pairs)
	if (pairs[len(pairs)-1]^mask-1)%10 == 0 {
		n-- // odd digit count, padded
	}

	// Coefficient: digit by digit when it fits in a uint64, else via text.
	if n <= 19 {
		var c uint64
		for i := range n {
			c = c*10 + uint64(digitAt(pairs, i, mask))
		}
		d.Coeff.SetUint64(c)
	} else {
		text := make([]byte, n)
		for i := range text {
			text[i] = '0' + digitAt(pairs, i, mask)
		}
		if _, ok := d.Coeff.SetString(string(text), 10); !ok {
			return nil, corrupt("decimal coefficient")
		}
	}

	// e >= MinInt32 + 1 for every valid encoding; checking it first keeps
	// e - n from overflowing.
	if e <= math.MinInt32 {
		return nil, corrupt("decimal exponent %d out of range", e)
	}
	exp := e - int64(n)
	switch {
	case exp < math.MinInt32:
		return nil, corrupt("decimal exponent %d out of range", e)
	case exp > math.MaxInt32:
		// Representable only with trailing zeros in the coefficient.
		pad := exp - math.MaxInt32
		if pad > maxDecimalPad {
			return nil, corrupt("decimal exponent %d out of range", e)
		}
		var scale apd.BigInt
		scale.Exp(apd.NewBigInt(10), apd.NewBigInt(pad), nil)
		d.Coeff.Mul(&d.Coeff, &scale)
		exp = math.MaxInt32
	}
	d.Exponent = int32(exp)
	return b[end+1:], nil
}

// digitAt returns decimal digit i of the packed pairs.
func digitAt(pairs []byte, i int, mask byte) byte {
	v := pairs[i/2] ^ mask - 1
	if i%2 == 0 {
		return v / 10
	}
	return v % 10
}
