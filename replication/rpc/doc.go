// Package rpc is the node-to-node network layer: one gRPC server and one
// connection pool per node, carrying its services: batches, raft,
// snapshots, cluster formation and forwarded SQL (an edge node's writes,
// as bytes package sql encodes; SetSQLHandler, CallSQL).
//
//	         ┌────────────── Node (one per process) ───────────────┐
//	Store ──►│ RaftTransport.Send ─► per-pair queue ─► client stream│──► peer Node ─► transport.Handler
//	router ─►│ SendBatch(ctx, to, ba) ─► unary RPC                  │──► peer Node ─► kvrpc.Handler
//	Store ──►│ SendSnapshot(ctx, to, hdr, chunks) ─► client stream  │──► peer Node ─► SnapshotReceiver
//	         └──────────────────────────────────────────────────────┘
//
// It owns:
//   - Node: the gRPC server (Start, Stop) and one grpc.ClientConn per peer,
//     whose address comes from Config.Resolver (backed by gossip/liveness
//     later). Connections reconnect with exponential backoff and jitter;
//     dial and keepalive deadlines bound how long a dead peer goes unnoticed.
//   - RaftTransport: replication/transport.Transport over one gRPC client
//     stream per ordered node pair, messages batched per pair.
//   - The batch RPC: Node.SendBatch / Node.Handler(to) (a kvrpc.Handler
//     for a remote node) and, on the server, the local kvrpc.Handler set
//     with SetBatchHandler. Requests, responses and errors use the kvpb wire
//     codec, so typed errors survive (errors.As works on the client).
//   - Snapshot streaming: Node.SendSnapshot sends a header and then chunks
//     of bounded size; the server calls the SnapshotReceiver set with
//     SetSnapshotReceiver, handing it an iterator over the chunks as they
//     arrive. Neither side holds the whole snapshot.
//   - Fault injection on all three through an optional shared
//     *transport.Faults (delay, drops, partitions), the same injector
//     semantics MemTransport has. For raft messages, see below. A batch or
//     snapshot started into a partition gets no answer: it waits for its
//     context, or fails with ErrUnavailable after KeepaliveTime +
//     KeepaliveTimeout, as a real partition detected by keepalive would; a
//     batch already answered is not affected, and a snapshot stops at the
//     next chunk. A batch is delayed by the one-way delay of each
//     direction; drop rates apply to raft messages only (a TCP stream does
//     not lose single messages).
//
// There is no protoc step: services are hand-written grpc.ServiceDesc
// values and every message is a byte slice marshalled by a pass-through
// codec (rawCodec); the payloads are kvpb's wire encoding, raftpb's
// protobuf encoding, or the small frames of this package (frame.go).
//
// Contracts of RaftTransport are those of the transport package doc (per
// pair FIFO, Send never blocks, bounded queue dropping the newest, drops
// are not errors, handler ownership), with these network specifics:
//   - FIFO across reconnects: each client stream carries (sender boot ID,
//     stream generation); the receiver delivers a pair's frames one at a
//     time and only from the newest stream it has seen for the pair, so a
//     straggler frame of an old stream is dropped rather than delivered
//     after a newer one.
//   - Messages written to a stream that breaks are lost (raft retransmits).
//   - Delay and drop faults apply at the sender; partitions are checked at
//     the sender, when the pair's goroutine transmits, and again at the
//     receiver, so a partition also cuts messages in flight.
//
// Batch RPC errors: a batch either returns the remote handler's result
// (typed kvpb errors included), or a context error (the caller's deadline
// or cancellation; the deadline propagates to the remote handler's ctx), or
// an error wrapping ErrUnavailable (the peer could not be reached, or the
// connection broke; ErrStopped when the local node stopped), or another
// error for problems retrying elsewhere would not fix (a message over
// MaxMessageBytes). ErrUnavailable and a deadline are ambiguous for writes:
// the batch may have been evaluated.
//
// Goroutines: the gRPC server's; one per ordered pair with a queued raft
// message (sender side), started lazily by Send and stopped by Close; per
// incoming raft stream, the handler goroutine plus one reader goroutine, both
// ending when the stream or the node ends. Node.Stop stops all of them and
// waits, with a bounded graceful phase (Config.ShutdownTimeout).
//
// Dependencies: this is the only package that imports google.golang.org/grpc
// (enforced by cmd/internal/lint). It imports kv/kvpb, kv/kvrpc and
// replication/transport, and raftpb; never the kv root, kv/router or sql.
package rpc
