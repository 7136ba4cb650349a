package builtins

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// FuncOverload is a function resolved for one call by LookupFunction.
//
// Args has one entry per argument of the call: the planner casts argument
// i to Args[i] (variadic parameters are expanded, polymorphic ones
// replaced by the resolved type, and parameters of pseudo-type "any" set
// to the argument's own type, or text for an unknown literal).
type FuncOverload struct {
	Name   string
	Args   []*types.T
	Result *types.T
	// Variadic is set if the last declared parameter repeats.
	Variadic bool
	// Strict functions return NULL when any argument is NULL; Call does
	// this and Fn then never sees Null.
	Strict     bool
	Volatility Volatility
	// Fn computes the result from arguments cast to Args. Errors are
	// *sqlerr.Error.
	Fn func(ctx *types.EvalContext, args []types.Datum) (types.Datum, error)
}

// Call evaluates the function, handling strictness.
func (f *FuncOverload) Call(ctx *types.EvalContext, args []types.Datum) (types.Datum, error) {
	if f.Strict {
		for _, a := range args {
			if a == types.Null {
				return types.Null, nil
			}
		}
	}
	return f.Fn(ctx, args)
}

// funcDef is a declared overload.
type funcDef struct {
	params   []*types.T
	variadic bool
	result   *types.T // may be AnyElement
	strict   bool
	vol      Volatility
	// Exactly one of fn and typedFn is set; typedFn also receives the
	// call's argument types (for "any" parameters).
	fn      func(ctx *types.EvalContext, args []types.Datum) (types.Datum, error)
	typedFn func(ctx *types.EvalContext, argTypes []*types.T, args []types.Datum) (types.Datum, error)
}

var funcs = map[string][]*funcDef{}

type fnOpt func(*funcDef)

var (
	volatile  fnOpt = func(d *funcDef) { d.vol = Volatile }
	stable    fnOpt = func(d *funcDef) { d.vol = Stable }
	nonStrict fnOpt = func(d *funcDef) { d.strict = false }
	variadic  fnOpt = func(d *funcDef) { d.variadic = true }
)

// def registers a strict immutable function unless opts say otherwise.
func def(name string, params []*types.T, result *types.T, fn func(ctx *types.EvalContext, args []types.Datum) (types.Datum, error), opts ...fnOpt) {
	d := &funcDef{params: params, result: result, strict: true, vol: Immutable, fn: fn}
	for _, o := range opts {
		o(d)
	}
	funcs[name] = append(funcs[name], d)
}

func defTyped(name string, params []*types.T, result *types.T, fn func(ctx *types.EvalContext, argTypes []*types.T, args []types.Datum) (types.Datum, error), opts ...fnOpt) {
	d := &funcDef{params: params, result: result, strict: true, vol: Immutable, typedFn: fn}
	for _, o := range opts {
		o(d)
	}
	funcs[name] = append(funcs[name], d)
}

// LookupFunction resolves a call of the function name (case-insensitive)
// with arguments of the given types, as PostgreSQL does (exact match, then
// implicit casts, preferred types, unknown literals as text; see resolve).
// An unknown name or no matching overload is 42883 `function foo(integer)
// does not exist`; a tie is 42725. COALESCE, NULLIF, GREATEST and LEAST
// are provided as functions too (greatest/least skip NULLs as in
// PostgreSQL), though a planner may treat the first two specially.
func LookupFunction(name string, args []*types.T) (*FuncOverload, error) {
	name = strings.ToLower(name)
	defs := funcs[name]
	notFound := func() error {
		return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, argList(args)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
	}
	if len(defs) == 0 {
		return nil, notFound()
	}
	sigs := make([]signature, len(defs))
	for i, d := range defs {
		sigs[i] = signature{params: d.params, variadic: d.variadic}
	}
	best, ambiguous := resolve(sigs, args)
	if best.idx < 0 {
		return nil, notFound()
	}
	if ambiguous {
		return nil, sqlerr.New(sqlerr.AmbiguousFunction, "function %s(%s) is not unique", name, argList(args)).
			WithHint("Could not choose a best candidate function. You might need to add explicit type casts.")
	}
	d := defs[best.idx]
	argTypes := make([]*types.T, len(args))
	for i, p := range best.params {
		switch {
		case p == AnyType && args[i].Family == types.UnknownFamily:
			argTypes[i] = types.Text
		case p == AnyType:
			argTypes[i] = args[i]
		default:
			argTypes[i] = p
		}
	}
	res := d.result
	if res == AnyElement {
		res = best.poly
		if res == nil {
			res = types.Text
		}
	}
	fo := &FuncOverload{Name: name, Args: argTypes, Result: res, Variadic: d.variadic, Strict: d.strict, Volatility: d.vol, Fn: d.fn}
	if d.typedFn != nil {
		tf := d.typedFn
		fo.Fn = func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) { return tf(ctx, argTypes, a) }
	}
	return fo, nil
}

