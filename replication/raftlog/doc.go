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
//	"rfts"                a snapshot is being installed (SnapshotPendingKey)
//	"rftx" <engine key>   a snapshot's data being received (staging span)
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
// Truncation: Truncate removes a prefix of the log; afterwards Entries and
// Term return raft.ErrCompacted below FirstIndex (Term answers for the
// truncated index itself from the truncated state), as MemoryStorage does
// after Compact. The caller (replication's raft log queue) never truncates
// past the durable applied index.
//
// Snapshots: Snapshot returns metadata only (truncated index and term, conf
// state): enough for raft to decide a follower needs one. The data is
// streamed by the replication Store; InstallSnapshot and ResetState write
// the raft state of a replica that installs a snapshot or is emptied.
//
// It imports kv/storage and kv/kvpb of ours, and must not import the kv root
// package or kv/router.
package raftlog
