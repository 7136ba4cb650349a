package replication

import (
	"bytes"
	"context"
	"time"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

// The split queue splits ranges that grew past Config.SplitThreshold. Each
// replica keeps a cheap size estimate (the engine's on-disk estimate when
// first asked, plus the bytes of every write applied since, which
// over-counts overwrites); only when the estimate passes the threshold
// does the leaseholder measure the range exactly by scanning it, and split
// it at the key where half its bytes lie.

// sizeEstimator is implemented by engines that can estimate the bytes of a
// key span on disk (storage.Pebble).
type sizeEstimator interface {
	ApproximateSize(start, end []byte) (uint64, error)
}

// splitQueuePass runs the split queue over the ranges this node holds the
// lease of.
func (s *Store) splitQueuePass() {
	for _, r := range s.Replicas() {
		if r.CheckServe(nil, s.cfg.Clock.Now()) != nil {
			continue
		}
		d := r.Desc()
		if !r.sizeKnown.Load() {
			var est uint64
			if se, ok := s.cfg.Engine.(sizeEstimator); ok {
				est, _ = se.ApproximateSize(d.StartKey, d.EndKey)
			}
			r.sizeEstimate.Store(int64(est))
			r.sizeKnown.Store(true)
		}
		if r.sizeEstimate.Load() <= s.cfg.SplitThreshold {
			continue
		}
		total, mid, err := measureRange(s.cfg.Engine, d)
		if err != nil {
			s.log.Warn("split queue: measuring the range failed", "range", d.RangeID, "err", err)
			continue
		}
		r.sizeEstimate.Store(total)
		if total <= s.cfg.SplitThreshold || mid == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(s.stopCtx, 30*time.Second)
		_, err = r.adminSplit(ctx, mid)
		cancel()
		if err != nil {
			s.log.Warn("split queue: split failed", "range", d.RangeID, "key", mid, "err", err)
			continue
		}
		s.log.Info("split queue: split a range past the size threshold", "range", d.RangeID, "bytes", total, "threshold", s.cfg.SplitThreshold)
		r.sizeKnown.Store(false) // measure the left half afresh

	}
}

// measureRange returns the bytes of every version in the range's global
// span, and the first user key at or past half of them that is a valid
// split key (nil if there is none).
func measureRange(eng storage.Engine, d kvpb.RangeDescriptor) (total int64, mid kvpb.Key, err error) {
	sum := func(stopAt int64) (int64, kvpb.Key, error) {
		it, err := eng.NewIter(storage.IterOptions{LowerBound: d.StartKey, UpperBound: d.EndKey})
		if err != nil {
			return 0, nil, err
		}
		defer it.Close()
		var n int64
		var prev []byte
		for ok := it.SeekGE(storage.MVCCKey{Key: d.StartKey}); ok; ok = it.Next() {
			k := it.Key()
			if stopAt > 0 && n >= stopAt && !bytes.Equal(k.Key, prev) &&
				bytes.Compare(k.Key, d.StartKey) > 0 && bytes.Compare(k.Key, keys.MinSplitKey) >= 0 {
				return n, append(kvpb.Key(nil), k.Key...), nil
			}
			v, err := it.Value()
			if err != nil {
				return 0, nil, err
			}
			n += int64(len(k.Key) + 12 + len(v))
			prev = append(prev[:0], k.Key...)
		}
		return n, nil, it.Err()
	}
	if total, _, err = sum(0); err != nil || total == 0 {
		return total, nil, err
	}
	_, mid, err = sum(total / 2)
	return total, mid, err
}
