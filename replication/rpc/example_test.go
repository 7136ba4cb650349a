package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication/rpc"
	"github.com/outpostdb/outpost/replication/transport"
)

type store struct{ node int32 }

// Send implements kvrpc.Handler: a conditional put whose condition fails.
func (s store) Send(_ context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	return nil, &kvpb.ConditionFailedError{ActualValue: []byte("on n2")}
}

// Example wires two nodes as cmd/internal/server would: a resolver over the
// nodes' addresses, the raft transport, and a batch handler.
func Example() {
	var mu sync.Mutex
	addrs := map[int32]string{}
	resolve := func(id int32) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := addrs[id]; ok {
			return a, nil
		}
		return "", fmt.Errorf("n%d unknown", id)
	}
	nodes := map[int32]*rpc.Node{}
	for id := int32(1); id <= 2; id++ {
		n, err := rpc.NewNode(rpc.Config{NodeID: id, Resolver: resolve})
		if err != nil {
			panic(err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		if err := n.Start(lis); err != nil {
			panic(err)
		}
		defer n.Stop()
		mu.Lock()
		addrs[id] = n.Addr().String()
		mu.Unlock()
		nodes[id] = n
	}

	// Raft: node 2's store listens; node 1 sends.
	got := make(chan string, 1)
	stop := nodes[2].Raft().Listen(2, transport.HandlerFunc(func(_ context.Context, from int32, msgs []transport.Message) {
		got <- fmt.Sprintf("n2 got %d raft message(s) for r%d from n%d", len(msgs), msgs[0].RangeID, from)
	}))
	defer stop()
	var tr transport.Transport = nodes[1].Raft()
	_ = tr.Send(1, 2, []transport.Message{{RangeID: 7, Msg: &raftpb.Message{Type: raftpb.MessageType_MsgHeartbeat.Enum()}}})
	fmt.Println(<-got)

	// Batches: node 2 serves its store; node 1 gets a kvrpc.Handler for n2.
	nodes[2].SetBatchHandler(store{node: 2})
	_, err := nodes[1].Handler(2).Send(context.Background(), &kvpb.BatchRequest{Requests: []kvpb.Request{
		&kvpb.ConditionalPutRequest{Key: kvpb.Key("k"), Value: []byte("v")},
	}})
	var cfe *kvpb.ConditionFailedError
	fmt.Printf("typed error across the wire: %v (actual %q)\n", errors.As(err, &cfe), cfe.ActualValue)
	// Output:
	// n2 got 1 raft message(s) for r7 from n1
	// typed error across the wire: true (actual "on n2")
}
