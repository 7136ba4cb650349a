package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/outpostdb/outpost/kv/hlc"
)

// versioned builds the engine bytes of a versioned key by hand, so that the
// tests do not depend on EncodeMVCCKey for the bytes they feed the decoder.
func versioned(user string, wall uint64, logical uint32) []byte {
	b := append([]byte(user), 0)
	b = binary.BigEndian.AppendUint64(b, wall)
	b = binary.BigEndian.AppendUint32(b, logical)
	return append(b, 13)
}

func TestDecodeMVCCKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want MVCCKey
	}{
		{"unversioned", []byte("a\x00"), MVCCKey{Key: []byte("a")}},
		{"empty user key", []byte{0}, MVCCKey{Key: []byte{}}},
		{"user key ending in 0x0d", []byte("a\x0d\x00"), MVCCKey{Key: []byte("a\x0d")}},
		{"user key of zeros", []byte{0, 0, 0}, MVCCKey{Key: []byte{0, 0}}},
		{"versioned", versioned("a", 5, 1), MVCCKey{Key: []byte("a"), Timestamp: hlc.Timestamp{WallTime: 5, Logical: 1}}},
		{"versioned, logical only", versioned("a", 0, 1), MVCCKey{Key: []byte("a"), Timestamp: hlc.Timestamp{Logical: 1}}},
		{"versioned, empty user key", versioned("", 7, 0), MVCCKey{Key: []byte{}, Timestamp: hlc.Timestamp{WallTime: 7}}},
		{"max timestamp", versioned("k", math.MaxInt64, math.MaxInt32), MVCCKey{Key: []byte("k"), Timestamp: hlc.MaxTimestamp}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeMVCCKey(tc.in)
			if err != nil {
				t.Fatalf("DecodeMVCCKey(%x): %v", tc.in, err)
			}
			if !bytes.Equal(got.Key, tc.want.Key) || got.Timestamp != tc.want.Timestamp {
				t.Fatalf("DecodeMVCCKey(%x) = %v, want %v", tc.in, got, tc.want)
			}
			if re := EncodeMVCCKey(nil, got); !bytes.Equal(re, tc.in) {
				t.Fatalf("re-encoding %v gives %x, want %x", got, re, tc.in)
			}
			if n := got.EncodedLen(); n != len(tc.in) {
				t.Fatalf("EncodedLen = %d, want %d", n, len(tc.in))
			}
		})
	}
}

func TestDecodeMVCCKeyCorrupt(t *testing.T) {
	badSentinel := versioned("a", 5, 0)
	badSentinel[1] = 'x'
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"unknown suffix length 7", []byte("b\x07")},
		{"unknown suffix length 0xff", []byte{0xff}},
		{"suffix length 12", append(append([]byte("a\x00"), make([]byte, 11)...), 12)},
		{"suffix length 13, too short", []byte("a\x0d")},
		{"suffix length 13, exactly 13 bytes", append(make([]byte, 12), 13)},
		{"no sentinel before the version", badSentinel},
		{"zero timestamp", versioned("a", 0, 0)},
		{"negative wall time", versioned("a", 1<<63, 0)},
		{"negative logical", versioned("a", 5, 1<<31)},
		{"truncated version", versioned("a", 5, 0)[2:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := DecodeMVCCKey(tc.in)
			if err == nil {
				t.Fatalf("DecodeMVCCKey(%x) = %v, want an error", tc.in, k)
			}
			if !errors.Is(err, ErrCorruptKey) {
				t.Fatalf("DecodeMVCCKey(%x): %v does not wrap ErrCorruptKey", tc.in, err)
			}
			// The comparer must still order the bytes without panicking:
			// corrupt keys can reach Pebble through RawPebble or a bad disk.
			_ = Comparer.Compare(tc.in, []byte("a\x00"))
			_ = Comparer.Split(tc.in)
			_ = Comparer.FormatKey(tc.in)
		})
	}
}

