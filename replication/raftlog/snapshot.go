package raftlog

import (
	"fmt"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/storage"
)

// This file holds the raft-state side of snapshots: what a leader tells raft
// a snapshot is (Storage.Snapshot), and the batch writes with which a
// replica installs one (InstallSnapshot) or forgets its raft state
// (ResetState). The snapshot's data is the replication package's business.

// Snapshot implements raft.Storage. The log below FirstIndex is gone, so a
// follower that needs those entries gets a snapshot; this returns only the
// metadata raft needs to decide that and to track the follower's progress:
// index and term of the truncated state and the current conf state, no
// data. The Store intercepts the resulting MsgSnap and streams the real
// snapshot, taken from an engine snapshot at its own applied index (at or
// above this index, since a log is never truncated past what applied), and
// reports the outcome with RawNode.ReportSnapshot. A log that was never
// truncated has nothing to snapshot (raft.ErrSnapshotTemporarilyUnavailable).
func (s *Storage) Snapshot() (*raftpb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.mu.durable
	if st.truncIndex == 0 {
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	cs := *pbConfState(st.confState)
	return &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: new(st.truncIndex), Term: new(st.truncTerm), ConfState: &cs,
	}}, nil
}

// TruncatedState returns the index and term of the last truncated entry
// (0, 0 for a log never truncated) as of the durable state.
func (s *Storage) TruncatedState() (index, term uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.durable.truncIndex, s.mu.durable.truncTerm
}

// TermAt returns the term of entry index of rangeID as stored in r (an
// engine snapshot, say): the truncated term at the truncated index,
// raft.ErrCompacted below it, raft.ErrUnavailable when there is no entry.
func TermAt(r storage.Reader, rangeID int64, index uint64) (uint64, error) {
	trunc := &raftpb.Entry{}
	if _, err := getProto(r, TruncatedStateKey(rangeID), trunc); err != nil {
		return 0, err
	}
	switch {
	case index < trunc.GetIndex():
		return 0, raft.ErrCompacted
	case index == trunc.GetIndex():
		return trunc.GetTerm(), nil
	}
	e, ok, err := readEntry(r, rangeID, index)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, raft.ErrUnavailable
	}
	return e.GetTerm(), nil
}

// LoadConfState returns the conf state of rangeID stored in r (empty if
// none).
func LoadConfState(r storage.Reader, rangeID int64) (*raftpb.ConfState, error) {
	cs := &raftpb.ConfState{}
	if _, err := getProto(r, ConfStateKey(rangeID), cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// InstallSnapshot writes into b the raft state of a replica that installs
// a snapshot at (index, term) with conf state cs, as MemoryStorage.ApplySnapshot
// does for raft's own snapshots:
//   - if the log holds entry index with the same term, the entries after it
//     are kept (they agree with the leader's log); otherwise the whole log is
//     dropped (it diverged or ends before index);
//   - the truncated state becomes (index, term), so FirstIndex = index+1;
//   - the hard state keeps its term and vote (a vote must never be
//     forgotten) unless term is newer, and commits at least index.
//
// It reads the current state through b. The Storage of rangeID must not be
// used after b commits: reopen it (Open). It errors if a batch is pending on
// s, whose writes would be lost.
func (s *Storage) InstallSnapshot(b *storage.Batch, index, term uint64, cs *raftpb.ConfState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.pendingBatch != nil {
		return ErrBatchMismatch
	}
	if index == 0 {
		return fmt.Errorf("raftlog: range %d: snapshot at index 0", s.rangeID)
	}
	st := &s.mu.durable
	keep := false
	if index > st.truncIndex && index <= st.lastIndex {
		e, ok, err := readEntry(b, s.rangeID, index)
		if err != nil {
			return err
		}
		keep = ok && e.GetTerm() == term
	}
	if keep {
		if err := b.ClearRange(LogPrefix(s.rangeID), LogEntryKey(s.rangeID, index+1)); err != nil {
			return err
		}
	} else if err := b.ClearRange(LogPrefix(s.rangeID), logEnd(s.rangeID)); err != nil {
		return err
	}
	if err := putProto(b, TruncatedStateKey(s.rangeID), &raftpb.Entry{Index: new(index), Term: new(term)}); err != nil {
		return err
	}
	if err := putProto(b, ConfStateKey(s.rangeID), pbConfState(cs)); err != nil {
		return err
	}
	hs := &raftpb.HardState{Term: new(term), Commit: new(index)}
	if old := st.hardState; old != nil {
		if old.GetTerm() >= term {
			hs.Term, hs.Vote = new(old.GetTerm()), new(old.GetVote())
		}
		if keep && old.GetCommit() > index {
			hs.Commit = new(old.GetCommit())
		}
	}
	return putProto(b, HardStateKey(s.rangeID), hs)
}

// ResetState writes into b the removal of the replica's log, truncated
// state and conf state, keeping only the term and vote of its hard state
// (commit 0): the replica is then empty, as if just created, except that it
// cannot vote twice in a term it already voted in. The Storage of rangeID
// must not be used after b commits: reopen it (Open).
func (s *Storage) ResetState(b *storage.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.pendingBatch != nil {
		return ErrBatchMismatch
	}
	return ResetState(b, s.rangeID)
}

// ResetState is Storage.ResetState for a range whose Storage is not open;
// it reads the hard state through b.
func ResetState(b *storage.Batch, rangeID int64) error {
	hs := &raftpb.HardState{}
	ok, err := getProto(b, HardStateKey(rangeID), hs)
	if err != nil {
		return err
	}
	if err := b.ClearRange(LogPrefix(rangeID), logEnd(rangeID)); err != nil {
		return err
	}
	if err := b.Clear(storage.MVCCKey{Key: TruncatedStateKey(rangeID)}); err != nil {
		return err
	}
	if err := b.Clear(storage.MVCCKey{Key: ConfStateKey(rangeID)}); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return putProto(b, HardStateKey(rangeID), &raftpb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(uint64(0))})
}

// ApproximateBytes returns the size of the stored log entries (keys and
// values) of the durable log.
func (s *Storage) ApproximateBytes() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.eng.NewIter(storage.IterOptions{LowerBound: LogPrefix(s.rangeID), UpperBound: logEnd(s.rangeID)})
	if err != nil {
		return 0, err
	}
	defer func() { _ = it.Close() }()
	var n int64
	for ok := it.SeekGE(storage.MVCCKey{Key: LogPrefix(s.rangeID)}); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			return 0, err
		}
		n += int64(len(it.Key().Key) + len(v))
	}
	return n, it.Err()
}
