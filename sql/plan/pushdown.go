package plan

// Rule "push-filter-into-join": the conjuncts of a WHERE clause over a tree
// of inner/cross joins move down to the lowest join (or scan) that has all
// the columns they reference, and column equalities between the two sides
// of a join become its hash-join keys. Conjuncts with subqueries, volatile
// sequence functions or outer references stay where they are.

// colRefs collects the depth-0 column indexes an expression reads; ok is
// false when it cannot be moved (subqueries, sequence functions).
func colRefs(e Expr, out map[int]bool) bool {
	switch v := e.(type) {
	case *ColRef:
		if v.Depth == 0 {
			out[v.Idx] = true
		}
		return v.Depth == 0
	case *Const, *Param:
		return true
	case *BinOp:
		return colRefs(v.L, out) && colRefs(v.R, out)
	case *NotDistinct:
		return colRefs(v.L, out) && colRefs(v.R, out)
	case *UnaryMinus:
		return colRefs(v.E, out)
	case *And:
		return colRefs(v.L, out) && colRefs(v.R, out)
	case *Or:
		return colRefs(v.L, out) && colRefs(v.R, out)
	case *Not:
		return colRefs(v.E, out)
	case *IsNull:
		return colRefs(v.E, out)
	case *IsTruth:
		return colRefs(v.E, out)
	case *Cast:
		return colRefs(v.E, out)
	case *Like:
		return colRefs(v.E, out) && colRefs(v.Pattern, out)
	case *Func:
		for _, a := range v.Args {
			if !colRefs(a, out) {
				return false
			}
		}
		return true
	case *Coalesce:
		for _, a := range v.Args {
			if !colRefs(a, out) {
				return false
			}
		}
		return true
	case *SessionCall:
		for _, a := range v.Args {
			if !colRefs(a, out) {
				return false
			}
		}
		return true
	case *InList:
		if !colRefs(v.E, out) {
			return false
		}
		for _, a := range v.List {
			if !colRefs(a, out) {
				return false
			}
		}
		return true
	case *Case:
		for i := range v.Whens {
			if !colRefs(v.Whens[i], out) || !colRefs(v.Thens[i], out) {
				return false
			}
		}
		return v.Else == nil || colRefs(v.Else, out)
	}
	return false
}

// shift returns a copy of e with depth-0 column indexes moved by delta.
func shift(e Expr, delta int) Expr {
	if delta == 0 {
		return e
	}
	return remap(e, func(i int) int { return i + delta })
}

// remap returns a copy of e with depth-0 column index i replaced by m(i).
// Only expressions colRefs accepts are remapped.
func remap(e Expr, m func(int) int) Expr {
	shift := func(e Expr, _ int) Expr { return remap(e, m) }
	shiftAll := func(es []Expr, _ int) []Expr {
		out := make([]Expr, len(es))
		for i, x := range es {
			out[i] = remap(x, m)
		}
		return out
	}
	delta := 0
	switch v := e.(type) {
	case *ColRef:
		c := *v
		if c.Depth == 0 {
			c.Idx = m(c.Idx)
		}
		return &c
	case *BinOp:
		c := *v
		c.L, c.R = shift(v.L, delta), shift(v.R, delta)
		return &c
	case *NotDistinct:
		c := *v
		c.L, c.R = shift(v.L, delta), shift(v.R, delta)
		return &c
	case *UnaryMinus:
		return &UnaryMinus{E: shift(v.E, delta)}
	case *And:
		return &And{L: shift(v.L, delta), R: shift(v.R, delta)}
	case *Or:
		return &Or{L: shift(v.L, delta), R: shift(v.R, delta)}
	case *Not:
		return &Not{E: shift(v.E, delta)}
	case *IsNull:
		return &IsNull{E: shift(v.E, delta), Not: v.Not}
	case *IsTruth:
		return &IsTruth{E: shift(v.E, delta), Truth: v.Truth, Not: v.Not}
	case *Cast:
		c := *v
		c.E = shift(v.E, delta)
		return &c
	case *Like:
		c := *v
		c.E, c.Pattern = shift(v.E, delta), shift(v.Pattern, delta)
		return &c
	case *Func:
		c := *v
		c.Args = shiftAll(v.Args, delta)
		return &c
	case *Coalesce:
		return &Coalesce{Args: shiftAll(v.Args, delta), T: v.T}
	case *SessionCall:
		return &SessionCall{F: v.F, Args: shiftAll(v.Args, delta)}
	case *InList:
		return &InList{E: shift(v.E, delta), List: shiftAll(v.List, delta), Not: v.Not}
	case *Case:
		c := &Case{Whens: shiftAll(v.Whens, delta), Thens: shiftAll(v.Thens, delta), T: v.T}
		if v.Else != nil {
			c.Else = shift(v.Else, delta)
		}
		return c
	}
	return e
}