func FuzzDecodeMVCCKey(f *testing.F) {
	for _, s := range [][]byte{
		nil, {0}, []byte("a\x00"), versioned("a", 5, 1), []byte("b\x07"), versioned("", 0, 1),
		versioned("a", 1<<63, 0), append(make([]byte, 12), 13), []byte("a\x0d\x00"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeMVCCKey(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptKey) {
				t.Fatalf("error %v does not wrap ErrCorruptKey", err)
			}
			return
		}
		if re := EncodeMVCCKey(nil, k); !bytes.Equal(re, b) {
			t.Fatalf("DecodeMVCCKey(%x) = %v, which re-encodes to %x", b, k, re)
		}
		if k.EncodedLen() != len(b) {
			t.Fatalf("EncodedLen(%v) = %d, want %d", k, k.EncodedLen(), len(b))
		}
		if Comparer.Split(b) != len(k.Key)+1 {
			t.Fatalf("Split(%x) = %d, want %d", b, Comparer.Split(b), len(k.Key)+1)
		}
	})
}

// randKey returns a random valid MVCC key over a small alphabet that
// includes the bytes with a meaning in the encoding (0x00, 0x0d, 0xff).
func randKey(rng *rand.Rand) MVCCKey {
	alphabet := []byte{0x00, 0x01, 0x0d, 'a', 'b', 0xfe, 0xff}
	n := rng.IntN(5)
	if rng.IntN(8) == 0 {
		n += 10 + rng.IntN(8) // long enough to look like a version suffix
	}
	k := make([]byte, n)
	for i := range k {
		k[i] = alphabet[rng.IntN(len(alphabet))]
	}
	var ts hlc.Timestamp
	switch rng.IntN(4) {
	case 0: // unversioned
	case 1:
		ts = hlc.Timestamp{WallTime: int64(rng.IntN(3)), Logical: int32(rng.IntN(3))}
	case 2:
		ts = hlc.Timestamp{WallTime: rng.Int64(), Logical: rng.Int32()}
	default:
		ts = hlc.Timestamp{WallTime: int64(rng.IntN(3)) << 8 * int64(rng.IntN(2)), Logical: 13}
	}
	return MVCCKey{Key: k, Timestamp: ts}
}

// refCompare is the documented order: user keys ascending, then the
// unversioned slot, then versions newest first.
func refCompare(a, b MVCCKey) int {
	if c := bytes.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	switch {
	case a.Timestamp == b.Timestamp:
		return 0
	case !a.IsVersioned():
		return -1
	case !b.IsVersioned():
		return 1
	}
	return b.Timestamp.Compare(a.Timestamp)
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// TestComparerProperties checks the Comparer against the documented key
// order and Pebble's contracts for Split, Separator, Successor,
// ImmediateSuccessor and AbbreviatedKey, on random valid keys.
func TestComparerProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := Comparer
	for i := 0; i < 20000; i++ {
		ka, kb := randKey(rng), randKey(rng)
		if rng.IntN(4) == 0 { // same user key, different versions
			kb.Key = ka.Key
		}
		a, b := EncodeMVCCKey(nil, ka), EncodeMVCCKey(nil, kb)
		want := refCompare(ka, kb)
		if got := sign(c.Compare(a, b)); got != want {
			t.Fatalf("Compare(%v, %v) = %d, want %d", ka, kb, got, want)
		}
		if c.Equal(a, b) != (want == 0) {
			t.Fatalf("Equal(%v, %v) disagrees with Compare", ka, kb)
		}
		// Split: the prefix is the unversioned key and sorts first among
		// its versions; prefixes order keys before suffixes.
		pa := a[:c.Split(a)]
		if !bytes.Equal(pa, EncodeMVCCKey(nil, MVCCKey{Key: ka.Key})) {
			t.Fatalf("Split(%v) gives prefix %x", ka, pa)
		}
		if ka.IsVersioned() && c.Compare(pa, a) >= 0 {
			t.Fatalf("prefix of %v does not sort before it", ka)
		}
		pb := b[:c.Split(b)]
		if pc := c.Compare(pa, pb); pc < 0 && want >= 0 || pc > 0 && want <= 0 {
			t.Fatalf("prefix order of %v, %v is %d, key order %d", ka, kb, pc, want)
		}
		if bytes.Equal(pa, pb) && sign(c.ComparePointSuffixes(a[len(pa):], b[len(pb):])) != want {
			t.Fatalf("ComparePointSuffixes(%v, %v) disagrees with Compare", ka, kb)
		}
		// AbbreviatedKey: a strict order of abbreviations implies the same
		// order of keys.
		if aa, ab := c.AbbreviatedKey(a), c.AbbreviatedKey(b); aa < ab && want >= 0 || aa > ab && want <= 0 {
			t.Fatalf("AbbreviatedKey order of %v, %v contradicts Compare", ka, kb)
		}
		if want > 0 {
			a, b, ka, kb = b, a, kb, ka
		}
		if want != 0 {
			// Separator: a <= sep < b, and a valid MVCC key.
			sep := c.Separator([]byte("dst"), a, b)
			if !bytes.HasPrefix(sep, []byte("dst")) {
				t.Fatalf("Separator did not append to dst")
			}
			sep = sep[3:]
			if c.Compare(a, sep) > 0 || c.Compare(sep, b) >= 0 {
				t.Fatalf("Separator(%v, %v) = %x, not in [a, b)", ka, kb, sep)
			}
			if _, err := DecodeMVCCKey(sep); err != nil {
				t.Fatalf("Separator(%v, %v) = %x: %v", ka, kb, sep, err)
			}
		}
		// Successor: a <= succ, a valid MVCC key.
		succ := c.Successor(nil, a)
		if c.Compare(a, succ) > 0 {
			t.Fatalf("Successor(%v) = %x sorts before it", ka, succ)
		}
		if _, err := DecodeMVCCKey(succ); err != nil {
			t.Fatalf("Successor(%v) = %x: %v", ka, succ, err)
		}
		// ImmediateSuccessor of a prefix: a prefix key after it with no
		// prefix key in between. Any prefix key between pa and the result
		// would be between them bytewise, so test the candidates next to it.
		is := c.ImmediateSuccessor(nil, pa)
		if c.Split(is) != len(is) || c.Compare(pa, is) >= 0 {
			t.Fatalf("ImmediateSuccessor(%x) = %x is not a larger prefix key", pa, is)
		}
		if _, err := DecodeMVCCKey(is); err != nil {
			t.Fatalf("ImmediateSuccessor(%x) = %x: %v", pa, is, err)
		}
		pk := EncodeMVCCKey(nil, MVCCKey{Key: kb.Key})
		if c.Compare(pa, pk) < 0 && c.Compare(pk, is) < 0 {
			t.Fatalf("prefix key %x lies between %x and its ImmediateSuccessor %x", pk, pa, is)
		}
	}
}

