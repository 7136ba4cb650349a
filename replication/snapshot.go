package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/replication/lease"
	"github.com/outpostdb/outpost/replication/raftlog"
	"github.com/outpostdb/outpost/replication/transport"
)

// Snapshots (see DESIGN.md, "Log truncation and snapshots").
//
// Sending: raft asks for a snapshot when a follower needs entries below
// the leader's first index (raftlog.Storage.Snapshot gives it metadata
// only). The MsgSnap raft emits never goes out as a raft message: sendRaft
// diverts it here, and a goroutine per (range, follower) takes an engine
// snapshot, reads from it the applied index, its term, the conf state and
// the descriptor (all consistent with each other and with the data), and
// streams the range's replicated data in chunks of at most
// Config.SnapshotChunkBytes through the transport's SnapshotTransport.
// The outcome goes back to raft with ReportSnapshot; after a failure the
// report waits Config.SnapshotRetryBackoff, during which raft (whose
// progress for the follower stays in StateSnapshot) asks for no other.
//
// Receiving: Store.HandleSnapshot validates the header (newer than what
// the replica applied and durably committed; the replica is in the
// snapshot's configuration, neither leads nor holds the lease; no other
// replica with data on the store overlaps the span), then:
//  1. stages the data: the records go, in unsynced batches, under the
//     replica's staging span (raftlog.SnapshotStagingSpan), while the
//     replica goes on as before. A failure drops the staged data; a crash
//     leaves it, and the replica drops it when it opens. Either way the
//     replica is untouched and the leader sends another snapshot later.
//  2. with the Ready loop paused (raftMu) and the checks done again,
//     commits the snapshot in one synced batch (which, the WAL being
//     sequential, also makes the staged data durable): the raft state
//     (truncated state, hard state, conf state: raftlog.InstallSnapshot)
//     and an installing marker naming the new and old descriptors;
//  3. moves the data into place (moveStaged): clears the old and new
//     spans, copies the staged records in unsynced batches, and in a last
//     synced batch writes the descriptor and removes the staged data and
//     the marker. A crash in this step is repaired when the replica opens:
//     the marker makes it run the (idempotent) move again before raft
//     reads its state.
//  4. replaces the replica's raft.Storage and RawNode by ones opened on the
//     new state (raft restarts from it as after a crash, with Applied = the
//     snapshot index) and reloads its in-memory state.
//
// Raft never sees the MsgSnap on the receiving side: restarting the
// RawNode from storage that already holds the snapshot is what etcd raft
// does after a crash, so it needs no snapshot in a Ready (MsgSnap arriving
// as a raft message is dropped). The raft log a replica acknowledged is
// never lost: InstallSnapshot keeps the entries after the snapshot when the
// log agrees with it there, and a failed snapshot changes nothing (raft
// assumes a follower never forgets entries it acknowledged).

// snapState is the per-replica state of snapshots, truncation and removal.
type snapState struct {
	// raftMu is held by the Ready loop around each Ready, and by whoever
	// rewrites the replica's raft state behind raft's back (a snapshot
	// being applied, log truncation, destruction), so that no Ready is
	// in progress meanwhile. Order: recvMu, raftMu, Replica.mu.
	raftMu sync.Mutex
	// recvMu serializes the snapshots a replica receives.
	recvMu sync.Mutex
	// destroyed (under raftMu): the replica was removed; the Ready loop
	// does nothing more and stopC is closed.
	destroyed bool
	// heard (under Replica.mu) is when each peer was last heard from; the
	// raft log queue keeps entries for peers heard from recently (raft's
	// RecentActive alone is reset every election timeout under
	// CheckQuorum, and would look false for a moment every time).
	heard map[uint64]time.Time
	// notMemberSince (under raftMu): when the replica, fully applied, was
	// first seen outside its range's configuration (zero while a member).
	notMemberSince time.Time
}

// storeSnapshots is the Store's state for snapshots in flight.
type storeSnapshots struct {
	mu      sync.Mutex
	closed  bool
	sending map[snapKey]bool
	wg      sync.WaitGroup
	// applied and sent count snapshots (tests, metrics).
	applied, sent int64
}

type snapKey struct {
	rangeID int64
	to      int32
}

