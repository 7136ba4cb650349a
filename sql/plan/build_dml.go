package plan

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// OnConflictSpec is the planner's view of ON CONFLICT (from the pre-pass).
type OnConflictSpec struct {
	Columns   []string
	DoNothing bool
	Set       []*ast.Assignment
	Where     ast.ExprNode
}

// DMLExtras carries what the pre-pass removed from a DML statement.
type DMLExtras struct {
	Returning  []*ast.SelectField
	OnConflict *OnConflictSpec
}

func tableScope(t *Table, alias string) *scope {
	s := &scope{}
	for i, c := range t.Desc.Columns {
		s.cols = append(s.cols, scopeCol{table: alias, name: c.Name, t: t.Types[i], hidden: c.Hidden})
	}
	return s
}

func tableNameOf(refs *ast.TableRefsClause) (*ast.TableName, string, error) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, "", sqlerr.New(sqlerr.FeatureNotSupported, "multi-table DML is not supported")
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, "", sqlerr.New(sqlerr.FeatureNotSupported, "DML target must be a table")
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, "", sqlerr.New(sqlerr.FeatureNotSupported, "DML target must be a table")
	}
	alias := ts.AsName.O
	if alias == "" {
		alias = tn.Name.O
	}
	return tn, alias, nil
}

// DefaultExprs compiles the column defaults of a table (nil = NULL).
func (b *Builder) DefaultExprs(t *Table, parse func(string) (ast.ExprNode, error)) ([]Expr, error) {
	out := make([]Expr, len(t.Desc.Columns))
	for i, c := range t.Desc.Columns {
		if c.Default == "" {
			continue
		}
		n, err := parse(c.Default)
		if err != nil {
			return nil, err
		}
		e, err := b.compileExpr(&scope{}, n, t.Types[i])
		if err != nil {
			return nil, err
		}
		if e, err = b.assignCast(e, t.Types[i]); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// assignCast converts an expression for storage into a column of type t
// (PostgreSQL's assignment cast).
func (b *Builder) assignCast(e Expr, t *types.T) (Expr, error) {
	e, err := b.coerce(e, t)
	if err != nil {
		return nil, err
	}
	if e.Type().Equal(t) && t.Width == 0 && t.Precision == 0 {
		return e, nil
	}
	if c, ok := e.(*Const); ok && c.D != types.Null {
		d, err := types.Cast(c.D, t, false, b.loc())
		if err != nil {
			return nil, err
		}
		return &Const{D: d, T: t}, nil
	}
	if e.Type().Family == types.UnknownFamily {
		return &Const{D: types.Null, T: t}, nil
	}
	if ctx, ok := types.LookupCast(e.Type(), t); !ok || ctx > types.CastAssignment {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "column is of type %s but expression is of type %s", t.SQLString(), e.Type().SQLString()).
			WithHint("You will need to rewrite or cast the expression.")
	}
	return &Cast{E: e, T: t}, nil
}

func (b *Builder) compileChecks(t *Table, parse func(string) (ast.ExprNode, error)) ([]Expr, error) {
	s := tableScope(t, t.Desc.Name)
	out := make([]Expr, len(t.Desc.Checks))
	for i, c := range t.Desc.Checks {
		n, err := parse(c.Expr)
		if err != nil {
			return nil, err
		}
		if out[i], err = b.compileExpr(s, n, types.Bool); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *Builder) compileReturning(s *scope, fields []*ast.SelectField) ([]Expr, []ResultCol, error) {
	var exprs []Expr
	var cols []ResultCol
	for _, f := range fields {
		if f.WildCard != nil {
			for i, c := range s.cols {
				if c.hidden {
					continue
				}
				exprs = append(exprs, &ColRef{Idx: i, T: c.t, Name: c.name})
				cols = append(cols, ResultCol{Name: c.name, T: c.t})
			}
			continue
		}
		e, err := b.compileExpr(s, f.Expr, nil)
		if err != nil {
			return nil, nil, err
		}
		if isUnknown(e) {
			if e, err = b.coerce(e, types.Text); err != nil {
				return nil, nil, err
			}
		}
		name := f.AsName.O
		if name == "" {
			name = columnName(f.Expr)
		}
		exprs = append(exprs, e)
		cols = append(cols, ResultCol{Name: name, T: e.Type()})
	}
	return exprs, cols, nil
}

// BuildInsert plans INSERT.
func (b *Builder) BuildInsert(n *ast.InsertStmt, x DMLExtras, parse func(string) (ast.ExprNode, error)) (*Insert, error) {
	if n.IsReplace || len(n.OnDuplicate) > 0 || n.Setlist {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "MySQL INSERT forms are not supported")
	}
	tn, alias, err := tableNameOf(n.Table)
	if err != nil {
		return nil, err
	}
	t, err := b.resolveTable(tn.Schema.L, tn.Name.O)
	if err != nil {
		return nil, err
	}
	if t.Virtual != nil {
		return nil, errVirtualWrite(t, "insert into")
	}
	ins := &Insert{Table: t}
	if ins.Defaults, err = b.DefaultExprs(t, parse); err != nil {
		return nil, err
	}
	if ins.Checks, err = b.compileChecks(t, parse); err != nil {
		return nil, err
	}
	// Target columns.
	if len(n.Columns) == 0 {
		for i, c := range t.Desc.Columns {
			if !c.Hidden {
				ins.Targets = append(ins.Targets, i)
			}
		}
		if n.Lists != nil && len(n.Lists) > 0 && len(n.Lists[0]) == 0 {
			ins.Targets = nil // DEFAULT VALUES
		}
	} else {
		seen := map[int]bool{}
		for _, c := range n.Columns {
			_, pos, ok := columnPos(t, c.Name.O)
			if !ok {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", c.Name.O, t.Desc.Name)
			}
			if seen[pos] {
				return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", c.Name.O)
			}
			seen[pos] = true
			ins.Targets = append(ins.Targets, pos)
		}
	}
	// Source rows.
	if n.Select != nil {
		src, err := b.buildQuery(&scope{}, n.Select)
		if err != nil {
			return nil, err
		}
		if len(src.Columns()) != len(ins.Targets) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has %s target columns than expressions", moreOrFewer(len(ins.Targets), len(src.Columns())))
		}
		exprs := make([]Expr, len(ins.Targets))
		for i, pos := range ins.Targets {
			c := src.Columns()[i]
			if exprs[i], err = b.assignCast(&ColRef{Idx: i, T: c.T, Name: c.Name}, t.Types[pos]); err != nil {
				return nil, err
			}
		}
		ins.Source = &Project{Input: src, Exprs: exprs, Cols: make([]ResultCol, len(exprs))}
	} else {
		vals := &Values{}
		for _, list := range n.Lists {
			if len(list) != len(ins.Targets) {
				return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has %s target columns than expressions", moreOrFewer(len(ins.Targets), len(list)))
			}
			row := make([]Expr, len(list))
			for i, v := range list {
				pos := ins.Targets[i]
				if _, isDefault := v.(*ast.DefaultExpr); isDefault {
					row[i] = ins.Defaults[pos]
					if row[i] == nil {
						row[i] = &Const{D: types.Null, T: t.Types[pos]}
					}
					continue
				}
				e, err := b.compileExpr(&scope{}, v, t.Types[pos])
				if err != nil {
					return nil, err
				}
				if row[i], err = b.assignCast(e, t.Types[pos]); err != nil {
					return nil, err
				}
			}
			vals.Rows = append(vals.Rows, row)
		}
		ins.Source = vals
	}
	ts := tableScope(t, alias)
	if x.OnConflict != nil {
		oc := &OnConflictPlan{DoNothing: x.OnConflict.DoNothing}
		if len(x.OnConflict.Columns) > 0 {
			idx := arbiterIndex(t, x.OnConflict.Columns)
			if idx == nil {
				return nil, sqlerr.New(sqlerr.InvalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
			}
			oc.Arbiter = idx
		} else if !oc.DoNothing {
			return nil, sqlerr.New(sqlerr.SyntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name")
		}
		if !oc.DoNothing {
			// SET and WHERE see the existing row, then EXCLUDED.
			us := tableScope(t, alias)
			for i, c := range t.Desc.Columns {
				us.cols = append(us.cols, scopeCol{table: "excluded", name: c.Name, t: t.Types[i], hidden: true})
			}
			for _, a := range x.OnConflict.Set {
				_, pos, ok := columnPos(t, a.Column.Name.O)
				if !ok {
					return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", a.Column.Name.O, t.Desc.Name)
				}
				e, err := b.compileExpr(us, a.Expr, t.Types[pos])
				if err != nil {
					return nil, err
				}
				if e, err = b.assignCast(e, t.Types[pos]); err != nil {
					return nil, err
				}
				oc.Set = append(oc.Set, SetItem{Col: pos, E: e})
			}
			if x.OnConflict.Where != nil {
				if oc.Where, err = b.compileExpr(us, x.OnConflict.Where, types.Bool); err != nil {
					return nil, err
				}
			}
		}
		ins.OnConflict = oc
	}
	if len(x.Returning) > 0 {
		if ins.Returning, ins.ReturnCols, err = b.compileReturning(ts, x.Returning); err != nil {
			return nil, err
		}
	}
	if ins.FKs, err = b.foreignKeys(t, true, ins.OnConflict != nil); err != nil {
		return nil, err
	}
	b.finishParams()
	return ins, nil
}

func moreOrFewer(targets, exprs int) string {
	if targets > exprs {
		return "more"
	}
	return "fewer"
}

func columnPos(t *Table, name string) (*catalog.ColumnDesc, int, bool) {
	for i := range t.Desc.Columns {
		if t.Desc.Columns[i].Name == name {
			return &t.Desc.Columns[i], i, true
		}
	}
	return nil, -1, false
}

// arbiterIndex finds a unique index (or the primary key) on exactly cols.
func arbiterIndex(t *Table, cols []string) *catalog.IndexDesc {
	for _, idx := range t.Desc.AllIndexes() {
		if !idx.Unique && idx.ID != catalog.PrimaryIndexID {
			continue
		}
		if len(idx.ColumnIDs) != len(cols) {
			continue
		}
		match := true
		for _, id := range idx.ColumnIDs {
			c, _, _ := t.Desc.ColumnByID(id)
			found := false
			for _, name := range cols {
				if c.Name == name {
					found = true
				}
			}
			match = match && found
		}
		if match {
			return idx
		}
	}
	return nil
}

// BuildUpdate plans UPDATE.
func (b *Builder) BuildUpdate(n *ast.UpdateStmt, x DMLExtras, parse func(string) (ast.ExprNode, error)) (*Update, error) {
	if n.Order != nil || n.Limit != nil {
		return nil, sqlerr.New(sqlerr.SyntaxError, "UPDATE does not support ORDER BY or LIMIT")
	}
	tg, err := b.dmlTarget(n.TableRefs, n.Where, "update")
	if err != nil {
		return nil, err
	}
	t, alias, ts := tg.table, tg.alias, tg.scope
	up := &Update{Table: t, Source: tg.rows}
	defaults, err := b.DefaultExprs(t, parse)
	if err != nil {
		return nil, err
	}
	for _, a := range n.List {
		if a.Column.Table.O != "" && a.Column.Table.O != alias {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", a.Column.Table.O)
		}
		_, pos, ok := columnPos(t, a.Column.Name.O)
		if !ok {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", a.Column.Name.O, t.Desc.Name)
		}
		var e Expr
		if _, isDefault := a.Expr.(*ast.DefaultExpr); isDefault {
			e = defaults[pos]
			if e == nil {
				e = &Const{D: types.Null, T: t.Types[pos]}
			}
		} else {
			if e, err = b.compileExpr(ts, a.Expr, t.Types[pos]); err != nil {
				return nil, err
			}
			if e, err = b.assignCast(e, t.Types[pos]); err != nil {
				return nil, err
			}
		}
		up.Set = append(up.Set, SetItem{Col: pos, E: e})
	}
	if up.Checks, err = b.compileChecks(t, parse); err != nil {
		return nil, err
	}
	if up.FKs, err = b.foreignKeys(t, true, true); err != nil {
		return nil, err
	}
	if len(x.Returning) > 0 {
		if up.Returning, up.ReturnCols, err = b.compileReturning(ts, x.Returning); err != nil {
			return nil, err
		}
	}
	b.finishParams()
	return up, nil
}

// BuildDelete plans DELETE.
func (b *Builder) BuildDelete(n *ast.DeleteStmt, x DMLExtras) (*Delete, error) {
	if n.IsMultiTable || n.Order != nil || n.Limit != nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this DELETE form is not supported")
	}
	tg, err := b.dmlTarget(n.TableRefs, n.Where, "delete from")
	if err != nil {
		return nil, err
	}
	del := &Delete{Table: tg.table, Source: tg.rows}
	if del.FKs, err = b.foreignKeys(tg.table, false, true); err != nil {
		return nil, err
	}
	if len(x.Returning) > 0 {
		if del.Returning, del.ReturnCols, err = b.compileReturning(tg.scope, x.Returning); err != nil {
			return nil, err
		}
	}
	b.finishParams()
	return del, nil
}

// dmlTarget is the table an UPDATE or DELETE writes and the rows it
// touches.
type dmlTarget struct {
	table *Table
	alias string
	scope *scope
	rows  Node
}

func (b *Builder) dmlTarget(refs *ast.TableRefsClause, where ast.ExprNode, verb string) (*dmlTarget, error) {
	tn, alias, err := tableNameOf(refs)
	if err != nil {
		return nil, err
	}
	t, err := b.resolveTable(tn.Schema.L, tn.Name.O)
	if err != nil {
		return nil, err
	}
	if t.Virtual != nil {
		return nil, errVirtualWrite(t, verb)
	}
	tg := &dmlTarget{table: t, alias: alias, scope: tableScope(t, alias)}
	tg.rows = &Scan{Table: t, Index: &t.Desc.PrimaryIndex, Alias: alias}
	if where != nil {
		pred, err := b.compileCondition(tg.scope, where, "WHERE")
		if err != nil {
			return nil, err
		}
		tg.rows = b.applyFilter(tg.rows, pred)
	}
	return tg, nil
}

// compileCondition compiles a boolean clause (WHERE, HAVING, ON).
func (b *Builder) compileCondition(s *scope, n ast.ExprNode, clause string) (Expr, error) {
	pred, err := b.compileExpr(s, n, types.Bool)
	if err != nil {
		return nil, err
	}
	if pred, err = b.coerce(pred, types.Bool); err != nil {
		return nil, err
	}
	if err := requireBool(pred, clause); err != nil {
		return nil, err
	}
	return pred, nil
}
