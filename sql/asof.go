package sql

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// Historical reads: AS OF SYSTEM TIME (and TiDB's AS OF TIMESTAMP).
//
// An AS OF clause is evaluated once, when the statement (or, for BEGIN and
// SET TRANSACTION, the transaction) starts, into a readSpec:
//
//   - exact staleness: a fixed timestamp. The statement runs in a
//     read-only kv transaction at that timestamp (kv.NewReadOnlyTxnAt): no
//     uncertainty interval, no restarts, writes fail with 25006;
//   - bounded staleness (with_max_staleness, with_min_timestamp, and the
//     default_transaction_max_staleness setting): the newest timestamp the
//     local replicas can serve (Config.FollowerReads), if it satisfies the
//     bound; otherwise a strong read at the present from the leaseholder,
//     which satisfies every bound.
//
// Read-your-writes: a follower or bounded read whose timestamp the
// session's causality token raised (readSpec.ryw) is sent with
// follower_read_wait: the local replica waits that long for the token to
// be closed there before refusing (kvpb.Header.FollowerReadWait), and the
// leaseholder serves what it refuses, at the same timestamp. Such a read
// never returns data older than the token, wherever it is served.
//
// SHOW LAST READ reports who actually served each statement: kv.Txn sends
// a historical transaction's reads with the session's kvrpc.ReadLog,
// which the router fills (serving node and range, follower or
// leaseholder, the local replica's reason for refusing).
//
// The accepted expressions: a negative interval string ('-10s', '-1m30s',
// '-500ms', '-1h', '-10 seconds'), an interval value, an absolute
// timestamp or timestamptz ('2026-11-30 03:00:00+00'), a decimal HLC
// timestamp '<wall nanos>.<logical, 10 digits>' (what SHOW
// outpost_causality_token prints), an expression such as now() - interval
// '10s', follower_read_timestamp(), with_max_staleness(interval) and
// with_min_timestamp(timestamp). Relative strings are read as Go durations
// first ('-1m30s' is 90 seconds in the past, where PostgreSQL's interval
// input would read -1 minute +30 seconds), then as PostgreSQL intervals.

// readMode says how a statement chose its read timestamp.
type readMode string

const (
	readStrong   readMode = "strong"   // the present, at the leaseholder
	readExact    readMode = "exact"    // AS OF SYSTEM TIME <timestamp>
	readBounded  readMode = "bounded"  // with_max_staleness / with_min_timestamp
	readFollower readMode = "follower" // follower_read_timestamp()
)

// readSpec is an evaluated AS OF clause.
type readSpec struct {
	mode readMode
	// ts is the timestamp of exact and follower reads.
	ts hlc.Timestamp
	// minTS is the oldest timestamp a bounded read may use.
	minTS hlc.Timestamp
	// ryw: ts (exact, follower) or minTS (bounded) is the session's
	// causality token, above the staleness the spec asked for: the read
	// must see the session's writes (read-your-writes), and the local
	// replicas may wait up to follower_read_wait for it to be closed.
	ryw bool
}

// DefaultFollowerReadOffset is how far in the past follower_read_timestamp()
// lies by default: three times a 1s closed-timestamp target lag plus
// 1.8s for clock offset and propagation, CockroachDB's -4.8s. The
// replication side ties Config.FollowerReadOffset to its real target lag.
const DefaultFollowerReadOffset = 4800 * time.Millisecond

// lastRead describes how the session's last statement read (SHOW LAST
// READ).
type lastRead struct {
	mode readMode
	// servedBy is set for strong reads; reads at a fixed timestamp
	// (traced) take it from edgeState.log, which the router fills as the
	// statement runs: the replicas that actually served.
	servedBy string
	traced   bool
	// counted: the statement is in the follower-read metrics
	// (finishLastRead).
	counted bool
	ts      hlc.Timestamp
	// staleness is how far ts was behind the gateway's clock when the
	// statement started.
	staleness time.Duration
	fallback  string
}

