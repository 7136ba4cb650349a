package plan

import (
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/sql/builtins"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Catalog is what planning needs to know about the schema.
type Catalog interface {
	// Table resolves a table by name (42P01 if missing).
	Table(name string) (*Table, error)
}

// Builder builds one statement's plan. Not reusable across statements.
type Builder struct {
	Catalog Catalog
	// Funcs, when set, serves functions that need the session or the
	// catalog (see SessionFuncs).
	Funcs SessionFuncs
	Eval  *types.EvalContext
	// ParamTypes are the $n types, given by the client or inferred while
	// building (nil = not yet known; text if never constrained).
	ParamTypes []*types.T
	// ParamOrder maps the i-th ? of the rewritten text to its $n - 1.
	ParamOrder []int

	pendingParams []*Param
	subqueries    int
	volatile      bool
	ctes          []map[string]*cteDef
	paramSeen     int
}

type cteDef struct {
	node *Materialize
	cols []string
}

// finishParams gives parameters that no context constrained the type text.
func (b *Builder) finishParams() {
	for i, t := range b.ParamTypes {
		if t == nil {
			b.ParamTypes[i] = types.Text
		}
	}
	for _, p := range b.pendingParams {
		if p.T.Family == types.UnknownFamily && p.Idx < len(b.ParamTypes) {
			p.T = b.ParamTypes[p.Idx]
		}
	}
}

func (b *Builder) loc() *time.Location {
	if b.Eval == nil {
		return nil
	}
	return b.Eval.Location
}

// BuildQuery plans a row-returning statement (SELECT, set operation).
func (b *Builder) BuildQuery(n ast.ResultSetNode) (Node, error) {
	node, err := b.buildQuery(&scope{}, n)
	if err != nil {
		return nil, err
	}
	b.finishParams()
	return node, nil
}

func (b *Builder) buildQuery(s *scope, n ast.Node) (Node, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return b.buildSelect(s, n)
	case *ast.SetOprStmt:
		return b.buildSetOp(s, n)
	case *ast.SubqueryExpr:
		return b.buildQuery(s, n.Query)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "query %T is not supported", n)
}

func (b *Builder) pushCTEs(s *scope, w *ast.WithClause) error {
	if w == nil {
		return nil
	}
	if w.IsRecursive {
		return sqlerr.New(sqlerr.FeatureNotSupported, "WITH RECURSIVE is not supported yet")
	}
	frame := map[string]*cteDef{}
	b.ctes = append(b.ctes, frame)
	for _, cte := range w.CTEs {
		node, err := b.buildQuery(&scope{parent: s.parent}, cte.Query.Query)
		if err != nil {
			return err
		}
		cols := append([]ResultCol(nil), node.Columns()...)
		for i, c := range cte.ColNameList {
			if i < len(cols) {
				cols[i].Name = c.O
			}
		}
		name := cte.Name.O
		frame[name] = &cteDef{node: &Materialize{Input: node, Name: name, Cols: cols}}
	}
	return nil
}

func (b *Builder) popCTEs(w *ast.WithClause) {
	if w != nil && !w.IsRecursive {
		b.ctes = b.ctes[:len(b.ctes)-1]
	}
}

func (b *Builder) lookupCTE(name string) *cteDef {
	for i := len(b.ctes) - 1; i >= 0; i-- {
		if d, ok := b.ctes[i][name]; ok {
			return d
		}
	}
	return nil
}

