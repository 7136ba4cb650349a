package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/rowenc"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// ---- Values ----

// Values produces literal rows.
type Values struct {
	Rows [][]Expr
	Cols []ResultCol
}

func (v *Values) Columns() []ResultCol { return v.Cols }
func (v *Values) Children() []Node     { return nil }
func (v *Values) Explain() string      { return fmt.Sprintf("values (%d rows)", len(v.Rows)) }
func (v *Values) Open(ec *ExecCtx) (RowIter, error) {
	return &valuesIter{v: v, ec: ec}, nil
}

type valuesIter struct {
	v  *Values
	ec *ExecCtx
	i  int
}

func (it *valuesIter) Next() (Row, error) {
	if it.i >= len(it.v.Rows) {
		return nil, nil
	}
	exprs := it.v.Rows[it.i]
	it.i++
	row := make(Row, len(exprs))
	for j, e := range exprs {
		d, err := e.Eval(it.ec, nil)
		if err != nil {
			return nil, err
		}
		row[j] = d
	}
	return row, nil
}
func (it *valuesIter) Close() {}

// ---- Scan ----

// Table is a table with its resolved column types and codec.
type Table struct {
	Desc  *catalog.TableDesc
	Types []*types.T
	Codec *rowenc.Codec
	// Virtual, when set, generates the rows of a read-only system table
	// (pg_catalog, information_schema); Codec is then nil.
	Virtual VirtualRows
	// View marks a virtual table that is a view in PostgreSQL.
	View bool
}

// SpanBound is one end of an index span: values for the leading index
// columns (evaluated at execution, so parameters work).
type SpanBound struct {
	Vals      []Expr
	Inclusive bool
}

// IndexSpan constrains an index scan; nil Start/End = unbounded.
type IndexSpan struct {
	Start, End *SpanBound
}

// Scan reads rows of a table through one of its indexes, looking up the
// primary index for secondary index entries (index join), applying an
// optional residual filter. Rows have all table columns in descriptor order.
type Scan struct {
	Table  *Table
	Index  *catalog.IndexDesc
	Spans  []IndexSpan // empty = whole index
	Filter Expr
	// Limit, when > 0 and no filter, stops the scan early.
	Limit   int64
	Reverse bool
	// Locking marks a scan under FOR UPDATE (no effect on one node beyond
	// documentation; writes take locks).
	Alias string
}

func (s *Scan) Columns() []ResultCol {
	cols := make([]ResultCol, len(s.Table.Desc.Columns))
	for i, c := range s.Table.Desc.Columns {
		cols[i] = ResultCol{Name: c.Name, T: s.Table.Types[i], TableID: s.Table.Desc.ID, ColumnID: c.ID, Hidden: c.Hidden}
	}
	return cols
}
func (s *Scan) Children() []Node { return nil }
func (s *Scan) Explain() string {
	var b strings.Builder
	kind := "scan"
	if len(s.Spans) > 0 {
		kind = "span scan"
		if len(s.Spans) == 1 && s.isPoint(s.Spans[0]) && (s.Index.Unique || s.Index.ID == catalog.PrimaryIndexID) {
			kind = "point lookup"
		}
	} else {
		kind = "full scan"
	}
	fmt.Fprintf(&b, "%s %s@%s", kind, s.Table.Desc.Name, s.Index.Name)
	if s.Index.ID != catalog.PrimaryIndexID {
		b.WriteString(" (index join)")
	}
	for _, sp := range s.Spans {
		b.WriteString(" " + spanString(sp))
	}
	if s.Filter != nil {
		fmt.Fprintf(&b, " filter=%s", s.Filter)
	}
	if s.Limit > 0 {
		fmt.Fprintf(&b, " limit=%d", s.Limit)
	}
	if s.Reverse {
		b.WriteString(" reverse")
	}
	return b.String()
}

func (s *Scan) isPoint(sp IndexSpan) bool {
	return sp.Start != nil && sp.End != nil && sp.Start.Inclusive && sp.End.Inclusive &&
		len(sp.Start.Vals) == len(s.Index.ColumnIDs) && len(sp.End.Vals) == len(sp.Start.Vals) &&
		exprList(sp.Start.Vals) == exprList(sp.End.Vals)
}

func spanString(sp IndexSpan) string {
	l, r := "(-∞", "+∞)"
	if sp.Start != nil {
		l = "(" + exprList(sp.Start.Vals)
		if sp.Start.Inclusive {
			l = "[" + exprList(sp.Start.Vals)
		}
	}
	if sp.End != nil {
		r = exprList(sp.End.Vals) + ")"
		if sp.End.Inclusive {
			r = exprList(sp.End.Vals) + "]"
		}
	}
	return l + " - " + r
}

