package kvtest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/router"
)

// TestMulti: the harness writes meta, each node serves only the ranges it
// leads and only batches inside one range, the router on top serves
// everything, and every range's store config sees the router.
func TestMulti(t *testing.T) {
	ctx := context.Background()
	var hooked []int64
	var sender kvrpc.Handler
	m := kvtest.StartMulti(t, kvtest.MultiOptions{
		Splits: []kvpb.Key{kvpb.Key("m"), kvpb.Key("f")},
		Nodes:  2,
		Router: router.Config{Timeout: 200 * time.Millisecond},
		StoreConfig: func(cfg *local.Config, desc *kvpb.RangeDescriptor, s kvrpc.Handler) {
			if cfg.RangeID != desc.RangeID {
				t.Errorf("store config of r%d for r%d", cfg.RangeID, desc.RangeID)
			}
			hooked = append(hooked, desc.RangeID)
			sender = s
		},
	})
	if len(m.Ranges) != 3 || len(hooked) != 3 || sender != m.Router {
		t.Fatalf("%d ranges, hook saw %v, sender %v", len(m.Ranges), hooked, sender)
	}
	want := []string{`r1:["\x02","f") gen=1 {n1,n2}`, `r2:["f","m") gen=1 {n2,n1}`, `r3:["m","\xff\xff") gen=1 {n1,n2}`}
	for i, rg := range m.Ranges {
		if got := rg.Desc.String(); got != want[i] {
			t.Errorf("range %d: %s, want %s", i, got, want[i])
		}
	}
	// Meta holds one record per range, keyed by its end.
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: keys.MetaPrefix, EndKey: keys.MetaMax}})
	resp, err := m.Nodes[0].Send(ctx, ba)
	if err != nil {
		t.Fatal(err)
	}
	rows := resp.Responses[0].(*kvpb.ScanResponse).Rows
	if len(rows) != 3 {
		t.Fatalf("%d meta records", len(rows))
	}
	for i, row := range rows {
		d, err := kvpb.DecodeRangeDescriptor(row.Value)
		if err != nil || d.String() != want[i] || string(row.Key) != string(keys.MetaKey(d.EndKey)) {
			t.Errorf("meta record %d: %s %v %v", i, row.Key, d, err)
		}
	}
	// A batch crossing ranges is refused with the ranges it overlaps.
	cross := &kvpb.BatchRequest{}
	cross.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("a"), EndKey: kvpb.Key("g")}})
	_, err = m.Nodes[0].Send(ctx, cross)
	var mm *kvpb.RangeKeyMismatchError
	if !errors.As(err, &mm) || len(mm.Ranges) != 2 || mm.Ranges[1].RangeID != 2 {
		t.Fatalf("crossing batch: %v", err)
	}
	// A node refuses a range it does not lead, naming the leaseholder.
	get := &kvpb.BatchRequest{}
	get.Add(&kvpb.GetRequest{Key: kvpb.Key("g")})
	_, err = m.Nodes[0].Send(ctx, get)
	var nlh *kvpb.NotLeaseHolderError
	if !errors.As(err, &nlh) || nlh.RangeID != 2 || nlh.LeaseHolder != 2 {
		t.Fatalf("non-leaseholder: %v", err)
	}
	// The router serves all of it; the writes land in the shared engine.
	if err := m.DB.Put(ctx, kvpb.Key("b"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := m.DB.Put(ctx, kvpb.Key("g"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	kvs, err := m.DB.Scan(ctx, kvpb.Key("a"), kvpb.Key("z"), 0)
	if err != nil || len(kvs) != 2 {
		t.Fatalf("scan through the router: %v %v", kvs, err)
	}
	if got := m.Router.LeaseHolderOf(2); got != 2 {
		t.Errorf("router: r2 leaseholder %d", got)
	}
	// With its only leaseholder down, r2 is unavailable; r1 is not.
	var down atomic.Bool
	m.Nodes[1].Down = down.Load
	down.Store(true)
	if _, err := m.DB.Get(ctx, kvpb.Key("b")); err != nil {
		t.Fatal(err)
	}
	_, err = m.DB.Get(ctx, kvpb.Key("g"))
	var ru *kvpb.RangeUnavailableError
	if !errors.As(err, &ru) || ru.RangeID != 2 {
		t.Fatalf("with n2 down: %v", err)
	}
	down.Store(false)
	if v, err := m.DB.Get(ctx, kvpb.Key("g")); err != nil || string(v) != "2" {
		t.Fatalf("after n2 is back: %q %v", v, err)
	}
}

// TestMultiBadSplits: split keys must be valid range boundaries.
func TestMultiBadSplits(t *testing.T) {
	for _, splits := range [][]kvpb.Key{
		{kvpb.Key("\x02\x05")}, // inside meta
		{kvpb.Key("a"), kvpb.Key("a")},
		{kvpb.Key("\xff\xff")},
	} {
		if m, err := kvtest.OpenMulti(kvtest.MultiOptions{Splits: splits}); err == nil {
			m.Close()
			t.Errorf("splits %q accepted", splits)
		}
	}
}
