package transport

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// recv is a received message with its arrival time.
type recv struct {
	from  int32
	index uint64
	at    time.Time
}

// recorder is a Handler that records what it receives.
type recorder struct {
	mu  sync.Mutex
	got []recv
}

func (r *recorder) HandleRaft(_ context.Context, from int32, msgs []Message) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.got = append(r.got, recv{from: from, index: m.Msg.GetIndex(), at: now})
	}
}

func (r *recorder) snapshot() []recv {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) indexesFrom(from int32) []uint64 {
	var out []uint64
	for _, g := range r.snapshot() {
		if g.from == from {
			out = append(out, g.index)
		}
	}
	return out
}

func msg(i uint64) Message {
	return Message{RangeID: 1, Msg: &raftpb.Message{
		Type:  raftpb.MessageType_MsgApp.Enum(),
		Index: proto.Uint64(i),
	}}
}

func newMem(t *testing.T, seed int64) *MemTransport {
	t.Helper()
	tr := NewMem(seed)
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settled reports whether every message sent on the pair was delivered or
// dropped.
func settled(tr *MemTransport, from, to int32) func() bool {
	return func() bool {
		st := tr.StatsFor(from, to)
		return st.Queued == 0 && st.Delivered+st.Dropped == st.Sent
	}
}

func TestFIFOUnderDelay(t *testing.T) {
	tr := newMem(t, 1)
	var r recorder
	defer tr.Listen(2, &r)()
	tr.SetDelay(1, 2, 20*time.Millisecond)

	const n = 300
	var wg sync.WaitGroup
	for _, from := range []int32{1, 3} {
		wg.Go(func() {
			for i := uint64(0); i < n; i += 3 {
				if from == 1 && i == n/2 {
					// A shorter delay must not let later messages overtake.
					tr.SetDelay(1, 2, time.Millisecond)
				}
				if err := tr.Send(from, 2, []Message{msg(i), msg(i + 1), msg(i + 2)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "all delivered", func() bool { return len(r.snapshot()) == 2*n })
	for _, from := range []int32{1, 3} {
		got := r.indexesFrom(from)
		for i, idx := range got {
			if idx != uint64(i) {
				t.Fatalf("from %d: message %d has index %d; order %v", from, i, idx, got)
			}
		}
		if st := tr.StatsFor(from, 2); st.Sent != n || st.Delivered != n || st.Dropped != 0 {
			t.Fatalf("from %d: stats %+v", from, st)
		}
	}
}

// dropPattern sends n messages 1→2 one at a time with drop rate p and returns
// the indexes delivered.
func dropPattern(t *testing.T, seed int64, p float64, n int) ([]uint64, PairStats) {
	// The queue holds every message, so only the drop rate drops.
	tr, err := NewMemWithConfig(MemConfig{Seed: seed, QueueLimit: n})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	var r recorder
	stop := tr.Listen(2, &r)
	defer stop()
	tr.SetDropRate(1, 2, p)
	for i := range n {
		if err := tr.Send(1, 2, []Message{msg(uint64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "settled", settled(tr, 1, 2))
	return r.indexesFrom(1), tr.StatsFor(1, 2)
}

func TestDropRate(t *testing.T) {
	const n, p = 10000, 0.3
	got1, st := dropPattern(t, 42, p, n)
	if st.Sent != n || st.Dropped != st.DroppedFault || st.Delivered+st.Dropped != n {
		t.Fatalf("stats %+v", st)
	}
	if rate := float64(st.Dropped) / n; rate < p-0.03 || rate > p+0.03 {
		t.Fatalf("drop rate %.3f, want ≈ %.2f", rate, p)
	}
	if uint64(len(got1)) != st.Delivered || !slices.IsSorted(got1) {
		t.Fatalf("delivered %d (stats %d), sorted %v", len(got1), st.Delivered, slices.IsSorted(got1))
	}

	got2, _ := dropPattern(t, 42, p, n)
	if !slices.Equal(got1, got2) {
		t.Fatal("same seed gave different drop patterns")
	}
	got3, _ := dropPattern(t, 43, p, n)
	if slices.Equal(got1, got3) {
		t.Fatal("different seeds gave the same drop pattern")
	}
}

func TestDropRateExtremes(t *testing.T) {
	tr := newMem(t, 1)
	var r recorder
	defer tr.Listen(2, &r)()
	tr.SetOneWayDropRate(1, 2, 1)
	tr.SetDropRate(3, 2, 0)
	for i := range 10 {
		_ = tr.Send(1, 2, []Message{msg(uint64(i))})
		_ = tr.Send(3, 2, []Message{msg(uint64(i))})
	}
	waitFor(t, "settled", func() bool { return settled(tr, 1, 2)() && settled(tr, 3, 2)() })
	if st := tr.StatsFor(1, 2); st.DroppedFault != 10 || st.Delivered != 0 {
		t.Fatalf("1→2 %+v", st)
	}
	if st := tr.StatsFor(3, 2); st.Delivered != 10 {
		t.Fatalf("3→2 %+v", st)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	tr := newMem(t, 1)
	recs := map[int32]*recorder{1: {}, 2: {}, 3: {}}
	for id, r := range recs {
		defer tr.Listen(id, r)()
	}
	links := []Pair{{1, 2}, {2, 1}, {1, 3}, {3, 1}, {2, 3}, {3, 2}}
	sendAll := func(idx uint64) {
		for _, l := range links {
			if err := tr.Send(l.From, l.To, []Message{msg(idx)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	allSettled := func() bool {
		for _, l := range links {
			if !settled(tr, l.From, l.To)() {
				return false
			}
		}
		return true
	}

	tr.Partition([]int32{1}, []int32{2, 3})
	sendAll(0)
	waitFor(t, "settled", allSettled)
	for _, l := range links {
		st := tr.StatsFor(l.From, l.To)
		cut := l.From == 1 || l.To == 1
		if cut && (st.Delivered != 0 || st.DroppedFault != 1) || !cut && st.Delivered != 1 {
			t.Fatalf("partitioned %v: %+v", l, st)
		}
	}

	tr.Heal()
	sendAll(1)
	waitFor(t, "settled", allSettled)
	for _, l := range links {
		got := recs[l.To].indexesFrom(l.From)
		if !slices.Contains(got, 1) {
			t.Fatalf("healed %v: got %v", l, got)
		}
	}

	// A partition also cuts messages already in flight.
	tr.SetDelay(1, 2, 50*time.Millisecond)
	_ = tr.Send(1, 2, []Message{msg(2)})
	tr.Partition([]int32{1}, []int32{2})
	waitFor(t, "settled", settled(tr, 1, 2))
	if st := tr.StatsFor(1, 2); st.DroppedFault != 2 || st.Delivered != 1 {
		t.Fatalf("in flight: %+v", st)
	}

	// One-way block: 1→2 cut, 2→1 flows.
	tr.Heal()
	tr.SetDelay(1, 2, 0)
	tr.BlockOneWay(1, 2)
	_ = tr.Send(1, 2, []Message{msg(3)})
	_ = tr.Send(2, 1, []Message{msg(3)})
	waitFor(t, "2→1", func() bool { return slices.Contains(recs[1].indexesFrom(2), 3) })
	waitFor(t, "settled", settled(tr, 1, 2))
	if slices.Contains(recs[2].indexesFrom(1), 3) {
		t.Fatal("one-way block let 1→2 through")
	}
}

func TestIsolate(t *testing.T) {
	tr := newMem(t, 1)
	recs := map[int32]*recorder{1: {}, 2: {}, 3: {}}
	for id, r := range recs {
		defer tr.Listen(id, r)()
	}
	tr.Isolate(2)
	for _, l := range []Pair{{1, 2}, {2, 1}, {2, 3}, {3, 2}, {1, 3}} {
		_ = tr.Send(l.From, l.To, []Message{msg(7)})
	}
	waitFor(t, "1→3", func() bool { return len(recs[3].indexesFrom(1)) == 1 })
	for _, l := range []Pair{{1, 2}, {2, 1}, {2, 3}, {3, 2}} {
		waitFor(t, "settled", settled(tr, l.From, l.To))
		if st := tr.StatsFor(l.From, l.To); st.DroppedFault != 1 || st.Delivered != 0 {
			t.Fatalf("isolated %v: %+v", l, st)
		}
	}
	tr.Heal()
	_ = tr.Send(2, 1, []Message{msg(8)})
	waitFor(t, "2→1 after heal", func() bool { return slices.Contains(recs[1].indexesFrom(2), 8) })
}

func TestDelayAccuracy(t *testing.T) {
	tr := newMem(t, 1)
	recs := map[int32]*recorder{1: {}, 2: {}}
	for id, r := range recs {
		defer tr.Listen(id, r)()
	}
	const d = 40 * time.Millisecond
	tr.SetDelay(1, 2, d)
	sent := map[Pair][]time.Time{}
	for i := range 5 {
		for _, l := range []Pair{{1, 2}, {2, 1}} {
			sent[l] = append(sent[l], time.Now())
			_ = tr.Send(l.From, l.To, []Message{msg(uint64(i))})
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, l := range []Pair{{1, 2}, {2, 1}} {
		waitFor(t, "delivered", func() bool { return len(recs[l.To].snapshot()) == 5 })
		for i, g := range recs[l.To].snapshot() {
			if early := sent[l][g.index].Add(d).Sub(g.at); early > 0 {
				t.Fatalf("%v message %d delivered %v early", l, i, early)
			}
		}
	}
}

func TestLatencyMatrix(t *testing.T) {
	tr := newMem(t, 1)
	tr.SetDelay(4, 1, time.Second) // a pair outside the matrix is left alone
	tr.SetLatencyMatrix(
		map[int32]string{1: "us", 2: "us", 3: "eu"},
		map[[2]string]time.Duration{{"us", "eu"}: 60 * time.Millisecond},
	)
	for _, c := range []struct {
		from, to int32
		want     time.Duration
	}{
		{1, 3, 30 * time.Millisecond},
		{3, 1, 30 * time.Millisecond},
		{3, 2, 30 * time.Millisecond},
		{1, 2, 0},
		{4, 1, time.Second},
	} {
		if got := tr.Delay(c.from, c.to); got != c.want {
			t.Errorf("delay %d→%d = %v, want %v", c.from, c.to, got, c.want)
		}
	}

	var r recorder
	defer tr.Listen(3, &r)()
	start := time.Now()
	_ = tr.Send(1, 3, []Message{msg(0)})
	waitFor(t, "delivered", func() bool { return len(r.snapshot()) == 1 })
	if got := r.snapshot()[0].at.Sub(start); got < 30*time.Millisecond {
		t.Fatalf("us→eu delivered after %v, want ≥ 30ms", got)
	}
}

func TestBoundedQueueNeverBlocksSend(t *testing.T) {
	tr, err := NewMemWithConfig(MemConfig{Seed: 1, QueueLimit: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Close() }()
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	stop := tr.Listen(2, HandlerFunc(func(ctx context.Context, _ int32, _ []Message) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}))
	defer stop()

	_ = tr.Send(1, 2, []Message{msg(0)})
	<-entered // the handler is now stuck

	const n = 10000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			_ = tr.Send(1, 2, []Message{msg(uint64(i))})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Send blocked behind a stuck handler")
	}
	st := tr.StatsFor(1, 2)
	if st.Queued != 8 || st.DroppedOverflow != n-8 || st.Delivered != 1 || st.Sent != n+1 {
		t.Fatalf("stats %+v", st)
	}
	close(release)
	waitFor(t, "settled", settled(tr, 1, 2))
	if st := tr.StatsFor(1, 2); st.Delivered != 9 {
		t.Fatalf("after release %+v", st)
	}
}

func TestListenStopWaitsForInflight(t *testing.T) {
	tr := newMem(t, 1)
	release := make(chan struct{})
	entered := make(chan struct{})
	stop := tr.Listen(2, HandlerFunc(func(context.Context, int32, []Message) {
		close(entered)
		<-release
	}))
	_ = tr.Send(1, 2, []Message{msg(0)})
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

	_ = tr.Send(1, 2, []Message{msg(1)})
	waitFor(t, "settled", settled(tr, 1, 2))
	if st := tr.StatsFor(1, 2); st.DroppedNoListener != 1 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}

	// The node can listen again.
	var r recorder
	defer tr.Listen(2, &r)()
	_ = tr.Send(1, 2, []Message{msg(2)})
	waitFor(t, "delivered", func() bool { return len(r.snapshot()) == 1 })
}

func TestHandlerMaySend(t *testing.T) {
	tr := newMem(t, 1)
	var r recorder
	defer tr.Listen(1, &r)()
	defer tr.Listen(2, HandlerFunc(func(_ context.Context, from int32, msgs []Message) {
		_ = tr.Send(2, from, msgs) // echo
	}))()
	_ = tr.Send(1, 2, []Message{msg(5)})
	waitFor(t, "echo", func() bool { return slices.Contains(r.indexesFrom(2), 5) })
}

func TestSendCopiesMessages(t *testing.T) {
	tr := newMem(t, 1)
	tr.SetDelay(1, 2, 20*time.Millisecond)
	var r recorder
	defer tr.Listen(2, &r)()
	m := msg(1)
	_ = tr.Send(1, 2, []Message{m})
	m.Msg.Index = proto.Uint64(99) // the sender reuses its message
	waitFor(t, "delivered", func() bool { return len(r.snapshot()) == 1 })
	if got := r.snapshot()[0].index; got != 1 {
		t.Fatalf("delivered index %d, want 1", got)
	}
}

func TestDuplicateListenPanics(t *testing.T) {
	tr := newMem(t, 1)
	defer tr.Listen(1, &recorder{})()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	tr.Listen(1, &recorder{})
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()

	tr := NewMem(1)
	blocked := make(chan struct{}, 1)
	var stops []func()
	for id := int32(1); id <= 4; id++ {
		stops = append(stops, tr.Listen(id, HandlerFunc(func(ctx context.Context, from int32, _ []Message) {
			if from == 4 { // one handler blocks until Close cancels it
				select {
				case blocked <- struct{}{}:
				default:
				}
				<-ctx.Done()
			}
		})))
	}
	tr.SetDelay(1, 2, time.Hour) // queued forever
	for a := int32(1); a <= 4; a++ {
		for b := int32(1); b <= 4; b++ {
			if a != b {
				if err := tr.Send(a, b, []Message{msg(0), msg(1)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	<-blocked
	if got := runtime.NumGoroutine(); got < before+12 {
		t.Fatalf("%d goroutines, want ≥ %d (one per pair)", got, before+12)
	}

	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(1, 2, []Message{msg(2)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	for _, stop := range stops {
		stop()
	}
	tr.Listen(1, &recorder{})() // no-op after Close

	var after int
	for range 300 {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("goroutines before %d after %d\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

func ExampleMemTransport() {
	tr := NewMem(1)
	defer func() { _ = tr.Close() }()
	got := make(chan string, 1)
	stop := tr.Listen(2, HandlerFunc(func(_ context.Context, from int32, msgs []Message) {
		got <- fmt.Sprintf("from n%d: r%d %s", from, msgs[0].RangeID, msgs[0].Msg.GetType())
	}))
	defer stop()
	tr.SetLatencyMatrix(map[int32]string{1: "us", 2: "eu"},
		map[[2]string]time.Duration{{"us", "eu"}: 2 * time.Millisecond})
	_ = tr.Send(1, 2, []Message{msg(1)})
	fmt.Println(<-got)
	// Output: from n1: r1 MsgApp
}
