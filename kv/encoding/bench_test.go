package encoding

import (
	"strings"
	"testing"
)

func BenchmarkEncodeInt(b *testing.B) {
	buf := make([]byte, 0, 64)
	for _, tc := range []struct {
		name string
		v    int64
	}{{"inline", 42}, {"3bytes", 1 << 20}, {"max", 1<<63 - 1}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = EncodeInt(buf[:0], tc.v, Ascending)
			}
		})
	}
}

func BenchmarkEncodeString(b *testing.B) {
	buf := make([]byte, 0, 256)
	for _, tc := range []struct {
		name string
		s    string
		dir  Direction
	}{
		{"short", "hello, world", Ascending},
		{"short/desc", "hello, world", Descending},
		{"nuls", "a\x00b\x00c\x00d\x00e\x00f", Ascending},
		{"100B", strings.Repeat("0123456789", 10), Ascending},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.s)))
			for b.Loop() {
				buf = EncodeString(buf[:0], tc.s, tc.dir)
			}
		})
	}
}

func BenchmarkDecodeValue(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"int", EncodeInt(nil, 12345, Ascending)},
		{"uint", EncodeUvarintAscending(nil, 53)},
		{"float", EncodeFloat(nil, -3.5, Descending)},
		{"string", EncodeString(nil, "hello, world", Ascending)},
		{"string/desc", EncodeString(nil, "hello, world", Descending)},
		{"decimal", EncodeDecimal(nil, mustDecimal("-12345.678"), Ascending)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := DecodeValue(tc.key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