func (b *Builder) buildSetOp(s *scope, n *ast.SetOprStmt) (Node, error) {
	if err := b.pushCTEs(s, n.With); err != nil {
		return nil, err
	}
	defer b.popCTEs(n.With)
	var cur Node
	for i, sel := range n.SelectList.Selects {
		node, err := b.buildQuery(&scope{parent: s.parent}, sel)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			cur = node
			continue
		}
		var after *ast.SetOprType
		switch x := sel.(type) {
		case *ast.SelectStmt:
			after = x.AfterSetOperator
		case *ast.SetOprSelectList:
			after = x.AfterSetOperator
		}
		op := ast.Union
		if after != nil {
			op = *after
		}
		if len(cur.Columns()) != len(node.Columns()) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "each %s query must have the same number of columns", setOpName(op))
		}
		cols := make([]ResultCol, len(cur.Columns()))
		for j, c := range cur.Columns() {
			t, err := commonType(c.T, node.Columns()[j].T, setOpName(op))
			if err != nil {
				if c.T.Family == types.UnknownFamily {
					t = node.Columns()[j].T
				} else if node.Columns()[j].T.Family == types.UnknownFamily {
					t = c.T
				} else {
					return nil, err
				}
			}
			cols[j] = ResultCol{Name: c.Name, T: t}
		}
		left, err := b.castColumns(cur, cols)
		if err != nil {
			return nil, err
		}
		right, err := b.castColumns(node, cols)
		if err != nil {
			return nil, err
		}
		so := &SetOp{Left: left, Right: right, Cols: cols}
		switch op {
		case ast.Union:
		case ast.UnionAll:
			so.All = true
		case ast.Intersect:
			so.Kind = Intersect
		case ast.IntersectAll:
			so.Kind, so.All = Intersect, true
		case ast.Except:
			so.Kind = Except
		case ast.ExceptAll:
			so.Kind, so.All = Except, true
		}
		cur = so
	}
	inner := &scope{parent: s.parent, cols: scopeFromCols(cur.Columns(), "")}
	var err error
	if n.OrderBy != nil {
		if cur, err = b.buildOrderByOutput(inner, cur, n.OrderBy.Items); err != nil {
			return nil, err
		}
	}
	return b.buildLimit(cur, n.Limit)
}

func setOpName(op ast.SetOprType) string {
	switch op {
	case ast.Intersect, ast.IntersectAll:
		return "INTERSECT"
	case ast.Except, ast.ExceptAll:
		return "EXCEPT"
	}
	return "UNION"
}

// castColumns projects node's columns to the given types where they differ.
func (b *Builder) castColumns(node Node, cols []ResultCol) (Node, error) {
	in := node.Columns()
	same := true
	exprs := make([]Expr, len(in))
	for i, c := range in {
		var e Expr = &ColRef{Idx: i, T: c.T, Name: c.Name}
		if !c.T.Equal(cols[i].T) {
			same = false
			if c.T.Family == types.UnknownFamily {
				e = &Cast{E: e, T: cols[i].T, Explicit: true}
			} else {
				e = &Cast{E: e, T: cols[i].T}
			}
		}
		exprs[i] = e
	}
	if same {
		return node, nil
	}
	out := make([]ResultCol, len(in))
	for i := range in {
		out[i] = ResultCol{Name: in[i].Name, T: cols[i].T}
	}
	return &Project{Input: node, Exprs: exprs, Cols: out}, nil
}

func (b *Builder) buildLimit(n Node, l *ast.Limit) (Node, error) {
	if l == nil {
		return n, nil
	}
	lim := &Limit{Input: n}
	var err error
	if l.Count != nil {
		if lim.Count, err = b.compileExpr(&scope{}, l.Count, types.Int8); err != nil {
			return nil, err
		}
		if lim.Count, err = b.coerce(lim.Count, types.Int8); err != nil {
			return nil, err
		}
		// The pre-pass writes OFFSET without LIMIT as LIMIT 2^64-1.
		if c, ok := lim.Count.(*Const); ok {
			if d, isDec := c.D.(*types.DDecimal); isDec && d.String() == "18446744073709551615" {
				lim.Count = nil
			}
		}
	}
	if l.Offset != nil {
		if lim.Offset, err = b.compileExpr(&scope{}, l.Offset, types.Int8); err != nil {
			return nil, err
		}
		if lim.Offset, err = b.coerce(lim.Offset, types.Int8); err != nil {
			return nil, err
		}
	}
	// Push a constant limit into a bare scan beneath a projection.
	if lim.Offset == nil {
		if c, ok := lim.Count.(*Const); ok && c.D != types.Null {
			if d, err := types.Cast(c.D, types.Int8, false, nil); err == nil && d.(types.DInt) >= 0 {
				pushLimit(n, int64(d.(types.DInt)))
			}
		}
	}
	return lim, nil
}

