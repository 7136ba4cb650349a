package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// ErrTxnDone is returned by operations on a committed or rolled back
// transaction.
var ErrTxnDone = errors.New("kv: transaction already finished")

type txnState int8

const (
	txnOpen txnState = iota
	txnNeedsRestart
	txnCommitted
	txnAborted
)

// maxRefreshSpans bounds the memory of read tracking; beyond it the spans
// collapse to their bounding span (refreshes get coarser, never wrong).
const maxRefreshSpans = 4096

// Txn coordinates one transaction. Its operations must be called from one
// goroutine at a time; only the heartbeat goroutine runs beside them, and it
// touches state under mu.
type Txn struct {
	db *DB
	// readOnly: writes fail (NewReadOnlyTxnAt, SetReadOnly). Guarded by mu.
	readOnly bool
	// fixedTimestamp: every read is at a timestamp the client chose
	// (NewReadOnlyTxnAt), so any replica whose closed timestamp covers it
	// may serve (kvpb.Header.FollowerRead).
	fixedTimestamp bool

	mu struct {
		sync.Mutex
		proto        *kvpb.Transaction
		state        txnState
		retryErr     error // set with txnNeedsRestart
		hasRecord    bool
		lockSpans    []kvpb.Span
		refreshSpans []kvpb.Span
		stopHB       func()
		// savepoints, innermost last: the value each key had when the
		// savepoint was taken, recorded before the first write to the key
		// after it (nil = absent).
		savepoints []map[string][]byte

		// failedWrites are the spans of write batches that failed: split
		// across ranges, a batch can fail after some of its parts wrote
		// intents. Rollback removes them; Commit does not make them lock
		// spans (the caller was told the writes failed).
		failedWrites []kvpb.Span

		// followerReadWait and readLog apply to follower reads
		// (fixedTimestamp): see SetFollowerReads.
		followerReadWait time.Duration
		readLog          *kvrpc.ReadLog
	}
}

// ID returns the transaction's ID.
func (t *Txn) ID() kvpb.TxnID {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.proto.ID
}

// ReadTimestamp returns the current read timestamp.
func (t *Txn) ReadTimestamp() hlc.Timestamp {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.proto.ReadTimestamp
}

// CommitTimestamp returns the timestamp the transaction commits (or
// committed) at.
func (t *Txn) CommitTimestamp() hlc.Timestamp {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.proto.WriteTimestamp
}

// Get reads key (nil when absent).
func (t *Txn) Get(ctx context.Context, key kvpb.Key) ([]byte, error) {
	resp, err := t.send(ctx, &kvpb.GetRequest{Key: key})
	if err != nil {
		return nil, err
	}
	return resp.Responses[0].(*kvpb.GetResponse).Value, nil
}

// Scan reads up to maxRows (0 = all) live keys of [start, end) in order.
func (t *Txn) Scan(ctx context.Context, start, end kvpb.Key, maxRows int64) ([]kvpb.KeyValue, error) {
	return t.scan(ctx, start, end, maxRows, false)
}

// ReverseScan is Scan in descending key order.
func (t *Txn) ReverseScan(ctx context.Context, start, end kvpb.Key, maxRows int64) ([]kvpb.KeyValue, error) {
	return t.scan(ctx, start, end, maxRows, true)
}

func (t *Txn) scan(ctx context.Context, start, end kvpb.Key, maxRows int64, reverse bool) ([]kvpb.KeyValue, error) {
	resp, err := t.send(ctx, &kvpb.ScanRequest{Span: kvpb.Span{Key: start, EndKey: end}, MaxKeys: maxRows, Reverse: reverse})
	if err != nil {
		return nil, err
	}
	return resp.Responses[0].(*kvpb.ScanResponse).Rows, nil
}

// Put writes value at key.
func (t *Txn) Put(ctx context.Context, key kvpb.Key, value []byte) error {
	if err := t.beforeWrite(ctx, key, nil); err != nil {
		return err
	}
	_, err := t.send(ctx, &kvpb.PutRequest{Key: key, Value: value})
	return err
}

// ConditionalPut writes value if the current value equals exp (nil: the key
// must be absent), else fails with *kvpb.ConditionFailedError; the
// transaction stays usable after that failure.
func (t *Txn) ConditionalPut(ctx context.Context, key kvpb.Key, value, exp []byte) error {
	if err := t.beforeWrite(ctx, key, nil); err != nil {
		return err
	}
	_, err := t.send(ctx, &kvpb.ConditionalPutRequest{Key: key, Value: value, ExpValue: exp})
	return err
}

