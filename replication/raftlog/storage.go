package raftlog

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/kv/storage"
)

// ErrBatchMismatch is returned when writes of one Storage are spread over two
// batches that are both uncommitted: every write must go to the pending batch
// until it is committed (Commit) or dropped (Discard).
var ErrBatchMismatch = errors.New("raftlog: write to a batch other than the pending one")

// logState is the part of a range's raft state that Storage caches in memory.
type logState struct {
	// hardState is nil until one has been persisted.
	hardState *raftpb.HardState
	// confState is never nil.
	confState *raftpb.ConfState
	// truncIndex and truncTerm describe the last truncated entry (0, 0 for a
	// log that was never truncated).
	truncIndex, truncTerm uint64
	// lastIndex and lastTerm describe the last entry, or equal
	// truncIndex/truncTerm when the log is empty.
	// Invariant: truncIndex <= lastIndex, and every index in
	// (truncIndex, lastIndex] has an entry on disk.
	lastIndex, lastTerm uint64
}

// Storage is the raft log, hard state, conf state and truncated state of one
// range, stored in a kv/storage Engine. It implements raft.Storage.
//
// Writes (Append, SetHardState, SetConfState, Truncate) go into a caller's
// batch and take effect in memory only once Storage.Commit has synced that
// batch, so the raft-visible state never runs ahead of durable state. The
// caller must Commit before it sends the messages or acknowledges the
// proposals of the Ready that produced the writes ("persist before send/ack").
//
// Concurrency: all methods are safe for concurrent use; a mutex serialises
// them. raft calls the read methods from the goroutine that drives the
// RawNode, which normally also writes; Commit holds the mutex across the
// fsync so that readers never see a half-applied state.
type Storage struct {
	eng     storage.Engine
	rangeID int64

	mu struct {
		sync.Mutex
		// durable is the state of the last committed batch.
		durable logState
		// pendingBatch, when non-nil, is the uncommitted batch holding writes
		// made through this Storage, and pending is the state after it.
		pendingBatch *storage.Batch
		pending      logState
	}
}

var _ raft.Storage = (*Storage)(nil)

// Open loads the raft state of rangeID from eng. A range that has nothing
// stored opens as an empty log with FirstIndex 1 and LastIndex 0, no hard
// state and an empty conf state.
func Open(eng storage.Engine, rangeID int64) (*Storage, error) {
	s := &Storage{eng: eng, rangeID: rangeID}
	st := logState{confState: &raftpb.ConfState{}}

	hs := &raftpb.HardState{}
	if ok, err := getProto(eng, HardStateKey(rangeID), hs); err != nil {
		return nil, err
	} else if ok {
		st.hardState = hs
	}
	if _, err := getProto(eng, ConfStateKey(rangeID), st.confState); err != nil {
		return nil, err
	}
	trunc := &raftpb.Entry{}
	if _, err := getProto(eng, TruncatedStateKey(rangeID), trunc); err != nil {
		return nil, err
	}
	st.truncIndex, st.truncTerm = trunc.GetIndex(), trunc.GetTerm()
	st.lastIndex, st.lastTerm = st.truncIndex, st.truncTerm

	last, ok, err := lastEntry(eng, rangeID)
	if err != nil {
		return nil, err
	}
	if ok {
		if last.GetIndex() <= st.truncIndex {
			return nil, fmt.Errorf("raftlog: range %d: last entry %d at or below truncated index %d",
				rangeID, last.GetIndex(), st.truncIndex)
		}
		st.lastIndex, st.lastTerm = last.GetIndex(), last.GetTerm()
	}
	s.mu.durable = st
	return s, nil
}

// RangeID returns the range whose log this is.
func (s *Storage) RangeID() int64 { return s.rangeID }

