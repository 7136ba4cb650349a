// Package liveness keeps the cluster's node table in kv: each node's
// address, its liveness record (an expiration it keeps pushing forward by
// heartbeating) and whether it is being decommissioned, plus the node ID
// allocator used when a node joins.
//
// Keys (system keyspace):
//
//	nodes/<id:8 BE>      address of the node's --listen-addr
//	liveness/<id:8 BE>   expiration wall time (8 BE) + decommissioning (1)
//	node-id-seq          last allocated node ID (8 BE)
//	localities/<id:8 BE> the node's --locality, ";edge" for --edge (locality.go)
//
// A node is live while its record's expiration is in the future. Records
// are written in transactions, so a heartbeat never undoes a concurrent
// decommission. The server adapts Records to replication.NodeLiveness.
//
// It imports the kv root and kv lower packages only.
package liveness

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
)

func idKey(prefix string, id int32) kvpb.Key {
	return binary.BigEndian.AppendUint64(keys.SystemKey(prefix), uint64(id))
}

var (
	nodesPrefix    = keys.SystemKey("nodes/")
	livenessPrefix = keys.SystemKey("liveness/")
	seqKey         = keys.SystemKey("node-id-seq")
)

func prefixEnd(p []byte) kvpb.Key {
	e := append([]byte(nil), p...)
	e[len(e)-1]++
	return e
}

// Record is one node's row of the node table.
type Record struct {
	ID              int32
	Addr            string
	Expiration      time.Time
	Decommissioning bool
	// Locality is the node's --locality ("region=us,zone=a"), Edge its
	// --edge, as the node last published them.
	Locality string
	Edge     bool
}

// Live reports whether the record's expiration is after now.
func (r Record) Live(now time.Time) bool { return now.Before(r.Expiration) }

// AllocateNodeID registers a node at addr and returns its new ID.
func AllocateNodeID(ctx context.Context, db *kv.DB, addr string) (int32, error) {
	var id int32
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		v, err := txn.Get(ctx, seqKey)
		if err != nil {
			return err
		}
		last := uint64(0)
		if len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		id = int32(last + 1)
		if err := txn.Put(ctx, seqKey, binary.BigEndian.AppendUint64(nil, last+1)); err != nil {
			return err
		}
		return txn.Put(ctx, idKey("nodes/", id), []byte(addr))
	})
	return id, err
}

// RegisterNode records the address of a node whose ID is already known
// (the bootstrap node, or a node whose address changed).
func RegisterNode(ctx context.Context, db *kv.DB, id int32, addr string) error {
	return db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		v, err := txn.Get(ctx, seqKey)
		if err != nil {
			return err
		}
		if len(v) != 8 || binary.BigEndian.Uint64(v) < uint64(id) {
			if err := txn.Put(ctx, seqKey, binary.BigEndian.AppendUint64(nil, uint64(id))); err != nil {
				return err
			}
		}
		return txn.Put(ctx, idKey("nodes/", id), []byte(addr))
	})
}

// SetDecommissioning marks node id as leaving (or not).
func SetDecommissioning(ctx context.Context, db *kv.DB, id int32, on bool) error {
	return db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		addr, err := txn.Get(ctx, idKey("nodes/", id))
		if err != nil {
			return err
		}
		if addr == nil {
			return fmt.Errorf("node %d does not exist", id)
		}
		k := idKey("liveness/", id)
		v, err := txn.Get(ctx, k)
		if err != nil {
			return err
		}
		exp := int64(0)
		if len(v) == 9 {
			exp = int64(binary.BigEndian.Uint64(v))
		}
		return txn.Put(ctx, k, encodeLiveness(exp, on))
	})
}

func encodeLiveness(exp int64, decom bool) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(exp))
	if decom {
		return append(b, 1)
	}
	return append(b, 0)
}

// ReadAll returns the node table.
func ReadAll(ctx context.Context, db *kv.DB) ([]Record, error) {
	var out []Record
	err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		out = out[:0]
		nodes, err := txn.Scan(ctx, nodesPrefix, prefixEnd(nodesPrefix), 0)
		if err != nil {
			return err
		}
		live, err := txn.Scan(ctx, livenessPrefix, prefixEnd(livenessPrefix), 0)
		if err != nil {
			return err
		}
		byID := map[int32]int{}
		for _, kv := range nodes {
			id := int32(binary.BigEndian.Uint64(kv.Key[len(nodesPrefix):]))
			byID[id] = len(out)
			out = append(out, Record{ID: id, Addr: string(kv.Value)})
		}
		for _, kv := range live {
			id := int32(binary.BigEndian.Uint64(kv.Key[len(livenessPrefix):]))
			i, ok := byID[id]
			if !ok || len(kv.Value) != 9 {
				continue
			}
			out[i].Expiration = time.Unix(0, int64(binary.BigEndian.Uint64(kv.Value)))
			out[i].Decommissioning = kv.Value[8] == 1
		}
		return fillLocalities(ctx, txn, out, byID)
	})
	return out, err
}

// Config configures a Liveness.
type Config struct {
	NodeID int32
	DB     *kv.DB
	// Interval between heartbeats; records expire after 4.5 intervals.
	// Default 1s.
	Interval time.Duration
	Logger   *slog.Logger
	// OnUpdate, if set, is called with the node table after every refresh
	// (the server keeps its address book with it).
	OnUpdate func([]Record)
	// Locality and Edge are this node's, published in the node table.
	Locality string
	Edge     bool
}

// Liveness heartbeats this node's record and caches the node table.
type Liveness struct {
	cfg Config

	mu      sync.Mutex
	records []Record
	// localityPublished: this node's locality is in the table (loop
	// goroutine only).
	localityPublished bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start begins heartbeating.
func Start(cfg Config) *Liveness {
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &Liveness{cfg: cfg, stop: make(chan struct{})}
	l.wg.Add(1)
	go l.loop()
	return l
}

// Stop ends heartbeating.
func (l *Liveness) Stop() {
	close(l.stop)
	l.wg.Wait()
}

func (l *Liveness) loop() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.Interval)
	defer t.Stop()
	failing := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*l.cfg.Interval)
		// The locality goes first: a node is usable for voting replicas
		// once it heartbeats, and an edge node must be known as one by
		// then.
		err := l.publishLocality(ctx)
		if err == nil {
			err = l.heartbeat(ctx)
		}
		if err == nil {
			err = l.refresh(ctx)
		}
		cancel()
		if err != nil && !failing {
			l.cfg.Logger.Warn("liveness heartbeat failing", "err", err)
		} else if err == nil && failing {
			l.cfg.Logger.Info("liveness heartbeat recovered")
		}
		failing = err != nil
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
	}
}

func (l *Liveness) heartbeat(ctx context.Context) error {
	exp := time.Now().Add(l.cfg.Interval * 9 / 2).UnixNano()
	k := idKey("liveness/", l.cfg.NodeID)
	return l.cfg.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		v, err := txn.Get(ctx, k)
		if err != nil {
			return err
		}
		decom := len(v) == 9 && v[8] == 1
		return txn.Put(ctx, k, encodeLiveness(exp, decom))
	})
}

func (l *Liveness) refresh(ctx context.Context) error {
	recs, err := ReadAll(ctx, l.cfg.DB)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.records = recs
	l.mu.Unlock()
	if l.cfg.OnUpdate != nil {
		l.cfg.OnUpdate(recs)
	}
	return nil
}

// Records returns the last node table read.
func (l *Liveness) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.records...)
}
