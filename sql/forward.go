package sql

// Write forwarding (issue 5): an edge node holds no leases, so a write run
// there pays a WAN round trip for every read of the catalog, every write
// batch and the commit. Instead the edge sends the work to a core node in
// one call; the core runs it as its own client would and sends back the
// results, which the edge relays. The client pays one WAN round trip plus
// the core's commit.
//
// What is forwarded:
//   - outside a transaction, a simple query whose statements are all
//     INSERT, UPDATE, DELETE or SELECT with at least one write, or all
//     strong SELECTs of user tables;
//   - an extended-protocol batch whose first Execute is such a statement
//     (then every later Execute of the batch too, so that they stay in the
//     batch's one transaction); pgwire defers their output (pgwire/forward.go);
//   - an explicit transaction whose first data statement is, from then on
//     (forward_txn.go).
//
// Session statements (SET, COPY, ...) and DDL outside forwarded
// transactions run locally as before.
//
// The core (forward_core.go) runs the work in a session for the same user
// and database with the edge session's settings, so names, privileges,
// search path, time zone and the causality token apply as they would on
// the edge. Serialization failures of implicit work are retried on the
// core (its output is buffered until the end, so nothing has reached the
// client). After the commit the edge session's causality token moves to
// the core's commit timestamp. The wire form is in forward_wire.go.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Forwarder carries a forwarded transaction to a core node and brings back
// its answer, both opaque (forward_wire.go encodes them). An error means the
// call did not complete; whether the work ran there is then unknown.
type Forwarder interface {
	// An error wrapping ErrForwardNotSent means the request never left:
	// nothing ran on the core.
	// Forward sends req to core node node (0: the Forwarder picks one)
	// and returns the answer and the node that gave it.
	Forward(ctx context.Context, node int32, req []byte) (resp []byte, from int32, err error)
}

// ErrForwardNotSent is wrapped by Forwarder errors for requests that were
// never sent (NotSent makes one).
var ErrForwardNotSent = errors.New("not sent")

// NotSent marks err as a Forwarder error for a request that was never
// sent, keeping err's message.
func NotSent(err error) error { return notSent{err} }

type notSent struct{ error }

func (e notSent) Unwrap() []error { return []error{e.error, ErrForwardNotSent} }

// forwardState is a session's part in forwarding.
type forwardState struct {
	// deferred are the Executes of the current extended-protocol batch
	// that will be forwarded to the core at its end; deferredReadOnly:
	// they are strong reads outside a transaction.
	deferred         []forwardExec
	deferredReadOnly bool
	// remote is the core session running this session's transaction,
	// when it was forwarded (forward_txn.go); openRemote: the deferred
	// Executes open one.
	remote     *remoteTxn
	openRemote bool
	// ranHere is the transaction a statement last ran in on this node:
	// one that did cannot move to the core.
	ranHere *kv.Txn
	// uncounted: a session for forwarded work on the core, not counted
	// against the role's connection limit there; version: the catalog
	// version it was opened at (forwardPool).
	uncounted bool
	version   uint64
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
	if s.fwd.remote != nil {
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
	req.Seqs = s.seqState()
	b, err := json.Marshal(req)
	if err != nil {
		return nil, sqlerr.Wrap(err, sqlerr.InternalError, "encoding forwarded statement")
	}
	out, from, err := s.srv.cfg.Forwarder.Forward(ctx, s.fwd.remote.nodeOrZero(), b)
	if err != nil {
		s.remoteLost(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.srv.forwarding.failures.Add(1)
		if req.readOnly {
			return nil, sqlerr.New(sqlerr.SystemError, "could not reach the core for a strong read: %v", err).
				WithHint("A follower read (AS OF SYSTEM TIME with_max_staleness('10s'), or SET default_transaction_use_follower_reads = on) is served by this node's replicas.")
		}
		if errors.Is(err, ErrForwardNotSent) {
			return nil, sqlerr.New(sqlerr.SystemError, "could not reach the core to forward the write: %v", err).
				WithDetail("Nothing was sent: the write did not happen.")
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
	if resp.Seqs != nil { // the work ran (nil: it could not start)
		s.setSeqState(resp.Seqs)
	}
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
func (s *Session) forwardSimple(ctx context.Context, query string, stmts []parser.Statement, w ResultWriter) error {
	req := &forwardRequest{Query: query, readOnly: s.mode == noTxn}
	for i := range stmts {
		req.readOnly = req.readOnly && isReadOnlyQuery(&stmts[i])
	}
	if s.fwd.remote != nil {
		req.Session = s.fwd.remote.id
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
	remote := s.fwd.remote != nil || s.fwd.openRemote
	switch {
	case remote:
		// Everything of a forwarded transaction goes, but COPY.
		if st.Session != nil && st.Session.Copy != nil {
			return false
		}
	case len(s.fwd.deferred) > 0:
		if st.Session != nil || st.AsOf != nil || !(isForwardableWrite(st) || isReadOnlyQuery(st)) {
			return false
		}
	case s.startsRemote(st):
		s.fwd.openRemote = true
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
	if len(s.fwd.deferred) == 0 {
		s.fwd.deferredReadOnly = !remote && !s.fwd.openRemote
	}
	s.fwd.deferredReadOnly = s.fwd.deferredReadOnly && isReadOnlyQuery(st)
	s.fwd.deferred = append(s.fwd.deferred, e)
	return true
}

// RunDeferred forwards the deferred Executes as one transaction and
// returns replay, which writes the results of deferred Execute i. On
// failure, failed is the index of the Execute the error belongs to (the
// ones before it completed, as far as the client can tell: the
// transaction rolled back, as PostgreSQL's does when a batch fails); a
// call that did not complete fails at 0.
func (s *Session) RunDeferred(ctx context.Context, final bool) (replay func(i int, w ResultWriter) error, failed int, err error) {
	execs := s.fwd.deferred
	s.fwd.deferred = nil
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
	req := &forwardRequest{Execs: execs, readOnly: s.fwd.deferredReadOnly && s.fwd.remote == nil}
	if s.fwd.remote != nil {
		req.Session = s.fwd.remote.id
	} else if s.fwd.openRemote {
		req.Keep, req.Begin = true, true
	}
	s.fwd.openRemote = false
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
