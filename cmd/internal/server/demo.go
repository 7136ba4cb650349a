package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// DemoNode is one node of a demo cluster.
type DemoNode struct {
	// Locality, e.g. "region=us,zone=a".
	Locality string
	// Edge nodes hold non-voting replicas and serve follower reads.
	Edge bool
}

// GlobalDemo is the topology of `outpost demo --global`: three core nodes
// in one region and two edge nodes in two others.
var GlobalDemo = []DemoNode{
	{Locality: "region=us,zone=a"}, {Locality: "region=us,zone=b"}, {Locality: "region=us,zone=c"},
	{Locality: "region=eu,zone=a", Edge: true}, {Locality: "region=ap,zone=a", Edge: true},
}

// DefaultDemoLatency is the simulated WAN of the global demo.
const DefaultDemoLatency = "us-eu=80ms,us-ap=150ms,eu-ap=220ms"

// DemoConfig configures StartDemo.
type DemoConfig struct {
	Nodes []DemoNode
	// Latency is the simulated round-trip time between regions (see
	// ParseLatencyMatrix); nil adds none.
	Latency map[[2]string]time.Duration
	// Dir holds the nodes' stores (one subdirectory each); empty keeps
	// them in memory.
	Dir string
	// Base is the configuration every node starts from (its addresses,
	// locality, edge flag, join list and store are set per node).
	Base   Config
	Logger *slog.Logger
}

// StartDemo starts an in-process cluster on loopback ports: the core
// nodes first (they bootstrap and replicate to three voters), then the
// edge nodes (which receive non-voting replicas). It returns once every
// node serves SQL and every edge node holds its replicas.
func StartDemo(ctx context.Context, cfg DemoConfig) ([]*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	listen, err := FreeAddrs(len(cfg.Nodes))
	if err != nil {
		return nil, err
	}
	var core []string
	for i, n := range cfg.Nodes {
		if !n.Edge {
			core = append(core, listen[i])
		}
	}
	if len(core) == 0 {
		return nil, fmt.Errorf("demo: no core node")
	}
	srvs := make([]*Server, len(cfg.Nodes))
	stopAll := func() {
		for _, s := range srvs {
			if s != nil {
				_ = s.Stop(context.Background())
			}
		}
	}
	nodeConfig := func(i int) (Config, error) {
		n := cfg.Nodes[i]
		c := cfg.Base
		c.Logger = cfg.Logger
		c.SQLAddr, c.ListenAddr, c.HTTPAddr = "127.0.0.1:0", listen[i], ""
		c.Join = core
		c.Locality, c.Edge, c.SimulateLatency = n.Locality, n.Edge, cfg.Latency
		if cfg.Dir == "" {
			c.InMemory = true
		} else {
			c.Store = fmt.Sprintf("%s/node%d", cfg.Dir, i+1)
			if err := os.MkdirAll(c.Store, 0o700); err != nil {
				return c, err
			}
		}
		return c, nil
	}
	// Core nodes wait for init, so they start together.
	var coreCfgs []Config
	var coreIdx []int
	for i, n := range cfg.Nodes {
		if !n.Edge {
			c, err := nodeConfig(i)
			if err != nil {
				return nil, err
			}
			coreCfgs, coreIdx = append(coreCfgs, c), append(coreIdx, i)
		}
	}
	nCore := len(coreCfgs)
	started, err := StartJoined(ctx, coreCfgs)
	if err != nil {
		return nil, fmt.Errorf("demo: starting the core: %w", err)
	}
	for k, i := range coreIdx {
		srvs[i] = started[k]
	}
	if err := waitFor(ctx, 60*time.Second, func() bool {
		voters, _ := srvs[0].Store().Replicas()[0].Membership()
		return len(voters) >= min(nCore, 3)
	}); err != nil {
		stopAll()
		return nil, fmt.Errorf("demo: the core did not replicate: %w", err)
	}
	for i, n := range cfg.Nodes {
		if !n.Edge {
			continue
		}
		c, err := nodeConfig(i)
		if err == nil {
			srvs[i], err = Start(ctx, c)
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("demo: starting edge node %d: %w", i+1, err)
		}
	}
	for i, n := range cfg.Nodes {
		if !n.Edge {
			continue
		}
		s := srvs[i]
		if err := waitFor(ctx, 60*time.Second, func() bool {
			rs := s.Store().Replicas()
			return len(rs) > 0 && !rs[0].ClosedTimestamp().IsEmpty()
		}); err != nil {
			stopAll()
			return nil, fmt.Errorf("demo: edge node %d has no replica: %w", i+1, err)
		}
	}
	return srvs, nil
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// FreeAddrs returns n loopback addresses that were free a moment ago, for
// nodes' listen addresses.
func FreeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		out[i] = l.Addr().String()
		l.Close()
	}
	return out, nil
}

// StartJoined starts the nodes of cfgs concurrently (each waits to join,
// so every cfg needs Join) and bootstraps the cluster through the first
// node's ListenAddr, retrying until that node listens. It returns once
// every node started; on error it stops those that did.
func StartJoined(ctx context.Context, cfgs []Config) ([]*Server, error) {
	srvs := make([]*Server, len(cfgs))
	errs := make(chan error, len(cfgs))
	for i := range cfgs {
		go func(i int) {
			srv, err := Start(ctx, cfgs[i])
			srvs[i] = srv
			errs <- err
		}(i)
	}
	var initErr error
	for try := 0; try < 200; try++ {
		if initErr = InitCluster(ctx, cfgs[0].ListenAddr); initErr == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range cfgs {
		if err := <-errs; err != nil && initErr == nil {
			initErr = err
		}
	}
	if initErr != nil {
		for _, s := range srvs {
			if s != nil {
				_ = s.Stop(context.Background())
			}
		}
		return nil, initErr
	}
	return srvs, nil
}
