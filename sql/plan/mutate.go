package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// SetItem assigns E to table column Col.
type SetItem struct {
	Col int
	E   Expr
}

// OnConflictPlan is a compiled ON CONFLICT clause. Arbiter nil means any
// unique constraint (DO NOTHING only).
type OnConflictPlan struct {
	Arbiter   *catalog.IndexDesc
	DoNothing bool
	Set       []SetItem // over existing row ++ excluded row
	Where     Expr
}

// Mutation is a plan node that writes; Affected reports its row count once
// its iterator is exhausted.
type Mutation interface {
	Node
	Affected(it RowIter) int64
}

// mutationIter returns RETURNING rows after the writes are done.
type mutationIter struct {
	sliceIter
	affected int64
}

func (m *mutationIter) count() int64 { return m.affected }

// Insert writes rows.
type Insert struct {
	Table      *Table
	Source     Node  // rows of len(Targets) values, already cast
	Targets    []int // table column positions filled by Source
	Defaults   []Expr
	Checks     []Expr
	OnConflict *OnConflictPlan
	Returning  []Expr
	ReturnCols []ResultCol
	FKs        *FKChecks
}

func (ins *Insert) Columns() []ResultCol { return ins.ReturnCols }
func (ins *Insert) Children() []Node     { return []Node{ins.Source} }
func (ins *Insert) Explain() string      { return "insert into " + ins.Table.Desc.Name }
func (ins *Insert) Affected(it RowIter) int64 {
	return it.(*mutationIter).affected
}

func (ins *Insert) Open(ec *ExecCtx) (RowIter, error) {
	src, err := ins.Source.Open(ec)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	out := &mutationIter{}
	w := writer{t: ins.Table, ec: ec}
	w.setFK(ins.FKs)
	for {
		if err := ec.Ctx.Err(); err != nil {
			return nil, err
		}
		vals, err := src.Next()
		if err != nil {
			return nil, err
		}
		if vals == nil {
			break
		}
		row := make(Row, len(ins.Table.Desc.Columns))
		filled := make([]bool, len(row))
		for i, pos := range ins.Targets {
			row[pos], filled[pos] = vals[i], true
		}
		for i := range row {
			if filled[i] {
				continue
			}
			row[i] = types.Null
			if ins.Defaults[i] != nil {
				if row[i], err = ins.Defaults[i].Eval(ec, nil); err != nil {
					return nil, err
				}
			}
		}
		if err := w.validate(row, ins.Checks); err != nil {
			return nil, err
		}
		final, wrote, err := ins.insertRow(&w, row)
		if err != nil {
			return nil, err
		}
		if !wrote {
			continue
		}
		out.affected++
		if ins.Returning != nil {
			r, err := evalRow(ec, ins.Returning, final)
			if err != nil {
				return nil, err
			}
			out.rows = append(out.rows, r)
		}
	}
	if err := w.finishFK(); err != nil {
		return nil, err
	}
	return out, nil
}

