package local

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outpostdb/outpost/kv/concurrency/latch"
	"github.com/outpostdb/outpost/kv/concurrency/txnwait"
	"github.com/outpostdb/outpost/kv/eval"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
	"github.com/outpostdb/outpost/kv/tscache"
)

// Config configures a Store.
type Config struct {
	// NodeID of this node. Default 1.
	NodeID int32
	// TxnExpiry: a pending transaction whose record was not heartbeated for
	// this long is presumed dead and may be aborted by anyone it blocks.
	// Default 5s (coordinators heartbeat every second).
	TxnExpiry time.Duration
	// LivenessCheckInterval is how often a waiter re-checks whether the
	// transaction it waits for expired. Default 500ms.
	LivenessCheckInterval time.Duration
	// GCTTL: versions shadowed for longer than this are garbage collected.
	// Default 25h.
	GCTTL time.Duration
	// GCInterval between GC passes; 0 means the default of 10 minutes, a
	// negative value disables the background GC loop.
	GCInterval time.Duration
	// TimestampCacheEntries bounds the timestamp cache. Default 1<<16.
	TimestampCacheEntries int
	// BootID identifies this process incarnation of the node in
	// transaction records; 0 picks a random one. All ranges of a node
	// share one (a record whose coordinator is this node with another
	// BootID was left by a previous incarnation).
	BootID uint64
	// RangeID of the range served. Default 1.
	RangeID int64
	// Replication, when set, makes the store the request pipeline of one
	// replica of a replicated range: batches are served only while
	// CheckServe allows, and writes apply through Replicate instead of
	// being committed to the engine directly.
	Replication Replication
}

// Replication is what a replicated range plugs into the pipeline.
type Replication interface {
	// CheckServe returns nil if this replica may serve ba at ts now: the
	// range contains every key of ba (else *kvpb.RangeKeyMismatchError)
	// and the replica holds a valid lease covering ts (else, usually, a
	// *kvpb.NotLeaseHolderError). It is called with latches held.
	CheckServe(ba *kvpb.BatchRequest, ts hlc.Timestamp) error
	// Replicate proposes the evaluated writes of b and returns once they
	// have applied to this replica's engine, which is also the engine the
	// store reads. An error means the writes did not apply
	// (*kvpb.NotLeaseHolderError) or may or may not have
	// (*kvpb.AmbiguousResultError). Called with latches held; the caller
	// closes b.
	Replicate(ctx context.Context, b *storage.Batch) error
	// TrackWrite registers a write about to be evaluated at ts and returns
	// the lowest timestamp it may write at (above every timestamp the
	// range has closed to writes) and a release func, called once the
	// write applied or failed. Called with latches held, after CheckServe.
	TrackWrite(ts hlc.Timestamp) (hlc.Timestamp, func())
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.NodeID == 0 {
		c.NodeID = 1
	}
	if c.TxnExpiry == 0 {
		c.TxnExpiry = 5 * time.Second
	}
	if c.LivenessCheckInterval == 0 {
		c.LivenessCheckInterval = 500 * time.Millisecond
	}
	if c.GCTTL == 0 {
		c.GCTTL = 25 * time.Hour
	}
	if c.GCInterval == 0 {
		c.GCInterval = 10 * time.Minute
	}
	if c.TimestampCacheEntries == 0 {
		c.TimestampCacheEntries = 1 << 16
	}
	if c.RangeID == 0 {
		c.RangeID = 1
	}
}

// Store is the single-node Handler. Safe for concurrent use.
type Store struct {
	cfg     Config
	engine  storage.Engine
	clock   *hlc.Clock
	bootID  uint64
	latches latch.Manager
	tsc     *tscache.Cache
	waitq   *txnwait.Queue

	gcThreshold atomic.Pointer[hlc.Timestamp]

	stopper chan struct{}
	wg      sync.WaitGroup
}

var _ kvrpc.Handler = (*Store)(nil)