// pushLimit tells a scan directly beneath projections that it may stop
// after n rows (rule "push-limit-into-scan").
func pushLimit(n Node, limit int64) {
	switch x := n.(type) {
	case *Project:
		pushLimit(x.Input, limit)
	case *Scan:
		x.Limit = limit
	}
}

// orderFromIndex is the rule "order-by-index": when the rows come from a
// scan whose index already yields the ORDER BY order (the keys are a
// prefix of the index columns, all NOT NULL, in one consistent direction),
// the sort is dropped and the scan runs forward or in reverse. With a
// LIMIT above, the scan then reads only the rows it returns.
func (b *Builder) orderFromIndex(n Node, keys []SortKey) bool {
	proj, ok := n.(*Project)
	if !ok {
		return false
	}
	scan, ok := proj.Input.(*Scan)
	if !ok || len(keys) > len(scan.Index.ColumnIDs) {
		return false
	}
	reverse := false
	for i, k := range keys {
		if k.Col >= len(proj.Exprs) {
			return false
		}
		ref, ok := proj.Exprs[k.Col].(*ColRef)
		if !ok || ref.Depth != 0 {
			return false
		}
		col, pos, _ := scan.Table.Desc.ColumnByID(scan.Index.ColumnIDs[i])
		if pos != ref.Idx || col.Nullable {
			return false
		}
		desc := k.Desc != (i < len(scan.Index.Descending) && scan.Index.Descending[i])
		if i == 0 {
			reverse = desc
		} else if desc != reverse {
			return false
		}
	}
	scan.Reverse = reverse
	return true
}

// ---- FROM ----

func (b *Builder) buildFrom(s *scope, from *ast.TableRefsClause) (Node, error) {
	if from == nil || from.TableRefs == nil {
		// SELECT without FROM: one empty row.
		return &Values{Rows: [][]Expr{{}}}, nil
	}
	return b.buildJoinTree(s, from.TableRefs)
}

