// Package keys owns the layout of the keyspace.
//
//	0x01 'k' <anchor> 0x00 "txn-" <id>   range-local: transaction records,
//	                                      stored with the range of <anchor>
//	0x01 'i' <rangeID> <suffix>          range-ID-local: replicated range state
//	                                      (GC threshold)
//	0x01 's' <suffix>                    store-local: never replicated (HLC
//	                                      upper bound)
//	0x02 <endKey>                        meta: one range descriptor per range,
//	                                      keyed by the range's end key
//	0x02 0x00 "rangeid"                  the range ID generator
//	0x03 ... 0xff                        global keys: SQL system keys, table
//	                                      data /Table/<id>/<index>/...
//
// The meta span [0x02, 0x03) always lies in the first range (no split
// below MinSplitKey), so finding the first range is enough to find any.
//
// Keys starting at or below 0x01 are "local": clients cannot address them
// (kvpb.BatchRequest.Validate refuses them).
//
// It imports only kv/kvpb and kv/encoding of ours.
package keys

import (
	"encoding/binary"
	"fmt"

	"github.com/outpostdb/outpost/kv/encoding"
	"github.com/outpostdb/outpost/kv/kvpb"
)

// Prefixes of the keyspace.
var (
	LocalPrefix = []byte{kvpb.LocalPrefixByte}
	// LocalMax is the first global key.
	LocalMax = []byte{kvpb.LocalPrefixByte + 1}
	// MaxKey is past every valid key.
	MaxKey = []byte{0xff, 0xff}

	localRangePrefix   = []byte{kvpb.LocalPrefixByte, 'k'}
	localRangeIDPrefix = []byte{kvpb.LocalPrefixByte, 'i'}
	localStorePrefix   = []byte{kvpb.LocalPrefixByte, 's'}
)

const txnSuffix = "\x00txn-"

// TransactionKey is where the record of transaction id anchored at anchor
// lives.
func TransactionKey(anchor []byte, id kvpb.TxnID) []byte {
	k := make([]byte, 0, len(localRangePrefix)+len(anchor)+len(txnSuffix)+len(id))
	k = append(k, localRangePrefix...)
	k = append(k, anchor...)
	k = append(k, txnSuffix...)
	return append(k, id[:]...)
}

// Meta keyspace.
var (
	MetaPrefix = []byte{0x02}
	// MetaMax ends the meta keyspace; it is also MinSplitKey.
	MetaMax = []byte{0x03}
	// MinSplitKey is the lowest key a range may be split at.
	MinSplitKey = MetaMax
	// FirstRangeStart is where the first range (and so the keyspace of
	// ranges) starts.
	FirstRangeStart = LocalMax
)

// MetaKey is where the descriptor of the range ending at endKey is stored.
// The range containing k is described by the first meta record after
// MetaKey(k).
func MetaKey(endKey []byte) []byte {
	return append(append(make([]byte, 0, 1+len(endKey)), MetaPrefix...), endKey...)
}

// RangeIDGeneratorKey holds the last allocated range ID.
func RangeIDGeneratorKey() []byte {
	return append(append([]byte(nil), MetaPrefix...), "\x00rangeid"...)
}

// TxnRecordSpan is the span of the transaction records anchored in the
// global span [start, end): they belong to the range owning the span.
func TxnRecordSpan(start, end []byte) kvpb.Span {
	return kvpb.Span{Key: append(append([]byte(nil), localRangePrefix...), start...),
		EndKey: append(append([]byte(nil), localRangePrefix...), end...)}
}

// Addr returns the global key that decides which range k belongs to: k
// itself for a global key, the anchor for a transaction record. Other
// local keys have no address.
func Addr(k []byte) ([]byte, error) {
	if !IsLocal(k) {
		return k, nil
	}
	const idLen = 16
	if len(k) >= len(localRangePrefix)+len(txnSuffix)+idLen && string(k[:len(localRangePrefix)]) == string(localRangePrefix) {
		rest := k[len(localRangePrefix) : len(k)-idLen]
		if string(rest[len(rest)-len(txnSuffix):]) == txnSuffix {
			return rest[:len(rest)-len(txnSuffix)], nil
		}
	}
	return nil, fmt.Errorf("keys: local key %q has no address", k)
}

// ReplicatedRangeIDKeys lists the range-ID-local keys that are part of the
// range's replicated state (a snapshot carries them). The raft log, hard
// state and truncated state are the replica's own and are not listed.
func ReplicatedRangeIDKeys(rangeID int64) [][]byte {
	return [][]byte{RangeGCThresholdKey(rangeID), RangeAppliedStateKey(rangeID),
		RangeLeaseKey(rangeID), RangeDescriptorStateKey(rangeID)}
}