func (c *Config) ensureSnapshotDefaults() {
	if c.RaftLogMaxEntries == 0 {
		c.RaftLogMaxEntries = 10000
	}
	if c.RaftLogMaxBytes == 0 {
		c.RaftLogMaxBytes = 16 << 20
	}
	if c.RaftLogQueueInterval == 0 {
		c.RaftLogQueueInterval = time.Second
	}
	if c.SnapshotChunkBytes == 0 {
		c.SnapshotChunkBytes = 256 << 10
	}
	if c.SnapshotRetryBackoff == 0 {
		c.SnapshotRetryBackoff = time.Second
	}
}

// snapshotBatchBytes: a receiver commits its writes every this many bytes
// (or four chunks, if less).
const snapshotBatchBytes = 1 << 20

// listen registers the Store with the transport for raft messages and, if
// the transport streams snapshots, for snapshots; the returned func stops
// both and waits for snapshots being sent or received.
func (s *Store) listen() (stop func()) {
	stopRaft := s.cfg.Transport.Listen(s.cfg.NodeID, transport.HandlerFunc(s.handleRaft))
	stopSnap := func() {}
	if st, ok := s.cfg.Transport.(transport.SnapshotTransport); ok {
		stopSnap = st.ListenSnapshots(s.cfg.NodeID, s)
	}
	return func() {
		stopRaft()
		stopSnap()
		s.snaps.mu.Lock()
		s.snaps.closed = true
		s.snaps.mu.Unlock()
		s.snaps.wg.Wait()
	}
}

// SnapshotCounts returns how many snapshots this store applied and sent
// successfully.
func (s *Store) SnapshotCounts() (applied, sent int64) {
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	return s.snaps.applied, s.snaps.sent
}

// divertSnapshots removes the MsgSnap messages from msgs and starts
// streaming a snapshot to each of their recipients instead.
func (s *Store) divertSnapshots(rangeID int64, msgs []*raftpb.Message) []*raftpb.Message {
	out := msgs[:0:0]
	for _, m := range msgs {
		if m.GetType() != raftpb.MessageType_MsgSnap {
			out = append(out, m)
			continue
		}
		s.startSnapshot(rangeID, int32(m.GetTo()))
	}
	return out
}

// startSnapshot streams a snapshot of rangeID to node to unless one is
// already on its way, and reports the outcome to raft.
func (s *Store) startSnapshot(rangeID int64, to int32) {
	key := snapKey{rangeID, to}
	s.snaps.mu.Lock()
	if s.snaps.closed || s.snaps.sending[key] {
		s.snaps.mu.Unlock()
		return
	}
	if s.snaps.sending == nil {
		s.snaps.sending = map[snapKey]bool{}
	}
	s.snaps.sending[key] = true
	s.snaps.wg.Add(1)
	s.snaps.mu.Unlock()
	go func() {
		defer s.snaps.wg.Done()
		ctx, cancel := context.WithCancel(s.stopCtx)
		defer cancel()
		err := s.sendSnapshot(ctx, rangeID, to)
		status := raft.SnapshotFinish
		if err != nil {
			status = raft.SnapshotFailure
			if ctx.Err() == nil {
				s.log.Warn("snapshot failed", "range", rangeID, "to", to, "err", err)
			}
			// Raft asks again as soon as it hears of the failure: hold the
			// report back to rate-limit retries.
			select {
			case <-time.After(s.cfg.SnapshotRetryBackoff):
			case <-ctx.Done():
			}
		}
		s.snaps.mu.Lock()
		delete(s.snaps.sending, key)
		if err == nil {
			s.snaps.sent++
		}
		s.snaps.mu.Unlock()
		if r := s.Replica(rangeID); r != nil {
			r.mu.Lock()
			r.mu.raw.ReportSnapshot(uint64(to), status)
			r.mu.Unlock()
			r.wake()
		}
	}()
}

// snapMeta is the header of a snapshot: where it stands in the log and
// what range it is of.
type snapMeta struct {
	index, term uint64
	conf        *raftpb.ConfState
	desc        kvpb.RangeDescriptor
}

// Layout: index (uvarint), term (uvarint), conf state length (uvarint),
// conf state (raftpb), descriptor (kvpb stored form).
func (m *snapMeta) encode() ([]byte, error) {
	cs, err := proto.Marshal(m.conf)
	if err != nil {
		return nil, err
	}
	b := binary.AppendUvarint(nil, m.index)
	b = binary.AppendUvarint(b, m.term)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	b = append(b, cs...)
	return kvpb.AppendRangeDescriptor(b, &m.desc), nil
}

var errBadSnapshot = errors.New("replication: malformed snapshot")

