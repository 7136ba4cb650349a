package rpc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/outpostdb/outpost/replication/transport"
)

// RaftStats counts raft messages (not frames) of one ordered pair as seen
// by one node's transport: the sending node fills the send-side fields, the
// receiving node the receive-side ones. On the sender, at any time Sent =
// DroppedFault(send) + DroppedOverflow + DroppedConn + Transmitted + Queued,
// except for messages still queued at Close.
type RaftStats struct {
	// Sender side.
	Sent            uint64 // passed to Send
	DroppedOverflow uint64 // the pair's queue was full
	DroppedConn     uint64 // no stream could be opened, or it broke
	Transmitted     uint64 // written to a stream
	Queued          int    // accepted and not yet transmitted or dropped
	// Both sides: dropped by an injected fault (drop rate or partition at
	// send; partition at transmit or at delivery).
	DroppedFault uint64
	// Receiver side.
	Delivered         uint64 // handed to the handler
	DroppedNoListener uint64 // no handler for the receiving node
	DroppedStale      uint64 // arrived on a stream superseded by a newer one
}

// RaftTransport is a transport.Transport over gRPC: Send queues messages
// for the pair's goroutine, which writes them, batched, to a client stream
// to the receiving node's server. Listen registers handlers for messages
// arriving at this node's server (normally for this node's ID only). See
// the package doc for ordering across reconnects.
type RaftTransport struct {
	n *Node
	// bootID distinguishes this transport's streams from those of a
	// previous incarnation of the same node.
	bootID uint64

	// ctx is cancelled by Close; it is the parent of stream and handler
	// contexts.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts pair goroutines and stream reader goroutines.
	wg sync.WaitGroup

	mu struct {
		sync.Mutex
		closed    bool
		pairs     map[transport.Pair]*sendPair
		listeners map[int32]*raftListener
		recv      map[transport.Pair]*recvPair
		stats     map[transport.Pair]*RaftStats
	}
}

var _ transport.Transport = (*RaftTransport)(nil)

// sendPair is the queue of one ordered pair; q and lastAt are guarded by
// RaftTransport.mu, the stream state belongs to the pair goroutine.
type sendPair struct {
	key  transport.Pair
	wake chan struct{} // capacity 1
	q    []queuedMsg
	// lastAt is the due time of the last queued message; a later message is
	// never due earlier (delays may shrink).
	lastAt time.Time
}

type queuedMsg struct {
	at      time.Time
	rangeID int64
	data    []byte // raftpb.Message, marshalled by Send
}

// recvPair serializes delivery of one ordered pair on the receiver. mu is
// held across the handler call, so calls for a pair are sequential.
type recvPair struct {
	mu sync.Mutex
	// boot and gen identify the stream whose frames are delivered; frames
	// of any other stream of the pair are stale.
	boot, gen uint64
}

type raftListener struct {
	h        transport.Handler
	ctx      context.Context
	cancel   context.CancelFunc
	inflight sync.WaitGroup // Add under RaftTransport.mu while registered
}

func newRaftTransport(n *Node) *RaftTransport {
	t := &RaftTransport{n: n, bootID: rand.Uint64() | 1}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.mu.pairs = make(map[transport.Pair]*sendPair)
	t.mu.listeners = make(map[int32]*raftListener)
	t.mu.recv = make(map[transport.Pair]*recvPair)
	t.mu.stats = make(map[transport.Pair]*RaftStats)
	return t
}

func (t *RaftTransport) statsLocked(key transport.Pair) *RaftStats {
	st := t.mu.stats[key]
	if st == nil {
		st = &RaftStats{}
		t.mu.stats[key] = st
	}
	return st
}

func (t *RaftTransport) count(key transport.Pair, f func(*RaftStats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t.statsLocked(key))
}

// Stats returns this node's counters for messages from from to to.
func (t *RaftTransport) Stats(from, to int32) RaftStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := transport.Pair{From: from, To: to}
	var st RaftStats
	if s := t.mu.stats[key]; s != nil {
		st = *s
	}
	if p := t.mu.pairs[key]; p != nil {
		st.Queued = len(p.q)
	}
	return st
}

