package rpc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ErrUnavailable is wrapped by errors meaning the peer could not be reached
// or the connection broke during the call. For a batch with writes it is
// ambiguous: the batch may have been evaluated.
var ErrUnavailable = errors.New("rpc: node unavailable")

// ErrStopped is returned (wrapping ErrUnavailable) by calls on a stopped
// Node.
var ErrStopped = fmt.Errorf("%w: local node stopped", ErrUnavailable)

// rawCodec passes byte slices through: every message of this package's
// services is a *[]byte already in its wire form. Unmarshal copies, so a
// received message never aliases gRPC's recycled buffers.
type rawCodec struct{}

func (rawCodec) Name() string { return "outpost-raw" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rpc: raw codec cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rpc: raw codec cannot unmarshal into %T", v)
	}
	*b = data.Materialize()
	return nil
}

// Metadata keys.
const (
	mdFrom = "outpost-from" // sender node ID, on every call
	mdTo   = "outpost-to"   // raft streams: receiving node ID
	mdBoot = "outpost-boot" // raft streams: sender transport's boot ID
	mdGen  = "outpost-gen"  // raft streams: stream generation of the pair
)

// Full method names of the services.
const (
	batchMethod    = "/outpost.Batch/Send"
	raftMethod     = "/outpost.Raft/Stream"
	snapshotMethod = "/outpost.Snapshot/Send"
)

var (
	raftStreamDesc     = grpc.StreamDesc{StreamName: "Stream", ClientStreams: true}
	snapshotStreamDesc = grpc.StreamDesc{StreamName: "Send", ClientStreams: true}
)

// Node is one process's end of the network: a gRPC server carrying the
// batch, raft and snapshot services, and a pool of connections to peers.
// Create it with NewNode, serve with Start, end with Stop. All methods are
// safe for concurrent use.
type Node struct {
	cfg    Config
	nodeID atomic.Int32
	srv    *grpc.Server
	raft   *RaftTransport

	// ctx is cancelled by Stop; server handlers and fault waits watch it.
	ctx    context.Context
	cancel context.CancelFunc
	// serveWG counts the Serve goroutine.
	serveWG  sync.WaitGroup
	stopOnce sync.Once

	mu struct {
		sync.Mutex
		stopped bool
		lis     net.Listener
		peers   map[int32]*peer
		batch   batchHandler
		snap    SnapshotReceiver
		cluster ClusterHandler
		sql     SQLHandler
	}
}

// peer is the connection to one node, dialled at addr.
type peer struct {
	addr string
	cc   *grpc.ClientConn
}

// NewNode returns a Node configured by cfg (defaults filled). It neither
// listens nor dials until asked.
func NewNode(cfg Config) (*Node, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg}
	n.nodeID.Store(cfg.NodeID)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.mu.peers = make(map[int32]*peer)
	n.srv = grpc.NewServer(
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(cfg.MaxMessageBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: cfg.KeepaliveTime, Timeout: cfg.KeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: cfg.KeepaliveTime / 2, PermitWithoutStream: true}),
		grpc.ConnectionTimeout(cfg.DialTimeout),
	)
	n.raft = newRaftTransport(n)
	n.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "outpost.Batch",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Send", Handler: serveBatch}},
	}, n)
	n.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "outpost.SQL",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Forward", Handler: serveSQL}},
	}, n)
	n.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "outpost.Cluster",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Call", Handler: serveCluster}},
	}, n)
	n.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "outpost.Raft",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName: raftStreamDesc.StreamName, ClientStreams: true,
			Handler: func(srv any, ss grpc.ServerStream) error { return srv.(*Node).raft.serveStream(ss) },
		}},
	}, n)
	n.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "outpost.Snapshot",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{
			StreamName: snapshotStreamDesc.StreamName, ClientStreams: true,
			Handler: func(srv any, ss grpc.ServerStream) error { return srv.(*Node).serveSnapshot(ss) },
		}},
	}, n)
	return n, nil
}

// NodeID returns the node's ID.
func (n *Node) NodeID() int32 { return n.nodeID.Load() }

// SetNodeID sets the node's ID once it is known: a node that starts
// before joining a cluster serves the cluster service (Init, Join) with ID
// 0 and gets its ID from the cluster. Raft and batch traffic need an ID.
func (n *Node) SetNodeID(id int32) { n.nodeID.Store(id) }

