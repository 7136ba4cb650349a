package pgwire

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgproto3/v2"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// forwardingSession defers every Execute it can (all rows wanted) and runs
// the deferred ones at RunDeferred, as an edge node's session forwards a
// batch to the core.
type forwardingSession struct {
	*fakeSession
	deferred []*fakePortal
}

var _ Forwarding = (*forwardingSession)(nil)

func (s *forwardingSession) DeferExecute(portal string, maxRows int) bool {
	p, ok := s.portals[portal]
	if !ok || maxRows != 0 {
		return false
	}
	s.deferred = append(s.deferred, p)
	return true
}

func (s *forwardingSession) Holding() bool { return false }

func (s *forwardingSession) RunDeferred(ctx context.Context, final bool) (func(int, sql.ResultWriter) error, int, error) {
	ps := s.deferred
	s.deferred = nil
	recs := make([]*callRecorder, len(ps))
	replay := func(i int, w sql.ResultWriter) error {
		if recs[i] == nil {
			return nil
		}
		for _, call := range recs[i].calls {
			if err := call(w); err != nil {
				return err
			}
		}
		return nil
	}
	for i, p := range ps {
		recs[i] = &callRecorder{}
		if err := s.run(ctx, p.stmt, p, p.params, 0, recs[i], false); err != nil {
			s.fail()
			return replay, i, err
		}
	}
	return replay, 0, nil
}

// callRecorder records ResultWriter calls to replay them later.
type callRecorder struct {
	calls []func(sql.ResultWriter) error
}

func (r *callRecorder) add(f func(sql.ResultWriter) error) error {
	r.calls = append(r.calls, f)
	return nil
}

func (r *callRecorder) RowDescription(cols []sql.Column) error {
	cols = append([]sql.Column(nil), cols...)
	return r.add(func(w sql.ResultWriter) error { return w.RowDescription(cols) })
}

func (r *callRecorder) DataRow(values [][]byte) error {
	row := make([][]byte, len(values))
	for i, v := range values {
		if v != nil {
			row[i] = append([]byte{}, v...)
		}
	}
	return r.add(func(w sql.ResultWriter) error { return w.DataRow(row) })
}

func (r *callRecorder) CommandComplete(tag string) error {
	return r.add(func(w sql.ResultWriter) error { return w.CommandComplete(tag) })
}

func (r *callRecorder) EmptyQuery() error {
	return r.add(func(w sql.ResultWriter) error { return w.EmptyQuery() })
}

func (r *callRecorder) Notice(n *sqlerr.Error) error {
	return r.add(func(w sql.ResultWriter) error { return w.Notice(n) })
}

// TestDeferredExecutesKeepOrder: random extended-protocol batches (with
// failing Parse, Bind and Execute messages, Describe, row limits, Flush and
// simple queries between them) get exactly the same answers from a
// session that defers its Executes to the batch's end as from one that
// runs them in turn: results are spliced in at their place, and an error
// of a deferred Execute cuts the batch there.
func TestDeferredExecutesKeepOrder(t *testing.T) {
	plain := startServer(t, Config{})
	fwd := startServer(t, Config{})
	fwd.backend.forwarding = true
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	queries := []string{"SELECT 1", "SELECT 1/0", "SELECT generate_series(1, 3)", "SELECT $1::int",
		"SELECT 'a' AS x, 2", "BOGUS", "", "SELECT $1::int, $2::text", "SELECT 1 FROM t", "SHOW nosuch", "SHOW TimeZone"}
	for iter := 0; iter < 150; iter++ {
		var msgs []pgproto3.FrontendMessage
		syncs := 0
		for b := 1 + rng.IntN(3); b > 0; b-- {
			if rng.IntN(4) == 0 {
				msgs = append(msgs, &pgproto3.Query{String: "SELECT 5"})
				syncs++
			}
			for n := 1 + rng.IntN(5); n > 0; n-- {
				q := queries[rng.IntN(len(queries))]
				msgs = append(msgs, &pgproto3.Parse{Query: q})
				var params [][]byte
				for i := 0; i < strings.Count(q, "$"); i++ {
					params = append(params, []byte([]string{"7", "x"}[rng.IntN(2)]))
				}
				msgs = append(msgs, &pgproto3.Bind{Parameters: params})
				if rng.IntN(3) == 0 {
					msgs = append(msgs, &pgproto3.Describe{ObjectType: 'P'})
				}
				msgs = append(msgs, &pgproto3.Execute{MaxRows: uint32([]int{0, 0, 0, 1}[rng.IntN(4)])})
				if rng.IntN(6) == 0 {
					msgs = append(msgs, &pgproto3.Flush{})
				}
			}
			msgs = append(msgs, &pgproto3.Sync{})
			syncs++
		}
		want := exchange(t, plain.addr, msgs, syncs)
		got := exchange(t, fwd.addr, msgs, syncs)
		if want != got {
			t.Fatalf("iteration %d: sent\n%s\nin turn:\n%s\ndeferred:\n%s", iter, describe(msgs), want, got)
		}
	}
}

// exchange sends msgs on a new connection and returns the answers up to
// the syncs-th ReadyForQuery, one per line.
func exchange(t *testing.T, addr string, msgs []pgproto3.FrontendMessage, syncs int) string {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.nc.Close()
	c.startup()
	c.send(msgs...)
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	for syncs > 0 {
		msg, err := c.fe.Receive()
		if err != nil {
			t.Fatalf("reading answers: %v (so far:\n%s)", err, b.String())
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			fmt.Fprintf(&b, "ErrorResponse %s %s\n", e.Code, e.Message)
			continue
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			syncs--
		}
		fmt.Fprintf(&b, "%T %+v\n", msg, msg)
	}
	c.send(&pgproto3.Terminate{})
	return b.String()
}

func describe(msgs []pgproto3.FrontendMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "%T %+v\n", m, m)
	}
	return b.String()
}
