package sql

import (
	"context"

	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// prepared is a parsed statement with its parameter types.
type prepared struct {
	stmt       *parser.Statement // nil for an empty query
	paramTypes []*types.T
	cols       []plan.ResultCol // nil: no rows
}

// portal is a prepared statement bound to parameter values; a suspended
// portal keeps its running result between Execute messages.
type portal struct {
	p       *prepared
	params  []types.Datum
	formats []int16
	// raw and rawFormats are the parameters as the client sent them, for
	// forwarding (forward.go).
	raw        [][]byte
	rawFormats []int16
	res        *result
	done       bool
	tag        string
}

func (p *portal) doneTag() string { return p.tag }

func (p *portal) close() {
	if p.res != nil {
		p.res.close()
		p.res = nil
	}
}

// Prepare parses and plans query as statement name.
func (s *Session) Prepare(ctx context.Context, name, query string, paramOIDs []uint32) (*StatementDescription, error) {
	if err := s.extendedGuard(); err != nil {
		return nil, err
	}
	if name != "" {
		if _, dup := s.prepared[name]; dup {
			return nil, s.batchError(sqlerr.New(sqlerr.DuplicatePreparedStatement, "prepared statement %q already exists", name))
		}
	}
	if err := checkUTF8(query); err != nil {
		return nil, s.batchError(err)
	}
	stmts, err := s.parser.Parse(query)
	if err != nil {
		return nil, s.batchError(err)
	}
	if len(stmts) > 1 {
		return nil, s.batchError(sqlerr.New(sqlerr.SyntaxError, "cannot insert multiple commands into a prepared statement"))
	}
	p := &prepared{}
	for _, oid := range paramOIDs {
		if oid == 0 {
			p.paramTypes = append(p.paramTypes, nil)
			continue
		}
		t, ok := types.OidToType(oid)
		if !ok {
			return nil, s.batchError(sqlerr.New(sqlerr.UndefinedObject, "type with OID %d does not exist", oid))
		}
		p.paramTypes = append(p.paramTypes, t)
	}
	if len(stmts) == 1 {
		p.stmt = &stmts[0]
		if err := s.describe(ctx, p); err != nil {
			return nil, s.batchError(addPosition(err, p.stmt.SQL))
		}
	}
	s.prepared[name] = p
	return p.description(s), nil
}

func (p *prepared) description(s *Session) *StatementDescription {
	d := &StatementDescription{ParamTypes: make([]uint32, len(p.paramTypes))}
	for i, t := range p.paramTypes {
		if t == nil {
			t = types.Text
		}
		d.ParamTypes[i] = t.Oid()
	}
	if p.cols != nil {
		d.Columns = s.columns(p.cols, nil)
	}
	return d
}

// describe plans the statement once (in a throwaway read of the catalog) to
// learn its parameter and result types.
func (s *Session) describe(ctx context.Context, p *prepared) error {
	st := p.stmt
	if st.Session != nil {
		switch {
		case st.Session.Kind == pgdialect.Show && st.Session.Name == "last_read":
			p.cols = lastReadCols
		case st.Session.Kind == pgdialect.Show && st.Session.Name == "ranges" && s.srv.cfg.Ranges != nil:
			p.cols = showRangesCols
		case st.Session.Kind == pgdialect.Show:
			p.cols = []plan.ResultCol{{Name: st.Session.Name, T: types.Text}}
		case st.Session.Kind == pgdialect.SplitAt:
			p.cols = splitAtCols
		}
		return nil
	}
	for len(p.paramTypes) < st.NumParams {
		p.paramTypes = append(p.paramTypes, nil)
	}
	// A statement that will run on the core is described here in a
	// throwaway transaction too, even inside a transaction (forward_txn.go).
	own := s.txn == nil || s.fwd.remote != nil || s.startsRemote(st)
	if own {
		outer := s.txn
		s.txn = s.describeTxn(ctx, st)
		defer func() {
			s.txn.Rollback(ctx)
			s.txn = outer
		}()
	}
	cols, paramTypes, err := s.plan(ctx, st, p.paramTypes)
	if err != nil && own && s.txn.IsReadOnly() {
		// The local replicas' catalog may predate an object the
		// statement names: describe it from the present.
		s.txn.Rollback(ctx)
		s.txn = s.srv.db.NewTxn("describe")
		cols, paramTypes, err = s.plan(ctx, st, p.paramTypes)
	}
	if err != nil {
		return err
	}
	p.cols, p.paramTypes = cols, paramTypes
	return nil
}

// plan builds a statement only to describe it.
func (s *Session) plan(ctx context.Context, st *parser.Statement, paramTypes []*types.T) ([]plan.ResultCol, []*types.T, error) {
	res, err := s.planOnly(ctx, st, paramTypes)
	if err != nil {
		return nil, nil, err
	}
	return res.cols, res.paramTypes, nil
}

// Bind creates a portal.
func (s *Session) Bind(ctx context.Context, portalName, stmtName string, paramFormats []int16, params [][]byte, resultFormats []int16) error {
	if err := s.extendedGuard(); err != nil {
		return err
	}
	p, ok := s.prepared[stmtName]
	if !ok {
		return s.batchError(sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", stmtName))
	}
	if len(params) != len(p.paramTypes) {
		return s.batchError(sqlerr.New(sqlerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d", len(params), stmtName, len(p.paramTypes)))
	}
	if len(paramFormats) > 1 && len(paramFormats) != len(params) {
		return s.batchError(sqlerr.New(sqlerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters", len(paramFormats), len(params)))
	}
	vals := make([]types.Datum, len(params))
	for i, raw := range params {
		if raw == nil {
			vals[i] = types.Null
			continue
		}
		t := p.paramTypes[i]
		if t == nil {
			t = types.Text
		}
		var d types.Datum
		var err error
		if formatFor(paramFormats, i) == 1 {
			d, err = types.DecodeBinary(t, raw)
		} else {
			if err := checkUTF8(string(raw)); err != nil {
				return s.batchError(err)
			}
			d, err = types.ParseText(t, string(raw), s.evalContext())
		}
		if err != nil {
			return s.batchError(err)
		}
		vals[i] = d
	}
	if old, ok := s.portals[portalName]; ok {
		if portalName != "" {
			return s.batchError(sqlerr.New(sqlerr.DuplicateCursor, "portal %q already exists", portalName))
		}
		old.close()
	}
	s.portals[portalName] = &portal{p: p, params: vals, formats: resultFormats, raw: params, rawFormats: paramFormats}
	return nil
}

// DescribeStatement describes a prepared statement.
func (s *Session) DescribeStatement(ctx context.Context, name string) (*StatementDescription, error) {
	if err := s.extendedGuard(); err != nil {
		return nil, err
	}
	p, ok := s.prepared[name]
	if !ok {
		return nil, s.batchError(sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", name))
	}
	return p.description(s), nil
}

// DescribePortal describes a portal's result columns (nil: no rows).
func (s *Session) DescribePortal(ctx context.Context, name string) ([]Column, error) {
	if err := s.extendedGuard(); err != nil {
		return nil, err
	}
	pt, ok := s.portals[name]
	if !ok {
		return nil, s.batchError(sqlerr.New(sqlerr.InvalidCursorName, "portal %q does not exist", name))
	}
	if pt.p.cols == nil {
		return nil, nil
	}
	return s.columns(pt.p.cols, pt.formats), nil
}

// Execute runs a portal, at most maxRows rows (0 = all).
func (s *Session) Execute(ctx context.Context, name string, maxRows int, w ResultWriter) (bool, error) {
	if err := s.extendedGuard(); err != nil {
		return false, err
	}
	pt, ok := s.portals[name]
	if !ok {
		return false, s.batchError(sqlerr.New(sqlerr.InvalidCursorName, "portal %q does not exist", name))
	}
	if pt.p.stmt == nil {
		return false, w.EmptyQuery()
	}
	if s.fwd.remote != nil {
		// What DeferExecute did not take cannot run here: the
		// transaction lives on the core.
		return false, s.batchError(errRemotePortal)
	}
	st := pt.p.stmt
	if s.mode == explicitTxn && s.failed && !allowedInFailedTxn(st) {
		return false, s.batchError(errInFailedTxn)
	}
	if pt.res == nil {
		if pt.done {
			return false, w.CommandComplete(pt.doneTag())
		}
		if st.Session != nil {
			s.resultFormats = pt.formats
			err := s.runSessionStmt(ctx, st, noRowDescription{w})
			s.resultFormats = nil
			if err != nil {
				return false, s.batchError(err)
			}
			return false, nil
		}
		if s.txn == nil {
			s.beginTxn(implicitTxn)
		}
		res, err := s.execute(ctx, st, pt.params, pt.p.paramTypes)
		if err != nil {
			return false, s.batchError(addPosition(err, st.SQL))
		}
		if err := s.flushNotices(w); err != nil {
			return false, err
		}
		pt.res = res
	}
	res := pt.res
	// A resumed portal runs under this message's context: the one it
	// started with ended with the previous Execute.
	res.ec.Ctx = ctx
	n, err := res.drain(s, w, pt.formats, maxRows)
	if err != nil {
		pt.close()
		return false, s.batchError(err)
	}
	if maxRows > 0 && !res.exhausted && res.node != nil {
		// Rows may remain: PostgreSQL suspends the portal even when the
		// limit happened to take the last row.
		return true, nil
	}
	tag := res.tag(n)
	pt.close()
	pt.done = true
	pt.tag = tag
	return false, w.CommandComplete(tag)
}

// CloseStatement drops a prepared statement (no error if absent).
func (s *Session) CloseStatement(ctx context.Context, name string) error {
	delete(s.prepared, name)
	return nil
}

// ClosePortal drops a portal (no error if absent).
func (s *Session) ClosePortal(ctx context.Context, name string) error {
	if p, ok := s.portals[name]; ok {
		p.close()
		delete(s.portals, name)
	}
	return nil
}

// Sync ends an extended-protocol batch: an implicit transaction commits, or
// rolls back if the batch failed.
func (s *Session) Sync(ctx context.Context) error {
	failed := s.batchFailed
	s.batchFailed = false
	if s.mode != implicitTxn {
		return nil
	}
	if failed {
		s.rollbackTxn(ctx)
		return nil
	}
	for name, p := range s.portals {
		if name == "" {
			p.close()
		}
	}
	return s.commitTxn(ctx)
}

// extendedGuard refuses work in a failed explicit transaction.
func (s *Session) extendedGuard() error { return nil }

// batchError records an error of an extended-protocol message: the
// implicit transaction will roll back at Sync, an explicit one is failed.
func (s *Session) batchError(err error) error {
	s.srv.metrics.stmtErrors.Add(1)
	s.batchFailed = true
	if s.mode == explicitTxn {
		s.failed = true
	}
	return err
}

// noRowDescription drops RowDescription: in the extended protocol the
// client learned the columns from Describe.
type noRowDescription struct{ ResultWriter }

func (noRowDescription) RowDescription([]Column) error { return nil }
