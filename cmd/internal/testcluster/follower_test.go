package testcluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication"
)

// followerScan scans [a, z) at ts on node id's own replica as a follower
// read.
func followerScan(ctx context.Context, c *Cluster, id int32, ts hlc.Timestamp) ([]kvpb.KeyValue, error) {
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts, FollowerRead: true}}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("k/"), EndKey: kvpb.Key("k0")}})
	resp, err := c.Node(id).Store.Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	return resp.Responses[0].(*kvpb.ScanResponse).Rows, nil
}

// waitClosed waits until node id's replica of the first range can serve
// follower reads at ts.
func waitClosed(t *testing.T, c *Cluster, id int32, ts hlc.Timestamp) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	r := c.Node(id).Store.Replica(replication.FirstRangeID)
	for r.ClosedTimestamp().Less(ts) {
		if time.Now().After(deadline) {
			t.Fatalf("n%d: closed timestamp %s never reached %s", id, r.ClosedTimestamp(), ts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowerReads: a replica that does not hold the lease serves reads
// at closed timestamps from its own data, and what it returns at T is
// exactly what the leaseholder returns at T (differential check over
// random writes); reads above its closed timestamp are refused.
func TestFollowerReads(t *testing.T) {
	ctx := context.Background()
	c := Start(t, Options{Nodes: 3, Seed: 41, Store: replication.Config{
		ClosedTimestampLag: 50 * time.Millisecond, ClosedTimestampInterval: 10 * time.Millisecond}})
	lh := c.LeaseHolder()
	follower := someOther(c, lh)
	db := c.Node(lh).DB
	rng := rand.New(rand.NewPCG(41, 1))
	var stamps []hlc.Timestamp
	for round := 0; round < 20; round++ {
		for i := 0; i < 5; i++ {
			k := key(rng.IntN(30))
			var err error
			if rng.IntN(4) == 0 {
				err = db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error { _, err := txn.Delete(ctx, k); return err })
			} else {
				err = put(ctx, db, k, fmt.Sprintf("v%d", round))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		stamps = append(stamps, c.Node(lh).Clock.Now())
	}
	for _, ts := range stamps {
		waitClosed(t, c, follower, ts)
		got, err := followerScan(ctx, c, follower, ts)
		if err != nil {
			t.Fatalf("follower read at %s: %v", ts, err)
		}
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: ts}}
		ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key("k/"), EndKey: kvpb.Key("k0")}})
		resp, err := c.Node(lh).Store.Send(ctx, ba)
		if err != nil {
			t.Fatal(err)
		}
		want := resp.Responses[0].(*kvpb.ScanResponse).Rows
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("at %s the follower returned %d rows, the leaseholder %d", ts, len(got), len(want))
		}
	}
	if st := c.Node(follower).Store.FollowerReadStats(); st.Served < int64(len(stamps)) {
		t.Fatalf("follower served %d reads", st.Served)
	}
	// A timestamp far ahead is not closed: refused with a redirect.
	_, err := followerScan(ctx, c, follower, c.Node(lh).Clock.Now().Add(time.Hour))
	var nlh *kvpb.NotLeaseHolderError
	if !errors.As(err, &nlh) || nlh.LeaseHolder != lh {
		t.Fatalf("read above the closed timestamp: %v", err)
	}
	// Cut off from the leaseholder, the follower keeps serving what was
	// closed, and nothing newer.
	before := c.Node(follower).Store.Replica(replication.FirstRangeID).ClosedTimestamp()
	c.Partition([]int32{follower}, []int32{lh, someOther(c, lh, follower)})
	if _, err := followerScan(ctx, c, follower, before); err != nil {
		t.Fatalf("partitioned follower at its closed timestamp: %v", err)
	}
	if err := put(ctx, db, key(1), "after"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := followerScan(ctx, c, follower, c.Node(lh).Clock.Now()); !errors.As(err, &nlh) {
		t.Fatalf("partitioned follower served a read it cannot know: %v", err)
	}
	c.Heal()
	ts := c.Node(lh).Clock.Now()
	waitClosed(t, c, follower, ts)
	rows, err := followerScan(ctx, c, follower, ts)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		found = found || (string(r.Key) == string(key(1)) && string(r.Value) == "after")
	}
	if !found {
		t.Fatal("after the heal the follower does not see the write made meanwhile")
	}
}
