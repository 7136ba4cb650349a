package plan

import (
	"strings"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Foreign key enforcement.
//
// A writer collects the rows a statement inserts, updates and deletes, and
// checks the foreign keys at the end of the statement (PostgreSQL's NO
// ACTION timing; RESTRICT differs only for statements that remove and
// re-add the same key, which are checked like NO ACTION here). Every check
// reads the other table in the statement's kv transaction, so serializable
// isolation makes it race-free: a concurrent insert of a child and delete
// of its parent cannot both commit.
//
// MATCH SIMPLE: a row with a NULL in any referencing column is not checked.
// The referenced side is always the parent's primary key or a unique
// index, so the parent lookup is one point read. The referencing side is
// found through an index of the child whose leading columns are the
// foreign key columns; without one (PostgreSQL does not create one either)
// the child table is scanned.

// IDCatalog resolves tables by descriptor ID; the Catalog given to a
// Builder implements it when tables may have foreign keys.
type IDCatalog interface {
	TableByID(id catalog.ID) (*Table, error)
}

// fkConstraint is one resolved foreign key.
type fkConstraint struct {
	desc      *catalog.ForeignKeyDesc
	child     *Table
	parent    *Table
	childPos  []int // FK columns in child rows
	parentPos []int // referenced columns in parent rows, same order
	// parentIdx is the parent's PK or unique index on the referenced
	// columns; parentOrder[i] is the FK column of its i-th column.
	parentIdx   *catalog.IndexDesc
	parentOrder []int
	// childIdx, when not nil, is a child index led by the FK columns;
	// childOrder[i] is the FK column of its i-th column.
	childIdx   *catalog.IndexDesc
	childOrder []int
}

// FKChecks are the foreign keys a DML statement on one table must keep:
// Out those the table declares, In those referencing it.
type FKChecks struct {
	Out, In []*fkConstraint
	// cat resolves the tables of cascaded writes (the statement's catalog).
	cat Catalog
}

// foreignKeys resolves the constraints of t that a statement writing it
// must check (out: inserts/updates of t's referencing columns; in:
// deletes/updates of rows other tables reference).
func (b *Builder) foreignKeys(t *Table, out, in bool) (*FKChecks, error) {
	if t.Desc == nil || (len(t.Desc.ForeignKeys) == 0 && len(t.Desc.InboundFKs) == 0) {
		return nil, nil
	}
	return ResolveForeignKeys(b.Catalog, t, out, in)
}

// ResolveForeignKeys is foreignKeys for callers outside a Builder (COPY).
func ResolveForeignKeys(cat Catalog, t *Table, out, in bool) (*FKChecks, error) {
	if t.Desc == nil || (len(t.Desc.ForeignKeys) == 0 && len(t.Desc.InboundFKs) == 0) {
		return nil, nil
	}
	ic, ok := cat.(IDCatalog)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "foreign keys cannot be checked here")
	}
	byID := func(id catalog.ID) (*Table, error) {
		if id == t.Desc.ID {
			return t, nil
		}
		return ic.TableByID(id)
	}
	fks := &FKChecks{cat: cat}
	if out {
		for i := range t.Desc.ForeignKeys {
			fk := &t.Desc.ForeignKeys[i]
			parent, err := byID(fk.RefTable)
			if err != nil {
				return nil, err
			}
			c, err := newFKConstraint(fk, t, parent)
			if err != nil {
				return nil, err
			}
			fks.Out = append(fks.Out, c)
		}
	}
	if in {
		for _, ref := range t.Desc.InboundFKs {
			child, err := byID(ref.Table)
			if err != nil {
				return nil, err
			}
			fk, ok := child.Desc.ForeignKey(ref.Name)
			if !ok {
				return nil, sqlerr.New(sqlerr.DataCorrupted, "foreign key %q of table %q is missing", ref.Name, child.Desc.Name)
			}
			c, err := newFKConstraint(fk, child, t)
			if err != nil {
				return nil, err
			}
			fks.In = append(fks.In, c)
		}
	}
	return fks, nil
}

