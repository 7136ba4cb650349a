package rpc

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/outpostdb/outpost/replication/transport"
)

// RaftTransport also carries snapshots (transport.SnapshotTransport), over
// its Node's SendSnapshot and snapshot receiver, so a Store given the
// RaftTransport streams snapshots without further wiring.
var _ transport.SnapshotTransport = (*RaftTransport)(nil)

// SendSnapshot implements transport.SnapshotTransport; from must be this
// node.
func (t *RaftTransport) SendSnapshot(ctx context.Context, from, to int32, h transport.SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	if from != t.n.NodeID() {
		return fmt.Errorf("rpc: snapshot from n%d sent through n%d", from, t.n.NodeID())
	}
	return t.n.SendSnapshot(ctx, to, SnapshotHeader{RangeID: h.RangeID, Meta: h.Meta}, chunks)
}

// ListenSnapshots implements transport.SnapshotTransport by setting the
// Node's snapshot receiver; node must be this node.
func (t *RaftTransport) ListenSnapshots(node int32, h transport.SnapshotHandler) (stop func()) {
	if node != t.n.NodeID() {
		panic(fmt.Sprintf("rpc: n%d cannot listen for snapshots to n%d", t.n.NodeID(), node))
	}
	r := &snapReceiver{h: h}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.n.SetSnapshotReceiver(r)
	var once sync.Once
	return func() {
		once.Do(func() {
			t.n.mu.Lock()
			if t.n.mu.snap == SnapshotReceiver(r) {
				t.n.mu.snap = nil
			}
			t.n.mu.Unlock()
			r.mu.Lock()
			r.stopped = true
			r.mu.Unlock()
			r.cancel()
			r.inflight.Wait()
		})
	}
}

// snapReceiver adapts a transport.SnapshotHandler to SnapshotReceiver,
// counting calls so that the listener's stop can wait for them.
type snapReceiver struct {
	h        transport.SnapshotHandler
	ctx      context.Context
	cancel   context.CancelFunc
	inflight sync.WaitGroup
	mu       sync.Mutex
	stopped  bool
}

func (r *snapReceiver) ReceiveSnapshot(ctx context.Context, from int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return fmt.Errorf("%w: snapshot receiver stopped", ErrUnavailable)
	}
	r.inflight.Add(1)
	r.mu.Unlock()
	defer r.inflight.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	return r.h.HandleSnapshot(ctx, from, transport.SnapshotHeader{RangeID: h.RangeID, Meta: h.Meta}, chunks)
}
