package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
)

// divide sends a batch that spans several ranges as one part per range
// and merges the responses.
//
// Requests are taken in runs of one direction (reverse scans, or
// anything else), one run after the other, so that requests on the same
// key keep their order. Within a run the ranges are visited in key order
// (reverse: descending), each range once, with every request of the run
// that overlaps it, truncated to it; a request on one key is never split,
// so requests on the same key stay in one part in their batch order. An
// EndTxn (always last) goes alone after everything else succeeded: the
// commit must not race the writes it commits.
func (r *Router) divide(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	reqs := ba.Requests
	var endTxn kvpb.Request
	if n := len(reqs); n > 0 && reqs[n-1].Method() == kvpb.EndTxn {
		endTxn, reqs = reqs[n-1], reqs[:n-1]
	}
	acc := &txnAcc{txn: ba.Txn.Clone(), readTs: ba.Timestamp}
	if ba.Txn == nil && acc.readTs.IsEmpty() && r.cfg.Clock != nil {
		acc.readTs = r.cfg.Clock()
	}
	resps := make([]kvpb.Response, len(ba.Requests))
	for i := 0; i < len(reqs); {
		rev := isReverseScan(reqs[i])
		j := i + 1
		for j < len(reqs) && isReverseScan(reqs[j]) == rev {
			j++
		}
		if err := r.sendRun(ctx, ba, i, j, rev, resps, acc); err != nil {
			return nil, err
		}
		i = j
	}
	if endTxn != nil {
		eba := &kvpb.BatchRequest{Header: acc.header(ba.Header), Requests: []kvpb.Request{endTxn}}
		resp, err := r.send(ctx, eba)
		if err != nil {
			return nil, err
		}
		acc.update(resp)
		resps[len(resps)-1] = resp.Responses[0]
	}
	out := &kvpb.BatchResponse{Txn: acc.txn, Responses: resps}
	if ba.Txn == nil {
		out.Timestamp = acc.maxTs
	}
	return out, nil
}

// PartialWriteError is returned for a batch split across ranges when a
// part failed after earlier parts that write had applied: their intents
// exist although the batch failed (kv.Txn.Write takes them back). It
// wraps the part's error.
type PartialWriteError struct{ Err error }

func (e *PartialWriteError) Error() string { return e.Err.Error() }
func (e *PartialWriteError) Unwrap() error { return e.Err }

// PartiallyApplied marks the error for callers that cannot import this
// package (errors.As with an interface{ PartiallyApplied() }).
func (*PartialWriteError) PartiallyApplied() {}

func isReverseScan(r kvpb.Request) bool {
	s, ok := r.(*kvpb.ScanRequest)
	return ok && s.Reverse
}

// pending is the routing state of one request of a run.
type pending struct {
	idx  int
	orig kvpb.Span // the request's address
	rest kvpb.Span // what is still to be sent (points: the key)
	scan *kvpb.ScanRequest
	left int64 // rows a limited scan may still return; 0 = no limit
	done bool
}