func (b *Builder) buildResultSet(s *scope, n ast.ResultSetNode) (Node, error) {
	switch n := n.(type) {
	case *ast.Join:
		return b.buildJoinTree(s, n)
	case *ast.TableSource:
		return b.buildTableSource(s, n)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FROM item %T is not supported", n)
}

func (b *Builder) buildTableSource(s *scope, ts *ast.TableSource) (Node, error) {
	alias := ts.AsName.O
	switch src := ts.Source.(type) {
	case *ast.TableName:
		name := src.Name.O
		if alias == "" {
			alias = name
		}
		if src.Schema.O == "" {
			if cte := b.lookupCTE(name); cte != nil {
				s.cols = append(s.cols, scopeFromCols(cte.node.Cols, alias)...)
				return cte.node, nil
			}
		}
		t, err := b.resolveTable(src.Schema.L, name)
		if err != nil {
			return nil, err
		}
		if t.Virtual != nil {
			vs := &VirtualScan{Table: t, Alias: alias}
			s.cols = append(s.cols, scopeFromCols(vs.Columns(), alias)...)
			return vs, nil
		}
		scan := &Scan{Table: t, Index: &t.Desc.PrimaryIndex, Alias: alias}
		s.cols = append(s.cols, scopeFromCols(scan.Columns(), alias)...)
		return scan, nil
	case *ast.SelectStmt, *ast.SetOprStmt:
		if node, ok, err := b.srfSource(s, src, alias); ok {
			return node, err
		}
		if alias == "" {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery in FROM must have an alias")
		}
		node, err := b.buildQuery(&scope{parent: s.parent}, src)
		if err != nil {
			return nil, err
		}
		cols := append([]ResultCol(nil), node.Columns()...)
		for i := range cols {
			cols[i].TableID, cols[i].ColumnID = 0, 0
		}
		for i, c := range ts.ColumnNames {
			if i < len(cols) {
				cols[i].Name = c.O
			}
		}
		s.cols = append(s.cols, scopeFromCols(cols, alias)...)
		return &Rename{Input: node, Cols: cols}, nil
	case *ast.Join:
		return b.buildJoinTree(s, src)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FROM item %T is not supported", ts.Source)
}

func (b *Builder) buildJoinTree(s *scope, j *ast.Join) (Node, error) {
	if j.Right == nil {
		return b.buildResultSet(s, j.Left)
	}
	// base: columns of FROM items before this join (a, b in FROM a, b, c
	// JOIN d ON ...); the join's own rows start there, so conditions are
	// compiled over the scope and shifted by -base.
	base := len(s.cols)
	left, err := b.buildResultSet(s, j.Left)
	if err != nil {
		return nil, err
	}
	nLeft := len(s.cols)
	right, err := b.buildResultSet(s, j.Right)
	if err != nil {
		return nil, err
	}
	kind := InnerJoin
	switch j.Tp {
	case ast.LeftJoin:
		kind = LeftJoin
	case ast.RightJoin:
		kind = RightJoin
	case ast.CrossJoin:
		kind = InnerJoin
		if j.On == nil && len(j.Using) == 0 && !j.NaturalJoin {
			kind = CrossJoin
		}
	}
	join := &Join{Kind: kind, Left: left, Right: right}
	var conds []Expr
	if len(j.Using) > 0 || j.NaturalJoin {
		names := make([]string, 0, len(j.Using))
		for _, u := range j.Using {
			names = append(names, u.Name.O)
		}
		if j.NaturalJoin {
			for _, rc := range s.cols[nLeft:] {
				for _, lc := range s.cols[base:nLeft] {
					if lc.name == rc.name && !rc.hidden {
						names = append(names, rc.name)
					}
				}
			}
		}
		for _, name := range names {
			li, ri := -1, -1
			for i, c := range s.cols[base:nLeft] {
				if c.name == name {
					li = base + i
				}
			}
			for i, c := range s.cols[nLeft:] {
				if c.name == name {
					ri = nLeft + i
				}
			}
			if li < 0 || ri < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q specified in USING clause does not exist in both tables", name)
			}
			eq, err := b.binaryExprs("=", &ColRef{Idx: li, T: s.cols[li].t, Name: name}, &ColRef{Idx: ri, T: s.cols[ri].t, Name: name})
			if err != nil {
				return nil, err
			}
			conds = append(conds, eq)
			// USING merges the pair: unqualified references and SELECT *
			// see one column (the right one for RIGHT JOIN).
			keep, drop := li, ri
			if kind == RightJoin {
				keep, drop = ri, li
			}
			s.cols[drop].hidden, s.cols[drop].merged = true, true
			_ = keep
		}
	}
	onExpr := ast.ExprNode(nil)
	if j.On != nil {
		onExpr = j.On.Expr
		if f, ok := onExpr.(*ast.FuncCallExpr); ok && f.FnName.L == "outpost_full_join" && len(f.Args) == 1 {
			// The pre-pass spells a FULL JOIN b ON c as LEFT JOIN b ON
			// outpost_full_join(c).
			join.Kind, onExpr = FullJoin, f.Args[0]
			kind = FullJoin
		}
	}
	if onExpr != nil {
		on, err := b.compileCondition(s, onExpr, "JOIN/ON")
		if err != nil {
			return nil, err
		}
		conds = append(conds, splitAnd(on)...)
	}
	if base > 0 {
		for i, c := range conds {
			refs := map[int]bool{}
			if !colRefs(c, refs) {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this JOIN condition is not supported after a comma-separated FROM item yet").
					WithHint("write the FROM list with explicit JOIN ... ON clauses")
			}
			for idx := range refs {
				if idx < base {
					return nil, sqlerr.New(sqlerr.UndefinedTable, "invalid reference to FROM-clause entry for table %q", s.cols[idx].table).
						WithHint("There is an entry for the table, but it cannot be referenced from this part of the query.")
				}
			}
			conds[i] = shift(c, -base)
		}
		nLeft -= base
	}
	for _, c := range conds {
		if be, ok := c.(*BinOp); ok && be.Op == "=" {
			l, lok := be.L.(*ColRef)
			r, rok := be.R.(*ColRef)
			if lok && rok && l.Depth == 0 && r.Depth == 0 {
				switch {
				case l.Idx < nLeft && r.Idx >= nLeft:
					join.LeftEq = append(join.LeftEq, l.Idx)
					join.RightEq = append(join.RightEq, r.Idx-nLeft)
				case r.Idx < nLeft && l.Idx >= nLeft:
					join.LeftEq = append(join.LeftEq, r.Idx)
					join.RightEq = append(join.RightEq, l.Idx-nLeft)
				}
			}
		}
	}
	join.On = joinAnd(conds)
	return join, nil
}

func splitAnd(e Expr) []Expr {
	if a, ok := e.(*And); ok {
		return append(splitAnd(a.L), splitAnd(a.R)...)
	}
	return []Expr{e}
}

func joinAnd(es []Expr) Expr {
	var out Expr
	for _, e := range es {
		if out == nil {
			out = e
		} else {
			out = &And{L: out, R: e}
		}
	}
	return out
}

// ---- SELECT ----

func (b *Builder) buildSelect(s *scope, sel *ast.SelectStmt) (Node, error) {
	if sel.Kind == ast.SelectStmtKindValues {
		return b.buildValuesStmt(s, sel)
	}
	if err := b.pushCTEs(s, sel.With); err != nil {
		return nil, err
	}
	defer b.popCTEs(sel.With)
	from := &scope{parent: s.parent}
	node, err := b.buildFrom(from, sel.From)
	if err != nil {
		return nil, err
	}
	if sel.Where != nil {
		pred, err := b.compileCondition(from, sel.Where, "WHERE")
		if err != nil {
			return nil, err
		}
		var aggs []aggCall
		findAggregates(sel.Where, &aggs)
		if len(aggs) > 0 {
			return nil, sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed in WHERE")
		}
		conj := splitAnd(pred)
		if reordered, rest, ok := b.reorderJoins(node, conj); ok {
			node = reordered
			if len(rest) > 0 {
				node = &Filter{Input: node, Pred: joinAnd(rest)}
			}
		} else {
			node = b.pushFilter(node, conj)
		}
	}
	s.correlated = s.correlated || from.correlated

	// Aggregation.
	var aggs []aggCall
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			findAggregates(f.Expr, &aggs)
		}
	}
	if sel.Having != nil {
		findAggregates(sel.Having.Expr, &aggs)
	}
	if sel.OrderBy != nil {
		for _, it := range sel.OrderBy.Items {
			findAggregates(it.Expr, &aggs)
		}
	}
	outScope := from
	if sel.GroupBy != nil || len(aggs) > 0 || sel.Having != nil {
		node, outScope, err = b.buildAggregation(from, node, sel, aggs)
		if err != nil {
			return nil, err
		}
	}

	// Select list.
	var exprs []Expr
	var cols []ResultCol
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			if outScope.agg != nil {
				return nil, sqlerr.New(sqlerr.GroupingError, "SELECT * is not allowed with GROUP BY")
			}
			table := f.WildCard.Table.O
			found := false
			inCols := node.Columns()
			for i, c := range from.cols {
				if c.hidden || (table != "" && c.table != table) {
					continue
				}
				found = true
				exprs = append(exprs, &ColRef{Idx: i, T: c.t, Name: c.name})
				rc := ResultCol{Name: c.name, T: c.t}
				if i < len(inCols) {
					rc.TableID, rc.ColumnID = inCols[i].TableID, inCols[i].ColumnID
				}
				cols = append(cols, rc)
			}
			if table != "" && !found {
				return nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", table)
			}
			continue
		}
		e, err := b.compileExpr(outScope, f.Expr, nil)
		if err != nil {
			return nil, err
		}
		if isUnknown(e) {
			if e, err = b.coerce(e, types.Text); err != nil {
				return nil, err
			}
		}
		name := f.AsName.O
		if name == "" {
			name = columnName(f.Expr)
		}
		rc := ResultCol{Name: name, T: e.Type()}
		if cr, ok := e.(*ColRef); ok && cr.Depth == 0 && outScope.agg == nil {
			in := node.Columns()
			if cr.Idx < len(in) {
				rc.TableID, rc.ColumnID = in[cr.Idx].TableID, in[cr.Idx].ColumnID
			}
		}
		exprs = append(exprs, e)
		cols = append(cols, rc)
	}
	s.correlated = s.correlated || outScope.correlated
	nVisible := len(exprs)

	// ORDER BY: output aliases, ordinals, or expressions over the input,
	// computed as extra columns that are projected away after sorting.
	var keys []SortKey
	if sel.OrderBy != nil {
		for _, item := range sel.OrderBy.Items {
			idx, err := b.orderByColumn(outScope, item.Expr, cols[:nVisible], &exprs, &cols, sel.Distinct)
			if err != nil {
				return nil, err
			}
			keys = append(keys, SortKey{Col: idx, Desc: item.Desc, NullsFirst: item.Desc})
		}
	}
	var out Node = &Project{Input: node, Exprs: exprs, Cols: cols}
	if sel.Distinct {
		out = &Distinct{Input: out, NumCols: nVisible}
	}
	if len(keys) > 0 && (sel.Distinct || !b.orderFromIndex(out, keys)) {
		out = &Sort{Input: out, Keys: keys}
	}
	if len(cols) > nVisible {
		trim := make([]Expr, nVisible)
		for i := range trim {
			trim[i] = &ColRef{Idx: i, T: cols[i].T, Name: cols[i].Name}
		}
		out = &Project{Input: out, Exprs: trim, Cols: cols[:nVisible]}
	}
	return b.buildLimit(out, sel.Limit)
}

