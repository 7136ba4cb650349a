package rpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SnapshotHeader opens a snapshot stream.
type SnapshotHeader struct {
	// RangeID is the range the snapshot is of.
	RangeID int64
	// Meta is opaque to this package: the raft metadata (raftpb.Snapshot
	// metadata, range descriptor...) the receiver needs before the data.
	Meta []byte
}

// SnapshotReceiver applies snapshots sent to this node (the Store).
//
// ReceiveSnapshot is called once per incoming snapshot, with the sender's
// node ID and header. chunks yields the chunks in order as they arrive
// (each at most Config.SnapshotChunkBytes, owned by the receiver); it ends
// after the last chunk, or yields one non-nil error (the sender aborted,
// the connection broke, ctx ended) and stops. Only the chunk being yielded
// is in memory on this side: the stream's flow control holds the sender
// back until the receiver asks for the next one. ctx is cancelled when
// the sender gives up or the node stops.
//
// The snapshot is accepted only if ReceiveSnapshot returns nil after
// chunks ended without error; its error (typed kvpb errors keep their type)
// is returned to the sender's SendSnapshot. Concurrent calls, for
// different snapshots, are possible.
type SnapshotReceiver interface {
	ReceiveSnapshot(ctx context.Context, from int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error
}

// SetSnapshotReceiver sets the receiver of snapshots sent to this node.
// Until it is set, snapshots sent here fail with ErrUnavailable.
func (n *Node) SetSnapshotReceiver(r SnapshotReceiver) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.snap = r
}

// ErrChunkTooLarge is returned by SendSnapshot for a chunk larger than
// Config.SnapshotChunkBytes.
var ErrChunkTooLarge = errors.New("rpc: snapshot chunk too large")

// SendSnapshot streams a snapshot to node to: h, then each chunk that
// chunks yields, in order. chunks is pulled as the stream drains, so a
// snapshot larger than memory can be sent from an iterator over storage;
// the iterator may reuse a chunk's buffer once the next chunk is asked for.
// An error yielded by chunks aborts the stream (the receiver sees an error)
// and is returned. The result is nil once the receiver accepted the
// snapshot, the receiver's error, a context error, or one wrapping
// ErrUnavailable.
func (n *Node) SendSnapshot(ctx context.Context, to int32, h SnapshotHeader, chunks iter.Seq2[[]byte, error]) error {
	if err := n.outboundFaults(ctx, to); err != nil {
		return n.callError(ctx, to, err)
	}
	cc, err := n.conn(to)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := cc.NewStream(n.outgoing(sctx), &snapshotStreamDesc, snapshotMethod)
	if err != nil {
		if status.Code(err) == codes.Unavailable {
			n.reresolve(to, cc)
		}
		return n.callError(ctx, to, err)
	}
	hdr := binary.AppendVarint(nil, h.RangeID)
	hdr = append(hdr, h.Meta...)
	sendErr := cs.SendMsg(&hdr)
	if sendErr == nil {
		for chunk, err := range chunks {
			if err != nil {
				cancel() // the receiver sees the stream cancelled, not ended
				return err
			}
			if len(chunk) > n.cfg.SnapshotChunkBytes {
				cancel()
				return fmt.Errorf("%w: %d bytes, limit %d", ErrChunkTooLarge, len(chunk), n.cfg.SnapshotChunkBytes)
			}
			if f := n.cfg.Faults; f != nil && f.Blocked(n.cfg.NodeID, to) {
				// A partition in the middle of the stream: nothing more
				// arrives.
				err := n.partitionWait(ctx, n.cfg.NodeID, to)
				cancel()
				return n.callError(ctx, to, err)
			}
			// gRPC may still reference a sent message after SendMsg
			// returns (it is written asynchronously); the copy lets the
			// iterator reuse its buffer.
			chunk = bytes.Clone(chunk)
			if sendErr = cs.SendMsg(&chunk); sendErr != nil {
				break // the real error comes from RecvMsg below
			}
		}
	}
	if sendErr == nil {
		sendErr = cs.CloseSend()
	}
	var resp []byte
	if err := cs.RecvMsg(&resp); err != nil {
		return n.callError(ctx, to, err)
	}
	_, remote, err := decodeResult(resp)
	if err != nil {
		return fmt.Errorf("rpc: n%d: snapshot result: %w", to, err)
	}
	return remote
}

// serveSnapshot is the handler of outpost.Snapshot/Send.
func (n *Node) serveSnapshot(ss grpc.ServerStream) error {
	ctx := ss.Context()
	from, err := fromNode(ctx)
	if err != nil {
		return err
	}
	if err := n.inboundFaults(ctx, from); err != nil {
		return err
	}
	n.mu.Lock()
	r := n.mu.snap
	n.mu.Unlock()
	if r == nil {
		return status.Errorf(codes.Unavailable, "rpc: n%d receives no snapshots yet", n.cfg.NodeID)
	}
	// The receiver's context also ends when the node stops.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(n.ctx, cancel)()

	var hdr []byte
	if err := ss.RecvMsg(&hdr); err != nil {
		return err
	}
	rangeID, l := binary.Varint(hdr)
	if l <= 0 {
		return status.Error(codes.InvalidArgument, "rpc: malformed snapshot header")
	}
	h := SnapshotHeader{RangeID: rangeID, Meta: hdr[l:]}

	complete := false
	chunks := func(yield func([]byte, error) bool) {
		for {
			var c []byte
			err := ss.RecvMsg(&c)
			if err == io.EOF {
				complete = true
				return
			}
			if err == nil && len(c) > n.cfg.SnapshotChunkBytes {
				err = fmt.Errorf("%w: %d bytes, limit %d", ErrChunkTooLarge, len(c), n.cfg.SnapshotChunkBytes)
			}
			if err != nil {
				if ctx.Err() != nil {
					err = fmt.Errorf("rpc: snapshot from n%d: %w", from, ctx.Err())
				}
				yield(nil, err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
	err = r.ReceiveSnapshot(ctx, from, h, chunks)
	if err == nil && !complete {
		err = fmt.Errorf("rpc: n%d: snapshot receiver returned before the end of the stream", n.cfg.NodeID)
	}
	var resp []byte
	if err != nil {
		resp = errorResult(err)
	} else {
		resp = []byte{resultOK}
	}
	return ss.SendMsg(&resp)
}