// edgeState is the session's historical/follower read state.
type edgeState struct {
	// hist is the transaction made read-only at a fixed timestamp by an AS
	// OF clause; it is the session's current transaction only while
	// hist == s.txn (a new transaction clears it implicitly).
	hist *kv.Txn
	// histSpec is hist's spec.
	histSpec readSpec
	// last is the last statement's read.
	last lastRead
	// log records who served the current (or last) statement's reads at
	// a fixed timestamp: every historical transaction sends under it.
	log kvrpc.ReadLog
}

// historical returns the current transaction's spec when it reads at a
// fixed timestamp.
func (s *Session) historical() (readSpec, bool) {
	if s.txn != nil && s.edge.hist == s.txn {
		return s.edge.histSpec, true
	}
	return readSpec{}, false
}

// allKeys is the span set a statement's read timestamp is negotiated for:
// the whole keyspace, since the catalog is read at the same timestamp as
// the tables and the statement is not planned yet when the timestamp is
// chosen. (A conservative answer: the hook's timestamp is the minimum over
// the local replicas.)
var allKeys = []kvpb.Span{{Key: keys.LocalMax, EndKey: keys.MaxKey}}

// prepareRead runs before each planned statement: it applies AS OF and the
// follower-read settings (replacing the fresh transaction by one at a fixed
// timestamp), refuses writes in read-only transactions, counts the
// statement and records how it reads.
func (s *Session) prepareRead(ctx context.Context, st *parser.Statement, params []types.Datum, paramTypes []*types.T) error {
	s.srv.metrics.statements.Add(1)
	s.finishLastRead()
	if err := s.checkReadOnlyStmt(st); err != nil {
		return err
	}
	if st.AsOf != nil {
		spec, err := s.evalAsOf(ctx, st.AsOf, params, paramTypes, st.ParamOrder)
		if err != nil {
			return err
		}
		return s.startHistorical(ctx, spec)
	}
	// Without AS OF, a statement reads in the transaction as it is: at
	// its fixed timestamp once one was chosen (BEGIN ... AS OF, or an
	// earlier statement of the same implicit transaction).
	if hs, ok := s.historical(); ok {
		s.recordRead(ctx, hs, hs.ts, "")
		return nil
	}
	// The session settings apply to a read-only statement that starts
	// its implicit transaction; otherwise the read is strong.
	if s.mode == implicitTxn && isReadOnlyQuery(st) && s.txn.Unused() {
		if spec := s.sessionReadSpec(); spec != nil {
			return s.startHistorical(ctx, *spec)
		}
	}
	s.edge.last = lastRead{mode: readStrong, servedBy: "leaseholder", ts: s.txn.ReadTimestamp()}
	return nil
}

// sessionReadSpec is the read spec the settings give a read-only
// statement outside explicit transactions (nil: strong).
func (s *Session) sessionReadSpec() *readSpec {
	if d, err := parseMillis(s.vars.vals["default_transaction_max_staleness"]); err == nil && d > 0 {
		now := s.srv.db.Clock().Now()
		minTS, token := now.Add(-d), s.causalityToken()
		return &readSpec{mode: readBounded, minTS: hlc.Max(minTS, token), ryw: minTS.Less(token)}
	}
	if s.vars.vals["default_transaction_use_follower_reads"] == "on" {
		sp := s.followerSpec()
		return &sp
	}
	return nil
}

// followerSpec is follower_read_timestamp(), never below the session's
// causality token.
func (s *Session) followerSpec() readSpec {
	ts, token := s.srv.db.Clock().Now().Add(-s.srv.cfg.FollowerReadOffset), s.causalityToken()
	return readSpec{mode: readFollower, ts: hlc.Max(ts, token), ryw: ts.Less(token)}
}

