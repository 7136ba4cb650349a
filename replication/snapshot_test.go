package replication

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication/raftlog"
)

// TestSnapshotChunks streams a range with values far larger than a chunk
// and checks the chunk bound, that only the range's spans are sent, and
// that the parser rebuilds exactly the data whatever the chunk size.
func TestSnapshotChunks(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	desc := kvpb.RangeDescriptor{RangeID: 5, StartKey: kvpb.Key("b"), EndKey: kvpb.Key("m")}
	want := map[string]string{}
	put := func(k storage.MVCCKey, v string, in bool) {
		if err := eng.Put(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if in {
			want[string(storage.EncodeMVCCKey(nil, k))] = v
		}
	}
	for i := range 40 {
		k := []byte(fmt.Sprintf("c%03d", i))
		put(storage.MVCCKey{Key: k, Timestamp: hlc.Timestamp{WallTime: int64(i + 1)}}, strings.Repeat("x", i*37), true)
		put(storage.MVCCKey{Key: k, Timestamp: hlc.Timestamp{WallTime: int64(i + 100)}}, "newer", true)
	}
	put(storage.MVCCKey{Key: []byte("big")}, strings.Repeat("B", 5000), true)
	put(storage.MVCCKey{Key: keys.RangeAppliedStateKey(5)}, "applied", true)
	put(storage.MVCCKey{Key: keys.TxnRecordSpan(kvpb.Key("d"), nil).Key}, "txn record", true)
	put(storage.MVCCKey{Key: []byte("a")}, "left of the range", false)
	put(storage.MVCCKey{Key: []byte("m")}, "right of the range", false)
	put(storage.MVCCKey{Key: keys.RangeAppliedStateKey(6)}, "another range", false)

	for _, chunkBytes := range []int{1, 7, 100, 1 << 20} {
		t.Run(fmt.Sprint(chunkBytes), func(t *testing.T) {
			got := map[string]string{}
			var p snapshotParser
			n := 0
			for c, err := range snapshotChunks(eng, replicatedSpans(5, &desc), chunkBytes) {
				if err != nil {
					t.Fatal(err)
				}
				if len(c) == 0 || len(c) > chunkBytes {
					t.Fatalf("chunk of %d bytes, limit %d", len(c), chunkBytes)
				}
				n++
				if err := p.feed(c, func(k storage.MVCCKey, v []byte) error {
					got[string(storage.EncodeMVCCKey(nil, k))] = string(v)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(p.pend) > 5100+chunkBytes {
					t.Fatalf("parser holds %d bytes: more than a record and a chunk", len(p.pend))
				}
			}
			if !p.done || len(p.pend) != 0 {
				t.Fatalf("stream ended without its trailer (done %v, %d bytes left)", p.done, len(p.pend))
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("key %x: got %d bytes, want %d", k, len(got[k]), len(v))
				}
			}
			if chunkBytes == 100 && n < 100 {
				t.Fatalf("only %d chunks of 100 bytes", n)
			}
		})
	}
}

// TestSnapshotParserRejects truncated and corrupt streams.
func TestSnapshotParserRejects(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	if err := eng.Put(storage.MVCCKey{Key: []byte("c")}, []byte("v")); err != nil {
		t.Fatal(err)
	}
	desc := kvpb.RangeDescriptor{RangeID: 5, StartKey: kvpb.Key("b"), EndKey: kvpb.Key("m")}
	var stream []byte
	for c, err := range snapshotChunks(eng, replicatedSpans(5, &desc), 1<<10) {
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, c...)
	}
	nop := func(storage.MVCCKey, []byte) error { return nil }
	var p snapshotParser
	if err := p.feed(stream[:len(stream)-1], nop); err != nil || p.done {
		t.Fatalf("a stream cut short: err %v, done %v", err, p.done)
	}
	p = snapshotParser{}
	if err := p.feed(append(bytes.Clone(stream), 1), nop); err == nil {
		t.Fatal("data after the trailer accepted")
	}
	// A trailer that counts more records than were sent.
	p = snapshotParser{}
	bad := bytes.Clone(stream)
	bad[len(bad)-1]++
	if err := p.feed(bad, nop); !errors.Is(err, errBadSnapshot) {
		t.Fatalf("wrong record count: %v", err)
	}
}

func TestSnapMetaRoundTrip(t *testing.T) {
	m := &snapMeta{index: 42, term: 7, conf: &raftpb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}},
		desc: kvpb.RangeDescriptor{RangeID: 9, StartKey: kvpb.Key("a"), EndKey: kvpb.Key("z"), Generation: 2,
			Replicas: []kvpb.ReplicaDescriptor{{NodeID: 1}, {NodeID: 2}, {NodeID: 3, Type: kvpb.NonVoter}}}}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSnapMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.index != 42 || got.term != 7 || len(got.conf.GetVoters()) != 2 || got.desc.String() != m.desc.String() {
		t.Fatalf("round trip: %+v", got)
	}
	for i := range b {
		if _, err := decodeSnapMeta(b[:i]); err == nil {
			t.Fatalf("a header cut at %d bytes decoded", i)
		}
	}
	if !confHas(m.conf, 3) || confHas(m.conf, 4) {
		t.Fatal("confHas")
	}
}