// Delete deletes key and reports whether it held a live value.
func (t *Txn) Delete(ctx context.Context, key kvpb.Key) (bool, error) {
	if err := t.beforeWrite(ctx, key, nil); err != nil {
		return false, err
	}
	resp, err := t.send(ctx, &kvpb.DeleteRequest{Key: key})
	if err != nil {
		return false, err
	}
	return resp.Responses[0].(*kvpb.DeleteResponse).Found, nil
}

// DeleteRange deletes every live key of [start, end) and returns how many.
func (t *Txn) DeleteRange(ctx context.Context, start, end kvpb.Key) (int64, error) {
	if err := t.beforeWrite(ctx, start, end); err != nil {
		return 0, err
	}
	resp, err := t.send(ctx, &kvpb.DeleteRangeRequest{Span: kvpb.Span{Key: start, EndKey: end}})
	if err != nil {
		return 0, err
	}
	return resp.Responses[0].(*kvpb.DeleteRangeResponse).Count, nil
}

func (t *Txn) checkOpenLocked() error {
	switch t.mu.state {
	case txnOpen:
		return nil
	case txnNeedsRestart:
		return t.mu.retryErr
	}
	return ErrTxnDone
}

// send runs one batch of the transaction's requests.
func (t *Txn) send(ctx context.Context, reqs ...kvpb.Request) (*kvpb.BatchResponse, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(); err != nil {
		return nil, err
	}
	writes := false
	for _, r := range reqs {
		if r.Method().IsWrite() {
			writes = true
			if t.mu.proto.Key == nil {
				t.mu.proto.Key = append(kvpb.Key(nil), r.Keys().Key...)
			}
		}
	}
	if err := t.checkWritableLocked(writes); err != nil {
		return nil, err
	}
	createRecord := writes && !t.mu.hasRecord
	if createRecord {
		reqs = append([]kvpb.Request{&kvpb.HeartbeatTxnRequest{Create: true}}, reqs...)
	}
	for {
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: t.mu.proto.Clone(), LockTimeout: lockTimeout(ctx),
			FollowerRead: t.fixedTimestamp && !writes}, Requests: reqs}
		sctx := ctx
		if ba.FollowerRead {
			ba.FollowerReadWait = t.mu.followerReadWait
			if t.mu.readLog != nil {
				sctx = kvrpc.WithReadLog(ctx, t.mu.readLog)
			}
		}
		resp, err := t.db.sender.Send(sctx, ba)
		var unc *kvpb.ReadWithinUncertaintyIntervalError
		if errors.As(err, &unc) {
			// A value we may not order ourselves before: move the read
			// timestamp above it, if our earlier reads still hold there.
			if rerr := t.refreshLocked(ctx, unc.ExistingTimestamp); rerr != nil {
				return nil, t.restartLocked(&kvpb.TransactionRetryError{Reason: kvpb.RetryUncertainty, Msg: err.Error()})
			}
			continue
		}
		if err != nil {
			for _, r := range reqs {
				if r.Method().IsWrite() {
					t.mu.failedWrites = append(t.mu.failedWrites, r.Keys())
				}
			}
			if kvpb.IsRetryable(err) {
				return nil, t.restartLocked(err)
			}
			return nil, err
		}
		t.updateLocked(resp.Txn)
		if createRecord {
			t.mu.hasRecord = true
			t.startHeartbeatLocked()
			resp.Responses = resp.Responses[1:]
		}
		for _, r := range reqs {
			m := r.Method()
			if m.IsWrite() {
				t.mu.lockSpans = append(t.mu.lockSpans, r.Keys())
			}
			if m == kvpb.Get || m == kvpb.Scan || m == kvpb.DeleteRange {
				t.addRefreshSpanLocked(r.Keys())
			}
		}
		return resp, nil
	}
}

func (t *Txn) updateLocked(txn *kvpb.Transaction) {
	if txn == nil {
		return
	}
	p := t.mu.proto
	p.WriteTimestamp.Forward(txn.WriteTimestamp)
	for _, o := range txn.ObservedTimestamps {
		p.UpdateObservedTimestamp(o.NodeID, o.Timestamp)
	}
}

func (t *Txn) addRefreshSpanLocked(s kvpb.Span) {
	t.mu.refreshSpans = append(t.mu.refreshSpans, s)
	if len(t.mu.refreshSpans) <= maxRefreshSpans {
		return
	}
	lo, hi := t.mu.refreshSpans[0].Key, t.mu.refreshSpans[0].End()
	for _, sp := range t.mu.refreshSpans[1:] {
		if bytes.Compare(sp.Key, lo) < 0 {
			lo = sp.Key
		}
		if e := sp.End(); bytes.Compare(e, hi) > 0 {
			hi = e
		}
	}
	t.mu.refreshSpans = []kvpb.Span{{Key: lo, EndKey: hi}}
}

