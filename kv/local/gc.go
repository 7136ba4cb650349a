package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
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
		if n, err := s.GC(ctx, threshold); errors.As(err, new(*kvpb.NotLeaseHolderError)) || errors.Is(err, errStopped) {
			// Only the leaseholder collects; its writes replicate.
		} else if err != nil {
			log.Printf("kv: GC pass failed: %v", err)
		} else if n > 0 {
			log.Printf("kv: GC removed %d versions older than %s", n, threshold.GoTime().Format(time.RFC3339))
		}
		if n, err := s.GCTxnRecords(ctx); errors.As(err, new(*kvpb.NotLeaseHolderError)) || errors.Is(err, errStopped) {
		} else if err != nil {
			log.Printf("kv: transaction record GC failed: %v", err)
		} else if n > 0 {
			log.Printf("kv: GC cleaned up %d transaction records", n)
		}
		cancel()
	}
}

// userSpan returns the range's global keys, with open sides closed at the
// ends of the user keyspace.
func (s *Store) userSpan() (start, end kvpb.Key) {
	b := s.bounds()
	start, end = b.Key, b.EndKey
	if bytes.Compare(start, keys.LocalMax) < 0 {
		start = keys.LocalMax
	}
	if len(end) == 0 {
		end = keys.MaxKey
	}
	return start, end
}

// GC removes versions shadowed at or below threshold across the range's
// user keys, one chunk of keys at a time, and returns how many it removed.
// Reads below threshold fail afterwards with BatchTimestampBeforeGCError.
func (s *Store) GC(ctx context.Context, threshold hlc.Timestamp) (int, error) {
	total := 0
	start, rangeEnd := s.userSpan()
	for start != nil {
		end, err := s.gcChunkEnd(start, rangeEnd)
		if err != nil {
			return total, err
		}
		chunkEnd := end
		if chunkEnd == nil {
			chunkEnd = rangeEnd
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
// fewer remain before end.
func (s *Store) gcChunkEnd(start, end kvpb.Key) (kvpb.Key, error) {
	it, err := s.engine.NewIter(storage.IterOptions{LowerBound: start, UpperBound: end})
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

// maxRecordsPerPass bounds the records one GCTxnRecords pass handles.
const maxRecordsPerPass = 1000

// GCTxnRecords cleans up the transaction records of this range that their
// owners left behind, and returns how many it cleared or aborted:
//
//   - a finalized record that names intents, finalized more than
//     2×TxnExpiry ago (LastHeartbeat of a finalized record is when it was
//     finalized): the intents, on other ranges, are resolved through the
//     Sender, then it is deleted. Normally the coordinator does this at
//     once; a record this old means it died first.
//   - an ABORTED record that names nothing (a pusher wrote it) once the
//     transaction started more than TxnCreateFence ago: until then it is
//     what refuses a late record creation; after, age alone refuses.
//   - a pending record whose heartbeat expired is aborted (a later pass
//     deletes it).
func (s *Store) GCTxnRecords(ctx context.Context) (int, error) {
	start, end := s.userSpan()
	span := keys.TxnRecordSpan(start, end)
	now := s.clock.Now()
	var finals, stale []*kvpb.Transaction
	it, err := s.engine.NewIter(storage.IterOptions{LowerBound: span.Key, UpperBound: span.EndKey})
	if err != nil {
		return 0, err
	}
	for ok := it.SeekGE(storage.MVCCKey{Key: span.Key}); ok && len(finals)+len(stale) < maxRecordsPerPass; ok = it.Next() {
		if it.Key().IsVersioned() {
			continue
		}
		raw, err := it.Value()
		if err != nil {
			it.Close()
			return 0, err
		}
		rec, err := kvpb.DecodeTransaction(raw)
		if err != nil {
			it.Close()
			return 0, fmt.Errorf("local: transaction record %q: %w", it.Key().Key, err)
		}
		switch {
		case rec.Status.IsFinalized() && rec.LastHeartbeat.Add(2*s.cfg.TxnExpiry).Less(now) &&
			(len(rec.LockSpans) > 0 || rec.MinTimestamp.Add(s.cfg.TxnCreateFence).Less(now)):
			finals = append(finals, rec)
		case rec.Status == kvpb.PENDING && rec.LastHeartbeat.Add(s.cfg.TxnExpiry).Less(now):
			stale = append(stale, rec)
		}
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return 0, err
	}
	if len(finals)+len(stale) == 0 {
		return 0, nil
	}
	// Only the leaseholder cleans up (its writes replicate): ask before
	// resolving anything elsewhere.
	probe := stale
	if len(finals) > 0 {
		probe = finals
	}
	if _, err := s.sendLocal(ctx, &kvpb.QueryTxnRequest{Txn: probe[0].TxnMeta}); err != nil {
		return 0, err
	}
	n := 0
	var firstErr error
	for _, rec := range stale {
		if _, err := s.sendLocal(ctx, &kvpb.PushTxnRequest{Pushee: rec.TxnMeta, NoWait: true}); err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		n++
	}
	for _, rec := range finals {
		if err := ResolveSpans(ctx, s.sender(), rec.TxnMeta, rec.Status, rec.LockSpans); err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		if _, err := s.sendLocal(ctx, &kvpb.ClearTxnRecordRequest{Txn: rec.TxnMeta}); err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		n++
	}
	return n, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// sendLocal serves one request of this range on this store.
func (s *Store) sendLocal(ctx context.Context, req kvpb.Request) (kvpb.Response, error) {
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: s.clock.Now()}}
	ba.Add(req)
	resp, err := s.Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	return resp.Responses[0], nil
}

// resolveBatchSpans bounds the ResolveIntent requests of one batch.
const resolveBatchSpans = 128

// ResolveSpans resolves the intents of txn in spans (on any range) to
// status through sender, in batches. It is how whoever finalized a record
// that names intents on other ranges cleans them up before clearing the
// record: only once it returns nil may the record go.
func ResolveSpans(ctx context.Context, sender kvrpc.Handler, txn kvpb.TxnMeta, status kvpb.TxnStatus, spans []kvpb.Span) error {
	for len(spans) > 0 {
		n := min(len(spans), resolveBatchSpans)
		ba := &kvpb.BatchRequest{}
		for _, sp := range spans[:n] {
			ba.Add(&kvpb.ResolveIntentRequest{Span: sp, Txn: txn, Status: status})
		}
		if _, err := sender.Send(ctx, ba); err != nil {
			return fmt.Errorf("resolving intents of txn %s: %w", txn.Short(), err)
		}
		spans = spans[n:]
	}
	return nil
}
