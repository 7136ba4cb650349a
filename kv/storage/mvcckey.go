package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/outpostdb/outpost/kv/hlc"
)

// ErrCorruptKey reports engine key bytes that are not a valid MVCC key.
var ErrCorruptKey = errors.New("storage: corrupt mvcc key")

const (
	sentinel         = 0x00
	versionSuffixLen = 13 // wall(8) + logical(4) + length byte
)

// MVCCKey is a user key at a timestamp. An empty Timestamp denotes the
// unversioned slot of the key (intent metadata, or a plain unversioned
// value for local keys).
type MVCCKey struct {
	Key       []byte
	Timestamp hlc.Timestamp
}

// IsVersioned reports whether the key carries a timestamp.
func (k MVCCKey) IsVersioned() bool { return !k.Timestamp.IsEmpty() }

func (k MVCCKey) String() string {
	if !k.IsVersioned() {
		return fmt.Sprintf("%q", k.Key)
	}
	return fmt.Sprintf("%q/%s", k.Key, k.Timestamp)
}

// EncodedLen returns the length of the encoded key.
func (k MVCCKey) EncodedLen() int {
	if k.IsVersioned() {
		return len(k.Key) + 1 + versionSuffixLen
	}
	return len(k.Key) + 1
}

// EncodeMVCCKey appends the engine encoding of k to dst.
func EncodeMVCCKey(dst []byte, k MVCCKey) []byte {
	dst = append(dst, k.Key...)
	dst = append(dst, sentinel)
	if k.IsVersioned() {
		dst = binary.BigEndian.AppendUint64(dst, uint64(k.Timestamp.WallTime))
		dst = binary.BigEndian.AppendUint32(dst, uint32(k.Timestamp.Logical))
		dst = append(dst, versionSuffixLen)
	}
	return dst
}

// DecodeMVCCKey splits engine key bytes into user key and timestamp. The
// returned Key aliases b.
func DecodeMVCCKey(b []byte) (MVCCKey, error) {
	if len(b) == 0 {
		return MVCCKey{}, fmt.Errorf("%w: empty", ErrCorruptKey)
	}
	switch n := int(b[len(b)-1]); n {
	case 0:
		return MVCCKey{Key: b[:len(b)-1]}, nil
	case versionSuffixLen:
		if len(b) < versionSuffixLen+1 || b[len(b)-versionSuffixLen-1] != sentinel {
			return MVCCKey{}, fmt.Errorf("%w: %x", ErrCorruptKey, b)
		}
		s := b[len(b)-versionSuffixLen:]
		ts := hlc.Timestamp{
			WallTime: int64(binary.BigEndian.Uint64(s)),
			Logical:  int32(binary.BigEndian.Uint32(s[8:])),
		}
		if ts.IsEmpty() || ts.WallTime < 0 || ts.Logical < 0 {
			return MVCCKey{}, fmt.Errorf("%w: bad timestamp in %x", ErrCorruptKey, b)
		}
		return MVCCKey{Key: b[:len(b)-versionSuffixLen-1], Timestamp: ts}, nil
	default:
		return MVCCKey{}, fmt.Errorf("%w: suffix length %d in %x", ErrCorruptKey, n, b)
	}
}

// split returns the length of the prefix (userKey + sentinel). Malformed keys
// are treated as having no suffix so that comparisons stay total.
func split(k []byte) int {
	if len(k) == 0 {
		return 0
	}
	if n := int(k[len(k)-1]); n == versionSuffixLen && len(k) > versionSuffixLen {
		return len(k) - versionSuffixLen
	}
	return len(k)
}

// compareSuffixes orders the unversioned (empty) suffix first, then versions
// newest first.
func compareSuffixes(a, b []byte) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	case len(b) == 0:
		return 1
	}
	// Fixed-width big-endian timestamps: reverse byte order = newest first.
	return bytes.Compare(b, a)
}

func compareKeys(a, b []byte) int {
	sa, sb := split(a), split(b)
	if c := bytes.Compare(a[:sa], b[:sb]); c != 0 {
		return c
	}
	return compareSuffixes(a[sa:], b[sb:])
}

// Comparer is the Pebble comparer for MVCC keys.
var Comparer = func() *pebble.Comparer {
	c := &pebble.Comparer{
		Name:                 "outpost.mvcc.v1",
		Compare:              compareKeys,
		Equal:                func(a, b []byte) bool { return compareKeys(a, b) == 0 },
		Split:                split,
		ComparePointSuffixes: compareSuffixes,
		CompareRangeSuffixes: compareSuffixes,
		AbbreviatedKey: func(k []byte) uint64 {
			return pebble.DefaultComparer.AbbreviatedKey(k[:split(k)])
		},
		FormatKey: func(k []byte) fmt.Formatter {
			return keyFormatter(k)
		},
		// Separator and Successor may shorten keys but must produce valid
		// MVCC keys; we shorten only prefixes and re-terminate them.
		Separator: func(dst, a, b []byte) []byte {
			pa, pb := a[:split(a)], b[:split(b)]
			if len(pa) <= 1 || len(pb) <= 1 {
				// An empty user key cannot be shortened, and Pebble's
				// Separator panics on empty keys.
				return append(dst, a...)
			}
			ua, ub := pa[:len(pa)-1], pb[:len(pb)-1]
			sep := pebble.DefaultComparer.Separator(nil, ua, ub)
			if len(sep) >= len(ua) || bytes.Compare(sep, ua) <= 0 || bytes.Compare(sep, ub) >= 0 {
				return append(dst, a...)
			}
			dst = append(dst, sep...)
			return append(dst, sentinel)
		},
		Successor: func(dst, a []byte) []byte {
			return append(dst, a...)
		},
		ImmediateSuccessor: func(dst, a []byte) []byte {
			// a is a prefix (userKey 0x00); the next prefix is
			// (userKey 0x00) 0x00.
			dst = append(dst, a...)
			return append(dst, sentinel)
		},
	}
	return c
}()

type keyFormatter []byte

func (k keyFormatter) Format(s fmt.State, _ rune) {
	mk, err := DecodeMVCCKey(k)
	if err != nil {
		fmt.Fprintf(s, "corrupt(%x)", []byte(k))
		return
	}
	fmt.Fprint(s, mk.String())
}