// followerReadWait is how long the local replicas may wait for spec's
// timestamp to be closed before the read goes to the leaseholder: the
// follower_read_wait setting for read-your-writes reads, else nothing
// (their defined fallback is the leaseholder, and their timestamps lie
// far enough back that a replica which has not closed them is behind).
func (s *Session) followerReadWait(spec readSpec) time.Duration {
	if !spec.ryw {
		return 0
	}
	d, err := parseMillis(s.vars.vals[followerReadWaitVar])
	if err != nil {
		return 0
	}
	return d
}

// startHistorical makes the current transaction read according to spec.
// The transaction must not have read or written yet; BEGIN and SET
// TRANSACTION call it too.
func (s *Session) startHistorical(ctx context.Context, spec readSpec) error {
	if hs, ok := s.historical(); ok {
		if spec.mode == readBounded || hs.mode == readBounded || spec.ts != hs.ts {
			return sqlerr.New(sqlerr.FeatureNotSupported, "inconsistent AS OF SYSTEM TIME timestamp; the transaction already reads at %s", formatHLC(hs.ts))
		}
		s.recordRead(ctx, hs, hs.ts, "")
		return nil
	}
	if s.txn == nil || !s.txn.Unused() {
		return sqlerr.New(sqlerr.ActiveSQLTransaction, "AS OF SYSTEM TIME must be given on the first statement of a transaction")
	}
	if spec.mode == readBounded && s.mode == explicitTxn {
		return sqlerr.New(sqlerr.FeatureNotSupported, "bounded staleness reads (with_max_staleness, with_min_timestamp) are only supported outside explicit transactions")
	}
	ts, fallback := spec.ts, ""
	if spec.mode == readBounded {
		ts, fallback = s.negotiateBounded(ctx, spec)
		if ts.IsEmpty() {
			// Strong: the present, from the leaseholder.
			s.srv.metrics.followerRedirected.Add(1)
			s.txn.SetReadOnly()
			s.edge.last = lastRead{mode: readBounded, servedBy: "leaseholder", ts: s.txn.ReadTimestamp(), fallback: fallback}
			return nil
		}
	}
	txn, err := s.srv.db.NewReadOnlyTxnAt("sql historical", ts)
	if err != nil {
		return asOfError(err)
	}
	txn.SetFollowerReads(s.followerReadWait(spec), &s.edge.log)
	s.txn.Rollback(ctx)
	s.txn = txn
	s.edge.hist, s.edge.histSpec = txn, spec
	s.edge.histSpec.ts = ts
	s.recordRead(ctx, spec, ts, fallback)
	return nil
}

// negotiateBounded asks the replication side for the newest locally
// servable timestamp and checks it against the bound. An empty timestamp
// means: read at the present from the leaseholder, for the reason given.
// When only the causality token is above what the local replicas serve
// and follower_read_wait allows, the read is at the token: the local
// replicas wait for it to be closed, or the leaseholder serves it.
func (s *Session) negotiateBounded(ctx context.Context, spec readSpec) (hlc.Timestamp, string) {
	fr := s.srv.cfg.FollowerReads
	if fr == nil {
		return hlc.Timestamp{}, "no follower reads on this node"
	}
	ts, ok := fr.LocalServable(ctx, allKeys)
	if !ok {
		return hlc.Timestamp{}, "no local replica can serve follower reads"
	}
	if ts.Less(spec.minTS) {
		if s.followerReadWait(spec) > 0 {
			return spec.minTS, ""
		}
		return hlc.Timestamp{}, fmt.Sprintf("local replicas serve up to %s, older than the bound %s", formatHLC(ts), formatHLC(spec.minTS))
	}
	if now := s.srv.db.Clock().Now(); now.Less(ts) {
		ts = now
	}
	return ts, ""
}

// recordRead notes that the statement reads at ts. Who serves it is known
// only as it runs: the router records that in s.edge.log (SHOW LAST READ
// and finishLastRead read it afterwards).
func (s *Session) recordRead(_ context.Context, spec readSpec, ts hlc.Timestamp, fallback string) {
	now := s.srv.db.Clock().Now()
	s.edge.log.Reset()
	s.edge.last = lastRead{mode: spec.mode, ts: ts, staleness: time.Duration(now.WallTime - ts.WallTime), traced: true, fallback: fallback}
}