// CallFunction resolves name for the arguments' resolved types, casts them
// and calls it: a convenience for tests and constant folding.
func CallFunction(ctx *types.EvalContext, name string, args ...types.Datum) (types.Datum, error) {
	ts := make([]*types.T, len(args))
	for i, a := range args {
		ts[i] = a.ResolvedType()
	}
	f, err := LookupFunction(name, ts)
	if err != nil {
		return nil, err
	}
	cast := make([]types.Datum, len(args))
	for i, a := range args {
		if cast[i], err = coerce(ctx, a, f.Args[i]); err != nil {
			return nil, err
		}
	}
	return f.Call(ctx, cast)
}

func dint(d types.Datum) int64           { return int64(d.(types.DInt)) }
func dfloat(d types.Datum) float64       { return float64(d.(types.DFloat)) }
func ddec(d types.Datum) *types.DDecimal { return d.(*types.DDecimal) }
func ts(params ...*types.T) []*types.T   { return params }
func okS(s string) (types.Datum, error)  { return types.DString(s), nil }
func okI(i int64) (types.Datum, error)   { return types.DInt(i), nil }
func okF(f float64) (types.Datum, error) { return types.DFloat(f), nil }
func okB(b bool) (types.Datum, error)    { return types.DBool(b), nil }
func strOrErr(s string, err error) (types.Datum, error) {
	if err != nil {
		return nil, err
	}
	return types.DString(s), nil
}

func init() {
	registerIntOps()
	registerFloatOps()
	registerNumericOps()
	registerCompareOps()
	registerStringOps()
	registerDateTimeOps()
	registerJSONOps()
	registerStringFuncs()
	registerMathFuncs()
	registerDateTimeFuncs()
	registerJSONFuncs()
	registerMiscFuncs()
	registerAggregates()
}

