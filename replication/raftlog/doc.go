// Package raftlog is raft.Storage (go.etcd.io/raft/v3) over kv/storage for
// one raft group, i.e. one range.
//
// It owns these range-ID-local keys (0x01 'i' <rangeID:8 BE> <suffix>) and
// their encodings:
//
//	"rftl" <index:8 BE>   a raft log entry (marshaled raftpb.Entry)
//	"rfth"                the HardState (marshaled raftpb.HardState)
//	"rftc"                the ConfState (marshaled raftpb.ConfState)
//	"rftt"                the truncated state: index and term of the last
//	                      truncated entry (marshaled raftpb.Entry, no data)
//
// Invariants:
//   - FirstIndex = truncated index + 1; LastIndex = index of the last entry,
//     or the truncated index when the log is empty. Every index in
//     [FirstIndex, LastIndex] has an entry on disk and no other entry of the
//     range exists.
//   - Persist before send/ack: writes go into a caller's batch and the caller
//     commits it with Storage.Commit (which syncs) before sending the
//     messages or acknowledging the proposals of the Ready that produced
//     them.
//   - The in-memory state raft reads (indexes, terms, hard and conf state)
//     changes only after the batch holding the writes is durable, so it never
//     runs ahead of what a crash would leave.
//
// Snapshots are not implemented yet (Snapshot returns
// raft.ErrSnapshotTemporarilyUnavailable).
//
// It imports kv/storage and kv/kvpb of ours, and must not import the kv root
// package or kv/router.
package raftlog