// Send implements transport.Transport. Messages are marshalled before Send
// returns, so the caller may reuse them (a nil Msg arrives as an empty
// raftpb.Message). from is normally this node's ID.
func (t *RaftTransport) Send(from, to int32, msgs []transport.Message) error {
	enc := make([]queuedMsg, len(msgs))
	for i, m := range msgs {
		data, err := proto.Marshal(m.Msg)
		if err != nil {
			// A raftpb.Message always marshals; this is a programming error.
			panic(fmt.Sprintf("rpc: marshal raft message: %v", err))
		}
		enc[i] = queuedMsg{rangeID: m.RangeID, data: data}
	}
	faults := t.n.cfg.Faults
	key := transport.Pair{From: from, To: to}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		return transport.ErrClosed
	}
	st := t.statsLocked(key)
	st.Sent += uint64(len(enc))
	now := time.Now()
	delay := faults.Delay(from, to)
	var p *sendPair
	queued := false
	for _, m := range enc {
		if faults.Drop(from, to) {
			st.DroppedFault++
			continue
		}
		if p == nil {
			p = t.pairLocked(key)
		}
		if len(p.q) >= t.n.cfg.RaftQueueLimit {
			st.DroppedOverflow++
			continue
		}
		m.at = now.Add(delay)
		if m.at.Before(p.lastAt) {
			m.at = p.lastAt
		}
		p.lastAt = m.at
		p.q = append(p.q, m)
		queued = true
	}
	if queued {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (t *RaftTransport) pairLocked(key transport.Pair) *sendPair {
	p := t.mu.pairs[key]
	if p == nil {
		p = &sendPair{key: key, wake: make(chan struct{}, 1)}
		t.mu.pairs[key] = p
		t.wg.Add(1)
		go t.runPair(p)
	}
	return p
}

// takeReadyLocked removes the due prefix of p's queue, at most maxBytes
// of payload (but at least one message). If nothing is due, wait is the
// time until the head is, or 0 for an empty queue.
func (t *RaftTransport) takeReadyLocked(p *sendPair, now time.Time, maxBytes int) (batch []queuedMsg, wait time.Duration) {
	size, n := 0, 0
	for n < len(p.q) && !p.q[n].at.After(now) {
		if n > 0 && size+len(p.q[n].data) > maxBytes {
			break
		}
		size += len(p.q[n].data)
		n++
	}
	if n == 0 {
		if len(p.q) == 0 {
			return nil, 0
		}
		return nil, max(p.q[0].at.Sub(now), time.Nanosecond)
	}
	batch = make([]queuedMsg, n)
	copy(batch, p.q)
	clear(p.q[:n])
	p.q = p.q[n:]
	if len(p.q) == 0 {
		p.q = nil
	}
	return batch, 0
}

// raftStream is the pair goroutine's open stream.
type raftStream struct {
	cs     grpc.ClientStream
	cancel context.CancelFunc
}

// runPair transmits the pair's queue in order until Close. It owns the
// pair's stream: it opens one when needed (waiting up to DialTimeout for
// the connection), backs off exponentially with jitter after failures, and
// drops what it cannot transmit.
func (t *RaftTransport) runPair(p *sendPair) {
	defer t.wg.Done()
	var s *raftStream
	defer func() {
		if s != nil {
			s.cancel()
		}
	}()
	var gen uint64
	backoff := t.n.cfg.BackoffBase
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	sleep := func(d time.Duration) bool {
		timer.Reset(d)
		select {
		case <-timer.C:
			return true
		case <-t.ctx.Done():
			timer.Stop()
			return false
		}
	}
	for {
		t.mu.Lock()
		if t.mu.closed {
			t.mu.Unlock()
			return
		}
		batch, wait := t.takeReadyLocked(p, time.Now(), t.n.cfg.RaftMaxBatchBytes)
		t.mu.Unlock()

		if batch == nil {
			if wait > 0 {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-p.wake:
				timer.Stop()
			case <-t.ctx.Done():
				return
			}
			continue
		}
		n := uint64(len(batch))
		if t.n.cfg.Faults.Blocked(p.key.From, p.key.To) {
			t.count(p.key, func(st *RaftStats) { st.DroppedFault += n })
			continue
		}
		if s == nil {
			gen++
			var err error
			if s, err = t.openStream(p.key, gen); err != nil {
				t.count(p.key, func(st *RaftStats) { st.DroppedConn += n })
				if !sleep(jitter(backoff)) {
					return
				}
				backoff = min(2*backoff, t.n.cfg.BackoffMax)
				continue
			}
			backoff = t.n.cfg.BackoffBase
		}
		frame := appendRaftFrame(nil, batch)
		if err := s.cs.SendMsg(&frame); err != nil {
			// The stream broke (the peer restarted or the connection
			// died): this batch is lost; the next one opens a new stream.
			t.count(p.key, func(st *RaftStats) { st.DroppedConn += n })
			s.cancel()
			s = nil
			continue
		}
		t.count(p.key, func(st *RaftStats) { st.Transmitted += n })
	}
}

// openStream opens the pair's stream number gen.
func (t *RaftTransport) openStream(key transport.Pair, gen uint64) (*raftStream, error) {
	cc, err := t.n.conn(key.To)
	if err != nil {
		return nil, err
	}
	if err := t.n.waitReady(t.ctx, cc); err != nil {
		t.n.reresolve(key.To, cc)
		return nil, err
	}
	ctx, cancel := context.WithCancel(t.ctx)
	md := metadata.Pairs(
		mdFrom, strconv.Itoa(int(key.From)),
		mdTo, strconv.Itoa(int(key.To)),
		mdBoot, strconv.FormatUint(t.bootID, 10),
		mdGen, strconv.FormatUint(gen, 10),
	)
	cs, err := cc.NewStream(metadata.NewOutgoingContext(ctx, md), &raftStreamDesc, raftMethod)
	if err != nil {
		cancel()
		return nil, err
	}
	return &raftStream{cs: cs, cancel: cancel}, nil
}

// serveStream receives one raft stream (one ordered pair) until it ends or
// the transport closes. Frames are read by a separate goroutine so that
// Close can end the handler (and, through it, the stream) without waiting
// for the sender.
func (t *RaftTransport) serveStream(ss grpc.ServerStream) error {
	md, _ := metadata.FromIncomingContext(ss.Context())
	from, err := mdInt(md, mdFrom)
	if err != nil {
		return err
	}
	to, err := mdInt(md, mdTo)
	if err != nil {
		return err
	}
	boot, err := mdUint(md, mdBoot)
	if err != nil {
		return err
	}
	gen, err := mdUint(md, mdGen)
	if err != nil {
		return err
	}
	if from != int64(int32(from)) || to != int64(int32(to)) {
		return status.Error(codes.InvalidArgument, "rpc: node ID out of range")
	}
	key := transport.Pair{From: int32(from), To: int32(to)}

	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return status.Error(codes.Unavailable, "rpc: raft transport closed")
	}
	rp := t.mu.recv[key]
	if rp == nil {
		rp = &recvPair{}
		t.mu.recv[key] = rp
	}
	t.wg.Add(1) // the reader below
	t.mu.Unlock()

	rp.mu.Lock()
	if rp.boot == boot && gen <= rp.gen {
		rp.mu.Unlock()
		t.wg.Done()
		return status.Error(codes.FailedPrecondition, "rpc: stale raft stream")
	}
	rp.boot, rp.gen = boot, gen
	rp.mu.Unlock()

	frames := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		defer t.wg.Done()
		for {
			var f []byte
			if err := ss.RecvMsg(&f); err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- f:
			case <-ss.Context().Done():
				readErr <- ss.Context().Err()
				return
			}
		}
	}()
	for {
		select {
		case <-t.ctx.Done():
			return status.Error(codes.Unavailable, "rpc: raft transport closed")
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case f := <-frames:
			msgs, err := decodeRaftFrame(f)
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "rpc: raft frame from n%d: %v", key.From, err)
			}
			t.deliver(rp, key, boot, gen, msgs)
		}
	}
}

