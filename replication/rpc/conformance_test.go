package rpc

import (
	"context"
	"iter"
	"testing"

	"github.com/outpostdb/outpost/replication/transport"
	"github.com/outpostdb/outpost/replication/transport/transporttest"
)

// clusterTransport presents the raft transports of a test cluster's nodes
// as one transport.Transport: Send(from, …) goes through node from's
// transport, Listen(node, …) registers on node's.
type clusterTransport struct{ c *testCluster }

func (ct clusterTransport) Send(from, to int32, msgs []transport.Message) error {
	return ct.c.node(from).Raft().Send(from, to, msgs)
}

func (ct clusterTransport) Listen(node int32, h transport.Handler) func() {
	return ct.c.node(node).Raft().Listen(node, h)
}

// Close stops every node (Node.Stop closes its raft transport).
func (ct clusterTransport) Close() error {
	for id := int32(1); id <= 4; id++ {
		ct.c.node(id).Stop()
	}
	return nil
}

func TestRaftConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transporttest.Env {
		c := newCluster(t, 4, nil)
		return transporttest.Env{Transport: clusterTransport{c}, Faults: c.faults}
	})
}

func (ct clusterTransport) SendSnapshot(ctx context.Context, from, to int32, h transport.SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	return ct.c.node(from).Raft().SendSnapshot(ctx, from, to, h, chunks)
}

func (ct clusterTransport) ListenSnapshots(node int32, h transport.SnapshotHandler) func() {
	return ct.c.node(node).Raft().ListenSnapshots(node, h)
}
