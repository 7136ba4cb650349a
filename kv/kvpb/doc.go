// Package kvpb defines what crosses the kv request seam: keys and spans,
// transactions, the BatchRequest/BatchResponse pair and the structured errors
// that drive retries. It holds data and pure helpers only; no I/O.
//
// Every request is one of the concrete *XxxRequest types; a BatchRequest is
// validated by (*BatchRequest).Validate before evaluation, so malformed input
// becomes an error rather than a panic further down.
//
// It imports only kv/hlc of ours.
package kvpb
