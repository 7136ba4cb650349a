package sql

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/outpostdb/outpost/kv/encoding"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// RangeInfo describes one range, as the node answering SHOW RANGES sees
// its local replica.
type RangeInfo struct {
	RangeID          int64
	StartKey, EndKey []byte // EndKey nil: the end of the keyspace
	Voters, Learners []int32
	LeaseHolder      int32 // 0 if no valid lease is known
	RaftLeader       int32
	AppliedIndex     uint64 // of this node's replica
	CommitIndex      uint64
	ApproxSizeBytes  int64
	// ReplicaLocalities lists each replica's node, type and locality.
	ReplicaLocalities string
	// ClosedLag is how far behind the clock this node's replica can serve
	// follower reads; negative when unknown.
	ClosedLag time.Duration
}

// RangeReporter lists and splits ranges; the server implements it over
// the replicated store (sql never imports replication).
type RangeReporter interface {
	Ranges(ctx context.Context) ([]RangeInfo, error)
	// Split splits the range containing key so that a range starts at
	// key, returning the IDs of the ranges left and right of it.
	Split(ctx context.Context, key []byte) (left, right int64, err error)
}

var splitAtCols = []plan.ResultCol{
	{Name: "key", T: types.Text},
	{Name: "left_range_id", T: types.Int8},
	{Name: "right_range_id", T: types.Int8},
}

// runSplitAt runs ALTER TABLE t SPLIT AT query: every row of the query
// gives leading primary key values, and the table is split at the key
// they start. It needs ownership of the table, as ALTER TABLE does.
func (s *Session) runSplitAt(ctx context.Context, ss *pgdialect.SessionStmt, w ResultWriter) error {
	if s.srv.cfg.Ranges == nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "SPLIT AT is not available on this server")
	}
	if s.txn == nil {
		s.beginTxn(implicitTxn)
	}
	name := ss.Objects[0].Name
	t, err := s.catalogView(ctx).Table(name)
	if err != nil {
		return err
	}
	r, err := s.currentRole(ctx)
	if err != nil {
		return err
	}
	if !r.Superuser && t.Desc.OwnerOID() != r.OID {
		return mustBeOwner("table", name)
	}
	stmts, err := s.parser.Parse(ss.Query)
	if err != nil {
		return err
	}
	if len(stmts) != 1 || stmts[0].Session != nil {
		return sqlerr.New(sqlerr.SyntaxError, "SPLIT AT needs a single VALUES or SELECT query")
	}
	res, err := s.execute(ctx, &stmts[0], nil, nil)
	if err != nil {
		return err
	}
	defer res.close()
	if res.node == nil || res.iter == nil {
		return sqlerr.New(sqlerr.SyntaxError, "SPLIT AT needs a query that returns rows")
	}
	pk := &t.Desc.PrimaryIndex
	colType := func(id uint32) *types.T { return t.Types[t.Codec.ColumnIndex(id)] }
	var keys [][]byte
	for {
		row, err := res.iter.Next()
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		if len(row) > len(pk.ColumnIDs) {
			return sqlerr.New(sqlerr.SyntaxError, "too many columns in SPLIT AT data: %d given, the primary key of %q has %d", len(row), name, len(pk.ColumnIDs))
		}
		vals := make([]types.Datum, len(row))
		for i, d := range row {
			if d == types.Null {
				return sqlerr.New(sqlerr.NotNullViolation, "SPLIT AT data cannot contain NULL")
			}
			if vals[i], err = types.Cast(d, colType(pk.ColumnIDs[i]), true, s.evalContext().Location); err != nil {
				return err
			}
		}
		k, err := t.Codec.EncodeKeyPrefix(pk, vals)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if err := w.RowDescription(s.columns(splitAtCols, s.resultFormats)); err != nil {
		return err
	}
	for _, k := range keys {
		left, right, err := s.srv.cfg.Ranges.Split(ctx, k)
		if err != nil {
			return sqlerr.New(sqlerr.InternalError, "splitting at %s: %v", prettyKey(k, "/Min"), err)
		}
		vals, err := s.encodeRow([]types.Datum{types.DString(prettyKey(k, "/Min")), nullableID64(left), nullableID64(right)}, splitAtCols, s.resultFormats)
		if err != nil {
			return err
		}
		if err := w.DataRow(vals); err != nil {
			return err
		}
	}
	return w.CommandComplete(fmt.Sprintf("SPLIT %d", len(keys)))
}

