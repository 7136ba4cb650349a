// Package storage is Outpost's only importer of Pebble. It owns the on-disk
// key format for MVCC (a user key followed by a timestamp suffix, newest
// version first) and exposes an Engine with Readers, Writers and Batches
// over MVCCKeys.
//
// Key format (see EncodeMVCCKey):
//
//	unversioned:  userKey 0x00
//	versioned:    userKey 0x00 wall(8, big endian) logical(4, big endian) 0x0D
//
// The last byte is the suffix length (0 or 13), so Split is one subtraction
// and the prefix (userKey 0x00) is itself a valid unversioned key. Versions
// of one user key sort unversioned first (intent metadata lives there), then
// newest to oldest.
//
// Invariants:
//   - Every key written through this package decodes with DecodeMVCCKey;
//     anything else found on disk is reported as ErrCorruptKey, never a panic.
//   - Nothing outside kv/storage imports Pebble; fault injection and the mem
//     engine hang on Engine.
//
// This package imports nothing of ours except kv/hlc.
package storage
