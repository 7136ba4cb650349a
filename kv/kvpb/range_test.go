package kvpb

import (
	"errors"
	"reflect"
	"testing"
)

func TestRangeDescriptorRoundTrip(t *testing.T) {
	d := &RangeDescriptor{RangeID: 7, StartKey: Key("b"), EndKey: Key("m"), Generation: 3,
		Replicas: []ReplicaDescriptor{{NodeID: 1}, {NodeID: 4, Type: NonVoter}}}
	enc := AppendRangeDescriptor(nil, d)
	got, err := DecodeRangeDescriptor(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("got %s, want %s", got, d)
	}
	checkPrefixes(t, enc, func(b []byte) error { _, err := DecodeRangeDescriptor(b); return err })
	if !d.ContainsKey(Key("b")) || d.ContainsKey(Key("m")) || !d.ContainsSpan(Span{Key: Key("c"), EndKey: Key("m")}) ||
		d.ContainsSpan(Span{Key: Key("c"), EndKey: Key("n")}) {
		t.Fatal("containment is wrong")
	}
}

func TestRangeKeyMismatchErrorWire(t *testing.T) {
	in := &RangeKeyMismatchError{RequestedSpan: Span{Key: Key("a"), EndKey: Key("z")},
		Ranges: []RangeDescriptor{{RangeID: 2, StartKey: Key("a"), EndKey: Key("k"), Replicas: []ReplicaDescriptor{{NodeID: 2}}}}}
	out := roundTripError(t, in)
	var got *RangeKeyMismatchError
	if !errors.As(out, &got) || !reflect.DeepEqual(got, in) {
		t.Fatalf("got %#v", out)
	}
}
