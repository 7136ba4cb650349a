package sql

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvrpc"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// FollowerReads is the replication side's answer to "what can this node
// read locally?". sql declares it; the node wires an implementation in
// Config.FollowerReads. Without one (nil), every bounded-staleness read
// falls back to a strong read at the present from the leaseholder, which
// satisfies any staleness bound and any causality token.
type FollowerReads interface {
	// LocalServable returns the newest timestamp at which this node's
	// local replicas of every span in spans can serve a consistent read
	// (each replica's closed timestamp, with the matching log position
	// applied). ok is false when some span has no local
	// replica able to serve follower reads; the statement then reads from
	// the leaseholder. The returned timestamp may be in the past only:
	// callers clamp it to their clock. Safe for concurrent use; it is on
	// the path of every bounded-staleness read (once per statement) and
	// of describing follower-read statements, so it must answer from
	// memory without blocking. (Who actually served a read is reported
	// by the router through a kvrpc.ReadLog, not predicted here.)
	LocalServable(ctx context.Context, spans []kvpb.Span) (ts hlc.Timestamp, ok bool)
}

// Metrics are the SQL layer's counters, read by the node's /metrics.
// All fields are monotonic.
type Metrics struct {
	// Statements is planned statements started (not SET, SHOW, BEGIN...).
	Statements int64
	// StatementErrors is statements (and protocol messages) that failed.
	StatementErrors int64
	// FollowerReadsServed is historical or bounded reads the local
	// replicas could serve, per FollowerReads; FollowerReadsRedirected
	// the ones that went to the leaseholder.
	FollowerReadsServed, FollowerReadsRedirected int64
}

type serverMetrics struct {
	statements, stmtErrors             atomic.Int64
	followerServed, followerRedirected atomic.Int64
}

// Metrics returns the current counters.
func (s *Server) Metrics() Metrics {
	m := &s.metrics
	return Metrics{
		Statements: m.statements.Load(), StatementErrors: m.stmtErrors.Load(),
		FollowerReadsServed: m.followerServed.Load(), FollowerReadsRedirected: m.followerRedirected.Load(),
	}
}

// ---- causality token ----

// causalityTokenVar is the session setting that carries the token: the
// highest commit timestamp of the session's writes, or of a token SET by
// the client. It is reported (ParameterStatus) whenever it changes, and
// never decreases.
const causalityTokenVar = "outpost_causality_token"

// causalityToken returns the session's minimum follower-read timestamp.
func (s *Session) causalityToken() hlc.Timestamp {
	ts, err := parseHLC(s.vars.vals[causalityTokenVar])
	if err != nil {
		return hlc.Timestamp{}
	}
	return ts
}

// noteCommit raises the causality token to a committed transaction's
// commit timestamp if it wrote. A committed historical transaction has
// done its reads: its statement goes into the follower-read metrics.
func (s *Session) noteCommit(txn *kv.Txn) {
	if txn != nil && txn == s.edge.hist {
		s.finishLastRead()
	}
	if txn == nil || !txn.Wrote() {
		return
	}
	_ = s.vars.set(causalityTokenVar, formatHLC(txn.CommitTimestamp()))
}

// ---- read-your-writes wait ----

// followerReadWaitVar is the session setting bounding how long a
// read-your-writes follower read (its timestamp is the causality token:
// readSpec.ryw) waits for the local replicas to close that timestamp
// before it goes to the leaseholder.
const followerReadWaitVar = "follower_read_wait"

// DefaultFollowerReadWait is follower_read_wait's default.
//
// Waiting pays off only when it is shorter than what falling back costs:
// one round trip to the leaseholder per kv batch of the statement that the
// local replica refuses, and even a point SELECT sends two (the catalog
// version, then the row: BenchmarkEdgeReadYourWrites measured 124 ms at a
// 60 ms RTT). Edge nodes hold non-voters because they
// are in another region than the leaseholders, at some 50 to 250 ms of
// round trip; 100 ms is below two of the shortest of those. A read waits
// only while its timestamp can still be closed in time (closed timestamps
// trail the clock by the target lag and advance in steps of at most the
// side-channel interval), so a wait that cannot succeed costs nothing.
//
// A token is closed on an edge about lag + interval + RTT/2 after the
// write (1.2 s + RTT/2 with the default 1 s lag): reads closer to their
// write than that minus the wait go to the leaseholder; reads later than
// that are served locally without waiting; the wait turns the band in
// between from round trips into a shorter local wait. Set it near two
// round trips to the leaseholders (0 disables waiting), per session or as
// a startup parameter.
const DefaultFollowerReadWait = 100 * time.Millisecond

// maxFollowerReadWait bounds the setting: a wait longer than the worst
// round trip between regions never pays off.
const maxFollowerReadWait = 10 * time.Second

func validateFollowerReadWait(v string) (string, error) {
	d, err := parseMillis(v)
	if err != nil {
		return "", err
	}
	if d > maxFollowerReadWait {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "%s must be between 0 and %s, got %q", followerReadWaitVar, formatMillis(maxFollowerReadWait), v)
	}
	return formatMillis(d), nil
}

// validateCausalityToken normalizes a token.
func validateCausalityToken(v string) (string, error) {
	ts, err := parseHLC(strings.TrimSpace(v))
	if err != nil {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", causalityTokenVar, v).
			WithHint("A token is what SHOW outpost_causality_token printed: <wall nanoseconds>.<logical, 10 digits>.")
	}
	return formatHLC(ts), nil
}

