package plan

import (
	"fmt"

	"github.com/outpostdb/outpost/sql/types"
)

// JoinKind is the SQL join type.
type JoinKind int

// The join kinds.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	CrossJoin
)

func (k JoinKind) String() string {
	return [...]string{"inner", "left", "right", "full", "cross"}[k]
}

// Join combines two inputs. With equality columns it is a hash join (the
// right side is built into a hash table within the memory budget);
// otherwise a nested-loop join over the buffered right side. Output rows
// are left columns then right columns. On is the full join condition
// (including the equalities, which the hash join checks by hash first).
type Join struct {
	Kind        JoinKind
	Left, Right Node
	On          Expr // nil = true
	// LeftEq[i] = RightEq[i] are equality columns usable for hashing.
	LeftEq, RightEq []int
}

func (j *Join) Columns() []ResultCol {
	return append(append([]ResultCol(nil), j.Left.Columns()...), j.Right.Columns()...)
}
func (j *Join) Children() []Node { return []Node{j.Left, j.Right} }
func (j *Join) Explain() string {
	algo := "nested loop"
	if len(j.LeftEq) > 0 {
		algo = "hash"
	}
	s := fmt.Sprintf("%s %s join", algo, j.Kind)
	if j.On != nil {
		s += " on " + j.On.String()
	}
	return s
}

func (j *Join) Open(ec *ExecCtx) (RowIter, error) {
	right, err := j.Right.Open(ec)
	if err != nil {
		return nil, err
	}
	var rrows []Row
	var mem int64
	for {
		if err := ec.Ctx.Err(); err != nil {
			right.Close()
			ec.release(mem)
			return nil, err
		}
		r, err := right.Next()
		if err != nil {
			right.Close()
			ec.release(mem)
			return nil, err
		}
		if r == nil {
			break
		}
		sz := rowSize(r)
		mem += sz
		if err := ec.reserve(sz); err != nil {
			right.Close()
			ec.release(mem)
			return nil, err
		}
		rrows = append(rrows, r)
	}
	right.Close()
	left, err := j.Left.Open(ec)
	if err != nil {
		ec.release(mem)
		return nil, err
	}
	it := &joinIter{j: j, ec: ec, left: left, right: rrows, mem: mem,
		rightMatched: make([]bool, len(rrows)), nr: len(j.Right.Columns()), nl: len(j.Left.Columns())}
	if len(j.LeftEq) > 0 {
		it.table = map[string][]int{}
		for i, r := range rrows {
			key, null := eqKey(r, j.RightEq)
			if null {
				continue
			}
			it.table[key] = append(it.table[key], i)
		}
	}
	return it, nil
}

func eqKey(r Row, cols []int) (string, bool) {
	var b []byte
	for _, c := range cols {
		if r[c] == types.Null {
			return "", true
		}
		b = types.HashKey(b, r[c])
	}
	return string(b), false
}

type joinIter struct {
	j            *Join
	ec           *ExecCtx
	left         RowIter
	right        []Row
	table        map[string][]int
	rightMatched []bool
	nl, nr       int
	mem          int64

	cur        Row
	candidates []int
	ci         int
	curMatched bool
	leftDone   bool
	tail       int // position in right rows when emitting unmatched right rows
}

func (it *joinIter) combine(l, r Row) Row {
	out := make(Row, 0, it.nl+it.nr)
	if l == nil {
		for i := 0; i < it.nl; i++ {
			out = append(out, types.Null)
		}
	} else {
		out = append(out, l...)
	}
	if r == nil {
		for i := 0; i < it.nr; i++ {
			out = append(out, types.Null)
		}
	} else {
		out = append(out, r...)
	}
	return out
}

func (it *joinIter) Next() (Row, error) {
	for !it.leftDone {
		if it.cur == nil {
			if err := it.ec.Ctx.Err(); err != nil {
				return nil, err
			}
			l, err := it.left.Next()
			if err != nil {
				return nil, err
			}
			if l == nil {
				it.leftDone = true
				break
			}
			it.cur, it.ci, it.curMatched = l, 0, false
			if it.table != nil {
				key, null := eqKey(l, it.j.LeftEq)
				if null {
					it.candidates = nil
				} else {
					it.candidates = it.table[key]
				}
			}
		}
		for {
			var ri int
			if it.table != nil {
				if it.ci >= len(it.candidates) {
					break
				}
				ri = it.candidates[it.ci]
			} else {
				if it.ci >= len(it.right) {
					break
				}
				ri = it.ci
			}
			it.ci++
			row := it.combine(it.cur, it.right[ri])
			if it.j.On != nil {
				ok, null, err := evalBool(it.ec, it.j.On, row)
				if err != nil {
					return nil, err
				}
				if !ok || null {
					continue
				}
			}
			it.curMatched = true
			it.rightMatched[ri] = true
			return row, nil
		}
		l := it.cur
		it.cur = nil
		if !it.curMatched && (it.j.Kind == LeftJoin || it.j.Kind == FullJoin) {
			return it.combine(l, nil), nil
		}
	}
	if it.j.Kind == RightJoin || it.j.Kind == FullJoin {
		for it.tail < len(it.right) {
			i := it.tail
			it.tail++
			if !it.rightMatched[i] {
				return it.combine(nil, it.right[i]), nil
			}
		}
	}
	return nil, nil
}

