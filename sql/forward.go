package sql

// Write forwarding (issue 5): an edge node holds no leases, so a write run
// there pays a WAN round trip for every read of the catalog, every write
// batch and the commit. Instead the edge sends the whole implicit
// transaction (one simple-query string, or the Executes of one
// extended-protocol batch up to Sync) to a core node in one call; the core
// runs it as its own client would and sends back the results, which the
// edge relays. The client pays one WAN round trip plus the core's commit.
//
// What is forwarded: outside an explicit transaction, a simple query whose
// statements are all INSERT, UPDATE, DELETE or SELECT with at least one
// write; in the extended protocol, a batch whose first Execute is such a
// write (then every later Execute of the batch too, reads included, so
// that they stay in the batch's one transaction). Explicit transactions,
// session statements (SET, COPY, ...) and DDL run locally as before.
//
// The core runs the work in a fresh session for the same user and
// database with the edge session's settings, so names, privileges, search
// path, time zone and the causality token apply as they would on the edge.
// Serialization failures are retried on the core (its output is buffered
// until the end, so nothing has reached the client). After the commit the
// edge session's causality token moves to the core's commit timestamp.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Forwarder carries a forwarded transaction to a core node and brings back
// its answer, both opaque (this file encodes them). An error means the
// call did not complete; whether the work ran there is then unknown.
type Forwarder interface {
	// Forward sends req to core node node (0: the Forwarder picks one)
	// and returns the answer and the node that gave it.
	Forward(ctx context.Context, node int32, req []byte) (resp []byte, from int32, err error)
}

// forwardRequest is one forwarded implicit transaction: Query (simple
// protocol) or Execs (extended protocol).
type forwardRequest struct {
	User     string            `json:"user"`
	Database string            `json:"db"`
	Settings map[string]string `json:"settings,omitempty"`
	Query    string            `json:"query,omitempty"`
	Execs    []forwardExec     `json:"execs,omitempty"`
	// Session names the core session of an explicit transaction that
	// was forwarded (forward_txn.go); Keep opens one, running BEGIN
	// first when Begin is set.
	Session uint64 `json:"session,omitempty"`
	Keep    bool   `json:"keep,omitempty"`
	Begin   bool   `json:"begin,omitempty"`
	// Hold keeps an implicit transaction open on a kept session: the
	// batch's Sync has not come yet.
	Hold bool `json:"hold,omitempty"`
}

// writes reports whether the request may write (else it is strong reads
// only, which the edge parses the same way to decide).
func (r *forwardRequest) writes() bool {
	p := parser.New()
	texts := []string{r.Query}
	if len(r.Execs) > 0 {
		texts = texts[:0]
		for _, e := range r.Execs {
			texts = append(texts, e.SQL)
		}
	}
	for _, text := range texts {
		stmts, err := p.Parse(text)
		if err != nil {
			return true
		}
		for i := range stmts {
			if !isReadOnlyQuery(&stmts[i]) {
				return true
			}
		}
	}
	return false
}

// forwardExec is one Execute of a bound portal: the statement, the
// parameter types the edge inferred, and the parameters as the client
// sent them.
type forwardExec struct {
	SQL           string   `json:"sql"`
	ParamOIDs     []uint32 `json:"param_oids,omitempty"`
	ParamFormats  []int16  `json:"param_formats,omitempty"`
	Params        [][]byte `json:"params,omitempty"`
	ResultFormats []int16  `json:"result_formats,omitempty"`
}

// forwardResponse is the answer: the results in order, then the error
// that ended the work if any (Failed: the Exec it belongs to), and the
// causality token after the commit.
type forwardResponse struct {
	Events []forwardEvent `json:"events,omitempty"`
	Err    *forwardError  `json:"err,omitempty"`
	Failed int            `json:"failed,omitempty"`
	Token  string         `json:"token,omitempty"`
	// Changed are settings the work changed (set_config() in a SELECT),
	// for the edge session to take over.
	Changed map[string]string `json:"changed,omitempty"`
	// Session is the kept core session while its transaction is open;
	// Status is the core session's transaction status after the work.
	Session uint64 `json:"session,omitempty"`
	Status  byte   `json:"status,omitempty"`
}

