package sql

// The core's side of forwarding (forward.go): ServeForwarded runs what an
// edge node sent, in a pooled session or in the kept session of a
// forwarded transaction (forward_txn.go).

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

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
	sess.setSeqState(req.Seqs)
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
	if resp.Seqs = sess.seqState(); resp.Seqs == nil {
		resp.Seqs = &forwardSeqs{} // ran: the edge takes "none"
	}
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
	sess.fwd.version = version
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
	p.idle[key] = append(p.idle[key], &pooledSession{sess: sess, version: sess.fwd.version})
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