func (it *joinIter) Close() {
	it.left.Close()
	it.ec.release(it.mem)
	it.mem = 0
}

// ---- Set operations ----

// SetOpKind is UNION / INTERSECT / EXCEPT.
type SetOpKind int

// The kinds.
const (
	Union SetOpKind = iota
	Intersect
	Except
)

// SetOp combines two inputs with the same column count.
type SetOp struct {
	Kind        SetOpKind
	All         bool
	Left, Right Node
	Cols        []ResultCol
}

func (s *SetOp) Columns() []ResultCol { return s.Cols }
func (s *SetOp) Children() []Node     { return []Node{s.Left, s.Right} }
func (s *SetOp) Explain() string {
	n := [...]string{"union", "intersect", "except"}[s.Kind]
	if s.All {
		n += " all"
	}
	return n
}

func (s *SetOp) Open(ec *ExecCtx) (RowIter, error) {
	left, err := collectBudget(ec, s.Left)
	if err != nil {
		return nil, err
	}
	right, err := collectBudget(ec, s.Right)
	if err != nil {
		return nil, err
	}
	var out []Row
	switch s.Kind {
	case Union:
		out = append(left, right...)
		if !s.All {
			out = dedupe(out)
		}
	case Intersect, Except:
		counts := map[string]int{}
		for _, r := range right {
			counts[hashRow(r, 0)]++
		}
		emitted := map[string]bool{}
		for _, r := range left {
			k := hashRow(r, 0)
			inRight := counts[k] > 0
			keep := inRight == (s.Kind == Intersect)
			if s.All {
				if inRight {
					counts[k]--
				}
				if keep {
					out = append(out, r)
				}
				continue
			}
			if keep && !emitted[k] {
				emitted[k] = true
				out = append(out, r)
			}
		}
	}
	return &sliceIter{rows: out}, nil
}

func collectBudget(ec *ExecCtx, n Node) ([]Row, error) {
	rows, err := collect(ec, n, false)
	if err != nil {
		return nil, err
	}
	var sz int64
	for _, r := range rows {
		sz += rowSize(r)
	}
	if err := ec.reserve(sz); err != nil {
		return nil, err
	}
	return rows, nil
}

func dedupe(rows []Row) []Row {
	seen := map[string]bool{}
	out := rows[:0]
	for _, r := range rows {
		k := hashRow(r, 0)
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// ---- Materialize (CTEs) ----

// Materialize runs its input once per statement and replays the rows to
// every consumer (a non-recursive CTE referenced several times).
type Materialize struct {
	Input Node
	Name  string
	Cols  []ResultCol
}

func (m *Materialize) Columns() []ResultCol { return m.Cols }
func (m *Materialize) Children() []Node     { return []Node{m.Input} }
func (m *Materialize) Explain() string      { return "cte " + m.Name }
func (m *Materialize) Open(ec *ExecCtx) (RowIter, error) {
	if ec.materialized == nil {
		ec.materialized = map[Node][]Row{}
	}
	rows, ok := ec.materialized[m]
	if !ok {
		var err error
		if rows, err = collectBudget(ec, m.Input); err != nil {
			return nil, err
		}
		ec.materialized[m] = rows
	}
	return &sliceIter{rows: rows}, nil
}

// Rename gives its input new column names (derived table aliases).
type Rename struct {
	Input Node
	Cols  []ResultCol
}

func (r *Rename) Columns() []ResultCol              { return r.Cols }
func (r *Rename) Children() []Node                  { return []Node{r.Input} }
func (r *Rename) Explain() string                   { return "rename" }
func (r *Rename) Open(ec *ExecCtx) (RowIter, error) { return r.Input.Open(ec) }
