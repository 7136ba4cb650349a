package rpc

import (
	"context"
	"crypto/sha256"
	"errors"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// receiverFunc adapts a function to SnapshotReceiver.
type receiverFunc func(ctx context.Context, from int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error

func (f receiverFunc) ReceiveSnapshot(ctx context.Context, from int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	return f(ctx, from, h, chunks)
}

// genChunks yields n chunks of size bytes of seeded random data, each
// freshly allocated, so that only what the transport holds stays live.
func genChunks(seed uint64, n, size int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		var key [32]byte
		key[0] = byte(seed)
		r := rand.NewChaCha8(key)
		for range n {
			c := make([]byte, size)
			_, _ = r.Read(c)
			if !yield(c, nil) {
				return
			}
		}
	}
}

func sumChunks(chunks iter.Seq2[[]byte, error]) (sum [32]byte, n int, err error) {
	h := sha256.New()
	for c, err := range chunks {
		if err != nil {
			return sum, n, err
		}
		h.Write(c)
		n += len(c)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

func TestSnapshotLargeBoundedMemory(t *testing.T) {
	const chunks, size = 64, 1 << 20
	c := newCluster(t, 2, nil)
	want, _, _ := sumChunks(genChunks(7, chunks, size))
	var gotSum [32]byte
	var gotN int
	var gotHeader SnapshotHeader
	c.node(2).SetSnapshotReceiver(receiverFunc(func(ctx context.Context, from int32, h SnapshotHeader, ch iter.Seq2[[]byte, error]) error {
		gotHeader = h
		var err error
		gotSum, gotN, err = sumChunks(ch)
		return err
	}))

	// Sample the heap while the snapshot streams: both ends are in this
	// process, so the peak bounds what sender and receiver hold together.
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	h := SnapshotHeader{RangeID: 12, Meta: []byte("raft metadata")}
	err := c.node(1).SendSnapshot(context.Background(), 2, h, genChunks(7, chunks, size))
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if gotHeader.RangeID != 12 || string(gotHeader.Meta) != "raft metadata" {
		t.Fatalf("header %+v", gotHeader)
	}
	if gotN != chunks*size || gotSum != want {
		t.Fatalf("received %d bytes, checksum match %v", gotN, gotSum == want)
	}
	grown := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("heap peak %d MiB above base", grown>>20)
	if grown > 40<<20 {
		t.Fatalf("heap grew by %d MiB while streaming 64 MiB: the snapshot is being buffered", grown>>20)
	}
}

func TestSnapshotErrors(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.SnapshotChunkBytes = 1 << 10 })
	ctx := context.Background()
	h := SnapshotHeader{RangeID: 1}

	// No receiver yet.
	if err := c.node(1).SendSnapshot(ctx, 2, h, genChunks(1, 1, 10)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no receiver: %v", err)
	}

	// The receiver's typed error reaches the sender.
	c.node(2).SetSnapshotReceiver(receiverFunc(func(ctx context.Context, from int32, h SnapshotHeader, ch iter.Seq2[[]byte, error]) error {
		if h.RangeID == 99 {
			return &kvpb.TransactionStatusError{Msg: "range 99 is gone"}
		}
		_, _, err := sumChunks(ch)
		return err
	}))
	var tse *kvpb.TransactionStatusError
	if err := c.node(1).SendSnapshot(ctx, 2, SnapshotHeader{RangeID: 99}, genChunks(1, 3, 10)); !errors.As(err, &tse) {
		t.Fatalf("receiver error: %v", err)
	}

	// Oversized chunks are refused before sending.
	if err := c.node(1).SendSnapshot(ctx, 2, h, genChunks(1, 1, 2<<10)); !errors.Is(err, ErrChunkTooLarge) {
		t.Fatalf("oversized: %v", err)
	}

	// A sender-side error aborts the stream; the receiver sees an error.
	recvErr := make(chan error, 1)
	gotFirst := make(chan struct{}, 1)
	c.node(2).SetSnapshotReceiver(receiverFunc(func(ctx context.Context, from int32, h SnapshotHeader, ch iter.Seq2[[]byte, error]) error {
		var err error
		for _, err = range ch {
			if err != nil {
				break
			}
			gotFirst <- struct{}{}
		}
		recvErr <- err
		return err
	}))
	boom := errors.New("storage read failed")
	failing := func(yield func([]byte, error) bool) {
		if yield(make([]byte, 100), nil) {
			<-gotFirst // the receiver is running: the abort must reach it
			yield(nil, boom)
		}
	}
	if err := c.node(1).SendSnapshot(ctx, 2, h, failing); !errors.Is(err, boom) {
		t.Fatalf("sender abort: %v", err)
	}
	select {
	case err := <-recvErr:
		if err == nil {
			t.Fatal("receiver accepted an aborted snapshot")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("receiver never saw the abort")
	}

	// A receiver that stops early does not accept the snapshot.
	c.node(2).SetSnapshotReceiver(receiverFunc(func(context.Context, int32, SnapshotHeader, iter.Seq2[[]byte, error]) error {
		return nil
	}))
	if err := c.node(1).SendSnapshot(ctx, 2, h, genChunks(1, 3, 10)); err == nil {
		t.Fatal("early return accepted")
	}

	// Partitioned: deadline exceeded.
	c.faults.Partition([]int32{1}, []int32{2})
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.node(1).SendSnapshot(tctx, 2, h, genChunks(1, 3, 10)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("partitioned: %v", err)
	}
}

// TestSnapshotFlowControl checks that a slow receiver holds the sender
// back: while the receiver is stuck on its first chunk, the sender's
// iterator is not drained beyond the stream's flow-control windows.
func TestSnapshotFlowControl(t *testing.T) {
	const chunks, size = 32, 1 << 20
	c := newCluster(t, 2, nil)
	release := make(chan struct{})
	var received atomic.Int64
	c.node(2).SetSnapshotReceiver(receiverFunc(func(ctx context.Context, from int32, h SnapshotHeader, ch iter.Seq2[[]byte, error]) error {
		for _, err := range ch {
			if err != nil {
				return err
			}
			if received.Add(1) == 1 {
				<-release
			}
		}
		return nil
	}))
	var generated atomic.Int64
	src := func(yield func([]byte, error) bool) {
		for range chunks {
			generated.Add(1)
			if !yield(make([]byte, size), nil) {
				return
			}
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- c.node(1).SendSnapshot(context.Background(), 2, SnapshotHeader{RangeID: 1}, src) }()
	waitFor(t, "first chunk", func() bool { return received.Load() == 1 })
	// Wait until the sender stalls.
	last := int64(-1)
	for generated.Load() != last {
		last = generated.Load()
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("sender stalled after %d of %d chunks", last, chunks)
	if last > 16 {
		t.Fatalf("sender produced %d MiB while the receiver held 1: no flow control", last)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if received.Load() != chunks {
		t.Fatalf("received %d chunks", received.Load())
	}
}