// refreshLocked moves the read timestamp to ts (and the write timestamp at
// least there) if nothing was written in the read spans since the current
// read timestamp.
func (t *Txn) refreshLocked(ctx context.Context, ts hlc.Timestamp) error {
	p := t.mu.proto
	if ts.LessEq(p.ReadTimestamp) {
		return nil
	}
	to := hlc.Max(ts, p.WriteTimestamp)
	if len(t.mu.refreshSpans) > 0 {
		txn := p.Clone()
		txn.WriteTimestamp = to
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
		for _, s := range t.mu.refreshSpans {
			ba.Add(&kvpb.RefreshRequest{Span: s, RefreshFrom: p.ReadTimestamp})
		}
		if _, err := t.db.sender.Send(ctx, ba); err != nil {
			return err
		}
	}
	p.ReadTimestamp = to
	p.WriteTimestamp = to
	return nil
}

func (t *Txn) restartLocked(err error) error {
	t.mu.state = txnNeedsRestart
	t.mu.retryErr = err
	return err
}

func (t *Txn) startHeartbeatLocked() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.mu.stopHB = func() { cancel(); <-done }
	go func() {
		defer close(done)
		tick := time.NewTicker(t.db.cfg.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			t.mu.Lock()
			txn := t.mu.proto.Clone()
			t.mu.Unlock()
			ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn}}
			ba.Add(&kvpb.HeartbeatTxnRequest{Now: t.db.clock.Now()})
			if _, err := t.db.sender.Send(ctx, ba); err != nil && ctx.Err() == nil {
				var ae *kvpb.TransactionAbortedError
				if errors.As(err, &ae) {
					t.mu.Lock()
					if t.mu.state == txnOpen {
						t.restartLocked(err)
					}
					t.mu.Unlock()
					return
				}
			}
		}
	}()
}

func (t *Txn) stopHeartbeatLocked() {
	if stop := t.mu.stopHB; stop != nil {
		t.mu.stopHB = nil
		t.mu.Unlock()
		stop() // the heartbeat goroutine may need mu to finish
		t.mu.Lock()
	}
}

// Commit commits the transaction. It returns only once the commit is
// durable. On a retryable error the transaction is rolled back.
func (t *Txn) Commit(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(); err != nil {
		return err
	}
	if !t.mu.hasRecord {
		// Read-only: its reads were all served at ReadTimestamp and
		// recorded in the timestamp cache; there is nothing to commit.
		t.mu.state = txnCommitted
		return nil
	}
	t.stopHeartbeatLocked()
	p := t.mu.proto
	if p.ReadTimestamp.Less(p.WriteTimestamp) {
		if err := t.refreshLocked(ctx, p.WriteTimestamp); err != nil {
			if !kvpb.IsRetryable(err) {
				err = &kvpb.TransactionRetryError{Reason: kvpb.RetrySerializable, Msg: err.Error()}
			}
			return t.restartLocked(err)
		}
	}
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: p.Clone()}}
	ba.Add(&kvpb.EndTxnRequest{Commit: true, LockSpans: condense(t.mu.lockSpans)})
	resp, err := t.db.sender.Send(ctx, ba)
	if err != nil {
		if kvpb.IsRetryable(err) {
			return t.restartLocked(err)
		}
		return fmt.Errorf("kv: commit: %w", err)
	}
	t.mu.state = txnCommitted
	t.afterEndTxnLocked(resp, kvpb.COMMITTED)
	return nil
}

// Rollback aborts the transaction and removes its intents. It is a no-op on
// a finished transaction and never fails the caller: a record it could not
// clean up is aborted by the next transaction it blocks.
func (t *Txn) Rollback(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.state == txnCommitted || t.mu.state == txnAborted {
		return
	}
	t.stopHeartbeatLocked()
	t.mu.state = txnAborted
	// Without a record, intents exist only if a failed first write batch
	// wrote some of its parts; EndTxn then removes them (and writes an
	// ABORTED record if they are on other ranges, so that the record can
	// never be created late).
	if !t.mu.hasRecord && len(t.mu.failedWrites) == 0 {
		return
	}
	// Clean up even if the caller's context is already cancelled.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: t.mu.proto.Clone()}}
	ba.Add(&kvpb.EndTxnRequest{Commit: false, LockSpans: condense(append(t.mu.lockSpans, t.mu.failedWrites...))})
	if resp, err := t.db.sender.Send(cctx, ba); err == nil {
		t.afterEndTxnLocked(resp, kvpb.ABORTED)
	}
}