func registerStringFuncs() {
	T, I, B, BP := types.Text, types.Int4, types.Bytea, types.Bpchar
	length := func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okI(int64(utf8.RuneCountInString(str(a[0]))))
	}
	bpLength := func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okI(int64(utf8.RuneCountInString(strings.TrimRight(str(a[0]), " "))))
	}
	for _, n := range []string{"length", "char_length", "character_length"} {
		def(n, ts(T), I, length)
		def(n, ts(BP), I, bpLength)
	}
	def("length", ts(B), I, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okI(int64(len(a[0].(types.DBytes))))
	})
	def("octet_length", ts(T), I, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okI(int64(len(str(a[0])))) })
	def("octet_length", ts(B), I, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okI(int64(len(a[0].(types.DBytes))))
	})
	def("lower", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(strings.ToLower(str(a[0])))
	})
	def("upper", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(strings.ToUpper(str(a[0])))
	})
	def("initcap", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okS(initcap(str(a[0]))) })
	for _, n := range []string{"substring", "substr"} {
		def(n, ts(T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return strOrErr(substrRunes(str(a[0]), dint(a[1]), 0, false))
		})
		def(n, ts(T, I, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return strOrErr(substrRunes(str(a[0]), dint(a[1]), dint(a[2]), true))
		})
		def(n, ts(B, I), B, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			s, err := substrBytes(string(a[0].(types.DBytes)), dint(a[1]), 0, false)
			return types.DBytes(s), err
		})
		def(n, ts(B, I, I), B, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			s, err := substrBytes(string(a[0].(types.DBytes)), dint(a[1]), dint(a[2]), true)
			return types.DBytes(s), err
		})
	}
	// position(string, substring): POSITION(sub IN s) is position(s, sub).
	for _, n := range []string{"strpos", "position"} {
		def(n, ts(T, T), I, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return okI(strpos(str(a[0]), str(a[1])))
		})
	}
	// trim is PostgreSQL's TRIM(...) syntax in function-call form:
	// trim(s) and trim(s, chars) are btrim.
	trims := []struct {
		name        string
		left, right bool
	}{{"btrim", true, true}, {"trim", true, true}, {"ltrim", true, false}, {"rtrim", false, true}}
	for _, tr := range trims {
		tr := tr
		def(tr.name, ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return okS(trimSet(str(a[0]), " ", tr.left, tr.right))
		})
		def(tr.name, ts(T, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return okS(trimSet(str(a[0]), str(a[1]), tr.left, tr.right))
		})
	}
	def("replace", ts(T, T, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		from := str(a[1])
		if from == "" {
			return a[0], nil
		}
		return okS(strings.ReplaceAll(str(a[0]), from, str(a[2])))
	})
	def("translate", ts(T, T, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(translate(str(a[0]), str(a[1]), str(a[2])))
	})
	defTyped("concat", ts(AnyType), T, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
		var b strings.Builder
		for i, v := range a {
			if v != types.Null {
				b.WriteString(outTextTyped(v, at[i], ctx))
			}
		}
		return okS(b.String())
	}, variadic, nonStrict, stable)
	defTyped("concat_ws", ts(T, AnyType), T, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
		if a[0] == types.Null {
			return types.Null, nil
		}
		sep := str(a[0])
		var b strings.Builder
		first := true
		for i, v := range a[1:] {
			if v == types.Null {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(outTextTyped(v, at[i+1], ctx))
		}
		return okS(b.String())
	}, variadic, nonStrict, stable)
	def("left", ts(T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(leftRunes(str(a[0]), dint(a[1])))
	})
	def("right", ts(T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(rightRunes(str(a[0]), dint(a[1])))
	})
	for _, p := range []struct {
		name string
		left bool
	}{{"lpad", true}, {"rpad", false}} {
		p := p
		def(p.name, ts(T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return strOrErr(pad(str(a[0]), dint(a[1]), " ", p.left))
		})
		def(p.name, ts(T, I, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return strOrErr(pad(str(a[0]), dint(a[1]), str(a[2]), p.left))
		})
	}
	def("repeat", ts(T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		s, n := str(a[0]), dint(a[1])
		if n <= 0 || s == "" {
			return okS("")
		}
		if int64(len(s))*n > maxStringResultBytes {
			return nil, errTooLarge()
		}
		return okS(strings.Repeat(s, int(n)))
	})
	def("reverse", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		rs := []rune(str(a[0]))
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		return okS(string(rs))
	})
	def("split_part", ts(T, T, I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return strOrErr(splitPart(str(a[0]), str(a[1]), dint(a[2])))
	})
	def("md5", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(md5Hex([]byte(str(a[0]))))
	})
	def("md5", ts(B), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(md5Hex([]byte(a[0].(types.DBytes))))
	})
	def("sha256", ts(B), B, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.DBytes(sha256Bytes([]byte(a[0].(types.DBytes)))), nil
	})
	def("starts_with", ts(T, T), types.Bool, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okB(strings.HasPrefix(str(a[0]), str(a[1])))
	})
	def("to_hex", ts(types.Int4), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(strings.ToLower(hexU(uint64(uint32(dint(a[0]))))))
	})
	def("to_hex", ts(types.Int8), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okS(hexU(uint64(dint(a[0]))))
	})
	def("ascii", ts(T), I, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		s := str(a[0])
		if s == "" {
			return okI(0)
		}
		r, _ := utf8.DecodeRuneInString(s)
		return okI(int64(r))
	})
	def("chr", ts(I), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return strOrErr(chr(dint(a[0]))) })
	defTyped("format", ts(T), T, format, nonStrict, stable)
	defTyped("format", ts(T, AnyType), T, format, variadic, nonStrict, stable)
	def("quote_ident", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okS(QuoteIdent(str(a[0]))) })
	def("quote_literal", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okS(QuoteLiteral(str(a[0]))) })
	def("quote_nullable", ts(T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == types.Null {
			return okS("NULL")
		}
		return okS(QuoteLiteral(str(a[0])))
	}, nonStrict)
	def("encode", ts(B, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return strOrErr(encode([]byte(a[0].(types.DBytes)), str(a[1])))
	})
	def("decode", ts(T, T), B, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		b, err := decode(str(a[0]), str(a[1]))
		return types.DBytes(b), err
	})
}

