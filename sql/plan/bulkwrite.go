package plan

import "github.com/outpostdb/outpost/kv/kvpb"

// InsertBatch validates and writes rows (complete table rows) with one kv
// batch for all of them (kv.Txn.Write), for bulk loads: COPY FROM and
// table rewrites. It returns the index of the row that failed, with its
// error (-1 when the error is not a row's). A unique violation is found
// by the batch as a whole; the rows are then written again one at a time
// (the failed batch wrote nothing) to find and report the first
// offending row, so errors are exactly those of Insert, in row order.
//
// The caller may reuse the rows once it returns.
func (r *RowWriter) InsertBatch(rows []Row) (int, error) {
	w := &r.w
	for i, row := range rows {
		if err := w.validate(row, r.checks); err != nil {
			return i, err
		}
	}
	c := w.t.Codec
	nIdx := len(w.t.Desc.Indexes)
	reqs := make([]kvpb.Request, 0, len(rows)*(1+nIdx))
	for i, row := range rows {
		pk, err := c.PrimaryKey(row)
		if err != nil {
			return i, err
		}
		reqs = append(reqs, &kvpb.ConditionalPutRequest{Key: pk, Value: c.PrimaryValue(row)})
		for j := range w.t.Desc.Indexes {
			idx := &w.t.Desc.Indexes[j]
			k, v, err := c.IndexEntry(idx, row)
			if err != nil {
				return i, err
			}
			if idx.Unique { // as putIndex
				reqs = append(reqs, &kvpb.ConditionalPutRequest{Key: k, Value: v})
			} else {
				reqs = append(reqs, &kvpb.PutRequest{Key: k, Value: v})
			}
		}
	}
	err := w.ec.Txn.Write(w.ec.Ctx, reqs)
	if err != nil && !isCondFailed(err) {
		return -1, err
	}
	if err != nil {
		for i, row := range rows {
			if err := w.insert(row); err != nil {
				return i, err
			}
		}
		// Every row went in one at a time after all (the conflict is gone).
	}
	return r.checkBatchFKs(rows)
}

// checkBatchFKs checks the foreign keys of a written batch, row by row so
// that the error names its row. (Rows of later batches are not visible
// yet: a COPY row referencing a row of a later batch of the same table
// fails, where PostgreSQL checks at the end of the COPY.)
func (r *RowWriter) checkBatchFKs(rows []Row) (int, error) {
	w := &r.w
	if w.fk == nil {
		return -1, nil
	}
	w.fk.added = w.fk.added[:0]
	for i, row := range rows {
		for _, c := range w.fk.checks.Out {
			if err := w.checkParent(c, row); err != nil {
				return i, err
			}
		}
	}
	return -1, nil
}