func decodeSnapMeta(b []byte) (*snapMeta, error) {
	m := &snapMeta{conf: &raftpb.ConfState{}}
	var n int
	if m.index, n = binary.Uvarint(b); n <= 0 {
		return nil, errBadSnapshot
	}
	b = b[n:]
	if m.term, n = binary.Uvarint(b); n <= 0 {
		return nil, errBadSnapshot
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return nil, errBadSnapshot
	}
	if err := proto.Unmarshal(b[n:n+int(l)], m.conf); err != nil {
		return nil, fmt.Errorf("%w: conf state: %v", errBadSnapshot, err)
	}
	d, err := kvpb.DecodeRangeDescriptor(b[n+int(l):])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadSnapshot, err)
	}
	m.desc = *d
	if m.index == 0 || len(m.desc.EndKey) == 0 {
		return nil, fmt.Errorf("%w: index %d, descriptor %s", errBadSnapshot, m.index, &m.desc)
	}
	return m, nil
}

// replicatedSpans are the user-key spans of a range's replicated data:
// its range-ID-local replicated keys, the transaction records anchored in
// its span, and its global keys. A snapshot carries exactly these.
func replicatedSpans(rangeID int64, desc *kvpb.RangeDescriptor) []kvpb.Span {
	var out []kvpb.Span
	for _, k := range keys.ReplicatedRangeIDKeys(rangeID) {
		out = append(out, kvpb.Span{Key: k, EndKey: append(append([]byte(nil), k...), 0)})
	}
	return append(out, keys.TxnRecordSpan(desc.StartKey, desc.EndKey), desc.Span())
}

// sendSnapshot streams one snapshot of rangeID to node to.
func (s *Store) sendSnapshot(ctx context.Context, rangeID int64, to int32) error {
	st, ok := s.cfg.Transport.(transport.SnapshotTransport)
	if !ok {
		return errors.New("the transport does not carry snapshots")
	}
	snapper, ok := s.cfg.Engine.(storage.Snapshotter)
	if !ok {
		return errors.New("the engine cannot take snapshots")
	}
	es := snapper.NewSnapshot()
	defer func() { _ = es.Close() }()
	meta, err := readSnapMeta(es, rangeID)
	if err != nil {
		return err
	}
	raw, err := meta.encode()
	if err != nil {
		return err
	}
	s.log.Info("sending snapshot", "range", rangeID, "to", to, "index", meta.index, "desc", meta.desc.String())
	h := transport.SnapshotHeader{RangeID: rangeID, Meta: raw}
	return st.SendSnapshot(ctx, s.cfg.NodeID, to, h, snapshotChunks(es, replicatedSpans(rangeID, &meta.desc), s.cfg.SnapshotChunkBytes))
}

// readSnapMeta reads, from an engine snapshot, the applied index of
// rangeID, its term, and the conf state and descriptor as of it.
func readSnapMeta(r storage.Reader, rangeID int64) (*snapMeta, error) {
	raw, ok, err := mvcc.GetUnversioned(r, keys.RangeAppliedStateKey(rangeID))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("r%d: no applied state to snapshot", rangeID)
	}
	as, err := decodeAppliedState(raw)
	if err != nil {
		return nil, err
	}
	m := &snapMeta{index: as.raftIndex}
	if m.term, err = raftlog.TermAt(r, rangeID, m.index); err != nil {
		return nil, fmt.Errorf("r%d: term of applied index %d: %w", rangeID, m.index, err)
	}
	if m.conf, err = raftlog.LoadConfState(r, rangeID); err != nil {
		return nil, err
	}
	if raw, ok, err := mvcc.GetUnversioned(r, keys.RangeDescriptorStateKey(rangeID)); err != nil {
		return nil, err
	} else if ok {
		d, err := kvpb.DecodeRangeDescriptor(raw)
		if err != nil {
			return nil, err
		}
		m.desc = *d
	} else if rangeID == FirstRangeID {
		m.desc = firstRangeDescriptor(nil)
	} else {
		return nil, fmt.Errorf("r%d: no descriptor to snapshot", rangeID)
	}
	m.desc.Replicas = replicasFromConfState(m.conf)
	return m, nil
}

