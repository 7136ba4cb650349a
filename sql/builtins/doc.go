// Package builtins owns the operators, functions and aggregates of
// Outpost's SQL dialect: pure computations over sql/types datums, with the
// signatures and result types the planner needs to type-check before it
// evaluates anything.
//
//	LookupBinaryOp / LookupUnaryOp → *Overload      (+ - * / % ^ || = < -> @> ~~ ...)
//	LookupFunction                 → *FuncOverload  (length, round, date_trunc, ...)
//	LookupAggregate                → *AggOverload   (count, sum, avg, min, ...)
//
// Resolution follows PostgreSQL's rules (exact match, unknown literals
// taking the other operand's type, implicit casts ranked by exact matches
// and preferred types) and fails with PostgreSQL's SQLSTATEs: 42883 for
// `operator does not exist: integer + text` and `function foo(integer)
// does not exist`, 42725 for ambiguity. The resolved overload tells the
// planner which casts to insert (Left/Right, Args).
//
// It imports sql/types and sql/sqlerr only; it holds no state beyond the
// immutable registries built at init, so everything here is safe for
// concurrent use. Evaluation context (time zone, transaction timestamp,
// random source) arrives as a *types.EvalContext; EvalContext lives in
// sql/types because parsing and casting need it too.
//
// Semantics, all as PostgreSQL 15 unless a comment says otherwise:
//
//   - Operators and most functions are strict: NULL in gives NULL out
//     (Overload.Call, FuncOverload.Call). Non-strict functions (concat,
//     format, greatest, coalesce, the JSON builders) say so in their
//     overload. AND/OR/NOT, IS [NOT] NULL, CASE, IN are the planner's.
//   - Integer arithmetic checks overflow against the result width
//     (22003 "integer out of range"); division truncates toward zero and
//     % takes the dividend's sign; division by zero is 22012.
//   - Numeric arithmetic is exact for + - *, and division, sqrt, exp, ln,
//     log and power round half away from zero to the scale PostgreSQL
//     chooses (1/3 = 0.33333333333333333333, 10/4 = 2.5000000000000000).
//   - float8 arithmetic reports overflow/underflow like PostgreSQL;
//     round(float8) is half-even, round(numeric) half away from zero.
//   - String functions count characters, not bytes (UTF-8).
//   - Date/time arithmetic on timestamptz uses the session time zone for
//     the month and day parts of intervals (DST-aware).
//   - Volatility marks what the planner may constant-fold: Immutable
//     functions with constant arguments; Stable ones within a statement.
//
// Not implemented: regular expressions (~, regexp_*), to_char and other
// formatting functions, arrays (array_agg, text[] paths), set-returning
// functions (generate_series, jsonb_each), statistics aggregates
// (stddev, variance), time/timetz types.
package builtins
