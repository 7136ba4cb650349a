package server

import (
	"bytes"
	"context"
	"slices"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/replication"
)

// storeFollowerReads answers sql.FollowerReads from the node's replicas:
// the newest timestamp every local replica covering the spans can serve
// from this node's own data: the present where it holds the lease, else
// what it has closed and applied.
type storeFollowerReads struct{ s *Server }

func (f storeFollowerReads) LocalServable(_ context.Context, spans []kvpb.Span) (hlc.Timestamp, bool) {
	var descs []kvpb.RangeDescriptor
	var reps []*replication.Replica
	for _, r := range f.s.store.Replicas() {
		if d := r.Desc(); d.EndKey != nil {
			descs, reps = append(descs, d), append(reps, r)
		}
	}
	var min hlc.Timestamp
	now := f.s.clock.Now()
	for _, sp := range spans {
		cur := sp.Key
		if bytes.Compare(cur, keys.FirstRangeStart) < 0 {
			cur = keys.FirstRangeStart
		}
		for bytes.Compare(cur, sp.EndKey) < 0 {
			i := slices.IndexFunc(descs, func(d kvpb.RangeDescriptor) bool { return d.ContainsKey(cur) })
			if i < 0 {
				return hlc.Timestamp{}, false
			}
			c := reps[i].ClosedTimestamp()
			if reps[i].CheckServe(nil, now) == nil {
				c = now // the leaseholder serves the present
			}
			if c.IsEmpty() {
				return hlc.Timestamp{}, false
			}
			if min.IsEmpty() || c.Less(min) {
				min = c
			}
			cur = descs[i].EndKey
		}
	}
	return min, !min.IsEmpty()
}
