package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
)

// lookupCall is one meta lookup that concurrent lookups of the same key
// wait for.
type lookupCall struct {
	done chan struct{}
	desc *kvpb.RangeDescriptor
	err  error
}

// errBeyondKeyspace is returned for addresses at or past keys.MaxKey,
// which no range owns.
var errBeyondKeyspace = fmt.Errorf("%w: key at or beyond the end of the keyspace", kvpb.ErrMalformedBatch)

// rangeFor returns the descriptor of the range containing k (reverse: the
// range containing the keys just below k), from the cache or else from
// meta.
func (r *Router) rangeFor(ctx context.Context, k kvpb.Key, reverse bool) (*kvpb.RangeDescriptor, error) {
	if (!reverse && bytes.Compare(k, keys.MaxKey) >= 0) || (reverse && bytes.Compare(k, keys.MaxKey) > 0) {
		return nil, errBeyondKeyspace
	}
	if d := r.cache.lookup(k, reverse); d != nil {
		return d, nil
	}
	key := string(k)
	if reverse {
		key = "r" + key
	} else {
		key = "f" + key
	}
	r.lookupMu.Lock()
	if c, ok := r.lookups[key]; ok {
		r.lookupMu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err == nil {
			return c.desc, nil
		}
		// The leader's failure may be its own (its context): look up
		// ourselves.
		return r.lookupMeta(ctx, k, reverse)
	}
	c := &lookupCall{done: make(chan struct{})}
	r.lookups[key] = c
	r.lookupMu.Unlock()
	c.desc, c.err = r.lookupMeta(ctx, k, reverse)
	r.lookupMu.Lock()
	delete(r.lookups, key)
	r.lookupMu.Unlock()
	close(c.done)
	return c.desc, c.err
}

// lookupMeta reads the descriptor of k's range from meta and caches it.
// The record of the range containing k is the first one after
// MetaKey(k); in reverse, the range containing the keys just below k is
// the first record at or after MetaKey(k).
func (r *Router) lookupMeta(ctx context.Context, k kvpb.Key, reverse bool) (*kvpb.RangeDescriptor, error) {
	start := kvpb.Key(keys.MetaKey(k))
	if !reverse {
		start = start.Next()
	}
	backoff := time.Millisecond
	st := r.newSearch()
	for {
		ba := &kvpb.BatchRequest{}
		ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: start, EndKey: keys.MetaMax}, MaxKeys: 1})
		resp, err := r.sendMeta(ctx, ba)
		if err != nil {
			return nil, err
		}
		rows := resp.Responses[0].(*kvpb.ScanResponse).Rows
		var desc *kvpb.RangeDescriptor
		if len(rows) == 0 {
			// No meta record at all: a cluster that has not written meta
			// yet is one range. A RangeKeyMismatchError corrects this.
			desc = &kvpb.RangeDescriptor{RangeID: 1, StartKey: keys.FirstRangeStart, EndKey: keys.MaxKey}
		} else if desc, err = kvpb.DecodeRangeDescriptor(rows[0].Value); err != nil {
			return nil, fmt.Errorf("router: meta record %s: %w", rows[0].Key, err)
		}
		if (!reverse && desc.ContainsKey(k)) ||
			(reverse && bytes.Compare(desc.StartKey, k) < 0 && bytes.Compare(k, desc.EndKey) <= 0) {
			r.cache.insert(desc)
			return desc, nil
		}
		// Meta lags behind a split (the record of k's range is not
		// written yet): the lead repairs it shortly.
		err = fmt.Errorf("meta record %s does not contain %s", desc, k)
		if err := st.wait(ctx, backoff, desc.RangeID, err); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// sendMeta sends a read of the meta span to the range holding it: by its
// cached descriptor when known, else by trying nodes.
func (r *Router) sendMeta(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	span := batchSpan(ba)
	st := r.newSearch()
	for {
		desc := r.cache.lookup(span.Key, false)
		if desc == nil || !desc.ContainsSpan(span) {
			desc = &kvpb.RangeDescriptor{RangeID: metaUnknownRangeID}
		}
		resp, err := r.sendToRange(ctx, desc, ba)
		var mm *kvpb.RangeKeyMismatchError
		if !errors.As(err, &mm) {
			return resp, err
		}
		if desc.RangeID != metaUnknownRangeID {
			r.onMismatch(desc, mm)
		}
		if err := st.wait(ctx, time.Millisecond, desc.RangeID, err); err != nil {
			return nil, err
		}
	}
}