// kvSpans evaluates the index spans to kv key spans.
func (s *Scan) kvSpans(ec *ExecCtx) ([]kvpb.Span, error) {
	full := s.Table.Codec.IndexSpan(s.Index)
	if len(s.Spans) == 0 {
		return []kvpb.Span{full}, nil
	}
	var out []kvpb.Span
	for _, sp := range s.Spans {
		start, end := full.Key, full.EndKey
		if sp.Start != nil {
			vals, null, err := evalAll(ec, sp.Start.Vals)
			if err != nil {
				return nil, err
			}
			if null {
				continue // comparison with NULL matches nothing
			}
			k, err := s.Table.Codec.EncodeKeyPrefix(s.Index, vals)
			if err != nil {
				return nil, err
			}
			if sp.Start.Inclusive {
				start = k
			} else {
				start = k.PrefixEnd()
			}
		}
		if sp.End != nil {
			vals, null, err := evalAll(ec, sp.End.Vals)
			if err != nil {
				return nil, err
			}
			if null {
				continue
			}
			k, err := s.Table.Codec.EncodeKeyPrefix(s.Index, vals)
			if err != nil {
				return nil, err
			}
			if sp.End.Inclusive {
				end = k.PrefixEnd()
			} else {
				end = k
			}
		}
		if string(start) < string(end) {
			out = append(out, kvpb.Span{Key: start, EndKey: end})
		}
	}
	return mergeSpans(out), nil
}

// mergeSpans sorts spans and merges overlapping ones, so that a row is
// never read twice (x IN (1, 1) gives one span).
func mergeSpans(spans []kvpb.Span) []kvpb.Span {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return string(spans[i].Key) < string(spans[j].Key) })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if string(sp.Key) <= string(last.EndKey) {
			if string(sp.EndKey) > string(last.EndKey) {
				last.EndKey = sp.EndKey
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

func evalAll(ec *ExecCtx, es []Expr) ([]types.Datum, bool, error) {
	out := make([]types.Datum, len(es))
	for i, e := range es {
		d, err := e.Eval(ec, nil)
		if err != nil {
			return nil, false, err
		}
		if d == types.Null {
			return nil, true, nil
		}
		out[i] = d
	}
	return out, false, nil
}

// scanBatchRows is how many kv rows a scan fetches per request: results
// stream in batches rather than being read whole.
const scanBatchRows = 1000

func (s *Scan) Open(ec *ExecCtx) (RowIter, error) {
	spans, err := s.kvSpans(ec)
	if err != nil {
		return nil, err
	}
	if s.Reverse {
		for i, j := 0, len(spans)-1; i < j; i, j = i+1, j-1 {
			spans[i], spans[j] = spans[j], spans[i]
		}
	}
	return &scanIter{s: s, ec: ec, spans: spans}, nil
}

type scanIter struct {
	s       *Scan
	ec      *ExecCtx
	spans   []kvpb.Span
	buf     []kvpb.KeyValue
	emitted int64
}

func (it *scanIter) fetch() error {
	for len(it.buf) == 0 && len(it.spans) > 0 {
		sp := &it.spans[0]
		n := int64(scanBatchRows)
		if it.s.Limit > 0 && it.s.Filter == nil && it.s.Limit-it.emitted < n {
			// Without a filter every row read is returned: read no more
			// than the limit needs.
			n = it.s.Limit - it.emitted
		}
		var rows []kvpb.KeyValue
		var err error
		if it.s.Reverse {
			rows, err = it.ec.Txn.ReverseScan(it.ec.Ctx, sp.Key, sp.EndKey, n)
		} else {
			rows, err = it.ec.Txn.Scan(it.ec.Ctx, sp.Key, sp.EndKey, n)
		}
		if err != nil {
			return err
		}
		if int64(len(rows)) < n {
			it.spans = it.spans[1:]
		} else if it.s.Reverse {
			sp.EndKey = rows[len(rows)-1].Key
		} else {
			sp.Key = rows[len(rows)-1].Key.Next()
		}
		it.buf = rows
	}
	return nil
}

func (it *scanIter) Next() (Row, error) {
	for {
		if it.s.Limit > 0 && it.emitted >= it.s.Limit {
			return nil, nil
		}
		if err := it.ec.Ctx.Err(); err != nil {
			return nil, err
		}
		if err := it.fetch(); err != nil {
			return nil, err
		}
		if len(it.buf) == 0 {
			return nil, nil
		}
		kv := it.buf[0]
		it.buf = it.buf[1:]
		row, err := it.decode(kv)
		if err != nil {
			return nil, err
		}
		if row == nil {
			continue
		}
		if it.s.Filter != nil {
			ok, null, err := evalBool(it.ec, it.s.Filter, row)
			if err != nil {
				return nil, err
			}
			if null || !ok {
				continue
			}
		}
		it.emitted++
		return row, nil
	}
}

func (it *scanIter) decode(kv kvpb.KeyValue) (Row, error) {
	c := it.s.Table.Codec
	if it.s.Index.ID == catalog.PrimaryIndexID {
		return c.DecodePrimary(kv.Key, kv.Value)
	}
	_, pk, err := c.DecodeIndexEntry(it.s.Index, kv.Key, kv.Value)
	if err != nil {
		return nil, err
	}
	v, err := it.ec.Txn.Get(it.ec.Ctx, pk)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "index %s of %s points at a missing row", it.s.Index.Name, it.s.Table.Desc.Name)
	}
	return c.DecodePrimary(pk, v)
}