func newFKConstraint(fk *catalog.ForeignKeyDesc, child, parent *Table) (*fkConstraint, error) {
	c := &fkConstraint{desc: fk, child: child, parent: parent}
	for i, id := range fk.ColumnIDs {
		_, cp, ok1 := child.Desc.ColumnByID(id)
		_, pp, ok2 := parent.Desc.ColumnByID(fk.RefColumnIDs[i])
		if !ok1 || !ok2 {
			return nil, sqlerr.New(sqlerr.DataCorrupted, "foreign key %q names a missing column", fk.Name)
		}
		c.childPos = append(c.childPos, cp)
		c.parentPos = append(c.parentPos, pp)
	}
	c.parentIdx, c.parentOrder = IndexOnColumns(parent.Desc, fk.RefColumnIDs, true)
	if c.parentIdx == nil {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "foreign key %q: referenced key of %q has no unique index", fk.Name, parent.Desc.Name)
	}
	c.childIdx, c.childOrder = IndexOnColumns(child.Desc, fk.ColumnIDs, false)
	return c, nil
}

// IndexOnColumns finds an index of td whose leading columns are exactly
// the set cols (exact: no further columns, and unique or the primary key).
// order[i] is the position in cols of the index's i-th column.
func IndexOnColumns(td *catalog.TableDesc, cols []uint32, exact bool) (*catalog.IndexDesc, []int) {
	for _, idx := range td.AllIndexes() {
		if exact && (len(idx.ColumnIDs) != len(cols) || (!idx.Unique && idx.ID != catalog.PrimaryIndexID)) {
			continue
		}
		if len(idx.ColumnIDs) < len(cols) {
			continue
		}
		order := make([]int, len(cols))
		ok := true
		for i := range cols {
			j := indexOf(cols, idx.ColumnIDs[i])
			if j < 0 {
				ok = false
				break
			}
			order[i] = j
		}
		if ok {
			return idx, order
		}
	}
	return nil, nil
}

func indexOf(ids []uint32, id uint32) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// fkState is a writer's pending foreign key work for one statement.
type fkState struct {
	checks *FKChecks
	// added: rows whose referencing values must exist in the parent.
	added []Row
	// removed: old rows whose referenced values may no longer be
	// referenced; changed[i] is the new row (nil for a delete).
	removed []Row
	changed []Row
}

// values returns row's values at pos, and false if any is NULL.
func values(row Row, pos []int) ([]types.Datum, bool) {
	out := make([]types.Datum, len(pos))
	for i, p := range pos {
		if row[p] == types.Null {
			return nil, false
		}
		out[i] = row[p]
	}
	return out, true
}

func sameValues(a, b Row, pos []int) bool {
	for _, p := range pos {
		if a[p] == types.Null || b[p] == types.Null {
			if a[p] != b[p] {
				return false
			}
			continue
		}
		if c, err := types.Compare(a[p], b[p]); err != nil || c != 0 {
			return false
		}
	}
	return true
}

// noteInsert records a new row of the writer's table.
func (w *writer) noteInsert(row Row) {
	if w.fk != nil && len(w.fk.checks.Out) > 0 {
		w.fk.added = append(w.fk.added, row)
	}
}

// noteDelete records a removed row.
func (w *writer) noteDelete(row Row) {
	if w.fk != nil && len(w.fk.checks.In) > 0 {
		w.fk.removed = append(w.fk.removed, row)
		w.fk.changed = append(w.fk.changed, nil)
	}
}

// noteUpdate records an updated row.
func (w *writer) noteUpdate(old, row Row) {
	if w.fk == nil {
		return
	}
	for _, c := range w.fk.checks.Out {
		if !sameValues(old, row, c.childPos) {
			w.fk.added = append(w.fk.added, row)
			break
		}
	}
	for _, c := range w.fk.checks.In {
		if !sameValues(old, row, c.parentPos) {
			w.fk.removed = append(w.fk.removed, old)
			w.fk.changed = append(w.fk.changed, row)
			break
		}
	}
}