// snapshotChunks streams the data of spans in r as a byte stream of
// records cut into chunks of at most chunkBytes (a record may straddle
// chunks):
//
//	record:  uvarint(len(key)) key uvarint(len(value)) value
//	trailer: uvarint(0) uvarint(number of records)
//
// where key is the engine encoding of the MVCC key. One chunk buffer is
// reused: only it and the current key/value are in memory.
func snapshotChunks(r storage.Reader, spans []kvpb.Span, chunkBytes int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		buf := make([]byte, 0, chunkBytes)
		emit := func(p []byte) bool {
			for len(p) > 0 {
				n := min(len(p), chunkBytes-len(buf))
				buf = append(buf, p[:n]...)
				p = p[n:]
				if len(buf) == chunkBytes {
					if !yield(buf, nil) {
						return false
					}
					buf = buf[:0]
				}
			}
			return true
		}
		var hdr, key []byte
		var count uint64
		for _, sp := range spans {
			it, err := r.NewIter(storage.IterOptions{LowerBound: sp.Key, UpperBound: sp.EndKey})
			if err != nil {
				yield(nil, err)
				return
			}
			for ok := it.SeekGE(storage.MVCCKey{Key: sp.Key}); ok; ok = it.Next() {
				v, err := it.Value()
				if err != nil {
					_ = it.Close()
					yield(nil, err)
					return
				}
				key = storage.EncodeMVCCKey(key[:0], it.Key())
				hdr = binary.AppendUvarint(hdr[:0], uint64(len(key)))
				if !emit(hdr) || !emit(key) {
					_ = it.Close()
					return
				}
				hdr = binary.AppendUvarint(hdr[:0], uint64(len(v)))
				if !emit(hdr) || !emit(v) {
					_ = it.Close()
					return
				}
				count++
			}
			err = it.Err()
			_ = it.Close()
			if err != nil {
				yield(nil, err)
				return
			}
		}
		hdr = binary.AppendUvarint(binary.AppendUvarint(hdr[:0], 0), count)
		if !emit(hdr) {
			return
		}
		if len(buf) > 0 {
			yield(buf, nil)
		}
	}
}

// snapshotParser decodes the record stream of snapshotChunks. Only an
// incomplete record is carried from one chunk to the next.
type snapshotParser struct {
	pend  []byte
	count uint64
	done  bool
}

// feed parses chunk and calls put for each complete record.
func (p *snapshotParser) feed(chunk []byte, put func(k storage.MVCCKey, v []byte) error) error {
	if p.done {
		return fmt.Errorf("%w: data after the trailer", errBadSnapshot)
	}
	p.pend = append(p.pend, chunk...)
	b := p.pend
	for len(b) > 0 {
		kl, n := binary.Uvarint(b)
		if n == 0 {
			break // the varint continues in the next chunk
		}
		if n < 0 {
			return errBadSnapshot
		}
		rest := b[n:]
		if kl == 0 {
			c, m := binary.Uvarint(rest)
			if m == 0 {
				break
			}
			if m < 0 || c != p.count || len(rest) != m {
				return fmt.Errorf("%w: trailer counts %d records, received %d", errBadSnapshot, c, p.count)
			}
			p.done = true
			b = nil
			break
		}
		if uint64(len(rest)) < kl {
			break
		}
		key := rest[:kl]
		rest = rest[kl:]
		vl, m := binary.Uvarint(rest)
		if m == 0 {
			break
		}
		if m < 0 || uint64(len(rest)-m) < vl {
			if m < 0 {
				return errBadSnapshot
			}
			break
		}
		k, err := storage.DecodeMVCCKey(key)
		if err != nil {
			return err
		}
		if err := put(k, rest[m:m+int(vl)]); err != nil {
			return err
		}
		p.count++
		b = rest[m+int(vl):]
	}
	p.pend = p.pend[:copy(p.pend, b)]
	return nil
}

// HandleSnapshot implements transport.SnapshotHandler: it applies a
// snapshot sent to this node, creating the replica if it has none.
func (s *Store) HandleSnapshot(ctx context.Context, from int32, h transport.SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	meta, err := decodeSnapMeta(h.Meta)
	if err != nil {
		return err
	}
	if meta.desc.RangeID != h.RangeID {
		return fmt.Errorf("%w: descriptor of r%d in a snapshot of r%d", errBadSnapshot, meta.desc.RangeID, h.RangeID)
	}
	if !confHas(meta.conf, s.cfg.NodeID) {
		return fmt.Errorf("r%d: snapshot at %d does not include n%d", h.RangeID, meta.index, s.cfg.NodeID)
	}
	r := s.Replica(h.RangeID)
	if r == nil {
		if r, err = s.createReplica(h.RangeID); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopCtx, cancel)()
	if err := r.applySnapshot(ctx, meta, chunks); err != nil {
		s.log.Warn("snapshot refused or failed", "range", h.RangeID, "from", from, "index", meta.index, "err", err)
		return err
	}
	r.notifyFollowerWaiters() // the applied index moved
	s.snaps.mu.Lock()
	s.snaps.applied++
	s.snaps.mu.Unlock()
	s.log.Info("snapshot applied", "range", h.RangeID, "from", from, "index", meta.index, "desc", meta.desc.String())
	return nil
}

