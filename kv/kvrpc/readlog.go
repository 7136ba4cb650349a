package kvrpc

import (
	"context"
	"sync"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// ReadLog records, for one statement, which replicas actually served its
// follower-read batches (kvpb.Header.FollowerRead) and why a local replica
// refused one. The router fills it for batches sent under a context
// carrying it (WithReadLog); the SQL layer reads it after the statement
// (SHOW LAST READ). Safe for concurrent use; recording is a mutex and an
// append into a small fixed array, so it stays off the allocator.
type ReadLog struct {
	mu      sync.Mutex
	parts   [maxReadParts]ReadPart
	n       int // distinct parts in parts
	batches int
	refusal string
	// remote: some batch was served by another node (kept even when
	// parts is full).
	remote bool
}

// maxReadParts bounds the distinct (range, node) pairs a ReadLog keeps;
// further ones are counted in Batches only.
const maxReadParts = 8

// ReadPart is one range's reads served by one node.
type ReadPart struct {
	RangeID int64
	Node    int32
	// Local: the node is the router's own.
	Local bool
	// Follower: served by a replica that does not hold the lease
	// (kvpb.BatchResponse.FollowerServed); otherwise by the leaseholder.
	Follower bool
	// Type is the serving follower's type (kvpb.BatchResponse.FollowerType).
	Type kvpb.ReplicaType
}

type readLogKey struct{}

// WithReadLog returns a context under which the router records into l.
func WithReadLog(ctx context.Context, l *ReadLog) context.Context {
	return context.WithValue(ctx, readLogKey{}, l)
}

// ReadLogFrom returns the ReadLog of ctx, or nil.
func ReadLogFrom(ctx context.Context) *ReadLog {
	l, _ := ctx.Value(readLogKey{}).(*ReadLog)
	return l
}

// Reset empties l for the next statement.
func (l *ReadLog) Reset() {
	l.mu.Lock()
	l.n, l.batches, l.refusal, l.remote = 0, 0, "", false
	l.mu.Unlock()
}

// Served records that p served a batch.
func (l *ReadLog) Served(p ReadPart) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches++
	l.remote = l.remote || !p.Local
	for i := range l.n {
		if l.parts[i] == p {
			return
		}
	}
	if l.n < maxReadParts {
		l.parts[l.n] = p
		l.n++
	}
}

// Refused records why the local replica refused a batch (the first
// reason is kept).
func (l *ReadLog) Refused(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refusal == "" {
		l.refusal = why
	}
}

// FellBack reports whether a local replica refused a batch (which then
// went to another node) since the last Reset.
func (l *ReadLog) FellBack() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusal != ""
}

// AllLocal reports whether no batch was served by another node than the
// router's own (true when none was served at all).
func (l *ReadLog) AllLocal() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.remote
}

// Snapshot returns the distinct parts recorded (at most 8, in order of
// first service), the number of batches served, and the first refusal.
func (l *ReadLog) Snapshot() (parts []ReadPart, batches int, refusal string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ReadPart(nil), l.parts[:l.n]...), l.batches, l.refusal
}
