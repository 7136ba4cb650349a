package sql

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgcatalog"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

type txnMode int8

const (
	noTxn       txnMode = iota
	implicitTxn         // one simple-query message or one extended batch (until Sync)
	explicitTxn         // BEGIN ... COMMIT
)

// Session runs statements for one connection. It is driven by one goroutine
// at a time (the connection's); nothing in it is shared.
type Session struct {
	// resultFormats are the result formats of the portal whose session
	// statement is running (extended protocol), nil otherwise.
	resultFormats []int16
	srv           *Server
	parser        *parser.Parser
	user          string
	dbName        string
	dbID          catalog.ID
	vars          *sessionVars
	// roleOID is the session user's role: it owns what the session
	// creates.
	roleOID uint32
	// roleMemo remembers the role read in the current transaction.
	roleMemo roleMemo

	txn    *kv.Txn
	mode   txnMode
	failed bool // explicit transaction hit an error: only ROLLBACK is accepted

	prepared map[string]*prepared
	portals  map[string]*portal
	// batchFailed: an extended-protocol message failed; Sync rolls back.
	batchFailed bool

	seqs *sessionSequences
	// savepoints open in the explicit transaction, innermost last.
	savepoints []namedSavepoint
	// wroteCatalog: the transaction changed the schema, so its reads of
	// descriptors must not populate the shared cache.
	wroteCatalog bool
	// pendingNotices are sent before the current statement's completion.
	pendingNotices []*sqlerr.Error
	// edge is the historical/follower read state (asof.go).
	edge edgeState
	// fwd is the session's write-forwarding state (forward.go).
	fwd forwardState
}

func (s *Session) flushNotices(w ResultWriter) error {
	ns := s.pendingNotices
	s.pendingNotices = nil
	for _, n := range ns {
		if err := w.Notice(n); err != nil {
			return err
		}
	}
	return nil
}

func newSession(srv *Server, args SessionArgs, dbID catalog.ID, dbName string) *Session {
	s := &Session{
		srv:      srv,
		parser:   parser.New(),
		user:     args.User,
		dbName:   dbName,
		dbID:     dbID,
		vars:     newSessionVars(args),
		prepared: map[string]*prepared{},
		portals:  map[string]*portal{},
	}
	s.seqs = &sessionSequences{s: s, curr: map[catalog.ID]int64{}}
	return s
}

// Close ends the session, rolling back any open transaction.
func (s *Session) Close() {
	s.closeRemote()
	if !s.fwd.uncounted {
		s.srv.releaseConn(s.user)
	}
	if s.txn != nil {
		s.txn.Rollback(context.Background())
		s.txn = nil
	}
	for _, p := range s.portals {
		p.close()
	}
}

// TxnStatus reports I, T or E for ReadyForQuery.
func (s *Session) TxnStatus() TxnStatus {
	switch {
	case s.mode == explicitTxn && s.failed:
		return TxnFailed
	case s.mode == explicitTxn:
		return TxnInProg
	}
	return TxnIdle
}

// ParameterStatus returns the reportable settings (all, or the changed ones
// since the last call).
func (s *Session) ParameterStatus(changedOnly bool) map[string]string {
	return s.vars.reportable(changedOnly)
}

func (s *Session) evalContext() *types.EvalContext {
	return &types.EvalContext{Now: time.Now(), Location: s.vars.location(), User: s.user}
}

// ---- transactions ----

func (s *Session) beginTxn(mode txnMode) {
	s.txn = s.srv.db.NewTxn("sql")
	s.mode = mode
	s.failed = false
	s.applyDefaultReadOnly()
}

func (s *Session) commitTxn(ctx context.Context) error {
	txn := s.txn
	s.txn, s.mode, s.failed, s.savepoints, s.wroteCatalog = nil, noTxn, false, nil, false
	s.closePortals()
	if txn == nil {
		return nil
	}
	if err := txn.Commit(ctx); err != nil {
		txn.Rollback(ctx)
		return err
	}
	s.noteCommit(txn)
	return nil
}

