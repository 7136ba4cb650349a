// Package transporttest is the conformance suite of transport.Transport:
// the contracts of the transport package doc (per-pair FIFO, copies on Send,
// handler may Send, Listen/stop semantics, Close semantics, partitions
// drop and heal, delay is never early) and, for transports that also
// implement transport.SnapshotTransport, its snapshot contracts (chunks in
// order and copied, handler and sender errors reported, partitions cut
// streams, no listener fails), checked through the interface
// only, so that MemTransport and the gRPC transport of replication/rpc run
// the same tests. Implementation-specific behaviour (statistics, drop rates,
// queue overflow) stays in each implementation's own tests.
//
// It imports only transport and raftpb/protobuf, and is imported by tests.
package transporttest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/replication/transport"
)

// Faults is the part of a fault injector the suite uses; MemTransport and
// *transport.Faults implement it.
type Faults interface {
	SetDelay(a, b int32, oneWay time.Duration)
	Partition(groupA, groupB []int32)
	Heal()
}

// Env is one transport under test, serving nodes 1 to 4.
type Env struct {
	// Transport routes Send(from, to) and Listen(node) for nodes 1..4
	// (for a per-node transport, an adapter over the nodes' transports).
	Transport transport.Transport
	// Faults injects faults into Transport.
	Faults Faults
}

// Run runs the suite; newEnv returns a fresh environment per subtest. The
// suite calls Transport.Close itself in some subtests; newEnv should also
// register cleanup (Close is idempotent).
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e Env)
	}{
		{"FIFOPerPair", testFIFO},
		{"SendCopies", testSendCopies},
		{"HandlerMaySend", testHandlerMaySend},
		{"ListenStopWaitsForInflight", testListenStop},
		{"DuplicateListenPanics", testDuplicateListen},
		{"PartitionDropsThenHeals", testPartition},
		{"DelayNeverEarly", testDelay},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newEnv(t)) })
	}
	runSnapshots(t, newEnv)
}

// Msg returns a raft message carrying index i, for range 1.
func Msg(i uint64) transport.Message {
	return transport.Message{RangeID: 1, Msg: &raftpb.Message{
		Type:  raftpb.MessageType_MsgApp.Enum(),
		Index: proto.Uint64(i),
	}}
}

type recv struct {
	from  int32
	index uint64
	at    time.Time
}

// Recorder is a Handler that records what it receives.
type Recorder struct {
	mu  sync.Mutex
	got []recv
}

// HandleRaft implements transport.Handler.
func (r *Recorder) HandleRaft(_ context.Context, from int32, msgs []transport.Message) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.got = append(r.got, recv{from: from, index: m.Msg.GetIndex(), at: now})
	}
}

// Len returns the number of messages received.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// IndexesFrom returns the indexes received from node from, in order.
func (r *Recorder) IndexesFrom(from int32) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, g := range r.got {
		if g.from == from {
			out = append(out, g.index)
		}
	}
	return out
}

// WaitFor polls cond until it holds or a generous deadline passes.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func send(t *testing.T, tr transport.Transport, from, to int32, msgs ...transport.Message) {
	t.Helper()
	if err := tr.Send(from, to, msgs); err != nil {
		t.Fatal(err)
	}
}