func confHas(cs *raftpb.ConfState, node int32) bool {
	for _, l := range [][]uint64{cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext()} {
		for _, id := range l {
			if id == uint64(node) {
				return true
			}
		}
	}
	return false
}

// errStaleSnapshot: the replica already has what the snapshot holds.
var errStaleSnapshot = errors.New("replication: snapshot is not newer than the replica")

// checkSnapshotLocked refuses a snapshot the replica must not install.
// r.mu is held.
func (r *Replica) checkSnapshotLocked(meta *snapMeta) error {
	s := r.store
	hs, _, err := r.log.InitialState()
	if err != nil {
		return err
	}
	switch {
	case meta.index <= r.mu.applied.raftIndex || meta.index < hs.GetCommit():
		return fmt.Errorf("%w: snapshot at %d, applied %d, committed %d", errStaleSnapshot, meta.index, r.mu.applied.raftIndex, hs.GetCommit())
	case r.mu.raw.BasicStatus().RaftState == raft.StateLeader || r.checkLeaseLocked(s.cfg.Clock.Now(), hlc.Timestamp{}) == nil:
		return fmt.Errorf("r%d: n%d leads or holds the lease; it takes no snapshot", r.rangeID, s.cfg.NodeID)
	}
	return nil
}

// applySnapshot installs a snapshot on r (see the top of this file).
func (r *Replica) applySnapshot(ctx context.Context, meta *snapMeta, chunks iter.Seq2[[]byte, error]) error {
	s := r.store
	r.snap.recvMu.Lock()
	defer r.snap.recvMu.Unlock()
	r.mu.Lock()
	err := r.checkSnapshotLocked(meta)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if d := s.overlappingReplica(r, &meta.desc); d != nil {
		return fmt.Errorf("r%d: snapshot %s overlaps r%d %s on n%d", r.rangeID, &meta.desc, d.RangeID, d, s.cfg.NodeID)
	}
	// Stage: the data goes under the staging prefix; the replica goes on
	// as before meanwhile, and a failure or crash leaves it untouched.
	if err := r.stageSnapshot(ctx, meta, chunks); err != nil {
		if cerr := clearStaging(s.cfg.Engine, r.rangeID); cerr != nil {
			s.log.Warn("cannot clear a failed snapshot's staging data", "range", r.rangeID, "err", cerr)
		}
		return err
	}
	r.snap.raftMu.Lock()
	defer r.snap.raftMu.Unlock()
	if !r.snap.destroyed {
		r.mu.Lock()
		err = r.checkSnapshotLocked(meta) // the replica may have moved on
		r.mu.Unlock()
	} else {
		err = fmt.Errorf("r%d: replica removed", r.rangeID)
	}
	if err != nil {
		if cerr := clearStaging(s.cfg.Engine, r.rangeID); cerr != nil {
			s.log.Warn("cannot clear a refused snapshot's staging data", "range", r.rangeID, "err", cerr)
		}
		return err
	}
	if err := r.installSnapshotLocked(meta); err != nil {
		// The snapshot's raft state may be durable and its data half
		// moved: the replica stops; reopening it finishes the move.
		s.log.Error("installing a snapshot failed; the replica stops", "range", r.rangeID, "err", err)
		r.destroyLocked(false)
		return err
	}
	return nil
}