// finishLastRead counts the last statement in the follower-read metrics,
// once it has run: served when the local node served all its reads, else
// redirected. It runs at commit, at the next statement and at SHOW LAST
// READ, whichever comes first.
func (s *Session) finishLastRead() {
	lr := &s.edge.last
	if !lr.traced || lr.counted {
		return
	}
	lr.counted = true
	if s.edge.log.AllLocal() {
		s.srv.metrics.followerServed.Add(1)
	} else {
		s.srv.metrics.followerRedirected.Add(1)
	}
}

// checkReadOnlyStmt refuses a writing statement in a read-only
// transaction with PostgreSQL's error.
func (s *Session) checkReadOnlyStmt(st *parser.Statement) error {
	if s.txn == nil || !s.txn.IsReadOnly() {
		return nil
	}
	if isReadOnlyQuery(st) || st.AST == nil {
		return nil
	}
	if _, ok := st.AST.(*ast.ExplainStmt); ok {
		return nil
	}
	tag := strings.ToUpper(st.Tag)
	if tag == "" {
		tag = "this statement"
	}
	return sqlerr.New(sqlerr.ReadOnlySQLTransaction, "cannot execute %s in a read-only transaction", tag)
}

// isReadOnlyQuery reports a SELECT (or set operation) without FOR UPDATE.
func isReadOnlyQuery(st *parser.Statement) bool {
	switch n := st.AST.(type) {
	case *ast.SelectStmt:
		return n.LockInfo == nil
	case *ast.SetOprStmt:
		return true
	}
	return false
}

// applyDefaultReadOnly makes a new transaction read-only under
// default_transaction_read_only (BEGIN READ WRITE undoes it while the
// transaction is unused).
func (s *Session) applyDefaultReadOnly() {
	if s.vars.vals["default_transaction_read_only"] == "on" {
		s.txn.SetReadOnly()
	}
}

// transactionReadOnly is SHOW transaction_read_only: the current
// transaction's mode, or the default for the next one.
func (s *Session) transactionReadOnly() string {
	if s.txn != nil && s.mode == explicitTxn {
		if s.txn.IsReadOnly() {
			return "on"
		}
		return "off"
	}
	return s.vars.vals["default_transaction_read_only"]
}

// beginModes applies the modes of BEGIN / START TRANSACTION and SET
// TRANSACTION to the current (fresh) transaction.
func (s *Session) beginModes(ctx context.Context, st *parser.Statement) error {
	m := st.Session.Txn
	if s.txn == nil {
		return nil
	}
	readOnly := m.Access == pgdialect.ReadOnly ||
		m.Access == pgdialect.AccessUnspecified && s.vars.vals["default_transaction_read_only"] == "on"
	if st.AsOf == nil && readOnly && st.Session.Kind == pgdialect.Begin && s.vars.vals["default_transaction_use_follower_reads"] == "on" && s.txn.Unused() {
		// Read-only transactions are follower reads under the setting.
		return s.startHistorical(ctx, s.followerSpec())
	}
	if st.AsOf != nil {
		spec, err := s.evalAsOf(ctx, st.AsOf, nil, nil, st.ParamOrder)
		if err != nil {
			return err
		}
		if m.Access == pgdialect.ReadWrite {
			return sqlerr.New(sqlerr.InvalidTransactionState, "AS OF SYSTEM TIME transactions are read-only")
		}
		if err := s.startHistorical(ctx, spec); err != nil {
			return err
		}
		return nil
	}
	if m.Access == pgdialect.ReadWrite {
		if s.txn.IsReadOnly() {
			if _, ok := s.historical(); ok {
				return sqlerr.New(sqlerr.InvalidTransactionState, "AS OF SYSTEM TIME transactions are read-only")
			}
			if !s.txn.Unused() {
				return sqlerr.New(sqlerr.ActiveSQLTransaction, "transaction read-write mode must be set before any query")
			}
			// A fresh transaction can still become read-write.
			s.txn.Rollback(ctx)
			s.txn = s.srv.db.NewTxn("sql")
		}
		return nil
	}
	if readOnly {
		s.txn.SetReadOnly()
	}
	return nil
}

