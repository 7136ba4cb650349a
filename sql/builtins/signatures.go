package builtins

import (
	"sort"

	"github.com/outpostdb/outpost/sql/types"
)

// Signature describes one declared overload, for pg_proc.
type Signature struct {
	Name      string
	Params    []*types.T // AnyType and AnyElement stand for "any" / anyelement
	Result    *types.T
	Variadic  bool
	Aggregate bool
	Strict    bool
	Volatile  Volatility
}

// Signatures lists every declared function and aggregate overload, sorted
// by name (then declaration order), internal outpost_* helpers excluded.
func Signatures() []Signature {
	var out []Signature
	for name, defs := range funcs {
		if len(name) > 8 && name[:8] == "outpost_" {
			continue
		}
		for _, d := range defs {
			out = append(out, Signature{Name: name, Params: d.params, Result: d.result, Variadic: d.variadic, Strict: d.strict, Volatile: d.vol})
		}
	}
	for name, defs := range aggs {
		for _, d := range defs {
			out = append(out, Signature{Name: name, Params: d.params, Result: d.result, Aggregate: true, Volatile: Immutable})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
