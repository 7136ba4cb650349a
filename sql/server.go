package sql

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/roles"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Config configures the SQL layer.
type Config struct {
	// StatementMemoryBytes bounds what one statement's sorts, hash tables
	// and buffers may hold; past it the statement fails with 53200.
	// Default 256 MiB.
	StatementMemoryBytes int64
	// RetryBufferRows is how many result rows a statement outside an
	// explicit transaction holds back, so that it can still be retried
	// transparently on a serialization failure. Default 1000.
	RetryBufferRows int
	// NodeID goes into generated row IDs. Default 1.
	NodeID int32
	// Ranges reports the cluster's ranges for SHOW RANGES; nil makes it
	// an error.
	Ranges RangeReporter
	Logger *slog.Logger
	// BootstrapSuperusers are created (LOGIN, no password) on a fresh
	// cluster. Default DefaultBootstrapSuperusers.
	BootstrapSuperusers []string
	// FollowerReads answers which timestamps the local replicas can serve
	// (bounded staleness); nil: none, every bounded read goes to the
	// leaseholder at the present.
	FollowerReads FollowerReads
	// FollowerReadOffset is how far behind the clock
	// follower_read_timestamp() lies. Default DefaultFollowerReadOffset
	// (4.8s); the replication side sets it from its closed-timestamp
	// target lag.
	FollowerReadOffset time.Duration
	// Forwarder, set on edge nodes, sends implicit write transactions to
	// a core node (forward.go); nil: everything runs here.
	Forwarder Forwarder
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.StatementMemoryBytes == 0 {
		c.StatementMemoryBytes = 256 << 20
	}
	if c.RetryBufferRows == 0 {
		c.RetryBufferRows = 1000
	}
	if c.NodeID == 0 {
		c.NodeID = 1
	}
	if len(c.BootstrapSuperusers) == 0 {
		c.BootstrapSuperusers = DefaultBootstrapSuperusers
	}
	if c.FollowerReadOffset == 0 {
		c.FollowerReadOffset = DefaultFollowerReadOffset
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server holds what all sessions of a node share.
type Server struct {
	cfg   Config
	db    *kv.DB
	roles roleCache
	conns connCounts
	// metrics are the counters of Metrics.
	metrics serverMetrics
	// forwarding counts writes forwarded to the core, fwdPool keeps
	// the sessions that ran forwarded work (forward.go).
	forwarding forwardCounters
	fwdPool    forwardPool
	remotes    remoteSessions

	mu struct {
		sync.Mutex
		// descriptor cache, valid for one catalog version
		version uint64
		tables  map[string]*cachedTable // key: dbID/name
	}
}

// NewServer returns a SQL server over db.
func NewServer(db *kv.DB, cfg Config) *Server {
	cfg.EnsureDefaults()
	s := &Server{cfg: cfg, db: db}
	s.mu.tables = map[string]*cachedTable{}
	return s
}

// DefaultDatabases exist after bootstrap.
var DefaultDatabases = []string{"defaultdb", "postgres"}

// Bootstrap creates the default databases and, on a fresh cluster, the
// bootstrap superusers if missing. Idempotent.
func (s *Server) Bootstrap(ctx context.Context) error {
	return s.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		if err := roles.Bootstrap(ctx, txn, s.cfg.BootstrapSuperusers); err != nil {
			return err
		}
		for _, name := range DefaultDatabases {
			_, ok, err := catalog.LookupID(ctx, txn, 0, name)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
			id, err := catalog.AllocateID(ctx, txn)
			if err != nil {
				return err
			}
			d := &catalog.Descriptor{Kind: catalog.KindDatabase, Database: &catalog.DatabaseDesc{ID: id, Name: name}}
			if err := catalog.Create(ctx, txn, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// NewSession starts a session for a connection (3D000 if the database does
// not exist).
func (s *Server) NewSession(ctx context.Context, args SessionArgs) (*Session, error) {
	return s.openSession(ctx, args, true)
}

// openSession opens a session; counted ones count against the role's
// connection limit (forwarded work is counted where the client connected).
func (s *Server) openSession(ctx context.Context, args SessionArgs, counted bool) (*Session, error) {
	dbName := args.Database
	if dbName == "" {
		dbName = args.User
	}
	var dbID catalog.ID
	var role *roles.Role
	err := s.db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		id, ok, err := catalog.LookupID(ctx, txn, 0, dbName)
		if err != nil {
			return err
		}
		if !ok {
			return sqlerr.New(sqlerr.InvalidCatalogName, "database %q does not exist", dbName)
		}
		dbID = id
		role, err = connectCheck(ctx, txn, args.User, id, dbName)
		return err
	})
	if err != nil {
		return nil, err
	}
	if counted {
		if err := s.acquireConn(role); err != nil {
			return nil, err
		}
	}
	sess := newSession(s, args, dbID, dbName)
	sess.fwd.uncounted = !counted
	if err := sess.observeToken(); err != nil {
		sess.Close()
		return nil, err
	}
	sess.initRole(role)
	return sess, nil
}

// SetStatementMemoryForTesting lowers the per-statement memory budget.
func (s *Server) SetStatementMemoryForTesting(bytes int64) { s.cfg.StatementMemoryBytes = bytes }