// stageSnapshot writes the chunks, in unsynced batches, under the
// replica's staging prefix (raftlog.SnapshotStagingSpan), after clearing
// whatever an earlier attempt left there.
func (r *Replica) stageSnapshot(ctx context.Context, meta *snapMeta, chunks iter.Seq2[[]byte, error]) error {
	s := r.store
	spans := replicatedSpans(r.rangeID, &meta.desc)
	stage, stageEnd := raftlog.SnapshotStagingSpan(r.rangeID)
	b := s.cfg.Engine.NewBatch()
	defer func() { b.Close() }()
	if err := b.ClearRange(stage, stageEnd); err != nil {
		return err
	}
	var kbuf []byte
	put := func(k storage.MVCCKey, v []byte) error {
		in := false
		for _, sp := range spans {
			if sp.ContainsKey(k.Key) {
				in = true
				break
			}
		}
		if !in {
			return fmt.Errorf("%w: key %s outside %s", errBadSnapshot, k, &meta.desc)
		}
		kbuf = storage.EncodeMVCCKey(append(kbuf[:0], stage...), k)
		return b.Put(storage.MVCCKey{Key: kbuf}, v)
	}
	var p snapshotParser
	n := 0
	for c, err := range chunks {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(c) > s.cfg.SnapshotChunkBytes {
			return fmt.Errorf("%w: chunk of %d bytes, limit %d", errBadSnapshot, len(c), s.cfg.SnapshotChunkBytes)
		}
		if err := p.feed(c, put); err != nil {
			return err
		}
		if b.Len() >= min(snapshotBatchBytes, 4*s.cfg.SnapshotChunkBytes) {
			if err := b.Commit(false); err != nil {
				return err
			}
			b.Close()
			b = s.cfg.Engine.NewBatch()
		}
		n++
		if h := s.cfg.TestingSnapshotChunkHook; h != nil {
			if err := h(ctx, s.cfg.NodeID, r.rangeID, n, len(c)); err != nil {
				return err
			}
		}
	}
	if !p.done || len(p.pend) > 0 {
		return fmt.Errorf("%w: stream ended without its trailer", errBadSnapshot)
	}
	return b.Commit(false)
}

// installSnapshotLocked commits the snapshot (its raft state and the
// installing marker, in one synced batch), moves the staged data into
// place, and restarts raft on the new state. r.snap.raftMu is held.
func (r *Replica) installSnapshotLocked(meta *snapMeta) error {
	s := r.store
	eng := s.cfg.Engine
	r.mu.Lock()
	oldDesc := *r.mu.desc.Clone()
	if r.mu.applied.raftIndex == 0 {
		// Holds no data, whatever its descriptor says (an empty first-range
		// replica claims the whole keyspace): clearing its span would
		// remove other ranges' data (the overlap check ignores it too).
		oldDesc = kvpb.RangeDescriptor{RangeID: r.rangeID}
	}
	r.mu.Unlock()
	b := eng.NewBatch()
	defer b.Close()
	if err := r.log.InstallSnapshot(b, meta.index, meta.term, meta.conf); err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, raftlog.SnapshotPendingKey(r.rangeID), encodeInstalling(&meta.desc, &oldDesc)); err != nil {
		return err
	}
	// Synced: from here on the snapshot is installed, whatever happens;
	// this also makes the staged data durable (the WAL is sequential).
	if err := b.Commit(true); err != nil {
		return err
	}
	r.mu.Lock()
	r.mu.desc = kvpb.RangeDescriptor{RangeID: r.rangeID} // no data until moved
	r.mu.Unlock()
	if err := moveStaged(eng, r.rangeID, &meta.desc, &oldDesc); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.reopenRaftLocked(meta.index); err != nil {
		return err
	}
	return r.reloadStateLocked()
}

// encodeInstalling is the installing marker's value: the snapshot's
// descriptor and the replica's previous one (whose data is cleared).
func encodeInstalling(desc, old *kvpb.RangeDescriptor) []byte {
	d := kvpb.AppendRangeDescriptor(nil, desc)
	b := binary.AppendUvarint(nil, uint64(len(d)))
	b = append(b, d...)
	if len(old.EndKey) > 0 {
		b = kvpb.AppendRangeDescriptor(b, old)
	}
	return b
}

func decodeInstalling(b []byte) (desc, old *kvpb.RangeDescriptor, err error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return nil, nil, errBadSnapshot
	}
	if desc, err = kvpb.DecodeRangeDescriptor(b[n : n+int(l)]); err != nil {
		return nil, nil, err
	}
	old = &kvpb.RangeDescriptor{}
	if rest := b[n+int(l):]; len(rest) > 0 {
		if old, err = kvpb.DecodeRangeDescriptor(rest); err != nil {
			return nil, nil, err
		}
	}
	return desc, old, nil
}