// Raft returns the node's raft transport.
func (n *Node) Raft() *RaftTransport { return n.raft }

// Start serves the node's services on lis (in tests, a 127.0.0.1:0
// listener) until Stop, which closes lis. It returns an error if the node is
// stopped or already serving.
func (n *Node) Start(lis net.Listener) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.stopped {
		return ErrStopped
	}
	if n.mu.lis != nil {
		return errors.New("rpc: node already serving")
	}
	n.mu.lis = lis
	n.serveWG.Add(1)
	go func() {
		defer n.serveWG.Done()
		// Serve returns when Stop or GracefulStop is called; an accept
		// error before that means the listener died, and the node then
		// serves nothing, which peers see as the node being down.
		_ = n.srv.Serve(lis)
	}()
	return nil
}

// Addr returns the address the node serves on, or nil before Start.
func (n *Node) Addr() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.lis == nil {
		return nil
	}
	return n.mu.lis.Addr()
}

// Stop ends the node, in order: (1) new calls fail with ErrStopped and the
// node context is cancelled, which ends raft stream handlers, snapshot
// receivers and fault waits; (2) the raft transport closes (pair goroutines,
// listeners' in-flight handler calls); (3) the server stops gracefully,
// letting in-flight batches finish, for at most ShutdownTimeout, then cuts
// what remains; (4) connections to peers close. Stop is idempotent and
// returns when everything has ended.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		n.mu.Lock()
		n.mu.stopped = true
		n.mu.Unlock()
		n.cancel()
		_ = n.raft.Close()

		done := make(chan struct{})
		go func() { n.srv.GracefulStop(); close(done) }()
		timer := time.NewTimer(n.cfg.ShutdownTimeout)
		select {
		case <-done:
		case <-timer.C:
			n.srv.Stop()
			<-done
		}
		timer.Stop()
		n.serveWG.Wait()

		n.mu.Lock()
		peers := n.mu.peers
		n.mu.peers = map[int32]*peer{}
		n.mu.Unlock()
		for _, p := range peers {
			_ = p.cc.Close()
		}
	})
}

// conn returns the connection to node to, dialling it (lazily: gRPC
// connects in the background) on first use.
func (n *Node) conn(to int32) (*grpc.ClientConn, error) {
	n.mu.Lock()
	if n.mu.stopped {
		n.mu.Unlock()
		return nil, ErrStopped
	}
	if p := n.mu.peers[to]; p != nil {
		n.mu.Unlock()
		return p.cc, nil
	}
	n.mu.Unlock()
	// Resolve outside the lock: the resolver may consult other state.
	addr, err := n.cfg.Resolver(to)
	if err != nil {
		return nil, fmt.Errorf("rpc: resolving n%d: %w: %w", to, ErrUnavailable, err)
	}
	return n.setPeer(to, addr, nil)
}

// setPeer installs a connection to addr for node to, unless one exists for
// the same address. If replace is the current connection, it is replaced
// even when a connection exists (its address changed); otherwise an
// existing connection wins, so that concurrent callers share one.
func (n *Node) setPeer(to int32, addr string, replace *grpc.ClientConn) (*grpc.ClientConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.stopped {
		return nil, ErrStopped
	}
	old := n.mu.peers[to]
	if old != nil && (old.cc != replace || old.addr == addr) {
		return old.cc, nil
	}
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(rawCodec{}),
			grpc.MaxCallRecvMsgSize(n.cfg.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(n.cfg.MaxMessageBytes),
		),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  n.cfg.BackoffBase,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   n.cfg.BackoffMax,
			},
			MinConnectTimeout: n.cfg.DialTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                n.cfg.KeepaliveTime,
			Timeout:             n.cfg.KeepaliveTimeout,
			PermitWithoutStream: true,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("rpc: dialling n%d at %s: %w: %w", to, addr, ErrUnavailable, err)
	}
	if old != nil {
		_ = old.cc.Close()
	}
	n.mu.peers[to] = &peer{addr: addr, cc: cc}
	return cc, nil
}

// reresolve is called after a failure to reach node to over cc: if the
// resolver now gives another address, the connection is replaced.
func (n *Node) reresolve(to int32, cc *grpc.ClientConn) {
	addr, err := n.cfg.Resolver(to)
	if err != nil {
		return
	}
	_, _ = n.setPeer(to, addr, cc)
}

