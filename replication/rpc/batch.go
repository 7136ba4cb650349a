package rpc

import (
	"context"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

type batchHandler = kvrpc.Handler

// Result frames answer a batch or a snapshot: resultOK followed by the
// payload (a kvpb wire BatchResponse, or nothing), or resultErr followed by
// a kvpb wire error.
const (
	resultOK  = 0
	resultErr = 1
)

func errorResult(err error) []byte { return kvpb.AppendError([]byte{resultErr}, err) }

// decodeResult splits a result frame: the payload of an OK result, or the
// sender's error.
func decodeResult(b []byte) (payload []byte, remote error, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: empty result frame", kvpb.ErrCorruptValue)
	}
	switch b[0] {
	case resultOK:
		return b[1:], nil, nil
	case resultErr:
		remote, err := kvpb.DecodeError(b[1:])
		return nil, remote, err
	}
	return nil, nil, fmt.Errorf("%w: result tag %d", kvpb.ErrCorruptValue, b[0])
}

// SetBatchHandler sets the local handler that serves batches sent to this
// node (the Store). Until it is set, batches sent here fail with
// ErrUnavailable on the caller's side.
func (n *Node) SetBatchHandler(h kvrpc.Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.batch = h
}

// SendBatch evaluates ba on node to and returns its response or error. The
// error is the remote handler's (typed kvpb errors keep their type), a
// context error of ctx (whose deadline the remote handler's context
// inherits), or one wrapping ErrUnavailable. The response is the caller's.
func (n *Node) SendBatch(ctx context.Context, to int32, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	req, err := kvpb.AppendBatchRequest(nil, ba)
	if err != nil {
		return nil, err
	}
	resp, err := n.invoke(ctx, to, batchMethod, req)
	if err != nil {
		return nil, err
	}
	payload, remote, err := decodeResult(resp)
	if err != nil {
		return nil, fmt.Errorf("rpc: n%d: batch response: %w", to, err)
	}
	if remote != nil {
		return nil, remote
	}
	br, err := kvpb.DecodeBatchResponse(payload)
	if err != nil {
		return nil, fmt.Errorf("rpc: n%d: batch response: %w", to, err)
	}
	return br, nil
}

// invoke makes one unary call of method on node to, under the injected
// faults of both directions.
func (n *Node) invoke(ctx context.Context, to int32, method string, req []byte) ([]byte, error) {
	if err := n.outboundFaults(ctx, to); err != nil {
		return nil, n.callError(ctx, to, err)
	}
	cc, err := n.conn(to)
	if err != nil {
		return nil, err
	}
	var resp []byte
	if err := cc.Invoke(n.outgoing(ctx), method, &req, &resp); err != nil {
		if status.Code(err) == codes.Unavailable {
			n.reresolve(to, cc)
		}
		return nil, n.callError(ctx, to, err)
	}
	// The response travels back over the reverse link.
	if f := n.cfg.Faults; f != nil {
		if err := n.sleep(ctx, f.Delay(to, n.NodeID())); err != nil {
			return nil, n.callError(ctx, to, err)
		}
	}
	return resp, nil
}

// remoteHandler is a kvrpc.Handler for one remote node.
type remoteHandler struct {
	n  *Node
	to int32
}

func (h remoteHandler) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	return h.n.SendBatch(ctx, h.to, ba)
}

// Handler returns a kvrpc.Handler that sends batches to node to.
func (n *Node) Handler(to int32) kvrpc.Handler { return remoteHandler{n: n, to: to} }

// acceptUnary decodes a unary call's request and names its sender, under
// the injected faults of the inbound link.
func (n *Node) acceptUnary(ctx context.Context, dec func(any) error) (req []byte, from int32, err error) {
	if err := dec(&req); err != nil {
		return nil, 0, err
	}
	if from, err = fromNode(ctx); err != nil {
		return nil, 0, err
	}
	if err := n.inboundFaults(ctx, from); err != nil {
		return nil, 0, err
	}
	return req, from, nil
}

// serveBatch is the unary handler of outpost.Batch/Send.
func serveBatch(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	n := srv.(*Node)
	req, _, err := n.acceptUnary(ctx, dec)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	h := n.mu.batch
	n.mu.Unlock()
	if h == nil {
		return nil, status.Errorf(codes.Unavailable, "rpc: n%d serves no batches yet", n.NodeID())
	}
	resp := n.evalBatch(ctx, h, req)
	return &resp, nil
}

// evalBatch decodes and evaluates one batch and encodes its result. A
// handler panic becomes an error result (and a log line with the stack):
// one bad batch must not take the node down.
func (n *Node) evalBatch(ctx context.Context, h kvrpc.Handler, req []byte) (resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			n.cfg.Logf("rpc: n%d: batch handler panic: %v\n%s", n.NodeID(), r, debug.Stack())
			resp = errorResult(fmt.Errorf("rpc: n%d: batch handler panic: %v", n.NodeID(), r))
		}
	}()
	ba, err := kvpb.DecodeBatchRequest(req)
	if err != nil {
		return errorResult(err)
	}
	br, err := h.Send(ctx, ba)
	if err != nil {
		return errorResult(err)
	}
	if br == nil {
		return errorResult(fmt.Errorf("rpc: n%d: handler returned neither response nor error", n.NodeID()))
	}
	out, err := kvpb.AppendBatchResponse([]byte{resultOK}, br)
	if err != nil {
		return errorResult(err)
	}
	return out
}
