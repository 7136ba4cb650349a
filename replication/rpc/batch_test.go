package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// handlerFunc adapts a function to kvrpc.Handler.
type handlerFunc func(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error)

func (f handlerFunc) Send(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	return f(ctx, ba)
}

var _ kvrpc.Handler = handlerFunc(nil)

// keyedErrors maps a Get key to the error the test handler returns for it.
var keyedErrors = map[string]error{
	"intent": fmt.Errorf("eval: %w", &kvpb.WriteIntentError{Intents: []kvpb.Intent{{
		Key: kvpb.Key("intent"), Txn: kvpb.TxnMeta{ID: kvpb.TxnID{7}, Priority: 3}}}}),
	"retry":     &kvpb.TransactionRetryError{Reason: kvpb.RetryWriteTooOld, Msg: "newer write"},
	"aborted":   &kvpb.TransactionAbortedError{Msg: "deadlock victim"},
	"uncertain": &kvpb.ReadWithinUncertaintyIntervalError{Key: kvpb.Key("uncertain"), ReadTimestamp: hlc.Timestamp{WallTime: 5}, ExistingTimestamp: hlc.Timestamp{WallTime: 6}, LocalLimit: hlc.Timestamp{WallTime: 9}},
	"cput":      &kvpb.ConditionFailedError{ActualValue: []byte("actual")},
	"plain":     errors.New("disk on fire"),
}

// echoHandler answers each Get with its key as value, or the keyed error;
// it validates like a real handler.
func echoHandler(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
	if err := ba.Validate(); err != nil {
		return nil, err
	}
	br := &kvpb.BatchResponse{Txn: ba.Txn.Clone(), Timestamp: hlc.Timestamp{WallTime: 42}}
	for _, r := range ba.Requests {
		g, ok := r.(*kvpb.GetRequest)
		if !ok {
			br.Responses = append(br.Responses, &kvpb.PutResponse{})
			continue
		}
		if err := keyedErrors[string(g.Key)]; err != nil {
			return nil, err
		}
		br.Responses = append(br.Responses, &kvpb.GetResponse{Value: g.Key, Timestamp: hlc.Timestamp{WallTime: 1, Logical: 2}})
	}
	return br, nil
}

func get(key string) *kvpb.BatchRequest {
	return &kvpb.BatchRequest{Requests: []kvpb.Request{&kvpb.GetRequest{Key: kvpb.Key(key)}}}
}

func TestBatchRoundTrip(t *testing.T) {
	c := newCluster(t, 2, nil)
	var got *kvpb.BatchRequest
	c.node(2).SetBatchHandler(handlerFunc(func(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
		got = ba
		return echoHandler(ctx, ba)
	}))
	txn := &kvpb.Transaction{
		TxnMeta:       kvpb.TxnMeta{ID: kvpb.TxnID{1}, Key: kvpb.Key("a"), WriteTimestamp: hlc.Timestamp{WallTime: 10}},
		ReadTimestamp: hlc.Timestamp{WallTime: 10}, Name: "t",
		ObservedTimestamps: []kvpb.ObservedTimestamp{{NodeID: 2, Timestamp: hlc.Timestamp{WallTime: 11}}},
	}
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Txn: txn, WaitPolicyError: true}, Requests: []kvpb.Request{
		&kvpb.GetRequest{Key: kvpb.Key("k1")},
		&kvpb.PutRequest{Key: kvpb.Key("k2"), Value: []byte{}},
		&kvpb.GetRequest{Key: kvpb.Key("k3")},
	}}
	br, err := c.node(1).Handler(2).Send(context.Background(), ba)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ba) {
		t.Fatalf("server got %#v\nwant %#v", got, ba)
	}
	want, _ := echoHandler(context.Background(), ba)
	if !reflect.DeepEqual(br, want) {
		t.Fatalf("response %#v\nwant %#v", br, want)
	}
}

