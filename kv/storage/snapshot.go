package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Snapshot is a consistent, read-only view of an engine as of the moment it
// was taken: later writes are invisible to it. Replication streams a
// range's data from one so that the data, the applied index and the raft
// metadata read from it agree. Close it when done (it pins old versions of
// the data in the engine).
type Snapshot struct {
	s *pebble.Snapshot
}

// Snapshotter is an engine that can take snapshots; Pebble is one.
type Snapshotter interface {
	NewSnapshot() *Snapshot
}

var _ Snapshotter = (*Pebble)(nil)

// NewSnapshot takes a snapshot of the engine.
func (p *Pebble) NewSnapshot() *Snapshot { return &Snapshot{s: p.db.NewSnapshot()} }

// NewIter implements Reader over the snapshot.
func (s *Snapshot) NewIter(opts IterOptions) (*Iterator, error) {
	return newIterator(s.s, opts)
}

// Close releases the snapshot. It must be called exactly once.
func (s *Snapshot) Close() error { return s.s.Close() }

// ClearRange writes into the batch the removal of every MVCC key (all
// versions) whose user key is in [start, end). It is one range tombstone,
// whatever the number of keys.
func (b *Batch) ClearRange(start, end []byte) error {
	lo := EncodeMVCCKey(nil, MVCCKey{Key: start})
	hi := EncodeMVCCKey(nil, MVCCKey{Key: end})
	if err := b.b.DeleteRange(lo, hi, nil); err != nil {
		return fmt.Errorf("storage: clear range: %w", err)
	}
	return nil
}
