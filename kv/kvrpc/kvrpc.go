// Package kvrpc defines the one seam every kv request crosses: a Handler
// evaluates a BatchRequest wherever the data lives. The single-node store
// (kv/local) implements it today; the replicated store and the network
// client implement it later, and kv.DB never knows which it talks to.
package kvrpc

import (
	"context"
	"errors"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// Handler serves batches.
//
// Contract: Send validates the batch and returns an error, never a panic, on
// malformed input. Retryable transaction conditions come back as
// *kvpb.TransactionRetryError / *kvpb.TransactionAbortedError;
// *kvpb.ReadWithinUncertaintyIntervalError asks the coordinator to refresh.
// The response's Txn is the caller's to keep. Send is safe for concurrent use.
type Handler interface {
	Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error)
}

// ErrUnavailable marks an error that proves a batch was not evaluated: the
// node is stopped or unreachable before sending. A router may retry it on
// another replica.
var ErrUnavailable = errors.New("node unavailable")