func nullableID64(id int64) types.Datum {
	if id == 0 {
		return types.Null
	}
	return types.DInt(id)
}

var showRangesCols = []plan.ResultCol{
	{Name: "range_id", T: types.Int8},
	{Name: "start_key", T: types.Text},
	{Name: "end_key", T: types.Text},
	{Name: "replicas", T: types.Text},
	{Name: "learners", T: types.Text},
	{Name: "lease_holder", T: types.Int8},
	{Name: "raft_leader", T: types.Int8},
	{Name: "applied_index", T: types.Int8},
	{Name: "commit_index", T: types.Int8},
	{Name: "approx_size_bytes", T: types.Int8},
	{Name: "replica_localities", T: types.Text},
	{Name: "closed_timestamp_lag", T: types.Interval},
}

// showRanges answers SHOW RANGES [FROM TABLE table].
func (s *Session) showRanges(w ResultWriter, table string) error {
	ctx := context.Background()
	var lo, hi []byte
	if table != "" {
		if s.txn == nil {
			s.beginTxn(implicitTxn)
		}
		t, err := s.catalogView(ctx).Table(table)
		if err != nil {
			return err
		}
		lo = keys.TablePrefix(uint64(t.Desc.ID))
		hi = keys.TablePrefix(uint64(t.Desc.ID) + 1)
	}
	ranges, err := s.srv.cfg.Ranges.Ranges(ctx)
	if err != nil {
		return err
	}
	if err := w.RowDescription(s.columns(showRangesCols, s.resultFormats)); err != nil {
		return err
	}
	for _, r := range ranges {
		if lo != nil && !(bytes.Compare(r.StartKey, hi) < 0 && (r.EndKey == nil || bytes.Compare(lo, r.EndKey) < 0)) {
			continue
		}
		row := []types.Datum{
			types.DInt(r.RangeID),
			types.DString(prettyKey(r.StartKey, "/Min")),
			types.DString(prettyKey(r.EndKey, "/Max")),
			types.DString(idList(r.Voters)),
			types.DString(idList(r.Learners)),
			nullableID(r.LeaseHolder),
			nullableID(r.RaftLeader),
			types.DInt(int64(r.AppliedIndex)),
			types.DInt(int64(r.CommitIndex)),
			types.DInt(r.ApproxSizeBytes),
			types.DString(r.ReplicaLocalities),
			types.Null,
		}
		if r.ClosedLag >= 0 {
			row[len(row)-1] = types.DInterval{Micros: int64(r.ClosedLag / time.Microsecond)}
		}
		vals, err := s.encodeRow(row, showRangesCols, s.resultFormats)
		if err != nil {
			return err
		}
		if err := w.DataRow(vals); err != nil {
			return err
		}
	}
	return w.CommandComplete("SHOW")
}

func nullableID(id int32) types.Datum {
	if id == 0 {
		return types.Null
	}
	return types.DInt(id)
}

func idList(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// prettyKey renders a range boundary: /Min, /Max, /Table/<id>/<index>...,
// /System/..., or the quoted bytes.
func prettyKey(k []byte, empty string) string {
	switch {
	case len(k) == 0, bytes.Equal(k, keys.FirstRangeStart):
		return empty
	case bytes.Equal(k, keys.MaxKey):
		return "/Max"
	case bytes.HasPrefix(k, keys.SystemPrefix):
		return fmt.Sprintf("/System/%q", k[len(keys.SystemPrefix):])
	}
	if len(k) > 1 && k[0] == keys.TableDataMin[0] {
		// A table's bound (edge_regions splits there): no index ID.
		if rest, tid, err := encoding.DecodeUvarintAscending(k[1:]); err == nil && len(rest) == 0 {
			return fmt.Sprintf("/Table/%d", tid)
		}
	}
	if tid, iid, rest, err := keys.DecodeIndexPrefix(k); err == nil {
		if len(rest) == 0 {
			return fmt.Sprintf("/Table/%d/%d", tid, iid)
		}
		return fmt.Sprintf("/Table/%d/%d/%x", tid, iid, rest)
	}
	return fmt.Sprintf("%q", k)
}
