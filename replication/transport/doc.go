// Package transport moves raft messages between nodes.
//
// It owns the Transport interface the replication layer sends raft messages
// through and receives them from (Send, Listen, Close), the Message type (a
// raftpb.Message tagged with the range it belongs to), and MemTransport, an
// in-memory implementation with fault injection for tests and for simulated
// multi-region clusters: per-pair delay (and a locality latency matrix, which
// the --simulate-latency flag will parse into), seeded random drops,
// partitions, one-way blocks and node isolation, and per-pair statistics.
// It also owns SnapshotTransport (snapshot.go): streamed, acknowledged,
// flow-controlled snapshots in chunks that neither side holds all of at
// once, separate from the lossy raft message path; MemTransport implements
// it with the same fault semantics (a blocked pair cannot start or
// continue a snapshot).
// The gRPC implementation of the same interface is replication/rpc's
// RaftTransport; it follows the same contracts and takes its faults from a
// Faults, the injector of this package with MemTransport's fault semantics.
//
// Semantics every implementation keeps:
//   - Delivery is best effort. A message may be dropped (raft retransmits),
//     but messages from one node to another are never reordered or
//     duplicated: per ordered pair (from, to) they reach the handler in the
//     order Send accepted them.
//   - Send never blocks on a slow receiver. Each ordered pair has a bounded
//     queue; when it is full, Send drops the newest messages (the ones it is
//     being asked to send), keeps what is already queued, and counts the drop.
//     Dropping the newest keeps the queued prefix intact, so FIFO needs no
//     special casing, and it matches what raft expects from a lossy link.
//   - Send returns an error only when the transport is closed (ErrClosed);
//     a dropped message is not an error.
//   - A message to a node with no listener at delivery time is dropped.
//
// Memory ownership: Send copies the messages (MemTransport deep-clones every
// raftpb.Message, as a network would serialize it), so the caller may reuse or
// mutate them after Send returns. The slice and messages passed to a Handler
// belong to the handler.
//
// Concurrency: all methods are safe for concurrent use. Handlers are called
// without any transport lock held, so a handler may call Send. A handler must
// not call its own listener's stop func nor Close (both wait for in-flight
// handler calls). Calls for one ordered pair are sequential; calls for
// different pairs may run concurrently, also for the same receiving node.
//
// Goroutines (MemTransport): one delivery goroutine per ordered pair that has
// ever had a message queued, started lazily by Send. Each sleeps on its own
// timer until the head of its queue is due, which keeps FIFO trivially and
// isolates a slow handler to its pair. Close stops and waits for all of them;
// a Listen stop func unregisters the handler and waits for its in-flight
// calls.
//
// Dependencies: this package imports raftpb and protobuf only. It must not
// import the kv root package, kv/router, or sql (see STYLE.md), and it is
// meant to be imported by the replication root package (the Store) and the
// test cluster.
package transport