// orderByColumn returns the projected column index an ORDER BY item sorts
// on, appending a hidden column when needed.
func (b *Builder) orderByColumn(s *scope, e ast.ExprNode, visible []ResultCol, exprs *[]Expr, cols *[]ResultCol, distinct bool) (int, error) {
	if p, ok := e.(*ast.PositionExpr); ok && p.P == nil {
		if p.N < 1 || p.N > len(visible) {
			return 0, sqlerr.New(sqlerr.InvalidColumnReference, "ORDER BY position %d is not in select list", p.N)
		}
		return p.N - 1, nil
	}
	if v, ok := e.(ast.ValueExpr); ok {
		if n, ok := b.intLiteral(v); ok {
			if n < 1 || int(n) > len(visible) {
				return 0, sqlerr.New(sqlerr.InvalidColumnReference, "ORDER BY position %d is not in select list", n)
			}
			return int(n - 1), nil
		}
	}
	if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.O == "" {
		for i, col := range visible {
			if col.Name == c.Name.Name.O {
				return i, nil
			}
		}
	}
	ce, err := b.compileExpr(s, e, nil)
	if err != nil {
		return 0, err
	}
	if isUnknown(ce) {
		if ce, err = b.coerce(ce, types.Text); err != nil {
			return 0, err
		}
	}
	for i, x := range (*exprs)[:len(visible)] {
		if x.String() == ce.String() {
			return i, nil
		}
	}
	if distinct {
		return 0, sqlerr.New(sqlerr.InvalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
	}
	*exprs = append(*exprs, ce)
	*cols = append(*cols, ResultCol{Name: "?order?", T: ce.Type(), Hidden: true})
	return len(*exprs) - 1, nil
}

// buildOrderByOutput sorts a set operation's output by its own columns.
func (b *Builder) buildOrderByOutput(s *scope, n Node, items []*ast.ByItem) (Node, error) {
	cols := n.Columns()
	var keys []SortKey
	for _, item := range items {
		idx := -1
		if p, ok := item.Expr.(*ast.PositionExpr); ok && p.P == nil {
			idx = p.N - 1
		}
		if v, ok := item.Expr.(ast.ValueExpr); ok {
			if k, ok := b.intLiteral(v); ok {
				idx = int(k) - 1
			}
		}
		if c, ok := item.Expr.(*ast.ColumnNameExpr); ok {
			for i, col := range cols {
				if col.Name == c.Name.Name.O {
					idx = i
				}
			}
		}
		if idx < 0 || idx >= len(cols) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ORDER BY on a UNION/INTERSECT/EXCEPT result must be on one of the result columns")
		}
		keys = append(keys, SortKey{Col: idx, Desc: item.Desc, NullsFirst: item.Desc})
	}
	return &Sort{Input: n, Keys: keys}, nil
}