// InitialState implements raft.Storage. The returned messages are copies.
func (s *Storage) InitialState() (*raftpb.HardState, *raftpb.ConfState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hs *raftpb.HardState
	if s.mu.durable.hardState != nil {
		hs = proto.Clone(s.mu.durable.hardState).(*raftpb.HardState)
	}
	return hs, proto.Clone(s.mu.durable.confState).(*raftpb.ConfState), nil
}

// DurableTermVote returns the term and vote of the durable HardState
// without copying it (the Ready loop asks on every Ready).
func (s *Storage) DurableTermVote() (term, vote uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.hardState.GetTerm(), s.mu.durable.hardState.GetVote()
}

// Entries implements raft.Storage: the entries [lo, hi), limited to maxSize
// bytes (proto size, as raft.MemoryStorage) but at least one entry. It
// returns raft.ErrCompacted when lo <= the truncated index, and
// raft.ErrUnavailable when hi > LastIndex()+1 or the log is empty. The
// caller owns the returned slice and entries, which are freshly decoded.
func (s *Storage) Entries(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.mu.durable
	if lo <= st.truncIndex {
		return nil, raft.ErrCompacted
	}
	if hi > st.lastIndex+1 || st.lastIndex == st.truncIndex {
		return nil, raft.ErrUnavailable
	}
	if lo > hi {
		return nil, fmt.Errorf("raftlog: Entries: lo %d > hi %d", lo, hi)
	}
	if lo == hi {
		return []*raftpb.Entry{}, nil
	}
	return s.readEntriesLocked(lo, hi, maxSize)
}

func (s *Storage) readEntriesLocked(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	it, err := s.eng.NewIter(storage.IterOptions{
		LowerBound: LogEntryKey(s.rangeID, lo),
		UpperBound: LogEntryKey(s.rangeID, hi),
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = it.Close() }()

	ents := make([]*raftpb.Entry, 0, min(hi-lo, 64))
	var size uint64
	next := lo
	for ok := it.SeekGE(storage.MVCCKey{Key: LogEntryKey(s.rangeID, lo)}); ok; ok = it.Next() {
		e, err := decodeEntry(it)
		if err != nil {
			return nil, err
		}
		if e.GetIndex() != next {
			return nil, fmt.Errorf("raftlog: range %d: found entry %d, expected %d", s.rangeID, e.GetIndex(), next)
		}
		size += uint64(proto.Size(e))
		if len(ents) > 0 && size > maxSize {
			return ents, nil
		}
		ents = append(ents, e)
		next++
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	if next != hi {
		return nil, fmt.Errorf("raftlog: range %d: entry %d missing", s.rangeID, next)
	}
	return ents, nil
}

// Term implements raft.Storage: the term of entry i for i in
// [FirstIndex()-1, LastIndex()]; raft.ErrCompacted below that range and
// raft.ErrUnavailable above it.
func (s *Storage) Term(i uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.mu.durable
	switch {
	case i < st.truncIndex:
		return 0, raft.ErrCompacted
	case i == st.truncIndex:
		return st.truncTerm, nil
	case i > st.lastIndex:
		return 0, raft.ErrUnavailable
	case i == st.lastIndex:
		return st.lastTerm, nil
	}
	e, ok, err := readEntry(s.eng, s.rangeID, i)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("raftlog: range %d: entry %d missing", s.rangeID, i)
	}
	return e.GetTerm(), nil
}

// LastIndex implements raft.Storage.
func (s *Storage) LastIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.lastIndex, nil
}

// FirstIndex implements raft.Storage: the truncated index plus one.
func (s *Storage) FirstIndex() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.truncIndex + 1, nil
}

// pendingLocked returns the state as of b's writes, making b the pending
// batch if there is none.
func (s *Storage) pendingLocked(b *storage.Batch) (*logState, error) {
	if s.mu.pendingBatch == nil {
		s.mu.pendingBatch = b
		s.mu.pending = s.mu.durable
		return &s.mu.pending, nil
	}
	if s.mu.pendingBatch != b {
		return nil, ErrBatchMismatch
	}
	return &s.mu.pending, nil
}

