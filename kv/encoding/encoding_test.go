package encoding

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/google/uuid"
)

// Each table lists groups of equal values in strictly increasing order.

func intGroups() [][]Value {
	set := []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64 - 1, math.MaxInt64,
		-113, -112, -111, -2, -1, 0, 1, 2, 126, 127, 128}
	// Boundaries of every length class on both sides.
	for n := 1; n < 8; n++ {
		p := int64(1) << (8 * n)
		set = append(set, p-1, p, p+1, -p-1, -p, -p+1)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	groups := make([][]Value, len(set))
	for i, v := range set {
		groups[i] = []Value{IntValue(v)}
	}
	return groups
}

func uintGroups() [][]Value {
	set := []uint64{0, 1, 246, 247, 248, 249, 255, math.MaxUint64 - 1, math.MaxUint64}
	for n := 1; n < 8; n++ {
		p := uint64(1) << (8 * n)
		set = append(set, p-1, p, p+1)
	}
	slices.Sort(set)
	set = slices.Compact(set)
	groups := make([][]Value, len(set))
	for i, v := range set {
		groups[i] = []Value{UintValue(v)}
	}
	return groups
}

func floatGroups() [][]Value {
	f := FloatValue
	negZero := math.Copysign(0, -1)
	return [][]Value{
		{f(math.Inf(-1))},
		{f(-math.MaxFloat64)},
		{f(-1e100)},
		{f(-1.5)},
		{f(-1)},
		{f(math.Nextafter(-1, 0))},
		{f(-math.SmallestNonzeroFloat64 * 2)},
		{f(-math.SmallestNonzeroFloat64)},
		{f(negZero), f(0)},
		{f(math.SmallestNonzeroFloat64)},
		{f(0x1p-1022)}, // smallest normal
		{f(1)},
		{f(math.Nextafter(1, 2))},
		{f(1.5)},
		{f(1e100)},
		{f(math.MaxFloat64)},
		{f(math.Inf(1))},
		{f(math.NaN()), f(-math.NaN()), f(math.Float64frombits(0x7ff0000000000001)),
			f(math.Float64frombits(0xfff8000000000123))},
	}
}

func decimalGroups() [][]Value {
	d := func(ss ...string) []Value {
		var g []Value
		for _, s := range ss {
			g = append(g, DecimalValue(mustDecimal(s)))
		}
		return g
	}
	raw := func(coeff int64, exp int32, neg bool) Value {
		v := apd.New(coeff, exp)
		v.Negative = neg
		return DecimalValue(v)
	}
	big := "1234567890123456789012345678901234567890" // 40 digits
	nines := "0.9999999999999999999999999999999999999999"
	return [][]Value{
		d("-Infinity"),
		{raw(10, math.MaxInt32, true)}, // needs a padded coefficient to decode
		{raw(1, math.MaxInt32, true)},
		d("-1E+100", "-10E+99", "-0.001E+103"),
		d("-" + big + "1"),
		d("-"+big, "-1.234567890123456789012345678901234567890E+39"),
		d("-" + big[:38] + "89"), // same exponent, smaller magnitude
		d("-11"),
		d("-10", "-1E+1", "-10.000"),
		d("-9.99"),
		d("-2"),
		d("-1.5"),
		d("-1.0000000000000000000000000000000000000001"),
		d("-1", "-1.0", "-1.00", "-100E-2", "-0.1E+1"),
		d("-" + nines),
		d("-0.5"),
		d("-0.10000000000000000001"),
		d("-0.1"),
		d("-0.0010000000000000000000001"),
		d("-0.001"),
		d("-1E-50"),
		{raw(123, math.MinInt32, true)},
		{raw(1, math.MinInt32, true)},
		d("0", "0.00", "-0", "0E+10", "-0.000", "0E-1000"),
		{raw(1, math.MinInt32, false)},
		{raw(123, math.MinInt32, false)},
		d("1E-50"),
		d("1.0000000000000000000000000000000000000001E-50"),
		d("0.001", "0.0010", "1E-3"),
		d("0.0010000000000000000000001"),
		d("0.01"),
		d("0.09"),
		d("0.1"),
		d("0.10000000000000000001"),
		d("0.5"),
		d("0.99"),
		d(nines),
		d("1", "1.0", "1.00", "100E-2", "0.1E+1"),
		d("1.0000000000000000000000000000000000000001"),
		d("1.05"),
		d("1.5"),
		d("2"),
		d("9"),
		d("9.99"),
		d("10", "1E+1", "10.000"),
		d("11"),
		d("99"),
		d("100"),
		d("101"),
		d("110"),
		d("12345678901234567890"), // 20 digits, just past uint64 fast path
		d(big[:38] + "89"),
		d(big, "1.234567890123456789012345678901234567890E+39"),
		d(big + "1"),
		d("1E+100", "10E+99"),
		{raw(1, math.MaxInt32, false)},
		{raw(10, math.MaxInt32, false), raw(100, math.MaxInt32-1, false)},
		{raw(11, math.MaxInt32, false)},
		d("Infinity"),
		d("NaN", "-NaN", "sNaN"),
	}
}