func (it *scanIter) Close() {}

// ---- Filter ----

// Filter keeps rows where Pred is true.
type Filter struct {
	Input Node
	Pred  Expr
}

func (f *Filter) Columns() []ResultCol { return f.Input.Columns() }
func (f *Filter) Children() []Node     { return []Node{f.Input} }
func (f *Filter) Explain() string      { return "filter " + f.Pred.String() }
func (f *Filter) Open(ec *ExecCtx) (RowIter, error) {
	in, err := f.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	return &filterIter{f: f, in: in, ec: ec}, nil
}

type filterIter struct {
	f  *Filter
	in RowIter
	ec *ExecCtx
}

func (it *filterIter) Next() (Row, error) {
	for {
		r, err := it.in.Next()
		if err != nil || r == nil {
			return r, err
		}
		ok, null, err := evalBool(it.ec, it.f.Pred, r)
		if err != nil {
			return nil, err
		}
		if ok && !null {
			return r, nil
		}
	}
}
func (it *filterIter) Close() { it.in.Close() }

// ---- Project ----

// Project computes output expressions from each input row.
type Project struct {
	Input Node
	Exprs []Expr
	Cols  []ResultCol
}

func (p *Project) Columns() []ResultCol { return p.Cols }
func (p *Project) Children() []Node     { return []Node{p.Input} }
func (p *Project) Explain() string      { return "project " + exprList(p.Exprs) }
func (p *Project) Open(ec *ExecCtx) (RowIter, error) {
	in, err := p.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	return &projectIter{p: p, in: in, ec: ec}, nil
}

type projectIter struct {
	p  *Project
	in RowIter
	ec *ExecCtx
}

