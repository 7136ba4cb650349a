package local

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/storage"
)

// gcChunkKeys bounds how many user keys one GC batch covers, so that GC
// holds write latches on a small span at a time.
const gcChunkKeys = 1000

func (s *Store) gcLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopper:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stopper:
				cancel()
			case <-ctx.Done():
			}
		}()
		threshold := s.clock.Now().Add(-s.cfg.GCTTL)
		if n, err := s.GC(ctx, threshold); errors.As(err, new(*kvpb.NotLeaseHolderError)) {
			// Only the leaseholder collects; its writes replicate.
		} else if err != nil {
			log.Printf("kv: GC pass failed: %v", err)
		} else if n > 0 {
			log.Printf("kv: GC removed %d versions older than %s", n, threshold.GoTime().Format(time.RFC3339))
		}
		cancel()
	}
}

// GC removes versions shadowed at or below threshold across the user
// keyspace, one chunk of keys at a time, and returns how many it removed.
// Reads below threshold fail afterwards with BatchTimestampBeforeGCError.
func (s *Store) GC(ctx context.Context, threshold hlc.Timestamp) (int, error) {
	total := 0
	start := kvpb.Key(keys.LocalMax)
	for start != nil {
		end, err := s.gcChunkEnd(start)
		if err != nil {
			return total, err
		}
		chunkEnd := end
		if chunkEnd == nil {
			chunkEnd = keys.MaxKey
		}
		ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: s.clock.Now()}}
		ba.Add(&kvpb.GCRequest{Span: kvpb.Span{Key: start, EndKey: chunkEnd}, Threshold: threshold})
		resp, err := s.Send(ctx, ba)
		if err != nil {
			return total, err
		}
		total += resp.Responses[0].(*kvpb.GCResponse).Removed
		start = end
	}
	return total, nil
}

// gcChunkEnd returns the key gcChunkKeys user keys after start, or nil when
// fewer remain.
func (s *Store) gcChunkEnd(start kvpb.Key) (kvpb.Key, error) {
	it, err := s.engine.NewIter(storage.IterOptions{LowerBound: start, UpperBound: keys.MaxKey})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	n := 0
	for ok := it.SeekGE(storage.MVCCKey{Key: start}); ok; ok = it.NextPrefix() {
		if n == gcChunkKeys {
			return append(kvpb.Key(nil), it.Key().Key...), nil
		}
		n++
	}
	return nil, it.Err()
}
