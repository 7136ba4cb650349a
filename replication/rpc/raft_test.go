package rpc

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/replication/transport"
)

func msg(i uint64) transport.Message {
	return transport.Message{RangeID: int64(i % 7), Msg: &raftpb.Message{
		Type:    raftpb.MessageType_MsgApp.Enum(),
		Index:   proto.Uint64(i),
		Entries: []*raftpb.Entry{{Data: []byte("payload")}},
	}}
}

type recv struct {
	from    int32
	index   uint64
	rangeID int64
	at      time.Time
}

type recorder struct {
	mu  sync.Mutex
	got []recv
}

func (r *recorder) HandleRaft(_ context.Context, from int32, msgs []transport.Message) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.got = append(r.got, recv{from: from, index: m.Msg.GetIndex(), rangeID: m.RangeID, at: now})
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

func strictlyIncreasing(s []uint64) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

func TestRaftFIFOUnderLoad(t *testing.T) {
	const n = 3000
	c := newCluster(t, 3, func(cfg *Config) {
		cfg.RaftQueueLimit = 2 * n // no overflow: every message must arrive
		cfg.RaftMaxBatchBytes = 512
	})
	var r recorder
	defer c.node(2).Raft().Listen(2, &r)()
	var wg sync.WaitGroup
	for _, from := range []int32{1, 3} {
		wg.Go(func() {
			tr := c.node(from).Raft()
			for i := uint64(0); i < n; i += 3 {
				if err := tr.Send(from, 2, []transport.Message{msg(i), msg(i + 1), msg(i + 2)}); err != nil {
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
				t.Fatalf("from %d: message %d has index %d", from, i, idx)
			}
		}
		snd, rcv := c.node(from).Raft().Stats(from, 2), c.node(2).Raft().Stats(from, 2)
		if snd.Sent != n || snd.Transmitted != n || rcv.Delivered != n {
			t.Fatalf("from %d: sender %+v receiver %+v", from, snd, rcv)
		}
	}
	for _, g := range r.snapshot() {
		if g.rangeID != int64(g.index%7) {
			t.Fatalf("message %d arrived for range %d", g.index, g.rangeID)
		}
	}
}

func TestRaftReconnectAfterRestart(t *testing.T) {
	c := newCluster(t, 2, nil)
	var r1 recorder
	c.node(2).Raft().Listen(2, &r1)
	tr := c.node(1).Raft()
	_ = tr.Send(1, 2, []transport.Message{msg(0)})
	waitFor(t, "first", func() bool { return len(r1.snapshot()) == 1 })

	// The peer goes down; what is sent meanwhile is lost or delivered
	// later, never out of order, and Send never blocks or fails.
	c.node(2).Stop()
	for i := uint64(1); i <= 50; i++ {
		if err := tr.Send(1, 2, []transport.Message{msg(i)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	var r2 recorder
	c.start(2, c.addr(2)).Raft().Listen(2, &r2)
	i := uint64(51)
	waitFor(t, "delivery after restart", func() bool {
		_ = tr.Send(1, 2, []transport.Message{msg(i)})
		i++
		time.Sleep(5 * time.Millisecond)
		return len(r2.snapshot()) > 0
	})
	last := i - 1
	waitFor(t, "last", func() bool { return slices.Contains(r2.indexesFrom(1), last) })
	if got := r2.indexesFrom(1); !strictlyIncreasing(got) {
		t.Fatalf("order after restart: %v", got)
	}
	if st := tr.Stats(1, 2); st.DroppedConn == 0 && st.Transmitted < 50 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPeerMovesToAnotherAddress(t *testing.T) {
	c := newCluster(t, 2, nil)
	var r1 recorder
	c.node(2).Raft().Listen(2, &r1)
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(0)})
	waitFor(t, "first", func() bool { return len(r1.snapshot()) == 1 })
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); err != nil {
		t.Fatal(err)
	}
	oldAddr := c.addr(2)
	c.node(2).Stop()
	n2 := c.start(2, "127.0.0.1:0") // the resolver now gives the new port
	if c.addr(2) == oldAddr {
		t.Skip("the kernel reused the port")
	}
	var r2 recorder
	n2.Raft().Listen(2, &r2)
	n2.SetBatchHandler(handlerFunc(echoHandler))
	i := uint64(1)
	waitFor(t, "raft at the new address", func() bool {
		_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(i)})
		i++
		time.Sleep(5 * time.Millisecond)
		return len(r2.snapshot()) > 0
	})
	waitFor(t, "batch at the new address", func() bool {
		_, err := c.node(1).SendBatch(context.Background(), 2, get("a"))
		return err == nil
	})
}

func TestRaftPartitionDropsThenHeals(t *testing.T) {
	c := newCluster(t, 3, nil)
	recs := map[int32]*recorder{1: {}, 2: {}, 3: {}}
	for id, r := range recs {
		defer c.node(id).Raft().Listen(id, r)()
	}
	links := []transport.Pair{{From: 1, To: 2}, {From: 2, To: 1}, {From: 1, To: 3}, {From: 3, To: 1}, {From: 2, To: 3}, {From: 3, To: 2}}
	c.faults.Partition([]int32{1}, []int32{2, 3})
	for _, l := range links {
		_ = c.node(l.From).Raft().Send(l.From, l.To, []transport.Message{msg(1)})
	}
	waitFor(t, "2↔3 delivered", func() bool {
		return len(recs[3].indexesFrom(2)) == 1 && len(recs[2].indexesFrom(3)) == 1
	})
	for _, l := range links {
		if l.From != 1 && l.To != 1 {
			continue
		}
		if st := c.node(l.From).Raft().Stats(l.From, l.To); st.DroppedFault != 1 || st.Transmitted != 0 {
			t.Fatalf("partitioned %v: %+v", l, st)
		}
		if got := recs[l.To].indexesFrom(l.From); len(got) != 0 {
			t.Fatalf("partitioned %v delivered %v", l, got)
		}
	}

	// A partition also cuts messages in flight (queued behind a delay).
	c.faults.Heal()
	c.faults.SetDelay(1, 2, 100*time.Millisecond)
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(2)})
	c.faults.Partition([]int32{1}, []int32{2})
	waitFor(t, "in-flight drop", func() bool { return c.node(1).Raft().Stats(1, 2).DroppedFault == 2 })

	c.faults.Heal()
	c.faults.SetDelay(1, 2, 0)
	for _, l := range links {
		_ = c.node(l.From).Raft().Send(l.From, l.To, []transport.Message{msg(3)})
	}
	for _, l := range links {
		waitFor(t, "healed", func() bool { return slices.Contains(recs[l.To].indexesFrom(l.From), 3) })
	}

	// Isolation and one-way blocks.
	c.faults.Isolate(2)
	c.faults.BlockOneWay(3, 1)
	_ = c.node(2).Raft().Send(2, 3, []transport.Message{msg(4)})
	_ = c.node(3).Raft().Send(3, 1, []transport.Message{msg(4)})
	_ = c.node(1).Raft().Send(1, 3, []transport.Message{msg(4)})
	waitFor(t, "1→3", func() bool { return slices.Contains(recs[3].indexesFrom(1), 4) })
	if slices.Contains(recs[3].indexesFrom(2), 4) || slices.Contains(recs[1].indexesFrom(3), 4) {
		t.Fatal("isolation or one-way block let a message through")
	}
}

