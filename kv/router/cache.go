package router

import (
	"bytes"
	"sort"
	"sync"

	"github.com/outpostdb/outpost/kv/kvpb"
)

// rangeCache holds range descriptors learnt from meta lookups and from
// RangeKeyMismatchErrors.
//
// Invariant: the cached descriptors never overlap. They are kept sorted
// by EndKey (hence also by StartKey), so the range containing k is the
// first entry whose EndKey is above k, if its StartKey is at or below k.
// Inserting a descriptor evicts every older entry it overlaps, except
// that an entry of the same RangeID with a higher Generation is newer
// than the descriptor, which is then dropped instead. A cached entry may
// be stale (the range split since); sending to it earns a
// RangeKeyMismatchError, which evicts it.
//
// A slice is enough: inserts are rare (one per range and split) and the
// number of ranges a gateway talks to is small; lookups binary-search.
type rangeCache struct {
	mu    sync.RWMutex
	descs []*kvpb.RangeDescriptor // sorted by EndKey, non-overlapping
}

// lookup returns the cached descriptor containing k (reverse: the one
// containing the keys just below k, i.e. StartKey < k <= EndKey).
func (c *rangeCache) lookup(k kvpb.Key, reverse bool) *kvpb.RangeDescriptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i := sort.Search(len(c.descs), func(i int) bool {
		cmp := bytes.Compare(c.descs[i].EndKey, k)
		if reverse {
			return cmp >= 0
		}
		return cmp > 0
	})
	if i == len(c.descs) {
		return nil
	}
	d := c.descs[i]
	cmp := bytes.Compare(d.StartKey, k)
	if (!reverse && cmp <= 0) || (reverse && cmp < 0) {
		return d
	}
	return nil
}

// insert adds descriptors, keeping the invariant (see rangeCache).
func (c *rangeCache) insert(descs ...*kvpb.RangeDescriptor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range descs {
		c.insertLocked(d)
	}
}

func (c *rangeCache) insertLocked(d *kvpb.RangeDescriptor) {
	if bytes.Compare(d.StartKey, d.EndKey) >= 0 {
		return // malformed; never cache an empty range
	}
	// Entries overlapping d: from the first whose EndKey > d.StartKey to
	// the last whose StartKey < d.EndKey.
	lo := sort.Search(len(c.descs), func(i int) bool { return bytes.Compare(c.descs[i].EndKey, d.StartKey) > 0 })
	hi := lo
	for hi < len(c.descs) && bytes.Compare(c.descs[hi].StartKey, d.EndKey) < 0 {
		hi++
	}
	for _, o := range c.descs[lo:hi] {
		if o.RangeID == d.RangeID && o.Generation > d.Generation {
			return // we already know a newer version of this range
		}
	}
	n := make([]*kvpb.RangeDescriptor, 0, len(c.descs)-(hi-lo)+1)
	n = append(n, c.descs[:lo]...)
	n = append(n, d.Clone())
	n = append(n, c.descs[hi:]...)
	c.descs = n
}

// evict removes d if it is still cached (same RangeID and Generation and
// bounds), and reports whether it did.
func (c *rangeCache) evict(d *kvpb.RangeDescriptor) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range c.descs {
		if o.RangeID == d.RangeID && o.Generation == d.Generation &&
			bytes.Equal(o.StartKey, d.StartKey) && bytes.Equal(o.EndKey, d.EndKey) {
			c.descs = append(c.descs[:i:i], c.descs[i+1:]...)
			return true
		}
	}
	return false
}

// all returns a copy of the cached descriptors in key order.
func (c *rangeCache) all() []*kvpb.RangeDescriptor {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*kvpb.RangeDescriptor(nil), c.descs...)
}
