package pgwire

import (
	"context"

	"github.com/outpostdb/outpost/sql"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Forwarding is implemented by Sessions that can send the Executes of an
// extended-protocol batch elsewhere as one unit (an edge node forwarding
// writes to the core, sql/forward.go), so that a batch costs one round
// trip there instead of several per statement.
//
// pgwire asks DeferExecute before each Execute. A deferred Execute writes
// nothing yet: pgwire notes where its results go in the output and holds
// the output back (no flush) until it calls RunDeferred: at Sync, at any
// message other than Parse, Bind, Describe, Execute and Close, at an
// error, or at an Execute the Session does not defer. It then splices
// each Execute's results in at its place. When RunDeferred fails at
// Execute k, the output is cut after k's results, the error follows, and
// the batch is skipped up to Sync, as if Execute k had failed in order.
//
// final tells RunDeferred whether the batch ends (Sync): before that, the
// Session must keep the batch's transaction open wherever it runs it. At
// Sync pgwire calls RunDeferred even without deferred Executes while
// Holding reports such an open transaction.
type Forwarding interface {
	DeferExecute(portal string, maxRows int) bool
	RunDeferred(ctx context.Context, final bool) (replay func(i int, w sql.ResultWriter) error, failed int, err error)
	Holding() bool
}

// deferExecute offers Execute of portal to the Session for deferral.
func (c *conn) deferExecute(portal string, maxRows int) bool {
	f, ok := c.sess.(Forwarding)
	if !ok || !f.DeferExecute(portal, maxRows) {
		return false
	}
	c.deferred = append(c.deferred, len(c.wbuf))
	return true
}

// holdingOutput reports whether flushing must wait: deferred results
// still have to be spliced in before what is buffered.
func (c *conn) holdingOutput() bool { return len(c.deferred) > 0 || c.splicing }

// runDeferred runs the deferred Executes, if any (final: at Sync), and
// puts their results (and error) in place. It returns false when the
// connection must end.
func (c *conn) runDeferred(final bool) bool {
	f, ok := c.sess.(Forwarding)
	if !ok || (len(c.deferred) == 0 && !(final && f.Holding())) {
		return true
	}
	offsets := c.deferred
	c.deferred = nil
	var replay func(int, sql.ResultWriter) error
	var k int
	ctx, err := c.call(func(ctx context.Context) error {
		var err error
		replay, k, err = f.RunDeferred(ctx, final)
		return err
	})
	if replay == nil {
		replay = func(int, sql.ResultWriter) error { return nil }
	}
	if len(offsets) == 0 {
		// Only the held transaction's commit: its error, if any.
		if err != nil {
			c.ignoreTillSync = true
			return !c.stmtError(ctx, err)
		}
		return c.writeErr == nil
	}
	k = min(max(k, 0), len(offsets)-1)
	if err != nil {
		// What followed Execute k was never meant to reach the client.
		c.wbuf = c.wbuf[:offsets[k]]
		offsets = offsets[:k+1]
	}
	c.splice(offsets, replay)
	if err != nil {
		c.ignoreTillSync = true
		return !c.stmtError(ctx, err)
	}
	return c.writeErr == nil
}

// splice writes the results of deferred Execute i at offsets[i], in one
// pass over the held output.
func (c *conn) splice(offsets []int, replay func(int, sql.ResultWriter) error) {
	c.splicing = true
	defer func() { c.splicing = false }()
	held := append([]byte(nil), c.wbuf[offsets[0]:]...)
	c.wbuf = c.wbuf[:offsets[0]]
	for i, at := range offsets {
		start := len(c.wbuf)
		if err := replay(i, &c.ext); err != nil && c.writeErr == nil {
			// Only an unencodable row fails here; the client gets the
			// error in place of that statement's results.
			c.wbuf = c.wbuf[:start]
			_ = c.send(errorResponse(sqlerr.Convert(err), severityError))
		}
		end := len(held)
		if i+1 < len(offsets) {
			end = offsets[i+1] - offsets[0]
		}
		c.wbuf = append(c.wbuf, held[at-offsets[0]:end]...)
	}
}
