package hlc

import (
	"testing"
	"time"
)

func TestTimestampOrdering(t *testing.T) {
	ts := []Timestamp{
		{},
		{WallTime: 0, Logical: 1},
		{WallTime: 1},
		{WallTime: 1, Logical: maxLogical},
		{WallTime: 2},
		MaxTimestamp,
	}
	for i, a := range ts {
		for j, b := range ts {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
			if got := a.Less(b); got != (want < 0) {
				t.Errorf("%s.Less(%s) = %t", a, b, got)
			}
			if got := a.LessEq(b); got != (want <= 0) {
				t.Errorf("%s.LessEq(%s) = %t", a, b, got)
			}
		}
		if a != MaxTimestamp && (!a.Less(a.Next()) || a.Next().Prev() != a) {
			t.Errorf("%s.Next() = %s, Next().Prev() = %s", a, a.Next(), a.Next().Prev())
		}
	}
	for _, tc := range []struct{ a, next Timestamp }{
		{Timestamp{}, Timestamp{Logical: 1}},
		{Timestamp{WallTime: 1, Logical: 4}, Timestamp{WallTime: 1, Logical: 5}},
		{Timestamp{WallTime: 1, Logical: maxLogical}, Timestamp{WallTime: 2}},
	} {
		if got := tc.a.Next(); got != tc.next {
			t.Errorf("%s.Next() = %s, want %s", tc.a, got, tc.next)
		}
		if got := tc.next.Prev(); got != tc.a {
			t.Errorf("%s.Prev() = %s, want %s", tc.next, got, tc.a)
		}
	}
}

func TestTimestampHelpers(t *testing.T) {
	a := Timestamp{WallTime: 5, Logical: 2}
	b := Timestamp{WallTime: 5, Logical: 3}
	if !(Timestamp{}).IsEmpty() || a.IsEmpty() {
		t.Fatal("IsEmpty")
	}
	if Max(a, b) != b || Max(b, a) != b {
		t.Fatal("Max")
	}
	x := a
	if !x.Forward(b) || x != b || x.Forward(a) || x != b {
		t.Fatal("Forward")
	}
	if got := a.Add(time.Second); got != (Timestamp{WallTime: 5 + int64(time.Second)}) {
		t.Fatalf("Add = %s", got)
	}
	if got := (Timestamp{WallTime: 1_500_000_000, Logical: 7}).String(); got != "1.500000000,7" {
		t.Fatalf("String = %q", got)
	}
	if got := (Timestamp{WallTime: int64(time.Second)}).GoTime(); !got.Equal(time.Unix(1, 0)) {
		t.Fatalf("GoTime = %s", got)
	}
}