func evalRow(ec *ExecCtx, exprs []Expr, row Row) (Row, error) {
	out := make(Row, len(exprs))
	for i, e := range exprs {
		d, err := e.Eval(ec, row)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// insertRow writes one row, applying ON CONFLICT. It returns the row as
// stored (after DO UPDATE) and whether anything was written.
func (ins *Insert) insertRow(w *writer, row Row) (Row, bool, error) {
	conflictIdx, existingPK, err := w.findConflict(row, ins.OnConflict)
	if err != nil {
		return nil, false, err
	}
	if conflictIdx == nil {
		return row, true, w.insert(row)
	}
	oc := ins.OnConflict
	if oc.DoNothing {
		return nil, false, nil
	}
	// DO UPDATE: the existing row, then the proposed one as EXCLUDED.
	v, err := w.ec.Txn.Get(w.ec.Ctx, existingPK)
	if err != nil {
		return nil, false, err
	}
	if v == nil {
		return nil, false, sqlerr.New(sqlerr.DataCorrupted, "conflicting row vanished")
	}
	old, err := w.t.Codec.DecodePrimary(existingPK, v)
	if err != nil {
		return nil, false, err
	}
	both := append(append(Row{}, old...), row...)
	if oc.Where != nil {
		ok, null, err := evalBool(w.ec, oc.Where, both)
		if err != nil {
			return nil, false, err
		}
		if !ok || null {
			return nil, false, nil
		}
	}
	updated := append(Row{}, old...)
	for _, s := range oc.Set {
		d, err := s.E.Eval(w.ec, both)
		if err != nil {
			return nil, false, err
		}
		updated[s.Col] = d
	}
	if err := w.validate(updated, ins.Checks); err != nil {
		return nil, false, err
	}
	if err := w.update(old, updated); err != nil {
		return nil, false, err
	}
	return updated, true, nil
}

// Update rewrites rows.
type Update struct {
	Table      *Table
	Source     Node
	Set        []SetItem
	Checks     []Expr
	Returning  []Expr
	ReturnCols []ResultCol
	FKs        *FKChecks
}

func (up *Update) Columns() []ResultCol { return up.ReturnCols }
func (up *Update) Children() []Node     { return []Node{up.Source} }
func (up *Update) Explain() string      { return "update " + up.Table.Desc.Name }
func (up *Update) Affected(it RowIter) int64 {
	return it.(*mutationIter).affected
}

func (up *Update) Open(ec *ExecCtx) (RowIter, error) {
	// Read every target row first, so that rows moved by the update are not
	// visited twice.
	rows, err := collectBudget(ec, up.Source)
	if err != nil {
		return nil, err
	}
	out := &mutationIter{}
	w := writer{t: up.Table, ec: ec}
	w.setFK(up.FKs)
	for _, old := range rows {
		if err := ec.Ctx.Err(); err != nil {
			return nil, err
		}
		row := append(Row{}, old...)
		for _, s := range up.Set {
			if row[s.Col], err = s.E.Eval(ec, old); err != nil {
				return nil, err
			}
		}
		if err := w.validate(row, up.Checks); err != nil {
			return nil, err
		}
		if err := w.update(old, row); err != nil {
			return nil, err
		}
		out.affected++
		if up.Returning != nil {
			r, err := evalRow(ec, up.Returning, row)
			if err != nil {
				return nil, err
			}
			out.rows = append(out.rows, r)
		}
	}
	if err := w.finishFK(); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes rows.
type Delete struct {
	Table      *Table
	Source     Node
	Returning  []Expr
	ReturnCols []ResultCol
	FKs        *FKChecks
}

func (d *Delete) Columns() []ResultCol { return d.ReturnCols }
func (d *Delete) Children() []Node     { return []Node{d.Source} }
func (d *Delete) Explain() string      { return "delete from " + d.Table.Desc.Name }
func (d *Delete) Affected(it RowIter) int64 {
	return it.(*mutationIter).affected
}

func (d *Delete) Open(ec *ExecCtx) (RowIter, error) {
	rows, err := collectBudget(ec, d.Source)
	if err != nil {
		return nil, err
	}
	out := &mutationIter{}
	w := writer{t: d.Table, ec: ec}
	w.setFK(d.FKs)
	for _, row := range rows {
		if err := w.delete(row); err != nil {
			return nil, err
		}
		out.affected++
		if d.Returning != nil {
			r, err := evalRow(ec, d.Returning, row)
			if err != nil {
				return nil, err
			}
			out.rows = append(out.rows, r)
		}
	}
	if err := w.finishFK(); err != nil {
		return nil, err
	}
	return out, nil
}

// writer maintains a table's primary and secondary index entries.
type writer struct {
	t  *Table
	ec *ExecCtx
	fk *fkState // nil: no foreign keys to keep (fk.go)
}

func (w *writer) validate(row Row, checks []Expr) error {
	for i, c := range w.t.Desc.Columns {
		if row[i] == types.Null && !c.Nullable {
			return sqlerr.New(sqlerr.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", c.Name, w.t.Desc.Name)
		}
	}
	for i, chk := range checks {
		ok, null, err := evalBool(w.ec, chk, row)
		if err != nil {
			return err
		}
		if !ok && !null {
			return sqlerr.New(sqlerr.CheckViolation, "new row for relation %q violates check constraint %q", w.t.Desc.Name, w.t.Desc.Checks[i].Name)
		}
	}
	return nil
}

func (w *writer) keyDetail(idx *catalog.IndexDesc, row Row) string {
	names := make([]string, len(idx.ColumnIDs))
	vals := make([]string, len(idx.ColumnIDs))
	for i, id := range idx.ColumnIDs {
		c, pos, _ := w.t.Desc.ColumnByID(id)
		names[i] = c.Name
		vals[i] = types.FormatText(row[pos], nil)
	}
	return fmt.Sprintf("Key (%s)=(%s) already exists.", strings.Join(names, ", "), strings.Join(vals, ", "))
}

func (w *writer) duplicate(idx *catalog.IndexDesc, row Row) error {
	return sqlerr.New(sqlerr.UniqueViolation, "duplicate key value violates unique constraint %q", idx.Name).
		WithDetail("%s", w.keyDetail(idx, row))
}

// uniqueKey returns the key whose existence means a conflict on idx, and
// false when the row cannot conflict (a NULL in a unique column).
func (w *writer) uniqueKey(idx *catalog.IndexDesc, row Row) (kvpb.Key, bool, error) {
	if idx.ID == catalog.PrimaryIndexID {
		k, err := w.t.Codec.PrimaryKey(row)
		return k, true, err
	}
	for _, id := range idx.ColumnIDs {
		if row[w.t.Codec.ColumnIndex(id)] == types.Null {
			return nil, false, nil
		}
	}
	k, _, err := w.t.Codec.IndexEntry(idx, row)
	return k, true, err
}

// findConflict checks the unique constraints that ON CONFLICT arbitrates
// (all of them for DO NOTHING without a target). It returns the index and
// the primary key of the conflicting row.
func (w *writer) findConflict(row Row, oc *OnConflictPlan) (*catalog.IndexDesc, kvpb.Key, error) {
	if oc == nil {
		return nil, nil, nil
	}
	for _, idx := range w.t.Desc.AllIndexes() {
		if !idx.Unique && idx.ID != catalog.PrimaryIndexID {
			continue
		}
		if oc.Arbiter != nil && oc.Arbiter.ID != idx.ID {
			continue
		}
		k, ok, err := w.uniqueKey(idx, row)
		if err != nil || !ok {
			if err != nil {
				return nil, nil, err
			}
			continue
		}
		v, err := w.ec.Txn.Get(w.ec.Ctx, k)
		if err != nil {
			return nil, nil, err
		}
		if v == nil {
			continue
		}
		if idx.ID == catalog.PrimaryIndexID {
			return idx, k, nil
		}
		_, pk, err := w.t.Codec.DecodeIndexEntry(idx, k, v)
		if err != nil {
			return nil, nil, err
		}
		return idx, pk, nil
	}
	return nil, nil, nil
}

func isCondFailed(err error) bool {
	var cf *kvpb.ConditionFailedError
	return errors.As(err, &cf)
}

func (w *writer) insert(row Row) error {
	c := w.t.Codec
	pk, err := c.PrimaryKey(row)
	if err != nil {
		return err
	}
	if err := w.ec.Txn.ConditionalPut(w.ec.Ctx, pk, c.PrimaryValue(row), nil); err != nil {
		if isCondFailed(err) {
			return w.duplicate(&w.t.Desc.PrimaryIndex, row)
		}
		return err
	}
	for i := range w.t.Desc.Indexes {
		if err := w.putIndex(&w.t.Desc.Indexes[i], row); err != nil {
			return err
		}
	}
	w.noteInsert(row)
	return nil
}

func (w *writer) putIndex(idx *catalog.IndexDesc, row Row) error {
	k, v, err := w.t.Codec.IndexEntry(idx, row)
	if err != nil {
		return err
	}
	if idx.Unique {
		if err := w.ec.Txn.ConditionalPut(w.ec.Ctx, k, v, nil); err != nil {
			if isCondFailed(err) {
				return w.duplicate(idx, row)
			}
			return err
		}
		return nil
	}
	return w.ec.Txn.Put(w.ec.Ctx, k, v)
}

func (w *writer) delete(row Row) error {
	c := w.t.Codec
	pk, err := c.PrimaryKey(row)
	if err != nil {
		return err
	}
	if _, err := w.ec.Txn.Delete(w.ec.Ctx, pk); err != nil {
		return err
	}
	for i := range w.t.Desc.Indexes {
		k, _, err := c.IndexEntry(&w.t.Desc.Indexes[i], row)
		if err != nil {
			return err
		}
		if _, err := w.ec.Txn.Delete(w.ec.Ctx, k); err != nil {
			return err
		}
	}
	w.noteDelete(row)
	return nil
}

func (w *writer) update(old, row Row) error {
	c := w.t.Codec
	oldPK, err := c.PrimaryKey(old)
	if err != nil {
		return err
	}
	newPK, err := c.PrimaryKey(row)
	if err != nil {
		return err
	}
	if string(oldPK) != string(newPK) {
		if _, err := w.ec.Txn.Delete(w.ec.Ctx, oldPK); err != nil {
			return err
		}
		if err := w.ec.Txn.ConditionalPut(w.ec.Ctx, newPK, c.PrimaryValue(row), nil); err != nil {
			if isCondFailed(err) {
				return w.duplicate(&w.t.Desc.PrimaryIndex, row)
			}
			return err
		}
	} else if err := w.ec.Txn.Put(w.ec.Ctx, newPK, c.PrimaryValue(row)); err != nil {
		return err
	}
	for i := range w.t.Desc.Indexes {
		idx := &w.t.Desc.Indexes[i]
		ok, ov, err := c.IndexEntry(idx, old)
		if err != nil {
			return err
		}
		nk, nv, err := c.IndexEntry(idx, row)
		if err != nil {
			return err
		}
		if string(ok) == string(nk) {
			if string(ov) != string(nv) {
				if err := w.ec.Txn.Put(w.ec.Ctx, nk, nv); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := w.ec.Txn.Delete(w.ec.Ctx, ok); err != nil {
			return err
		}
		if err := w.putIndex(idx, row); err != nil {
			return err
		}
	}
	w.noteUpdate(old, row)
	return nil
}

// Collect runs a plan to completion (DDL backfills).
func Collect(ec *ExecCtx, n Node) ([]Row, error) { return collectBudget(ec, n) }

// RowWriter inserts complete rows into a table, checking NOT NULL, CHECK
// and unique constraints (DDL rewrites).
type RowWriter struct {
	w      writer
	checks []Expr
}

// NewRowWriter compiles the table's checks.
func NewRowWriter(ec *ExecCtx, t *Table, b *Builder, parse func(string) (ast.ExprNode, error)) (*RowWriter, error) {
	checks, err := b.compileChecks(t, parse)
	if err != nil {
		return nil, err
	}
	return &RowWriter{w: writer{t: t, ec: ec}, checks: checks}, nil
}

// SetForeignKeys makes the writer check fks (see Finish).
func (r *RowWriter) SetForeignKeys(fks *FKChecks) { r.w.setFK(fks) }

// Finish runs the foreign key checks of the rows written so far.
func (r *RowWriter) Finish() error { return r.w.finishFK() }

// Insert validates and writes one row.
func (r *RowWriter) Insert(row Row) error {
	if err := r.w.validate(row, r.checks); err != nil {
		return err
	}
	return r.w.insert(row)
}
