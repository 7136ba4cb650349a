package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// TestFollowerReadLog: the router records in the context's ReadLog who
// served each follower-read batch and why the local replica refused; the
// wait a batch carries (FollowerReadWait) reaches only the local replica,
// and no later batch of the same statement waits once one fell back.
func TestFollowerReadLog(t *testing.T) {
	ctx := context.Background()
	c := newFakeCluster(3, "m")
	c.lh[1], c.lh[2] = 1, 2
	r := c.router(t, 3, 5*time.Second)
	var log kvrpc.ReadLog
	lctx := kvrpc.WithReadLog(ctx, &log)
	get := func(k string) {
		t.Helper()
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: hlc.Timestamp{WallTime: 5}, FollowerRead: true, FollowerReadWait: 50 * time.Millisecond}}
		ba.Add(&kvpb.GetRequest{Key: kvpb.Key(k)})
		if _, err := r.Send(lctx, ba); err != nil {
			t.Fatal(err)
		}
	}
	waits := func() (local, remote []time.Duration) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.log {
			if !s.ba.FollowerRead {
				continue
			}
			if s.node == 3 {
				local = append(local, s.ba.FollowerReadWait)
			} else {
				remote = append(remote, s.ba.FollowerReadWait)
			}
		}
		return
	}

	// n3 holds no lease: it refuses, n1 (r1's leaseholder) serves.
	get("a")
	parts, batches, refusal := log.Snapshot()
	if len(parts) != 1 || parts[0] != (kvrpc.ReadPart{RangeID: 1, Node: 1}) || batches != 1 || !strings.HasPrefix(refusal, "r1 on n3: ") {
		t.Fatalf("parts %+v, batches %d, refusal %q", parts, batches, refusal)
	}
	if log.AllLocal() || !log.FellBack() {
		t.Fatal("AllLocal or FellBack wrong after a fallback")
	}
	if local, remote := waits(); len(local) != 1 || local[0] != 50*time.Millisecond || len(remote) != 1 || remote[0] != 0 {
		t.Fatalf("waits sent: local %v, remote %v", local, remote)
	}

	// The next batch of the same statement does not wait locally.
	c.resetLog()
	get("x")
	if local, _ := waits(); len(local) != 1 || local[0] != 0 {
		t.Fatalf("second batch after a fallback waited locally: %v", local)
	}
	parts, batches, _ = log.Snapshot()
	if len(parts) != 2 || parts[1] != (kvrpc.ReadPart{RangeID: 2, Node: 2}) || batches != 2 {
		t.Fatalf("parts %+v, batches %d", parts, batches)
	}

	// A new statement: n3 now holds r1's lease and serves; nothing fell
	// back, so its batch carried the wait.
	log.Reset()
	c.resetLog()
	c.mu.Lock()
	c.lh[1] = 3
	c.mu.Unlock()
	get("b")
	parts, _, refusal = log.Snapshot()
	if len(parts) != 1 || parts[0] != (kvrpc.ReadPart{RangeID: 1, Node: 3, Local: true}) || refusal != "" || !log.AllLocal() {
		t.Fatalf("parts %+v, refusal %q", parts, refusal)
	}
	if local, _ := waits(); len(local) != 1 || local[0] != 50*time.Millisecond {
		t.Fatalf("waits sent locally: %v", local)
	}
}