func (s *Session) rollbackTxn(ctx context.Context) {
	if s.txn != nil {
		s.txn.Rollback(ctx)
	}
	s.txn, s.mode, s.failed, s.savepoints, s.wroteCatalog = nil, noTxn, false, nil, false
	s.closePortals()
}

type namedSavepoint struct {
	name string
	sp   kv.Savepoint
}

func (s *Session) closePortals() {
	for _, p := range s.portals {
		p.close()
	}
}

// ---- simple query protocol ----

// ExecSimple runs a simple-query string with PostgreSQL's implicit
// transaction rules: the statements of one message form one transaction
// unless they control transactions themselves.
func (s *Session) ExecSimple(ctx context.Context, query string, w ResultWriter) error {
	if err := checkUTF8(query); err != nil {
		return err
	}
	stmts, err := s.parser.Parse(query)
	if err != nil {
		s.srv.metrics.stmtErrors.Add(1)
		if s.mode == explicitTxn {
			s.failed = true
		}
		return err
	}
	if len(stmts) == 0 {
		return w.EmptyQuery()
	}
	if s.shouldForwardSimple(stmts) {
		err := s.forwardSimple(ctx, query, stmts, w)
		if err != nil {
			s.srv.metrics.stmtErrors.Add(1)
		}
		return err
	}
	if s.mode == noTxn && len(stmts) == 1 && stmts[0].Session == nil {
		err := s.runAutocommit(ctx, &stmts[0], w)
		if err != nil {
			s.srv.metrics.stmtErrors.Add(1)
		}
		return err
	}
	for i := range stmts {
		st := &stmts[i]
		if s.mode == explicitTxn && s.failed && !allowedInFailedTxn(st) {
			return errInFailedTxn
		}
		if s.mode == noTxn && st.Session == nil {
			s.beginTxn(implicitTxn)
		}
		if err := s.runStatement(ctx, st, nil, nil, w, true, 0); err != nil {
			s.statementFailed(ctx)
			return err
		}
	}
	if s.mode == implicitTxn {
		return s.commitTxn(ctx)
	}
	return nil
}

