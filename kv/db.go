package kv

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// Config configures a DB.
type Config struct {
	// Coordinator identifies this process in transaction records. The store
	// uses it to recognise transactions of a previous incarnation.
	Coordinator kvpb.Coordinator
	// HeartbeatInterval between transaction record heartbeats. Default 1s;
	// it must stay well below the store's TxnExpiry (default 5s).
	HeartbeatInterval time.Duration
	// MaxRetries bounds DB.Txn attempts. Default 1000.
	MaxRetries int
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 1000
	}
}

// DB is the entry point of kv clients. Safe for concurrent use.
type DB struct {
	sender kvrpc.Handler
	clock  *hlc.Clock
	cfg    Config

	// cleanupSlots and cleanups track background intent cleanups
	// (txn_resolve.go).
	cleanupSlots chan struct{}
	cleanups     sync.WaitGroup
}

// NewDB returns a DB sending through sender.
func NewDB(sender kvrpc.Handler, clock *hlc.Clock, cfg Config) *DB {
	cfg.EnsureDefaults()
	return &DB{sender: sender, clock: clock, cfg: cfg, cleanupSlots: make(chan struct{}, maxAsyncCleanups)}
}

// Clock returns the DB's clock.
func (db *DB) Clock() *hlc.Clock { return db.clock }

func (db *DB) sendOne(ctx context.Context, req kvpb.Request) (kvpb.Response, error) {
	ba := &kvpb.BatchRequest{Requests: []kvpb.Request{req}}
	resp, err := db.sender.Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	return resp.Responses[0], nil
}

// Get reads the newest value of key (nil when absent).
func (db *DB) Get(ctx context.Context, key kvpb.Key) ([]byte, error) {
	r, err := db.sendOne(ctx, &kvpb.GetRequest{Key: key})
	if err != nil {
		return nil, err
	}
	return r.(*kvpb.GetResponse).Value, nil
}

// Scan reads up to maxRows (0 = all) live keys of [start, end) at now.
func (db *DB) Scan(ctx context.Context, start, end kvpb.Key, maxRows int64) ([]kvpb.KeyValue, error) {
	r, err := db.sendOne(ctx, &kvpb.ScanRequest{Span: kvpb.Span{Key: start, EndKey: end}, MaxKeys: maxRows})
	if err != nil {
		return nil, err
	}
	return r.(*kvpb.ScanResponse).Rows, nil
}

// Put writes one key atomically and durably, outside any transaction.
func (db *DB) Put(ctx context.Context, key kvpb.Key, value []byte) error {
	_, err := db.sendOne(ctx, &kvpb.PutRequest{Key: key, Value: value})
	return err
}

// Delete deletes one key durably, outside any transaction.
func (db *DB) Delete(ctx context.Context, key kvpb.Key) error {
	_, err := db.sendOne(ctx, &kvpb.DeleteRequest{Key: key})
	return err
}

// NewTxn starts a transaction. The caller must end it with Commit or
// Rollback.
func (db *DB) NewTxn(name string) *Txn {
	return db.newTxn(name, rand.Int32N(1<<20))
}

func (db *DB) newTxn(name string, priority int32) *Txn {
	now := db.clock.Now()
	proto := &kvpb.Transaction{
		TxnMeta: kvpb.TxnMeta{
			ID:             uuid.New(),
			WriteTimestamp: now,
			MinTimestamp:   now,
			Priority:       priority,
		},
		Name:                   name,
		ReadTimestamp:          now,
		GlobalUncertaintyLimit: now.Add(db.clock.MaxOffset()),
		Coordinator:            db.cfg.Coordinator,
		// The gateway's own clock reading: values this node wrote later
		// than now cannot precede the transaction.
		ObservedTimestamps: []kvpb.ObservedTimestamp{{NodeID: db.cfg.Coordinator.NodeID, Timestamp: now}},
	}
	t := &Txn{db: db}
	t.mu.proto = proto
	return t
}

// Txn runs fn in a transaction and commits it, rerunning fn from the start
// (in a new transaction of higher priority) when the error is retryable. fn
// must not commit or roll back itself, and must be safe to rerun.
func (db *DB) Txn(ctx context.Context, fn func(ctx context.Context, txn *Txn) error) error {
	priority := rand.Int32N(1 << 20)
	var err error
	for attempt := 0; attempt < db.cfg.MaxRetries; attempt++ {
		txn := db.newTxn("", priority)
		err = fn(ctx, txn)
		if err == nil {
			err = txn.Commit(ctx)
		}
		if err == nil {
			return nil
		}
		txn.Rollback(ctx)
		if !IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		// Older work wins more deadlocks on its next attempt.
		priority = min(priority+1<<24, 1<<30)
		backoff := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 5)))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
	return err
}

// IsRetryable reports an error after which the whole transaction should be
// retried (SQLSTATE 40001).
func IsRetryable(err error) bool { return kvpb.IsRetryable(err) }