// TestRecoverSnapshotFinishesMove: a crash after a snapshot was committed
// (installing marker durable) and while its data was being moved into
// place is repaired when the replica opens: the old data is gone, the
// staged data is in place, the staging span and the marker are removed.
// Staged data without a marker (a crash while receiving) is dropped.
func TestRecoverSnapshotFinishesMove(t *testing.T) {
	eng := storage.OpenInMem()
	defer eng.Close()
	const rangeID = 5
	oldDesc := kvpb.RangeDescriptor{RangeID: rangeID, StartKey: kvpb.Key("b"), EndKey: kvpb.Key("k")}
	newDesc := kvpb.RangeDescriptor{RangeID: rangeID, StartKey: kvpb.Key("b"), EndKey: kvpb.Key("m")}
	mustPut := func(k, v []byte) {
		t.Helper()
		if err := eng.Put(storage.MVCCKey{Key: k}, v); err != nil {
			t.Fatal(err)
		}
	}
	mustPut([]byte("c-old"), []byte("old"))
	mustPut([]byte("j-old"), []byte("old"))
	mustPut(keys.RangeAppliedStateKey(rangeID), []byte("old applied"))
	mustPut([]byte("z"), []byte("another range"))
	stage, stageEnd := raftlog.SnapshotStagingSpan(rangeID)
	staged := map[string]string{"c-new": "1", "l-new": "2"}
	for k, v := range staged {
		mustPut(storage.EncodeMVCCKey(append([]byte(nil), stage...), storage.MVCCKey{Key: []byte(k)}), []byte(v))
	}
	mustPut(storage.EncodeMVCCKey(append([]byte(nil), stage...), storage.MVCCKey{Key: keys.RangeAppliedStateKey(rangeID)}), []byte("new applied"))
	mustPut(raftlog.SnapshotPendingKey(rangeID), encodeInstalling(&newDesc, &oldDesc))
	mustPut([]byte("c-new"), []byte("1")) // the move had begun

	for range 2 { // idempotent
		if err := recoverSnapshot(eng, rangeID); err != nil {
			t.Fatal(err)
		}
	}
	get := func(k []byte) (string, bool) {
		it, err := eng.NewIter(storage.IterOptions{LowerBound: k, UpperBound: append(append([]byte(nil), k...), 0)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = it.Close() }()
		if !it.SeekGE(storage.MVCCKey{Key: k}) {
			return "", false
		}
		v, _ := it.Value()
		return string(v), true
	}
	for k, v := range staged {
		if got, ok := get([]byte(k)); !ok || got != v {
			t.Fatalf("%s = %q, %v after recovery; want %q", k, got, ok, v)
		}
	}
	if got, _ := get(keys.RangeAppliedStateKey(rangeID)); got != "new applied" {
		t.Fatalf("applied state = %q", got)
	}
	for _, k := range []string{"c-old", "j-old"} {
		if _, ok := get([]byte(k)); ok {
			t.Fatalf("old key %s survived the snapshot", k)
		}
	}
	if got, _ := get([]byte("z")); got != "another range" {
		t.Fatal("data outside the range was touched")
	}
	if _, ok := get(raftlog.SnapshotPendingKey(rangeID)); ok {
		t.Fatal("marker left")
	}
	if raw, ok := get(keys.RangeDescriptorStateKey(rangeID)); !ok {
		t.Fatal("no descriptor")
	} else if d, err := kvpb.DecodeRangeDescriptor([]byte(raw)); err != nil || d.String() != newDesc.String() {
		t.Fatalf("descriptor %v, %v", d, err)
	}
	it, _ := eng.NewIter(storage.IterOptions{LowerBound: stage, UpperBound: stageEnd})
	if it.SeekGE(storage.MVCCKey{Key: stage}) {
		t.Fatal("staged data left")
	}
	_ = it.Close()

	// Staged data without a marker: dropped, nothing else touched.
	mustPut(storage.EncodeMVCCKey(append([]byte(nil), stage...), storage.MVCCKey{Key: []byte("d")}), []byte("x"))
	if err := recoverSnapshot(eng, rangeID); err != nil {
		t.Fatal(err)
	}
	if _, ok := get([]byte("d")); ok {
		t.Fatal("staged data without a marker was installed")
	}
	it, _ = eng.NewIter(storage.IterOptions{LowerBound: stage, UpperBound: stageEnd})
	if it.SeekGE(storage.MVCCKey{Key: stage}) {
		t.Fatal("staged data without a marker left")
	}
	_ = it.Close()
	if got, _ := get([]byte("c-new")); got != "1" {
		t.Fatal("dropping stale staged data touched the range")
	}
}
