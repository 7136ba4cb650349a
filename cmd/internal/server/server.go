// Package server wires one Outpost node together: storage engine, clock,
// kv store and kv.DB (and, as the layers above arrive, SQL and the
// PostgreSQL listener). It owns start-up order and the reverse shutdown
// order.
package server

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/storage"
)

// Config configures a node.
type Config struct {
	// DataDir holds the node's data. Default "outpost-data".
	DataDir string
	// MaxClockOffset bounds clock skew between nodes. Default 500ms.
	MaxClockOffset time.Duration
	// Store configures the kv store (GC TTL, transaction expiry).
	Store local.Config
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.DataDir == "" {
		c.DataDir = "outpost-data"
	}
	if c.MaxClockOffset == 0 {
		c.MaxClockOffset = 500 * time.Millisecond
	}
}

// Validate reports an unusable configuration.
func (c *Config) Validate() error {
	if c.MaxClockOffset < 0 {
		return errors.New("server: negative max clock offset")
	}
	return nil
}

// Server is a running node.
type Server struct {
	cfg    Config
	engine *storage.Pebble
	clock  *hlc.Clock
	store  *local.Store
	db     *kv.DB
}

// Start opens the data directory and starts the node's components.
func Start(cfg Config) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	s := &Server{cfg: cfg}
	var err error
	if s.engine, err = storage.Open(storage.Config{Dir: cfg.DataDir}); err != nil {
		return nil, err
	}
	s.clock = hlc.NewClock(hlc.UnixNano, cfg.MaxClockOffset)
	if err := local.PersistClock(s.engine, s.clock, 500*time.Millisecond); err != nil {
		s.engine.Close()
		return nil, err
	}
	if s.store, err = local.NewStore(s.engine, s.clock, cfg.Store); err != nil {
		s.engine.Close()
		return nil, err
	}
	s.db = kv.NewDB(s.store, s.clock, kv.Config{Coordinator: s.store.Coordinator()})
	log.Printf("outpost: node %d started, data in %s", s.store.NodeID(), cfg.DataDir)
	return s, nil
}

// DB returns the node's kv client.
func (s *Server) DB() *kv.DB { return s.db }

// Stop shuts the node down, in the reverse order of Start.
func (s *Server) Stop() error {
	// 1. Background kv work (GC) ends first; nothing new reaches the store.
	s.store.Stop()
	// 2. The engine closes last; every acknowledged commit was already
	// fsynced, so closing adds no durability, only a clean WAL.
	err := s.engine.Close()
	log.Printf("outpost: node stopped")
	return err
}
