// Package testcluster runs several replicated nodes in one process for
// tests: each node has its own crashable in-memory engine, clock, store
// (replication.Store), router and kv.DB; raft messages cross an in-memory
// transport that can delay, drop and partition.
//
// A node is killed the way SIGKILL would: its store stops, and its engine
// is replaced by a crash clone that keeps only what was fsynced. Restart
// reopens that engine, so the node must recover from its durable raft log.
//
// Clients of node i reach node j only when the transport lets i talk to j,
// so a partition cuts client routing as it cuts raft traffic.
package testcluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/router"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication"
	"github.com/outpostdb/outpost/replication/transport"
)

// Options configure a cluster.
type Options struct {
	Nodes int
	// Bootstrap is how many of the nodes are the range's initial voters
	// (default all); the others receive replicas from the replicate queue.
	Bootstrap int
	// Store overrides (ticks, lease duration); NodeID, Engine, Clock and
	// Transport are set per node.
	Store replication.Config
	// RouterTimeout bounds how long a client looks for a serving replica.
	// Default 10s.
	RouterTimeout time.Duration
	Seed          int64
	// Logger; default discards.
	Logger *slog.Logger
}

// Node is one member.
type Node struct {
	ID     int32
	FS     *storage.MemFS
	Engine *storage.Pebble
	Clock  *hlc.Clock
	Store  *replication.Store
	Router *router.Router
	DB     *kv.DB
	alive  bool

	downSince       time.Time
	decommissioning bool
	edge            bool
	region          string
}

// Cluster is a set of in-process nodes.
type Cluster struct {
	opts      Options
	Transport *transport.MemTransport
	rng       *rand.Rand

	mu      sync.Mutex
	nodes   map[int32]*Node
	blocked map[[2]int32]bool
}

// Start bootstraps a cluster of opts.Nodes voters and waits for a
// leaseholder. It stops when the test ends.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RouterTimeout == 0 {
		opts.RouterTimeout = 10 * time.Second
	}
	if opts.Store.TickInterval == 0 {
		opts.Store.TickInterval = 20 * time.Millisecond
	}
	if opts.Store.ReplicateInterval == 0 {
		opts.Store.ReplicateInterval = 100 * time.Millisecond
	}
	if opts.Store.LeaseDuration == 0 {
		opts.Store.LeaseDuration = time.Second
	}
	if opts.Store.Local.GCInterval == 0 {
		opts.Store.Local.GCInterval = -1
	}
	if opts.Store.ReplicationFactor == 0 {
		// Keep every initial voter (a 5-node test means 5 voters); a
		// smaller cluster up-replicates to the usual 3.
		opts.Store.ReplicationFactor = max(3, opts.Bootstrap, opts.Nodes)
		if opts.Bootstrap > 0 {
			opts.Store.ReplicationFactor = max(3, opts.Bootstrap)
		}
	}
	c := &Cluster{opts: opts, Transport: transport.NewMem(opts.Seed), rng: rand.New(rand.NewPCG(uint64(opts.Seed), 7)),
		nodes: map[int32]*Node{}, blocked: map[[2]int32]bool{}}
	if opts.Bootstrap == 0 {
		opts.Bootstrap = opts.Nodes
	}
	c.opts.Bootstrap = opts.Bootstrap
	var voters []int32
	for i := 1; i <= opts.Bootstrap; i++ {
		voters = append(voters, int32(i))
	}
	for i := 1; i <= opts.Nodes; i++ {
		n := &Node{ID: int32(i), FS: storage.NewMemFS()}
		c.mu.Lock() // earlier nodes' stores already read c.nodes (liveness)
		c.nodes[n.ID] = n
		c.mu.Unlock()
		var boot []int32
		if i <= opts.Bootstrap {
			boot = voters
		}
		if err := c.open(n, boot); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(c.Stop)
	if err := c.WaitForLeaseholder(30 * time.Second); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (c *Cluster) open(n *Node, bootstrap []int32) error {
	eng, err := storage.Open(storage.Config{Dir: "data", MemFS: n.FS})
	if err != nil {
		return err
	}
	clock := hlc.NewClock(hlc.UnixNano, 250*time.Millisecond)
	cfg := c.opts.Store
	cfg.NodeID, cfg.Engine, cfg.Clock, cfg.Transport = n.ID, eng, clock, c.Transport
	cfg.Logger = c.opts.Logger
	cfg.Liveness = liveness{c}
	st, err := replication.NewStore(cfg)
	if err != nil {
		eng.Close()
		return err
	}
	if st.Replica(replication.FirstRangeID) == nil && bootstrap != nil {
		if err := st.Bootstrap(bootstrap); err != nil {
			eng.Close()
			return err
		}
	}
	self := n.ID
	rt := router.New(router.Config{
		Nodes:   c.IDs,
		Local:   self,
		Timeout: c.opts.RouterTimeout,
		Dial:    func(to int32) (kvrpc.Handler, error) { return c.dial(self, to) },
	})
	st.SetSender(rt)
	st.Start()
	n.Engine, n.Clock, n.Store, n.Router = eng, clock, st, rt
	n.DB = kv.NewDB(rt, clock, kv.Config{Coordinator: st.Coordinator()})
	c.mu.Lock()
	n.alive, n.downSince = true, time.Time{}
	c.mu.Unlock()
	return nil
}

func (c *Cluster) dial(from, to int32) (kvrpc.Handler, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[to]
	if n == nil || !n.alive {
		return nil, fmt.Errorf("n%d is down: %w", to, kvrpc.ErrUnavailable)
	}
	if from != to && (c.blocked[[2]int32{from, to}] || c.blocked[[2]int32{to, from}]) {
		return nil, fmt.Errorf("n%d unreachable from n%d: %w", to, from, kvrpc.ErrUnavailable)
	}
	return n.Store, nil
}

// IDs returns every node ID, dead or alive, in order.
func (c *Cluster) IDs() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int32, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Node returns node id.
func (c *Cluster) Node(id int32) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// Alive reports whether node id runs.
func (c *Cluster) Alive(id int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id].alive
}