func hexU(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var buf [16]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = digits[v&0xf]
		v >>= 4
	}
	return string(buf[i:])
}

func registerMathFuncs() {
	I2, I4, I8, F4, F8, N := types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric
	for _, t := range []*types.T{I2, I4, I8} {
		w := width(t)
		def("abs", ts(t), t, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return intAbs(a[0], w) })
		def("mod", ts(t, t), t, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			v, err := intMod(dint(a[0]), dint(a[1]))
			return types.DInt(v), err
		})
	}
	for _, t := range []*types.T{F4, F8} {
		def("abs", ts(t), t, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okF(math.Abs(dfloat(a[0]))) })
	}
	def("abs", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return numAbs(ddec(a[0])), nil })
	def("mod", ts(N, N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return numMod(ddec(a[0]), ddec(a[1]))
	})
	for _, n := range []string{"ceil", "ceiling"} {
		def(n, ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okF(math.Ceil(dfloat(a[0]))) })
		def(n, ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return numRoundMode(ddec(a[0]), apd.RoundCeiling)
		})
	}
	def("floor", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okF(math.Floor(dfloat(a[0]))) })
	def("floor", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return numRoundMode(ddec(a[0]), apd.RoundFloor)
	})
	// round(float8) rounds half to even (rint), round(numeric) half away
	// from zero, as in PostgreSQL.
	def("round", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okF(math.RoundToEven(dfloat(a[0])))
	})
	def("round", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.RoundDecimal(ddec(a[0]), 0), nil
	})
	def("round", ts(N, I4), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.RoundDecimal(ddec(a[0]), clampRoundScale(dint(a[1]))), nil
	})
	def("trunc", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okF(math.Trunc(dfloat(a[0]))) })
	def("trunc", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.TruncDecimal(ddec(a[0]), 0), nil
	})
	def("trunc", ts(N, I4), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return types.TruncDecimal(ddec(a[0]), clampRoundScale(dint(a[1]))), nil
	})
	def("sign", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		f := dfloat(a[0])
		switch {
		case f > 0:
			return okF(1)
		case f < 0:
			return okF(-1)
		}
		return okF(0)
	})
	def("sign", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		d := ddec(a[0])
		if isNaN(d) {
			return d, nil
		}
		if d.Form == apd.Finite && d.Coeff.Sign() == 0 {
			return types.DecimalFromInt(0), nil
		}
		if d.Negative {
			return types.DecimalFromInt(-1), nil
		}
		return types.DecimalFromInt(1), nil
	})
	def("sqrt", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		f := dfloat(a[0])
		if f < 0 {
			return nil, sqlerr.New(codeInvalidPower, "cannot take square root of a negative number")
		}
		return okF(math.Sqrt(f))
	})
	def("sqrt", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return numSqrt(ddec(a[0])) })
	def("cbrt", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return okF(math.Cbrt(dfloat(a[0]))) })
	for _, n := range []string{"power", "pow"} {
		def(n, ts(F8, F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			v, err := floatPow(dfloat(a[0]), dfloat(a[1]))
			return types.DFloat(v), err
		})
		def(n, ts(N, N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return numPow(ddec(a[0]), ddec(a[1]))
		})
	}
	def("exp", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		f := dfloat(a[0])
		r := math.Exp(f)
		if err := types.CheckFloatResult(r, math.IsInf(f, 1), math.IsInf(f, -1)); err != nil {
			return nil, err
		}
		return okF(r)
	})
	def("exp", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return numExp(ddec(a[0])) })
	floatLog := func(f float64, log func(float64) float64) (types.Datum, error) {
		switch {
		case f == 0:
			return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of zero")
		case f < 0:
			return nil, sqlerr.New(codeInvalidLog, "cannot take logarithm of a negative number")
		}
		return okF(log(f))
	}
	def("ln", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return floatLog(dfloat(a[0]), math.Log)
	})
	def("ln", ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) { return numLn(ddec(a[0])) })
	for _, n := range []string{"log", "log10"} {
		def(n, ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return floatLog(dfloat(a[0]), math.Log10)
		})
		def(n, ts(N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return numLog(types.DecimalFromInt(10), ddec(a[0]))
		})
	}
	def("log", ts(N, N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return numLog(ddec(a[0]), ddec(a[1]))
	})
	def("pi", nil, F8, func(_ *types.EvalContext, _ []types.Datum) (types.Datum, error) { return okF(math.Pi) })
	def("random", nil, F8, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) { return okF(ctx.Float64()) }, volatile)
	def("degrees", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okF(dfloat(a[0]) * 180 / math.Pi)
	})
	def("radians", ts(F8), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return okF(dfloat(a[0]) * math.Pi / 180)
	})
	def("div", ts(N, N), N, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		x, y := ddec(a[0]), ddec(a[1])
		if isNaN(x) || isNaN(y) {
			return decNaN(), nil
		}
		if !isInf(y) && y.Coeff.Sign() == 0 {
			return nil, errDivByZero()
		}
		if isInf(x) || isInf(y) {
			q, err := numDiv(x, y)
			if err != nil {
				return nil, err
			}
			return types.TruncDecimal(q, 0), nil
		}
		return newDec(quoRound(&x.Decimal, &y.Decimal, 0, true))
	})
	// greatest/least: the common type of the arguments, NULLs ignored.
	for _, n := range []string{"greatest", "least"} {
		sign := 1
		if n == "least" {
			sign = -1
		}
		def(n, ts(AnyElement), AnyElement, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			var best types.Datum = types.Null
			for _, v := range a {
				if v == types.Null {
					continue
				}
				if best == types.Null {
					best = v
					continue
				}
				c, err := types.Compare(v, best)
				if err != nil {
					return nil, err
				}
				if c*sign > 0 {
					best = v
				}
			}
			return best, nil
		}, variadic, nonStrict)
	}
	def("coalesce", ts(AnyElement), AnyElement, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		for _, v := range a {
			if v != types.Null {
				return v, nil
			}
		}
		return types.Null, nil
	}, variadic, nonStrict)
	def("nullif", ts(AnyElement, AnyElement), AnyElement, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		if a[0] == types.Null || a[1] == types.Null {
			return a[0], nil
		}
		c, err := types.Compare(a[0], a[1])
		if err != nil {
			return nil, err
		}
		if c == 0 {
			return types.Null, nil
		}
		return a[0], nil
	}, nonStrict)
}

