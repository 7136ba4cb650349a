package local

import (
	"context"
	"fmt"

	"github.com/outpostdb/outpost/kv/eval"
	"github.com/outpostdb/outpost/kv/kvpb"
)

// EvaluateFollowerRead evaluates a read-only batch at its fixed timestamp
// on this replica's data without a lease, latches or the timestamp cache.
// The caller (a follower replica) has checked that the timestamp is closed
// and applied here: no write at or below it can still arrive, so nothing
// needs to be held and nothing recorded. An intent at or below the
// timestamp comes back as a *kvpb.WriteIntentError: its transaction may
// still commit there, which only the leaseholder can settle.
func (s *Store) EvaluateFollowerRead(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	if !ba.IsReadOnly() {
		return nil, fmt.Errorf("%w: a follower read must be read-only", kvpb.ErrMalformedBatch)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ec := eval.Context{NodeID: s.cfg.NodeID, RangeID: s.cfg.RangeID, Now: s.clock.Now(), GCThreshold: *s.gcThreshold.Load()}
	res, err := eval.Evaluate(readOnly{s.engine}, ba, ec)
	if err != nil {
		return nil, err
	}
	return res.Response, nil
}
