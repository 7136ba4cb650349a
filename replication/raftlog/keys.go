package raftlog

import (
	"encoding/binary"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// localRangeIDPrefix is kv/keys' range-ID-local prefix (0x01 'i'); kv/keys
// does not export it, so it is repeated here (a test checks the two agree
// against keys.RangeGCThresholdKey).
var localRangeIDPrefix = []byte{kvpb.LocalPrefixByte, 'i'}

// Suffixes of the range-ID-local keys this package owns.
const (
	suffixLogEntry       = "rftl"
	suffixHardState      = "rfth"
	suffixTruncated      = "rftt"
	suffixConfState      = "rftc"
	suffixSnapPending    = "rfts"
	suffixSnapStaging    = "rftx"
	suffixSnapStagingEnd = "rfty"
	suffixLogEntryEnd    = "rftm" // first suffix after every log entry key
)

func rangeIDSuffixKey(rangeID int64, suffix string, extra int) []byte {
	k := make([]byte, 0, len(localRangeIDPrefix)+8+len(suffix)+extra)
	k = append(k, localRangeIDPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(rangeID))
	return append(k, suffix...)
}

// LogEntryKey is where the raft log entry at index of range rangeID lives:
// 0x01 'i' <rangeID:8 BE> "rftl" <index:8 BE>. The value is a marshaled
// raftpb.Entry. Keys of one range sort by index.
func LogEntryKey(rangeID int64, index uint64) []byte {
	return binary.BigEndian.AppendUint64(rangeIDSuffixKey(rangeID, suffixLogEntry, 8), index)
}

// LogPrefix is the common prefix of every LogEntryKey of rangeID.
func LogPrefix(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixLogEntry, 0)
}

// logEnd is the first key past every LogEntryKey of rangeID.
func logEnd(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixLogEntryEnd, 0)
}

// HardStateKey stores the range's marshaled raftpb.HardState:
// 0x01 'i' <rangeID:8 BE> "rfth".
func HardStateKey(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixHardState, 0)
}

// TruncatedStateKey stores the index and term of the last truncated log
// entry as a marshaled raftpb.Entry with only Index and Term set:
// 0x01 'i' <rangeID:8 BE> "rftt".
func TruncatedStateKey(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixTruncated, 0)
}

// ConfStateKey stores the range's marshaled raftpb.ConfState:
// 0x01 'i' <rangeID:8 BE> "rftc".
func ConfStateKey(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixConfState, 0)
}

// SnapshotPendingKey marks a replica whose snapshot is committed (its raft
// state installed) while its data is still being moved from the staging
// span into place; the value names the descriptors involved (see the
// replication package). A replica that finds it at open finishes the move.
// 0x01 'i' <rangeID:8 BE> "rfts".
func SnapshotPendingKey(rangeID int64) []byte {
	return rangeIDSuffixKey(rangeID, suffixSnapPending, 0)
}

// SnapshotStagingSpan is where a replica receiving a snapshot stages its
// data before installing it: [0x01 'i' <rangeID:8 BE> "rftx", ... "rfty").
// Each staged record is stored under the span's start followed by the
// record's engine key.
func SnapshotStagingSpan(rangeID int64) (start, end []byte) {
	return rangeIDSuffixKey(rangeID, suffixSnapStaging, 0), rangeIDSuffixKey(rangeID, suffixSnapStagingEnd, 0)
}