var errInFailedTxn = sqlerr.New(sqlerr.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")

func allowedInFailedTxn(st *parser.Statement) bool {
	if st.Session == nil {
		return false
	}
	switch st.Session.Kind {
	case pgdialect.Rollback, pgdialect.RollbackToSavepoint, pgdialect.Commit:
		return true
	}
	return false
}

// Failed is told about errors that the protocol layer raised for a message
// before the session saw it: they fail the transaction like any other.
func (s *Session) Failed(ctx context.Context, err error) {
	s.batchFailed = true
	s.statementFailed(ctx)
}

// statementFailed applies PostgreSQL's rule after an error: an implicit
// transaction is rolled back, an explicit one is marked failed.
func (s *Session) statementFailed(ctx context.Context) {
	s.srv.metrics.stmtErrors.Add(1)
	switch s.mode {
	case implicitTxn:
		s.rollbackTxn(ctx)
	case explicitTxn:
		s.failed = true
	}
}

// runAutocommit runs one statement in its own transaction, retrying
// serialization failures transparently while no row has reached the client.
func (s *Session) runAutocommit(ctx context.Context, st *parser.Statement, w ResultWriter) error {
	for attempt := 0; ; attempt++ {
		buf := &retryBuffer{w: w, limit: s.srv.cfg.RetryBufferRows}
		s.beginTxn(implicitTxn)
		err := s.runStatement(ctx, st, nil, nil, buf, true, 0)
		if err == nil && s.mode == implicitTxn {
			err = s.commitTxn(ctx)
		}
		if err == nil {
			return buf.flush()
		}
		s.rollbackTxn(ctx)
		if !kv.IsRetryable(err) || buf.flushed || attempt >= 100 || ctx.Err() != nil {
			return err
		}
	}
}

// ---- statement dispatch ----

// runStatement runs one statement in the session's current transaction
// state. formats are the result formats (nil = text); maxRows > 0 limits
// rows for portals (the caller handles suspension via runPortal instead).
func (s *Session) runStatement(ctx context.Context, st *parser.Statement, params []types.Datum, paramTypes []*types.T, w ResultWriter, describe bool, _ int) error {
	if st.Session != nil {
		return s.runSessionStmt(ctx, st, w)
	}
	if s.txn == nil {
		s.beginTxn(implicitTxn)
	}
	res, err := s.execute(ctx, st, params, paramTypes)
	if err != nil {
		s.pendingNotices = nil
		return addPosition(err, st.SQL)
	}
	defer res.close()
	if err := s.flushNotices(w); err != nil {
		return err
	}
	if res.node != nil && describe {
		if err := w.RowDescription(s.columns(res.node.Columns(), nil)); err != nil {
			return err
		}
	}
	n, err := res.drain(s, w, nil, 0)
	if err != nil {
		return err
	}
	return w.CommandComplete(res.tag(n))
}

// result is a running statement: rows to stream (iter over node) and the
// tag to report.
type result struct {
	node     plan.Node
	iter     plan.RowIter
	mutation plan.Mutation
	tagName  string
	fixedTag string
	ec       *plan.ExecCtx
	sent     int64
	// exhausted: the iterator returned its last row.
	exhausted bool
	cancel    context.CancelFunc
}

func (r *result) close() {
	if r.iter != nil {
		r.iter.Close()
		r.iter = nil
	}
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
}

func (r *result) tag(n int64) string {
	if r.fixedTag != "" {
		return r.fixedTag
	}
	if r.mutation != nil {
		n = r.mutation.Affected(r.iter)
	}
	switch r.tagName {
	case "INSERT":
		return fmt.Sprintf("INSERT 0 %d", n)
	case "":
		return fmt.Sprintf("SELECT %d", n)
	}
	return fmt.Sprintf("%s %d", r.tagName, n)
}

// drain streams up to maxRows rows (0 = all) and returns the total rows
// sent by the result so far. The result is exhausted when it returns fewer
// than maxRows rows in this call.
func (r *result) drain(s *Session, w ResultWriter, formats []int16, maxRows int) (int64, error) {
	if r.iter == nil || r.node == nil {
		return r.sent, nil
	}
	cols := r.node.Columns()
	for n := 0; maxRows <= 0 || n < maxRows; n++ {
		if err := r.ec.Ctx.Err(); err != nil {
			return r.sent, err
		}
		row, err := r.iter.Next()
		if err != nil {
			return r.sent, err
		}
		if row == nil {
			r.exhausted = true
			return r.sent, nil
		}
		vals, err := s.encodeRow(row, cols, formats)
		if err != nil {
			return r.sent, err
		}
		if err := w.DataRow(vals); err != nil {
			return r.sent, err
		}
		r.sent++
	}
	return r.sent, nil
}

func (s *Session) execCtx(ctx context.Context, params []types.Datum) *plan.ExecCtx {
	return &plan.ExecCtx{
		Ctx: ctx, Txn: s.txn, Eval: s.evalContext(), Params: params,
		Sequences: s.seqs, MemoryBudget: s.srv.cfg.StatementMemoryBytes,
	}
}

// built is a planned statement, not yet started.
type built struct {
	node       plan.Node
	mutation   plan.Mutation
	tagName    string
	explain    bool
	ddl        bool
	cols       []plan.ResultCol
	paramTypes []*types.T
	// cat resolved the statement's names (privilege checks reuse it).
	cat *catalogView
}

// build plans st (DDL is recognised, not run).
func (s *Session) build(ctx context.Context, st *parser.Statement, paramTypes []*types.T) (*built, error) {
	cat := s.catalogView(ctx)
	b := s.newBuilder(cat, paramTypes, st)
	b.Funcs = cat.funcs()
	out := &built{tagName: strings.ToUpper(st.Tag), cat: cat}
	var err error
	switch n := st.AST.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		if sel, ok := n.(*ast.SelectStmt); ok && sel.LockInfo != nil {
			// FOR UPDATE: writes take locks; reads are serializable anyway.
			sel.LockInfo = nil
		}
		out.node, err = b.BuildQuery(n.(ast.ResultSetNode))
		out.tagName = ""
	case *ast.InsertStmt:
		var ins *plan.Insert
		ins, err = b.BuildInsert(n, s.dmlExtras(st), s.parser.ParseExpr)
		out.node, out.mutation, out.tagName = ins, ins, "INSERT"
	case *ast.UpdateStmt:
		var up *plan.Update
		up, err = b.BuildUpdate(n, s.dmlExtras(st), s.parser.ParseExpr)
		out.node, out.mutation, out.tagName = up, up, "UPDATE"
	case *ast.DeleteStmt:
		var del *plan.Delete
		del, err = b.BuildDelete(n, s.dmlExtras(st))
		out.node, out.mutation, out.tagName = del, del, "DELETE"
	case *ast.ExplainStmt:
		out.node, err = s.explain(b, n)
		out.explain, out.tagName = true, "EXPLAIN"
	default:
		out.ddl = true
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if out.node != nil && (out.mutation == nil || len(out.node.Columns()) > 0) {
		out.cols = out.node.Columns()
	}
	out.paramTypes = b.ParamTypes
	return out, nil
}

type planned struct {
	cols       []plan.ResultCol
	paramTypes []*types.T
}

func (s *Session) planOnly(ctx context.Context, st *parser.Statement, paramTypes []*types.T) (*planned, error) {
	b, err := s.build(ctx, st, paramTypes)
	if err != nil {
		return nil, err
	}
	pt := b.paramTypes
	if len(pt) < len(paramTypes) {
		pt = append(pt, paramTypes[len(pt):]...)
	}
	return &planned{cols: b.cols, paramTypes: pt}, nil
}

// execute plans and starts a statement in s.txn.
func (s *Session) execute(ctx context.Context, st *parser.Statement, params []types.Datum, paramTypes []*types.T) (*result, error) {
	s.fwd.ranHere = s.txn
	sctx, cancel := s.vars.statementContext(ctx)
	if err := s.prepareRead(sctx, st, params, paramTypes); err != nil {
		cancel()
		return nil, err
	}
	b, err := s.build(sctx, st, paramTypes)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := s.checkPrivileges(b.cat, st); err != nil {
		cancel()
		return nil, err
	}
	res := &result{ec: s.execCtx(sctx, params), tagName: b.tagName, cancel: cancel}
	if b.ddl {
		s.wroteCatalog = true
		tag, err := s.runDDL(sctx, st)
		if err != nil {
			cancel()
			return nil, err
		}
		res.fixedTag = tag
		return res, nil
	}
	if b.explain {
		res.fixedTag = "EXPLAIN"
	}
	res.node, res.mutation = b.node, b.mutation
	it, err := res.node.Open(res.ec)
	if err != nil {
		cancel()
		return nil, err
	}
	res.iter = it
	if b.cols == nil {
		res.node = nil // a mutation without RETURNING: only the tag
	}
	return res, nil
}

func (s *Session) dmlExtras(st *parser.Statement) plan.DMLExtras {
	x := plan.DMLExtras{Returning: st.Returning}
	if oc := st.OnConflict; oc != nil {
		x.OnConflict = &plan.OnConflictSpec{Columns: oc.Columns, DoNothing: oc.DoNothing, Set: oc.Set, Where: oc.Where}
	}
	return x
}

func (s *Session) newBuilder(cat plan.Catalog, paramTypes []*types.T, st *parser.Statement) *plan.Builder {
	return &plan.Builder{
		Catalog:    cat,
		Eval:       s.evalContext(),
		ParamTypes: append([]*types.T(nil), paramTypes...),
		ParamOrder: st.ParamOrder,
	}
}

func (s *Session) explain(b *plan.Builder, n *ast.ExplainStmt) (plan.Node, error) {
	var node plan.Node
	var err error
	switch q := n.Stmt.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		node, err = b.BuildQuery(q.(ast.ResultSetNode))
	case *ast.InsertStmt:
		node, err = b.BuildInsert(q, plan.DMLExtras{}, s.parser.ParseExpr)
	case *ast.UpdateStmt:
		node, err = b.BuildUpdate(q, plan.DMLExtras{}, s.parser.ParseExpr)
	case *ast.DeleteStmt:
		node, err = b.BuildDelete(q, plan.DMLExtras{})
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "EXPLAIN of this statement is not supported")
	}
	if err != nil {
		return nil, err
	}
	lines := plan.Explain(node)
	rows := make([][]plan.Expr, len(lines))
	for i, l := range lines {
		rows[i] = []plan.Expr{&plan.Const{D: types.DString(l), T: types.Text}}
	}
	return &plan.Values{Rows: rows, Cols: []plan.ResultCol{{Name: "QUERY PLAN", T: types.Text}}}, nil
}