func TestBatchTypedErrors(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	h := c.node(1).Handler(2)
	ctx := context.Background()
	for key, want := range keyedErrors {
		_, err := h.Send(ctx, get(key))
		if err == nil || err.Error() != want.Error() {
			t.Fatalf("%s: error %v, want %v", key, err, want)
		}
		// The structured error arrives with its type and fields.
		var target error
		switch w := want.(type) {
		case *kvpb.TransactionRetryError, *kvpb.TransactionAbortedError, *kvpb.ReadWithinUncertaintyIntervalError, *kvpb.ConditionFailedError:
			target = w
		}
		if errors.Unwrap(want) != nil {
			target = errors.Unwrap(want)
		}
		if target == nil {
			var re *kvpb.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("%s: %#v is not a RemoteError", key, err)
			}
			continue
		}
		ptr := reflect.New(reflect.TypeOf(target))
		if !errors.As(err, ptr.Interface()) {
			t.Fatalf("%s: errors.As(%T) failed on %#v", key, target, err)
		}
		if !reflect.DeepEqual(ptr.Elem().Interface(), target) {
			t.Fatalf("%s: got %#v, want %#v", key, ptr.Elem().Interface(), target)
		}
	}
	if _, err := h.Send(ctx, get("retry")); !kvpb.IsRetryable(err) {
		t.Fatalf("retry error not retryable: %v", err)
	}
	// A malformed batch is refused by the remote Validate with the sentinel.
	if _, err := h.Send(ctx, &kvpb.BatchRequest{}); !errors.Is(err, kvpb.ErrMalformedBatch) {
		t.Fatalf("empty batch: %v", err)
	}
	// A request type the codec does not know fails before the network.
	if _, err := h.Send(ctx, &kvpb.BatchRequest{Requests: []kvpb.Request{nil}}); !errors.Is(err, kvpb.ErrUnknownRequest) {
		t.Fatalf("nil request: %v", err)
	}
}

func TestBatchHandlerPanicIsAnError(t *testing.T) {
	var logged atomic.Bool
	c := newCluster(t, 2, func(cfg *Config) {
		cfg.Logf = func(format string, args ...any) { logged.Store(true) }
	})
	c.node(2).SetBatchHandler(handlerFunc(func(context.Context, *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
		panic("boom")
	}))
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("panic: %v", err)
	}
	if !logged.Load() {
		t.Fatal("the panic was not logged")
	}
	// The node still serves.
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); err != nil {
		t.Fatal(err)
	}
}

// blockingHandler blocks until its context ends, reporting that context.
func blockingHandler(seen chan<- context.Context) kvrpc.Handler {
	return handlerFunc(func(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
		seen <- ctx
		<-ctx.Done()
		return nil, ctx.Err()
	})
}

func TestBatchDeadlinePropagates(t *testing.T) {
	c := newCluster(t, 2, nil)
	seen := make(chan context.Context, 1)
	c.node(2).SetBatchHandler(blockingHandler(seen))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	clientDeadline, _ := ctx.Deadline()
	_, err := c.node(1).SendBatch(ctx, 2, get("a"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", err)
	}
	srvCtx := <-seen
	dl, ok := srvCtx.Deadline()
	if !ok || dl.After(clientDeadline.Add(50*time.Millisecond)) {
		t.Fatalf("server deadline %v (set %v), client %v", dl, ok, clientDeadline)
	}
	select {
	case <-srvCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server context not cancelled after the deadline")
	}
}

func TestBatchCancelPropagates(t *testing.T) {
	c := newCluster(t, 2, nil)
	seen := make(chan context.Context, 1)
	c.node(2).SetBatchHandler(blockingHandler(seen))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.node(1).SendBatch(ctx, 2, get("a"))
		errc <- err
	}()
	srvCtx := <-seen
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want Canceled", err)
	}
	select {
	case <-srvCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server context not cancelled")
	}
}

