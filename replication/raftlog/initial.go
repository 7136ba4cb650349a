package raftlog

import (
	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/storage"
)

// WriteInitialState writes into w the raft state of a range created by a
// split: an empty log whose truncated state is (index, term), the given
// configuration and, if hs is not nil, a hard state. Every replica of the
// new range starts from the same (index, term), so a leader can bring any
// of them up to date by appending from index+1.
func WriteInitialState(w storage.Writer, rangeID int64, index, term uint64, cs *raftpb.ConfState, hs *raftpb.HardState) error {
	if err := putProto(w, TruncatedStateKey(rangeID), &raftpb.Entry{Index: new(index), Term: new(term)}); err != nil {
		return err
	}
	if err := putProto(w, ConfStateKey(rangeID), pbConfState(cs)); err != nil {
		return err
	}
	if hs != nil {
		return putProto(w, HardStateKey(rangeID), hs)
	}
	return nil
}

// WriteInitialHardState writes hs as the hard state of rangeID, for a
// replica that does not exist yet (nothing else writes it meanwhile).
func WriteInitialHardState(w storage.Writer, rangeID int64, hs *raftpb.HardState) error {
	return putProto(w, HardStateKey(rangeID), hs)
}
