package transport

import (
	"context"
	"errors"

	"go.etcd.io/raft/v3/raftpb"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("transport: closed")

// Message is one raft message for one range.
type Message struct {
	// RangeID is the raft group the message belongs to.
	RangeID int64
	// Msg is the raft message. Its To/From are raft replica IDs, which need
	// not equal the node IDs the transport routes by.
	Msg *raftpb.Message
}

// Handler receives raft messages for one node.
type Handler interface {
	// HandleRaft is called with a non-empty batch of messages sent by node
	// from, in the order they were sent. ctx is cancelled when the listener
	// is stopped or the transport is closed; a handler that may block should
	// watch it. The handler owns msgs.
	HandleRaft(ctx context.Context, from int32, msgs []Message)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, from int32, msgs []Message)

// HandleRaft implements Handler.
func (f HandlerFunc) HandleRaft(ctx context.Context, from int32, msgs []Message) {
	f(ctx, from, msgs)
}

// Transport moves raft messages between nodes. See the package doc for the
// ordering, drop and ownership contracts.
type Transport interface {
	// Send queues msgs from node from to node to and returns without waiting
	// for delivery. It returns ErrClosed after Close; dropped messages are
	// not errors.
	Send(from, to int32, msgs []Message) error
	// Listen registers h as the handler of messages to node. Registering a
	// second handler for a node that already has one is a programming error
	// (MemTransport panics). The returned stop func unregisters h and waits
	// for its in-flight calls; it is idempotent. After Close, Listen returns
	// a no-op stop func.
	Listen(node int32, h Handler) (stop func())
	// Close stops delivery, cancels handler contexts, and waits for all
	// goroutines of the transport, including in-flight handler calls.
	// Queued messages are discarded. Close is idempotent and returns nil for
	// MemTransport.
	Close() error
}
