package plan

import (
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/types"
)

// applyFilter adds a predicate above n. Over a table scan it runs the
// access-path rule "constrain-index": pick the index whose leading columns
// the predicate pins (equalities, then one range), scan only those spans,
// and keep the whole predicate as the scan's residual filter.
func (b *Builder) applyFilter(n Node, pred Expr) Node {
	scan, ok := n.(*Scan)
	if !ok || scan.Filter != nil {
		return &Filter{Input: n, Pred: pred}
	}
	conj := splitAnd(pred)
	best, bestScore := (*catalog.IndexDesc)(nil), 0
	var bestSpans []IndexSpan
	for _, idx := range scan.Table.Desc.AllIndexes() {
		spans, score := constrainIndex(scan.Table, idx, conj)
		if score > bestScore || (score == bestScore && score > 0 && idx.ID == catalog.PrimaryIndexID) {
			best, bestScore, bestSpans = idx, score, spans
		}
	}
	out := *scan
	out.Filter = pred
	if best != nil {
		out.Index = best
		out.Spans = bestSpans
	}
	return &out
}

// indexableValue is an expression whose value is fixed for the scan:
// a constant, a parameter, or an outer-row reference.
func indexableValue(e Expr) bool {
	switch v := e.(type) {
	case *Const:
		return v.D != types.Null
	case *Param:
		return true
	case *ColRef:
		return v.Depth > 0
	case *Cast:
		return indexableValue(v.E)
	}
	return false
}

// colCompare matches "col op value" or "value op col" on table column pos.
func colCompare(e Expr, pos int, colType *types.T) (op string, val Expr, ok bool) {
	be, isBin := e.(*BinOp)
	if !isBin {
		return "", nil, false
	}
	flip := map[string]string{"=": "=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
	if _, cmp := flip[be.Op]; !cmp {
		return "", nil, false
	}
	if c, ok := be.L.(*ColRef); ok && c.Depth == 0 && c.Idx == pos && indexableValue(be.R) && sameKeyType(be.R.Type(), colType) {
		return be.Op, be.R, true
	}
	if c, ok := be.R.(*ColRef); ok && c.Depth == 0 && c.Idx == pos && indexableValue(be.L) && sameKeyType(be.L.Type(), colType) {
		return flip[be.Op], be.L, true
	}
	return "", nil, false
}

// sameKeyType reports whether a value of type v encodes like the column
// type c in keys (key encodings are per family; ints of any width agree).
func sameKeyType(v, c *types.T) bool {
	if v.Family != c.Family {
		return false
	}
	if c.Family == types.StringFamily && c.Width > 0 {
		return false // char(n)/varchar(n) values may need padding or checks
	}
	return true
}

// constrainIndex builds spans for idx from the conjuncts and scores them:
// two points per pinned column, one for a trailing range, plus a bonus for
// pinning a whole unique index (a point lookup).
func constrainIndex(t *Table, idx *catalog.IndexDesc, conj []Expr) ([]IndexSpan, int) {
	var eqVals []Expr
	score := 0
	var inList *InList
	for i, colID := range idx.ColumnIDs {
		_, pos, _ := t.Desc.ColumnByID(colID)
		colType := t.Types[pos]
		found := false
		for _, c := range conj {
			if op, v, ok := colCompare(c, pos, colType); ok && op == "=" {
				eqVals = append(eqVals, v)
				found = true
				break
			}
		}
		if found {
			score += 2
			continue
		}
		// IN list on this column: several point spans.
		if inList == nil {
			for _, c := range conj {
				in, ok := c.(*InList)
				if !ok || in.Not {
					continue
				}
				if cr, ok := in.E.(*ColRef); !ok || cr.Depth != 0 || cr.Idx != pos {
					continue
				}
				allConst := true
				for _, v := range in.List {
					if !indexableValue(v) || !sameKeyType(v.Type(), colType) {
						allConst = false
					}
				}
				if allConst && len(in.List) > 0 {
					inList = in
					break
				}
			}
			if inList != nil {
				var spans []IndexSpan
				for _, v := range inList.List {
					vals := append(append([]Expr(nil), eqVals...), v)
					spans = append(spans, IndexSpan{Start: &SpanBound{Vals: vals, Inclusive: true}, End: &SpanBound{Vals: vals, Inclusive: true}})
				}
				return spans, score + 2
			}
		}
		// A range on this column ends the usable prefix.
		desc := i < len(idx.Descending) && idx.Descending[i]
		var lo, hi *SpanBound
		for _, c := range conj {
			op, v, ok := colCompare(c, pos, colType)
			if !ok || desc {
				continue
			}
			vals := append(append([]Expr(nil), eqVals...), v)
			switch op {
			case ">":
				lo = &SpanBound{Vals: vals}
			case ">=":
				lo = &SpanBound{Vals: vals, Inclusive: true}
			case "<":
				hi = &SpanBound{Vals: vals}
			case "<=":
				hi = &SpanBound{Vals: vals, Inclusive: true}
			}
		}
		if lo != nil || hi != nil {
			if lo == nil && len(eqVals) > 0 {
				lo = &SpanBound{Vals: eqVals, Inclusive: true}
			}
			if hi == nil && len(eqVals) > 0 {
				hi = &SpanBound{Vals: eqVals, Inclusive: true}
			}
			return []IndexSpan{{Start: lo, End: hi}}, score + 1
		}
		break
	}
	if len(eqVals) == 0 {
		return nil, 0
	}
	if len(eqVals) == len(idx.ColumnIDs) && (idx.Unique || idx.ID == catalog.PrimaryIndexID) {
		score++
	}
	b := &SpanBound{Vals: eqVals, Inclusive: true}
	return []IndexSpan{{Start: b, End: b}}, score
}
