package plan

import (
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// scopeCol is a column visible to expressions.
type scopeCol struct {
	table  string // alias or table name, "" for computed columns
	name   string
	t      *types.T
	hidden bool
	// merged: the other half of a USING/NATURAL pair, reachable only
	// qualified.
	merged bool
}

// scope lists the columns of the rows an expression sees, in row order.
// parent is the enclosing query's scope (correlated references).
type scope struct {
	cols   []scopeCol
	parent *scope
	// agg, when set, compiles expressions over the output of a HashAgg.
	agg *aggScope
	// correlated is set when an expression compiled in this scope (or a
	// nested one) referenced a parent scope.
	correlated bool
}

func (s *scope) resolve(table, name string) (idx int, depth int, t *types.T, err error) {
	depth = 0
	for cur := s; cur != nil; cur = cur.parent {
		found := -1
		for i, c := range cur.cols {
			if c.name != name || (table != "" && c.table != table) || (table == "" && c.merged) {
				continue
			}
			if found >= 0 {
				if table == "" {
					return 0, 0, nil, sqlerr.New(sqlerr.AmbiguousColumn, "column reference %q is ambiguous", name)
				}
				return 0, 0, nil, sqlerr.New(sqlerr.AmbiguousColumn, "column reference \"%s.%s\" is ambiguous", table, name)
			}
			found = i
		}
		if found >= 0 {
			if depth > 0 {
				for m := s; m != cur; m = m.parent {
					m.correlated = true
				}
			}
			return found, depth, cur.cols[found].t, nil
		}
		if table != "" && cur.hasTable(table) {
			return 0, 0, nil, sqlerr.New(sqlerr.UndefinedColumn, "column %s.%s does not exist", table, name)
		}
		depth++
	}
	if table != "" {
		if !s.anyHasTable(table) {
			return 0, 0, nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table %q", table)
		}
		return 0, 0, nil, sqlerr.New(sqlerr.UndefinedColumn, "column %s.%s does not exist", table, name)
	}
	return 0, 0, nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", name)
}

func (s *scope) hasTable(t string) bool {
	for _, c := range s.cols {
		if c.table == t {
			return true
		}
	}
	return false
}

func (s *scope) anyHasTable(t string) bool {
	for cur := s; cur != nil; cur = cur.parent {
		if cur.hasTable(t) {
			return true
		}
	}
	return false
}

func scopeFromCols(cols []ResultCol, table string) []scopeCol {
	out := make([]scopeCol, len(cols))
	for i, c := range cols {
		out[i] = scopeCol{table: table, name: c.Name, t: c.T, hidden: c.Hidden}
	}
	return out
}

// aggScope maps expressions over the aggregation input to HashAgg output
// columns: group expressions by their SQL text, aggregate calls likewise.
type aggScope struct {
	groups map[string]int
	aggs   map[string]int
	cols   []scopeCol // the HashAgg output
	input  *scope     // for error messages and nested lookups
}