// moveStaged replaces the range's data by the staged snapshot: it clears
// the spans of both descriptors, copies the staged records in unsynced
// batches, and in a last synced batch writes the descriptor and removes
// the staged data and the installing marker. It is idempotent, so a crash
// anywhere in it is repaired by running it again (recoverSnapshot).
func moveStaged(eng storage.Engine, rangeID int64, desc, old *kvpb.RangeDescriptor) error {
	stage, stageEnd := raftlog.SnapshotStagingSpan(rangeID)
	b := eng.NewBatch()
	defer func() { b.Close() }()
	if err := clearReplicatedData(b, rangeID, desc); err != nil {
		return err
	}
	if len(old.EndKey) > 0 {
		if err := clearReplicatedData(b, rangeID, old); err != nil {
			return err
		}
	}
	it, err := eng.NewIter(storage.IterOptions{LowerBound: stage, UpperBound: stageEnd})
	if err != nil {
		return err
	}
	for ok := it.SeekGE(storage.MVCCKey{Key: stage}); ok; ok = it.Next() {
		k, err := storage.DecodeMVCCKey(it.Key().Key[len(stage):])
		if err != nil {
			_ = it.Close()
			return err
		}
		v, err := it.Value()
		if err != nil {
			_ = it.Close()
			return err
		}
		if err := b.Put(k, v); err != nil {
			_ = it.Close()
			return err
		}
		if b.Len() >= snapshotBatchBytes {
			if err := b.Commit(false); err != nil {
				_ = it.Close()
				return err
			}
			b.Close()
			b = eng.NewBatch()
		}
	}
	err = it.Err()
	_ = it.Close()
	if err != nil {
		return err
	}
	if err := mvcc.PutUnversioned(b, keys.RangeDescriptorStateKey(rangeID), kvpb.AppendRangeDescriptor(nil, desc)); err != nil {
		return err
	}
	if err := b.ClearRange(stage, stageEnd); err != nil {
		return err
	}
	if err := b.Clear(storage.MVCCKey{Key: raftlog.SnapshotPendingKey(rangeID)}); err != nil {
		return err
	}
	return b.Commit(true)
}

// reopenRaftLocked replaces the replica's raft.Storage and RawNode by ones
// opened on the durable raft state, as after a restart. Raft's in-memory
// state that was never persisted is dropped, which is safe: nothing was
// sent or acknowledged on its basis (persist before send).
func (r *Replica) reopenRaftLocked(applied uint64) error {
	st, err := raftlog.Open(r.store.cfg.Engine, r.rangeID)
	if err != nil {
		return err
	}
	raw, err := raft.NewRawNode(&raft.Config{
		ID:                        uint64(r.store.cfg.NodeID),
		ElectionTick:              r.store.cfg.ElectionTicks,
		HeartbeatTick:             1,
		Storage:                   st,
		Applied:                   applied,
		MaxSizePerMsg:             1 << 20,
		MaxCommittedSizePerReady:  16 << 20,
		MaxUncommittedEntriesSize: 64 << 20,
		MaxInflightMsgs:           64,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{r.store.log.With("range", r.rangeID)},
	})
	if err != nil {
		return err
	}
	r.log, r.mu.raw = st, raw
	r.mu.leader = 0
	r.mu.leaseReq = 0
	r.mu.confChangePending = false
	r.mu.campaignAfterAdvance = false
	return nil
}

// reloadStateLocked reads the replica's replicated state back from the
// engine after a snapshot replaced it.
func (r *Replica) reloadStateLocked() error {
	eng := r.store.cfg.Engine
	r.mu.applied = appliedState{}
	if raw, ok, err := mvcc.GetUnversioned(eng, keys.RangeAppliedStateKey(r.rangeID)); err != nil {
		return err
	} else if ok {
		if r.mu.applied, err = decodeAppliedState(raw); err != nil {
			return err
		}
	}
	r.mu.nextLeaseIdx = r.mu.applied.leaseIndex
	r.mu.lease = lease.Lease{}
	if raw, ok, err := mvcc.GetUnversioned(eng, keys.RangeLeaseKey(r.rangeID)); err != nil {
		return err
	} else if ok {
		if r.mu.lease, err = decodeLease(raw); err != nil {
			return err
		}
	}
	r.mu.desc = kvpb.RangeDescriptor{RangeID: r.rangeID}
	if raw, ok, err := mvcc.GetUnversioned(eng, keys.RangeDescriptorStateKey(r.rangeID)); err != nil {
		return err
	} else if ok {
		d, err := kvpb.DecodeRangeDescriptor(raw)
		if err != nil {
			return err
		}
		r.mu.desc = *d
	}
	// Proposals made here before the snapshot may have applied in the
	// part of the log it covers: nobody can tell.
	for id, p := range r.mu.proposals {
		delete(r.mu.proposals, id)
		p.finish(&kvpb.AmbiguousResultError{Msg: fmt.Sprintf("r%d: the replica installed a snapshot while the write was being replicated", r.rangeID)})
	}
	return r.pipeline.ReloadReplicatedState()
}