// NewStore opens a store over engine. The clock must already be persistent
// if the engine is (see PersistClock).
func NewStore(engine storage.Engine, clock *hlc.Clock, cfg Config) (*Store, error) {
	cfg.EnsureDefaults()
	bootID := cfg.BootID
	if bootID == 0 {
		var err error
		if bootID, err = NewBootID(); err != nil {
			return nil, err
		}
	}
	s := &Store{
		cfg:     cfg,
		engine:  engine,
		clock:   clock,
		bootID:  bootID,
		waitq:   txnwait.New(),
		stopper: make(chan struct{}),
	}
	// Reads served before this process started are unknown: no write may
	// land at or below now.
	s.tsc = tscache.New(clock.Now(), cfg.TimestampCacheEntries)
	gct := hlc.Timestamp{}
	raw, ok, err := mvcc.GetUnversioned(engine, keys.RangeGCThresholdKey(cfg.RangeID))
	if err != nil {
		return nil, err
	}
	if ok {
		if gct, err = eval.DecodeTimestamp(raw); err != nil {
			return nil, fmt.Errorf("local: GC threshold: %w", err)
		}
	}
	s.gcThreshold.Store(&gct)
	if cfg.GCInterval > 0 {
		s.wg.Add(1)
		go s.gcLoop()
	}
	return s, nil
}

// NewBootID returns a random non-zero process incarnation ID.
func NewBootID() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]) | 1, nil
}

// Coordinator identifies this process to transactions it coordinates, so
// that after a restart their leftover intents are recognised as abandoned.
func (s *Store) Coordinator() kvpb.Coordinator {
	return kvpb.Coordinator{NodeID: s.cfg.NodeID, BootID: s.bootID}
}

// NodeID returns the node's ID.
func (s *Store) NodeID() int32 { return s.cfg.NodeID }

// SetTimestampCacheLowWater forwards the timestamp cache's low-water mark:
// a new leaseholder calls it with its lease start, since it cannot know
// which reads the previous holder served.
func (s *Store) SetTimestampCacheLowWater(ts hlc.Timestamp) { s.tsc.SetLowWater(ts) }

// WithWriteLatches runs fn while holding write latches over spans, so that
// no request evaluates on them meanwhile (a range split holds its right
// half). Requests that hold latches finish first.
func (s *Store) WithWriteLatches(ctx context.Context, spans []kvpb.Span, fn func() error) error {
	ls := make([]latch.Span, len(spans))
	for i, sp := range spans {
		ls[i] = latch.Span{Key: sp.Key, EndKey: sp.EndKey, Access: latch.Write}
	}
	g, err := s.latches.Acquire(ctx, ls)
	if err != nil {
		return err
	}
	defer s.latches.Release(g)
	return fn()
}

// Stop ends background work and waits for it. It does not close the engine.
func (s *Store) Stop() {
	close(s.stopper)
	s.wg.Wait()
}

// Send implements kvrpc.Handler.
func (s *Store) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	b := *ba // the caller's batch is never modified
	if b.Txn != nil {
		if err := s.clock.Update(b.Txn.WriteTimestamp); err != nil {
			return nil, err
		}
	} else if b.Timestamp.IsEmpty() {
		b.Timestamp = s.clock.Now()
	} else if err := s.clock.Update(b.Timestamp); err != nil {
		return nil, err
	}
	var waitStart time.Time // first wait for an intent, for LockTimeout
	for {
		resp, wie, err := s.evaluateOnce(ctx, &b)
		if wie == nil {
			return resp, err
		}
		if b.WaitPolicyError {
			return nil, wie
		}
		hctx, cancel := ctx, context.CancelFunc(func() {})
		if b.LockTimeout > 0 {
			if waitStart.IsZero() {
				waitStart = time.Now()
			}
			hctx, cancel = context.WithDeadline(ctx, waitStart.Add(b.LockTimeout))
		}
		err = s.handleConflicts(hctx, b.Txn, wie)
		cancel()
		if err != nil {
			if b.LockTimeout > 0 && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return nil, &kvpb.LockTimeoutError{Key: wie.Intents[0].Key}
			}
			return nil, err
		}
	}
}

