package kv

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// FutureTimestampError reports a historical read asked at a time the
// gateway's clock has not reached: its result could still change, since a
// write may yet land at or below it.
type FutureTimestampError struct {
	Timestamp, Now hlc.Timestamp
}

func (e *FutureTimestampError) Error() string {
	return fmt.Sprintf("kv: read timestamp %s is in the future (now %s)", e.Timestamp, e.Now)
}

// NewReadOnlyTxnAt starts a read-only transaction whose reads all happen at
// ts (SQL's AS OF SYSTEM TIME). ts must not be after the clock's current
// time (*FutureTimestampError).
//
// Such a transaction never restarts and has no uncertainty interval: its
// timestamp was chosen by the client, not by the gateway's clock, so there
// is no "real time" ordering with concurrent writers to preserve; a value
// written above ts is simply not visible, whatever the clocks say. (A
// reader whose timestamp comes from a clock must treat values within the
// max offset above it as possibly earlier in real time; a reader at a fixed
// past timestamp has nothing to order itself after.) Intents at or below ts
// are still waited for or pushed like any read's, so the result is exactly
// the committed state as of ts. Every write fails with
// kvpb.ErrWriteInReadOnlyTxn before reaching the store. Commit is a no-op.
func (db *DB) NewReadOnlyTxnAt(name string, ts hlc.Timestamp) (*Txn, error) {
	if now := db.clock.Now(); now.Less(ts) {
		return nil, &FutureTimestampError{Timestamp: ts, Now: now}
	}
	proto := &kvpb.Transaction{
		TxnMeta: kvpb.TxnMeta{
			ID:             uuid.New(),
			WriteTimestamp: ts,
			MinTimestamp:   ts,
		},
		Name:          name,
		ReadTimestamp: ts,
		// No uncertainty: LocalUncertaintyLimit never goes below
		// ReadTimestamp, so the limit equal to it disables the check.
		GlobalUncertaintyLimit: ts,
		Coordinator:            db.cfg.Coordinator,
	}
	t := &Txn{db: db, readOnly: true, fixedTimestamp: true}
	t.mu.proto = proto
	return t, nil
}

// SetFollowerReads sets how the transaction's follower reads (it reads at
// a fixed timestamp: NewReadOnlyTxnAt) are sent: a local replica that has
// not closed the timestamp yet may wait up to wait for it
// (kvpb.Header.FollowerReadWait; 0: refuse at once), and the router
// records in log (nil: nowhere) which replicas served them. The caller may
// change both between statements.
func (t *Txn) SetFollowerReads(wait time.Duration, log *kvrpc.ReadLog) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.followerReadWait, t.mu.readLog = wait, log
}

// SetReadOnly makes every later write of the transaction fail with
// kvpb.ErrWriteInReadOnlyTxn (SQL's BEGIN READ ONLY). It cannot be undone.
func (t *Txn) SetReadOnly() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.readOnly = true
}

// IsReadOnly reports whether the transaction refuses writes.
func (t *Txn) IsReadOnly() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readOnly
}

// Unused reports whether the transaction has neither read nor written
// anything yet, so that a caller may still replace it (for example by a
// transaction at a fixed historical timestamp) without losing work.
func (t *Txn) Unused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.state == txnOpen && !t.mu.hasRecord && len(t.mu.lockSpans) == 0 && len(t.mu.refreshSpans) == 0
}

// Wrote reports whether the transaction has written (so that its commit
// timestamp orders a write others may want to observe).
func (t *Txn) Wrote() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.hasRecord || len(t.mu.lockSpans) > 0
}

// checkWritableLocked refuses a write batch in a read-only transaction.
func (t *Txn) checkWritableLocked(writes bool) error {
	if writes && t.readOnly {
		return kvpb.ErrWriteInReadOnlyTxn
	}
	return nil
}