// deliver hands msgs to the receiving node's handler, if the stream is
// still the pair's newest and no partition cuts the pair.
func (t *RaftTransport) deliver(rp *recvPair, key transport.Pair, boot, gen uint64, msgs []transport.Message) {
	n := uint64(len(msgs))
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.boot != boot || rp.gen != gen {
		t.count(key, func(st *RaftStats) { st.DroppedStale += n })
		return
	}
	if t.n.cfg.Faults.Blocked(key.From, key.To) {
		t.count(key, func(st *RaftStats) { st.DroppedFault += n })
		return
	}
	t.mu.Lock()
	l := t.mu.listeners[key.To]
	st := t.statsLocked(key)
	if l == nil {
		st.DroppedNoListener += n
		t.mu.Unlock()
		return
	}
	st.Delivered += n
	l.inflight.Add(1)
	t.mu.Unlock()
	defer l.inflight.Done()
	l.h.HandleRaft(l.ctx, key.From, msgs)
}

// Listen implements transport.Transport: h receives the messages that
// arrive at this node's server for node.
func (t *RaftTransport) Listen(node int32, h transport.Handler) (stop func()) {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return func() {}
	}
	if _, ok := t.mu.listeners[node]; ok {
		t.mu.Unlock()
		panic(fmt.Sprintf("rpc: node %d already has a raft listener", node))
	}
	l := &raftListener{h: h}
	l.ctx, l.cancel = context.WithCancel(t.ctx)
	t.mu.listeners[node] = l
	t.mu.Unlock()

	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			if t.mu.listeners[node] == l {
				delete(t.mu.listeners, node)
			}
			t.mu.Unlock()
			l.cancel()
			l.inflight.Wait()
		})
	}
}