func latchSpans(ba *kvpb.BatchRequest) []latch.Span {
	spans := make([]latch.Span, 0, len(ba.Requests)+1)
	add := func(sp kvpb.Span, acc latch.Access) {
		spans = append(spans, latch.Span{Key: sp.Key, EndKey: sp.EndKey, Access: acc})
	}
	for _, r := range ba.Requests {
		switch t := r.(type) {
		case *kvpb.GetRequest, *kvpb.ScanRequest, *kvpb.RefreshRequest:
			add(r.Keys(), latch.Read)
		case *kvpb.HeartbeatTxnRequest:
			add(kvpb.Span{Key: keys.TransactionKey(ba.Txn.Key, ba.Txn.ID)}, latch.Write)
		case *kvpb.EndTxnRequest:
			add(kvpb.Span{Key: keys.TransactionKey(ba.Txn.Key, ba.Txn.ID)}, latch.Write)
			for _, sp := range t.LockSpans {
				add(sp, latch.Write)
			}
		default:
			add(r.Keys(), latch.Write)
		}
	}
	return spans
}

// evaluateOnce runs the batch under latches. A conflicting intent comes
// back as wie, with latches released, for the caller to wait on.
func (s *Store) evaluateOnce(ctx context.Context, ba *kvpb.BatchRequest) (_ *kvpb.BatchResponse, wie *kvpb.WriteIntentError, _ error) {
	g, err := s.latches.Acquire(ctx, latchSpans(ba))
	if err != nil {
		return nil, nil, err
	}
	defer s.latches.Release(g)

	b := *ba
	if r := s.cfg.Replication; r != nil {
		ts := b.Timestamp
		if b.Txn != nil {
			ts = hlc.Max(b.Txn.ReadTimestamp, b.Txn.WriteTimestamp)
		}
		if err := r.CheckServe(&b, ts); err != nil {
			return nil, nil, err
		}
	}
	if r := s.cfg.Replication; r != nil && writesValues(b.Requests) {
		// Closed timestamps act like a read at every key: new values go
		// above. (Committing or resolving an existing intent is not a new
		// value: followers that meet an intent defer to the leaseholder.)
		wts := b.Timestamp
		if b.Txn != nil {
			wts = b.Txn.WriteTimestamp
		}
		minTs, release := r.TrackWrite(wts)
		defer release()
		if b.Txn != nil && b.Txn.WriteTimestamp.Less(minTs) {
			b.Txn = b.Txn.Clone()
			b.Txn.WriteTimestamp = minTs
		} else if b.Txn == nil {
			b.Timestamp.Forward(minTs)
		}
	}
	var readerID tscache.TxnID
	if b.Txn != nil {
		readerID = b.Txn.ID
		b.Txn = s.applyTimestampCache(b.Txn, b.Requests)
	} else if !b.IsReadOnly() {
		for _, r := range b.Requests {
			if r.Method().IsWrite() {
				sp := r.Keys()
				if max, _ := s.tsc.GetMax(sp.Key, sp.EndKey); b.Timestamp.LessEq(max) {
					b.Timestamp = max.Next()
				}
			}
		}
	}

	ec := eval.Context{NodeID: s.cfg.NodeID, RangeID: s.cfg.RangeID, Now: s.clock.Now(), GCThreshold: *s.gcThreshold.Load()}
	var res *eval.Result
	if b.IsReadOnly() {
		// Reads need no batch: latches keep conflicting writers out, and
		// each engine iterator is a consistent view.
		res, err = eval.Evaluate(readOnly{s.engine}, &b, ec)
	} else {
		batch := s.engine.NewBatch()
		defer batch.Close()
		res, err = eval.Evaluate(batch, &b, ec)
		if err == nil && !batch.Empty() {
			err = s.apply(ctx, batch, res.Sync)
		}
	}
	if err != nil {
		if errors.As(err, &wie) {
			return nil, wie, nil
		}
		return nil, nil, err
	}
	// Record reads before releasing latches, so that no writer can slip
	// under them.
	readTs := b.Timestamp
	if b.Txn != nil {
		readTs = b.Txn.ReadTimestamp
	}
	for _, r := range b.Requests {
		if !r.Method().IsRead() {
			continue
		}
		sp, ts := r.Keys(), readTs
		if r.Method() == kvpb.Refresh {
			ts = b.Txn.WriteTimestamp // the reads now hold up to the refreshed timestamp
		}
		s.tsc.Add(sp.Key, sp.EndKey, ts, readerID)
	}
	if res.NewGCThreshold != (hlc.Timestamp{}) {
		t := res.NewGCThreshold
		s.gcThreshold.Store(&t)
	}
	if res.Finalized != nil {
		s.waitq.Finalize(res.Finalized.ID)
	}
	return res.Response, nil, nil
}