// maxToken is the larger of two valid tokens.
func maxToken(a, b string) string {
	ta, erra := parseHLC(a)
	tb, errb := parseHLC(b)
	switch {
	case erra != nil:
		return b
	case errb != nil:
		return a
	case ta.Less(tb):
		return b
	}
	return a
}

// observeToken moves the node's clock to the session's token, so that
// strong reads (at the clock's present) observe the write the token stands
// for even when it came from a node whose clock is ahead.
func (s *Session) observeToken() error {
	return s.observeTimestamp(s.causalityToken())
}

func (s *Session) observeTimestamp(ts hlc.Timestamp) error {
	if ts.IsEmpty() {
		return nil
	}
	if err := s.srv.db.Clock().Update(ts); err != nil {
		return sqlerr.New(sqlerr.InvalidParameterValue, "causality token %s is too far ahead of this node's clock: %v", formatHLC(ts), err)
	}
	return nil
}

// checkSetToken vets a new value of the causality token before SET or
// set_config() stores it (a token never decreases, so a bad one must not
// get in): it must parse and be within the clock's max offset, and the
// clock moves to it.
func (s *Session) checkSetToken(name, val string) error {
	if normalizeVarName(name) != causalityTokenVar || strings.EqualFold(val, "default") {
		return nil
	}
	norm, err := validateCausalityToken(val)
	if err != nil {
		return err
	}
	ts, _ := parseHLC(norm)
	return s.observeTimestamp(ts)
}

// ---- SHOW LAST READ ----

var lastReadCols = []plan.ResultCol{
	{Name: "read_mode", T: types.Text}, {Name: "served_by", T: types.Text},
	{Name: "read_timestamp", T: types.Text}, {Name: "staleness", T: types.Interval},
	{Name: "fallback_reason", T: types.Text},
}

// showLastRead answers SHOW LAST READ: how the session's last planned
// statement read. Before any statement it returns no row.
func (s *Session) showLastRead(w ResultWriter) error {
	if err := w.RowDescription(s.columns(lastReadCols, s.resultFormats)); err != nil {
		return err
	}
	s.finishLastRead()
	lr := s.edge.last
	if lr.mode == "" {
		return w.CommandComplete("SHOW")
	}
	if lr.traced {
		parts, _, refusal := s.edge.log.Snapshot()
		lr.servedBy = describeServed(parts)
		if refusal != "" && lr.fallback != "" {
			lr.fallback += "; " + refusal
		} else if refusal != "" {
			lr.fallback = refusal
		}
	}
	stale := types.DInterval{Micros: int64(max(lr.staleness, 0) / time.Microsecond)}
	row := plan.Row{types.DString(lr.mode), types.DString(lr.servedBy), types.DString(formatHLC(lr.ts)), stale, types.DString(lr.fallback)}
	if lr.fallback == "" {
		row[4] = types.Null
	}
	vals, err := s.encodeRow(row, lastReadCols, s.resultFormats)
	if err != nil {
		return err
	}
	if err := w.DataRow(vals); err != nil {
		return err
	}
	return w.CommandComplete("SHOW")
}

// describeServed says which replicas served a statement's reads, per
// node: "n4 r1,r2 non-voter" (follower reads on n4's non-voting replicas),
// "n1 r1 leaseholder"; "none" when the statement read nothing from kv.
func describeServed(parts []kvrpc.ReadPart) string {
	if len(parts) == 0 {
		return "none"
	}
	type group struct {
		node          int32
		ranges, kinds []string
	}
	var groups []*group
	for _, p := range parts {
		var g *group
		for _, x := range groups {
			if x.node == p.Node {
				g = x
			}
		}
		if g == nil {
			g = &group{node: p.Node}
			groups = append(groups, g)
		}
		if r := fmt.Sprintf("r%d", p.RangeID); !slices.Contains(g.ranges, r) {
			g.ranges = append(g.ranges, r)
		}
		kind := "leaseholder"
		if p.Follower {
			kind = p.Type.String()
		}
		if !slices.Contains(g.kinds, kind) {
			g.kinds = append(g.kinds, kind)
		}
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = fmt.Sprintf("n%d %s %s", g.node, strings.Join(g.ranges, ","), strings.Join(g.kinds, "/"))
	}
	return strings.Join(out, "; ")
}

// edgeFuncs adds the session functions of historical reads to the
// catalog's (inner, nil in AS OF expressions).
type edgeFuncs struct {
	inner plan.SessionFuncs
	s     *Session
}

// Resolve implements plan.SessionFuncs: follower_read_timestamp() is the
// clock minus Config.FollowerReadOffset (microseconds, as timestamptz
// holds), usable anywhere, as in CockroachDB.
func (f edgeFuncs) Resolve(name string, args []*types.T) (*plan.SessionFunc, error) {
	if name == "follower_read_timestamp" && len(args) == 0 {
		return &plan.SessionFunc{Name: name, Result: types.TimestampTZ,
			Fn: func(*plan.ExecCtx, []types.Datum) (types.Datum, error) {
				ts := f.s.srv.db.Clock().Now().Add(-f.s.srv.cfg.FollowerReadOffset)
				return types.DTimestampTZ{Time: ts.GoTime().Truncate(time.Microsecond)}, nil
			}}, nil
	}
	if f.inner == nil {
		return nil, nil
	}
	return f.inner.Resolve(name, args)
}
