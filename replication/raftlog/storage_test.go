package raftlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/storage"
)

func ent(index, term uint64, data string) *raftpb.Entry {
	return &raftpb.Entry{Index: new(index), Term: new(term), Data: []byte(data)}
}

func TestKeysShareRangeIDPrefix(t *testing.T) {
	const rangeID = 0x0102030405060708
	gc := keys.RangeGCThresholdKey(rangeID)
	prefix := gc[:len(gc)-len("gct")]
	for _, k := range [][]byte{LogEntryKey(rangeID, 7), HardStateKey(rangeID), TruncatedStateKey(rangeID), ConfStateKey(rangeID)} {
		if !bytes.HasPrefix(k, prefix) {
			t.Errorf("key %x lacks range-ID-local prefix %x", k, prefix)
		}
	}
	if bytes.Compare(LogEntryKey(rangeID, 1), LogEntryKey(rangeID, 256)) >= 0 {
		t.Error("log keys do not sort by index")
	}
	if !(bytes.Compare(LogEntryKey(rangeID, ^uint64(0)), logEnd(rangeID)) < 0) {
		t.Error("logEnd is not past every log key")
	}
}

// errEq compares errors by identity, treating any two non-sentinel errors as
// different from the sentinels.
func errEq(a, b error) bool {
	return errors.Is(a, b) || (a == nil && b == nil)
}

// TestMatchesMemoryStorage drives Storage and raft.MemoryStorage through the
// same random appends (with overwrites), truncations and reads, reopening
// Storage from the engine now and then, and checks they agree.
func TestMatchesMemoryStorage(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			eng := storage.OpenInMem()
			defer eng.Close()
			s, err := Open(eng, 42)
			if err != nil {
				t.Fatal(err)
			}
			ms := raft.NewMemoryStorage()
			var term uint64 = 1
			for step := 0; step < 400; step++ {
				first, _ := ms.FirstIndex()
				last, _ := ms.LastIndex()
				switch op := rng.IntN(10); {
				case op < 5: // append, possibly overwriting a suffix or starting below first
					start := first - min(first-1, uint64(rng.IntN(3)))
					if last+1 > start {
						start += uint64(rng.IntN(int(last + 2 - start)))
					}
					if rng.IntN(3) == 0 {
						term++
					}
					n := 1 + rng.IntN(6)
					var es []*raftpb.Entry
					for i := 0; i < n; i++ {
						es = append(es, ent(start+uint64(i), term, string(bytes.Repeat([]byte{'x'}, rng.IntN(40)))))
					}
					b := eng.NewBatch()
					if err := s.Append(b, es); err != nil {
						t.Fatalf("step %d: Append: %v", step, err)
					}
					if rng.IntN(2) == 0 { // a hard state in the same batch
						if err := s.SetHardState(b, &raftpb.HardState{Term: new(term), Commit: new(start)}); err != nil {
							t.Fatal(err)
						}
					}
					if err := s.Commit(b); err != nil {
						t.Fatal(err)
					}
					b.Close()
					if err := ms.Append(es); err != nil {
						t.Fatal(err)
					}
				case op < 6 && last > 0: // truncate
					idx := first - 1 + uint64(rng.IntN(int(last-first+2)))
					tm, _ := ms.Term(idx)
					b := eng.NewBatch()
					err1 := s.Truncate(b, idx, tm)
					if err1 == nil {
						err1 = s.Commit(b)
					} else {
						s.Discard(b)
					}
					b.Close()
					err2 := ms.Compact(idx)
					if !errEq(err1, err2) {
						t.Fatalf("step %d: Truncate(%d) = %v, Compact = %v", step, idx, err1, err2)
					}
				case op < 7: // reopen from the engine
					if s, err = Open(eng, 42); err != nil {
						t.Fatal(err)
					}
				default:
				}
				checkReads(t, rng, step, s, ms)
			}
		})
	}
}

func checkReads(t *testing.T, rng *rand.Rand, step int, s *Storage, ms *raft.MemoryStorage) {
	t.Helper()
	f1, _ := s.FirstIndex()
	f2, _ := ms.FirstIndex()
	l1, _ := s.LastIndex()
	l2, _ := ms.LastIndex()
	if f1 != f2 || l1 != l2 {
		t.Fatalf("step %d: first/last %d/%d, want %d/%d", step, f1, l1, f2, l2)
	}
	for i := f1 - min(f1, 2); i <= l1+2; i++ {
		t1, e1 := s.Term(i)
		t2, e2 := ms.Term(i)
		if t1 != t2 || !errEq(e1, e2) {
			t.Fatalf("step %d: Term(%d) = %d, %v; want %d, %v", step, i, t1, e1, t2, e2)
		}
	}
	for n := 0; n < 5; n++ {
		lo := f1 - min(f1, 2) + uint64(rng.IntN(int(l1-f1+5)))
		hi := lo + uint64(rng.IntN(int(l1+3-min(lo, l1+2))))
		maxSize := uint64(rng.IntN(200))
		if rng.IntN(4) == 0 {
			maxSize = ^uint64(0)
		}
		got, err1 := s.Entries(lo, hi, maxSize)
		want, err2 := memEntries(ms, lo, hi, maxSize)
		if !errEq(err1, err2) {
			t.Fatalf("step %d: Entries(%d, %d, %d) error %v, want %v", step, lo, hi, maxSize, err1, err2)
		}
		if len(got) != len(want) {
			t.Fatalf("step %d: Entries(%d, %d, %d) = %d entries, want %d", step, lo, hi, maxSize, len(got), len(want))
		}
		for i := range got {
			if !proto.Equal(got[i], want[i]) {
				t.Fatalf("step %d: Entries(%d, %d, %d)[%d] = %v, want %v", step, lo, hi, maxSize, i, got[i], want[i])
			}
		}
	}
}