// writesValues reports whether a request lays down new values or intents.
func writesValues(reqs []kvpb.Request) bool {
	for _, r := range reqs {
		if r.Method().IsWrite() {
			return true
		}
	}
	return false
}

// applyTimestampCache returns txn with its write timestamp moved above every
// read served by another reader on the keys the batch writes.
func (s *Store) applyTimestampCache(txn *kvpb.Transaction, reqs []kvpb.Request) *kvpb.Transaction {
	out := txn
	for _, r := range reqs {
		if !r.Method().IsWrite() {
			continue
		}
		sp := r.Keys()
		max, reader := s.tsc.GetMax(sp.Key, sp.EndKey)
		if reader == txn.ID || max.Less(out.WriteTimestamp) {
			continue
		}
		if out == txn {
			out = txn.Clone()
		}
		out.WriteTimestamp = max.Next()
	}
	return out
}

// apply makes an evaluated batch take effect: committed to the engine (and
// fsynced when sync), or replicated. A replicated write is durable once
// applied, since the Raft log entry carrying it was fsynced on a quorum.
func (s *Store) apply(ctx context.Context, b *storage.Batch, sync bool) error {
	if r := s.cfg.Replication; r != nil {
		return r.Replicate(ctx, b)
	}
	if err := b.Commit(sync); err != nil {
		return fmt.Errorf("local: apply: %w", err)
	}
	return nil
}