func TestRaftDropRate(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.RaftQueueLimit = 10000 })
	var r recorder
	defer c.node(2).Raft().Listen(2, &r)()
	c.faults.SetOneWayDropRate(1, 2, 0.3)
	const n = 2000
	for i := range uint64(n) {
		_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(i)})
	}
	st := c.node(1).Raft().Stats(1, 2)
	if rate := float64(st.DroppedFault) / n; rate < 0.25 || rate > 0.35 {
		t.Fatalf("drop rate %.3f", rate)
	}
	waitFor(t, "rest delivered", func() bool { return uint64(len(r.snapshot())) == n-st.DroppedFault })
	if !strictlyIncreasing(r.indexesFrom(1)) {
		t.Fatal("order")
	}
}

func TestRaftDelay(t *testing.T) {
	c := newCluster(t, 2, nil)
	var r recorder
	defer c.node(2).Raft().Listen(2, &r)()
	c.faults.SetLatencyMatrix(map[int32]string{1: "us", 2: "eu"}, map[[2]string]time.Duration{{"us", "eu"}: 80 * time.Millisecond})
	// Warm the connection up so that dialling is not counted as delay.
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(0)})
	waitFor(t, "warm", func() bool { return len(r.snapshot()) == 1 })
	start := time.Now()
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(1)})
	waitFor(t, "delayed", func() bool { return len(r.snapshot()) == 2 })
	if d := r.snapshot()[1].at.Sub(start); d < 40*time.Millisecond {
		t.Fatalf("delivered after %v, want ≥ 40ms", d)
	}
}

