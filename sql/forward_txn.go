package sql

// Forwarded explicit transactions. An explicit transaction on an edge node
// whose first statement that touches data is a write or a strong read (and
// that read nothing locally before) runs on a core session kept for it:
// BEGIN and that statement go in one call, every later statement of the
// transaction (COMMIT and ROLLBACK included) in one call each, or one per
// pipelined batch. The edge session mirrors the core session's transaction
// status, so ReadyForQuery says what the core's says. The kept session
// ends with its transaction; an edge session that goes away rolls it back,
// and the core drops one left idle past remoteIdleTimeout (its transaction
// rolls back: a later call fails with 40001, to be retried as a whole).

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// remoteIdleTimeout is how long the core keeps the session of a forwarded
// transaction that receives nothing.
const remoteIdleTimeout = 2 * time.Minute

// remoteTxn is the edge's handle on a kept core session.
type remoteTxn struct {
	id   uint64
	node int32
}

func (r *remoteTxn) nodeOrZero() int32 {
	if r == nil {
		return 0
	}
	return r.node
}

// canStartRemote reports whether the session's explicit transaction may
// move to the core now: fresh (nothing read or written here, no
// savepoint), read-write, not at a fixed timestamp.
func (s *Session) canStartRemote() bool {
	if s.mode != explicitTxn || s.failed || s.fwd.remote != nil || s.txn == nil || !s.forwardsWrites() {
		return false
	}
	if _, hist := s.historical(); hist {
		return false
	}
	// Preparing and describing statements read the catalog in the
	// transaction; that does not tie it here (the core reads the catalog
	// again), but any statement run here does.
	return s.fwd.ranHere != s.txn && !s.txn.Wrote() && !s.txn.IsReadOnly() && len(s.savepoints) == 0 && !s.wroteCatalog
}

// startsRemote reports whether st, as the next statement of the
// explicit transaction, moves it to the core.
func (s *Session) startsRemote(st *parser.Statement) bool {
	return s.canStartRemote() && (isForwardableWrite(st) || isForwardableRead(st))
}

// followRemote mirrors the core session's transaction after forwarded
// work of an explicit transaction.
func (s *Session) followRemote(ctx context.Context, resp *forwardResponse, from int32) {
	if resp.Session == 0 {
		s.fwd.remote = nil
		if s.mode != explicitTxn {
			return // a held implicit transaction ended with its batch
		}
		// The transaction ended there (or never started): end the
		// unused local one too.
		s.rollbackTxn(ctx)
		if TxnStatus(resp.Status) == TxnFailed {
			// The core could not take the transaction (its session is
			// gone): the client must roll back.
			s.beginTxn(explicitTxn)
			s.failed = true
		}
		return
	}
	s.fwd.remote = &remoteTxn{id: resp.Session, node: from}
	if TxnStatus(resp.Status) != TxnIdle {
		// (A held implicit transaction reports idle: it is still the
		// batch's, not the client's.)
		s.mode = explicitTxn
		s.failed = TxnStatus(resp.Status) == TxnFailed
	}
}

// Holding reports an implicit transaction of the current batch held open
// on the core (Forwarding, in pgwire).
func (s *Session) Holding() bool { return s.fwd.remote != nil && s.mode != explicitTxn }

// remoteLost gives up a kept core session after a call that did not
// complete: the client must roll back; the core session is told to roll
// back now (best effort) rather than hold its locks until it is reaped.
func (s *Session) remoteLost(ctx context.Context) {
	if s.fwd.remote == nil {
		return
	}
	s.closeRemote()
	s.failed = true
}

// closeRemote rolls back the kept core session of a session going away,
// in the background.
func (s *Session) closeRemote() {
	r := s.fwd.remote
	s.fwd.remote = nil
	if r == nil {
		return
	}
	req := &forwardRequest{User: s.user, Database: s.dbName, Session: r.id, Query: "ROLLBACK"}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := json.Marshal(req)
		if err == nil {
			_, _, _ = s.srv.cfg.Forwarder.Forward(ctx, r.node, b)
		}
	}()
}

// errRemotePortal refuses what cannot be forwarded inside a forwarded
// transaction.
var errRemotePortal = sqlerr.New(sqlerr.FeatureNotSupported,
	"fetching a portal in parts is not supported inside a transaction forwarded to the core")

// remoteSessions are the core's kept sessions, by ID.
type remoteSessions struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64]*remoteSession
	// reaping: a goroutine reaps idle sessions while any are kept (an
	// edge node that died leaves its transactions' locks behind until
	// then).
	reaping bool
}

type remoteSession struct {
	sess *Session
	from int32
	last time.Time
	busy bool
}

// take returns the kept session req names, or opens one (Keep).
func (r *remoteSessions) take(ctx context.Context, srv *Server, req *forwardRequest, from int32) (*Session, error) {
	r.reap()
	if req.Session != 0 {
		r.mu.Lock()
		defer r.mu.Unlock()
		rs, ok := r.m[req.Session]
		if !ok || rs.from != from || rs.busy {
			return nil, sqlerr.New(sqlerr.SerializationFailure,
				"the transaction's session on the core is gone (node restarted, or idle longer than %s); it was rolled back", remoteIdleTimeout).
				WithHint("Retry the transaction.")
		}
		rs.busy = true
		return rs.sess, nil
	}
	sess, err := srv.openSession(ctx, SessionArgs{User: req.User, Database: req.Database, Params: req.Settings}, false)
	if err != nil {
		return nil, err
	}
	if req.Begin {
		if err := sess.ExecSimple(ctx, "BEGIN", &recorder{}); err != nil {
			sess.Close()
			return nil, err
		}
	}
	return sess, nil
}

// put keeps sess while its transaction is open and returns its ID (0:
// closed).
func (r *remoteSessions) put(sess *Session, req *forwardRequest, from int32) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sess.mode != explicitTxn && !(req.Hold && sess.mode == implicitTxn) {
		if req.Session != 0 {
			delete(r.m, req.Session)
		}
		sess.Close()
		return 0
	}
	id := req.Session
	if id == 0 {
		r.next++
		id = r.next
		if r.m == nil {
			r.m = map[uint64]*remoteSession{}
		}
		r.m[id] = &remoteSession{sess: sess, from: from}
		if !r.reaping {
			r.reaping = true
			go r.reapLoop()
		}
	}
	rs := r.m[id]
	rs.busy, rs.last = false, time.Now()
	return id
}

// reapLoop reaps until no session is kept.
func (r *remoteSessions) reapLoop() {
	for {
		time.Sleep(remoteIdleTimeout / 8)
		r.reap()
		r.mu.Lock()
		if len(r.m) == 0 {
			r.reaping = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// reap closes kept sessions idle past remoteIdleTimeout.
func (r *remoteSessions) reap() {
	r.mu.Lock()
	var dead []*Session
	for id, rs := range r.m {
		if !rs.busy && time.Since(rs.last) > remoteIdleTimeout {
			dead = append(dead, rs.sess)
			delete(r.m, id)
		}
	}
	r.mu.Unlock()
	for _, sess := range dead {
		sess.Close()
	}
}