// handleConflicts waits for (or aborts) the holders of the intents, then
// resolves the intents so that the batch can be retried.
func (s *Store) handleConflicts(ctx context.Context, pusher *kvpb.Transaction, wie *kvpb.WriteIntentError) error {
	done := map[kvpb.TxnID]bool{}
	for _, in := range wie.Intents {
		if done[in.Txn.ID] {
			continue
		}
		done[in.Txn.ID] = true
		if err := s.pushAndResolve(ctx, pusher, in); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) expired(last hlc.Timestamp) bool {
	return last.Add(s.cfg.TxnExpiry).Less(s.clock.Now())
}

// coordinatorGone reports a record whose coordinator was a previous
// incarnation of this node: it cannot heartbeat or commit anymore.
func (s *Store) coordinatorGone(rec *kvpb.Transaction) bool {
	return rec.Coordinator.NodeID == s.cfg.NodeID && rec.Coordinator.BootID != s.bootID
}

func (s *Store) pushAndResolve(ctx context.Context, pusher *kvpb.Transaction, in kvpb.Intent) error {
	var pusherMeta *kvpb.TxnMeta
	if pusher != nil {
		pusherMeta = &pusher.TxnMeta
	}
	pushee := in.Txn
	backoff := 5 * time.Millisecond
	for {
		w, victim := s.waitq.Enqueue(pusherMeta, pushee)
		if victim != nil {
			log.Printf("kv: deadlock among waiting transactions; aborting %s (priority %d)", victim.Short(), victim.Priority)
			if _, err := s.abortTxn(ctx, *victim); err != nil {
				s.waitq.Dequeue(w)
				return err
			}
		}
		rec, ok, err := eval.ReadTxnRecord(s.engine, pushee)
		if err != nil {
			s.waitq.Dequeue(w)
			return err
		}
		var wait <-chan time.Time
		switch {
		case ok && rec.Status.IsFinalized():
			s.waitq.Dequeue(w)
			return s.resolve(ctx, in.Key, rec.TxnMeta, rec.Status)
		case ok && (s.coordinatorGone(rec) || s.expired(rec.LastHeartbeat)):
			s.waitq.Dequeue(w)
			rec, err := s.abortTxn(ctx, pushee)
			if err != nil {
				return err
			}
			return s.resolve(ctx, in.Key, rec.TxnMeta, rec.Status)
		case !ok:
			// Finalized and cleaned up (the intent is gone: retrying
			// succeeds), or the record is not written yet.
			still, err := s.intentStillThere(in)
			if err != nil || !still {
				s.waitq.Dequeue(w)
				return err
			}
			if s.expired(pushee.MinTimestamp) {
				s.waitq.Dequeue(w)
				rec, err := s.abortTxn(ctx, pushee)
				if err != nil {
					return err
				}
				return s.resolve(ctx, in.Key, rec.TxnMeta, rec.Status)
			}
			wait = time.After(backoff)
			backoff = min(2*backoff, s.cfg.LivenessCheckInterval)
		default:
			wait = time.After(s.cfg.LivenessCheckInterval)
		}
		select {
		case <-w.Done:
		case <-w.Aborted:
			s.waitq.Dequeue(w)
			return &kvpb.TransactionAbortedError{Msg: fmt.Sprintf("aborted while waiting for txn %s (deadlock victim)", pushee.Short())}
		case <-wait:
		case <-ctx.Done():
			s.waitq.Dequeue(w)
			return ctx.Err()
		}
		s.waitq.Dequeue(w)
	}
}

func (s *Store) intentStillThere(in kvpb.Intent) (bool, error) {
	_, _, err := mvcc.Get(s.engine, in.Key, hlc.MaxTimestamp, mvcc.ReadOptions{})
	var wie *kvpb.WriteIntentError
	if errors.As(err, &wie) {
		return wie.Intents[0].Txn.ID == in.Txn.ID, nil
	}
	return false, err
}

// abortTxn makes the pushee's record ABORTED (unless already finalized),
// durably, and wakes its waiters.
func (s *Store) abortTxn(ctx context.Context, pushee kvpb.TxnMeta) (*kvpb.Transaction, error) {
	g, err := s.latches.Acquire(ctx, []latch.Span{{Key: keys.TransactionKey(pushee.Key, pushee.ID), Access: latch.Write}})
	if err != nil {
		return nil, err
	}
	defer s.latches.Release(g)
	batch := s.engine.NewBatch()
	defer batch.Close()
	rec, err := eval.AbortTxnRecord(batch, pushee)
	if err != nil {
		return nil, err
	}
	if !batch.Empty() {
		if err := s.apply(ctx, batch, true); err != nil {
			return nil, err
		}
	}
	s.waitq.Finalize(pushee.ID)
	return rec, nil
}

// resolve resolves one intent of a finalized transaction.
func (s *Store) resolve(ctx context.Context, key kvpb.Key, txn kvpb.TxnMeta, status kvpb.TxnStatus) error {
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: s.clock.Now()}}
	ba.Add(&kvpb.ResolveIntentRequest{Span: kvpb.Span{Key: key}, Txn: txn, Status: status})
	_, wie, err := s.evaluateOnce(ctx, ba)
	if wie != nil {
		return fmt.Errorf("local: resolving an intent met another intent: %w", wie)
	}
	return err
}

// errReadOnly reports a write attempted by a batch classified read-only: a
// bug in kvpb.Method classification, never user input.
var errReadOnly = errors.New("local: write in a read-only batch")

// readOnly adapts a Reader to eval's ReadWriter for read-only batches.
type readOnly struct{ storage.Reader }

func (readOnly) Put(storage.MVCCKey, []byte) error { return errReadOnly }
func (readOnly) Clear(storage.MVCCKey) error       { return errReadOnly }
