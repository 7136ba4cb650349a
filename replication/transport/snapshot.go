package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"
)

// SnapshotHeader opens a snapshot stream.
type SnapshotHeader struct {
	// RangeID is the range the snapshot is of.
	RangeID int64
	// Meta is opaque to the transport: the metadata (raft index, term, conf
	// state, range descriptor) the receiver needs before the data.
	Meta []byte
}

// SnapshotHandler applies snapshots sent to one node (the Store).
//
// HandleSnapshot is called once per incoming snapshot. chunks yields the
// chunks in order as they arrive (the receiver owns each); it ends after the
// last chunk, or yields one non-nil error (the sender aborted, a partition
// cut the stream, ctx ended) and stops. The snapshot counts as accepted only
// if HandleSnapshot consumed chunks to the end and returned nil; its error
// is returned to the sender. ctx ends when the sender gives up or the
// listener stops.
type SnapshotHandler interface {
	HandleSnapshot(ctx context.Context, from int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error
}

// SnapshotTransport streams snapshots between nodes. It is separate from
// Transport (raft messages are small, lossy and never block; a snapshot is
// a large, acknowledged, flow-controlled stream). MemTransport and
// replication/rpc's RaftTransport implement both; the Store uses it when
// its Transport does.
//
// Contracts every implementation keeps:
//   - Bounded memory: chunks is pulled one chunk at a time as the receiver
//     consumes them, so neither side holds the whole snapshot. The sender's
//     iterator may reuse a chunk's buffer once asked for the next one.
//   - SendSnapshot returns nil only once the receiver's handler accepted the
//     snapshot; otherwise the handler's error, an error yielded by chunks
//     (which aborts the stream), a context error, or ErrSnapshotUnavailable
//     (no listener, a partition, the transport closed).
//   - A partition or isolation in force between the pair when the stream
//     starts, or at any chunk, fails it.
type SnapshotTransport interface {
	SendSnapshot(ctx context.Context, from, to int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error
	// ListenSnapshots registers h as node's snapshot handler; stop
	// unregisters it and waits for snapshots being handled (whose ctx it
	// cancels). Idempotent stop; after Close, a no-op.
	ListenSnapshots(node int32, h SnapshotHandler) (stop func())
}

// ErrSnapshotUnavailable: the snapshot could not reach its receiver.
var ErrSnapshotUnavailable = errors.New("transport: snapshot receiver unreachable")

var _ SnapshotTransport = (*MemTransport)(nil)

// memSnapListener is a registered snapshot handler of MemTransport.
type memSnapListener struct {
	h        SnapshotHandler
	ctx      context.Context
	cancel   context.CancelFunc
	inflight sync.WaitGroup
}

// SendSnapshot implements SnapshotTransport: the handler runs on the
// caller's goroutine, pulling chunks from the sender's iterator one at a
// time (each copied, as a network would). The pair's one-way delay is
// applied once, before the header; faults are checked before the header
// and before every chunk.
func (t *MemTransport) SendSnapshot(ctx context.Context, from, to int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	if d := t.Faults.Delay(from, to); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	l := t.mu.snapListeners[to]
	if l == nil || t.Blocked(from, to) {
		t.mu.Unlock()
		return fmt.Errorf("%w: n%d from n%d", ErrSnapshotUnavailable, to, from)
	}
	l.inflight.Add(1)
	t.mu.Unlock()
	defer l.inflight.Done()

	hctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	var sendErr error // an error of the sender's side, not the handler's
	complete := false
	stream := func(yield func([]byte, error) bool) {
		for c, err := range chunks {
			switch {
			case err != nil:
				sendErr = err
			case t.Blocked(from, to):
				sendErr = fmt.Errorf("%w: partitioned from n%d in the middle of a snapshot", ErrSnapshotUnavailable, to)
			case hctx.Err() != nil:
				sendErr = hctx.Err()
			}
			if sendErr != nil {
				yield(nil, sendErr)
				return
			}
			if !yield(bytes.Clone(c), nil) {
				return
			}
		}
		complete = true
	}
	err := l.h.HandleSnapshot(hctx, from, SnapshotHeader{RangeID: h.RangeID, Meta: bytes.Clone(h.Meta)}, stream)
	switch {
	case sendErr != nil:
		return sendErr
	case err != nil:
		return err
	case !complete:
		return fmt.Errorf("transport: n%d: snapshot handler returned before the end of the stream", to)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return nil
}

// ListenSnapshots implements SnapshotTransport.
func (t *MemTransport) ListenSnapshots(node int32, h SnapshotHandler) (stop func()) {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return func() {}
	}
	if t.mu.snapListeners == nil {
		t.mu.snapListeners = map[int32]*memSnapListener{}
	}
	if _, ok := t.mu.snapListeners[node]; ok {
		t.mu.Unlock()
		panic(fmt.Sprintf("transport: node %d already has a snapshot listener", node))
	}
	l := &memSnapListener{h: h}
	l.ctx, l.cancel = context.WithCancel(t.ctx)
	t.mu.snapListeners[node] = l
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			if t.mu.snapListeners[node] == l {
				delete(t.mu.snapListeners, node)
			}
			t.mu.Unlock()
			l.cancel()
			l.inflight.Wait()
		})
	}
}
