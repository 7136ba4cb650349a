// Package keys owns the layout of the keyspace.
//
//	0x01 'k' <anchor> 0x00 "txn-" <id>   range-local: transaction records,
//	                                      stored with the range of <anchor>
//	0x01 'i' <rangeID> <suffix>          range-ID-local: replicated range state
//	                                      (GC threshold)
//	0x01 's' <suffix>                    store-local: never replicated (HLC
//	                                      upper bound)
//	0x02 ... 0xff                        global keys: user data, later meta
//	                                      ranges and /Table/<id>/<index>/...
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

// IsLocal reports whether k is in the local keyspace.
func IsLocal(k []byte) bool { return len(k) > 0 && k[0] <= kvpb.LocalPrefixByte }

// SQL keyspace.
//
//	0x04 <name...>                        system keys (descriptor ID counter,
//	                                      namespace, descriptors, settings)
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
