// Command outpost runs an Outpost node.
//
//	outpost start [flags]                 run a node (single node, data in ./outpost-data)
//	outpost start --join a,b,c [flags]    run a node of a multi-node cluster
//	outpost init --host <listen-addr>     bootstrap a new multi-node cluster once
//	outpost node decommission <id> --host <listen-addr>
//	outpost demo --global                 a simulated global cluster on this machine
//	outpost version
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/outpostdb/outpost/cmd/internal/server"
)

const version = "0.1.0-dev"

func usage() {
	fmt.Fprintf(os.Stderr, `usage: outpost <command> [flags]

commands:
  start     run a node (single node, data in ./outpost-data by default;
            --join host:port,... to be part of a multi-node cluster)
  init      bootstrap a new multi-node cluster: outpost init --host <listen-addr>
  node      node decommission|recommission <id> --host <listen-addr>
  demo      outpost demo --global: three core nodes and two edge nodes in
            simulated regions, in memory, with a connection string for each
  version   print the version
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	switch os.Args[1] {
	case "start":
		if err := runStart(logger, os.Args[2:]); err != nil {
			logger.Error("outpost failed", "err", err)
			os.Exit(1)
		}
	case "init":
		if err := runInit(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "outpost init:", err)
			os.Exit(1)
		}
	case "node":
		if err := runNode(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "outpost node:", err)
			os.Exit(1)
		}
	case "demo":
		if err := runDemo(logger, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "outpost demo:", err)
			os.Exit(1)
		}
	case "version", "--version":
		fmt.Println("outpost", version)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "outpost: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
}

func runStart(logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	cfg := server.Config{Logger: logger}
	fs.StringVar(&cfg.Store, "store", "outpost-data", "directory holding the node's data")
	fs.StringVar(&cfg.SQLAddr, "sql-addr", "127.0.0.1:5433", "PostgreSQL protocol listen address")
	fs.StringVar(&cfg.ListenAddr, "listen-addr", "127.0.0.1:5434", "inter-node RPC address (what other nodes' --join name)")
	fs.StringVar(&cfg.AdvertiseAddr, "advertise-addr", "", "address other nodes dial (default: --listen-addr)")
	join := fs.String("join", "", "comma-separated --listen-addrs of nodes to join; empty bootstraps a single-node cluster")
	fs.DurationVar(&cfg.Replication.DeadAfter, "dead-after", 5*time.Minute, "re-create the replicas of a node down this long")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:5435", "HTTP address (/health, Prometheus /metrics); empty disables it")
	locality := fs.String("locality", "", "the node's locality, key=value tiers from widest to narrowest (region=us,zone=a)")
	fs.BoolVar(&cfg.Edge, "edge", false, "mark this node an edge node (published in the node table)")
	latency := fs.String("simulate-latency", "", "simulated round-trip times between regions, half each way (us-eu=60ms,us-ap=120ms); off by default")
	fs.DurationVar(&cfg.MaxClockOffset, "max-offset", 500*time.Millisecond, "maximum clock offset between nodes")
	fs.DurationVar(&cfg.KV.GCTTL, "gc-ttl", 25*time.Hour, "keep old row versions this long")
	trust := fs.String("trust-addrs", "127.0.0.0/8,::1/128", "loopback client addresses admitted without a password (comma-separated CIDRs; empty: none)")
	fs.StringVar(&cfg.Security.CertsDir, "certs-dir", "", "directory with the TLS certificate and key ("+server.CertFile+", "+server.KeyFile+"); default: a self-signed pair in <store>/certs")
	fs.BoolVar(&cfg.Security.RequireTLS, "require-tls", false, "refuse SQL clients that do not use TLS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, a := range strings.Split(*join, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Join = append(cfg.Join, a)
		}
	}
	if err := parseSecurityFlags(&cfg, *trust); err != nil {
		return err
	}
	var err error
	if cfg.Locality, err = server.ParseLocality(*locality); err != nil {
		return fmt.Errorf("--locality: %w", err)
	}
	if cfg.SimulateLatency, err = server.ParseLatencyMatrix(*latency); err != nil {
		return fmt.Errorf("--simulate-latency: %w", err)
	}
	if cfg.SimulateLatency != nil && server.LocalityRegion(cfg.Locality) == "" {
		return fmt.Errorf("--simulate-latency needs the node's region: --locality region=...")
	}
	ctx := context.Background()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("shutting down", "signal", s.String())
	stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return srv.Stop(stopCtx)
}

func runInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1:5434", "--listen-addr of a node started with --join")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := server.InitCluster(ctx, *host); err != nil {
		return err
	}
	fmt.Println("Cluster successfully initialized")
	return nil
}

func runNode(args []string) error {
	if len(args) < 2 || (args[0] != "decommission" && args[0] != "recommission") {
		return fmt.Errorf("usage: outpost node decommission|recommission <node-id> --host <listen-addr>")
	}
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1:5434", "--listen-addr of any live node")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	id, err := strconv.ParseInt(args[1], 10, 32)
	if err != nil || id <= 0 {
		return fmt.Errorf("bad node ID %q", args[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := server.SetDecommissioning(ctx, *host, int32(id), args[0] == "decommission"); err != nil {
		return err
	}
	fmt.Printf("node %d %sed; its replicas move to other nodes\n", id, args[0])
	return nil
}

func runDemo(logger *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	global := fs.Bool("global", false, "three core nodes (region us) and two edge nodes (regions eu, ap)")
	latency := fs.String("simulate-latency", server.DefaultDemoLatency, "simulated round-trip times between regions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*global {
		return fmt.Errorf("only --global is available: outpost demo --global (for one node, run outpost start)")
	}
	matrix, err := server.ParseLatencyMatrix(*latency)
	if err != nil {
		return fmt.Errorf("--simulate-latency: %w", err)
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	fmt.Println("starting three core nodes (us) and two edge nodes (eu, ap) with simulated latency", *latency, "...")
	srvs, err := server.StartDemo(ctx, server.DemoConfig{Nodes: server.GlobalDemo, Latency: matrix, Logger: quiet})
	if err != nil {
		return err
	}
	fmt.Println()
	for i, s := range srvs {
		n := server.GlobalDemo[i]
		role := "core"
		if n.Edge {
			role = "edge"
		}
		fmt.Printf("  n%d  %-4s %-18s postgres://root@%s/defaultdb?sslmode=disable\n", s.NodeID(), role, n.Locality, s.SQLAddr())
	}
	fmt.Println(`
On an edge node, plain SELECTs go to the leaseholder in us (one round trip);
local reads: SET default_transaction_use_follower_reads = on, or
SELECT ... AS OF SYSTEM TIME with_max_staleness('10s'). SHOW LAST READ says
who served a read. Press Ctrl-C to stop (the data is in memory).`)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	logger.Info("stopping the demo")
	for _, s := range srvs {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = s.Stop(stopCtx)
		cancel()
	}
	return nil
}