// forwardEvent is one ResultWriter call, tagged with its Exec.
type forwardEvent struct {
	Exec   int           `json:"x,omitempty"`
	Kind   byte          `json:"k"`
	Cols   []Column      `json:"cols,omitempty"`
	Row    [][]byte      `json:"row,omitempty"`
	Tag    string        `json:"tag,omitempty"`
	Notice *forwardError `json:"notice,omitempty"`
}

// Event kinds.
const (
	evRowDescription  = 'T'
	evDataRow         = 'D'
	evCommandComplete = 'C'
	evEmptyQuery      = 'I'
	evNotice          = 'N'
)

// forwardError is an sqlerr.Error on the wire.
type forwardError struct {
	Code     string `json:"code"`
	Message  string `json:"msg"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position int    `json:"pos,omitempty"`
	Severity string `json:"sev,omitempty"`
	Where    string `json:"where,omitempty"`
}

func toForwardError(err error) *forwardError {
	e := sqlerr.Convert(err)
	return &forwardError{Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint,
		Position: e.Position, Severity: e.Severity, Where: e.Where}
}

func (f *forwardError) sqlErr() *sqlerr.Error {
	return &sqlerr.Error{Code: f.Code, Message: f.Message, Detail: f.Detail, Hint: f.Hint,
		Position: f.Position, Severity: f.Severity, Where: f.Where}
}

// recorder is the ResultWriter of forwarded work on the core.
type recorder struct {
	exec   int
	events []forwardEvent
}

func (r *recorder) add(e forwardEvent) error {
	e.Exec = r.exec
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) RowDescription(cols []Column) error {
	return r.add(forwardEvent{Kind: evRowDescription, Cols: append([]Column(nil), cols...)})
}

func (r *recorder) DataRow(values [][]byte) error {
	// The session may reuse values once the call returns.
	row := make([][]byte, len(values))
	for i, v := range values {
		if v != nil {
			row[i] = append([]byte{}, v...)
		}
	}
	return r.add(forwardEvent{Kind: evDataRow, Row: row})
}

func (r *recorder) CommandComplete(tag string) error {
	return r.add(forwardEvent{Kind: evCommandComplete, Tag: tag})
}

func (r *recorder) EmptyQuery() error { return r.add(forwardEvent{Kind: evEmptyQuery}) }

func (r *recorder) Notice(n *sqlerr.Error) error {
	return r.add(forwardEvent{Kind: evNotice, Notice: toForwardError(n)})
}

// replay writes one event to w.
func (e *forwardEvent) replay(w ResultWriter) error {
	switch e.Kind {
	case evRowDescription:
		return w.RowDescription(e.Cols)
	case evDataRow:
		return w.DataRow(e.Row)
	case evCommandComplete:
		return w.CommandComplete(e.Tag)
	case evEmptyQuery:
		return w.EmptyQuery()
	case evNotice:
		if e.Notice == nil {
			return nil
		}
		return w.Notice(e.Notice.sqlErr())
	}
	return sqlerr.New(sqlerr.InternalError, "forwarded result: unknown event kind %q", e.Kind)
}

// ---- the edge side ----

// isForwardableWrite reports a DML statement that writes.
func isForwardableWrite(st *parser.Statement) bool {
	if st.Session != nil || st.AsOf != nil {
		return false
	}
	switch st.AST.(type) {
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		return true
	}
	return false
}

// isForwardableRead reports a plain SELECT over user tables only: one
// the core can answer as the edge's leaseholder read would, in one round
// trip instead of two (the catalog version, then the rows). System tables
// stay local: some describe this node (pg_stat_activity, ...).
func isForwardableRead(st *parser.Statement) bool {
	if st.Session != nil || st.AsOf != nil || !isReadOnlyQuery(st) {
		return false
	}
	v := &userTablesOnly{ok: true}
	st.AST.Accept(v)
	return v.ok && v.tables > 0
}

// userTablesOnly visits a statement's table names: ok stays true while
// each is a user table (schema public, or unqualified and not pg_*).
type userTablesOnly struct {
	ok     bool
	tables int
}

func (v *userTablesOnly) Enter(n ast.Node) (ast.Node, bool) {
	if t, isTable := n.(*ast.TableName); isTable {
		schema := strings.ToLower(t.Schema.O)
		if (schema != "" && schema != "public") || strings.HasPrefix(strings.ToLower(t.Name.O), "pg_") {
			v.ok = false
		}
		v.tables++
	}
	return n, !v.ok
}

func (v *userTablesOnly) Leave(n ast.Node) (ast.Node, bool) { return n, v.ok }

// forwardsWrites reports whether this session sends implicit write
// transactions to the core: on an edge node (a Forwarder is set), unless
// the session made new transactions read-only (they fail locally with
// PostgreSQL's error instead).
func (s *Session) forwardsWrites() bool {
	return s.srv.cfg.Forwarder != nil && s.vars.vals["default_transaction_read_only"] != "on"
}

// shouldForwardSimple reports whether a simple query outside a
// transaction goes to the core: every statement a write or a plain read,
// and at least one write, or every one a strong read of user tables (the
// session's settings do not make it a follower read).
func (s *Session) shouldForwardSimple(stmts []parser.Statement) bool {
	if s.remote != nil {
		return true // the transaction runs on the core
	}
	if s.mode == explicitTxn {
		return len(stmts) > 0 && s.startsRemote(&stmts[0])
	}
	if s.mode != noTxn || !s.forwardsWrites() {
		return false
	}
	writes, strongReads := false, s.sessionReadSpec() == nil
	for i := range stmts {
		st := &stmts[i]
		switch {
		case isForwardableWrite(st):
			writes = true
		case st.Session == nil && st.AsOf == nil && isReadOnlyQuery(st):
			strongReads = strongReads && isForwardableRead(st)
		default:
			return false
		}
	}
	return writes || strongReads
}

// startsForwarding reports whether st, the first Execute of a batch
// outside a transaction, makes the batch go to the core.
func (s *Session) startsForwarding(st *parser.Statement) bool {
	if s.mode != noTxn || !s.forwardsWrites() {
		return false
	}
	return isForwardableWrite(st) || (isForwardableRead(st) && s.sessionReadSpec() == nil)
}

// forwardSettings are the session's settings that differ from their
// defaults, for the core's session (read-only ones are the core's own).
func (s *Session) forwardSettings() map[string]string {
	out := map[string]string{}
	for name, val := range s.vars.vals {
		d, ok := settings[name]
		if !ok || d.readOnly || name == "session_authorization" || val == d.def {
			continue
		}
		out[name] = val
	}
	return out
}

// forward sends req to the core and returns its decoded answer, having
// moved the causality token.
func (s *Session) forward(ctx context.Context, req *forwardRequest) (*forwardResponse, error) {
	req.User, req.Database, req.Settings = s.user, s.dbName, s.forwardSettings()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.InternalError, "encoding forwarded statement")
	}
	out, from, err := s.srv.cfg.Forwarder.Forward(ctx, s.remote.nodeOrZero(), b)
	if err != nil {
		s.remoteLost(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.srv.forwarding.failures.Add(1)
		if !req.writes() {
			return nil, sqlerr.New(sqlerr.SystemError, "could not reach the core for a strong read: %v", err).
				WithHint("A follower read (AS OF SYSTEM TIME with_max_staleness('10s'), or SET default_transaction_use_follower_reads = on) is served by this node's replicas.")
		}
		return nil, sqlerr.New(sqlerr.StatementCompletionUnknown,
			"could not forward the write to the core: %v", err).
			WithDetail("The transaction may or may not have committed there.")
	}
	var resp forwardResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		s.remoteLost(ctx)
		return nil, sqlerr.New(sqlerr.StatementCompletionUnknown, "undecodable answer from the core: %v", err)
	}
	s.srv.forwarding.forwarded.Add(1)
	if req.Keep || req.Hold || req.Session != 0 {
		s.followRemote(ctx, &resp, from)
	}
	for name, val := range resp.Changed {
		_ = s.vars.set(name, val)
	}
	// The core read at the present from the leaseholders.
	s.finishLastRead()
	s.edge.last = lastRead{mode: readStrong, servedBy: "leaseholder (forwarded to the core)"}
	if resp.Token != "" {
		if ts, err := parseHLC(resp.Token); err == nil {
			// The edge's clock moves past the commit, so that what this
			// session does next is ordered after it.
			_ = s.observeTimestamp(ts)
			_ = s.vars.set(causalityTokenVar, maxToken(s.vars.vals[causalityTokenVar], formatHLC(ts)))
		}
	}
	return &resp, nil
}

// forwardSimple forwards a simple query and relays its results.
func (s *Session) forwardSimple(ctx context.Context, query string, w ResultWriter) error {
	req := &forwardRequest{Query: query}
	if s.remote != nil {
		req.Session = s.remote.id
	} else if s.mode == explicitTxn {
		req.Keep, req.Begin = true, true
	}
	resp, err := s.forward(ctx, req)
	if err != nil {
		return err
	}
	for i := range resp.Events {
		if err := resp.Events[i].replay(w); err != nil {
			return err
		}
	}
	if resp.Err != nil {
		return resp.Err.sqlErr()
	}
	return nil
}

// DeferExecute is asked by the protocol layer before Execute of portal in
// an extended-protocol batch. It takes the Execute (true) when the batch
// is forwarded: its results then come from RunDeferred at the batch's end,
// with those of the batch's other deferred Executes. A batch starts
// deferring at its first Execute when that is a write outside a
// transaction; from then on every Execute the core can run is deferred
// too. false while deferring means the protocol layer must RunDeferred
// before running this one.
func (s *Session) DeferExecute(name string, maxRows int) bool {
	pt, ok := s.portals[name]
	if !ok || pt.p.stmt == nil || pt.res != nil || pt.done || maxRows != 0 {
		return false
	}
	st := pt.p.stmt
	remote := s.remote != nil || s.openRemote
	switch {
	case remote:
		// Everything of a forwarded transaction goes, but COPY.
		if st.Session != nil && st.Session.Copy != nil {
			return false
		}
	case len(s.deferred) > 0:
		if st.Session != nil || st.AsOf != nil || !(isForwardableWrite(st) || isReadOnlyQuery(st)) {
			return false
		}
	case s.startsRemote(st):
		s.openRemote = true
	case !s.startsForwarding(st):
		return false
	}
	e := forwardExec{SQL: st.SQL, ParamFormats: pt.rawFormats, Params: pt.raw, ResultFormats: pt.formats}
	for _, t := range pt.p.paramTypes {
		oid := uint32(0)
		if t != nil {
			oid = t.Oid()
		}
		e.ParamOIDs = append(e.ParamOIDs, oid)
	}
	s.deferred = append(s.deferred, e)
	return true
}

// RunDeferred forwards the deferred Executes as one transaction and
// returns replay, which writes the results of deferred Execute i. On
// failure, failed is the index of the Execute the error belongs to (the
// ones before it completed, as far as the client can tell: the
// transaction rolled back, as PostgreSQL's does when a batch fails); a
// call that did not complete fails at 0.
func (s *Session) RunDeferred(ctx context.Context, final bool) (replay func(i int, w ResultWriter) error, failed int, err error) {
	execs := s.deferred
	s.deferred = nil
	resp := &forwardResponse{}
	replay = func(i int, w ResultWriter) error {
		for k := range resp.Events {
			if e := &resp.Events[k]; e.Exec == i {
				if err := e.replay(w); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(execs) == 0 && !(final && s.Holding()) {
		return replay, 0, nil
	}
	req := &forwardRequest{Execs: execs}
	if s.remote != nil {
		req.Session = s.remote.id
	} else if s.openRemote {
		req.Keep, req.Begin = true, true
	}
	s.openRemote = false
	if s.mode == noTxn && !final {
		// The batch goes on (a Flush, say): its implicit transaction
		// must stay open on the core until Sync.
		req.Hold = true
	}
	got, err := s.forward(ctx, req)
	if err != nil {
		s.srv.metrics.stmtErrors.Add(1)
		return replay, 0, err
	}
	resp = got
	if resp.Err != nil {
		s.srv.metrics.stmtErrors.Add(1)
		return replay, min(max(resp.Failed, 0), len(execs)-1), resp.Err.sqlErr()
	}
	return replay, 0, nil
}

// ---- the core side ----

// ServeForwarded runs work an edge node forwarded and returns the encoded
// answer. from names the sending node, for the log.
func (srv *Server) ServeForwarded(ctx context.Context, from int32, b []byte) []byte {
	resp := srv.serveForwarded(ctx, from, b)
	if resp.Err != nil && resp.Err.Code == sqlerr.InternalError {
		srv.cfg.Logger.Warn("sql: forwarded work failed", "from", from, "err", resp.Err.Message)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		out, _ = json.Marshal(&forwardResponse{Err: toForwardError(sqlerr.Wrap(err, sqlerr.InternalError, "encoding forwarded results"))})
	}
	return out
}

func (srv *Server) serveForwarded(ctx context.Context, from int32, b []byte) *forwardResponse {
	var req forwardRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return &forwardResponse{Err: toForwardError(sqlerr.New(sqlerr.ProtocolViolation, "undecodable forwarded statement: %v", err))}
	}
	var sess *Session
	var err error
	kept := req.Keep || req.Hold || req.Session != 0
	if kept {
		sess, err = srv.remotes.take(ctx, srv, &req, from)
	} else {
		sess, err = srv.fwdPool.take(ctx, srv, &req)
	}
	if err != nil {
		return &forwardResponse{Err: toForwardError(err), Status: byte(TxnFailed)}
	}
	rec := &recorder{}
	resp := &forwardResponse{}
	if len(req.Execs) == 0 && req.Query != "" {
		err = sess.ExecSimple(ctx, req.Query, rec)
	} else if kept {
		// No retries: the transaction is the client's.
		resp.Failed, err = sess.runForwardedOnce(ctx, req.Execs, rec, !req.Hold)
	} else {
		resp.Failed, err = sess.runForwardedExecs(ctx, req.Execs, rec)
	}
	resp.Status = byte(sess.TxnStatus())
	if kept {
		resp.Session = srv.remotes.put(sess, &req, from)
	} else {
		defer srv.fwdPool.put(sess, &req)
	}
	resp.Events = rec.events
	if err != nil {
		resp.Err = toForwardError(err)
	}
	resp.Token = sess.vars.vals[causalityTokenVar]
	after := poolSettings(sess.forwardSettings())
	for name, val := range after {
		if req.Settings[name] != val {
			resp.Changed = setIn(resp.Changed, name, val)
		}
	}
	for name := range poolSettings(req.Settings) {
		if _, ok := after[name]; !ok {
			resp.Changed = setIn(resp.Changed, name, "default")
		}
	}
	return resp
}

// runForwardedExecs runs forwarded Executes as one implicit transaction,
// as the extended protocol would up to Sync, retrying serialization
// failures (nothing has left the node yet).
func (s *Session) runForwardedExecs(ctx context.Context, execs []forwardExec, rec *recorder) (failed int, err error) {
	for attempt := 0; ; attempt++ {
		rec.events = rec.events[:0]
		failed, err = s.runForwardedOnce(ctx, execs, rec, true)
		if err == nil || !kv.IsRetryable(err) || attempt >= 100 || ctx.Err() != nil {
			return failed, err
		}
	}
}

func (s *Session) runForwardedOnce(ctx context.Context, execs []forwardExec, rec *recorder, sync bool) (int, error) {
	for i, e := range execs {
		rec.exec = i
		err := s.runForwardedExec(ctx, e, rec)
		if err != nil {
			s.Failed(ctx, err)
			_ = s.Sync(ctx)
			return i, err
		}
	}
	if !sync {
		return 0, nil // the batch goes on: its transaction stays open
	}
	// Sync commits; a failed commit belongs to the last Execute.
	if err := s.Sync(ctx); err != nil {
		return max(len(execs)-1, 0), err
	}
	return 0, nil
}

func (s *Session) runForwardedExec(ctx context.Context, e forwardExec, rec *recorder) error {
	// A pooled session keeps the statements it prepared, named by their
	// text and parameter types.
	name := fmt.Sprintf("\x00fwd %v %s", e.ParamOIDs, e.SQL)
	if _, ok := s.prepared[name]; !ok {
		if len(s.prepared) >= maxForwardedPrepared {
			clear(s.prepared)
		}
		if _, err := s.Prepare(ctx, name, e.SQL, e.ParamOIDs); err != nil {
			return err
		}
	}
	if err := s.Bind(ctx, "", name, e.ParamFormats, e.Params, e.ResultFormats); err != nil {
		return err
	}
	suspended, err := s.Execute(ctx, "", 0, rec)
	if err == nil && suspended {
		err = errors.New("forwarded portal suspended")
	}
	if err != nil {
		return err
	}
	return nil
}

func setIn(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// maxForwardedPrepared bounds the statements a pooled session keeps.
const maxForwardedPrepared = 256

// forwardPool keeps idle sessions for forwarded work, by user, database
// and settings, so that forwarded statements skip session setup (reading
// the database and role) and parsing. A session is pooled only while its
// settings are still those it was asked for, and dropped when the catalog
// version it was opened at is no longer the node's (role and database
// changes bump it, so the LOGIN and CONNECT checks are never stale).
type forwardPool struct {
	mu   sync.Mutex
	idle map[string][]*pooledSession
}

type pooledSession struct {
	sess    *Session
	version uint64
}

const maxIdlePerKey = 8

// poolSettings are the settings a pooled session must match: all but the
// causality token, which is set per request.
func poolSettings(settings map[string]string) map[string]string {
	out := maps.Clone(settings)
	delete(out, causalityTokenVar)
	return out
}

func poolKey(req *forwardRequest) string {
	b, _ := json.Marshal(poolSettings(req.Settings)) // map keys are sorted
	return req.User + "\x00" + req.Database + "\x00" + string(b)
}

func (p *forwardPool) take(ctx context.Context, srv *Server, req *forwardRequest) (*Session, error) {
	key := poolKey(req)
	srv.mu.Lock()
	version := srv.mu.version
	srv.mu.Unlock()
	p.mu.Lock()
	for list := p.idle[key]; len(list) > 0; list = p.idle[key] {
		ps := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		if ps.version == version {
			p.mu.Unlock()
			sess := ps.sess
			tok := cmp.Or(req.Settings[causalityTokenVar], "default")
			if err := sess.vars.set(causalityTokenVar, tok); err != nil {
				sess.Close()
				return nil, err
			}
			if err := sess.observeToken(); err != nil {
				sess.Close()
				return nil, err
			}
			return sess, nil
		}
		ps.sess.Close()
	}
	p.mu.Unlock()
	sess, err := srv.openSession(ctx, SessionArgs{User: req.User, Database: req.Database, Params: req.Settings}, false)
	if err != nil {
		return nil, err
	}
	sess.fwdVersion = version
	return sess, nil
}

func (p *forwardPool) put(sess *Session, req *forwardRequest) {
	// set_config() in a forwarded SELECT may have changed a setting.
	if sess.mode != noTxn || !maps.Equal(poolSettings(sess.forwardSettings()), poolSettings(req.Settings)) {
		sess.Close()
		return
	}
	// Sequence values are per client: the next one starts without any.
	clear(sess.seqs.curr)
	sess.seqs.last = nil
	key := poolKey(req)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string][]*pooledSession{}
	}
	if len(p.idle[key]) >= maxIdlePerKey {
		sess.Close()
		return
	}
	p.idle[key] = append(p.idle[key], &pooledSession{sess: sess, version: sess.fwdVersion})
}

// forwardCounters count forwarded work on the edge side.
type forwardCounters struct {
	forwarded, failures atomic.Int64
}

// ForwardMetrics are the edge side's forwarding counters: transactions
// forwarded to the core (answered, successfully or not), and calls that
// did not complete.
type ForwardMetrics struct{ Forwarded, Failures int64 }

// ForwardMetrics returns the forwarding counters.
func (srv *Server) ForwardMetrics() ForwardMetrics {
	return ForwardMetrics{Forwarded: srv.forwarding.forwarded.Load(), Failures: srv.forwarding.failures.Load()}
}