// Append writes entries (consecutive indexes, as in raft.Ready.Entries) into
// b and clears every existing entry after the last one, so a conflicting
// suffix of the log is overwritten. Entries at or below the truncated index
// are skipped; a gap after LastIndex is an error. The entries are not
// retained. The change is visible through the raft.Storage methods only
// after Commit(b).
func (s *Storage) Append(b *storage.Batch, entries []*raftpb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].GetIndex() != entries[i-1].GetIndex()+1 {
			return fmt.Errorf("raftlog: Append: entry %d follows %d", entries[i].GetIndex(), entries[i-1].GetIndex())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.pendingLocked(b)
	if err != nil {
		return err
	}
	first := entries[0].GetIndex()
	last := entries[len(entries)-1].GetIndex()
	if last <= st.truncIndex {
		return nil
	}
	if first <= st.truncIndex {
		entries = entries[st.truncIndex+1-first:]
		first = st.truncIndex + 1
	}
	if first > st.lastIndex+1 {
		return fmt.Errorf("raftlog: Append: entry %d leaves a gap after last index %d", first, st.lastIndex)
	}
	var buf []byte
	for _, e := range entries {
		buf, err = proto.MarshalOptions{}.MarshalAppend(buf[:0], e)
		if err != nil {
			return err
		}
		if err := b.Put(storage.MVCCKey{Key: LogEntryKey(s.rangeID, e.GetIndex())}, buf); err != nil {
			return err
		}
	}
	for i := last + 1; i <= st.lastIndex; i++ {
		if err := b.Clear(storage.MVCCKey{Key: LogEntryKey(s.rangeID, i)}); err != nil {
			return err
		}
	}
	st.lastIndex, st.lastTerm = last, entries[len(entries)-1].GetTerm()
	return nil
}

// SetHardState writes hs into b. hs is not retained.
func (s *Storage) SetHardState(b *storage.Batch, hs *raftpb.HardState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.pendingLocked(b)
	if err != nil {
		return err
	}
	if err := putProto(b, HardStateKey(s.rangeID), hs); err != nil {
		return err
	}
	st.hardState = proto.Clone(hs).(*raftpb.HardState)
	return nil
}

// SetConfState writes cs into b. cs is not retained.
func (s *Storage) SetConfState(b *storage.Batch, cs *raftpb.ConfState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.pendingLocked(b)
	if err != nil {
		return err
	}
	if err := putProto(b, ConfStateKey(s.rangeID), cs); err != nil {
		return err
	}
	st.confState = proto.Clone(pbConfState(cs)).(*raftpb.ConfState)
	return nil
}

func pbConfState(cs *raftpb.ConfState) *raftpb.ConfState {
	if cs == nil {
		return &raftpb.ConfState{}
	}
	return cs
}

// Truncate writes into b the removal of every entry at or below index and
// records (index, term) as the truncated state. It returns raft.ErrCompacted
// if index is already truncated, and an error if index > LastIndex or term
// is not the term of entry index. Like raft.MemoryStorage.Compact, the caller
// must not truncate past the applied index.
func (s *Storage) Truncate(b *storage.Batch, index, term uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.pendingLocked(b)
	if err != nil {
		return err
	}
	if index <= st.truncIndex {
		return raft.ErrCompacted
	}
	if index > st.lastIndex {
		return fmt.Errorf("raftlog: Truncate(%d) past last index %d", index, st.lastIndex)
	}
	e, ok, err := readEntry(b, s.rangeID, index)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("raftlog: range %d: entry %d missing", s.rangeID, index)
	}
	if e.GetTerm() != term {
		return fmt.Errorf("raftlog: Truncate(%d, term %d): entry has term %d", index, term, e.GetTerm())
	}
	for i := st.truncIndex + 1; i <= index; i++ {
		if err := b.Clear(storage.MVCCKey{Key: LogEntryKey(s.rangeID, i)}); err != nil {
			return err
		}
	}
	if err := putProto(b, TruncatedStateKey(s.rangeID), &raftpb.Entry{Index: new(index), Term: new(term)}); err != nil {
		return err
	}
	st.truncIndex, st.truncTerm = index, term
	return nil
}