// Kill stops node id as SIGKILL would: whatever was not fsynced is lost.
func (c *Cluster) Kill(id int32) {
	c.mu.Lock()
	n := c.nodes[id]
	if !n.alive {
		c.mu.Unlock()
		return
	}
	n.alive = false
	c.mu.Unlock()
	// Cut the node off first: a killed process sends nothing, so nothing
	// it does after the crash point (acknowledging an entry its crash clone
	// will not have) may reach the others.
	wasIsolated := c.Transport.Isolated(id)
	c.Transport.Isolate(id)
	// Crash first, so nothing the stopping store writes survives.
	crashed := n.FS.CrashClone(0, c.rng.Int64())
	n.Store.Stop()
	n.Engine.Close()
	n.FS = crashed
	if !wasIsolated {
		c.Transport.Unisolate(id)
	}
	c.mu.Lock()
	n.downSince = time.Now()
	c.mu.Unlock()
}

// AddNode starts a new, empty node; the replicate queue gives it replicas.
func (c *Cluster) AddNode() (*Node, error) {
	c.mu.Lock()
	id := int32(len(c.nodes) + 1)
	n := &Node{ID: id, FS: storage.NewMemFS()}
	c.nodes[id] = n
	c.mu.Unlock()
	return n, c.open(n, nil)
}

// AddEdgeNode starts a new, empty edge node without a region: it receives
// a non-voting replica of every range that has no edge placement config
// (kv/spanconfig), and never votes or holds leases.
func (c *Cluster) AddEdgeNode() (*Node, error) { return c.AddEdgeNodeIn("") }

// AddEdgeNodeIn starts a new, empty edge node in region: it receives a
// non-voting replica of the ranges whose span configs allow the region.
func (c *Cluster) AddEdgeNodeIn(region string) (*Node, error) {
	c.mu.Lock()
	id := int32(len(c.nodes) + 1)
	n := &Node{ID: id, FS: storage.NewMemFS(), edge: true, region: region}
	c.nodes[id] = n
	c.mu.Unlock()
	return n, c.open(n, nil)
}

// Decommission marks node id as leaving: its replicas move elsewhere.
func (c *Cluster) Decommission(id int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[id].decommissioning = true
}

// Members returns the voters and learners of the first range as the
// leaseholder sees them.
func (c *Cluster) Members() (voters, learners []int32) {
	lh := c.LeaseHolder()
	if lh == 0 {
		return nil, nil
	}
	return c.Node(lh).Store.Replica(replication.FirstRangeID).Membership()
}

// liveness reports the in-process nodes' states to the replicate queue.
type liveness struct{ c *Cluster }

func (l liveness) Nodes() []replication.NodeStatus {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	out := make([]replication.NodeStatus, 0, len(l.c.nodes))
	for id, n := range l.c.nodes {
		out = append(out, replication.NodeStatus{ID: id, Live: n.alive, DownSince: n.downSince, Decommissioning: n.decommissioning, Edge: n.edge, Region: n.region})
	}
	return out
}

// Restart reopens a killed node from its durable state.
func (c *Cluster) Restart(id int32) error {
	n := c.Node(id)
	if c.Alive(id) {
		return fmt.Errorf("n%d is running", id)
	}
	return c.open(n, nil)
}

// Partition cuts every link between the two groups (raft and clients).
func (c *Cluster) Partition(a, b []int32) {
	c.mu.Lock()
	for _, x := range a {
		for _, y := range b {
			c.blocked[[2]int32{x, y}] = true
		}
	}
	c.mu.Unlock()
	c.Transport.Partition(a, b)
}

// Heal removes every partition.
func (c *Cluster) Heal() {
	c.mu.Lock()
	c.blocked = map[[2]int32]bool{}
	c.mu.Unlock()
	c.Transport.Heal()
}

// LeaseHolder returns the node whose replica holds a valid lease on the
// first range by its own account, or 0.
func (c *Cluster) LeaseHolder() int32 {
	for _, id := range c.IDs() {
		if !c.Alive(id) {
			continue
		}
		n := c.Node(id)
		r := n.Store.Replica(replication.FirstRangeID)
		if r != nil && r.CheckServe(nil, n.Clock.Now()) == nil {
			return id
		}
	}
	return 0
}

// WaitForLeaseholder waits until some node holds a valid lease.
func (c *Cluster) WaitForLeaseholder(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.LeaseHolder() != 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("testcluster: no leaseholder after %s", timeout)
}

// WaitApplied waits until every live node applied at least index.
func (c *Cluster) WaitApplied(ctx context.Context, index uint64) error {
	for {
		ok := true
		for _, id := range c.IDs() {
			if !c.Alive(id) {
				continue
			}
			r := c.Node(id).Store.Replica(replication.FirstRangeID)
			if r == nil || r.Status().AppliedIndex < index {
				ok = false
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops every node and the transport.
func (c *Cluster) Stop() {
	for _, id := range c.IDs() {
		n := c.Node(id)
		c.mu.Lock()
		alive := n.alive
		n.alive = false
		c.mu.Unlock()
		if alive {
			n.Store.Stop()
			n.Engine.Close()
		}
	}
	c.Transport.Close()
}