// clampRoundScale bounds round()/trunc()'s scale argument as PostgreSQL.
func clampRoundScale(s int64) int32 {
	return int32(min(max(s, -types.MaxDisplayScale*100), types.MaxDisplayScale))
}

// numRoundMode is ceil/floor for numeric: an integer result (scale 0).
func numRoundMode(d *types.DDecimal, mode apd.Rounder) (types.Datum, error) {
	if d.Form != apd.Finite {
		return d, nil
	}
	t := types.TruncDecimal(d, 0)
	if t.Cmp(&d.Decimal) != 0 {
		up := (mode == apd.RoundCeiling && !d.Negative) || (mode == apd.RoundFloor && d.Negative)
		if up {
			one := types.DecimalFromInt(1)
			if d.Negative {
				one = types.DecimalFromInt(-1)
			}
			return numAdd(t, one, false)
		}
	}
	return t, nil
}

func registerDateTimeFuncs() {
	T, D, TS, TZ, IV, F8, I := types.Text, types.Date, types.Timestamp, types.TimestampTZ, types.Interval, types.Float8, types.Int4
	now := func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.MakeDTimestampTZ(ctx.TxnTime()), nil
	}
	for _, n := range []string{"now", "current_timestamp", "transaction_timestamp"} {
		def(n, nil, TZ, now, stable)
	}
	def("statement_timestamp", nil, TZ, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.MakeDTimestampTZ(ctx.StmtTime()), nil
	}, stable)
	def("clock_timestamp", nil, TZ, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.MakeDTimestampTZ(ctx.ClockTime()), nil
	}, volatile)
	def("current_date", nil, D, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.DateFromTime(ctx.TxnTime().In(ctx.Loc())), nil
	}, stable)
	def("localtimestamp", nil, TS, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		return types.MakeDTimestamp(ctx.TxnTime().In(ctx.Loc())), nil
	}, stable)
	def("date_trunc", ts(T, TS), TS, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return dateTrunc(str(a[0]), a[1], TS, ctx)
	})
	def("date_trunc", ts(T, TZ), TZ, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return dateTrunc(str(a[0]), a[1], TZ, ctx)
	}, stable)
	def("date_trunc", ts(T, IV), IV, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return intervalTrunc(str(a[0]), a[1].(types.DInterval))
	})
	for _, t := range []*types.T{D, TS, TZ} {
		t := t
		vol := []fnOpt{}
		if t == TZ {
			vol = append(vol, stable)
		}
		def("extract", ts(T, t), types.Numeric, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return extractTimestamp(str(a[0]), a[1], t, ctx)
		}, vol...)
		pt := t
		if t == D {
			pt = TS // date_part(text, date) is date_part(text, timestamp)
		}
		def("date_part", ts(T, t), F8, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
			v := a[1]
			if d, ok := v.(types.DDate); ok {
				c, err := types.CastFrom(d, D, TS, true, ctx)
				if err != nil {
					return nil, err
				}
				v = c
			}
			return datePart(extractTimestamp(str(a[0]), v, pt, ctx))
		}, vol...)
	}
	def("extract", ts(T, IV), types.Numeric, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return extractInterval(str(a[0]), a[1].(types.DInterval))
	})
	def("date_part", ts(T, IV), F8, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return datePart(extractInterval(str(a[0]), a[1].(types.DInterval)))
	})
	def("age", ts(TS, TS), IV, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return age(tsMicros(a[0]), tsMicros(a[1]))
	})
	def("age", ts(TZ, TZ), IV, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return age(localWall(a[0], ctx.Loc()), localWall(a[1], ctx.Loc()))
	}, stable)
	def("age", ts(TS), IV, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
		today := int64(types.DateFromTime(ctx.TxnTime().In(ctx.Loc()))) * usPerDay
		return age(today, tsMicros(a[0]))
	}, stable)
	def("age", ts(TZ), IV, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
		today := int64(types.DateFromTime(ctx.TxnTime().In(ctx.Loc()))) * usPerDay
		return age(today, localWall(a[0], ctx.Loc()))
	}, stable)
	def("make_date", ts(I, I, I), D, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		y, m, d := dint(a[0]), dint(a[1]), dint(a[2])
		ay := y
		if y < 0 {
			ay = y + 1 // BC: -44 is 44 BC, astronomical -43
		}
		r, err := types.DateFromCivil(ay, int(m), int(d))
		if err != nil || y == 0 {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
		}
		return r, nil
	})
	def("make_timestamp", ts(I, I, I, I, I, F8), TS, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		y, mo, d, h, mi, s := dint(a[0]), dint(a[1]), dint(a[2]), dint(a[3]), dint(a[4]), dfloat(a[5])
		ay := y
		if y < 0 {
			ay = y + 1
		}
		dd, err := types.DateFromCivil(ay, int(mo), int(d))
		if err != nil || y == 0 {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", y, mo, d)
		}
		if h < 0 || h > 24 || mi < 0 || mi > 59 || s < 0 || s > 60 || math.IsNaN(s) || (h == 24 && (mi != 0 || s != 0)) {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%02g", h, mi, s)
		}
		us := int64(dd)*usPerDay + h*usPerHour + mi*usPerMin + int64(math.RoundToEven(s*1e6))
		return types.MakeTimestampFromMicros(us)
	})
	def("to_timestamp", ts(F8), TZ, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		f := dfloat(a[0])
		switch {
		case math.IsNaN(f):
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp cannot be NaN")
		case math.IsInf(f, 1):
			return types.DTimestampTZ{Time: types.TimestampPosInf}, nil
		case math.IsInf(f, -1):
			return types.DTimestampTZ{Time: types.TimestampNegInf}, nil
		}
		us := math.RoundToEven((f - float64(-types.UnixEpochDays)*86400) * 1e6)
		if us < -9.2e18 || us > 9.2e18 || !types.TimestampMicrosValid(int64(us)) {
			return nil, sqlerr.New(sqlerr.DatetimeFieldOverflow, "timestamp out of range: \"%s\"", types.FormatText(a[0], nil))
		}
		return types.MakeTimestampTZFromMicros(int64(us))
	})
	def("justify_days", ts(IV), IV, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return justifyDays(a[0].(types.DInterval))
	})
	def("justify_hours", ts(IV), IV, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return justifyHours(a[0].(types.DInterval))
	})
	def("justify_interval", ts(IV), IV, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
		return justifyInterval(a[0].(types.DInterval))
	})
	for _, t := range []*types.T{D, TS, TZ} {
		def("isfinite", ts(t), types.Bool, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			switch v := a[0].(type) {
			case types.DDate:
				return okB(!v.IsInfinite())
			case types.DTimestamp:
				return okB(!v.IsInfinite())
			case types.DTimestampTZ:
				return okB(!v.IsInfinite())
			}
			return okB(true)
		})
	}
}

