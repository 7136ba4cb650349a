package kv

import (
	"context"
	"log"
	"time"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// Asynchronous intent resolution.
//
// EndTxn resolves the intents on its record's range in its own batch. When
// the transaction wrote on other ranges too, the record stays, finalized and
// naming the spans there (EndTxnResponse.UnresolvedSpans), and the
// coordinator resolves those spans after returning to its caller, then
// clears the record. Until then, whoever meets one of the intents pushes,
// finds the finalized record and resolves that intent itself; if the
// coordinator dies first, the record's range GC does the cleanup
// (local.Store.GCTxnRecords). The record must not go before every intent it
// names is resolved: a missing record reads as aborted.

// maxAsyncCleanups bounds the cleanups running in the background; beyond
// it the finalizing caller runs its own (backpressure instead of an
// unbounded number of goroutines).
const maxAsyncCleanups = 64

// asyncCleanupTimeout bounds one cleanup; what it leaves is the GC's.
const asyncCleanupTimeout = time.Minute

// resolveBatchSpans bounds the ResolveIntent requests of one batch.
const resolveBatchSpans = 128

// cleanupFinalized resolves spans (the unresolved intents of the finalized
// txn) and then clears its record, in the background when a slot is free.
func (db *DB) cleanupFinalized(txn kvpb.TxnMeta, status kvpb.TxnStatus, spans []kvpb.Span) {
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), asyncCleanupTimeout)
		defer cancel()
		if err := db.resolveAndClear(ctx, txn, status, spans); err != nil {
			log.Printf("kv: cleanup of %s txn %s left to GC: %v", status, txn.Short(), err)
		}
	}
	select {
	case db.cleanupSlots <- struct{}{}:
		db.cleanups.Add(1)
		go func() {
			defer func() { <-db.cleanupSlots; db.cleanups.Done() }()
			run()
		}()
	default:
		run()
	}
}

func (db *DB) resolveAndClear(ctx context.Context, txn kvpb.TxnMeta, status kvpb.TxnStatus, spans []kvpb.Span) error {
	for len(spans) > 0 {
		n := min(len(spans), resolveBatchSpans)
		ba := &kvpb.BatchRequest{}
		for _, sp := range spans[:n] {
			ba.Add(&kvpb.ResolveIntentRequest{Span: sp, Txn: txn, Status: status})
		}
		if _, err := db.sender.Send(ctx, ba); err != nil {
			return err
		}
		spans = spans[n:]
	}
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.ClearTxnRecordRequest{Txn: txn})
	_, err := db.sender.Send(ctx, ba)
	return err
}

// WaitForCleanups waits until the background intent cleanups started so
// far are done (shutdown, tests).
func (db *DB) WaitForCleanups() { db.cleanups.Wait() }

// afterEndTxnLocked starts the cleanup of what EndTxn left unresolved.
func (t *Txn) afterEndTxnLocked(resp *kvpb.BatchResponse, status kvpb.TxnStatus) {
	if resp == nil || len(resp.Responses) == 0 {
		return
	}
	et, ok := resp.Responses[0].(*kvpb.EndTxnResponse)
	if !ok || len(et.UnresolvedSpans) == 0 {
		return
	}
	meta := t.mu.proto.TxnMeta
	if resp.Txn != nil {
		meta = resp.Txn.TxnMeta
	}
	t.db.cleanupFinalized(meta, status, et.UnresolvedSpans)
}
