package encoding

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every decoding error wraps exactly one of them.
var (
	// ErrTruncated means the input ended in the middle of a value.
	ErrTruncated = errors.New("encoding: truncated key")
	// ErrCorrupt means the bytes are not a canonical encoding.
	ErrCorrupt = errors.New("encoding: corrupt key")
	// ErrUnknownTag means the first byte is not a known type tag.
	ErrUnknownTag = errors.New("encoding: unknown type tag")
	// ErrTypeMismatch means a typed decoder found a value of another type.
	ErrTypeMismatch = errors.New("encoding: type mismatch")
)

// Direction is the sort direction of an encoded value. Encoders treat any
// value other than Descending as Ascending.
type Direction uint8

const (
	// Ascending encodings sort like the values.
	Ascending Direction = iota
	// Descending encodings sort in reverse; NULL sorts last.
	Descending
)

// String returns "ASC" or "DESC".
func (d Direction) String() string {
	switch d {
	case Ascending:
		return "ASC"
	case Descending:
		return "DESC"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Type identifies the kind of an encoded value. The zero Type is TypeNull.
type Type uint8

// The value types. Their numeric values are not part of the byte format.
const (
	TypeNull Type = iota
	TypeBool
	TypeInt
	TypeUint
	TypeFloat
	TypeDecimal
	TypeString
	TypeBytes
	TypeTime
	TypeDate
	TypeUUID
	numTypes
)

var typeNames = [numTypes]string{
	TypeNull:    "NULL",
	TypeBool:    "BOOL",
	TypeInt:     "INT",
	TypeUint:    "UINT",
	TypeFloat:   "FLOAT",
	TypeDecimal: "DECIMAL",
	TypeString:  "STRING",
	TypeBytes:   "BYTES",
	TypeTime:    "TIME",
	TypeDate:    "DATE",
	TypeUUID:    "UUID",
}

// String returns the type's SQL-ish name.
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Ascending type tags; the descending tag of a type is the complement of its
// ascending tag. These bytes are the on-disk format: never renumber them.
// NULL has the smallest ascending tag so it sorts before every other value,
// and hence (complemented, 0xfe) the largest descending tag. Gaps leave room
// for new types next to related ones.
const (
	tagNull    byte = 0x01
	tagBool    byte = 0x10
	tagInt     byte = 0x14
	tagUint    byte = 0x18
	tagFloat   byte = 0x1c
	tagDecimal byte = 0x20
	tagTime    byte = 0x24
	tagDate    byte = 0x28
	tagString  byte = 0x30
	tagBytes   byte = 0x34
	tagUUID    byte = 0x38
)

var typeTags = [numTypes]byte{
	TypeNull:    tagNull,
	TypeBool:    tagBool,
	TypeInt:     tagInt,
	TypeUint:    tagUint,
	TypeFloat:   tagFloat,
	TypeDecimal: tagDecimal,
	TypeString:  tagString,
	TypeBytes:   tagBytes,
	TypeTime:    tagTime,
	TypeDate:    tagDate,
	TypeUUID:    tagUUID,
}

// tagTypes maps an ascending tag to its Type+1 (0 means unknown).
var tagTypes = func() (m [0x80]uint8) {
	for t, tag := range typeTags {
		m[tag] = uint8(t) + 1
	}
	return m
}()

// dirMask is XORed into every byte of an ascending encoding to produce the
// descending one.
func dirMask(dir Direction) byte {
	if dir == Descending {
		return 0xff
	}
	return 0
}

// appendTag appends the tag of t for dir.
func appendTag(b []byte, t Type, dir Direction) []byte {
	return append(b, typeTags[t]^dirMask(dir))
}

// invert complements b in place, turning an ascending encoding into a
// descending one (complementing a prefix-free code reverses its order).
func invert(b []byte) {
	for i := range b {
		b[i] = ^b[i]
	}
}

// finish turns the ascending payload b[start:] into dir's encoding.
func finish(b []byte, start int, dir Direction) []byte {
	if dir == Descending {
		invert(b[start:])
	}
	return b
}

// PeekType reports the type and direction of the value at the start of b.
func PeekType(b []byte) (Type, Direction, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: empty input", ErrTruncated)
	}
	tag, dir := b[0], Ascending
	if tag >= 0x80 {
		tag, dir = ^tag, Descending
	}
	if t := tagTypes[tag]; t != 0 {
		return Type(t - 1), dir, nil
	}
	return 0, 0, fmt.Errorf("%w: 0x%02x", ErrUnknownTag, b[0])
}

// expect checks that b starts with a value of type want and returns the
// payload after the tag and the mask that undoes its direction.
func expect(b []byte, want Type) (payload []byte, mask byte, err error) {
	t, dir, err := PeekType(b)
	if err != nil {
		return nil, 0, err
	}
	if t != want {
		return nil, 0, fmt.Errorf("%w: want %s, found %s", ErrTypeMismatch, want, t)
	}
	return b[1:], dirMask(dir), nil
}

func truncated(what string) error {
	return fmt.Errorf("%w: %s", ErrTruncated, what)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// PrefixEnd returns the smallest key greater than every key that has b as a
// prefix, or nil (meaning the end of the keyspace) if there is none, i.e. if
// b is empty or all 0xff. b is not modified.
func PrefixEnd(b []byte) []byte {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			end := make([]byte, i+1)
			copy(end, b)
			end[i]++
			return end
		}
	}
	return nil
}
