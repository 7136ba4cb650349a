// Package router sends each batch to the replica that can serve it: today
// the leaseholder of the single range, found by trying nodes and following
// NotLeaseHolderError hints, remembered until it stops answering.
//
// Retry rules: a batch is retried on another node only when the error
// proves it was not evaluated (kvrpc.ErrUnavailable, NotLeaseHolderError).
// Anything else, AmbiguousResultError included, goes back to the caller: a
// write whose fate is unknown must not be applied twice. If no node serves
// within Config.Timeout (and the caller's deadline), Send returns a
// *kvpb.RangeUnavailableError.
//
// It imports kv/kvpb and kv/kvrpc only; never replication.
package router

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// Dialer returns a handler that sends to node, or an error wrapping
// kvrpc.ErrUnavailable.
type Dialer func(node int32) (kvrpc.Handler, error)

// Config configures a Router.
type Config struct {
	// Nodes returns the IDs of the nodes that may hold replicas.
	Nodes func() []int32
	Dial  Dialer
	// Timeout bounds the search for a serving replica. Default 10s.
	Timeout time.Duration
	// Local, if non-zero, is tried first when no leaseholder is known.
	Local int32
}

// Router is a kvrpc.Handler that routes. Safe for concurrent use.
type Router struct {
	cfg         Config
	leaseholder atomic.Int32
}

var _ kvrpc.Handler = (*Router)(nil)

// New returns a Router.
func New(cfg Config) *Router {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	r := &Router{cfg: cfg}
	r.leaseholder.Store(cfg.Local)
	return r
}

// LeaseHolder returns the node the router currently believes holds the
// lease (0 if unknown).
func (r *Router) LeaseHolder() int32 { return r.leaseholder.Load() }

// Send implements kvrpc.Handler.
func (r *Router) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	deadline := time.Now().Add(r.cfg.Timeout)
	backoff := 10 * time.Millisecond
	var lastErr error
	next := 0
	for attempt := 0; ; attempt++ {
		target := r.leaseholder.Load()
		if target == 0 {
			nodes := r.cfg.Nodes()
			if len(nodes) == 0 {
				return nil, &kvpb.RangeUnavailableError{RangeID: 1, Msg: "no nodes known"}
			}
			target = nodes[next%len(nodes)]
			next++
		}
		resp, err := r.sendTo(ctx, target, ba)
		if err == nil {
			r.leaseholder.CompareAndSwap(0, target)
			return resp, nil
		}
		var nlh *kvpb.NotLeaseHolderError
		switch {
		case errors.As(err, &nlh):
			if nlh.LeaseHolder != 0 && nlh.LeaseHolder != target {
				r.leaseholder.CompareAndSwap(target, nlh.LeaseHolder)
				if r.leaseholder.Load() == target {
					r.leaseholder.Store(nlh.LeaseHolder)
				}
				lastErr = err
				continue // a hint is worth following at once
			}
			r.leaseholder.CompareAndSwap(target, 0)
		case errors.Is(err, kvrpc.ErrUnavailable):
			r.leaseholder.CompareAndSwap(target, 0)
		default:
			return nil, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, &kvpb.RangeUnavailableError{RangeID: 1, Msg: fmt.Sprintf("no replica could serve within %s; last error: %v", r.cfg.Timeout, lastErr)}
		}
		// Cycling through every node once costs nothing; back off only
		// after a full round found no leaseholder (an election is on).
		if n := len(r.cfg.Nodes()); n == 0 || attempt%n == n-1 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, 200*time.Millisecond)
		}
	}
}

func (r *Router) sendTo(ctx context.Context, node int32, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	h, err := r.cfg.Dial(node)
	if err != nil {
		return nil, err
	}
	return h.Send(ctx, ba)
}
