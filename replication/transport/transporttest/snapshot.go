package transporttest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/replication/transport"
)

// runSnapshots runs the snapshot subtests when the transport under test
// also streams snapshots.
func runSnapshots(t *testing.T, newEnv func(t *testing.T) Env) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, tr transport.SnapshotTransport, e Env)
	}{
		{"SnapshotDelivered", testSnapshotDelivered},
		{"SnapshotHandlerError", testSnapshotHandlerError},
		{"SnapshotSenderAbort", testSnapshotSenderAbort},
		{"SnapshotPartition", testSnapshotPartition},
		{"SnapshotNoListener", testSnapshotNoListener},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			st, ok := e.Transport.(transport.SnapshotTransport)
			if !ok {
				t.Skip("the transport does not stream snapshots")
			}
			tc.fn(t, st, e)
		})
	}
}

// SnapRecorder is a SnapshotHandler that records the snapshots it fully
// received; it fails those whose header Meta is "fail".
type SnapRecorder struct {
	mu       sync.Mutex
	complete []RecvSnapshot
	errs     []error
}

// RecvSnapshot is one snapshot a SnapRecorder received completely.
type RecvSnapshot struct {
	From   int32
	Header transport.SnapshotHeader
	Chunks []string
}

// HandleSnapshot implements transport.SnapshotHandler.
func (r *SnapRecorder) HandleSnapshot(ctx context.Context, from int32, h transport.SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	got := RecvSnapshot{From: from, Header: h}
	for c, err := range chunks {
		if err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
			return err
		}
		got.Chunks = append(got.Chunks, string(c))
	}
	if string(h.Meta) == "fail" {
		return errors.New("refused by the handler")
	}
	r.mu.Lock()
	r.complete = append(r.complete, got)
	r.mu.Unlock()
	return nil
}

// Complete returns the snapshots received to the end.
func (r *SnapRecorder) Complete() []RecvSnapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.complete)
}

// Errors returns the stream errors the handler saw.
func (r *SnapRecorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// chunksOf yields n chunks "c0".."c<n-1>" through one reused buffer, so a
// transport that does not copy them delivers garbage.
func chunksOf(n int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		buf := make([]byte, 0, 16)
		for i := range n {
			buf = fmt.Appendf(buf[:0], "c%d", i)
			if !yield(buf, nil) {
				return
			}
		}
	}
}

func testSnapshotDelivered(t *testing.T, tr transport.SnapshotTransport, _ Env) {
	var r SnapRecorder
	defer tr.ListenSnapshots(2, &r)()
	h := transport.SnapshotHeader{RangeID: 7, Meta: []byte("meta")}
	if err := tr.SendSnapshot(context.Background(), 1, 2, h, chunksOf(50)); err != nil {
		t.Fatal(err)
	}
	got := r.Complete()
	if len(got) != 1 {
		t.Fatalf("received %d complete snapshots", len(got))
	}
	g := got[0]
	if g.From != 1 || g.Header.RangeID != 7 || string(g.Header.Meta) != "meta" || len(g.Chunks) != 50 {
		t.Fatalf("received %+v", g)
	}
	for i, c := range g.Chunks {
		if c != fmt.Sprintf("c%d", i) {
			t.Fatalf("chunk %d = %q", i, c)
		}
	}
}

func testSnapshotHandlerError(t *testing.T, tr transport.SnapshotTransport, _ Env) {
	var r SnapRecorder
	defer tr.ListenSnapshots(2, &r)()
	err := tr.SendSnapshot(context.Background(), 1, 2, transport.SnapshotHeader{RangeID: 1, Meta: []byte("fail")}, chunksOf(3))
	if err == nil {
		t.Fatal("a refused snapshot was reported accepted")
	}
}

func testSnapshotSenderAbort(t *testing.T, tr transport.SnapshotTransport, _ Env) {
	var r SnapRecorder
	defer tr.ListenSnapshots(2, &r)()
	boom := errors.New("disk on fire")
	chunks := func(yield func([]byte, error) bool) {
		if !yield([]byte("first"), nil) {
			return
		}
		yield(nil, boom)
	}
	if err := tr.SendSnapshot(context.Background(), 1, 2, transport.SnapshotHeader{RangeID: 1}, chunks); err == nil {
		t.Fatal("an aborted snapshot was reported accepted")
	}
	// The receiver sees an error, or nothing at all if the stream was cut
	// before its header arrived; never a complete snapshot.
	time.Sleep(50 * time.Millisecond)
	if len(r.Complete()) != 0 {
		t.Fatal("an aborted snapshot was received completely")
	}
}

func testSnapshotPartition(t *testing.T, tr transport.SnapshotTransport, e Env) {
	var r SnapRecorder
	defer tr.ListenSnapshots(2, &r)()
	e.Faults.Partition([]int32{1}, []int32{2})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := tr.SendSnapshot(ctx, 1, 2, transport.SnapshotHeader{RangeID: 1}, chunksOf(3)); err == nil {
		t.Fatal("a snapshot crossed a partition")
	}
	// A partition in the middle of the stream cuts it.
	e.Faults.Heal()
	chunks := func(yield func([]byte, error) bool) {
		if !yield([]byte("a"), nil) {
			return
		}
		e.Faults.Partition([]int32{1}, []int32{2})
		for range 3 {
			if !yield([]byte("b"), nil) {
				return
			}
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if err := tr.SendSnapshot(ctx2, 1, 2, transport.SnapshotHeader{RangeID: 1}, chunks); err == nil {
		t.Fatal("a snapshot cut by a partition was reported accepted")
	}
	if len(r.Complete()) != 0 {
		t.Fatal("a partitioned snapshot was received completely")
	}
	e.Faults.Heal()
	if err := tr.SendSnapshot(context.Background(), 1, 2, transport.SnapshotHeader{RangeID: 1}, chunksOf(2)); err != nil {
		t.Fatalf("after heal: %v", err)
	}
}

func testSnapshotNoListener(t *testing.T, tr transport.SnapshotTransport, _ Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := tr.SendSnapshot(ctx, 1, 3, transport.SnapshotHeader{RangeID: 1}, chunksOf(2)); err == nil {
		t.Fatal("a snapshot to a node without a handler was reported accepted")
	}
	var r SnapRecorder
	stop := tr.ListenSnapshots(3, &r)
	stop()
	stop()
	if err := tr.SendSnapshot(ctx, 1, 3, transport.SnapshotHeader{RangeID: 1}, chunksOf(2)); err == nil {
		t.Fatal("a snapshot to a stopped handler was reported accepted")
	}
}