// condense sorts spans and drops duplicates and points covered by ranges.
func condense(spans []kvpb.Span) []kvpb.Span {
	out := slices.Clone(spans)
	slices.SortFunc(out, func(a, b kvpb.Span) int { return bytes.Compare(a.Key, b.Key) })
	res := out[:0]
	for _, s := range out {
		if n := len(res); n > 0 {
			last := &res[n-1]
			if bytes.Compare(s.Key, last.End()) < 0 || (last.EndKey != nil && bytes.Equal(s.Key, last.EndKey)) {
				if s.EndKey == nil && last.EndKey == nil {
					continue // same point
				}
				if bytes.Compare(s.End(), last.End()) > 0 {
					last.EndKey = s.End()
				} else if last.EndKey == nil {
					last.EndKey = last.End()
				}
				continue
			}
		}
		res = append(res, s)
	}
	return res
}

// StopHeartbeatForTesting stops heartbeating the record, as if the
// coordinator died. Tests only.
func (t *Txn) StopHeartbeatForTesting() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopHeartbeatLocked()
}

// Savepoint is a position in a transaction that RollbackToSavepoint can
// return to.
type Savepoint int

// Savepoint starts a savepoint. Writes after it record the values they
// replace (one read per key, only while a savepoint is open), so that
// rolling back can restore them.
func (t *Txn) Savepoint() Savepoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.savepoints = append(t.mu.savepoints, map[string][]byte{})
	return Savepoint(len(t.mu.savepoints) - 1)
}

// ReleaseSavepoint forgets sp and the savepoints inside it; their writes
// stay.
func (t *Txn) ReleaseSavepoint(sp Savepoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(sp) < len(t.mu.savepoints) {
		t.mu.savepoints = t.mu.savepoints[:sp]
	}
}

// RollbackToSavepoint undoes every write made since sp, which stays open.
// The keys written keep their intents (locks) until the transaction ends.
func (t *Txn) RollbackToSavepoint(ctx context.Context, sp Savepoint) error {
	t.mu.Lock()
	if err := t.checkOpenLocked(); err != nil {
		t.mu.Unlock()
		return err
	}
	if int(sp) >= len(t.mu.savepoints) {
		t.mu.Unlock()
		return fmt.Errorf("kv: savepoint %d is not open", sp)
	}
	before := t.mu.savepoints[sp]
	t.mu.savepoints = t.mu.savepoints[:sp]
	t.mu.Unlock()
	for k, v := range before {
		var err error
		if v == nil {
			_, err = t.send(ctx, &kvpb.DeleteRequest{Key: kvpb.Key(k)})
		} else {
			_, err = t.send(ctx, &kvpb.PutRequest{Key: kvpb.Key(k), Value: v})
		}
		if err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.mu.savepoints = append(t.mu.savepoints, map[string][]byte{})
	t.mu.Unlock()
	return nil
}

// beforeWrite records, for every open savepoint that has not seen them, the
// current values of the keys about to be written ([key, end) when end is
// set).
func (t *Txn) beforeWrite(ctx context.Context, key, end kvpb.Key) error {
	t.mu.Lock()
	n := len(t.mu.savepoints)
	t.mu.Unlock()
	if n == 0 {
		return nil
	}
	values := map[string][]byte{}
	if end == nil {
		t.mu.Lock()
		seen := true
		for _, sp := range t.mu.savepoints {
			if _, ok := sp[string(key)]; !ok {
				seen = false
			}
		}
		t.mu.Unlock()
		if seen {
			return nil
		}
		v, err := t.Get(ctx, key)
		if err != nil {
			return err
		}
		values[string(key)] = v
	} else {
		rows, err := t.Scan(ctx, key, end, 0)
		if err != nil {
			return err
		}
		for _, r := range rows {
			values[string(r.Key)] = r.Value
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sp := range t.mu.savepoints {
		for k, v := range values {
			if _, ok := sp[k]; !ok {
				sp[k] = v
			}
		}
	}
	return nil
}

type lockTimeoutKey struct{}

// WithLockTimeout returns a context under which transactional requests
// wait at most d for other transactions' locks (SQL's lock_timeout);
// d <= 0 means no limit.
func WithLockTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, lockTimeoutKey{}, d)
}

func lockTimeout(ctx context.Context) time.Duration {
	d, _ := ctx.Value(lockTimeoutKey{}).(time.Duration)
	return d
}
