package builtins

import (
	"strings"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Accumulator is the running state of one aggregate over one group.
// Add is called once per input row with the aggregate's arguments (none
// for count(*)), cast to the overload's Args; NULL inputs are passed in
// and the accumulator skips them as PostgreSQL's strict transition
// functions do. Result may be called once, after the last Add; with no
// non-NULL input it returns NULL, except count (0). DISTINCT and ORDER BY
// within an aggregate, and FILTER, are the caller's. An Accumulator is
// used by one goroutine.
type Accumulator interface {
	Add(ctx *types.EvalContext, args ...types.Datum) error
	Result() (types.Datum, error)
}

// AggOverload is an aggregate resolved for its argument types.
type AggOverload struct {
	Name   string
	Args   []*types.T
	Result *types.T
	// New returns a fresh accumulator.
	New func() Accumulator
}

type aggDef struct {
	params []*types.T
	result *types.T // may be AnyElement
	// newAcc builds an accumulator for the resolved argument types.
	newAcc func(args []*types.T) Accumulator
}

var aggs = map[string][]*aggDef{}

func defAgg(name string, params []*types.T, result *types.T, newAcc func(args []*types.T) Accumulator) {
	aggs[name] = append(aggs[name], &aggDef{params: params, result: result, newAcc: newAcc})
}

// LookupAggregate resolves the aggregate name for arguments of the given
// types (count(*) is "count" with no arguments). Resolution is as for
// functions; unknown names or signatures are 42883.
func LookupAggregate(name string, args []*types.T) (*AggOverload, error) {
	name = strings.ToLower(name)
	defs := aggs[name]
	notFound := func() error {
		return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, argList(args)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
	}
	if len(defs) == 0 {
		return nil, notFound()
	}
	sigs := make([]signature, len(defs))
	for i, d := range defs {
		sigs[i] = signature{params: d.params}
	}
	best, ambiguous := resolve(sigs, args)
	if best.idx < 0 {
		return nil, notFound()
	}
	if ambiguous {
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "function %s(%s) is not unique", name, argList(args))
	}
	d := defs[best.idx]
	params := make([]*types.T, len(args))
	for i, p := range best.params {
		if p == AnyType {
			p = args[i]
			if p.Family == types.UnknownFamily {
				p = types.Text
			}
		}
		params[i] = p
	}
	res := d.result
	if res == AnyElement {
		res = best.poly
	}
	return &AggOverload{Name: name, Args: params, Result: res, New: func() Accumulator { return d.newAcc(params) }}, nil
}

// count

type countAcc struct {
	star bool
	n    int64
}

func (a *countAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if a.star || (len(args) > 0 && args[0] != types.Null) {
		a.n++
	}
	return nil
}

func (a *countAcc) Result() (types.Datum, error) { return types.DInt(a.n), nil }

// sum and avg over ints: exact in int64 while it fits, then numeric.

type intSumAcc struct {
	sum     int64
	big     *types.DDecimal // non-nil once int64 overflowed
	count   int64
	result  string // "int8", "numeric", "avg"
	nonNull bool
}

func (a *intSumAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	v := int64(args[0].(types.DInt))
	a.nonNull = true
	a.count++
	if a.big == nil {
		if r, ok := addOK(a.sum, v); ok {
			a.sum = r
			return nil
		}
		a.big = types.DecimalFromInt(a.sum)
	}
	s, err := numAdd(a.big, types.DecimalFromInt(v), false)
	if err != nil {
		return err
	}
	a.big = s
	return nil
}

func (a *intSumAcc) total() *types.DDecimal {
	if a.big != nil {
		return a.big
	}
	return types.DecimalFromInt(a.sum)
}

func (a *intSumAcc) Result() (types.Datum, error) {
	if !a.nonNull {
		return types.Null, nil
	}
	switch a.result {
	case "int8":
		if a.big != nil {
			return nil, types.ErrIntOutOfRange(64)
		}
		return types.DInt(a.sum), nil
	case "avg":
		return numDiv(a.total(), types.DecimalFromInt(a.count))
	}
	return a.total(), nil
}

type floatSumAcc struct {
	sum     float64
	count   int64
	w       int32
	avg     bool
	nonNull bool
}

func (a *floatSumAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	a.nonNull = true
	a.count++
	v := float64(args[0].(types.DFloat))
	r, err := floatOp('+', a.sum, v, a.w)
	if err != nil {
		return err
	}
	a.sum = r
	return nil
}

func (a *floatSumAcc) Result() (types.Datum, error) {
	if !a.nonNull {
		return types.Null, nil
	}
	if a.avg {
		return types.DFloat(a.sum / float64(a.count)), nil
	}
	return types.DFloat(a.sum), nil
}

type numSumAcc struct {
	sum   *types.DDecimal
	count int64
	avg   bool
}

func (a *numSumAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	v := args[0].(*types.DDecimal)
	a.count++
	if a.sum == nil {
		a.sum = v
		return nil
	}
	s, err := numAdd(a.sum, v, false)
	if err != nil {
		return err
	}
	a.sum = s
	return nil
}

func (a *numSumAcc) Result() (types.Datum, error) {
	if a.sum == nil {
		return types.Null, nil
	}
	if a.avg {
		return numDiv(a.sum, types.DecimalFromInt(a.count))
	}
	return a.sum, nil
}

type intervalSumAcc struct {
	sum     types.DInterval
	count   int64
	avg     bool
	nonNull bool
}

func (a *intervalSumAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	a.nonNull = true
	a.count++
	s, err := ivAdd(a.sum, args[0].(types.DInterval))
	if err != nil {
		return err
	}
	a.sum = s
	return nil
}

