// Package server wires one Outpost node together: storage engine, clock,
// kv store and kv.DB, the SQL layer and the PostgreSQL listener, and a small
// HTTP endpoint. It owns start-up order and the reverse shutdown order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/liveness"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/router"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/pgwire"
	"github.com/outpostdb/outpost/replication"
	"github.com/outpostdb/outpost/replication/rpc"
	"github.com/outpostdb/outpost/replication/transport"
	"github.com/outpostdb/outpost/sql"
)

// Config configures a node.
type Config struct {
	// Store is the data directory. Default "outpost-data".
	Store string
	// InMemory keeps data in memory (tests); Store is then ignored.
	InMemory bool
	// SQLAddr is the PostgreSQL listener. Default 127.0.0.1:5433; port 0
	// picks a free port (see SQLAddr()).
	SQLAddr string
	// ListenAddr is the inter-node RPC (gRPC) address. Empty picks a free
	// loopback port (tests); the CLI's default is 127.0.0.1:5434.
	ListenAddr string
	// AdvertiseAddr is the address other nodes dial; default ListenAddr
	// as bound.
	AdvertiseAddr string
	// Join lists the listen addresses of existing nodes. A new node with
	// a join list waits until it can join (or `outpost init` bootstraps
	// it); a new node without one bootstraps a single-node cluster.
	Join []string
	// Replication tunes the replicated store (ticks, lease duration,
	// replication factor, DeadAfter).
	Replication replication.Config
	// HTTPAddr serves /health and Prometheus /metrics. Default
	// 127.0.0.1:5435; "" disables it.
	HTTPAddr string
	// Locality is the node's place, comma-separated key=value tiers
	// ("region=us,zone=a"; see ParseLocality), published in the node
	// table. Default none.
	Locality string
	// Edge marks an edge node (published in the node table; the
	// replication side will keep voters and leases off it).
	Edge bool
	// SimulateLatency adds, for development and tests, a round-trip time
	// between the nodes of two regions (keys sorted region pairs, see
	// ParseLatencyMatrix), half each way, to everything the node's RPC
	// sends. Nil: none.
	SimulateLatency map[[2]string]time.Duration
	// MaxClockOffset bounds clock skew between nodes. Default 500ms.
	MaxClockOffset time.Duration
	// Store configures the kv store (GC TTL, transaction expiry).
	KV local.Config
	// SQL configures the SQL layer.
	SQL sql.Config
	// PGWire configures the PostgreSQL listener (Addr is taken from SQLAddr).
	// Its Authenticator and TLS fields, if unset, come from Security.
	PGWire pgwire.Config
	Logger *slog.Logger
	// Security configures authentication and TLS.
	Security SecurityConfig
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.Store == "" {
		c.Store = "outpost-data"
	}
	if c.SQLAddr == "" {
		c.SQLAddr = "127.0.0.1:5433"
	}
	if c.ListenAddr == "" {
		c.ListenAddr = "127.0.0.1:0"
	}
	if c.MaxClockOffset == 0 {
		c.MaxClockOffset = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports an unusable configuration.
func (c *Config) Validate() error {
	if c.MaxClockOffset < 0 {
		return errors.New("server: negative max clock offset")
	}
	if _, err := ParseLocality(c.Locality); err != nil {
		return fmt.Errorf("server: --locality: %w", err)
	}
	return c.Security.validate()
}

// Server is a running node.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *storage.Pebble
	clock  *hlc.Clock
	store  *replication.Store
	router *router.Router
	rpc    *rpc.Node
	live   *liveness.Liveness
	dbMu   sync.RWMutex
	db     *kv.DB

	nodeID     int32
	listenAddr string
	addrs      addressBook
	initCh     chan struct{}
	sql        *sql.Server
	pg         *pgwire.Server
	sqlLn      net.Listener
	http       *http.Server
	served     chan error
	httpAddr   string
	// faults is the RPC's fault injector, set only to simulate latency.
	faults *transport.Faults
	// kvBatches counts batches sent through the router (/metrics).
	kvBatches atomic.Int64
}

// Start opens the data directory and starts the node's components.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, served: make(chan error, 1), initCh: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeStorage()
		}
	}()
	engCfg := storage.Config{Dir: cfg.Store, InMemory: cfg.InMemory}
	if !cfg.InMemory {
		if err := os.MkdirAll(cfg.Store, 0o755); err != nil {
			return nil, fmt.Errorf("server: data directory: %w", err)
		}
	}
	if s.engine, err = storage.Open(engCfg); err != nil {
		return nil, err
	}
	s.clock = hlc.NewClock(hlc.UnixNano, cfg.MaxClockOffset)
	if !cfg.InMemory {
		if err := local.PersistClock(s.engine, s.clock, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err := s.startKV(ctx); err != nil {
		return nil, err
	}
	sqlCfg := cfg.SQL
	sqlCfg.Logger = cfg.Logger
	sqlCfg.NodeID = s.nodeID
	sqlCfg.Ranges = rangeReporter{s}
	if sqlCfg.FollowerReads == nil {
		sqlCfg.FollowerReads = storeFollowerReads{s}
	}
	if sqlCfg.FollowerReadOffset == 0 {
		// Far enough back that the local replicas have closed it: the
		// target lag plus a few side-channel rounds.
		rc := cfg.Replication
		lag, every := rc.ClosedTimestampLag, rc.ClosedTimestampInterval
		if lag == 0 {
			lag = replication.DefaultClosedTimestampLag
		}
		if every == 0 {
			every = replication.DefaultClosedTimestampInterval
		}
		sqlCfg.FollowerReadOffset = lag + 3*every
	}
	if cfg.Edge && sqlCfg.Forwarder == nil {
		sqlCfg.Forwarder = &coreForwarder{s: s}
	}
	s.sql = sql.NewServer(s.db, sqlCfg)
	s.rpc.SetSQLHandler(s.sql.ServeForwarded)
	if err := s.sql.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("server: bootstrap: %w", err)
	}
	pgCfg := cfg.PGWire
	pgCfg.Addr = cfg.SQLAddr
	pgCfg.Logger = cfg.Logger
	if err := s.configureSecurity(&pgCfg); err != nil {
		return nil, err
	}
	s.pg = pgwire.NewServer(pgCfg, backend{s.sql})
	if s.sqlLn, err = net.Listen("tcp", cfg.SQLAddr); err != nil {
		return nil, fmt.Errorf("server: SQL listener: %w", err)
	}
	go func() { s.served <- s.pg.Serve(s.sqlLn) }()
	if cfg.HTTPAddr != "" {
		if err := s.startHTTP(); err != nil {
			s.pg.Close()
			return nil, err
		}
	}
	s.log.Info("node started", "node", s.nodeID, "listen", s.listenAddr, "store", cfg.Store, "sql", s.sqlLn.Addr().String(), "http", cfg.HTTPAddr)
	return s, nil
}

