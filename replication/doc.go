// Package replication is the server side of the kv request seam for a
// replicated cluster: a Store per node (kvrpc.Handler) holding a Replica
// per range, each Replica one etcd raft group driven through RawNode.
//
// It owns:
//   - the raft scheduler: a goroutine per replica handling Readies
//     (persist with fsync, then send, then apply, then advance) and one
//     ticker for all replicas (Store);
//   - proposals and their deterministic application (command.go): the
//     leaseholder evaluates a batch through kv/local's pipeline, which
//     calls Replica.Replicate with the evaluated Pebble batch; every
//     replica applies the same batch when its entry commits;
//   - expiration-based leases proposed through the log by the raft leader
//     (rules in replication/lease), and the checks that make a write apply
//     only under the lease it was evaluated under, at most once;
//   - membership: bootstrap as conf-change entries, replicas created on a
//     leader's first message, and the replicate queue (replicate_queue.go)
//     that adds learners, promotes them, and replaces dead or
//     decommissioning voters, and places edge nodes' non-voters by the
//     span configs of kv/spanconfig (edge_placement.go);
//   - the raft log queue (raft_log_queue.go): truncation of every replica's
//     log (never past the durable applied index; a leader keeps what its
//     live followers need up to a size bound) and the destruction of
//     replicas removed from their range;
//   - snapshots (snapshot.go): streamed from a Pebble snapshot in bounded
//     chunks over transport.SnapshotTransport to followers that fell behind
//     the leader's log or are new, and applied crash-safely (a pending
//     marker, then a synced install and a RawNode restart on it).
//
// Not yet: more than one range (splits, merges, range descriptors in a
// meta range), closed timestamps and follower reads.
//
// Subpackages: raftlog (raft.Storage over kv/storage), lease and closedts
// (pure rules), transport (raft message transport, in-memory with fault
// injection), rpc (gRPC between nodes). DESIGN.md explains the choices.
//
// It imports kv's lower packages (kv/local, kv/kvpb, kv/storage, ...),
// never the kv root, kv/router or sql.
package replication