func TestRaftBoundedQueueNeverBlocksSend(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) { cfg.RaftQueueLimit = 8 })
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	stop := c.node(2).Raft().Listen(2, transport.HandlerFunc(func(ctx context.Context, _ int32, _ []transport.Message) {
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
	tr := c.node(1).Raft()
	_ = tr.Send(1, 2, []transport.Message{msg(0)})
	<-entered // the handler is stuck, and with it the stream

	// Enough data to fill the HTTP/2 flow-control windows behind the
	// stuck handler, after which the pair goroutine blocks in SendMsg and
	// the queue overflows; Send itself must stay fast throughout.
	big := &raftpb.Message{Type: raftpb.MessageType_MsgApp.Enum(), Entries: []*raftpb.Entry{{Data: make([]byte, 32<<10)}}}
	const n = 2000
	var slowest time.Duration
	for i := 1; i <= n; i++ {
		start := time.Now()
		_ = tr.Send(1, 2, []transport.Message{{RangeID: 1, Msg: big}})
		slowest = max(slowest, time.Since(start))
	}
	if slowest > time.Second {
		t.Fatalf("a Send took %v behind a stuck receiver", slowest)
	}
	st := tr.Stats(1, 2)
	if st.DroppedOverflow == 0 || st.Queued > 8 {
		t.Fatalf("stats %+v", st)
	}
	close(release)
}

func TestRaftListenStopAndNoListener(t *testing.T) {
	c := newCluster(t, 2, nil)
	release := make(chan struct{})
	entered := make(chan struct{})
	stop := c.node(2).Raft().Listen(2, transport.HandlerFunc(func(context.Context, int32, []transport.Message) {
		close(entered)
		<-release
	}))
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(0)})
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
	stop()

	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(1)})
	waitFor(t, "no-listener drop", func() bool { return c.node(2).Raft().Stats(1, 2).DroppedNoListener == 1 })

	var r recorder
	defer c.node(2).Raft().Listen(2, &r)()
	_ = c.node(1).Raft().Send(1, 2, []transport.Message{msg(2)})
	waitFor(t, "delivered", func() bool { return slices.Equal(r.indexesFrom(1), []uint64{2}) })

	defer func() {
		if recover() == nil {
			t.Fatal("duplicate Listen did not panic")
		}
	}()
	c.node(2).Raft().Listen(2, &r)
}

func TestRaftFrameDecodeHostile(t *testing.T) {
	good := appendRaftFrame(nil, []queuedMsg{{rangeID: -3, data: mustMarshal(msg(1))}, {rangeID: 9, data: nil}})
	msgs, err := decodeRaftFrame(good)
	if err != nil || len(msgs) != 2 || msgs[0].RangeID != -3 || msgs[0].Msg.GetIndex() != 1 || msgs[1].RangeID != 9 {
		t.Fatalf("%v %v", msgs, err)
	}
	for i := range good {
		if _, err := decodeRaftFrame(good[:i]); err == nil {
			t.Fatalf("prefix %d decoded", i)
		}
	}
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0x0f},             // huge count
		{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f}, // huge length
		append(append([]byte(nil), good...), 0),    // trailing
	} {
		if _, err := decodeRaftFrame(b); err == nil {
			t.Fatalf("%x decoded", b)
		}
	}
}

func mustMarshal(m transport.Message) []byte {
	b, err := proto.Marshal(m.Msg)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecodeRaftFrame: arbitrary frames never panic, and what decodes
// re-encodes to a frame that decodes to the same messages.
func FuzzDecodeRaftFrame(f *testing.F) {
	f.Add(appendRaftFrame(nil, []queuedMsg{{rangeID: 1, data: mustMarshal(msg(1))}}))
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := decodeRaftFrame(b)
		if err != nil {
			return
		}
		q := make([]queuedMsg, len(msgs))
		for i, m := range msgs {
			q[i] = queuedMsg{rangeID: m.RangeID, data: mustMarshal(m)}
		}
		again, err := decodeRaftFrame(appendRaftFrame(nil, q))
		if err != nil || len(again) != len(msgs) {
			t.Fatalf("re-encoded frame: %v (%d vs %d messages)", err, len(again), len(msgs))
		}
		for i := range msgs {
			if again[i].RangeID != msgs[i].RangeID || !proto.Equal(again[i].Msg, msgs[i].Msg) {
				t.Fatalf("message %d changed on re-encoding", i)
			}
		}
	})
}
