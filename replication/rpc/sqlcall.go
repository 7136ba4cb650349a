package rpc

import (
	"context"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// The SQL service carries statements an edge node forwards to a core node
// (sql.Forwarder) as opaque bytes: package sql owns their encoding. A
// failure of the statement itself travels inside the response; an error of
// CallSQL means the call did not complete (unreachable node, context).
const sqlMethod = "/outpost.SQL/Forward"

// SQLHandler serves one forwarded call from node from.
type SQLHandler func(ctx context.Context, from int32, req []byte) []byte

// SetSQLHandler sets the handler of forwarded SQL calls made to this node.
func (n *Node) SetSQLHandler(h SQLHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.sql = h
}

// ErrNotSent wraps ErrUnavailable for a forwarded SQL call that was never
// sent: the peer was not connected within DialTimeout.
var ErrNotSent = fmt.Errorf("%w: the call was not sent", ErrUnavailable)

// CallSQL makes one forwarded SQL call to node to, under the same faults as
// batches. Unlike batches (which the router retries) a forwarded call is
// not retried, so a peer whose connection is down (say, just back from a
// partition) is given DialTimeout to reconnect, at once rather than after
// the reconnection backoff; if it does not, the error wraps ErrNotSent:
// nothing ran there.
func (n *Node) CallSQL(ctx context.Context, to int32, req []byte) ([]byte, error) {
	cc, err := n.conn(to)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if cc.GetState() != connectivity.Ready {
		cc.ResetConnectBackoff()
		if err := n.waitReady(ctx, cc); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
		}
	}
	return n.invoke(ctx, to, sqlMethod, req)
}

func serveSQL(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	n := srv.(*Node)
	req, from, err := n.acceptUnary(ctx, dec)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	h := n.mu.sql
	n.mu.Unlock()
	if h == nil {
		return nil, status.Errorf(codes.Unavailable, "rpc: n%d serves no SQL yet", n.NodeID())
	}
	resp, err := n.runSQLHandler(ctx, h, from, req)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &resp, nil
}

// runSQLHandler calls h, turning a panic into an error: one bad statement
// must not take the node down; the caller sees the call fail.
func (n *Node) runSQLHandler(ctx context.Context, h SQLHandler, from int32, req []byte) (resp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			n.cfg.Logf("rpc: n%d: SQL handler panic: %v\n%s", n.NodeID(), r, debug.Stack())
			err = fmt.Errorf("rpc: n%d: SQL handler panic: %v", n.NodeID(), r)
		}
	}()
	return h(ctx, from, req), nil
}