func registerJSONFuncs() {
	J, JB, T := types.JSON, types.JSONB, types.Text
	defTyped("to_json", ts(AnyType), J, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
		o, err := toJSON(a[0], at[0], ctx)
		if err != nil {
			return nil, err
		}
		return jsonResult(false, o), nil
	}, stable)
	defTyped("to_jsonb", ts(AnyType), JB, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
		o, err := toJSON(a[0], at[0], ctx)
		if err != nil {
			return nil, err
		}
		return jsonResult(true, o), nil
	}, stable)
	for _, jt := range []*types.T{J, JB} {
		isJSONB := jt == JB
		prefix := "json"
		if isJSONB {
			prefix = "jsonb"
		}
		def(prefix+"_typeof", ts(jt), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return okS(jsonOf(a[0]).Value().Kind.String())
		})
		def(prefix+"_array_length", ts(jt), types.Int4, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return jsonArrayLength(a[0])
		})
		defTyped(prefix+"_build_object", ts(AnyType), jt, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
			return buildObject(ctx, at, a, isJSONB)
		}, variadic, nonStrict, stable)
		def(prefix+"_build_object", nil, jt, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return buildObject(ctx, nil, nil, isJSONB)
		})
		defTyped(prefix+"_build_array", ts(AnyType), jt, func(ctx *types.EvalContext, at []*types.T, a []types.Datum) (types.Datum, error) {
			return buildArray(ctx, at, a, isJSONB)
		}, variadic, nonStrict, stable)
		def(prefix+"_build_array", nil, jt, func(ctx *types.EvalContext, a []types.Datum) (types.Datum, error) {
			return buildArray(ctx, nil, nil, isJSONB)
		})
		def(prefix+"_extract_path", ts(jt, T), jt, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			v, ok := jsonExtractPath(jsonOf(a[0]).Value(), a[1:])
			if !ok {
				return types.Null, nil
			}
			return wrapLike(jsonOf(a[0]), v), nil
		}, variadic)
		def(prefix+"_extract_path_text", ts(jt, T), T, func(_ *types.EvalContext, a []types.Datum) (types.Datum, error) {
			v, ok := jsonExtractPath(jsonOf(a[0]).Value(), a[1:])
			if !ok {
				return types.Null, nil
			}
			return jsonText(v), nil
		}, variadic)
	}
}

func registerMiscFuncs() {
	def("gen_random_uuid", nil, types.UUID, func(ctx *types.EvalContext, _ []types.Datum) (types.Datum, error) {
		var u types.DUUID
		for i := 0; i < 16; i += 8 {
			v := ctx.Uint64()
			for j := 0; j < 8; j++ {
				u[i+j] = byte(v >> (8 * j))
			}
		}
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		return u, nil
	}, volatile)
}