var stringCases = []string{"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01",
	"a", "a\x00", "a\x00\x00", "a\x00b", "a\x01", "ab", "b", "é", "\xff", "\xff\x00", "\xff\xff"}

func stringGroups() [][]Value {
	var g [][]Value
	for _, s := range stringCases {
		g = append(g, []Value{StringValue(s)})
	}
	return g
}

func bytesGroups() [][]Value {
	var g [][]Value
	for _, s := range stringCases {
		g = append(g, []Value{BytesValue([]byte(s))})
	}
	return g
}

func timeGroups() [][]Value {
	tm := func(ts ...time.Time) []Value {
		var g []Value
		for _, t := range ts {
			g = append(g, TimeValue(t))
		}
		return g
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	modern := time.Date(2024, 2, 29, 12, 34, 56, 123456789, time.UTC)
	return [][]Value{
		tm(time.Time{}), // 0001-01-01
		tm(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)),
		tm(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)),
		tm(time.Unix(-1, 0)),
		tm(time.Unix(-1, 1)),
		tm(time.Unix(-1, 999999999), time.Unix(0, -1)),
		tm(time.Unix(0, 0), time.Unix(0, 0).In(ny)),
		tm(time.Unix(0, 1)),
		tm(time.Unix(0, 999999999)),
		tm(time.Unix(1, 0)),
		tm(modern.Add(-1)),
		tm(modern, modern.In(ny)),
		tm(modern.Add(1)),
		tm(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)),
		tm(time.Date(100000, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
}

func dateGroups() [][]Value {
	var g [][]Value
	for _, d := range []int64{math.MinInt64, -719528, -1, 0, 1, 19782, 2932896, math.MaxInt64} {
		g = append(g, []Value{DateValue(d)})
	}
	return g
}

func uuidGroups() [][]Value {
	var g [][]Value
	for _, s := range []string{
		"00000000-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000001",
		"00000000-0000-0000-0000-0000000000ff",
		"00000000-0000-0000-0000-000000000100",
		"7fffffff-ffff-ffff-ffff-ffffffffffff",
		"80000000-0000-0000-0000-000000000000",
		"f47ac10b-58cc-4372-a567-0e02b2c3d479",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
	} {
		g = append(g, []Value{UUIDValue(uuid.MustParse(s))})
	}
	return g
}

func boolGroups() [][]Value {
	return [][]Value{{BoolValue(false)}, {BoolValue(true)}}
}

var orderTables = []struct {
	name   string
	groups func() [][]Value
}{
	{"bool", boolGroups},
	{"int", intGroups},
	{"uint", uintGroups},
	{"float", floatGroups},
	{"decimal", decimalGroups},
	{"string", stringGroups},
	{"bytes", bytesGroups},
	{"time", timeGroups},
	{"date", dateGroups},
	{"uuid", uuidGroups},
}

// TestOrder checks, per type and direction, that encodings compare exactly
// like the table's groups (NULL first ASC, last DESC), that the reference
// comparison agrees with the table, and every per-value property.
func TestOrder(t *testing.T) {
	for _, tc := range orderTables {
		t.Run(tc.name, func(t *testing.T) {
			type item struct {
				v    Value
				rank int // -1 for NULL
				enc  []byte
			}
			for _, dir := range dirs {
				items := []item{{v: NullValue(), rank: -1}}
				for rank, g := range tc.groups() {
					for _, v := range g {
						items = append(items, item{v: v, rank: rank})
					}
				}
				for i := range items {
					items[i].enc = checkValue(t, items[i].v, dir)
				}
				for _, a := range items {
					for _, b := range items {
						want := sign(a.rank - b.rank)
						if ref := compareValues(a.v, b.v); ref != want {
							t.Fatalf("table order broken: compare(%v, %v) = %d, want %d", a.v, b.v, ref, want)
						}
						if dir == Descending {
							want = -want
						}
						if got := bytes.Compare(a.enc, b.enc); got != want {
							t.Fatalf("%v: compare(%v, %v) = %d, want %d\n% x\n% x",
								dir, a.v, b.v, got, want, a.enc, b.enc)
						}
					}
				}
			}
		})
	}
}

// TestIntLengths pins the length classes the varint promises.
func TestIntLengths(t *testing.T) {
	for _, tc := range []struct {
		v int64
		n int
	}{
		{0, 2}, {-112, 2}, {127, 2}, {-113, 3}, {128, 3}, {255, 3}, {-256, 3},
		{256, 4}, {-257, 4}, {math.MaxInt64, 10}, {math.MinInt64, 10},
	} {
		if got := len(EncodeInt(nil, tc.v, Ascending)); got != tc.n {
			t.Errorf("len(EncodeInt(%d)) = %d, want %d", tc.v, got, tc.n)
		}
	}
	for _, tc := range []struct {
		v uint64
		n int
	}{{0, 2}, {247, 2}, {248, 3}, {255, 3}, {256, 4}, {math.MaxUint64, 10}} {
		if got := len(EncodeUvarintAscending(nil, tc.v)); got != tc.n {
			t.Errorf("len(EncodeUvarintAscending(%d)) = %d, want %d", tc.v, got, tc.n)
		}
	}
}

// allValues returns every value of the order tables of type t.
func allValues(typ func() [][]Value) []Value {
	var vs []Value
	for _, g := range typ() {
		vs = append(vs, g...)
	}
	return vs
}

// TestTuples checks that concatenated encodings compare like tuples, column
// by column, for random schemas mixing types and directions, behind a
// /Table/<id>/<index> prefix.
func TestTuples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for schema := range 40 {
		ncols := 1 + rng.IntN(4)
		pools := make([][]Value, ncols)
		colDirs := make([]Direction, ncols)
		for c := range ncols {
			// Few values per column so that ties, which push the comparison
			// to later columns, are common.
			all := allValues(orderTables[rng.IntN(len(orderTables))].groups)
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			pools[c] = append(all[:min(len(all), 3)], NullValue())
			colDirs[c] = dirs[rng.IntN(2)]
		}
		prefix := EncodeUvarintAscending(EncodeUvarintAscending(nil, 53), 1)
		type row struct {
			vals []Value
			key  []byte
		}
		rows := make([]row, 150)
		for i := range rows {
			key := slices.Clone(prefix)
			vals := make([]Value, ncols)
			for c := range ncols {
				vals[c] = pools[c][rng.IntN(len(pools[c]))]
				key = EncodeValue(key, vals[c], colDirs[c])
			}
			rows[i] = row{vals, key}
		}
		for _, a := range rows {
			for _, b := range rows {
				want := compareTuples(a.vals, b.vals, colDirs)
				if got := bytes.Compare(a.key, b.key); got != want {
					t.Fatalf("schema %d %v: %s vs %s: got %d want %d",
						schema, colDirs, PrettyPrint(a.key), PrettyPrint(b.key), got, want)
				}
			}
			// Decode the row back column by column.
			rest := a.key
			for range 2 {
				var err error
				if rest, _, err = DecodeUvarintAscending(rest); err != nil {
					t.Fatal(err)
				}
			}
			for c := range ncols {
				var v Value
				var err error
				rest, v, err = DecodeValue(rest)
				if err != nil || compareValues(v, a.vals[c]) != 0 {
					t.Fatalf("column %d: %v, %v", c, v, err)
				}
			}
			if len(rest) != 0 {
				t.Fatalf("leftover % x", rest)
			}
		}
	}
}

