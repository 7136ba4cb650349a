package rpc

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/replication/transport"
)

// testCluster runs nodes in one process, each with its own gRPC server on a
// 127.0.0.1 port, sharing one fault injector.
type testCluster struct {
	t      *testing.T
	faults *transport.Faults
	tweak  func(*Config)

	mu    sync.Mutex
	addrs map[int32]string
	nodes map[int32]*Node
}

func testConfig(id int32) Config {
	return Config{
		NodeID:           id,
		DialTimeout:      time.Second,
		KeepaliveTime:    time.Second,
		KeepaliveTimeout: time.Second,
		BackoffBase:      10 * time.Millisecond,
		BackoffMax:       100 * time.Millisecond,
		ShutdownTimeout:  time.Second,
	}
}

func newCluster(t *testing.T, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{
		t: t, faults: transport.NewFaults(1), tweak: tweak,
		addrs: map[int32]string{}, nodes: map[int32]*Node{},
	}
	for id := int32(1); id <= int32(n); id++ {
		c.start(id, "127.0.0.1:0")
	}
	t.Cleanup(func() {
		c.mu.Lock()
		nodes := c.nodes
		c.nodes = map[int32]*Node{}
		c.mu.Unlock()
		for _, n := range nodes {
			n.Stop()
		}
	})
	return c
}

func (c *testCluster) resolve(id int32) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.addrs[id]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no address for n%d", id)
}

// start starts node id serving on addr.
func (c *testCluster) start(id int32, addr string) *Node {
	c.t.Helper()
	cfg := testConfig(id)
	cfg.Resolver = c.resolve
	cfg.Faults = c.faults
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	n, err := NewNode(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	var lis net.Listener
	for range 100 { // the old listener's port may take a moment to free
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	if err := n.Start(lis); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.addrs[id] = lis.Addr().String()
	c.nodes[id] = n
	c.mu.Unlock()
	return n
}

func (c *testCluster) node(id int32) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

func (c *testCluster) addr(id int32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[id]
}

// restart stops node id and starts a new one on the same address.
func (c *testCluster) restart(id int32) *Node {
	c.t.Helper()
	c.mu.Lock()
	old, addr := c.nodes[id], c.addrs[id]
	c.mu.Unlock()
	old.Stop()
	return c.start(id, addr)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkNoLeaks fails if goroutines started after before outlive a grace
// period.
func checkNoLeaks(t *testing.T, before int) {
	t.Helper()
	var after int
	for range 300 {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("goroutines before %d after %d\n%s", before, after, buf[:runtime.Stack(buf, true)])
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{NodeID: 1},
		{NodeID: -1, Resolver: func(int32) (string, error) { return "", nil }},
		{NodeID: 1, Resolver: func(int32) (string, error) { return "", nil }, BackoffBase: time.Second, BackoffMax: time.Millisecond},
		{NodeID: 1, Resolver: func(int32) (string, error) { return "", nil }, SnapshotChunkBytes: 1 << 20, MaxMessageBytes: 1 << 20},
	} {
		if _, err := NewNode(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := NewNode(Config{NodeID: 1, Resolver: func(int32) (string, error) { return "", nil }}); err != nil {
		t.Fatal(err)
	}
}

func TestStopIsBoundedAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster(t, 3, nil)
	// Traffic on every kind of stream, then stop with streams open and a
	// handler blocked.
	blocked := make(chan struct{}, 1)
	for id := int32(1); id <= 3; id++ {
		c.node(id).Raft().Listen(id, transport.HandlerFunc(func(ctx context.Context, from int32, _ []transport.Message) {
			if from == 3 {
				select {
				case blocked <- struct{}{}:
				default:
				}
				<-ctx.Done()
			}
		}))
	}
	for a := int32(1); a <= 3; a++ {
		for b := int32(1); b <= 3; b++ {
			if a != b {
				_ = c.node(a).Raft().Send(a, b, []transport.Message{msg(1)})
			}
		}
	}
	<-blocked
	start := time.Now()
	for id := int32(1); id <= 3; id++ {
		c.node(id).Stop()
		c.node(id).Stop() // idempotent
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %v", d)
	}
	if err := c.node(1).Raft().Send(1, 2, []transport.Message{msg(2)}); err != transport.ErrClosed {
		t.Fatalf("Send after Stop: %v", err)
	}
	checkNoLeaks(t, before)
}
