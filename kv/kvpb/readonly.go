package kvpb

import "errors"

// ErrWriteInReadOnlyTxn is returned by the coordinator (kv.Txn) for a write
// in a read-only transaction, such as one reading AS OF SYSTEM TIME. It
// never crosses the wire: the coordinator refuses the batch before sending.
var ErrWriteInReadOnlyTxn = errors.New("kv: write in a read-only transaction")