func (it *projectIter) Next() (Row, error) {
	r, err := it.in.Next()
	if err != nil || r == nil {
		return nil, err
	}
	out := make(Row, len(it.p.Exprs))
	for i, e := range it.p.Exprs {
		if out[i], err = e.Eval(it.ec, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}
func (it *projectIter) Close() { it.in.Close() }

// ---- Sort ----

// SortKey orders by a column of the input.
type SortKey struct {
	Col  int
	Desc bool
	// NullsFirst: PostgreSQL's default is NULLS LAST for ASC and NULLS
	// FIRST for DESC (NULL sorts as the largest value).
	NullsFirst bool
}

// Sort buffers its input (within the memory budget) and sorts it.
type Sort struct {
	Input Node
	Keys  []SortKey
}

func (s *Sort) Columns() []ResultCol { return s.Input.Columns() }
func (s *Sort) Children() []Node     { return []Node{s.Input} }
func (s *Sort) Explain() string {
	parts := make([]string, len(s.Keys))
	cols := s.Input.Columns()
	for i, k := range s.Keys {
		parts[i] = cols[k.Col].Name
		if k.Desc {
			parts[i] += " DESC"
		}
	}
	return "sort " + strings.Join(parts, ", ")
}

func compareRows(a, b Row, keys []SortKey) (int, error) {
	for _, k := range keys {
		x, y := a[k.Col], b[k.Col]
		var c int
		switch {
		case x == types.Null && y == types.Null:
			c = 0
		case x == types.Null:
			c = 1
			if k.NullsFirst {
				c = -1
			}
			if k.Desc {
				c = -c
			}
		case y == types.Null:
			c = -1
			if k.NullsFirst {
				c = 1
			}
			if k.Desc {
				c = -c
			}
		default:
			var err error
			if c, err = types.Compare(x, y); err != nil {
				return 0, err
			}
		}
		if c != 0 {
			if k.Desc {
				return -c, nil
			}
			return c, nil
		}
	}
	return 0, nil
}

func (s *Sort) Open(ec *ExecCtx) (RowIter, error) {
	in, err := s.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var rows []Row
	var mem int64
	for {
		if err := ec.Ctx.Err(); err != nil {
			ec.release(mem)
			return nil, err
		}
		r, err := in.Next()
		if err != nil {
			ec.release(mem)
			return nil, err
		}
		if r == nil {
			break
		}
		sz := rowSize(r)
		mem += sz
		if err := ec.reserve(sz); err != nil {
			ec.release(mem)
			return nil, err
		}
		rows = append(rows, r)
	}
	var sortErr error
	sort.SliceStable(rows, func(i, j int) bool {
		c, err := compareRows(rows[i], rows[j], s.Keys)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		ec.release(mem)
		return nil, sortErr
	}
	return &sliceIter{rows: rows, ec: ec, mem: mem}, nil
}

// ---- Limit ----

// Limit applies OFFSET then LIMIT (Count nil = no limit).
type Limit struct {
	Input         Node
	Count, Offset Expr
}

func (l *Limit) Columns() []ResultCol { return l.Input.Columns() }
func (l *Limit) Children() []Node     { return []Node{l.Input} }
func (l *Limit) Explain() string {
	s := "limit"
	if l.Count != nil {
		s += " " + l.Count.String()
	}
	if l.Offset != nil {
		s += " offset " + l.Offset.String()
	}
	return s
}

func evalCount(ec *ExecCtx, e Expr, what string) (int64, bool, error) {
	if e == nil {
		return 0, false, nil
	}
	d, err := e.Eval(ec, nil)
	if err != nil {
		return 0, false, err
	}
	if d == types.Null {
		return 0, false, nil
	}
	d, err = types.Cast(d, types.Int8, false, nil)
	if err != nil {
		return 0, false, err
	}
	n := int64(d.(types.DInt))
	if n < 0 {
		return 0, false, sqlerr.New(limitCode(what), "%s must not be negative", strings.ToUpper(what))
	}
	return n, true, nil
}

func (l *Limit) Open(ec *ExecCtx) (RowIter, error) {
	count, hasCount, err := evalCount(ec, l.Count, "limit")
	if err != nil {
		return nil, err
	}
	offset, _, err := evalCount(ec, l.Offset, "offset")
	if err != nil {
		return nil, err
	}
	in, err := l.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	return &limitIter{in: in, count: count, hasCount: hasCount, offset: offset}, nil
}

type limitIter struct {
	in               RowIter
	count, offset, n int64
	hasCount         bool
}

func (it *limitIter) Next() (Row, error) {
	for it.offset > 0 {
		r, err := it.in.Next()
		if err != nil || r == nil {
			return nil, err
		}
		it.offset--
	}
	if it.hasCount && it.n >= it.count {
		return nil, nil
	}
	r, err := it.in.Next()
	if r != nil {
		it.n++
	}
	return r, err
}
func (it *limitIter) Close() { it.in.Close() }

// ---- Distinct ----

// Distinct drops duplicate rows (on the first NumCols columns when > 0:
// DISTINCT ON is not supported, this serves ORDER BY helper columns).
type Distinct struct {
	Input   Node
	NumCols int
}

func (d *Distinct) Columns() []ResultCol { return d.Input.Columns() }
func (d *Distinct) Children() []Node     { return []Node{d.Input} }
func (d *Distinct) Explain() string      { return "distinct" }
func (d *Distinct) Open(ec *ExecCtx) (RowIter, error) {
	in, err := d.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	return &distinctIter{in: in, ec: ec, seen: map[string]struct{}{}, n: d.NumCols}, nil
}

type distinctIter struct {
	in   RowIter
	ec   *ExecCtx
	seen map[string]struct{}
	n    int
	mem  int64
}

func hashRow(r Row, n int) string {
	var b []byte
	if n == 0 || n > len(r) {
		n = len(r)
	}
	for _, d := range r[:n] {
		b = types.HashKey(b, d)
	}
	return string(b)
}

func (it *distinctIter) Next() (Row, error) {
	for {
		r, err := it.in.Next()
		if err != nil || r == nil {
			return r, err
		}
		k := hashRow(r, it.n)
		if _, ok := it.seen[k]; ok {
			continue
		}
		sz := int64(len(k) + 48)
		it.mem += sz
		if err := it.ec.reserve(sz); err != nil {
			return nil, err
		}
		it.seen[k] = struct{}{}
		return r, nil
	}
}
func (it *distinctIter) Close() { it.in.Close(); it.ec.release(it.mem) }

// ---- Aggregation ----

// AggSpec is one aggregate: Arg nil for count(*).
type AggSpec struct {
	Name     string
	Args     []Expr
	Distinct bool
	Ov       *builtins.AggOverload
}

// HashAgg groups input rows by Groups and computes Aggs. Output rows are
// the group values followed by the aggregate results. With no groups it
// yields exactly one row, even for empty input.
type HashAgg struct {
	Input  Node
	Groups []Expr
	Aggs   []AggSpec
	Cols   []ResultCol
}

func (h *HashAgg) Columns() []ResultCol { return h.Cols }
func (h *HashAgg) Children() []Node     { return []Node{h.Input} }
func (h *HashAgg) Explain() string {
	names := make([]string, len(h.Aggs))
	for i, a := range h.Aggs {
		names[i] = a.Name + "(" + exprList(a.Args) + ")"
	}
	s := "group"
	if len(h.Groups) > 0 {
		s += " by " + exprList(h.Groups)
	}
	return s + " aggregates: " + strings.Join(names, ", ")
}

type aggGroup struct {
	keys  Row
	accs  []builtins.Accumulator
	seens []map[string]struct{}
}

func (h *HashAgg) newGroup(keys Row) *aggGroup {
	g := &aggGroup{keys: keys, accs: make([]builtins.Accumulator, len(h.Aggs)), seens: make([]map[string]struct{}, len(h.Aggs))}
	for i, a := range h.Aggs {
		g.accs[i] = a.Ov.New()
		if a.Distinct {
			g.seens[i] = map[string]struct{}{}
		}
	}
	return g
}

func (h *HashAgg) Open(ec *ExecCtx) (RowIter, error) {
	in, err := h.Input.Open(ec)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	groups := map[string]*aggGroup{}
	var order []*aggGroup
	var mem int64
	fail := func(err error) (RowIter, error) { ec.release(mem); return nil, err }
	for {
		if err := ec.Ctx.Err(); err != nil {
			return fail(err)
		}
		r, err := in.Next()
		if err != nil {
			return fail(err)
		}
		if r == nil {
			break
		}
		keys := make(Row, len(h.Groups))
		for i, g := range h.Groups {
			if keys[i], err = g.Eval(ec, r); err != nil {
				return fail(err)
			}
		}
		k := hashRow(keys, 0)
		g, ok := groups[k]
		if !ok {
			g = h.newGroup(keys)
			groups[k] = g
			order = append(order, g)
			sz := rowSize(keys) + int64(64*len(h.Aggs))
			mem += sz
			if err := ec.reserve(sz); err != nil {
				return fail(err)
			}
		}
		for i, a := range h.Aggs {
			args := make([]types.Datum, len(a.Args))
			for j, e := range a.Args {
				if args[j], err = e.Eval(ec, r); err != nil {
					return fail(err)
				}
				if j < len(a.Ov.Args) {
					if args[j], err = builtins.Coerce(ec.Eval, args[j], a.Ov.Args[j]); err != nil {
						return fail(err)
					}
				}
			}
			if a.Distinct {
				dk := hashRow(args, 0)
				if _, dup := g.seens[i][dk]; dup {
					continue
				}
				g.seens[i][dk] = struct{}{}
			}
			if err := g.accs[i].Add(ec.Eval, args...); err != nil {
				return fail(err)
			}
		}
	}
	if len(h.Groups) == 0 && len(order) == 0 {
		order = append(order, h.newGroup(Row{}))
	}
	rows := make([]Row, 0, len(order))
	for _, g := range order {
		out := make(Row, 0, len(g.keys)+len(g.accs))
		out = append(out, g.keys...)
		for _, acc := range g.accs {
			d, err := acc.Result()
			if err != nil {
				return fail(err)
			}
			out = append(out, d)
		}
		rows = append(rows, out)
	}
	return &sliceIter{rows: rows, ec: ec, mem: mem}, nil
}

func limitCode(what string) string {
	if what == "offset" {
		return sqlerr.InvalidRowCountInOffset
	}
	return sqlerr.InvalidRowCountInLimit
}