func TestPrettyPrint(t *testing.T) {
	key := EncodeUvarintAscending(nil, 1)
	key = EncodeString(key, "abc", Ascending)
	key = EncodeNull(key, Descending)
	key = EncodeFloat(key, -3.5, Descending)
	if got, want := PrettyPrint(key), `/1/"abc"/NULL/-3.5`; got != want {
		t.Errorf("PrettyPrint = %s, want %s", got, want)
	}

	u := uuid.MustParse("f47ac10b-58cc-4372-a567-0e02b2c3d479")
	key = EncodeInt(nil, -7, Ascending)
	key = EncodeBool(key, true, Descending)
	key = EncodeDecimal(key, mustDecimal("100.00"), Ascending)
	key = EncodeDecimal(key, mustDecimal("-1.5E-7"), Descending)
	key = EncodeDecimal(key, mustDecimal("1E+100"), Ascending)
	key = EncodeBytes(key, []byte{0, 0xab}, Ascending)
	key = EncodeTime(key, time.Unix(0, 5), Ascending)
	key = EncodeDate(key, 19782, Descending)
	key = EncodeUUID(key, u, Ascending)
	key = EncodeString(key, "a\x00\"", Descending)
	want := `/-7/true/100/-1.5E-7/1E+100/x'00ab'/1970-01-01T00:00:00.000000005Z/2024-02-29/` +
		u.String() + `/"a\x00\""`
	if got := PrettyPrint(key); got != want {
		t.Errorf("PrettyPrint =\n%s\nwant\n%s", got, want)
	}

	// Undecodable bytes fall back to hex and end the rendering.
	key = EncodeInt(nil, 1, Ascending)
	key = append(key, tagString, 'a', 0x00)
	if got, want := PrettyPrint(key), "/1/?306100"; got != want {
		t.Errorf("PrettyPrint = %s, want %s", got, want)
	}
	if got := PrettyPrint(nil); got != "/" {
		t.Errorf("PrettyPrint(nil) = %s", got)
	}
	for _, days := range []int64{math.MinInt64, math.MaxInt64, 1 << 40} {
		_ = DateValue(days).String() // must not panic
	}
}