// sendRun sends requests [lo, hi) of ba, a run of one direction, range by
// range, filling resps.
func (r *Router) sendRun(ctx context.Context, ba *kvpb.BatchRequest, lo, hi int, reverse bool, resps []kvpb.Response, acc *txnAcc) error {
	ps := make([]*pending, 0, hi-lo)
	for i := lo; i < hi; i++ {
		a := ba.AddressOf(ba.Requests[i])
		p := &pending{idx: i, orig: a, rest: a}
		if a.EndKey != nil && bytes.Compare(a.EndKey, keys.MaxKey) > 0 {
			// No range owns keys past MaxKey: a span reaching beyond
			// it ends with the last range.
			p.rest.EndKey = keys.MaxKey
		}
		if s, ok := ba.Requests[i].(*kvpb.ScanRequest); ok {
			p.scan, p.left = s, s.MaxKeys
		}
		ps = append(ps, p)
	}
	var st *search // while a range refuses parts with RangeKeyMismatchError
	backoff := time.Duration(0)
	for {
		// The next range to visit holds the lowest (reverse: highest)
		// key still to be sent, so ranges without requests are skipped.
		var cursor kvpb.Key
		found := false
		for _, p := range ps {
			if p.done {
				continue
			}
			k := p.rest.Key
			if reverse {
				k = p.rest.End()
			}
			if !found || (!reverse && keyLess(k, cursor)) || (reverse && keyLess(cursor, k)) {
				cursor, found = k, true
			}
		}
		if !found {
			return nil
		}
		desc, err := r.rangeFor(ctx, cursor, reverse)
		if err != nil {
			return err
		}
		part := &kvpb.BatchRequest{Header: acc.header(ba.Header)}
		var in []*pending
		for _, p := range ps {
			if p.done || !p.rest.Overlaps(desc.Span()) {
				continue
			}
			req, err := truncate(ba.Requests[p.idx], p.rest, desc)
			if err != nil {
				return err
			}
			if p.scan != nil && p.left > 0 {
				s := *req.(*kvpb.ScanRequest)
				s.MaxKeys = p.left
				req = &s
			}
			part.Add(req)
			in = append(in, p)
		}
		// The part goes to desc itself, not through send: send would look
		// its span up again, and a cache that disagrees with desc (desc
		// came from a meta record older than a cached descriptor of its
		// range) would divide it again, for ever. A refusal teaches the
		// cache the ranges there, and the loop looks the cursor up again.
		resp, err := r.sendToRange(ctx, desc, part)
		var mm *kvpb.RangeKeyMismatchError
		if errors.As(err, &mm) {
			r.onMismatch(desc, mm)
			if st == nil {
				st = r.newSearch()
			}
			if err := st.wait(ctx, backoff, desc.RangeID, err); err != nil {
				return err
			}
			backoff = min(max(2*backoff, time.Millisecond), 100*time.Millisecond)
			continue
		}
		st, backoff = nil, 0
		if err != nil {
			if acc.wrote {
				return &PartialWriteError{Err: err}
			}
			return err
		}
		acc.update(resp)
		if !part.IsReadOnly() {
			acc.wrote = true
		}
		for k, p := range in {
			merged, err := combine(resps[p.idx], resp.Responses[k])
			if err != nil {
				return err
			}
			resps[p.idx] = merged
			p.advance(desc, reverse)
			if p.scan != nil {
				p.scanned(merged.(*kvpb.ScanResponse), resp.Responses[k].(*kvpb.ScanResponse), desc, reverse)
			}
		}
	}
}

// advance marks desc's part of p as sent.
func (p *pending) advance(desc *kvpb.RangeDescriptor, reverse bool) {
	if p.rest.IsPoint() {
		p.done = true
		return
	}
	if !reverse {
		if bytes.Compare(desc.EndKey, p.rest.EndKey) >= 0 {
			p.done = true
		} else {
			p.rest.Key = desc.EndKey
		}
	} else {
		if bytes.Compare(desc.StartKey, p.rest.Key) <= 0 {
			p.done = true
		} else {
			p.rest.EndKey = desc.StartKey
		}
	}
}

// scanned accounts for a scan part's rows against the scan's limit and
// sets the merged response's ResumeSpan when the scan stops before its
// end: where the part stopped, or (limit used up exactly at a range
// boundary) what remains past desc.
func (p *pending) scanned(merged, part *kvpb.ScanResponse, desc *kvpb.RangeDescriptor, reverse bool) {
	if rs := part.ResumeSpan; rs != nil {
		p.done = true
		if !reverse {
			merged.ResumeSpan = &kvpb.Span{Key: rs.Key, EndKey: p.orig.EndKey}
		} else {
			merged.ResumeSpan = &kvpb.Span{Key: p.orig.Key, EndKey: rs.EndKey}
		}
		return
	}
	if p.left == 0 {
		return // no limit
	}
	p.left -= int64(len(part.Rows))
	if p.left > 0 || p.done {
		return
	}
	p.done = true
	if !reverse {
		merged.ResumeSpan = &kvpb.Span{Key: desc.EndKey, EndKey: p.orig.EndKey}
	} else {
		merged.ResumeSpan = &kvpb.Span{Key: p.orig.Key, EndKey: desc.StartKey}
	}
}