// columns describes result columns for the protocol.
func (s *Session) columns(cols []plan.ResultCol, formats []int16) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		t := c.T
		if t == nil || t.Family == types.UnknownFamily {
			t = types.Text
		}
		out[i] = Column{
			Name: c.Name, TableOID: pgcatalog.TableOID(c.TableID), ColumnAttr: int16(c.ColumnID),
			TypeOID: t.Oid(), TypeSize: t.Size(), TypeMod: t.TypeMod(), Format: formatFor(formats, i),
		}
	}
	return out
}

func formatFor(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return 0
	case 1:
		return formats[0]
	}
	if i < len(formats) {
		return formats[i]
	}
	return 0
}

func (s *Session) encodeRow(row plan.Row, cols []plan.ResultCol, formats []int16) ([][]byte, error) {
	out := make([][]byte, len(row))
	loc := s.vars.location()
	for i, d := range row {
		if d == types.Null {
			continue
		}
		if formatFor(formats, i) == 1 {
			b, err := types.EncodeBinary(nil, cols[i].T, d)
			if err != nil {
				return nil, err
			}
			out[i] = b
			continue
		}
		t := cols[i].T
		if t == nil || t.Family == types.UnknownFamily {
			t = types.Text
		}
		if t.IsRegType() {
			out[i] = s.regText(t, d)
			continue
		}
		out[i] = types.AppendText(nil, t, d, loc)
	}
	return out, nil
}

