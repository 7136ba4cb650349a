package kvpb

// Requests on another transaction's record, for transactions whose intents
// and record lie on different ranges. Each is routed by the anchor of the
// transaction it names (BatchRequest.AddressOf), is sent outside any
// transaction, and must be alone in its batch: the serving store treats
// the batch as one operation (PushTxn waits between evaluations, QueryTxn
// adds what its wait queue knows).

// PushTxnRequest asks the range holding Pushee's record for the pushee's
// fate. The record's range answers at once when the pushee is finalized,
// or aborts it (durably) when it may: Force is set (a deadlock victim),
// its heartbeat expired, its coordinator was a previous incarnation of the
// serving node, or its record is missing and MinTimestamp expired (a record
// that is not written by then never will be: see HeartbeatTxnRequest).
// Otherwise, unless NoWait, it waits in its queue for the pushee to finish,
// for a bounded time, and answers the status then (possibly still
// PENDING): the pusher calls again.
type PushTxnRequest struct {
	// Pusher is the waiting transaction; zero ID for a non-transactional
	// request.
	Pusher TxnMeta
	Pushee TxnMeta
	// Force aborts a pending pushee.
	Force bool
	// NoWait answers the current status without waiting (NOWAIT locking).
	NoWait bool
	// From is the node sending the push, as its current incarnation: a
	// pending record coordinated by an earlier incarnation of that node is
	// abandoned (the coordinator restarted), like one of the serving
	// node's. Zero when unknown.
	From Coordinator
	// WaitsFor is what the pusher knows of the transactions waiting,
	// directly or not, on it (the answer of its last QueryTxn): the
	// pushee's queue learns transitive edges from it, which is how
	// deadlocks across ranges are found.
	WaitsFor []WaitEdge
}

// PushTxnResponse carries the pushee's record as it now stands. Missing
// means the range has no record; Pushee is then the request's pushee with
// status PENDING (not yet written) unless the push aborted it.
type PushTxnResponse struct {
	Pushee  Transaction
	Missing bool
}

// QueryTxnRequest asks the range holding Txn's record for the record and
// for the waits-for edges into Txn that its wait queue knows, transitively
// (the waiters on Txn, the waiters on those that are queued there too, and
// the edges each waiter carried in its PushTxn).
type QueryTxnRequest struct {
	Txn TxnMeta
}

// QueryTxnResponse: Txn is the record (Missing as for PushTxnResponse);
// WaitsFor the edges into the queried transaction.
type QueryTxnResponse struct {
	Txn      Transaction
	Missing  bool
	WaitsFor []WaitEdge
}

// ClearTxnRecordRequest deletes the finalized record of Txn once whoever
// finalized it has resolved the intents it names. A pending record is
// refused (TransactionStatusError); a missing one is not an error.
type ClearTxnRecordRequest struct {
	Txn TxnMeta
}

// ClearTxnRecordResponse reports whether a record was deleted.
type ClearTxnRecordResponse struct {
	Cleared bool
}

// WaitEdge is one edge of the waits-for graph: Waiter waits for Holder to
// finish.
type WaitEdge struct {
	Waiter, Holder TxnMeta
}

func (*PushTxnRequest) Method() Method        { return PushTxn }
func (*QueryTxnRequest) Method() Method       { return QueryTxn }
func (*ClearTxnRecordRequest) Method() Method { return ClearTxnRecord }

// Keys is empty: these requests address a record, by its anchor; see
// BatchRequest.AddressOf.
func (*PushTxnRequest) Keys() Span        { return Span{} }
func (*QueryTxnRequest) Keys() Span       { return Span{} }
func (*ClearTxnRecordRequest) Keys() Span { return Span{} }

func (*PushTxnResponse) isResponse()        {}
func (*QueryTxnResponse) isResponse()       {}
func (*ClearTxnRecordResponse) isResponse() {}

// RecordTxn returns the transaction a record request names.
func RecordTxn(r Request) (TxnMeta, bool) {
	switch t := r.(type) {
	case *PushTxnRequest:
		return t.Pushee, true
	case *QueryTxnRequest:
		return t.Txn, true
	case *ClearTxnRecordRequest:
		return t.Txn, true
	}
	return TxnMeta{}, false
}

func validateRecordRequest(r Request, txn *Transaction, alone bool) error {
	name := r.Method().String()
	if txn != nil {
		return malformed("%s inside a transaction", name)
	}
	if !alone {
		return malformed("%s must be alone in its batch", name)
	}
	m, _ := RecordTxn(r)
	if m.ID == (TxnID{}) {
		return malformed("%s: transaction without an ID", name)
	}
	if err := checkUserKey(m.Key, name+" anchor"); err != nil {
		return err
	}
	if p, ok := r.(*PushTxnRequest); ok {
		if p.Force && p.NoWait {
			return malformed("%s: Force and NoWait together", name)
		}
		if p.Pusher.ID == p.Pushee.ID {
			return malformed("%s: a transaction cannot push itself", name)
		}
	}
	return nil
}