func (s *Server) startHTTP() error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("server: HTTP listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/metrics", s.metricsHandler())
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.httpAddr = ln.Addr().String()
	go func() { _ = s.http.Serve(ln) }()
	return nil
}

// startKV joins or bootstraps the cluster and starts the replicated store,
// the router and the kv client.
func (s *Server) startKV(ctx context.Context) error {
	cfg := s.cfg
	s.faults = newFaults(cfg)
	node, err := rpc.NewNode(rpc.Config{Resolver: s.addrs.resolve, Faults: s.faults, Logf: func(format string, args ...any) {
		s.log.Debug(fmt.Sprintf(format, args...))
	}})
	if err != nil {
		return err
	}
	s.rpc = node
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("server: RPC listener: %w", err)
	}
	if err := node.Start(ln); err != nil {
		return err
	}
	s.listenAddr = ln.Addr().String()
	if cfg.AdvertiseAddr != "" {
		s.listenAddr = cfg.AdvertiseAddr
	}
	node.SetClusterHandler(s.handleCluster)

	if err := s.addrs.load(s.engine); err != nil {
		return err
	}
	id, bootstrap, err := s.awaitMembership(ctx)
	if err != nil {
		return err
	}
	if err := writeNodeID(s.engine, id); err != nil {
		return err
	}
	s.nodeID = id
	node.SetNodeID(id)
	s.addrs.set(id, s.listenAddr)

	rc := cfg.Replication
	rc.NodeID, rc.Engine, rc.Clock, rc.Transport = id, s.engine, s.clock, node.Raft()
	rc.Local = cfg.KV
	rc.Logger = cfg.Logger
	rc.Liveness = livenessAdapter{func() *liveness.Liveness {
		s.dbMu.RLock()
		defer s.dbMu.RUnlock()
		return s.live
	}}
	if s.store, err = replication.NewStore(rc); err != nil {
		return err
	}
	if bootstrap {
		if err := s.store.Bootstrap([]int32{id}); err != nil {
			return fmt.Errorf("server: bootstrap: %w", err)
		}
		s.log.Info("bootstrapped a new cluster", "node", id, "store", cfg.Store)
	}
	store := s.store
	rt := router.New(router.Config{
		Nodes: s.addrs.ids,
		Local: id,
		Dial: func(to int32) (kvrpc.Handler, error) {
			if to == id {
				return store, nil
			}
			return remoteHandler{node.Handler(to)}, nil
		},
	})
	s.router = rt
	s.store.SetSender(rt)
	s.store.Start()
	node.SetBatchHandler(s.store)
	db := kv.NewDB(countingHandler{rt, &s.kvBatches}, s.clock, kv.Config{Coordinator: s.store.Coordinator()})
	if bootstrap || len(cfg.Join) == 0 {
		// The node table must know this node's (possibly new) address.
		if err := liveness.RegisterNode(ctx, db, id, s.listenAddr); err != nil {
			return fmt.Errorf("server: registering the node: %w", err)
		}
	}
	live := liveness.Start(liveness.Config{NodeID: id, DB: db, Logger: cfg.Logger, Locality: cfg.Locality, Edge: cfg.Edge, OnUpdate: func(recs []liveness.Record) {
		s.applyLatency(recs)
		for _, r := range recs {
			if r.ID != id {
				s.addrs.set(r.ID, r.Addr)
			}
		}
		if err := s.addrs.save(s.engine, recs); err != nil {
			s.log.Warn("cannot save the address book", "err", err)
		}
	}})
	s.dbMu.Lock()
	s.db, s.live = db, live
	s.dbMu.Unlock()
	return nil
}

