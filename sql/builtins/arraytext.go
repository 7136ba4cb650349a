package builtins

import (
	"strconv"
	"strings"

	"github.com/outpostdb/outpost/sql/types"
)

// Array functions over arrays in their text form (Outpost has no array
// type yet; see types.ParseArrayText and sql/plan/arrays.go).

func init() {
	join := func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == types.Null || a[1] == types.Null {
			return types.Null, nil
		}
		elems, err := types.ParseArrayText(string(a[0].(types.DString)))
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, e := range elems {
			if e == nil {
				if len(a) > 2 && a[2] != types.Null {
					parts = append(parts, string(a[2].(types.DString)))
				}
				continue
			}
			parts = append(parts, *e)
		}
		return types.DString(strings.Join(parts, string(a[1].(types.DString)))), nil
	}
	def("array_to_string", []*types.T{types.Text, types.Text}, types.Text, join)
	def("array_to_string", []*types.T{types.Text, types.Text, types.Text}, types.Text, join, nonStrict)
	// length, lower and upper bound of dimension 1 (the only one); NULL
	// for an empty array or another dimension, as in PostgreSQL.
	dim := func(f func(n int) int) func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			elems, err := types.ParseArrayText(string(a[0].(types.DString)))
			if err != nil {
				return nil, err
			}
			if len(elems) == 0 || a[1] != types.DInt(1) {
				return types.Null, nil
			}
			return types.DInt(f(len(elems))), nil
		}
	}
	def("array_length", []*types.T{types.Text, types.Int4}, types.Int4, dim(func(n int) int { return n }))
	def("array_upper", []*types.T{types.Text, types.Int4}, types.Int4, dim(func(n int) int { return n }))
	def("array_lower", []*types.T{types.Text, types.Int4}, types.Int4, dim(func(int) int { return 1 }))
	def("cardinality", []*types.T{types.Text}, types.Int4, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		elems, err := types.ParseArrayText(string(a[0].(types.DString)))
		if err != nil {
			return nil, err
		}
		return types.DInt(len(elems)), nil
	})
}

// arrayAggAcc is array_agg(x): the inputs, NULLs included, as an array in
// text form (NULL when there are no rows).
type arrayAggAcc struct {
	t     *types.T
	elems []*string
	size  int
}

func (a *arrayAggAcc) Add(ctx *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		a.elems = append(a.elems, nil)
		return nil
	}
	var loc = ctx.Location
	v := string(types.AppendText(nil, a.t, args[0], loc))
	a.size += len(v) + 1
	if a.size > maxStringResultBytes {
		return errTooLarge()
	}
	a.elems = append(a.elems, &v)
	return nil
}

func (a *arrayAggAcc) Result() (types.Datum, error) {
	if a.elems == nil {
		return types.Null, nil
	}
	return types.DString(types.FormatArrayText(a.elems)), nil
}

func init() {
	// pg_size_pretty: bytes, then kB, MB, GB, TB, PB (1024-based), rounded
	// half away from zero, switching unit at 10240 of the smaller one as
	// PostgreSQL 15 does.
	def("pg_size_pretty", []*types.T{types.Int8}, types.Text, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.DString(sizePretty(int64(a[0].(types.DInt)))), nil
	})
}

func sizePretty(size int64) string {
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	half := func(v int64) int64 {
		if v < 0 {
			return (v - 1) / 2
		}
		return (v + 1) / 2
	}
	const limit = 10 * 1024
	const limit2 = limit*2 - 1
	if abs(size) < limit {
		return strconv.FormatInt(size, 10) + " bytes"
	}
	size >>= 9 // keep one extra bit for rounding
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		if abs(size) < limit2 {
			return strconv.FormatInt(half(size), 10) + " " + unit
		}
		size >>= 10
	}
	return strconv.FormatInt(half(size), 10) + " PB"
}