func TestBatchPartitionedPeerTimesOut(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	h := c.node(1).Handler(2)
	if _, err := h.Send(context.Background(), get("a")); err != nil {
		t.Fatal(err)
	}
	c.faults.Partition([]int32{1}, []int32{2})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := h.Send(ctx, get("a")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("partitioned: %v", err)
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("partitioned call returned after %v, before its deadline", d)
	}
	// Without a deadline, the partition is detected as keepalive would.
	if _, err := h.Send(context.Background(), get("a")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("partitioned, no deadline: %v", err)
	}
	c.faults.Heal()
	if _, err := h.Send(context.Background(), get("a")); err != nil {
		t.Fatalf("healed: %v", err)
	}
}

func TestBatchDelay(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	c.faults.SetOneWayDelay(1, 2, 30*time.Millisecond)
	c.faults.SetOneWayDelay(2, 1, 20*time.Millisecond)
	start := time.Now()
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("round trip %v, want ≥ 50ms", d)
	}
}

func TestBatchUnavailable(t *testing.T) {
	c := newCluster(t, 2, nil)
	// Node 2 has no handler yet.
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no handler: %v", err)
	}
	// Node 3 does not resolve; node 2 is down.
	if _, err := c.node(1).SendBatch(context.Background(), 3, get("a")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unresolvable: %v", err)
	}
	c.node(2).Stop()
	start := time.Now()
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("down: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a down peer took %v to fail", d)
	}
	c.node(1).Stop()
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped: %v", err)
	}
}

func TestBatchAfterPeerRestart(t *testing.T) {
	c := newCluster(t, 2, nil)
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); err != nil {
		t.Fatal(err)
	}
	c.restart(2).SetBatchHandler(handlerFunc(echoHandler))
	waitFor(t, "batch after restart", func() bool {
		_, err := c.node(1).SendBatch(context.Background(), 2, get("a"))
		return err == nil
	})
}

func TestBatchTooLargeIsNotUnavailable(t *testing.T) {
	c := newCluster(t, 2, func(cfg *Config) {
		cfg.MaxMessageBytes = 128 << 10
		cfg.SnapshotChunkBytes = 64 << 10
		cfg.RaftMaxBatchBytes = 64 << 10
	})
	c.node(2).SetBatchHandler(handlerFunc(echoHandler))
	big := &kvpb.BatchRequest{Requests: []kvpb.Request{&kvpb.PutRequest{Key: kvpb.Key("k"), Value: make([]byte, 200<<10)}}}
	_, err := c.node(1).SendBatch(context.Background(), 2, big)
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("oversized batch: %v", err)
	}
}

func TestBatchLocalStopDuringCall(t *testing.T) {
	c := newCluster(t, 2, nil)
	seen := make(chan context.Context, 1)
	c.node(2).SetBatchHandler(blockingHandler(seen))
	errc := make(chan error, 1)
	go func() {
		_, err := c.node(1).SendBatch(context.Background(), 2, get("a"))
		errc <- err
	}()
	<-seen
	c.node(1).Stop()
	if err := <-errc; !errors.Is(err, ErrStopped) {
		t.Fatalf("err %v, want ErrStopped", err)
	}
}

func TestStopLetsInflightBatchFinish(t *testing.T) {
	c := newCluster(t, 2, nil)
	entered := make(chan struct{})
	c.node(2).SetBatchHandler(handlerFunc(func(ctx context.Context, ba *kvpb.BatchRequest) (*kvpb.BatchResponse, error) {
		close(entered)
		time.Sleep(200 * time.Millisecond)
		return echoHandler(ctx, ba)
	}))
	errc := make(chan error, 1)
	go func() {
		_, err := c.node(1).SendBatch(context.Background(), 2, get("a"))
		errc <- err
	}()
	<-entered
	c.node(2).Stop() // graceful: the batch in flight completes
	if err := <-errc; err != nil {
		t.Fatalf("in-flight batch during graceful stop: %v", err)
	}
	if _, err := c.node(1).SendBatch(context.Background(), 2, get("a")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after stop: %v", err)
	}
}