func (a *intervalSumAcc) Result() (types.Datum, error) {
	if !a.nonNull {
		return types.Null, nil
	}
	if a.avg {
		return ivMul(a.sum, float64(a.count), true)
	}
	return a.sum, nil
}

// min and max

type minMaxAcc struct {
	best types.Datum
	sign int
	cmp  func(a, b types.Datum) (int, error)
}

func (a *minMaxAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	v := args[0]
	if v == types.Null {
		return nil
	}
	if a.best == nil {
		a.best = v
		return nil
	}
	c, err := a.cmp(v, a.best)
	if err != nil {
		return err
	}
	if c*a.sign >= 0 { // ties take the later value, as PostgreSQL
		a.best = v
	}
	return nil
}

func (a *minMaxAcc) Result() (types.Datum, error) {
	if a.best == nil {
		return types.Null, nil
	}
	return a.best, nil
}

type boolAcc struct {
	and     bool
	val     bool
	nonNull bool
}

func (a *boolAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	v := bool(args[0].(types.DBool))
	if !a.nonNull {
		a.val, a.nonNull = v, true
	} else if a.and {
		a.val = a.val && v
	} else {
		a.val = a.val || v
	}
	return nil
}

func (a *boolAcc) Result() (types.Datum, error) {
	if !a.nonNull {
		return types.Null, nil
	}
	return types.DBool(a.val), nil
}

// stringAgg: each value after the first is preceded by its own row's
// delimiter (a NULL delimiter counts as empty), as in PostgreSQL.
type stringAggAcc struct {
	b       strings.Builder
	nonNull bool
	bytes   bool
}

func (a *stringAggAcc) Add(_ *types.EvalContext, args ...types.Datum) error {
	if args[0] == types.Null {
		return nil
	}
	if a.nonNull && args[1] != types.Null {
		a.b.WriteString(datumString(args[1]))
	}
	a.nonNull = true
	a.b.WriteString(datumString(args[0]))
	if a.b.Len() > maxStringResultBytes {
		return errTooLarge()
	}
	return nil
}

func datumString(d types.Datum) string {
	switch v := d.(type) {
	case types.DString:
		return string(v)
	case types.DBytes:
		return string(v)
	}
	return d.String()
}

func (a *stringAggAcc) Result() (types.Datum, error) {
	if !a.nonNull {
		return types.Null, nil
	}
	if a.bytes {
		return types.DBytes(a.b.String()), nil
	}
	return types.DString(a.b.String()), nil
}

func registerAggregates() {
	I2, I4, I8, F4, F8, N, IV := types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric, types.Interval
	defAgg("count", nil, I8, func([]*types.T) Accumulator { return &countAcc{star: true} })
	// array_agg: arrays are carried in text form (see types.ParseArrayText).
	defAgg("array_agg", ts(AnyType), types.Text, func(args []*types.T) Accumulator { return &arrayAggAcc{t: args[0]} })
	defAgg("count", ts(AnyType), I8, func([]*types.T) Accumulator { return &countAcc{} })
	for _, t := range []*types.T{I2, I4} {
		defAgg("sum", ts(t), I8, func([]*types.T) Accumulator { return &intSumAcc{result: "int8"} })
	}
	defAgg("sum", ts(I8), N, func([]*types.T) Accumulator { return &intSumAcc{result: "numeric"} })
	defAgg("sum", ts(F4), F4, func([]*types.T) Accumulator { return &floatSumAcc{w: 32} })
	defAgg("sum", ts(F8), F8, func([]*types.T) Accumulator { return &floatSumAcc{w: 64} })
	defAgg("sum", ts(N), N, func([]*types.T) Accumulator { return &numSumAcc{} })
	defAgg("sum", ts(IV), IV, func([]*types.T) Accumulator { return &intervalSumAcc{} })
	for _, t := range []*types.T{I2, I4, I8} {
		defAgg("avg", ts(t), N, func([]*types.T) Accumulator { return &intSumAcc{result: "avg"} })
	}
	for _, t := range []*types.T{F4, F8} {
		defAgg("avg", ts(t), F8, func([]*types.T) Accumulator { return &floatSumAcc{w: 64, avg: true} })
	}
	defAgg("avg", ts(N), N, func([]*types.T) Accumulator { return &numSumAcc{avg: true} })
	defAgg("avg", ts(IV), IV, func([]*types.T) Accumulator { return &intervalSumAcc{avg: true} })
	for _, name := range []string{"min", "max"} {
		sign := 1
		if name == "min" {
			sign = -1
		}
		defAgg(name, ts(AnyElement), AnyElement, func(args []*types.T) Accumulator {
			cmp := types.Compare
			if args[0].Oid() == types.OidBpchar {
				cmp = compareBpchar
			}
			return &minMaxAcc{sign: sign, cmp: cmp}
		})
	}
	defAgg("bool_and", ts(types.Bool), types.Bool, func([]*types.T) Accumulator { return &boolAcc{and: true} })
	defAgg("every", ts(types.Bool), types.Bool, func([]*types.T) Accumulator { return &boolAcc{and: true} })
	defAgg("bool_or", ts(types.Bool), types.Bool, func([]*types.T) Accumulator { return &boolAcc{} })
	defAgg("string_agg", ts(types.Text, types.Text), types.Text, func([]*types.T) Accumulator { return &stringAggAcc{} })
	defAgg("string_agg", ts(types.Bytea, types.Bytea), types.Bytea, func([]*types.T) Accumulator { return &stringAggAcc{bytes: true} })
}
