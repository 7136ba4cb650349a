// Package types owns Outpost's SQL types and values: the type descriptors
// (T, with PostgreSQL's OIDs, type modifiers and names), the values
// (Datum and its concrete types), and every representation of a value:
//
//   - text I/O, exactly as PostgreSQL's input and output functions with
//     default settings (ParseText, FormatText, AppendText);
//   - the PostgreSQL binary wire format (EncodeBinary, DecodeBinary);
//   - the storage value encoding (AppendValue, DecodeValue): compact,
//     self-delimiting, not ordered;
//   - the key encoding (EncodeKey, DecodeKey), order-preserving, on top of
//     kv/encoding;
//   - comparison and hashing (Compare, HashKey) and casts (Cast, CastFrom,
//     LookupCast, CanCastImplicitly).
//
// It also holds EvalContext, the session state evaluation depends on
// (time zone, statement time), because parsing and casting need it; the
// operators and functions over datums live in sql/builtins.
//
// Imports: only sql/sqlerr and kv/encoding of ours, plus apd and uuid. It
// must not import anything else of the sql layer (plan, exec, catalog...)
// so that all of them can use it.
//
// Invariants:
//
//   - Every error returned to callers is a *sqlerr.Error carrying
//     PostgreSQL's SQLSTATE and, where PostgreSQL has one, its message
//     wording. Decoders (DecodeBinary, DecodeValue, DecodeKey, ParseText)
//     never panic on bad input and always terminate; they are fuzzed.
//   - Datums are immutable; pointer datums (*DDecimal, *DJSON) are never
//     modified after construction, so datums may be shared freely.
//   - A *DDecimal is normalized: exponent <= 0 (its display scale is
//     -exponent), no negative zero. A DTimestamp/DTimestampTZ holds a UTC
//     time.Time with microsecond precision. Text datums are valid UTF-8
//     without NUL.
//   - Compare, HashKey and EncodeKey agree: values that Compare equal have
//     equal hash keys, and bytes.Compare of key encodings has the sign of
//     Compare.
//   - Round trips: ParseText(FormatText(d)) = d; DecodeBinary(EncodeBinary
//     (d)) = d; DecodeValue(AppendValue(d)) = d exactly (scale and text
//     kept); DecodeKey(EncodeKey(d)) Compares equal to d.
//
// Representation choices, where PostgreSQL leaves room:
//
//   - A datum does not carry its declared width or modifiers (a DInt may
//     be an int2); functions whose result depends on them take a *T.
//   - Dates are int32 days since 2000-01-01 and timestamps are UTC
//     time.Times, converted to microseconds since 2000-01-01 (PostgreSQL's
//     representation) for arithmetic and the wire; ±infinity are the
//     sentinels DatePosInf/DateNegInf and TimestampPosInf/TimestampNegInf.
//     The range is PostgreSQL's (4714 BC to 5874897 AD for dates, to
//     294276 AD for timestamps).
//   - json keeps its input text; jsonb is kept as its canonical text plus
//     the parsed document. Both compare by canonical text.
//   - char(n) values are stored blank-padded; they compare with their
//     padding (PostgreSQL ignores trailing blanks: sql/builtins provides
//     bpchar comparison operators that do).
package types