// ---- evaluation of AS OF expressions ----

var hlcDecimal = regexp.MustCompile(`^\d+(\.\d+)?$`)

// evalAsOf evaluates an AS OF expression.
func (s *Session) evalAsOf(ctx context.Context, e ast.ExprNode, params []types.Datum, paramTypes []*types.T, order []int) (readSpec, error) {
	now := s.srv.db.Clock().Now()
	ec := s.evalContext()
	ec.Now = now.GoTime()
	if fc, ok := e.(*ast.FuncCallExpr); ok {
		switch fc.FnName.L {
		case "follower_read_timestamp":
			if len(fc.Args) != 0 {
				return readSpec{}, sqlerr.New(sqlerr.UndefinedFunction, "function follower_read_timestamp takes no arguments")
			}
			return s.followerSpec(), nil
		case "with_max_staleness", "with_min_timestamp":
			if len(fc.Args) != 1 {
				return readSpec{}, sqlerr.New(sqlerr.UndefinedFunction, "function %s takes one argument", fc.FnName.L)
			}
			d, err := s.evalConst(ctx, now, fc.Args[0], params, paramTypes, order)
			if err != nil {
				return readSpec{}, err
			}
			spec := readSpec{mode: readBounded}
			if fc.FnName.L == "with_max_staleness" {
				dur, err := datumDuration(d)
				if err != nil {
					return readSpec{}, err
				}
				if dur <= 0 {
					return readSpec{}, sqlerr.New(sqlerr.InvalidParameterValue, "with_max_staleness: the staleness bound must be positive")
				}
				spec.minTS = now.Add(-dur)
			} else {
				ts, err := datumTimestamp(d, now, ec)
				if err != nil {
					return readSpec{}, err
				}
				spec.minTS = ts
			}
			if token := s.causalityToken(); spec.minTS.Less(token) {
				spec.minTS, spec.ryw = token, true
			}
			if now.Less(spec.minTS) {
				return readSpec{}, futureError(spec.minTS, now)
			}
			return spec, nil
		}
	}
	d, err := s.evalConst(ctx, now, e, params, paramTypes, order)
	if err != nil {
		return readSpec{}, err
	}
	ts, err := datumTimestamp(d, now, ec)
	if err != nil {
		return readSpec{}, err
	}
	if now.Less(ts) {
		return readSpec{}, futureError(ts, now)
	}
	return readSpec{mode: readExact, ts: ts}, nil
}

// evalConst evaluates a constant expression (no columns). now() in it is
// the clock reading now, so that now() - interval '1us' is in the past.
func (s *Session) evalConst(ctx context.Context, now hlc.Timestamp, e ast.ExprNode, params []types.Datum, paramTypes []*types.T, order []int) (types.Datum, error) {
	ec := s.evalContext()
	ec.Now = now.GoTime()
	b := &plan.Builder{Eval: ec, Funcs: edgeFuncs{nil, s}, ParamTypes: append([]*types.T(nil), paramTypes...), ParamOrder: order, Catalog: noTables{}}
	sel := &ast.SelectStmt{Kind: ast.SelectStmtKindSelect, Fields: &ast.FieldList{Fields: []*ast.SelectField{{Expr: e}}}}
	node, err := b.BuildQuery(sel)
	if err != nil {
		return nil, err
	}
	it, err := node.Open(&plan.ExecCtx{Ctx: ctx, Eval: ec, Params: params, MemoryBudget: s.srv.cfg.StatementMemoryBytes})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	row, err := it.Next()
	if err != nil {
		return nil, err
	}
	if len(row) != 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "AS OF SYSTEM TIME needs one value")
	}
	return row[0], nil
}