// pushFilter places the conjuncts over n and returns the new node.
func (b *Builder) pushFilter(n Node, conj []Expr) Node {
	if len(conj) == 0 {
		return n
	}
	j, ok := n.(*Join)
	if !ok || (j.Kind != InnerJoin && j.Kind != CrossJoin) {
		return b.applyFilter(n, joinAnd(conj))
	}
	nl := len(j.Left.Columns())
	var left, right, here []Expr
	for _, c := range conj {
		refs := map[int]bool{}
		if !colRefs(c, refs) {
			here = append(here, c)
			continue
		}
		onLeft, onRight := false, false
		for idx := range refs {
			if idx < nl {
				onLeft = true
			} else {
				onRight = true
			}
		}
		switch {
		case onLeft && !onRight:
			left = append(left, c)
		case onRight && !onLeft:
			right = append(right, shift(c, -nl))
		default:
			here = append(here, c)
		}
	}
	out := *j
	out.Left = b.pushFilter(j.Left, left)
	out.Right = b.pushFilter(j.Right, right)
	if len(here) > 0 {
		var on []Expr
		if j.On != nil {
			on = splitAnd(j.On)
		}
		on = append(on, here...)
		out.On = joinAnd(on)
		out.Kind = InnerJoin
		out.LeftEq, out.RightEq = append([]int(nil), j.LeftEq...), append([]int(nil), j.RightEq...)
		for _, c := range here {
			be, ok := c.(*BinOp)
			if !ok || be.Op != "=" {
				continue
			}
			l, lok := be.L.(*ColRef)
			r, rok := be.R.(*ColRef)
			if !lok || !rok || l.Depth != 0 || r.Depth != 0 {
				continue
			}
			switch {
			case l.Idx < nl && r.Idx >= nl:
				out.LeftEq, out.RightEq = append(out.LeftEq, l.Idx), append(out.RightEq, r.Idx-nl)
			case r.Idx < nl && l.Idx >= nl:
				out.LeftEq, out.RightEq = append(out.LeftEq, r.Idx), append(out.RightEq, l.Idx-nl)
			}
		}
	}
	return &out
}

