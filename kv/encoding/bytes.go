package encoding

import (
	"bytes"
	"strings"
)

// String and Bytes payload (ascending): the bytes with each 0x00 escaped as
// 0x00 0xff, then the terminator 0x00 0x01. Inside the body 0x00 is always
// followed by 0xff, so the terminator is unambiguous and sorts below every
// continuation: "a" < "a\x00" < "a\x01" < "ab".
const (
	escape     byte = 0x00
	escapedNul byte = 0xff
	terminator byte = 0x01
)

// appendEscaped appends the escaped body of s and the terminator.
func appendEscaped[T string | []byte](b []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == escape {
			b = append(b, s[:i+1]...)
			b = append(b, escapedNul)
			s = s[i+1:]
			i = -1
		}
	}
	b = append(b, s...)
	return append(b, escape, terminator)
}

// scanEscaped validates the escaped payload at the start of b (bytes XORed
// with mask) and returns the length of its body (up to the terminator) and
// the number of bytes it decodes to.
func scanEscaped(b []byte, mask byte) (bodyLen, n int, err error) {
	esc := escape ^ mask
	i, nuls := 0, 0
	for {
		j := bytes.IndexByte(b[i:], esc)
		if j < 0 || i+j+1 >= len(b) {
			return 0, 0, truncated("unterminated string")
		}
		i += j
		switch b[i+1] ^ mask {
		case escapedNul:
			nuls++
			i += 2
		case terminator:
			return i, i - nuls, nil
		default:
			return 0, 0, corrupt("bad escape 0x00 0x%02x in string", b[i+1]^mask)
		}
	}
}

// EncodeString appends s, which may contain any bytes. Strings compare
// bytewise.
func EncodeString(b []byte, s string, dir Direction) []byte {
	start := len(b)
	return finish(appendEscaped(append(b, tagString), s), start, dir)
}

// EncodeBytes appends v; like EncodeString under a distinct tag.
func EncodeBytes(b []byte, v []byte, dir Direction) []byte {
	start := len(b)
	return finish(appendEscaped(append(b, tagBytes), v), start, dir)
}

// DecodeString decodes a string of either direction.
func DecodeString(b []byte) (rest []byte, s string, err error) {
	p, mask, err := expect(b, TypeString)
	if err != nil {
		return nil, "", err
	}
	bodyLen, n, err := scanEscaped(p, mask)
	if err != nil {
		return nil, "", err
	}
	body, rest := p[:bodyLen], p[bodyLen+2:]
	if mask == 0 && n == bodyLen {
		return rest, string(body), nil
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < len(body); i++ {
		c := body[i] ^ mask
		sb.WriteByte(c)
		if c == escape {
			i++ // skip escapedNul
		}
	}
	return rest, sb.String(), nil
}

// DecodeBytes decodes a byte string of either direction into a new slice
// (never nil, so an empty value stays distinct from a missing one).
func DecodeBytes(b []byte) (rest []byte, v []byte, err error) {
	p, mask, err := expect(b, TypeBytes)
	if err != nil {
		return nil, nil, err
	}
	bodyLen, n, err := scanEscaped(p, mask)
	if err != nil {
		return nil, nil, err
	}
	body, rest := p[:bodyLen], p[bodyLen+2:]
	v = make([]byte, 0, n)
	for i := 0; i < len(body); i++ {
		c := body[i] ^ mask
		v = append(v, c)
		if c == escape {
			i++ // skip escapedNul
		}
	}
	return rest, v, nil
}