// finishFK runs the statement's foreign key actions and checks.
func (w *writer) finishFK() error {
	if w.fk == nil {
		return nil
	}
	// Cascaded writes to this same table (self references) add work;
	// loop until none is left.
	for len(w.fk.added) > 0 || len(w.fk.removed) > 0 {
		st := w.fk
		w.fk = &fkState{checks: st.checks}
		// Referenced side: actions first (CASCADE, SET NULL), then checks.
		for i, old := range st.removed {
			for _, c := range st.checks.In {
				if err := w.referencedGone(c, old, st.changed[i]); err != nil {
					return err
				}
			}
		}
		for _, row := range st.added {
			for _, c := range st.checks.Out {
				if err := w.checkParent(c, row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// cast converts d (of type from) for comparison with a column of type to.
func (w *writer) cast(d types.Datum, from, to *types.T) (types.Datum, error) {
	if d == types.Null || from.Equal(to) {
		return d, nil
	}
	var loc = w.ec.Eval
	if loc == nil {
		return types.Cast(d, to, false, nil)
	}
	return types.CastFrom(d, from, to, false, loc)
}

// parentKey is the parent index key for the child's referencing values.
func (w *writer) parentKey(c *fkConstraint, vals []types.Datum) (kvpb.Key, error) {
	key := make([]types.Datum, len(c.parentOrder))
	for i, j := range c.parentOrder {
		d, err := w.cast(vals[j], c.child.Types[c.childPos[j]], c.parent.Types[c.parentPos[j]])
		if err != nil {
			return nil, err
		}
		key[i] = d
	}
	return c.parent.Codec.EncodeKeyPrefix(c.parentIdx, key)
}

// checkParent fails with 23503 unless row's referenced parent row exists.
func (w *writer) checkParent(c *fkConstraint, row Row) error {
	vals, ok := values(row, c.childPos)
	if !ok {
		return nil // MATCH SIMPLE
	}
	k, err := w.parentKey(c, vals)
	if err != nil {
		return err
	}
	v, err := w.ec.Txn.Get(w.ec.Ctx, k)
	if err != nil {
		return err
	}
	if v != nil {
		return nil
	}
	return sqlerr.New(sqlerr.ForeignKeyViolation, "insert or update on table %q violates foreign key constraint %q", c.child.Desc.Name, c.desc.Name).
		WithDetail("Key (%s)=(%s) is not present in table %q.", colNames(c.child, c.childPos), formatVals(vals), c.parent.Desc.Name)
}

// referencedGone handles a parent row removed (newRow nil) or whose
// referenced values changed to newRow's.
func (w *writer) referencedGone(c *fkConstraint, old, newRow Row) error {
	vals, ok := values(old, c.parentPos)
	if !ok {
		return nil
	}
	action := c.desc.OnDelete
	if newRow != nil {
		action = c.desc.OnUpdate
	}
	if action == "a" || action == "" {
		// NO ACTION: fine if another row now holds the same key.
		k, err := w.parentKeyFromParent(c, vals)
		if err != nil {
			return err
		}
		if v, err := w.ec.Txn.Get(w.ec.Ctx, k); err != nil || v != nil {
			return err
		}
	}
	// Referencing rows, converted to the child's types.
	cvals := make([]types.Datum, len(vals))
	for i := range vals {
		d, err := w.cast(vals[i], c.parent.Types[c.parentPos[i]], c.child.Types[c.childPos[i]])
		if err != nil {
			return err
		}
		cvals[i] = d
	}
	limit := int64(1)
	if action == "c" || action == "n" {
		limit = 0
	}
	rows, err := w.childRows(c, cvals, limit)
	if err != nil || len(rows) == 0 {
		return err
	}
	cw := &writer{t: c.child, ec: w.ec}
	if c.child == w.t {
		cw = w // self reference: keep one pending set
	}
	switch action {
	case "c", "n":
		if cw != w {
			fks, err := ResolveForeignKeys(w.fk.checks.cat, c.child, action == "n" || newRow != nil, true)
			if err != nil {
				return err
			}
			cw.setFK(fks)
		}
		for _, r := range rows {
			switch {
			case action == "c" && newRow == nil:
				if err := cw.delete(r); err != nil {
					return err
				}
			default:
				upd := append(Row{}, r...)
				for i, p := range c.childPos {
					if action == "n" {
						upd[p] = types.Null
						continue
					}
					d, err := w.cast(newRow[c.parentPos[i]], c.parent.Types[c.parentPos[i]], c.child.Types[p])
					if err != nil {
						return err
					}
					upd[p] = d
				}
				if err := cw.validate(upd, nil); err != nil {
					return err
				}
				if err := cw.update(r, upd); err != nil {
					return err
				}
			}
		}
		if cw != w {
			return cw.finishFK()
		}
		return nil
	}
	return sqlerr.New(sqlerr.ForeignKeyViolation, "update or delete on table %q violates foreign key constraint %q on table %q", c.parent.Desc.Name, c.desc.Name, c.child.Desc.Name).
		WithDetail("Key (%s)=(%s) is still referenced from table %q.", colNames(c.parent, c.parentPos), formatVals(vals), c.child.Desc.Name)
}

// parentKeyFromParent is the parent index key of referenced values taken
// from a parent row (no cast needed).
func (w *writer) parentKeyFromParent(c *fkConstraint, vals []types.Datum) (kvpb.Key, error) {
	key := make([]types.Datum, len(c.parentOrder))
	for i, j := range c.parentOrder {
		key[i] = vals[j]
	}
	return c.parent.Codec.EncodeKeyPrefix(c.parentIdx, key)
}

// childRows returns up to limit (0: all) child rows whose referencing
// columns equal vals.
func (w *writer) childRows(c *fkConstraint, vals []types.Datum, limit int64) ([]Row, error) {
	t := c.child
	if c.childIdx != nil {
		prefix := make([]types.Datum, len(c.childOrder))
		for i, j := range c.childOrder {
			prefix[i] = vals[j]
		}
		start, err := t.Codec.EncodeKeyPrefix(c.childIdx, prefix)
		if err != nil {
			return nil, err
		}
		kvs, err := w.ec.Txn.Scan(w.ec.Ctx, start, start.PrefixEnd(), limit)
		if err != nil {
			return nil, err
		}
		var out []Row
		for _, kv := range kvs {
			if c.childIdx.ID == catalog.PrimaryIndexID {
				r, err := t.Codec.DecodePrimary(kv.Key, kv.Value)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
				continue
			}
			_, pk, err := t.Codec.DecodeIndexEntry(c.childIdx, kv.Key, kv.Value)
			if err != nil {
				return nil, err
			}
			v, err := w.ec.Txn.Get(w.ec.Ctx, pk)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return nil, sqlerr.New(sqlerr.DataCorrupted, "index %q of %q points at a missing row", c.childIdx.Name, t.Desc.Name)
			}
			r, err := t.Codec.DecodePrimary(pk, v)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	// No index on the referencing columns: scan the child in batches.
	sp := t.Codec.IndexSpan(&t.Desc.PrimaryIndex)
	var out []Row
	start := sp.Key
	for {
		kvs, err := w.ec.Txn.Scan(w.ec.Ctx, start, sp.EndKey, 1024)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			r, err := t.Codec.DecodePrimary(kv.Key, kv.Value)
			if err != nil {
				return nil, err
			}
			match := true
			for i, p := range c.childPos {
				if r[p] == types.Null {
					match = false
					break
				}
				if cmp, err := types.Compare(r[p], vals[i]); err != nil || cmp != 0 {
					match = false
					break
				}
			}
			if match {
				out = append(out, r)
				if limit > 0 && int64(len(out)) >= limit {
					return out, nil
				}
			}
		}
		if len(kvs) < 1024 {
			return out, nil
		}
		start = append(append(kvpb.Key{}, kvs[len(kvs)-1].Key...), 0)
		if err := w.ec.Ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func colNames(t *Table, pos []int) string {
	names := make([]string, len(pos))
	for i, p := range pos {
		names[i] = t.Desc.Columns[p].Name
	}
	return strings.Join(names, ", ")
}

func formatVals(vals []types.Datum) string {
	out := make([]string, len(vals))
	for i, d := range vals {
		out[i] = types.FormatText(d, nil)
	}
	return strings.Join(out, ", ")
}

// setFK arms the writer with the checks of its statement.
func (w *writer) setFK(fks *FKChecks) {
	if fks == nil || (len(fks.Out) == 0 && len(fks.In) == 0) {
		w.fk = nil
		return
	}
	w.fk = &fkState{checks: fks}
}

// ValidateForeignKey checks that every row of t satisfies its foreign key
// name (ALTER TABLE ... ADD FOREIGN KEY), failing with 23503.
func ValidateForeignKey(ec *ExecCtx, cat Catalog, t *Table, name string) error {
	fk, ok := t.Desc.ForeignKey(name)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "constraint %q of relation %q does not exist", name, t.Desc.Name)
	}
	ic, ok := cat.(IDCatalog)
	if !ok {
		return sqlerr.New(sqlerr.FeatureNotSupported, "foreign keys cannot be checked here")
	}
	parent := t
	if fk.RefTable != t.Desc.ID {
		var err error
		if parent, err = ic.TableByID(fk.RefTable); err != nil {
			return err
		}
	}
	c, err := newFKConstraint(fk, t, parent)
	if err != nil {
		return err
	}
	w := &writer{t: t, ec: ec}
	sp := t.Codec.IndexSpan(&t.Desc.PrimaryIndex)
	start := sp.Key
	for {
		kvs, err := ec.Txn.Scan(ec.Ctx, start, sp.EndKey, 1024)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			r, err := t.Codec.DecodePrimary(kv.Key, kv.Value)
			if err != nil {
				return err
			}
			if err := w.checkParent(c, r); err != nil {
				return err
			}
		}
		if len(kvs) < 1024 {
			return nil
		}
		start = append(append(kvpb.Key{}, kvs[len(kvs)-1].Key...), 0)
		if err := ec.Ctx.Err(); err != nil {
			return err
		}
	}
}
