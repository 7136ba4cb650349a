package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The cluster service carries cluster-formation calls (init, join,
// decommission) as opaque bytes: the server package owns their encoding.
// It is served even before the node has an ID, and CallCluster dials an
// address directly, so a node that has not joined can use it.
const clusterMethod = "/outpost.Cluster/Call"

// ClusterHandler serves one cluster call.
type ClusterHandler func(ctx context.Context, req []byte) ([]byte, error)

// SetClusterHandler sets the handler of cluster calls made to this node.
func (n *Node) SetClusterHandler(h ClusterHandler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.cluster = h
}

func serveCluster(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	n := srv.(*Node)
	var req []byte
	if err := dec(&req); err != nil {
		return nil, err
	}
	n.mu.Lock()
	h := n.mu.cluster
	n.mu.Unlock()
	if h == nil {
		return nil, status.Error(codes.Unavailable, "rpc: node is not ready for cluster calls")
	}
	resp, err := h(ctx, req)
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &resp, nil
}

// ErrClusterCall wraps the error a cluster call's handler returned.
var ErrClusterCall = errors.New("cluster call failed")

// CallCluster makes one cluster call to the node listening at addr.
func CallCluster(ctx context.Context, addr string, req []byte) ([]byte, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		return nil, fmt.Errorf("rpc: dialling %s: %w: %w", addr, ErrUnavailable, err)
	}
	defer cc.Close()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	var resp []byte
	if err := cc.Invoke(ctx, clusterMethod, &req, &resp); err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.FailedPrecondition {
			return nil, fmt.Errorf("%w: %s", ErrClusterCall, st.Message())
		}
		return nil, fmt.Errorf("rpc: %s: %w: %w", addr, ErrUnavailable, err)
	}
	return resp, nil
}
