// Command outpost runs an Outpost node.
//
//	outpost start [--data-dir DIR]   run a single node (data in ./outpost-data)
//	outpost version
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

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
	switch os.Args[1] {
	case "start":
		if err := runStart(os.Args[2:]); err != nil {
			log.Fatalf("outpost: %v", err)
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

func runStart(args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	var cfg server.Config
	fs.StringVar(&cfg.DataDir, "data-dir", "outpost-data", "directory holding the node's data")
	fs.DurationVar(&cfg.MaxClockOffset, "max-offset", 0, "maximum clock offset between nodes (default 500ms)")
	fs.DurationVar(&cfg.Store.GCTTL, "gc-ttl", 0, "keep old row versions this long (default 25h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := server.Start(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Printf("outpost: received %s, shutting down", s)
	return srv.Stop()
}