func testFIFO(t *testing.T, e Env) {
	tr := e.Transport
	var r Recorder
	defer tr.Listen(2, &r)()
	e.Faults.SetDelay(1, 2, 20*time.Millisecond)
	const n = 300
	var wg sync.WaitGroup
	for _, from := range []int32{1, 3} {
		wg.Go(func() {
			for i := uint64(0); i < n; i += 3 {
				if from == 1 && i == n/2 {
					// A shorter delay must not let later messages overtake.
					e.Faults.SetDelay(1, 2, time.Millisecond)
				}
				if err := tr.Send(from, 2, []transport.Message{Msg(i), Msg(i + 1), Msg(i + 2)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	WaitFor(t, "all delivered", func() bool { return r.Len() == 2*n })
	for _, from := range []int32{1, 3} {
		for i, idx := range r.IndexesFrom(from) {
			if idx != uint64(i) {
				t.Fatalf("from %d: message %d has index %d", from, i, idx)
			}
		}
	}
}

func testSendCopies(t *testing.T, e Env) {
	tr := e.Transport
	e.Faults.SetDelay(1, 2, 20*time.Millisecond)
	var r Recorder
	defer tr.Listen(2, &r)()
	m := Msg(1)
	send(t, tr, 1, 2, m)
	m.Msg.Index = proto.Uint64(99) // the sender reuses its message
	WaitFor(t, "delivered", func() bool { return r.Len() == 1 })
	if got := r.IndexesFrom(1); got[0] != 1 {
		t.Fatalf("delivered index %d, want 1", got[0])
	}
}

func testHandlerMaySend(t *testing.T, e Env) {
	tr := e.Transport
	var r Recorder
	defer tr.Listen(1, &r)()
	defer tr.Listen(2, transport.HandlerFunc(func(_ context.Context, from int32, msgs []transport.Message) {
		_ = tr.Send(2, from, msgs) // echo
	}))()
	send(t, tr, 1, 2, Msg(5))
	WaitFor(t, "echo", func() bool { return slices.Contains(r.IndexesFrom(2), 5) })
}

func testListenStop(t *testing.T, e Env) {
	tr := e.Transport
	release := make(chan struct{})
	entered := make(chan struct{})
	stop := tr.Listen(2, transport.HandlerFunc(func(context.Context, int32, []transport.Message) {
		close(entered)
		<-release
	}))
	send(t, tr, 1, 2, Msg(0))
	<-entered
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a handler call was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	stop() // idempotent

	// The node can listen again, and receives what is sent afterwards
	// (messages sent while it had no listener may be dropped).
	var r Recorder
	defer tr.Listen(2, &r)()
	send(t, tr, 1, 2, Msg(2))
	WaitFor(t, "delivered", func() bool { return slices.Contains(r.IndexesFrom(1), 2) })
}

func testDuplicateListen(t *testing.T, e Env) {
	tr := e.Transport
	defer tr.Listen(1, &Recorder{})()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	tr.Listen(1, &Recorder{})
}

func testPartition(t *testing.T, e Env) {
	tr := e.Transport
	recs := map[int32]*Recorder{1: {}, 2: {}, 3: {}}
	for id, r := range recs {
		defer tr.Listen(id, r)()
	}
	e.Faults.Partition([]int32{1}, []int32{2, 3})
	links := [][2]int32{{1, 2}, {2, 1}, {1, 3}, {3, 1}, {2, 3}, {3, 2}}
	for _, l := range links {
		send(t, tr, l[0], l[1], Msg(1))
	}
	WaitFor(t, "2↔3", func() bool { return len(recs[3].IndexesFrom(2)) == 1 && len(recs[2].IndexesFrom(3)) == 1 })
	// Give cut messages the time the uncut ones took, and more.
	time.Sleep(50 * time.Millisecond)
	for _, l := range links {
		if (l[0] == 1 || l[1] == 1) && len(recs[l[1]].IndexesFrom(l[0])) != 0 {
			t.Fatalf("partitioned %v delivered", l)
		}
	}
	// A partition also cuts messages in flight.
	e.Faults.Heal()
	e.Faults.SetDelay(1, 2, 50*time.Millisecond)
	send(t, tr, 1, 2, Msg(2))
	e.Faults.Partition([]int32{1}, []int32{2})
	time.Sleep(150 * time.Millisecond)
	if slices.Contains(recs[2].IndexesFrom(1), 2) {
		t.Fatal("a message in flight crossed a partition")
	}
	e.Faults.Heal()
	e.Faults.SetDelay(1, 2, 0)
	for _, l := range links {
		send(t, tr, l[0], l[1], Msg(3))
	}
	for _, l := range links {
		WaitFor(t, "healed", func() bool { return slices.Contains(recs[l[1]].IndexesFrom(l[0]), 3) })
	}
}

func testDelay(t *testing.T, e Env) {
	tr := e.Transport
	var r Recorder
	defer tr.Listen(2, &r)()
	const d = 40 * time.Millisecond
	e.Faults.SetDelay(1, 2, d)
	var sent []time.Time
	for i := range uint64(5) {
		sent = append(sent, time.Now())
		send(t, tr, 1, 2, Msg(i))
		time.Sleep(5 * time.Millisecond)
	}
	WaitFor(t, "delivered", func() bool { return r.Len() == 5 })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.got {
		if early := sent[g.index].Add(d).Sub(g.at); early > 0 {
			t.Fatalf("message %d delivered %v early", g.index, early)
		}
	}
}

func testClose(t *testing.T, e Env) {
	tr := e.Transport
	blocked := make(chan struct{}, 1)
	var stops []func()
	for id := int32(1); id <= 4; id++ {
		stops = append(stops, tr.Listen(id, transport.HandlerFunc(func(ctx context.Context, from int32, _ []transport.Message) {
			if from == 4 { // blocks until Close cancels it
				select {
				case blocked <- struct{}{}:
				default:
				}
				<-ctx.Done()
			}
		})))
	}
	e.Faults.SetDelay(1, 2, time.Hour) // queued forever
	for a := int32(1); a <= 4; a++ {
		for b := int32(1); b <= 4; b++ {
			if a != b {
				send(t, tr, a, b, Msg(0), Msg(1))
			}
		}
	}
	<-blocked
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung behind a blocked handler or a queued message")
	}
	if err := tr.Send(1, 2, []transport.Message{Msg(2)}); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	for _, stop := range stops {
		stop()
	}
	tr.Listen(1, &Recorder{})() // no-op after Close
}
