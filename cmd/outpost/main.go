// Command outpost runs an Outpost node.
//
//	outpost start [flags]   run a node (single node, data in ./outpost-data)
//	outpost version
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/outpostdb/outpost/cmd/internal/server"
)

const version = "0.1.0-dev"

func usage() {
	fmt.Fprintf(os.Stderr, `usage: outpost <command> [flags]

commands:
  start     run a node (single node, data in ./outpost-data by default)
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
	fs.StringVar(&cfg.ListenAddr, "listen-addr", "127.0.0.1:5434", "inter-node RPC address (multi-node clusters)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:5435", "HTTP address (/health)")
	fs.DurationVar(&cfg.MaxClockOffset, "max-offset", 500*time.Millisecond, "maximum clock offset between nodes")
	fs.DurationVar(&cfg.KV.GCTTL, "gc-ttl", 25*time.Hour, "keep old row versions this long")
	trust := fs.String("trust-addrs", "127.0.0.0/8,::1/128", "loopback client addresses admitted without a password (comma-separated CIDRs; empty: none)")
	fs.StringVar(&cfg.Security.CertsDir, "certs-dir", "", "directory with the TLS certificate and key ("+server.CertFile+", "+server.KeyFile+"); default: a self-signed pair in <store>/certs")
	fs.BoolVar(&cfg.Security.RequireTLS, "require-tls", false, "refuse SQL clients that do not use TLS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := parseSecurityFlags(&cfg, *trust); err != nil {
		return err
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
