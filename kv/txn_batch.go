package kv

import (
	"context"
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
	return err
}
