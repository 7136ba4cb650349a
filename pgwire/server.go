package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/outpostdb/outpost/sql/sqlerr"
)

// ErrServerClosed is returned by Serve and ListenAndServe once Drain,
// Shutdown or Close has begun.
var ErrServerClosed = errors.New("pgwire: server closed")

// Server accepts PostgreSQL connections and serves each with a Session
// from its Backend.
//
// Goroutines: Serve runs on its caller's goroutine and starts one
// goroutine per accepted connection (two once the handshake is done; see
// conn). Close stops all of them and waits: the Serve loops, then every
// connection.
type Server struct {
	cfg     Config
	backend Backend
	log     *slog.Logger

	// drainCh is closed when draining begins (Drain, Shutdown, Close).
	drainCh chan struct{}
	// noConns is closed when draining and no connection is left.
	noConns chan struct{}
	// wg counts Serve loops and connection goroutines (session
	// goroutines; each waits for its reader).
	wg sync.WaitGroup

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		addr      net.Addr
		// conns holds every connection from accept to close.
		conns map[*conn]struct{}
		// sessions counts conns past register (c.session).
		// Invariant: sessions <= cfg.MaxConnections.
		sessions int
		// byPID finds a session's conn for a CancelRequest.
		byPID         map[uint32]*conn
		draining      bool // drainCh closed; no new connections
		noConnsClosed bool
	}
}

// NewServer returns a Server for backend. cfg's unset fields get defaults;
// Serve reports an invalid cfg.
func NewServer(cfg Config, backend Backend) *Server {
	cfg.EnsureDefaults()
	s := &Server{
		cfg:     cfg,
		backend: backend,
		log:     cfg.Logger,
		drainCh: make(chan struct{}),
		noConns: make(chan struct{}),
	}
	s.mu.listeners = map[net.Listener]struct{}{}
	s.mu.conns = map[*conn]struct{}{}
	s.mu.byPID = map[uint32]*conn{}
	return s
}

// ListenAndServe listens on Config.Addr and serves it (see Serve).
func (s *Server) ListenAndServe() error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until the Server drains or closes, then
// returns ErrServerClosed (or another error from ln). It closes ln. Serve
// may run on several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.cfg.Validate(); err != nil {
		_ = ln.Close()
		return err
	}
	s.mu.Lock()
	if s.mu.draining {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.mu.listeners[ln] = struct{}{}
	if s.mu.addr == nil {
		s.mu.addr = ln.Addr()
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.mu.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isDraining() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("pgwire: accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.drainCh:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.startConn(nc)
	}
}

// startConn serves nc on a new goroutine, unless the server is draining.
func (s *Server) startConn(nc net.Conn) {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.mu.draining {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.mu.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
}

// Addr returns the address of the first listener served, nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addr
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.draining
}

// register counts c as a session (the connection limit) and gives it its
// BackendKeyData. Called by c's session goroutine after the startup
// packet, before authentication, as PostgreSQL does.
func (s *Server) register(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.draining {
		return fatalf(cannotConnectNow, "the database system is shutting down")
	}
	if s.mu.sessions >= s.cfg.MaxConnections {
		return fatalf(sqlerr.TooManyConnections, "sorry, too many clients already")
	}
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		pid := binary.BigEndian.Uint32(b[:4]) &^ (1 << 31)
		if pid == 0 {
			continue
		}
		if _, dup := s.mu.byPID[pid]; dup {
			continue
		}
		c.pid, c.secret = pid, binary.BigEndian.Uint32(b[4:])
		break
	}
	s.mu.byPID[c.pid] = c
	s.mu.sessions++
	c.session = true
	return nil
}

// setReady notes that c's session is up: from now on a drain lets it
// reach an idle point instead of killing it.
func (s *Server) setReady(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ready = true
}

// untrack forgets c; its goroutines are done or about to be.
func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.conns, c)
	if c.session {
		s.mu.sessions--
		delete(s.mu.byPID, c.pid)
	}
	s.maybeNoConnsLocked()
}

func (s *Server) maybeNoConnsLocked() {
	if s.mu.draining && len(s.mu.conns) == 0 && !s.mu.noConnsClosed {
		s.mu.noConnsClosed = true
		close(s.noConns)
	}
}

// cancelRequest serves a CancelRequest: it cancels the statement that the
// session with that BackendKeyData is running, if any. A wrong key does
// nothing (and tells the sender nothing).
func (s *Server) cancelRequest(pid, secret uint32) {
	s.mu.Lock()
	c := s.mu.byPID[pid]
	s.mu.Unlock()
	var want, got [4]byte
	if c != nil {
		binary.BigEndian.PutUint32(want[:], c.secret)
	}
	binary.BigEndian.PutUint32(got[:], secret)
	if c == nil || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		s.log.Debug("pgwire: cancel request with unknown key", "pid", pid)
		return
	}
	s.log.Debug("pgwire: cancel request", "pid", pid)
	c.cancelStatement()
}

// beginDrain stops accepting connections: listeners close, new
// connections are refused (57P03) and connections still in their
// handshake or authentication are killed. Sessions end at their next idle
// point (conn.loop).
func (s *Server) beginDrain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.draining {
		return
	}
	s.mu.draining = true
	close(s.drainCh)
	for ln := range s.mu.listeners {
		_ = ln.Close()
	}
	for c := range s.mu.conns {
		if !c.ready {
			c.kill()
		}
	}
	s.maybeNoConnsLocked()
}

// Drain stops accepting connections and ends the existing ones as they
// become idle: each running query, or extended-protocol batch up to its
// Sync, finishes, then the client gets FATAL 57P01 "terminating connection
// due to administrator command" and the connection closes; idle ones close
// at once. It returns nil when no connection is left, or ctx's error if
// ctx ends first (Close then ends the rest).
func (s *Server) Drain(ctx context.Context) error {
	s.beginDrain()
	select {
	case <-s.noConns:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown drains the server (Drain) until ctx ends, then closes what is
// left (Close): running statements are canceled and their clients get
// FATAL 57P01. It returns Drain's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.Drain(ctx)
	s.Close()
	return err
}

// Close ends everything now: listeners close, every connection's running
// statement is canceled, its client gets FATAL 57P01 (if it reads within a
// second) and the connection closes. Close waits for every goroutine of
// the Server, Serve loops included, to end. It always returns nil.
func (s *Server) Close() error {
	s.beginDrain()
	s.mu.Lock()
	for c := range s.mu.conns {
		c.kill()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
