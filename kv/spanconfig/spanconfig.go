// Package spanconfig stores per-span replication settings ("span
// configs") in the system keyspace, so that the replication layer can
// apply them without knowing about SQL tables. Today a config says which
// edge regions hold non-voting replicas of the span (issue 5: ALTER TABLE
// t SET (edge_regions = ...) writes one for the table's span).
//
// Layout: one record per configured span, keyed by the span's start
// (keys.SpanConfigKey(start)); the value is
//
//	0x01 <uvarint len(end)> <end> <regions, comma-separated>
//
// An empty region list means "no edge region". A key not covered by any
// record has the default: every edge region.
//
// Writers put and delete records inside their own transaction (the SQL
// layer, with the descriptor change); readers scan the prefix through any
// kvrpc.Handler (the replicate queue, through its node's router, since
// its node need not hold a replica of the system range).
//
// It imports kv/keys, kv/kvpb and kv/kvrpc only: not the kv root, which
// replication must not import (writers pass their kv.Txn as a Writer).
package spanconfig

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
)

// Config is the configuration of one span.
type Config struct {
	Span kvpb.Span
	// EdgeRegions are the regions whose edge nodes hold a non-voting
	// replica of the span's ranges; empty: none.
	EdgeRegions []string
}

const encodingVersion = 1

// Encode returns the stored value of c (its start key is the record's
// key). Region names must be non-empty and free of commas.
func Encode(c Config) ([]byte, error) {
	if len(c.Span.EndKey) == 0 || bytes.Compare(c.Span.Key, c.Span.EndKey) >= 0 {
		return nil, fmt.Errorf("spanconfig: empty span %s", c.Span)
	}
	for _, r := range c.EdgeRegions {
		if r == "" || strings.Contains(r, ",") {
			return nil, fmt.Errorf("spanconfig: bad region name %q", r)
		}
	}
	b := []byte{encodingVersion}
	b = binary.AppendUvarint(b, uint64(len(c.Span.EndKey)))
	b = append(b, c.Span.EndKey...)
	return append(b, strings.Join(c.EdgeRegions, ",")...), nil
}

// Decode parses the record stored at key.
func Decode(key, value []byte) (Config, error) {
	start, ok := bytes.CutPrefix(key, keys.SpanConfigPrefix)
	if !ok {
		return Config{}, fmt.Errorf("spanconfig: %q is not a span config key", key)
	}
	if len(value) == 0 || value[0] != encodingVersion {
		return Config{}, fmt.Errorf("spanconfig: record %q: unknown encoding", key)
	}
	n, w := binary.Uvarint(value[1:])
	if w <= 0 || uint64(len(value)-1-w) < n {
		return Config{}, fmt.Errorf("spanconfig: record %q: corrupt end key", key)
	}
	rest := value[1+w:]
	c := Config{Span: kvpb.Span{Key: append(kvpb.Key(nil), start...), EndKey: append(kvpb.Key(nil), rest[:n]...)}}
	if regions := string(rest[n:]); regions != "" {
		c.EdgeRegions = strings.Split(regions, ",")
	}
	if bytes.Compare(c.Span.Key, c.Span.EndKey) >= 0 {
		return Config{}, fmt.Errorf("spanconfig: record %q: empty span", key)
	}
	return c, nil
}

// Writer is what Put and Delete need of a transaction (a *kv.Txn).
type Writer interface {
	Put(ctx context.Context, key kvpb.Key, value []byte) error
	Delete(ctx context.Context, key kvpb.Key) (bool, error)
}

// Put writes c in txn, replacing the record of a span with the same start.
func Put(ctx context.Context, txn Writer, c Config) error {
	v, err := Encode(c)
	if err != nil {
		return err
	}
	return txn.Put(ctx, keys.SpanConfigKey(c.Span.Key), v)
}

// Delete removes, in txn, the record of the span starting at start (if
// any): the span goes back to the default.
func Delete(ctx context.Context, txn Writer, start []byte) error {
	_, err := txn.Delete(ctx, keys.SpanConfigKey(start))
	return err
}

// Set is a set of span configs, sorted by start key. The nil *Set is the
// empty set (every span has the default).
type Set struct {
	cfgs []Config
}

// NewSet builds a Set from configs in any order.
func NewSet(cfgs []Config) *Set {
	s := &Set{cfgs: slices.Clone(cfgs)}
	slices.SortFunc(s.cfgs, func(a, b Config) int { return bytes.Compare(a.Span.Key, b.Span.Key) })
	return s
}

// Configs returns the configs, by start key.
func (s *Set) Configs() []Config {
	if s == nil {
		return nil
	}
	return slices.Clone(s.cfgs)
}

// Read scans every record through h (a node's router: any node can read
// them, whether or not it holds a replica of the system range).
func Read(ctx context.Context, h kvrpc.Handler) (*Set, error) {
	if h == nil {
		return nil, errors.New("spanconfig: no sender")
	}
	ba := &kvpb.BatchRequest{}
	ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: keys.SpanConfigPrefix, EndKey: kvpb.Key(keys.SpanConfigPrefix).PrefixEnd()}})
	resp, err := h.Send(ctx, ba)
	if err != nil {
		return nil, err
	}
	var cfgs []Config
	for _, row := range resp.Responses[0].(*kvpb.ScanResponse).Rows {
		c, err := Decode(row.Key, row.Value)
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, c)
	}
	return NewSet(cfgs), nil
}

// EdgeRegions returns the edge regions allowed for the ranges of span:
// all is true when some key of span is covered by no record (the default,
// every edge region, applies there); otherwise regions is the union of
// the regions of the records overlapping span (empty: no edge region).
// A range that overlaps several tables with different configs thus gets
// a replica wherever any of them wants one.
func (s *Set) EdgeRegions(span kvpb.Span) (regions []string, all bool) {
	if s == nil {
		return nil, true
	}
	end := span.End()
	pos := span.Key // the keys of span below pos are covered
	for _, c := range s.cfgs {
		if bytes.Compare(c.Span.Key, end) >= 0 {
			break // this record and the later ones start past span
		}
		if bytes.Compare(c.Span.EndKey, span.Key) <= 0 {
			continue // ends before span
		}
		if bytes.Compare(c.Span.Key, pos) > 0 {
			return nil, true // a gap before this record
		}
		for _, r := range c.EdgeRegions {
			if !slices.Contains(regions, r) {
				regions = append(regions, r)
			}
		}
		if bytes.Compare(c.Span.EndKey, pos) > 0 {
			pos = c.Span.EndKey
		}
	}
	if bytes.Compare(pos, end) < 0 {
		return nil, true
	}
	slices.Sort(regions)
	return regions, false
}