func (b *Builder) buildAggregation(from *scope, input Node, sel *ast.SelectStmt, aggs []aggCall) (Node, *scope, error) {
	h := &HashAgg{Input: input}
	as := &aggScope{groups: map[string]int{}, aggs: map[string]int{}, input: from}
	if sel.GroupBy != nil {
		for _, item := range sel.GroupBy.Items {
			ge := item.Expr
			if p, ok := ge.(*ast.PositionExpr); ok && p.P == nil {
				if p.N < 1 || p.N > len(sel.Fields.Fields) || sel.Fields.Fields[p.N-1].Expr == nil {
					return nil, nil, sqlerr.New(sqlerr.InvalidColumnReference, "GROUP BY position %d is not in select list", p.N)
				}
				ge = sel.Fields.Fields[p.N-1].Expr
			}
			// GROUP BY 1 and GROUP BY alias refer to the select list.
			if v, ok := ge.(ast.ValueExpr); ok {
				if n, ok := b.intLiteral(v); ok {
					if n < 1 || int(n) > len(sel.Fields.Fields) || sel.Fields.Fields[n-1].Expr == nil {
						return nil, nil, sqlerr.New(sqlerr.InvalidColumnReference, "GROUP BY position %d is not in select list", n)
					}
					ge = sel.Fields.Fields[n-1].Expr
				}
			}
			if c, ok := ge.(*ast.ColumnNameExpr); ok && c.Name.Table.O == "" {
				if _, _, _, err := from.resolve("", c.Name.Name.O); err != nil {
					for _, f := range sel.Fields.Fields {
						if f.AsName.O == c.Name.Name.O && f.Expr != nil {
							ge = f.Expr
						}
					}
				}
			}
			text := exprText(ge)
			if _, dup := as.groups[text]; dup {
				continue
			}
			e, err := b.compileExpr(from, ge, nil)
			if err != nil {
				return nil, nil, err
			}
			if isUnknown(e) {
				if e, err = b.coerce(e, types.Text); err != nil {
					return nil, nil, err
				}
			}
			as.groups[text] = len(h.Groups)
			h.Groups = append(h.Groups, e)
			as.cols = append(as.cols, scopeCol{name: columnName(ge), t: e.Type()})
		}
	}
	for _, a := range aggs {
		text := exprText(a.node)
		if _, dup := as.aggs[text]; dup {
			continue
		}
		spec, err := b.compileAggregate(from, a)
		if err != nil {
			return nil, nil, err
		}
		as.aggs[text] = len(h.Groups) + len(h.Aggs)
		h.Aggs = append(h.Aggs, spec)
		as.cols = append(as.cols, scopeCol{name: a.name, t: spec.Ov.Result})
	}
	for _, c := range as.cols {
		h.Cols = append(h.Cols, ResultCol{Name: c.name, T: c.t})
	}
	out := &scope{parent: from.parent, cols: as.cols, agg: as}
	var node Node = h
	if sel.Having != nil {
		pred, err := b.compileExpr(out, sel.Having.Expr, types.Bool)
		if err != nil {
			return nil, nil, err
		}
		if err := requireBool(pred, "HAVING"); err != nil {
			return nil, nil, err
		}
		node = &Filter{Input: node, Pred: pred}
	}
	return node, out, nil
}

