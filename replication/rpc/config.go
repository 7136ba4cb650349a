package rpc

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/outpostdb/outpost/replication/transport"
)

// Config configures a Node.
type Config struct {
	// NodeID is this node's ID. Required, > 0.
	NodeID int32
	// Resolver returns the address (host:port) of a node. Required. It is
	// called when a connection to the node is first needed and again when
	// a connection attempt fails, so it may be backed by a table that
	// changes (gossip, liveness).
	Resolver func(nodeID int32) (addr string, err error)
	// Faults, if set, injects delay, drops and partitions into everything
	// this node sends and receives. Nil in production.
	Faults *transport.Faults

	// DialTimeout bounds establishing a connection and opening a stream.
	// Default 2s.
	DialTimeout time.Duration
	// KeepaliveTime is the idle time after which a connection is pinged;
	// KeepaliveTimeout is how long to wait for the ping's answer before the
	// connection is considered dead. Defaults 2s and 2s.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// BackoffBase and BackoffMax bound the exponential backoff (factor
	// 1.6, ±20% jitter) between reconnection attempts. Defaults 50ms and
	// 2s.
	BackoffBase, BackoffMax time.Duration
	// RaftQueueLimit is the maximum number of raft messages queued per
	// ordered pair; Send drops the newest beyond it. Default
	// transport.DefaultQueueLimit.
	RaftQueueLimit int
	// RaftMaxBatchBytes caps the encoded size of one raft frame (several
	// messages of one pair); a single larger message is sent alone.
	// Default 1 MiB.
	RaftMaxBatchBytes int
	// MaxMessageBytes is the largest gRPC message sent or accepted: a
	// batch request or response, a raft frame, a snapshot chunk. Default
	// 256 MiB.
	MaxMessageBytes int
	// SnapshotChunkBytes is the largest snapshot chunk SendSnapshot
	// accepts from its caller and the receiver accepts from the wire.
	// Default 4 MiB.
	SnapshotChunkBytes int
	// ShutdownTimeout bounds the graceful phase of Stop, after which
	// remaining RPCs are cut. Default 2s.
	ShutdownTimeout time.Duration
	// Logf logs events worth an operator's attention (a batch handler
	// panic). Default log.Printf.
	Logf func(format string, args ...any)
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, 2*time.Second)
	def(&c.KeepaliveTime, 2*time.Second)
	def(&c.KeepaliveTimeout, 2*time.Second)
	def(&c.BackoffBase, 50*time.Millisecond)
	def(&c.BackoffMax, 2*time.Second)
	def(&c.ShutdownTimeout, 2*time.Second)
	if c.Logf == nil {
		c.Logf = log.Printf
	}
	if c.RaftQueueLimit == 0 {
		c.RaftQueueLimit = transport.DefaultQueueLimit
	}
	if c.RaftMaxBatchBytes == 0 {
		c.RaftMaxBatchBytes = 1 << 20
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 256 << 20
	}
	if c.SnapshotChunkBytes == 0 {
		c.SnapshotChunkBytes = 4 << 20
	}
}

// Validate reports an invalid configuration.
func (c *Config) Validate() error {
	switch {
	case c.NodeID <= 0:
		return fmt.Errorf("rpc: NodeID %d must be positive", c.NodeID)
	case c.Resolver == nil:
		return errors.New("rpc: Resolver is required")
	case c.DialTimeout <= 0 || c.KeepaliveTime <= 0 || c.KeepaliveTimeout <= 0 || c.ShutdownTimeout <= 0:
		return errors.New("rpc: timeouts must be positive")
	case c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("rpc: backoff %v..%v is invalid", c.BackoffBase, c.BackoffMax)
	case c.RaftQueueLimit < 1:
		return fmt.Errorf("rpc: RaftQueueLimit %d must be at least 1", c.RaftQueueLimit)
	case c.RaftMaxBatchBytes < 1 || c.SnapshotChunkBytes < 1:
		return errors.New("rpc: byte limits must be positive")
	case c.MaxMessageBytes < c.RaftMaxBatchBytes || c.MaxMessageBytes < c.SnapshotChunkBytes+64:
		return fmt.Errorf("rpc: MaxMessageBytes %d is below the raft batch or snapshot chunk size", c.MaxMessageBytes)
	}
	return nil
}
