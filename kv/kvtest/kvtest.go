// Package kvtest starts a kv for tests of the layers above kv, with no Raft
// and nothing to configure: a single-node, single-range kv (engine, clock,
// store, DB; Start), or several static ranges over one engine behind the
// range-aware router (StartMulti).
package kvtest

import (
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/local"
	"github.com/outpostdb/outpost/kv/storage"
)

// Options tune Start. The zero value is an in-memory node.
type Options struct {
	// Dir, when set, stores data on disk there (persistent clock included).
	Dir string
	// MemFS, when set (and Dir is not), keeps data on this crashable
	// in-memory filesystem.
	MemFS *storage.MemFS
	// Clock overrides the wall clock (ManualClock.UnixNano).
	Clock func() int64
	// Store config overrides.
	Store local.Config
	// DB config overrides; Coordinator is filled in.
	DB kv.Config
}

// Node is a running single-node kv.
type Node struct {
	Engine storage.Engine
	Clock  *hlc.Clock
	Store  *local.Store
	DB     *kv.DB
}

// Open starts a node, returning errors instead of failing a test (for
// processes that are not tests, such as crash-test children).
func Open(opts Options) (*Node, error) {
	cfg := storage.Config{Dir: opts.Dir, InMemory: opts.Dir == "", MemFS: opts.MemFS}
	if opts.MemFS != nil {
		cfg.Dir = "data"
	}
	eng, err := storage.Open(cfg)
	if err != nil {
		return nil, err
	}
	phys := opts.Clock
	if phys == nil {
		phys = hlc.UnixNano
	}
	clock := hlc.NewClock(phys, 500*time.Millisecond)
	if cfg.Dir != "" {
		if err := local.PersistClock(eng, clock, 500*time.Millisecond); err != nil {
			eng.Close()
			return nil, err
		}
	}
	if opts.Store.GCInterval == 0 {
		opts.Store.GCInterval = -1 // tests run GC explicitly
	}
	st, err := local.NewStore(eng, clock, opts.Store)
	if err != nil {
		eng.Close()
		return nil, err
	}
	dbc := opts.DB
	dbc.Coordinator = st.Coordinator()
	return &Node{Engine: eng, Clock: clock, Store: st, DB: kv.NewDB(st, clock, dbc)}, nil
}

// Start starts a node and stops it when the test ends.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	n, err := Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Close)
	return n
}

// Close stops the store and closes the engine.
func (n *Node) Close() {
	n.Store.Stop()
	_ = n.Engine.Close()
}
