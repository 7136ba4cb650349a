package kvpb

import (
	"bytes"
	"fmt"

	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/hlc"
)

// Key is a user key in the global keyspace.
type Key []byte

// Next returns the smallest key greater than k.
func (k Key) Next() Key {
	n := make(Key, len(k)+1)
	copy(n, k)
	return n
}

// PrefixEnd returns the smallest key greater than every key with prefix k,
// or nil (end of keyspace) when k is all 0xff.
func (k Key) PrefixEnd() Key {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] != 0xff {
			n := make(Key, i+1)
			copy(n, k)
			n[i]++
			return n
		}
	}
	return nil
}

func (k Key) String() string { return fmt.Sprintf("%q", []byte(k)) }

// Span is [Key, EndKey), or the single key Key when EndKey is nil.
type Span struct {
	Key    Key
	EndKey Key
}

// IsPoint reports whether the span is a single key.
func (s Span) IsPoint() bool { return s.EndKey == nil }

// End returns the exclusive end of the span.
func (s Span) End() Key {
	if s.EndKey == nil {
		return s.Key.Next()
	}
	return s.EndKey
}

// Overlaps reports whether two spans share a key.
func (s Span) Overlaps(o Span) bool {
	return bytes.Compare(s.Key, o.End()) < 0 && bytes.Compare(o.Key, s.End()) < 0
}

// ContainsKey reports whether k lies in the span.
func (s Span) ContainsKey(k Key) bool {
	if s.EndKey == nil {
		return bytes.Equal(s.Key, k)
	}
	return bytes.Compare(s.Key, k) <= 0 && bytes.Compare(k, s.EndKey) < 0
}

func (s Span) String() string {
	if s.EndKey == nil {
		return s.Key.String()
	}
	return fmt.Sprintf("[%s,%s)", s.Key, s.EndKey)
}

// KeyValue is one row of a scan.
type KeyValue struct {
	Key       Key
	Value     []byte
	Timestamp hlc.Timestamp
}

// TxnID identifies a transaction.
type TxnID = uuid.UUID

// TxnStatus is the state of a transaction record.
type TxnStatus int8

const (
	// PENDING: may still commit or abort.
	PENDING TxnStatus = iota
	// COMMITTED is final: intents resolve to committed values.
	COMMITTED
	// ABORTED is final: intents are discarded.
	ABORTED
)

func (s TxnStatus) String() string {
	switch s {
	case PENDING:
		return "PENDING"
	case COMMITTED:
		return "COMMITTED"
	case ABORTED:
		return "ABORTED"
	}
	return fmt.Sprintf("TxnStatus(%d)", int8(s))
}

// IsFinalized reports COMMITTED or ABORTED.
func (s TxnStatus) IsFinalized() bool { return s == COMMITTED || s == ABORTED }

// TxnMeta is the part of a transaction stored with each of its intents.
type TxnMeta struct {
	ID TxnID
	// Key anchors the transaction record: the record lives on the range
	// holding Key.
	Key Key
	// WriteTimestamp is the timestamp intents are written at; it may move
	// forward during the transaction but never backward.
	WriteTimestamp hlc.Timestamp
	// MinTimestamp is the transaction's start; no intent of it is older.
	MinTimestamp hlc.Timestamp
	// Priority breaks deadlocks: the lowest-priority member of a cycle is
	// aborted. Retries raise it so that work is not starved.
	Priority int32
}

// Short renders the first bytes of the ID for logs.
func (m TxnMeta) Short() string { return m.ID.String()[:8] }

// Coordinator names the process coordinating a transaction, so that a
// transaction whose coordinator restarted can be aborted without waiting for
// its heartbeat to expire.
type Coordinator struct {
	NodeID int32
	BootID uint64
}

// ObservedTimestamp is a node's clock reading seen by a transaction; values
// on that node written after it cannot have happened before the transaction
// started, which shrinks the uncertainty interval.
type ObservedTimestamp struct {
	NodeID    int32
	Timestamp hlc.Timestamp
}

// Transaction is the full transaction state carried on requests and stored
// (with Status and LastHeartbeat) in the transaction record.
type Transaction struct {
	TxnMeta
	Name   string
	Status TxnStatus
	// ReadTimestamp is where reads happen. Invariant: ReadTimestamp <=
	// WriteTimestamp, and a transaction commits only once they are equal
	// (after a successful refresh).
	ReadTimestamp hlc.Timestamp
	// GlobalUncertaintyLimit is MinTimestamp + max clock offset.
	GlobalUncertaintyLimit hlc.Timestamp
	ObservedTimestamps     []ObservedTimestamp
	LastHeartbeat          hlc.Timestamp
	Coordinator            Coordinator
	// LockSpans, in a record, names where the transaction's intents may be
	// so that whoever finalizes it can clean them up.
	LockSpans []Span
}

// Clone returns a deep-enough copy for mutation by another owner.
func (t *Transaction) Clone() *Transaction {
	if t == nil {
		return nil
	}
	c := *t
	c.ObservedTimestamps = append([]ObservedTimestamp(nil), t.ObservedTimestamps...)
	c.LockSpans = append([]Span(nil), t.LockSpans...)
	return &c
}

// ObservedTimestamp returns the node's observed timestamp, if any.
func (t *Transaction) ObservedTimestamp(node int32) (hlc.Timestamp, bool) {
	for _, o := range t.ObservedTimestamps {
		if o.NodeID == node {
			return o.Timestamp, true
		}
	}
	return hlc.Timestamp{}, false
}

// UpdateObservedTimestamp records a node's clock reading unless one exists.
func (t *Transaction) UpdateObservedTimestamp(node int32, ts hlc.Timestamp) {
	if _, ok := t.ObservedTimestamp(node); !ok {
		t.ObservedTimestamps = append(t.ObservedTimestamps, ObservedTimestamp{NodeID: node, Timestamp: ts})
	}
}

// LocalUncertaintyLimit is the uncertainty limit for reads served by node.
func (t *Transaction) LocalUncertaintyLimit(node int32) hlc.Timestamp {
	limit := t.GlobalUncertaintyLimit
	if obs, ok := t.ObservedTimestamp(node); ok && obs.Less(limit) {
		limit = obs
	}
	if limit.Less(t.ReadTimestamp) {
		limit = t.ReadTimestamp
	}
	return limit
}

func (t *Transaction) String() string {
	return fmt.Sprintf("txn %s %s r=%s w=%s pri=%d", t.Short(), t.Status, t.ReadTimestamp, t.WriteTimestamp, t.Priority)
}

// Intent is a provisional write met by another request.
type Intent struct {
	Key Key
	Txn TxnMeta
}