// RangeGCThresholdKey stores the range's GC threshold: reads below it fail.
func RangeGCThresholdKey(rangeID int64) []byte {
	k := append([]byte(nil), localRangeIDPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(rangeID))
	return append(k, "gct"...)
}

// RangeAppliedStateKey stores the replica's applied state (raft applied
// index, lease applied index), written with every applied command.
func RangeAppliedStateKey(rangeID int64) []byte { return rangeIDKey(rangeID, "rask") }

// RangeLeaseKey stores the range's current lease.
func RangeLeaseKey(rangeID int64) []byte { return rangeIDKey(rangeID, "rll-") }

// RangeDescriptorStateKey stores the replica's copy of its range
// descriptor (bounds and replica set).
func RangeDescriptorStateKey(rangeID int64) []byte { return rangeIDKey(rangeID, "rdsc") }

// RangeIDPrefix is the start of every range-ID-local key of rangeID.
func RangeIDPrefix(rangeID int64) []byte { return rangeIDKey(rangeID, "") }

// RangeIDLocalSpan spans the range-ID-local keys of every range.
func RangeIDLocalSpan() kvpb.Span {
	return kvpb.Span{Key: append([]byte(nil), localRangeIDPrefix...), EndKey: kvpb.Key(localRangeIDPrefix).PrefixEnd()}
}

// DecodeRangeIDKey returns the range ID of a range-ID-local key.
func DecodeRangeIDKey(k []byte) (int64, bool) {
	if len(k) < len(localRangeIDPrefix)+8 || string(k[:len(localRangeIDPrefix)]) != string(localRangeIDPrefix) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(k[len(localRangeIDPrefix):])), true
}

func rangeIDKey(rangeID int64, suffix string) []byte {
	k := append([]byte(nil), localRangeIDPrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(rangeID))
	return append(k, suffix...)
}

// StoreHLCUpperBoundKey stores the wall time the node's clock will not pass
// before persisting a new bound, so the clock never goes back on restart.
func StoreHLCUpperBoundKey() []byte {
	return append(append([]byte(nil), localStorePrefix...), "hlcu"...)
}

// StoreIdentKey stores the node ID this store belongs to.
func StoreIdentKey() []byte {
	return append(append([]byte(nil), localStorePrefix...), "iden"...)
}

// StoreNodeAddrsKey stores the node's last known address book (node IDs
// to listen addresses), so that a restarted node can reach its peers
// before it can read the node table.
func StoreNodeAddrsKey() []byte {
	return append(append([]byte(nil), localStorePrefix...), "addr"...)
}

// IsLocal reports whether k is in the local keyspace.
func IsLocal(k []byte) bool { return len(k) > 0 && k[0] <= kvpb.LocalPrefixByte }

// SQL keyspace.
//
//	0x04 <name...>                        system keys (descriptor ID counter,
//	                                      namespace, descriptors, settings)
//	0x04 "spancfg/" <start key>           span configs (kv/spanconfig)
//	0x88 <uvarint tableID> <uvarint indexID> <key columns...>   table data
var (
	SystemPrefix = []byte{0x04}
	// TableDataMin starts the table data keyspace; TableDataMax ends it.
	TableDataMin = []byte{0x88}
	TableDataMax = []byte{0x89}
)

// SystemKey returns a system key under name.
func SystemKey(name string) []byte {
	return append(append([]byte(nil), SystemPrefix...), name...)
}

// SpanConfigPrefix starts the span config records: SpanConfigKey(start)
// holds the configuration of the span that starts at start (its end and
// settings are in the value; see kv/spanconfig). Records sort by the start
// of their spans.
var SpanConfigPrefix = SystemKey("spancfg/")

// SpanConfigKey is where the config of the span starting at start lives.
func SpanConfigKey(start []byte) []byte {
	return append(append(make([]byte, 0, len(SpanConfigPrefix)+len(start)), SpanConfigPrefix...), start...)
}

// TablePrefix is the start of all keys of a table.
func TablePrefix(tableID uint64) []byte {
	return encoding.EncodeUvarintAscending(append([]byte(nil), TableDataMin...), tableID)
}

// IndexPrefix is the start of all keys of one index of a table.
func IndexPrefix(tableID, indexID uint64) []byte {
	return encoding.EncodeUvarintAscending(TablePrefix(tableID), indexID)
}

// DecodeIndexPrefix splits a table key into table ID, index ID and the rest.
func DecodeIndexPrefix(key []byte) (tableID, indexID uint64, rest []byte, err error) {
	if len(key) == 0 || key[0] != TableDataMin[0] {
		return 0, 0, nil, fmt.Errorf("keys: %q is not a table key", key)
	}
	rest, tableID, err = encoding.DecodeUvarintAscending(key[1:])
	if err != nil {
		return 0, 0, nil, err
	}
	rest, indexID, err = encoding.DecodeUvarintAscending(rest)
	return tableID, indexID, rest, err
}