func (b *Builder) compileAggregate(s *scope, a aggCall) (AggSpec, error) {
	name := a.name
	spec := AggSpec{Name: name, Distinct: a.distinct}
	var argTypes []*types.T
	star := false
	if name == "count" && len(a.args) == 1 {
		if v, ok := a.args[0].(ast.ValueExpr); ok && !a.distinct {
			// count(*) arrives as count(1) from the grammar.
			if n, ok := b.intLiteral(v); ok && n == 1 {
				star = true
			}
		}
	}
	if !star {
		for i, arg := range a.args {
			var hint *types.T
			if name == "string_agg" && i == 1 {
				hint = types.Text
			}
			e, err := b.compileExpr(s, arg, hint)
			if err != nil {
				return spec, err
			}
			if isUnknown(e) {
				if e, err = b.coerce(e, types.Text); err != nil {
					return spec, err
				}
			}
			var inner []aggCall
			findAggregates(arg, &inner)
			if len(inner) > 0 {
				return spec, sqlerr.New(sqlerr.GroupingError, "aggregate function calls cannot be nested")
			}
			spec.Args = append(spec.Args, e)
			argTypes = append(argTypes, e.Type())
		}
	}
	if name == "group_concat" {
		return spec, sqlerr.New(sqlerr.UndefinedFunction, "function group_concat does not exist").WithHint("use string_agg")
	}
	ov, err := builtins.LookupAggregate(name, argTypes)
	if err != nil {
		return spec, err
	}
	spec.Ov = ov
	return spec, nil
}