// noTables is the catalog of an AS OF expression: it may name no table.
type noTables struct{}

func (noTables) Table(name string) (*plan.Table, error) {
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "AS OF SYSTEM TIME expressions cannot read tables")
}

func futureError(ts, now hlc.Timestamp) error {
	return sqlerr.New(sqlerr.DatetimeFieldOverflow, "AS OF SYSTEM TIME: cannot specify timestamp in the future (%s > %s)", formatHLC(ts), formatHLC(now))
}

// asOfError turns kv's refusal of a historical transaction into SQL.
func asOfError(err error) error {
	if fe, ok := err.(*kv.FutureTimestampError); ok {
		return futureError(fe.Timestamp, fe.Now)
	}
	return err
}

// datumTimestamp reads an AS OF value as a timestamp.
func datumTimestamp(d types.Datum, now hlc.Timestamp, ec *types.EvalContext) (hlc.Timestamp, error) {
	switch v := d.(type) {
	case types.DString:
		return parseAsOfString(string(v), now, ec)
	case types.DTimestampTZ:
		return timeTimestamp(v.Time, now)
	case types.DTimestamp:
		return timeTimestamp(v.Time, now)
	case types.DInterval:
		return relative(intervalDuration(v), now)
	case types.DInt:
		return hlc.Timestamp{WallTime: int64(v)}, nil
	case *types.DDecimal:
		return parseHLC(v.String())
	case types.DNull:
		return hlc.Timestamp{}, sqlerr.New(sqlerr.InvalidParameterValue, "AS OF SYSTEM TIME: the timestamp must not be NULL")
	}
	return hlc.Timestamp{}, sqlerr.New(sqlerr.InvalidParameterValue, "AS OF SYSTEM TIME: expected a timestamp, interval or decimal, got %s", d.ResolvedType())
}

// parseAsOfString reads the string forms: a decimal HLC timestamp, a
// relative interval, or an absolute timestamp.
func parseAsOfString(v string, now hlc.Timestamp, ec *types.EvalContext) (hlc.Timestamp, error) {
	s := strings.TrimSpace(v)
	if hlcDecimal.MatchString(s) {
		return parseHLC(s)
	}
	if d, err := time.ParseDuration(s); err == nil {
		return relative(d, now)
	}
	if iv, err := types.ParseInterval(s); err == nil {
		return relative(intervalDuration(iv), now)
	}
	t, err := types.ParseText(types.TimestampTZ, s, ec)
	if err != nil {
		return hlc.Timestamp{}, sqlerr.New(sqlerr.InvalidDatetimeFormat, "AS OF SYSTEM TIME: value %q is neither a timestamp, a negative interval nor a decimal HLC timestamp", v)
	}
	return timeTimestamp(t.(types.DTimestampTZ).Time, now)
}

// timeTimestamp converts an absolute time; HLC wall times count
// nanoseconds since 1970 in an int64 (until 2262).
func timeTimestamp(t time.Time, now hlc.Timestamp) (hlc.Timestamp, error) {
	if t.After(now.GoTime()) {
		return hlc.Timestamp{}, sqlerr.New(sqlerr.DatetimeFieldOverflow, "AS OF SYSTEM TIME: cannot specify timestamp in the future (%s > now)", t.UTC().Format(time.RFC3339Nano))
	}
	if t.Before(time.Unix(0, 0)) {
		return hlc.Timestamp{}, sqlerr.New(sqlerr.DatetimeFieldOverflow, "AS OF SYSTEM TIME: timestamp %s out of range: it must be after 1970-01-01", t.UTC().Format(time.RFC3339))
	}
	return hlc.Timestamp{WallTime: t.UnixNano()}, nil
}

