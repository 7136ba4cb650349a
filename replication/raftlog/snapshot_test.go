package raftlog

import (
	"errors"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/storage"
)

// newLog returns a Storage of range 3 holding entries 1..n, term i/5+1,
// with hard state (term 4, vote 2, commit n) and voters 1..3.
func newLog(t *testing.T, n uint64) (*storage.Pebble, *Storage) {
	t.Helper()
	eng := storage.OpenInMem()
	t.Cleanup(func() { _ = eng.Close() })
	s, err := Open(eng, 3)
	if err != nil {
		t.Fatal(err)
	}
	var es []*raftpb.Entry
	for i := uint64(1); i <= n; i++ {
		es = append(es, ent(i, i/5+1, "x"))
	}
	b := eng.NewBatch()
	defer b.Close()
	if err := s.Append(b, es); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHardState(b, &raftpb.HardState{Term: new(uint64(4)), Vote: new(uint64(2)), Commit: new(n)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConfState(b, &raftpb.ConfState{Voters: []uint64{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	return eng, s
}

func commitWith(t *testing.T, eng *storage.Pebble, s *Storage, f func(b *storage.Batch) error) {
	t.Helper()
	b := eng.NewBatch()
	defer b.Close()
	if err := f(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
}

// TestTruncatedReads: after Truncate, reads below FirstIndex are
// ErrCompacted, the truncated index still has its term, and Snapshot
// describes the truncated state.
func TestTruncatedReads(t *testing.T) {
	eng, s := newLog(t, 20)
	commitWith(t, eng, s, func(b *storage.Batch) error { return s.Truncate(b, 12, 3) })
	if fi, _ := s.FirstIndex(); fi != 13 {
		t.Fatalf("FirstIndex = %d, want 13", fi)
	}
	if _, err := s.Entries(12, 14, 1<<20); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Entries(12, 14) = %v, want ErrCompacted", err)
	}
	if es, err := s.Entries(13, 21, 1<<20); err != nil || len(es) != 8 || es[0].GetIndex() != 13 {
		t.Fatalf("Entries(13, 21) = %d entries, %v", len(es), err)
	}
	if _, err := s.Term(11); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("Term(11) = %v, want ErrCompacted", err)
	}
	if tm, err := s.Term(12); err != nil || tm != 3 {
		t.Fatalf("Term(12) = %d, %v; want 3", tm, err)
	}
	if tm, err := TermAt(eng, 3, 12); err != nil || tm != 3 {
		t.Fatalf("TermAt(12) = %d, %v", tm, err)
	}
	if tm, err := TermAt(eng, 3, 15); err != nil || tm != 4 {
		t.Fatalf("TermAt(15) = %d, %v", tm, err)
	}
	if _, err := TermAt(eng, 3, 21); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("TermAt(21) = %v", err)
	}
	if _, err := TermAt(eng, 3, 5); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("TermAt(5) = %v", err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if md := snap.GetMetadata(); md.GetIndex() != 12 || md.GetTerm() != 3 || len(md.GetConfState().GetVoters()) != 3 {
		t.Fatalf("Snapshot metadata = %v", md)
	}
	// Truncation survives reopening; nothing at or below 12 is left.
	s2, err := Open(eng, 3)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := s2.FirstIndex(); fi != 13 {
		t.Fatalf("reopened FirstIndex = %d", fi)
	}
	for i := uint64(1); i <= 12; i++ {
		if _, ok, _ := readEntry(eng, 3, i); ok {
			t.Fatalf("entry %d survived truncation", i)
		}
	}
	// Raft itself copes: a RawNode over the truncated log starts with the
	// truncated entries gone.
	if _, err := raft.NewRawNode(&raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: s2, Applied: 12,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 16}); err != nil {
		t.Fatal(err)
	}
}

// TestInstallSnapshot: a snapshot that matches the log keeps the entries
// after it; one that does not drops the log. Term and vote survive.
func TestInstallSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name                           string
		index, term                    uint64
		wantFirst, wantLast            uint64
		wantTerm, wantVote, wantCommit uint64
	}{
		{"matching", 12, 3, 13, 20, 4, 2, 20},
		{"diverged", 12, 2, 13, 12, 4, 2, 12},
		{"beyond the log", 30, 5, 31, 30, 5, 0, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, s := newLog(t, 20)
			b := eng.NewBatch()
			defer b.Close()
			cs := &raftpb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}
			if err := s.InstallSnapshot(b, tc.index, tc.term, cs); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(true); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(eng, 3)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := s2.FirstIndex()
			li, _ := s2.LastIndex()
			hs, cs2, _ := s2.InitialState()
			if fi != tc.wantFirst || li != tc.wantLast {
				t.Fatalf("first, last = %d, %d; want %d, %d", fi, li, tc.wantFirst, tc.wantLast)
			}
			if hs.GetTerm() != tc.wantTerm || hs.GetVote() != tc.wantVote || hs.GetCommit() != tc.wantCommit {
				t.Fatalf("hard state = %v", hs)
			}
			if len(cs2.GetVoters()) != 2 || len(cs2.GetLearners()) != 1 {
				t.Fatalf("conf state = %v", cs2)
			}
			if tm, err := s2.Term(tc.index); err != nil || tm != tc.term {
				t.Fatalf("Term(%d) = %d, %v", tc.index, tm, err)
			}
			if _, err := raft.NewRawNode(&raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: s2,
				Applied: tc.index, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 16}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestResetState empties the raft state but for term and vote.
func TestResetState(t *testing.T) {
	eng, s := newLog(t, 20)
	commitWith(t, eng, s, func(b *storage.Batch) error { return s.Truncate(b, 7, 2) })
	b := eng.NewBatch()
	defer b.Close()
	if err := s.ResetState(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(eng, 3)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := s2.FirstIndex()
	li, _ := s2.LastIndex()
	hs, cs, _ := s2.InitialState()
	if fi != 1 || li != 0 || len(cs.GetVoters()) != 0 {
		t.Fatalf("after reset: first %d last %d conf %v", fi, li, cs)
	}
	if hs.GetTerm() != 4 || hs.GetVote() != 2 || hs.GetCommit() != 0 {
		t.Fatalf("hard state after reset = %v", hs)
	}
}
