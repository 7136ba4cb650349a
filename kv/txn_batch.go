package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// Write sends several point writes (Put, ConditionalPut, Delete) in one
// batch: one round trip, one evaluation and one storage write for all of
// them, which is what bulk loads (COPY, table rewrites) need. The batch is
// atomic: on any error, none of its writes happened and the transaction
// is as before the call (a *kvpb.ConditionFailedError does not say which
// request failed; retry them one at a time to find out). Requests are
// evaluated in order, so a later one sees the earlier ones' writes.
func (t *Txn) Write(ctx context.Context, reqs []kvpb.Request) error {
	for _, r := range reqs {
		switch r.(type) {
		case *kvpb.PutRequest, *kvpb.ConditionalPutRequest, *kvpb.DeleteRequest:
		default:
			return fmt.Errorf("kv: Txn.Write takes point writes, not %s", r.Method())
		}
		if err := t.beforeWrite(ctx, r.Keys().Key, nil); err != nil {
			return err
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	_, err := t.send(ctx, reqs...)
	var partial interface{ PartiallyApplied() }
	if err == nil || !errors.As(err, &partial) || kvpb.IsRetryable(err) || errors.Is(err, ErrTxnDone) {
		return err
	}
	// The router split the batch over several ranges and some parts
	// applied: take their writes back so that the promise above holds.
	if uerr := t.undoPartialWrite(ctx, reqs); uerr != nil {
		return uerr
	}
	return err
}

// undoPartialWrite removes the intents a failed Write may have left on
// keys this transaction had not written before. Such an intent holds no
// earlier value of ours, so resolving it as aborted restores the key. If
// the batch rewrote a key written earlier in the transaction, the earlier
// provisional value is gone: the transaction must restart.
func (t *Txn) undoPartialWrite(ctx context.Context, reqs []kvpb.Request) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkOpenLocked(); err != nil {
		return err
	}
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: t.db.clock.Now()}}
	for _, r := range reqs {
		k := r.Keys().Key
		for _, sp := range t.mu.lockSpans {
			if sp.ContainsKey(k) {
				return t.restartLocked(&kvpb.TransactionRetryError{Reason: kvpb.RetrySerializable,
					Msg: fmt.Sprintf("a failed multi-range write may have overwritten this transaction's earlier write of %s", k)})
			}
		}
		ba.Add(&kvpb.ResolveIntentRequest{Span: kvpb.Span{Key: k}, Txn: t.mu.proto.TxnMeta, Status: kvpb.ABORTED})
	}
	if _, err := t.db.sender.Send(ctx, ba); err != nil {
		return t.restartLocked(&kvpb.TransactionRetryError{Reason: kvpb.RetrySerializable,
			Msg: fmt.Sprintf("undoing a failed multi-range write: %v", err)})
	}
	return nil
}
