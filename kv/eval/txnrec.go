package eval

import (
	"bytes"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/mvcc"
	"github.com/outpostdb/outpost/kv/storage"
)

// expired reports whether ts is more than TxnExpiry before now.
func expired(ts hlc.Timestamp, ec Context) bool {
	return ec.TxnExpiry > 0 && ts.Add(ec.TxnExpiry).Less(ec.Now)
}

// fenced reports whether a record may no longer be created for a
// transaction that started at minTs. A pusher aborts a transaction whose
// record is missing once minTs is TxnExpiry old (pushTxn), by writing an
// ABORTED record, which refuses a later creation while it exists; record GC
// removes such a record only once minTs is CreateFence old, after which age
// alone refuses. Both are evaluated on the record's range with the record
// key latched, so a creation is ordered either before the abort (which then
// finds the record) or after it. CreateFence, not TxnExpiry, bounds how
// long a transaction may run before its first write: a fence at TxnExpiry
// would abort every transaction that reads for longer than that first.
func fenced(minTs hlc.Timestamp, ec Context) bool {
	return ec.CreateFence > 0 && minTs.Add(max(ec.CreateFence, ec.TxnExpiry)).Less(ec.Now)
}

// coordinatorGone reports a record whose coordinator was a previous
// incarnation of the serving node or of the pushing node (from): it can no
// longer heartbeat or commit.
func coordinatorGone(rec *kvpb.Transaction, from kvpb.Coordinator, ec Context) bool {
	c := rec.Coordinator
	return (ec.BootID != 0 && c.NodeID == ec.NodeID && c.BootID != ec.BootID) ||
		(from.BootID != 0 && c.NodeID == from.NodeID && c.BootID != from.BootID)
}

// pushTxn decides a push on the pushee's record; see kvpb.PushTxnRequest.
// aborted reports that it wrote an ABORTED record.
func pushTxn(rw storage.ReadWriter, r *kvpb.PushTxnRequest, ec Context) (_ *kvpb.PushTxnResponse, aborted bool, _ error) {
	rec, ok, err := ReadTxnRecord(rw, r.Pushee)
	if err != nil {
		return nil, false, err
	}
	if ok && rec.Status.IsFinalized() {
		return &kvpb.PushTxnResponse{Pushee: *rec}, false, nil
	}
	abort := r.Force
	if ok {
		abort = abort || coordinatorGone(rec, r.From, ec) || expired(rec.LastHeartbeat, ec)
	} else {
		abort = abort || expired(r.Pushee.MinTimestamp, ec)
	}
	if !abort {
		if !ok {
			return &kvpb.PushTxnResponse{Pushee: kvpb.Transaction{TxnMeta: r.Pushee, Status: kvpb.PENDING}, Missing: true}, false, nil
		}
		return &kvpb.PushTxnResponse{Pushee: *rec}, false, nil
	}
	rec, err = AbortTxnRecord(rw, r.Pushee, ec.Now)
	if err != nil {
		return nil, false, err
	}
	return &kvpb.PushTxnResponse{Pushee: *rec}, true, nil
}

// clearTxnRecord deletes a finalized record.
func clearTxnRecord(rw storage.ReadWriter, meta kvpb.TxnMeta) (bool, error) {
	rec, ok, err := ReadTxnRecord(rw, meta)
	if err != nil || !ok {
		return false, err
	}
	if !rec.Status.IsFinalized() {
		return false, &kvpb.TransactionStatusError{Msg: "cannot clear the record of a pending transaction"}
	}
	return true, mvcc.ClearUnversioned(rw, keys.TransactionKey(meta.Key, meta.ID))
}

// SplitSpans splits spans into the parts inside bounds and the parts
// outside (see Context.Bounds for open ends). A point span goes whole to
// one side; a range span may contribute to both.
func SplitSpans(spans []kvpb.Span, bounds kvpb.Span) (inside, outside []kvpb.Span) {
	if len(bounds.Key) == 0 && len(bounds.EndKey) == 0 {
		return spans, nil
	}
	lo, hi := bounds.Key, bounds.EndKey
	below := func(k kvpb.Key) bool { return len(lo) > 0 && bytes.Compare(k, lo) < 0 }
	atOrAbove := func(k kvpb.Key) bool { return len(hi) > 0 && bytes.Compare(k, hi) >= 0 }
	for _, s := range spans {
		if s.EndKey == nil {
			if below(s.Key) || atOrAbove(s.Key) {
				outside = append(outside, s)
			} else {
				inside = append(inside, s)
			}
			continue
		}
		start, end := s.Key, s.EndKey
		if below(start) {
			if !below(end) && !bytes.Equal(end, lo) {
				outside = append(outside, kvpb.Span{Key: start, EndKey: lo})
				start = lo
			} else {
				outside = append(outside, s)
				continue
			}
		}
		if len(hi) > 0 && bytes.Compare(end, hi) > 0 {
			if bytes.Compare(start, hi) >= 0 {
				outside = append(outside, kvpb.Span{Key: start, EndKey: end})
				continue
			}
			outside = append(outside, kvpb.Span{Key: hi, EndKey: end})
			end = hi
		}
		inside = append(inside, kvpb.Span{Key: start, EndKey: end})
	}
	return inside, outside
}

// InBounds reports whether key lies in bounds (see Context.Bounds).
func InBounds(key kvpb.Key, bounds kvpb.Span) bool {
	return (len(bounds.Key) == 0 || bytes.Compare(key, bounds.Key) >= 0) &&
		(len(bounds.EndKey) == 0 || bytes.Compare(key, bounds.EndKey) < 0)
}