// NodeID returns the node's ID.
func (s *Server) NodeID() int32 { return s.nodeID }

// Store returns the node's replicated store.
func (s *Server) Store() *replication.Store { return s.store }

// SQLAddr is the address the PostgreSQL listener is bound to.
func (s *Server) SQLAddr() string { return s.sqlLn.Addr().String() }

// DB returns the node's kv client.
func (s *Server) DB() *kv.DB { return s.db }

// Stop shuts the node down, in the reverse order of Start. Running
// statements get until ctx ends to finish.
func (s *Server) Stop(ctx context.Context) error {
	// 1. Stop taking connections; let running statements finish, then end
	// the sessions (rolling back their open transactions).
	err := s.pg.Shutdown(ctx)
	if s.http != nil {
		_ = s.http.Close()
	}
	// 2. Background kv work (GC) ends; nothing reaches the store anymore.
	// 3. The engine closes last; every acknowledged commit was fsynced
	// already.
	s.closeStorage()
	s.log.Info("node stopped")
	return err
}

func (s *Server) closeStorage() {
	s.dbMu.Lock()
	live := s.live
	s.live = nil
	s.dbMu.Unlock()
	if live != nil {
		live.Stop()
	}
	if s.store != nil {
		s.store.Stop()
		s.store = nil
	}
	if s.rpc != nil {
		s.rpc.Stop()
		s.rpc = nil
	}
	if s.engine != nil {
		_ = s.engine.Close()
		s.engine = nil
	}
}

// backend adapts sql.Server to pgwire.Backend.
type backend struct{ srv *sql.Server }

func (b backend) NewSession(ctx context.Context, args sql.SessionArgs) (pgwire.Session, error) {
	return b.srv.NewSession(ctx, args)
}