// retryBuffer holds back the first rows of an autocommit statement so that
// a serialization failure can still be retried invisibly.
type retryBuffer struct {
	w       ResultWriter
	limit   int
	flushed bool
	ops     []func() error
	rows    int
}

func (b *retryBuffer) add(op func() error) error {
	if b.flushed {
		return op()
	}
	b.ops = append(b.ops, op)
	return nil
}

func (b *retryBuffer) RowDescription(cols []Column) error {
	return b.add(func() error { return b.w.RowDescription(cols) })
}

func (b *retryBuffer) DataRow(vals [][]byte) error {
	if err := b.add(func() error { return b.w.DataRow(vals) }); err != nil {
		return err
	}
	b.rows++
	if !b.flushed && b.rows > b.limit {
		return b.flush()
	}
	return nil
}

func (b *retryBuffer) CommandComplete(tag string) error {
	return b.add(func() error { return b.w.CommandComplete(tag) })
}
func (b *retryBuffer) EmptyQuery() error { return b.add(b.w.EmptyQuery) }
func (b *retryBuffer) Notice(n *sqlerr.Error) error {
	return b.add(func() error { return b.w.Notice(n) })
}

func (b *retryBuffer) flush() error {
	b.flushed = true
	ops := b.ops
	b.ops = nil
	for _, op := range ops {
		if err := op(); err != nil {
			return err
		}
	}
	return nil
}

func checkUTF8(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x%02x", s[i])
		}
		i += size
	}
	return nil
}
