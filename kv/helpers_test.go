package kv_test

import (
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/kv/local"
)

func kvLocalFastExpiry() local.Config {
	return local.Config{TxnExpiry: 300 * time.Millisecond, LivenessCheckInterval: 50 * time.Millisecond}
}

// topology is the kv a test runs over: one range (no splits), or static
// ranges split at splits behind the range-aware router, on three nodes
// whose leaseholders differ per range (see kvtest.MultiOptions).
type topology struct {
	name   string
	splits []string
	// shared serves every range with one store: needed by tests whose
	// transactions may deadlock across ranges until kv/local detects
	// distributed deadlocks.
	shared bool
	// orderedWrites makes write sets follow key order (tests that can).
	orderedWrites bool
	// skip, if set, skips the test over this topology, saying why.
	skip string
}

func (tp topology) start(t testing.TB, opts kvtest.Options) *kv.DB {
	t.Helper()
	if tp.splits == nil {
		return kvtest.Start(t, opts).DB
	}
	if opts.Store.LivenessCheckInterval == 0 {
		// A waiter learns of a commit in another range's store only by
		// polling (kvtest.MultiOptions).
		opts.Store.LivenessCheckInterval = 10 * time.Millisecond
	}
	mo := kvtest.MultiOptions{Options: opts, Nodes: 3, SharedStore: tp.shared}
	for _, s := range tp.splits {
		mo.Splits = append(mo.Splits, kvpb.Key(s))
	}
	m := kvtest.StartMulti(t, mo)
	t.Cleanup(func() {
		// The topology is pointless unless the test crossed ranges.
		if n := len(m.Router.CachedRanges()); n < 2 {
			t.Errorf("the test touched %d range(s) of %d", n, len(m.Ranges))
		}
	})
	return m.DB
}

// runTopologies runs test over one range and over each multi-range
// topology.
func runTopologies(t *testing.T, test func(*testing.T, topology), multi ...topology) {
	t.Run("one-range", func(t *testing.T) { test(t, topology{}) })
	for _, tp := range multi {
		t.Run(tp.name, func(t *testing.T) {
			if tp.skip != "" {
				t.Skip(tp.skip)
			}
			test(t, tp)
		})
	}
}