// Close implements transport.Transport: it stops the pair goroutines and
// stream handlers, cancels handler contexts, and waits for all of them,
// including in-flight handler calls. Node.Stop calls it.
func (t *RaftTransport) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	listeners := make([]*raftListener, 0, len(t.mu.listeners))
	for _, l := range t.mu.listeners {
		listeners = append(listeners, l)
	}
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
	for _, l := range listeners {
		l.inflight.Wait()
	}
	return nil
}

// A raft frame is uvarint(count) then, per message, varint(rangeID) and
// uvarint(len) + the marshalled raftpb.Message.
func appendRaftFrame(b []byte, msgs []queuedMsg) []byte {
	b = binary.AppendUvarint(b, uint64(len(msgs)))
	for _, m := range msgs {
		b = binary.AppendVarint(b, m.rangeID)
		b = binary.AppendUvarint(b, uint64(len(m.data)))
		b = append(b, m.data...)
	}
	return b
}

var errBadFrame = errors.New("rpc: malformed raft frame")

// decodeRaftFrame decodes a frame; counts and lengths are trusted only up
// to the bytes left.
func decodeRaftFrame(b []byte) ([]transport.Message, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)-n)/2 {
		return nil, errBadFrame
	}
	b = b[n:]
	msgs := make([]transport.Message, 0, count)
	for range count {
		rangeID, n := binary.Varint(b)
		if n <= 0 {
			return nil, errBadFrame
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, errBadFrame
		}
		b = b[n:]
		m := &raftpb.Message{}
		if err := proto.Unmarshal(b[:l], m); err != nil {
			return nil, fmt.Errorf("%w: %v", errBadFrame, err)
		}
		b = b[l:]
		msgs = append(msgs, transport.Message{RangeID: rangeID, Msg: m})
	}
	if len(b) != 0 {
		return nil, errBadFrame
	}
	return msgs, nil
}
