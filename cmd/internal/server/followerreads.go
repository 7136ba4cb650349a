package server

import (
	"bytes"
	"context"
	"fmt"
	"strings"

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

func (f storeFollowerReads) LocalServable(_ context.Context, spans []kvpb.Span) (hlc.Timestamp, string, bool) {
	var descs []kvpb.RangeDescriptor
	var reps []*replication.Replica
	for _, r := range f.s.store.Replicas() {
		if d := r.Desc(); d.EndKey != nil {
			descs, reps = append(descs, d), append(reps, r)
		}
	}
	var min hlc.Timestamp
	var used []string
	types := map[kvpb.ReplicaType]bool{}
	self := f.s.nodeID
	now := f.s.clock.Now()
	leaseholder := false
	for _, sp := range spans {
		cur := sp.Key
		if bytes.Compare(cur, keys.FirstRangeStart) < 0 {
			cur = keys.FirstRangeStart
		}
		for bytes.Compare(cur, sp.EndKey) < 0 {
			i := -1
			for j := range descs {
				if descs[j].ContainsKey(cur) {
					i = j
					break
				}
			}
			if i < 0 {
				return hlc.Timestamp{}, "", false
			}
			c := reps[i].ClosedTimestamp()
			if reps[i].CheckServe(nil, now) == nil {
				c, leaseholder = now, true
			}
			if c.IsEmpty() {
				return hlc.Timestamp{}, "", false
			}
			if min.IsEmpty() || c.Less(min) {
				min = c
			}
			used = append(used, fmt.Sprintf("r%d", descs[i].RangeID))
			if rd, ok := descs[i].Replica(self); ok {
				types[rd.Type] = true
			}
			cur = descs[i].EndKey
		}
	}
	if min.IsEmpty() {
		return hlc.Timestamp{}, "", false
	}
	kind := []string{}
	for _, t := range []kvpb.ReplicaType{kvpb.Voter, kvpb.NonVoter} {
		if types[t] {
			kind = append(kind, t.String())
		}
	}
	if leaseholder {
		kind = append(kind, "leaseholder")
	}
	if len(used) > 4 {
		used = append(used[:3], fmt.Sprintf("… (%d ranges)", len(used)))
	}
	return min, fmt.Sprintf("n%d %s %s", self, strings.Join(used, ","), strings.Join(kind, "/")), true
}