// Commit commits b with sync and, once it is durable, makes the writes made
// through this Storage visible to the raft.Storage methods. b may hold other
// writes too; it is committed even if no write went through this Storage.
// On error the pending state is dropped and the durable state is unknown:
// the caller must stop using this Storage (raft treats a Storage error as
// fatal) and reopen it. Commit does not close b.
func (s *Storage) Commit(b *storage.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.pendingBatch != nil && s.mu.pendingBatch != b {
		return ErrBatchMismatch
	}
	err := b.Commit(true)
	if s.mu.pendingBatch == b {
		if err == nil {
			s.mu.durable = s.mu.pending
		}
		s.mu.pendingBatch, s.mu.pending = nil, logState{}
	}
	if err != nil {
		return fmt.Errorf("raftlog: range %d: commit: %w", s.rangeID, err)
	}
	return nil
}

// Discard forgets the writes made through this Storage into b, which the
// caller is abandoning (and must not commit). It is a no-op if b is not the
// pending batch.
func (s *Storage) Discard(b *storage.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.pendingBatch == b {
		s.mu.pendingBatch, s.mu.pending = nil, logState{}
	}
}

// getProto reads the unversioned key into m, reporting whether it exists.
func getProto(r storage.Reader, key []byte, m proto.Message) (bool, error) {
	v, ok, err := get(r, key)
	if err != nil || !ok {
		return false, err
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("raftlog: decode %x: %w", key, err)
	}
	return true, nil
}

// get returns a copy of the value of the unversioned key.
func get(r storage.Reader, key []byte) ([]byte, bool, error) {
	it, err := r.NewIter(storage.IterOptions{LowerBound: key, UpperBound: append(bytes.Clone(key), 0)})
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = it.Close() }()
	if !it.SeekGE(storage.MVCCKey{Key: key}) {
		return nil, false, it.Err()
	}
	k := it.Key()
	if !bytes.Equal(k.Key, key) || k.IsVersioned() {
		return nil, false, nil
	}
	v, err := it.Value()
	if err != nil {
		return nil, false, err
	}
	return bytes.Clone(v), true, nil
}

func putProto(w storage.Writer, key []byte, m proto.Message) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return w.Put(storage.MVCCKey{Key: key}, v)
}

func readEntry(r storage.Reader, rangeID int64, index uint64) (*raftpb.Entry, bool, error) {
	e := &raftpb.Entry{}
	ok, err := getProto(r, LogEntryKey(rangeID, index), e)
	if err != nil || !ok {
		return nil, false, err
	}
	if e.GetIndex() != index {
		return nil, false, fmt.Errorf("raftlog: range %d: key of entry %d holds entry %d", rangeID, index, e.GetIndex())
	}
	return e, true, nil
}

func decodeEntry(it *storage.Iterator) (*raftpb.Entry, error) {
	v, err := it.Value()
	if err != nil {
		return nil, err
	}
	e := &raftpb.Entry{}
	if err := proto.Unmarshal(v, e); err != nil {
		return nil, fmt.Errorf("raftlog: decode entry: %w", err)
	}
	return e, nil
}

// lastEntry returns the entry with the highest index of rangeID, if any.
func lastEntry(r storage.Reader, rangeID int64) (*raftpb.Entry, bool, error) {
	it, err := r.NewIter(storage.IterOptions{LowerBound: LogPrefix(rangeID), UpperBound: logEnd(rangeID)})
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = it.Close() }()
	if !it.Last() {
		return nil, false, it.Err()
	}
	e, err := decodeEntry(it)
	if err != nil {
		return nil, false, err
	}
	return e, true, nil
}