// waitReady waits up to DialTimeout for cc to be connected.
func (n *Node) waitReady(ctx context.Context, cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	cc.Connect()
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Shutdown:
			return ErrStopped
		}
		if !cc.WaitForStateChange(ctx, s) {
			return fmt.Errorf("%w: not connected within %v (%s)", ErrUnavailable, n.cfg.DialTimeout, s)
		}
	}
}

// outgoing adds the sender's node ID to ctx's metadata.
func (n *Node) outgoing(ctx context.Context, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, append([]string{mdFrom, strconv.Itoa(int(n.NodeID()))}, kv...)...)
}

// mdInt reads an integer from incoming metadata.
func mdInt(md metadata.MD, key string) (int64, error) {
	v := md.Get(key)
	if len(v) != 1 {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: metadata %s missing", key)
	}
	i, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: metadata %s: %v", key, err)
	}
	return i, nil
}

// mdUint reads an unsigned integer from incoming metadata.
func mdUint(md metadata.MD, key string) (uint64, error) {
	v := md.Get(key)
	if len(v) != 1 {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: metadata %s missing", key)
	}
	u, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: metadata %s: %v", key, err)
	}
	return u, nil
}

func fromNode(ctx context.Context) (int32, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	v, err := mdInt(md, mdFrom)
	if err != nil {
		return 0, err
	}
	if v != int64(int32(v)) {
		return 0, status.Errorf(codes.InvalidArgument, "rpc: node ID %d out of range", v)
	}
	return int32(v), nil
}

// partitionWait simulates a call into a partition: nothing arrives, so the
// caller waits until its context ends, or until keepalive would have
// declared the connection dead.
func (n *Node) partitionWait(ctx context.Context, from, to int32) error {
	t := time.NewTimer(n.cfg.KeepaliveTime + n.cfg.KeepaliveTimeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-n.ctx.Done():
		return ErrStopped
	case <-t.C:
		return fmt.Errorf("%w: n%d→n%d partitioned (simulated)", ErrUnavailable, from, to)
	}
}

// sleep waits d unless ctx or the node ends first.
func (n *Node) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.ctx.Done():
		return ErrStopped
	}
}

// outboundFaults applies injected faults to a call from this node to node
// to, before it is sent: a partition blocks it, a delay delays it.
func (n *Node) outboundFaults(ctx context.Context, to int32) error {
	f := n.cfg.Faults
	if f == nil {
		return nil
	}
	if f.Blocked(n.NodeID(), to) {
		return n.partitionWait(ctx, n.NodeID(), to)
	}
	return n.sleep(ctx, f.Delay(n.NodeID(), to))
}

// inboundFaults applies, on the server, a partition between the caller and
// this node (for processes whose injectors are configured independently).
func (n *Node) inboundFaults(ctx context.Context, from int32) error {
	if f := n.cfg.Faults; f != nil && f.Blocked(from, n.NodeID()) {
		err := n.partitionWait(ctx, from, n.NodeID())
		return status.Error(codes.Unavailable, err.Error())
	}
	return nil
}

// callError converts an error of a gRPC call to node to into this
// package's error model: the caller's context error, or ErrUnavailable.
func (n *Node) callError(ctx context.Context, to int32, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("rpc: n%d: %w", to, ctxErr)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("rpc: n%d: %w", to, err)
	}
	if n.ctx.Err() != nil {
		// The local node stopped under the call (its connections closed).
		return fmt.Errorf("rpc: n%d: %w", to, ErrStopped)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("rpc: n%d: %w: %w", to, ErrUnavailable, err)
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return fmt.Errorf("rpc: n%d: %w", to, context.DeadlineExceeded)
	case codes.Canceled:
		return fmt.Errorf("rpc: n%d: %w", to, context.Canceled)
	case codes.Unavailable, codes.Unknown:
		return fmt.Errorf("rpc: n%d: %w: %s", to, ErrUnavailable, st.Message())
	}
	// Not a reachability problem (a message over MaxMessageBytes, a peer
	// without the service, a malformed frame): retrying elsewhere would
	// not help.
	return fmt.Errorf("rpc: n%d: %s: %s", to, st.Code(), st.Message())
}

// jitter returns d scaled by a random factor in [0.8, 1.2).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