func TestDecodeErrors(t *testing.T) {
	ti := func(b ...byte) []byte { return append([]byte{tagInt}, b...) }
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"tag 0x00", []byte{0x00}, ErrUnknownTag},
		{"tag 0xff", []byte{0xff}, ErrUnknownTag},
		{"tag 0x7f", []byte{0x7f}, ErrUnknownTag},
		{"int missing payload", ti(), ErrTruncated},
		{"int missing bytes", ti(0xf9, 0x01), ErrTruncated},
		{"int positive not minimal", ti(0xf8, 0x05), ErrCorrupt},
		{"int 2 bytes not minimal", ti(0xf9, 0x00, 0xff), ErrCorrupt},
		{"int negative not minimal", ti(0x07, 0xa0), ErrCorrupt},
		{"int negative 2 bytes not minimal", ti(0x06, 0xff, 0x00), ErrCorrupt},
		{"int overflow", ti(0xff, 0x80, 0, 0, 0, 0, 0, 0, 0), ErrCorrupt},
		{"int negative overflow", ti(0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrCorrupt},
		{"uint not minimal", []byte{tagUint, 0xf8, 0x10}, ErrCorrupt},
		{"bool 2", []byte{tagBool, 2}, ErrCorrupt},
		{"float -0", []byte{tagFloat, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrCorrupt},
		{"float other NaN", []byte{tagFloat, 0xff, 0xf8, 0, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"float negative NaN", []byte{tagFloat, 0, 0, 0, 0, 0, 0, 0, 0}, ErrCorrupt},
		{"float short", []byte{tagFloat, 0x80}, ErrTruncated},
		{"string unterminated", []byte{tagString, 'a'}, ErrTruncated},
		{"string dangling escape", []byte{tagString, 'a', 0x00}, ErrTruncated},
		{"string bad escape", []byte{tagString, 'a', 0x00, 0x02}, ErrCorrupt},
		{"desc string bad escape", []byte{^tagString, 0xff, 0x02}, ErrCorrupt},
		{"decimal bad class", []byte{tagDecimal, 0x42}, ErrCorrupt},
		{"decimal no digits", []byte{tagDecimal, decPos, 0x78, 0x00}, ErrCorrupt},
		{"decimal leading zero", []byte{tagDecimal, decPos, 0x78, 0x02, 0x00}, ErrCorrupt},
		{"decimal trailing zeros", []byte{tagDecimal, decPos, 0x78, 0x0b, 0x01, 0x00}, ErrCorrupt},
		{"decimal pair > 99", []byte{tagDecimal, decPos, 0x78, 0x66, 0x00}, ErrCorrupt},
		{"decimal unterminated", []byte{tagDecimal, decPos, 0x78, 0x0b}, ErrTruncated},
		{"decimal exponent too small", []byte{tagDecimal, decPos, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x00}, ErrCorrupt},
		{"decimal exponent too large", []byte{tagDecimal, decPos, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0b, 0x00}, ErrCorrupt},
		{"time nanos too large", []byte{tagTime, 0x78, 0xfb, 0x3b, 0x9a, 0xca, 0x00}, ErrCorrupt},
		{"uuid short", []byte{tagUUID, 1, 2, 3}, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, _, err := DecodeValue(in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeValue(% x) err = %v, want %v", in, err, tc.want)
			}
			if s := PrettyPrint(in); len(in) > 0 && s[:2] != "/?" {
				t.Fatalf("PrettyPrint = %s", s)
			}
		})
	}
	if _, _, err := DecodeUvarintAscending(EncodeUint(nil, 1, Descending)); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("DecodeUvarintAscending of DESC: %v", err)
	}
	if _, _, err := DecodeString(EncodeBytes(nil, nil, Ascending)); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("DecodeString of bytes: %v", err)
	}
	if rest, null := DecodeIfNull(EncodeInt(nil, 0, Ascending)); null || len(rest) != 2 {
		t.Errorf("DecodeIfNull of int: %v %x", null, rest)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0xff}, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\x00"), []byte("a\x01")},
		{[]byte("\x01\xfe\xff\xff"), []byte("\x01\xff")},
	} {
		in := slices.Clone(tc.in)
		got := PrefixEnd(in)
		if !bytes.Equal(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("PrefixEnd(% x) = % x, want % x", tc.in, got, tc.want)
		}
		if !bytes.Equal(in, tc.in) {
			t.Errorf("PrefixEnd modified its input")
		}
	}
	// Every key with the prefix sorts in [prefix, PrefixEnd(prefix)).
	prefix := EncodeInt(EncodeUvarintAscending(nil, 7), 255, Descending)
	end := PrefixEnd(prefix)
	for _, suffix := range [][]byte{nil, {0}, {0xff, 0xff, 0xff}, EncodeNull(nil, Descending)} {
		k := append(slices.Clone(prefix), suffix...)
		if bytes.Compare(k, end) >= 0 {
			t.Errorf("key % x not below PrefixEnd % x", k, end)
		}
	}
	if bytes.Compare(EncodeInt(EncodeUvarintAscending(nil, 7), 254, Descending), end) < 0 {
		t.Errorf("next value sorts below PrefixEnd")
	}
}

// TestDecodeAllocs pins that scalar decodes do not allocate.
func TestDecodeAllocs(t *testing.T) {
	key := EncodeInt(nil, 1<<40, Descending)
	key = EncodeFloat(key, 2.5, Ascending)
	key = EncodeTime(key, time.Unix(1700000000, 5), Ascending)
	n := testing.AllocsPerRun(100, func() {
		rest := key
		for len(rest) > 0 {
			var err error
			if rest, _, err = DecodeValue(rest); err != nil {
				t.Fatal(err)
			}
		}
	})
	if n != 0 {
		t.Errorf("DecodeValue of scalars allocates %v times", n)
	}
	n = testing.AllocsPerRun(100, func() {
		buf := make([]byte, 0, 64)
		buf = EncodeDecimal(buf, mustDecimalForAllocs, Descending)
		_ = buf
	})
	if n > 1 {
		t.Errorf("EncodeDecimal allocates %v times", n)
	}
}

var mustDecimalForAllocs = mustDecimal("-12345.678")
