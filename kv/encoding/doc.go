// Package encoding owns the byte format of keys: an order-preserving,
// self-describing encoding for tuples of SQL values. Index keys such as
// /Table/<id>/<index>/<col values...> are built by appending one encoded
// value per component; the storage layer can then compare keys with
// bytes.Compare and scan ranges without knowing the schema.
//
// The package imports nothing of ours (only the standard library, apd for
// decimals and uuid), so every other layer can depend on it.
//
// Invariants, for any two values x and y of the same Type and any Direction:
//
//   - Order: bytes.Compare(Encode(x, Ascending), Encode(y, Ascending)) has
//     the sign of the SQL comparison of x and y. Descending encodings invert
//     it; the descending encoding of a value is exactly the bitwise
//     complement of its ascending encoding.
//   - Round trip: decoding an encoding returns a value equal to the one
//     encoded (decimals equal by value, times equal as instants), and
//     re-encoding a successfully decoded value reproduces the consumed bytes
//     exactly: each value has one canonical encoding and decoders reject
//     every other byte string.
//   - Prefix freedom: no encoding is a proper prefix of another, so a
//     concatenation of encodings (a tuple) compares lexicographically column
//     by column, whatever mix of directions the columns use.
//   - Self-description: every value begins with a type-tag byte that names
//     its Type and Direction (see PeekType). Ascending tags lie in
//     [0x01, 0x7f] and descending tags in [0x80, 0xfe]; 0x00 and 0xff never
//     start a value.
//
// NULL sorts before every non-NULL value in ascending order and after every
// non-NULL value in descending order: NULL behaves as the smallest value.
// This is the opposite of PostgreSQL's default (NULLS LAST for ASC, NULLS
// FIRST for DESC); a SQL layer wanting PostgreSQL's order must arrange it
// itself, e.g. with an extra "is NULL" key column.
//
// Per-type semantics:
//
//   - Int is int64 in a variable-length form: values in [-112, 127] take one
//     payload byte, larger magnitudes one length byte plus 1..8 bytes.
//   - Uint is uint64 (used for table and index IDs), same idea, [0, 247]
//     inline.
//   - Float: -0 and +0 encode identically; every NaN encodes as one NaN that
//     sorts after +Inf (as in PostgreSQL).
//   - Decimal: equal values encode identically whatever their scale (1.0 and
//     1.00), so the scale is not preserved; -0 is 0. Order is
//     -Infinity < negatives < 0 < positives < +Infinity < NaN.
//   - String and Bytes may contain any byte, including 0x00 (escaped as
//     0x00 0xff and terminated by 0x00 0x01). Strings compare bytewise, i.e.
//     by code point for valid UTF-8; there is no collation.
//   - Time is an instant with nanosecond precision ordered by (Unix seconds,
//     nanoseconds); the location is not preserved (decoders return UTC).
//   - Date is a day count relative to 1970-01-01.
//   - UUID is 16 bytes compared bytewise.
//
// Decoders never panic and always terminate: truncated, corrupt or unknown
// input yields an error wrapping one of the sentinel errors (ErrTruncated,
// ErrCorrupt, ErrUnknownTag, ErrTypeMismatch). Allocation is bounded by a
// small multiple of the input length, plus for a decimal at most a fixed
// number of padding digits (see maxDecimalPad).
package encoding