// truncate returns req restricted to the part of rest (what remains of
// its address) inside desc. A request whose address lies in desc goes
// as is, whatever its type.
func truncate(req kvpb.Request, rest kvpb.Span, desc *kvpb.RangeDescriptor) (kvpb.Request, error) {
	if desc.ContainsSpan(rest) && (rest.IsPoint() || bytes.Equal(rest.Key, req.Keys().Key) && bytes.Equal(rest.EndKey, req.Keys().EndKey)) {
		return req, nil
	}
	sp := kvpb.Span{Key: rest.Key, EndKey: rest.EndKey}
	if keyLess(sp.Key, desc.StartKey) {
		sp.Key = desc.StartKey
	}
	if keyLess(desc.EndKey, sp.EndKey) {
		sp.EndKey = desc.EndKey
	}
	switch t := req.(type) {
	case *kvpb.ScanRequest:
		c := *t
		c.Span = sp
		return &c, nil
	case *kvpb.DeleteRangeRequest:
		c := *t
		c.Span = sp
		return &c, nil
	case *kvpb.ResolveIntentRequest:
		c := *t
		c.Span = sp
		return &c, nil
	case *kvpb.RefreshRequest:
		c := *t
		c.Span = sp
		return &c, nil
	case *kvpb.GCRequest:
		c := *t
		c.Span = sp
		return &c, nil
	}
	return nil, fmt.Errorf("%w: %s over %s spans several ranges and cannot be split", kvpb.ErrMalformedBatch, req.Method(), rest)
}

// combine merges the response of one more part of a request into what the
// parts before it returned (nil for the first part).
func combine(acc, part kvpb.Response) (kvpb.Response, error) {
	switch p := part.(type) {
	case *kvpb.ScanResponse:
		if acc == nil {
			// Own the merged response; ResumeSpan is set by the caller.
			return &kvpb.ScanResponse{Rows: p.Rows}, nil
		}
		if a, ok := acc.(*kvpb.ScanResponse); ok {
			a.Rows = append(a.Rows, p.Rows...)
			return a, nil
		}
	case *kvpb.DeleteRangeResponse:
		if acc == nil {
			return &kvpb.DeleteRangeResponse{Keys: p.Keys, Count: p.Count}, nil
		}
		if a, ok := acc.(*kvpb.DeleteRangeResponse); ok {
			a.Keys = append(a.Keys, p.Keys...)
			a.Count += p.Count
			return a, nil
		}
	case *kvpb.ResolveIntentResponse:
		if acc == nil {
			return &kvpb.ResolveIntentResponse{Resolved: p.Resolved}, nil
		}
		if a, ok := acc.(*kvpb.ResolveIntentResponse); ok {
			a.Resolved += p.Resolved
			return a, nil
		}
	case *kvpb.GCResponse:
		if acc == nil {
			return &kvpb.GCResponse{Removed: p.Removed}, nil
		}
		if a, ok := acc.(*kvpb.GCResponse); ok {
			a.Removed += p.Removed
			return a, nil
		}
	case *kvpb.RefreshResponse:
		if _, ok := acc.(*kvpb.RefreshResponse); ok || acc == nil {
			return p, nil
		}
	default:
		if acc == nil {
			return part, nil
		}
	}
	return nil, fmt.Errorf("router: cannot merge a %T into a %T", part, acc)
}

// txnAcc accumulates what the parts of a split batch learn: the
// transaction as updated by each part (sent on with the next), or for a
// non-transactional batch the timestamp all parts read at.
type txnAcc struct {
	txn    *kvpb.Transaction
	readTs hlc.Timestamp // non-transactional: the timestamp parts are sent with
	maxTs  hlc.Timestamp // non-transactional: the highest a part ran at
	wrote  bool          // a part with writes applied
}

func (a *txnAcc) header(h kvpb.Header) kvpb.Header {
	if a.txn != nil {
		h.Txn = a.txn.Clone()
	} else {
		h.Timestamp = a.readTs
	}
	return h
}

func (a *txnAcc) update(resp *kvpb.BatchResponse) {
	if a.txn != nil {
		if resp.Txn != nil {
			mergeTxn(a.txn, resp.Txn)
		}
		return
	}
	if a.readTs.IsEmpty() {
		// The first part's server picked the time: the rest read there too.
		a.readTs = resp.Timestamp
	}
	a.maxTs.Forward(resp.Timestamp)
}

// mergeTxn folds what a server learnt about the transaction into dst:
// timestamps only move forward, observed timestamps accumulate (the first
// reading of a node is kept, as the server does), a final status sticks.
func mergeTxn(dst, src *kvpb.Transaction) {
	dst.WriteTimestamp.Forward(src.WriteTimestamp)
	dst.ReadTimestamp.Forward(src.ReadTimestamp)
	dst.LastHeartbeat.Forward(src.LastHeartbeat)
	dst.Priority = max(dst.Priority, src.Priority)
	for _, o := range src.ObservedTimestamps {
		dst.UpdateObservedTimestamp(o.NodeID, o.Timestamp)
	}
	if src.Status.IsFinalized() {
		dst.Status = src.Status
	}
}

func keyLess(a, b []byte) bool { return bytes.Compare(a, b) < 0 }