// columnName is PostgreSQL's default output name for an expression.
func columnName(e ast.ExprNode) string {
	switch n := e.(type) {
	case *ast.ColumnNameExpr:
		return n.Name.Name.O
	case *ast.FuncCallExpr:
		if n.FnName.L == castFunc && len(n.Args) == 2 {
			if _, ok := n.Args[0].(*ast.ColumnNameExpr); ok {
				return columnName(n.Args[0])
			}
			return typeColumnName(n)
		}
		if n.FnName.L == "outpost_concat" {
			return "concat"
		}
		return n.FnName.L
	case *ast.AggregateFuncExpr:
		return strings.ToLower(n.F)
	case *ast.ParenthesesExpr:
		return columnName(n.Expr)
	case *ast.CaseExpr:
		return "case"
	case *ast.ExistsSubqueryExpr:
		return "exists"
	}
	return "?column?"
}

func typeColumnName(n *ast.FuncCallExpr) string {
	if v, ok := n.Args[1].(ast.ValueExpr); ok {
		s := strings.Fields(strings.Trim(restoreOrEmpty(v), "'"))
		if len(s) > 0 {
			base := s[0]
			if i := strings.IndexByte(base, '('); i > 0 {
				base = base[:i]
			}
			switch base {
			case "int", "integer", "int4":
				return "int4"
			case "bigint", "int8":
				return "int8"
			case "smallint", "int2":
				return "int2"
			case "text", "varchar", "character", "char":
				return strconv.Quote(base)[1 : len(base)+1]
			}
			return base
		}
	}
	return "?column?"
}

func (b *Builder) buildValuesStmt(s *scope, sel *ast.SelectStmt) (Node, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "VALUES as a statement is not supported yet")
}