// TestSeparatorShortens checks that Separator does shorten where it can (so
// the property test above exercises the interesting branch) and keeps a when
// it cannot.
func TestSeparatorShortens(t *testing.T) {
	enc := func(k string, wall int64) []byte {
		return EncodeMVCCKey(nil, MVCCKey{Key: []byte(k), Timestamp: hlc.Timestamp{WallTime: wall}})
	}
	for _, tc := range []struct {
		a, b []byte
		want []byte
	}{
		{enc("black", 5), enc("blue", 5), []byte("blb\x00")},
		{enc("a", 5), enc("a", 3), enc("a", 5)},
		{enc("a", 5), enc("b", 3), enc("a", 5)},
		{enc("abc", 0), enc("abd", 0), enc("abc", 0)},
		// An empty user key: Pebble's own Separator panics on it.
		{enc("", 5), enc("b", 3), enc("", 5)},
		{enc("", 5), enc("", 3), enc("", 5)},
	} {
		if got := Comparer.Separator(nil, tc.a, tc.b); !bytes.Equal(got, tc.want) {
			t.Errorf("Separator(%x, %x) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestCheckComparer runs Pebble's own comparer checks.
func TestCheckComparer(t *testing.T) {
	var prefixes [][]byte
	for _, k := range []string{"", "a", "ab", "a\x00", "a\x0d", "\xff\xff", "b"} {
		prefixes = append(prefixes, EncodeMVCCKey(nil, MVCCKey{Key: []byte(k)}))
	}
	var suffixes [][]byte
	for _, ts := range []hlc.Timestamp{{Logical: 1}, {WallTime: 1}, {WallTime: 5, Logical: 2}, {WallTime: 1 << 40}, hlc.MaxTimestamp} {
		k := EncodeMVCCKey(nil, MVCCKey{Key: []byte("x"), Timestamp: ts})
		suffixes = append(suffixes, k[2:])
	}
	slices.SortFunc(suffixes, Comparer.ComparePointSuffixes)
	if err := pebble.CheckComparer(Comparer, prefixes, suffixes); err != nil {
		t.Fatal(err)
	}
}
