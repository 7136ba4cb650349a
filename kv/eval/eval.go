// Package eval evaluates a BatchRequest against one range's data: a pure
// function from (engine snapshot, batch, context) to (response, pending
// writes in the batch, side effects for the caller).
//
// Eval never waits, never reads a clock and never touches the network; the
// caller (kv/local, on a single node or a range's leaseholder) holds
// latches, consults the timestamp cache, applies the write batch durably
// and acts on the side effects (wake waiters, update the timestamp cache).
// Transaction records are read and written only here, on the range owning
// them: HeartbeatTxn (with the record-creation fence), EndTxn (resolving
// the intents inside Context.Bounds and keeping the record for the rest),
// PushTxn, QueryTxn and ClearTxnRecord (txnrec.go).
//
// It imports kv/mvcc, kv/storage, kv/keys, kv/kvpb and kv/hlc.
package eval

import (
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

// Context is what evaluation may know about its surroundings.
type Context struct {
	NodeID  int32
	RangeID int64
	// Now is the server clock at evaluation, used for heartbeats and
	// observed timestamps.
	Now hlc.Timestamp
	// GCThreshold: reads below it fail, their versions may be gone.
	GCThreshold hlc.Timestamp
	// LeaseStart is when the serving replica's lease began (empty when
	// unreplicated): observed timestamps of this node do not cover writes
	// served before it.
	LeaseStart hlc.Timestamp
	// Bounds is the range's span of global keys, [Key, EndKey); an empty
	// Key or EndKey leaves that side open (the zero Span is the whole
	// keyspace). EndTxn resolves only the intents inside it.
	Bounds kvpb.Span
	// TxnExpiry: a pending transaction not heartbeated for this long, or
	// whose record is missing and which started longer ago, may be aborted
	// by a pusher. Zero disables this (tests of unrelated requests).
	TxnExpiry time.Duration
	// CreateFence: a record may no longer be created for a transaction
	// that started longer ago (the record-creation fence; see
	// kv/DESIGN.md). At least TxnExpiry; zero disables the fence.
	CreateFence time.Duration
	// BootID is the serving node's process incarnation: a pending record
	// whose coordinator is this node with another BootID is abandoned.
	BootID uint64
}

// Result is the outcome of a successful evaluation.
type Result struct {
	Response *kvpb.BatchResponse
	// Sync is set when the batch must be fsynced before the response is
	// released (commits, non-transactional writes, record changes).
	Sync bool
	// Finalized is set when the batch committed or aborted a transaction
	// record: waiters on it must be woken after the batch applies.
	Finalized *kvpb.Transaction
	// NewGCThreshold is set when a GC request raised the threshold.
	NewGCThreshold hlc.Timestamp
}

// Evaluate runs every request of ba against rw in order, writing into rw.
// On error rw holds partial writes and must be discarded.
func Evaluate(rw storage.ReadWriter, ba *kvpb.BatchRequest, ec Context) (*Result, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	res := &Result{Response: &kvpb.BatchResponse{}}
	var txn *kvpb.Transaction
	ts := ba.Timestamp
	if ba.Txn != nil {
		txn = ba.Txn.Clone()
		txn.UpdateObservedTimestamp(ec.NodeID, ec.Now)
		ts = txn.ReadTimestamp
	} else if ts.IsEmpty() {
		return nil, fmt.Errorf("%w: non-transactional batch without a timestamp", kvpb.ErrMalformedBatch)
	}
	readOpts := mvcc.ReadOptions{Txn: txn, Inconsistent: ba.ReadConsistency == kvpb.Inconsistent}
	if txn != nil {
		readOpts.UncertaintyLimit = txn.LocalUncertaintyLimit(ec.NodeID)
		// An observation of this node's clock says nothing about writes
		// the range's previous leaseholder made before this node's lease
		// began: values up to the lease start stay uncertain.
		if ls := hlc.Min(ec.LeaseStart, txn.GlobalUncertaintyLimit); readOpts.UncertaintyLimit.Less(ls) {
			readOpts.UncertaintyLimit = ls
		}
	}
	writeTs := func() hlc.Timestamp {
		if txn != nil {
			return txn.WriteTimestamp
		}
		return ts
	}
	wrote := func(wts hlc.Timestamp) {
		if txn != nil {
			txn.WriteTimestamp.Forward(wts)
		} else {
			ts.Forward(wts)
			res.Sync = true
		}
	}
	for _, req := range ba.Requests {
		if req.Method().IsRead() && ts.Less(ec.GCThreshold) {
			return nil, &kvpb.BatchTimestampBeforeGCError{Timestamp: ts, Threshold: ec.GCThreshold}
		}
		var resp kvpb.Response
		switch r := req.(type) {
		case *kvpb.GetRequest:
			v, vts, err := mvcc.Get(rw, r.Key, ts, readOpts)
			if err != nil {
				return nil, err
			}
			resp = &kvpb.GetResponse{Value: v, Timestamp: vts}
		case *kvpb.ScanRequest:
			rows, resume, err := mvcc.Scan(rw, r.Span.Key, r.Span.EndKey, ts, r.MaxKeys, r.Reverse, readOpts)
			if err != nil {
				return nil, err
			}
			resp = &kvpb.ScanResponse{Rows: rows, ResumeSpan: resume}
		case *kvpb.PutRequest:
			value := r.Value
			if value == nil {
				value = []byte{} // a Put of nil is an empty value, not a delete
			}
			wts, err := mvcc.Put(rw, r.Key, value, txn, writeTs())
			if err != nil {
				return nil, err
			}
			wrote(wts)
			resp = &kvpb.PutResponse{}
		case *kvpb.ConditionalPutRequest:
			value := r.Value
			if value == nil {
				value = []byte{}
			}
			wts, err := mvcc.ConditionalPut(rw, r.Key, value, r.ExpValue, txn, writeTs())
			if err != nil {
				return nil, err
			}
			wrote(wts)
			resp = &kvpb.ConditionalPutResponse{}
		case *kvpb.DeleteRequest:
			found, wts, err := mvcc.Delete(rw, r.Key, txn, writeTs())
			if err != nil {
				return nil, err
			}
			wrote(wts)
			resp = &kvpb.DeleteResponse{Found: found}
		case *kvpb.DeleteRangeRequest:
			deleted, wts, err := mvcc.DeleteRange(rw, r.Span.Key, r.Span.EndKey, txn, ts, writeTs(), readOpts)
			if err != nil {
				return nil, err
			}
			wrote(wts)
			dr := &kvpb.DeleteRangeResponse{Count: int64(len(deleted))}
			if r.ReturnKeys {
				dr.Keys = deleted
			}
			resp = dr
		case *kvpb.HeartbeatTxnRequest:
			// No fsync: a record lost in a crash goes with the intents
			// written beside it and the coordinator that would commit it.
			if err := heartbeat(rw, txn, r, ec); err != nil {
				return nil, err
			}
			resp = &kvpb.HeartbeatTxnResponse{}
		case *kvpb.EndTxnRequest:
			fin, unresolved, err := endTxn(rw, txn, r, ec)
			if err != nil {
				return nil, err
			}
			res.Finalized, res.Sync = fin, true
			txn.Status = fin.Status
			resp = &kvpb.EndTxnResponse{UnresolvedSpans: unresolved}
		case *kvpb.PushTxnRequest:
			pr, aborted, err := pushTxn(rw, r, ec)
			if err != nil {
				return nil, err
			}
			if aborted {
				res.Finalized, res.Sync = &pr.Pushee, true
			}
			resp = pr
		case *kvpb.QueryTxnRequest:
			rec, ok, err := ReadTxnRecord(rw, r.Txn)
			if err != nil {
				return nil, err
			}
			qr := &kvpb.QueryTxnResponse{Missing: !ok}
			if ok {
				qr.Txn = *rec
			} else {
				qr.Txn = kvpb.Transaction{TxnMeta: r.Txn, Status: kvpb.PENDING}
			}
			resp = qr
		case *kvpb.ClearTxnRecordRequest:
			cleared, err := clearTxnRecord(rw, r.Txn)
			if err != nil {
				return nil, err
			}
			res.Sync = res.Sync || cleared
			resp = &kvpb.ClearTxnRecordResponse{Cleared: cleared}
		case *kvpb.ResolveIntentRequest:
			var n int
			var err error
			if r.Span.EndKey == nil {
				var ok bool
				ok, err = mvcc.ResolveIntent(rw, r.Span.Key, r.Txn, r.Status, r.Txn.WriteTimestamp)
				if ok {
					n = 1
				}
			} else {
				n, err = mvcc.ResolveIntentRange(rw, r.Span.Key, r.Span.EndKey, r.Txn, r.Status, r.Txn.WriteTimestamp)
			}
			if err != nil {
				return nil, err
			}
			resp = &kvpb.ResolveIntentResponse{Resolved: n}
		case *kvpb.RefreshRequest:
			if err := mvcc.Refresh(rw, r.Span.Key, r.Span.EndKey, r.RefreshFrom, txn.WriteTimestamp, txn.ID); err != nil {
				return nil, err
			}
			resp = &kvpb.RefreshResponse{}
		case *kvpb.GCRequest:
			n, err := mvcc.GarbageCollect(rw, r.Span.Key, r.Span.EndKey, r.Threshold)
			if err != nil {
				return nil, err
			}
			if ec.GCThreshold.Less(r.Threshold) {
				if err := mvcc.PutUnversioned(rw, keys.RangeGCThresholdKey(ec.RangeID), EncodeTimestamp(r.Threshold)); err != nil {
					return nil, err
				}
				res.NewGCThreshold = r.Threshold
			}
			resp = &kvpb.GCResponse{Removed: n}
		default:
			return nil, fmt.Errorf("%w: unknown request %T", kvpb.ErrMalformedBatch, req)
		}
		res.Response.Responses = append(res.Response.Responses, resp)
	}
	res.Response.Txn = txn
	if txn == nil {
		res.Response.Timestamp = ts
	}
	return res, nil
}

func heartbeat(rw storage.ReadWriter, txn *kvpb.Transaction, r *kvpb.HeartbeatTxnRequest, ec Context) error {
	rec, ok, err := ReadTxnRecord(rw, txn.TxnMeta)
	if err != nil {
		return err
	}
	switch {
	case !ok && !r.Create:
		return &kvpb.TransactionAbortedError{Msg: "transaction record missing (aborted and cleaned up)"}
	case !ok:
		if fenced(txn.MinTimestamp, ec) {
			return &kvpb.TransactionAbortedError{Msg: fmt.Sprintf(
				"transaction record created too late: started at %s, more than %s ago (a pusher may have aborted it)",
				txn.MinTimestamp, ec.CreateFence)}
		}
		rec = txn.Clone()
		rec.Status = kvpb.PENDING
		rec.LockSpans = nil
	case rec.Status == kvpb.ABORTED:
		return &kvpb.TransactionAbortedError{Msg: "transaction record is ABORTED"}
	case rec.Status == kvpb.COMMITTED:
		return &kvpb.TransactionStatusError{Msg: "heartbeat of a committed transaction"}
	}
	hb := r.Now
	if hb.IsEmpty() {
		hb = ec.Now
	}
	rec.LastHeartbeat.Forward(hb)
	return WriteTxnRecord(rw, rec)
}

func endTxn(rw storage.ReadWriter, txn *kvpb.Transaction, r *kvpb.EndTxnRequest, ec Context) (*kvpb.Transaction, []kvpb.Span, error) {
	rec, ok, err := ReadTxnRecord(rw, txn.TxnMeta)
	if err != nil {
		return nil, nil, err
	}
	status := kvpb.ABORTED
	if r.Commit {
		switch {
		case !ok:
			return nil, nil, &kvpb.TransactionAbortedError{Msg: "transaction record missing at commit"}
		case rec.Status == kvpb.ABORTED:
			return nil, nil, &kvpb.TransactionAbortedError{Msg: "transaction record is ABORTED"}
		case rec.Status == kvpb.COMMITTED:
			return nil, nil, &kvpb.TransactionStatusError{Msg: "transaction already committed"}
		case txn.ReadTimestamp != txn.WriteTimestamp:
			return nil, nil, &kvpb.TransactionRetryError{Reason: kvpb.RetrySerializable,
				Msg: fmt.Sprintf("commit timestamp %s is above read timestamp %s", txn.WriteTimestamp, txn.ReadTimestamp)}
		}
		status = kvpb.COMMITTED
	} else if ok && rec.Status == kvpb.COMMITTED {
		return nil, nil, &kvpb.TransactionStatusError{Msg: "cannot roll back a committed transaction"}
	}
	// The intents on this range resolve in this same batch. Those on other
	// ranges are left to the caller, and the record stays, finalized and
	// naming them, until they are resolved: whoever meets one of them asks
	// the record and must learn the outcome, not find it missing (a missing
	// record reads as aborted once the transaction is old).
	inside, outside := SplitSpans(r.LockSpans, ec.Bounds)
	meta := txn.TxnMeta
	for _, s := range inside {
		var err error
		if s.EndKey == nil {
			_, err = mvcc.ResolveIntent(rw, s.Key, meta, status, meta.WriteTimestamp)
		} else {
			_, err = mvcc.ResolveIntentRange(rw, s.Key, s.EndKey, meta, status, meta.WriteTimestamp)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	fin := txn.Clone()
	fin.Status = status
	if len(outside) > 0 {
		stored := fin.Clone()
		stored.LockSpans = outside
		// LastHeartbeat of a finalized record is when it was finalized:
		// record GC goes by it.
		stored.LastHeartbeat = ec.Now
		if err := WriteTxnRecord(rw, stored); err != nil {
			return nil, nil, err
		}
		return fin, outside, nil
	}
	if ok {
		if err := mvcc.ClearUnversioned(rw, keys.TransactionKey(txn.Key, txn.ID)); err != nil {
			return nil, nil, err
		}
	}
	return fin, nil, nil
}

// ReadTxnRecord reads the record of the transaction, if it exists.
func ReadTxnRecord(r storage.Reader, meta kvpb.TxnMeta) (*kvpb.Transaction, bool, error) {
	raw, ok, err := mvcc.GetUnversioned(r, keys.TransactionKey(meta.Key, meta.ID))
	if err != nil || !ok {
		return nil, false, err
	}
	rec, err := kvpb.DecodeTransaction(raw)
	if err != nil {
		return nil, false, fmt.Errorf("transaction record %s: %w", meta.Short(), err)
	}
	return rec, true, nil
}

// WriteTxnRecord stores a transaction record.
func WriteTxnRecord(w storage.Writer, rec *kvpb.Transaction) error {
	return mvcc.PutUnversioned(w, keys.TransactionKey(rec.Key, rec.ID), kvpb.AppendTransaction(nil, rec))
}

// AbortTxnRecord marks a PENDING (or missing) record ABORTED, so that the
// transaction can never commit, and returns the record as it now stands. A
// finalized record is returned unchanged. now, the time of the abort, is
// stored as the record's LastHeartbeat (record GC goes by it).
func AbortTxnRecord(rw storage.ReadWriter, pushee kvpb.TxnMeta, now hlc.Timestamp) (*kvpb.Transaction, error) {
	rec, ok, err := ReadTxnRecord(rw, pushee)
	if err != nil {
		return nil, err
	}
	if ok && rec.Status.IsFinalized() {
		return rec, nil
	}
	if !ok {
		rec = &kvpb.Transaction{TxnMeta: pushee}
	}
	rec.Status = kvpb.ABORTED
	rec.LastHeartbeat.Forward(now)
	return rec, WriteTxnRecord(rw, rec)
}

// EncodeTimestamp encodes a timestamp for a local key's value.
func EncodeTimestamp(ts hlc.Timestamp) []byte {
	return kvpb.AppendTxnMeta(nil, &kvpb.TxnMeta{WriteTimestamp: ts})
}

// DecodeTimestamp decodes what EncodeTimestamp wrote.
func DecodeTimestamp(b []byte) (hlc.Timestamp, error) {
	m, err := kvpb.DecodeTxnMeta(b)
	return m.WriteTimestamp, err
}
