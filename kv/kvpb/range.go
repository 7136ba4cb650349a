package kvpb

import (
	"bytes"
	"fmt"
	"strings"
)

// ReplicaType says whether a replica votes in its range's raft group.
type ReplicaType int8

const (
	// Voter replicas form the range's quorum; only voters hold leases.
	Voter ReplicaType = iota
	// NonVoter replicas (raft learners) receive the log but do not vote:
	// newcomers catching up, and the replicas of edge nodes.
	NonVoter
)

func (t ReplicaType) String() string {
	if t == NonVoter {
		return "non-voter"
	}
	return "voter"
}

// ReplicaDescriptor names one replica of a range: the node holding it (also
// its raft ID) and its type.
type ReplicaDescriptor struct {
	NodeID int32
	Type   ReplicaType
}

// RangeDescriptor describes a range: the keys [StartKey, EndKey) it owns
// and its replicas. Generation grows with every split, so of two
// descriptors of one range the one with the higher generation is newer.
//
// A range owns the global keys of its span and the range-local keys
// addressed by them (transaction records anchored in the span).
type RangeDescriptor struct {
	RangeID    int64
	StartKey   Key
	EndKey     Key
	Generation int64
	Replicas   []ReplicaDescriptor
}

// ContainsKey reports whether k is in [StartKey, EndKey).
func (d *RangeDescriptor) ContainsKey(k Key) bool {
	return bytes.Compare(d.StartKey, k) <= 0 && bytes.Compare(k, d.EndKey) < 0
}

// ContainsSpan reports whether every key of s is in the range.
func (d *RangeDescriptor) ContainsSpan(s Span) bool {
	if s.EndKey == nil {
		return d.ContainsKey(s.Key)
	}
	return bytes.Compare(d.StartKey, s.Key) <= 0 && bytes.Compare(s.EndKey, d.EndKey) <= 0
}

// Span returns [StartKey, EndKey).
func (d *RangeDescriptor) Span() Span { return Span{Key: d.StartKey, EndKey: d.EndKey} }

// Replica returns the descriptor of node's replica, if it has one.
func (d *RangeDescriptor) Replica(node int32) (ReplicaDescriptor, bool) {
	for _, r := range d.Replicas {
		if r.NodeID == node {
			return r, true
		}
	}
	return ReplicaDescriptor{}, false
}

// Clone returns a deep copy.
func (d *RangeDescriptor) Clone() *RangeDescriptor {
	c := *d
	c.StartKey = append(Key(nil), d.StartKey...)
	c.EndKey = append(Key(nil), d.EndKey...)
	c.Replicas = append([]ReplicaDescriptor(nil), d.Replicas...)
	return &c
}

func (d *RangeDescriptor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "r%d:[%s,%s) gen=%d {", d.RangeID, d.StartKey, d.EndKey, d.Generation)
	for i, r := range d.Replicas {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "n%d", r.NodeID)
		if r.Type == NonVoter {
			b.WriteString("(nv)")
		}
	}
	b.WriteString("}")
	return b.String()
}

const rangeDescriptorVersion = 1

// AppendRangeDescriptor appends the stored form of a descriptor (used for
// the replica's own copy and for meta records).
func AppendRangeDescriptor(b []byte, d *RangeDescriptor) []byte {
	e := encoder{b: append(b, rangeDescriptorVersion)}
	e.rangeDesc(d)
	return e.b
}

// DecodeRangeDescriptor decodes what AppendRangeDescriptor wrote.
func DecodeRangeDescriptor(b []byte) (*RangeDescriptor, error) {
	d := decoder{b: b}
	if v := d.u8(); d.err == nil && v != rangeDescriptorVersion {
		return nil, fmt.Errorf("%w: unknown range descriptor version %d", ErrCorruptValue, v)
	}
	desc := &RangeDescriptor{}
	d.rangeDesc(desc)
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes after range descriptor")
	}
	if d.err != nil {
		return nil, d.err
	}
	return desc, nil
}

func (e *encoder) rangeDesc(d *RangeDescriptor) {
	e.varint(d.RangeID)
	e.nbytes(d.StartKey)
	e.nbytes(d.EndKey)
	e.varint(d.Generation)
	nslice(e, d.Replicas, func(e *encoder, r *ReplicaDescriptor) {
		e.varint(int64(r.NodeID))
		e.varint(int64(r.Type))
	})
}

func (d *decoder) rangeDesc(desc *RangeDescriptor) {
	desc.RangeID = d.varint()
	desc.StartKey = d.nbytes()
	desc.EndKey = d.nbytes()
	desc.Generation = d.varint()
	desc.Replicas = dslice(d, func(d *decoder, r *ReplicaDescriptor) {
		r.NodeID = d.int32()
		r.Type = ReplicaType(d.int8())
	})
}

// RangeKeyMismatchError reports a batch sent to a replica whose range does
// not contain all of the batch's keys (the sender's range cache is stale,
// after a split). Ranges holds the descriptors the refusing node knows
// that overlap the batch, for the sender to cache; it may be empty.
type RangeKeyMismatchError struct {
	RequestedSpan Span
	Ranges        []RangeDescriptor
}

func (e *RangeKeyMismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "key range %s is outside the ranges of this replica", e.RequestedSpan)
	for i := range e.Ranges {
		b.WriteString("; ")
		b.WriteString(e.Ranges[i].String())
	}
	return b.String()
}

// AddressOf returns the span of global keys that decides which range
// serves r, a request of ba: the transaction's anchor for requests on its
// record, else r.Keys(). A router sends r to the range(s) owning it; a
// replica refuses a batch whose addresses it does not own.
func (ba *BatchRequest) AddressOf(r Request) Span {
	switch r.(type) {
	case *HeartbeatTxnRequest, *EndTxnRequest:
		if ba.Txn != nil {
			return Span{Key: ba.Txn.Key}
		}
	}
	return r.Keys()
}

// AdminSplitRequest splits the range containing SplitKey so that a new
// range starts at SplitKey. It must be alone in its batch, outside any
// transaction. Splitting at an existing range boundary is a no-op.
type AdminSplitRequest struct{ SplitKey Key }

// AdminSplitResponse returns the two ranges after the split.
type AdminSplitResponse struct{ Left, Right RangeDescriptor }

func (*AdminSplitRequest) Method() Method { return AdminSplit }
func (r *AdminSplitRequest) Keys() Span   { return Span{Key: r.SplitKey} }
func (*AdminSplitResponse) isResponse()   {}