// Rule "reorder-joins": a FROM list of tables joined only by inner or
// cross joins is joined in a greedy order instead of the written one:
// start from a table pinned by a constant, then repeatedly add a table
// that an equality connects to those already joined, so that no cross
// product is built while a connected table remains. A projection restores
// the written column order, so nothing above notices.
func (b *Builder) reorderJoins(n Node, conj []Expr) (Node, []Expr, bool) {
	var leaves []Node
	var ons []Expr
	if !flattenInner(n, &leaves, &ons) || len(leaves) < 3 {
		return n, conj, false
	}
	// Column ranges of the leaves in written order.
	offs := make([]int, len(leaves))
	total := 0
	for i, l := range leaves {
		offs[i] = total
		total += len(l.Columns())
	}
	leafOf := func(col int) int {
		for i := len(offs) - 1; i >= 0; i-- {
			if col >= offs[i] {
				return i
			}
		}
		return 0
	}
	all := append(append([]Expr(nil), ons...), conj...)
	type edge struct{ a, b int }
	var edges []edge
	pinned := map[int]bool{}
	for _, c := range all {
		refs := map[int]bool{}
		if !colRefs(c, refs) {
			continue
		}
		ls := map[int]bool{}
		for col := range refs {
			ls[leafOf(col)] = true
		}
		if be, ok := c.(*BinOp); ok && be.Op == "=" && len(ls) == 1 {
			for l := range ls {
				pinned[l] = true
			}
		}
		if be, ok := c.(*BinOp); ok && be.Op == "=" && len(ls) == 2 {
			var pair []int
			for l := range ls {
				pair = append(pair, l)
			}
			edges = append(edges, edge{pair[0], pair[1]})
		}
	}
	chosen := map[int]bool{}
	var order []int
	start := 0
	for i := range leaves {
		if pinned[i] {
			start = i
			break
		}
	}
	order, chosen[start] = append(order, start), true
	for len(order) < len(leaves) {
		next := -1
		for _, prefer := range []bool{true, false} {
			for i := range leaves {
				if chosen[i] || (prefer && !pinned[i]) {
					continue
				}
				for _, e := range edges {
					if (e.a == i && chosen[e.b]) || (e.b == i && chosen[e.a]) {
						next = i
						break
					}
				}
				if next >= 0 {
					break
				}
			}
			if next >= 0 {
				break
			}
		}
		if next < 0 {
			for i := range leaves {
				if !chosen[i] {
					next = i
					break
				}
			}
		}
		order, chosen[next] = append(order, next), true
	}
	// Old column index → new.
	newPos := make([]int, total)
	pos := 0
	for _, li := range order {
		w := len(leaves[li].Columns())
		for k := 0; k < w; k++ {
			newPos[offs[li]+k] = pos
			pos++
		}
	}
	var joined Node = leaves[order[0]]
	for _, li := range order[1:] {
		joined = &Join{Kind: CrossJoin, Left: joined, Right: leaves[li]}
	}
	moved := make([]Expr, len(all))
	for i, c := range all {
		moved[i] = remap(c, func(i int) int { return newPos[i] })
	}
	var keep []Expr
	for _, c := range moved {
		refs := map[int]bool{}
		if colRefs(c, refs) {
			keep = append(keep, c)
		}
	}
	joined = b.pushFilter(joined, keep)
	// Conjuncts that cannot move stay above, in the written order.
	var rest []Expr
	for _, c := range all {
		refs := map[int]bool{}
		if !colRefs(c, refs) {
			rest = append(rest, c)
		}
	}
	cols := joined.Columns()
	exprs := make([]Expr, total)
	outCols := make([]ResultCol, total)
	for old := 0; old < total; old++ {
		np := newPos[old]
		exprs[old] = &ColRef{Idx: np, T: cols[np].T, Name: cols[np].Name}
		outCols[old] = cols[np]
	}
	return &Project{Input: joined, Exprs: exprs, Cols: outCols}, rest, true
}

// flattenInner collects the leaves of a tree of inner/cross joins and
// their ON conditions (in the tree's column numbering).
func flattenInner(n Node, leaves *[]Node, ons *[]Expr) bool {
	j, ok := n.(*Join)
	if !ok {
		*leaves = append(*leaves, n)
		return true
	}
	if j.Kind != InnerJoin && j.Kind != CrossJoin {
		return false
	}
	base := 0
	for _, l := range *leaves {
		base += len(l.Columns())
	}
	if !flattenInner(j.Left, leaves, ons) || !flattenInner(j.Right, leaves, ons) {
		return false
	}
	if j.On != nil {
		for _, c := range splitAnd(j.On) {
			*ons = append(*ons, shift(c, base))
		}
	}
	return true
}
