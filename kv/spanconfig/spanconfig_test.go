package spanconfig

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

func span(a, b string) kvpb.Span { return kvpb.Span{Key: kvpb.Key(a), EndKey: kvpb.Key(b)} }

func TestEncodeDecode(t *testing.T) {
	for _, c := range []Config{
		{Span: span("\x88\x05", "\x88\x06"), EdgeRegions: []string{"eu", "ap"}},
		{Span: span("\x88\x05", "\x88\x06")}, // no edge region
		{Span: span("a", "b\x00\xff"), EdgeRegions: []string{"us-west.1"}},
	} {
		v, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(keys.SpanConfigKey(c.Span.Key), v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Span.Key) != string(c.Span.Key) || string(got.Span.EndKey) != string(c.Span.EndKey) || !slices.Equal(got.EdgeRegions, c.EdgeRegions) {
			t.Fatalf("round trip of %+v: %+v", c, got)
		}
	}
	for _, c := range []Config{
		{Span: span("b", "a")},
		{Span: kvpb.Span{Key: kvpb.Key("a")}},
		{Span: span("a", "b"), EdgeRegions: []string{""}},
		{Span: span("a", "b"), EdgeRegions: []string{"eu,ap"}},
	} {
		if _, err := Encode(c); err == nil {
			t.Fatalf("Encode(%+v) succeeded", c)
		}
	}
	good, _ := Encode(Config{Span: span("a", "b")})
	for _, bad := range []struct{ k, v string }{
		{"a", string(good)},                           // not under the prefix
		{string(keys.SpanConfigKey([]byte("a"))), ""}, // empty
		{string(keys.SpanConfigKey([]byte("a"))), "\x02\x01b"},
		{string(keys.SpanConfigKey([]byte("a"))), "\x01\x05b"},
		{string(keys.SpanConfigKey([]byte("c"))), string(good)}, // end before start
	} {
		if _, err := Decode([]byte(bad.k), []byte(bad.v)); err == nil {
			t.Fatalf("Decode(%q, %q) succeeded", bad.k, bad.v)
		}
	}
}

func TestEdgeRegions(t *testing.T) {
	s := NewSet([]Config{
		{Span: span("t5", "t6"), EdgeRegions: []string{"eu"}},
		{Span: span("t3", "t4"), EdgeRegions: []string{"eu", "ap"}},
		{Span: span("t4", "t5"), EdgeRegions: []string{"us"}},
		{Span: span("t7", "t8")},
	})
	for _, tc := range []struct {
		sp   kvpb.Span
		want []string
		all  bool
	}{
		{span("t5", "t6"), []string{"eu"}, false},
		{span("t5\x00", "t5\x09"), []string{"eu"}, false}, // inside one table
		{span("t3", "t5"), []string{"ap", "eu", "us"}, false},
		{span("t3\x01", "t6"), []string{"ap", "eu", "us"}, false},
		{span("t7", "t8"), nil, false}, // opted out
		{span("t6", "t7"), nil, true},  // no record
		{span("t5", "t7"), nil, true},  // partly uncovered
		{span("t2", "t4"), nil, true},
		{span("t7", "t9"), nil, true},
		{kvpb.Span{Key: kvpb.Key("t5")}, []string{"eu"}, false}, // a point
	} {
		got, all := s.EdgeRegions(tc.sp)
		if all != tc.all || !slices.Equal(got, tc.want) {
			t.Errorf("EdgeRegions(%s) = %v, %v; want %v, %v", tc.sp, got, all, tc.want, tc.all)
		}
	}
	var none *Set
	if _, all := none.EdgeRegions(span("a", "b")); !all {
		t.Fatal("the nil set is not the default")
	}
}

// TestReadWrite: records written in a transaction are read back through
// a kv handler once committed, and never if rolled back.
func TestReadWrite(t *testing.T) {
	ctx := context.Background()
	n := kvtest.Start(t, kvtest.Options{})
	a := Config{Span: span("\x88\x8c", "\x88\x8d"), EdgeRegions: []string{"eu"}}
	b := Config{Span: span("\x88\x8d", "\x88\x8e")}
	if err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		if err := Put(ctx, txn, b); err != nil {
			return err
		}
		return Put(ctx, txn, a)
	}); err != nil {
		t.Fatal(err)
	}
	errRollback := errors.New("rollback")
	if err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		if err := Delete(ctx, txn, a.Span.Key); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := Read(rctx, n.Store)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Configs()
	if len(got) != 2 || string(got[0].Span.Key) != string(a.Span.Key) || !slices.Equal(got[0].EdgeRegions, []string{"eu"}) || got[1].EdgeRegions != nil {
		t.Fatalf("read %+v", got)
	}
	if err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error { return Delete(ctx, txn, a.Span.Key) }); err != nil {
		t.Fatal(err)
	}
	if s, err = Read(rctx, n.Store); err != nil || len(s.Configs()) != 1 {
		t.Fatalf("after delete: %+v %v", s.Configs(), err)
	}
}