// clearReplicatedData writes into b the removal of the range's replicated
// data described by desc.
func clearReplicatedData(b *storage.Batch, rangeID int64, desc *kvpb.RangeDescriptor) error {
	for _, sp := range replicatedSpans(rangeID, desc) {
		if err := b.ClearRange(sp.Key, sp.EndKey); err != nil {
			return err
		}
	}
	return nil
}

// clearStaging removes whatever is staged for rangeID (not synced: staged
// data is garbage until an installing marker refers to it).
func clearStaging(eng storage.Engine, rangeID int64) error {
	stage, stageEnd := raftlog.SnapshotStagingSpan(rangeID)
	b := eng.NewBatch()
	defer b.Close()
	if err := b.ClearRange(stage, stageEnd); err != nil {
		return err
	}
	return b.Commit(false)
}

// recoverSnapshot runs when a replica opens, before its raft state is
// read. With an installing marker, the process died after a snapshot was
// committed and before its data was all in place: the move is done again.
// Without one, staged data is what an interrupted receipt left: dropped.
func recoverSnapshot(eng storage.Engine, rangeID int64) error {
	raw, ok, err := mvcc.GetUnversioned(eng, raftlog.SnapshotPendingKey(rangeID))
	if err != nil {
		return err
	}
	if ok {
		desc, old, err := decodeInstalling(raw)
		if err != nil {
			return fmt.Errorf("r%d: installing marker: %w", rangeID, err)
		}
		return moveStaged(eng, rangeID, desc, old)
	}
	stage, stageEnd := raftlog.SnapshotStagingSpan(rangeID)
	it, err := eng.NewIter(storage.IterOptions{LowerBound: stage, UpperBound: stageEnd})
	if err != nil {
		return err
	}
	staged := it.SeekGE(storage.MVCCKey{Key: stage})
	err = it.Err()
	_ = it.Close()
	if err != nil || !staged {
		return err
	}
	return clearStaging(eng, rangeID)
}

// overlappingReplica returns the descriptor of another replica on this
// store, holding data (initialized and applied something), whose span
// overlaps desc.
func (s *Store) overlappingReplica(self *Replica, desc *kvpb.RangeDescriptor) *kvpb.RangeDescriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.replicas {
		if o == self || o.rangeID == desc.RangeID {
			continue
		}
		o.mu.Lock()
		hit := o.initializedLocked() && o.mu.applied.raftIndex > 0 && o.mu.desc.Span().Overlaps(desc.Span())
		d := o.mu.desc.Clone()
		o.mu.Unlock()
		if hit {
			return d
		}
	}
	return nil
}

// filterRaftMsgLocked filters a raft message before it is stepped (r.mu held):
//   - MsgSnap is dropped: snapshots arrive through the snapshot transport
//     and are installed by applySnapshot, never stepped into raft;
//   - a heartbeat's commit index is capped at the durable last index.
//     A leader sends min(Match, commit), and Match never exceeds what the
//     follower durably holds, unless the follower lost acknowledged
//     entries (see removal in DESIGN.md): raft would panic on it and take
//     the whole process down; capped, only this replica is stuck.
func (r *Replica) filterRaftMsgLocked(m *raftpb.Message) bool {
	if r.snap.heard == nil {
		r.snap.heard = map[uint64]time.Time{}
	}
	r.snap.heard[m.GetFrom()] = time.Now()
	switch m.GetType() {
	case raftpb.MessageType_MsgSnap:
		return false
	case raftpb.MessageType_MsgHeartbeat:
		if last, _ := r.log.LastIndex(); m.GetCommit() > last {
			r.store.log.Warn("heartbeat commits past the replica's log; capped", "range", r.rangeID,
				"commit", m.GetCommit(), "last", last, "from", m.GetFrom())
			m.Commit = new(last)
		}
	}
	return true
}

// RaftLogBounds returns the first and last index of the replica's raft log
// (first = last+1 when it is empty).
func (r *Replica) RaftLogBounds() (first, last uint64) {
	r.snap.raftMu.Lock()
	defer r.snap.raftMu.Unlock()
	first, _ = r.log.FirstIndex()
	last, _ = r.log.LastIndex()
	return first, last
}