// memEntries is MemoryStorage.Entries with its out-of-bound panic turned
// into the ErrUnavailable Storage returns.
func memEntries(ms *raft.MemoryStorage, lo, hi, maxSize uint64) (ents []*raftpb.Entry, err error) {
	defer func() {
		if r := recover(); r != nil {
			ents, err = nil, raft.ErrUnavailable
		}
	}()
	return ms.Entries(lo, hi, maxSize)
}

// TestCommitGatesVisibility checks that writes become visible only after
// Commit, and that Discard and a second batch behave.
func TestCommitGatesVisibility(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	s, err := Open(eng, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := eng.NewBatch()
	defer b.Close()
	if err := s.Append(b, []*raftpb.Entry{ent(1, 1, "a"), ent(2, 1, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHardState(b, &raftpb.HardState{Term: new(uint64(1)), Commit: new(uint64(2))}); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastIndex(); last != 0 {
		t.Fatalf("LastIndex before commit = %d", last)
	}
	if hs, _, _ := s.InitialState(); hs != nil {
		t.Fatalf("hard state visible before commit: %v", hs)
	}
	other := eng.NewBatch()
	defer other.Close()
	if err := s.Append(other, []*raftpb.Entry{ent(1, 1, "a")}); !errors.Is(err, ErrBatchMismatch) {
		t.Fatalf("Append to a second batch: %v", err)
	}
	// Appending within the pending batch sees the pending state.
	if err := s.Append(b, []*raftpb.Entry{ent(3, 2, "c")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastIndex(); last != 3 {
		t.Fatalf("LastIndex after commit = %d", last)
	}
	if tm, _ := s.Term(3); tm != 2 {
		t.Fatalf("Term(3) = %d", tm)
	}

	d := eng.NewBatch()
	defer d.Close()
	if err := s.Append(d, []*raftpb.Entry{ent(4, 2, "d")}); err != nil {
		t.Fatal(err)
	}
	s.Discard(d)
	if last, _ := s.LastIndex(); last != 3 {
		t.Fatalf("LastIndex after discard = %d", last)
	}
	if err := s.Append(other, []*raftpb.Entry{ent(5, 2, "gap")}); err == nil {
		t.Fatal("Append leaving a gap succeeded")
	}
	if _, err := s.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
		t.Fatalf("Snapshot of a log never truncated: %v", err)
	}
}

// TestDurableAcrossCrash writes through Storage on a crashable MemFS,
// commits, and reopens on what a power failure would leave (synced data
// only).
func TestDurableAcrossCrash(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		fs := storage.NewMemFS()
		eng, err := storage.Open(storage.Config{MemFS: fs, Dir: "data"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(eng, 7)
		if err != nil {
			t.Fatal(err)
		}
		commit := func(f func(b *storage.Batch) error) {
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
		var es []*raftpb.Entry
		for i := uint64(1); i <= 20; i++ {
			es = append(es, ent(i, 1+i/10, fmt.Sprint("e", i)))
		}
		hs := &raftpb.HardState{Term: new(uint64(3)), Vote: new(uint64(2)), Commit: new(uint64(15))}
		cs := &raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}
		commit(func(b *storage.Batch) error { return s.Append(b, es) })
		commit(func(b *storage.Batch) error {
			if err := s.SetHardState(b, hs); err != nil {
				return err
			}
			return s.SetConfState(b, cs)
		})
		// Overwrite a suffix: 18..20 replaced by 18..19 at term 3.
		commit(func(b *storage.Batch) error {
			return s.Append(b, []*raftpb.Entry{ent(18, 3, "x18"), ent(19, 3, "x19")})
		})
		commit(func(b *storage.Batch) error { return s.Truncate(b, 5, 1) })
		// Unsynced writes (not through Commit) must not matter for what we check.
		if err := eng.Put(storage.MVCCKey{Key: []byte("unsynced")}, []byte("v")); err != nil {
			t.Fatal(err)
		}

		clone := fs.CrashClone(0, seed)
		if err := eng.Close(); err != nil {
			t.Fatal(err)
		}
		eng2, err := storage.Open(storage.Config{MemFS: clone, Dir: "data"})
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Open(eng2, 7)
		if err != nil {
			t.Fatal(err)
		}
		gotHS, gotCS, _ := s2.InitialState()
		if !proto.Equal(gotHS, hs) || !proto.Equal(gotCS, cs) {
			t.Fatalf("state after crash: %v %v", gotHS, gotCS)
		}
		first, _ := s2.FirstIndex()
		last, _ := s2.LastIndex()
		if first != 6 || last != 19 {
			t.Fatalf("first/last after crash = %d/%d, want 6/19", first, last)
		}
		if tm, err := s2.Term(5); err != nil || tm != 1 {
			t.Fatalf("Term(5) = %d, %v", tm, err)
		}
		got, err := s2.Entries(6, 20, ^uint64(0))
		if err != nil {
			t.Fatal(err)
		}
		want := append(es[5:17:17], ent(18, 3, "x18"), ent(19, 3, "x19"))
		if len(got) != len(want) {
			t.Fatalf("got %d entries, want %d", len(got), len(want))
		}
		for i := range got {
			if !proto.Equal(got[i], want[i]) {
				t.Fatalf("entry %d = %v, want %v", i, got[i], want[i])
			}
		}
		// Nothing of the range is left outside [first, last].
		if _, ok, _ := readEntry(eng2, 7, 20); ok {
			t.Fatal("overwritten entry 20 survived")
		}
		if _, ok, _ := readEntry(eng2, 7, 5); ok {
			t.Fatal("truncated entry 5 survived")
		}
		_ = eng2.Close()
	}
}