// relative is now + d, d <= 0.
func relative(d time.Duration, now hlc.Timestamp) (hlc.Timestamp, error) {
	if d > 0 {
		return hlc.Timestamp{}, sqlerr.New(sqlerr.DatetimeFieldOverflow, "AS OF SYSTEM TIME: interval value %s is positive: cannot specify timestamp in the future", d)
	}
	return hlc.Timestamp{WallTime: now.WallTime + int64(d)}, nil
}

// intervalDuration converts with 30-day months and 24-hour days, as
// PostgreSQL compares intervals.
func intervalDuration(iv types.DInterval) time.Duration {
	return time.Duration(iv.Months)*30*24*time.Hour + time.Duration(iv.Days)*24*time.Hour + time.Duration(iv.Micros)*time.Microsecond
}

// datumDuration reads a staleness bound: an interval or a duration string.
func datumDuration(d types.Datum) (time.Duration, error) {
	switch v := d.(type) {
	case types.DInterval:
		return intervalDuration(v), nil
	case types.DString:
		if dur, err := time.ParseDuration(strings.TrimSpace(string(v))); err == nil {
			return dur, nil
		}
		iv, err := types.ParseInterval(string(v))
		if err != nil {
			return 0, err
		}
		return intervalDuration(iv), nil
	}
	return 0, sqlerr.New(sqlerr.InvalidParameterValue, "with_max_staleness: expected an interval, got %s", d.ResolvedType())
}

// parseHLC reads '<wall nanos>[.<logical, 10 digits>]'.
func parseHLC(s string) (hlc.Timestamp, error) {
	bad := sqlerr.New(sqlerr.InvalidParameterValue, "invalid HLC timestamp %q: expected <wall nanoseconds>.<logical, 10 digits>", s)
	wall, frac, dot := strings.Cut(s, ".")
	// Digits only (ParseInt alone would take a sign); ParseInt refuses
	// what does not fit an int64.
	w, err := strconv.ParseInt(wall, 10, 64)
	if err != nil || strings.ContainsAny(wall, "+-") || (dot && frac == "") {
		return hlc.Timestamp{}, bad
	}
	var logical int64
	if frac != "" {
		if len(frac) > 10 {
			return hlc.Timestamp{}, bad
		}
		frac += strings.Repeat("0", 10-len(frac))
		l, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || l < 0 || l > 1<<31-1 || strings.ContainsAny(frac, "+-") {
			return hlc.Timestamp{}, bad
		}
		logical = l
	}
	return hlc.Timestamp{WallTime: w, Logical: int32(logical)}, nil
}

// formatHLC prints ts as CockroachDB's decimal form, which parseHLC reads.
func formatHLC(ts hlc.Timestamp) string {
	return fmt.Sprintf("%d.%010d", ts.WallTime, ts.Logical)
}

// describeTxn is the throwaway transaction describe reads the catalog in.
// A statement that will read from a local replica (AS OF, or the session's
// follower-read settings) is described from the local replicas too, so
// that preparing it on an edge node cut off from the core still works; so
// is one the edge will forward to the core (which plans it again there), so
// that preparing it costs no round trip. Otherwise (or if the local
// replicas serve nothing, or their catalog does not know a name yet:
// describe retries) the read is strong.
func (s *Session) describeTxn(ctx context.Context, st *parser.Statement) *kv.Txn {
	fr := s.srv.cfg.FollowerReads
	local := st.AsOf != nil || (isReadOnlyQuery(st) && s.sessionReadSpec() != nil) ||
		(s.forwardsWrites() && (isForwardableWrite(st) || isForwardableRead(st)))
	if fr != nil && local {
		if ts, ok := fr.LocalServable(ctx, allKeys); ok {
			if now := s.srv.db.Clock().Now(); now.Less(ts) {
				ts = now
			}
			if txn, err := s.srv.db.NewReadOnlyTxnAt("describe", ts); err == nil {
				return txn
			}
		}
	}
	return s.srv.db.NewTxn("describe")
}
