package kvpb

import (
	"errors"
	"fmt"

	"github.com/outpostdb/outpost/kv/hlc"
)

// WriteIntentError reports intents of other transactions that block a
// request. The server handles it (push, wait, resolve, retry); it reaches a
// client only under WaitPolicyError.
type WriteIntentError struct {
	Intents []Intent
}

func (e *WriteIntentError) Error() string {
	switch len(e.Intents) {
	case 0:
		return "conflicting intents (none listed)"
	case 1:
		return fmt.Sprintf("conflicting intent on %s from txn %s", e.Intents[0].Key, e.Intents[0].Txn.Short())
	}
	return fmt.Sprintf("%d conflicting intents, first on %s", len(e.Intents), e.Intents[0].Key)
}

// RetryReason says why a transaction must retry.
type RetryReason int8

// The reasons.
const (
	RetrySerializable RetryReason = iota + 1 // refresh failed after the commit timestamp moved
	RetryWriteTooOld                         // a newer committed write made a read stale
	RetryUncertainty                         // a value in the uncertainty interval could not be refreshed over
	RetryAborted                             // the transaction was aborted (deadlock, expiry)
)

func (r RetryReason) String() string {
	switch r {
	case RetrySerializable:
		return "RETRY_SERIALIZABLE"
	case RetryWriteTooOld:
		return "RETRY_WRITE_TOO_OLD"
	case RetryUncertainty:
		return "RETRY_UNCERTAINTY"
	case RetryAborted:
		return "ABORT_REASON"
	}
	return fmt.Sprintf("RetryReason(%d)", int8(r))
}

// TransactionRetryError means the transaction cannot commit as is and must be
// retried from the start. It maps to SQLSTATE 40001.
type TransactionRetryError struct {
	Reason RetryReason
	Msg    string
}

func (e *TransactionRetryError) Error() string {
	return fmt.Sprintf("restart transaction: TransactionRetryError: %s: %s", e.Reason, e.Msg)
}

// TransactionAbortedError means the transaction record is ABORTED (a
// deadlock victim, or its heartbeat expired). Retryable with a new
// transaction; SQLSTATE 40001.
type TransactionAbortedError struct {
	Msg string
}

func (e *TransactionAbortedError) Error() string {
	return "restart transaction: TransactionAbortedError: " + e.Msg
}

// ReadWithinUncertaintyIntervalError reports a value above the read
// timestamp but within the uncertainty limit; the coordinator refreshes past
// it or restarts.
type ReadWithinUncertaintyIntervalError struct {
	Key               Key
	ReadTimestamp     hlc.Timestamp
	ExistingTimestamp hlc.Timestamp
	LocalLimit        hlc.Timestamp
}

func (e *ReadWithinUncertaintyIntervalError) Error() string {
	return fmt.Sprintf("ReadWithinUncertaintyIntervalError: read at %s encountered value at %s on %s within uncertainty limit %s",
		e.ReadTimestamp, e.ExistingTimestamp, e.Key, e.LocalLimit)
}

// RefreshFailedError reports a write in the refreshed span newer than the
// refresh start.
type RefreshFailedError struct {
	Key       Key
	Timestamp hlc.Timestamp
	Intent    bool
}

func (e *RefreshFailedError) Error() string {
	what := "committed value"
	if e.Intent {
		what = "intent"
	}
	return fmt.Sprintf("refresh failed: %s on %s at %s", what, e.Key, e.Timestamp)
}

// ConditionFailedError reports a failed ConditionalPut.
type ConditionFailedError struct {
	// ActualValue is the current value, nil when the key is absent.
	ActualValue []byte
}

func (e *ConditionFailedError) Error() string {
	if e.ActualValue == nil {
		return "unexpected value: key is absent"
	}
	return fmt.Sprintf("unexpected value: %q", e.ActualValue)
}

// TransactionStatusError reports a request that the transaction's state
// forbids (committing a missing or finalized record).
type TransactionStatusError struct{ Msg string }

func (e *TransactionStatusError) Error() string { return "TransactionStatusError: " + e.Msg }

// BatchTimestampBeforeGCError reports a read below the range's GC threshold:
// the versions it needs may be gone.
type BatchTimestampBeforeGCError struct {
	Timestamp, Threshold hlc.Timestamp
}

func (e *BatchTimestampBeforeGCError) Error() string {
	return fmt.Sprintf("batch timestamp %s must be after replica GC threshold %s", e.Timestamp, e.Threshold)
}

// IsRetryable reports whether err asks for the whole transaction to be
// retried (SQLSTATE 40001).
func IsRetryable(err error) bool {
	var re *TransactionRetryError
	var ae *TransactionAbortedError
	return errors.As(err, &re) || errors.As(err, &ae)
}

// NotLeaseHolderError reports a batch sent to a replica that does not hold
// a valid lease for its range. The sender retries at LeaseHolder when it is
// known (non-zero), else elsewhere.
type NotLeaseHolderError struct {
	RangeID int64
	// Replica is the node that refused; LeaseHolder the node it believes
	// holds the lease, 0 if none is known.
	Replica, LeaseHolder int32
	Msg                  string
}

func (e *NotLeaseHolderError) Error() string {
	if e.LeaseHolder == 0 {
		return fmt.Sprintf("r%d: n%d is not the leaseholder (leaseholder unknown): %s", e.RangeID, e.Replica, e.Msg)
	}
	return fmt.Sprintf("r%d: n%d is not the leaseholder; try n%d: %s", e.RangeID, e.Replica, e.LeaseHolder, e.Msg)
}

// AmbiguousResultError reports a write whose outcome is unknown: it was
// proposed but the proposer lost track of it (node failure, lease change),
// so it may or may not have applied. It maps to SQLSTATE 40003.
type AmbiguousResultError struct{ Msg string }

func (e *AmbiguousResultError) Error() string { return "result is ambiguous: " + e.Msg }

// RangeUnavailableError reports that no replica of a range could serve a
// batch before the caller's deadline (no quorum, a partition). It maps to
// SQLSTATE 58000 (system_error): the statement did not run and may be
// retried once the cluster recovers.
type RangeUnavailableError struct {
	RangeID int64
	Msg     string
}

func (e *RangeUnavailableError) Error() string {
	return fmt.Sprintf("r%d unavailable: %s", e.RangeID, e.Msg)
}

// ErrNodeUnavailable marks an error that proves a batch was not evaluated:
// the node is stopped or was not reached. A router may retry it on another
// replica. (kvrpc.ErrUnavailable is the same value.)
var ErrNodeUnavailable = errors.New("node unavailable")

// LockTimeoutError reports a batch that waited longer than its
// LockTimeout for another transaction's intent. It maps to SQLSTATE 55P03.
type LockTimeoutError struct{ Key Key }

func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("lock timeout waiting for an intent on %s", e.Key)
}
