package catalog

import (
	"context"
	"strings"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/spanconfig"
)

// Edge placement (issue 5): TableDesc.EdgeRegions records ALTER TABLE t
// SET (edge_regions = ...): "" (the default: every edge region holds a
// non-voting replica of the table), EdgeRegionsNone (no edge replica), or
// a comma-separated list of regions. The replication layer does not read
// descriptors: the same transaction writes a span config record for the
// table's span (kv/spanconfig), deleted on RESET and with the table.

// EdgeRegionsNone is TableDesc.EdgeRegions of a table without edge
// replicas.
const EdgeRegionsNone = "none"

// TableSpan is every key of table id: [TablePrefix(id), TablePrefix(id+1)).
func TableSpan(id ID) kvpb.Span {
	return kvpb.Span{Key: keys.TablePrefix(id), EndKey: keys.TablePrefix(id + 1)}
}

// EdgeRegionList returns the table's edge regions: all is true without a
// setting; otherwise regions lists them (empty: none).
func (t *TableDesc) EdgeRegionList() (regions []string, all bool) {
	switch t.EdgeRegions {
	case "":
		return nil, true
	case EdgeRegionsNone:
		return nil, false
	}
	return strings.Split(t.EdgeRegions, ","), false
}

// SetEdgeRegions sets the edge regions of table d in txn (empty regions:
// none), or with reset goes back to the default, updating the
// descriptor (so the catalog version) and the table's span config
// together. Region names must be non-empty and free of commas.
func SetEdgeRegions(ctx context.Context, txn *kv.Txn, d *Descriptor, regions []string, reset bool) error {
	td := d.Table
	sp := TableSpan(td.ID)
	switch {
	case reset:
		td.EdgeRegions = ""
		if err := spanconfig.Delete(ctx, txn, sp.Key); err != nil {
			return err
		}
	default:
		td.EdgeRegions = EdgeRegionsNone
		if len(regions) > 0 {
			td.EdgeRegions = strings.Join(regions, ",")
		}
		if err := spanconfig.Put(ctx, txn, spanconfig.Config{Span: sp, EdgeRegions: regions}); err != nil {
			return err
		}
	}
	return Put(ctx, txn, d)
}

// dropSpanConfig removes the span config of a dropped table.
func dropSpanConfig(ctx context.Context, txn *kv.Txn, d *Descriptor) error {
	if d.Kind != KindTable || d.Table.EdgeRegions == "" {
		return nil
	}
	return spanconfig.Delete(ctx, txn, TableSpan(d.Table.ID).Key)
}
