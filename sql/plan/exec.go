package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// SequenceAccess serves nextval/currval/setval for a session.
type SequenceAccess interface {
	Call(ec *ExecCtx, name string, args []types.Datum) (types.Datum, error)
}

// ExecCtx is the state of one statement execution. Not goroutine-safe.
type ExecCtx struct {
	Ctx       context.Context
	Txn       *kv.Txn
	Eval      *types.EvalContext
	Params    []types.Datum
	Sequences SequenceAccess
	// MemoryBudget bounds the bytes a sort, hash table or materialization
	// of this statement may hold; past it the statement fails with 53200.
	MemoryBudget int64

	memUsed       int64
	outer         []Row
	subqueryCache map[*Subquery][]Row
	materialized  map[Node][]Row
}

// reserve accounts for bytes of buffered rows.
func (ec *ExecCtx) reserve(n int64) error {
	ec.memUsed += n
	if ec.MemoryBudget > 0 && ec.memUsed > ec.MemoryBudget {
		return sqlerr.New(sqlerr.OutOfMemory, "statement exceeded its memory budget of %d bytes", ec.MemoryBudget).
			WithHint("add a LIMIT, a more selective WHERE clause, or an index that provides the order")
	}
	return nil
}

func (ec *ExecCtx) release(n int64) { ec.memUsed -= n }

func rowSize(r Row) int64 {
	n := int64(24 + 16*len(r))
	for _, d := range r {
		switch v := d.(type) {
		case types.DString:
			n += int64(len(v))
		case types.DBytes:
			n += int64(len(v))
		}
	}
	return n
}

// ResultCol is one output column of a node.
type ResultCol struct {
	Name string
	T    *types.T
	// Table and Column identify a column read straight from a table (for
	// RowDescription's table OID and attribute number); zero otherwise.
	TableID  uint64
	ColumnID uint32
	Hidden   bool
}

// Node is an immutable plan node.
type Node interface {
	Columns() []ResultCol
	// Open starts an execution. The iterator is the caller's to Close.
	Open(ec *ExecCtx) (RowIter, error)
	Children() []Node
	// Explain describes the node on one line (without children).
	Explain() string
}

// RowIter produces rows. Next returns nil, nil when done. Rows returned
// may be retained by the caller.
type RowIter interface {
	Next() (Row, error)
	Close()
}

// collect runs a plan to completion (or to the first row when firstOnly, or
// the second for scalar subqueries to detect cardinality errors).
func collect(ec *ExecCtx, n Node, few bool) ([]Row, error) {
	it, err := n.Open(ec)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var rows []Row
	for {
		if err := ec.Ctx.Err(); err != nil {
			return nil, err
		}
		r, err := it.Next()
		if err != nil {
			return nil, err
		}
		if r == nil {
			return rows, nil
		}
		rows = append(rows, r)
		if few && len(rows) > 1 {
			return rows, nil
		}
	}
}

// Explain renders a plan tree.
func Explain(n Node) []string {
	var out []string
	var walk func(n Node, prefix, branch string)
	walk = func(n Node, prefix, branch string) {
		out = append(out, prefix+branch+n.Explain())
		kids := n.Children()
		childPrefix := prefix
		switch branch {
		case "├── ":
			childPrefix += "│   "
		case "└── ":
			childPrefix += "    "
		}
		for i, c := range kids {
			b := "├── "
			if i == len(kids)-1 {
				b = "└── "
			}
			walk(c, childPrefix, b)
		}
	}
	walk(n, "", "")
	return out
}

func exprList(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// sliceIter iterates over buffered rows.
type sliceIter struct {
	rows []Row
	i    int
	ec   *ExecCtx
	mem  int64
}

func (s *sliceIter) Next() (Row, error) {
	if s.i >= len(s.rows) {
		return nil, nil
	}
	r := s.rows[s.i]
	s.i++
	return r, nil
}

func (s *sliceIter) Close() {
	if s.ec != nil {
		s.ec.release(s.mem)
		s.mem = 0
	}
}

// errNoRows is returned by helpers expecting rows; it never reaches users.
var errNoRows = fmt.Errorf("plan: no rows")
