package sql

import (
	"context"
	"strings"

	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// runSessionStmt runs transaction control and settings statements, which
// the pre-pass recognises before the TiDB parser.
func (s *Session) runSessionStmt(ctx context.Context, st *parser.Statement, w ResultWriter) error {
	ss := st.Session
	switch ss.Kind {
	case pgdialect.Begin, pgdialect.Commit, pgdialect.Rollback, pgdialect.Set, pgdialect.SetTransaction,
		pgdialect.Reset, pgdialect.Show, pgdialect.Discard, pgdialect.Deallocate, pgdialect.Prepare, pgdialect.Noop:
	default:
		s.fwd.ranHere = s.txn // it may read or write in the transaction
	}
	switch ss.Kind {
	case pgdialect.Begin:
		switch s.mode {
		case explicitTxn:
			if err := w.Notice(&sqlerr.Error{Code: sqlerr.ActiveSQLTransaction, Severity: "WARNING", Message: "there is already a transaction in progress"}); err != nil {
				return err
			}
		case implicitTxn:
			s.mode = explicitTxn
			if err := s.beginModes(ctx, st); err != nil {
				return err
			}
		default:
			s.beginTxn(explicitTxn)
			if err := s.beginModes(ctx, st); err != nil {
				s.rollbackTxn(ctx)
				return err
			}
		}
		return w.CommandComplete("BEGIN")
	case pgdialect.Commit:
		if s.mode == noTxn {
			if err := w.Notice(&sqlerr.Error{Code: sqlerr.NoActiveSQLTransaction, Severity: "WARNING", Message: "there is no transaction in progress"}); err != nil {
				return err
			}
			return w.CommandComplete("COMMIT")
		}
		if s.failed {
			s.rollbackTxn(ctx)
			return w.CommandComplete("ROLLBACK")
		}
		if err := s.commitTxn(ctx); err != nil {
			return err
		}
		return w.CommandComplete("COMMIT")
	case pgdialect.Rollback:
		if s.mode == noTxn {
			if err := w.Notice(&sqlerr.Error{Code: sqlerr.NoActiveSQLTransaction, Severity: "WARNING", Message: "there is no transaction in progress"}); err != nil {
				return err
			}
		}
		s.rollbackTxn(ctx)
		return w.CommandComplete("ROLLBACK")
	case pgdialect.Savepoint, pgdialect.ReleaseSavepoint, pgdialect.RollbackToSavepoint:
		return s.savepoint(ctx, ss, w)
	case pgdialect.Set:
		val := strings.Join(ss.Values, ", ")
		if ss.Default {
			val = "default"
		}
		if err := s.checkSetToken(ss.Name, val); err != nil {
			return err
		}
		if err := s.vars.set(ss.Name, val); err != nil {
			return err
		}
		return w.CommandComplete("SET")
	case pgdialect.SetTransaction:
		if s.mode == explicitTxn && !ss.SessionDefault {
			if err := s.beginModes(ctx, st); err != nil {
				return err
			}
		}
		return w.CommandComplete("SET")
	case pgdialect.Reset:
		if !ss.All {
			if err := s.vars.reset(ss.Name); err != nil {
				return err
			}
			return w.CommandComplete("RESET")
		}
		s.vars.resetAll()
		return w.CommandComplete("RESET")
	case pgdialect.Show:
		if ss.Name == "last_read" {
			return s.showLastRead(w)
		}
		if ss.Name == "ranges" && len(ss.Objects) == 1 && s.srv.cfg.Ranges != nil {
			return s.showRanges(w, ss.Objects[0].Name)
		}
		if !ss.All {
			return s.show(ss.Name, w)
		}
		if err := w.RowDescription(s.columns(showAllCols, nil)); err != nil {
			return err
		}
		for _, name := range s.vars.names() {
			v, _ := s.vars.get(name)
			if err := w.DataRow([][]byte{[]byte(name), []byte(v), []byte("")}); err != nil {
				return err
			}
		}
		return w.CommandComplete("SHOW")
	case pgdialect.Noop:
		return w.CommandComplete(ss.Tag())
	case pgdialect.SplitAt:
		return s.runSplitAt(ctx, ss, w)
	case pgdialect.SetStorageParams, pgdialect.ResetStorageParams:
		return s.runStorageParams(ctx, st, w)
	case pgdialect.Copy:
		return s.runCopy(ctx, st, w)
	case pgdialect.DropIndex, pgdialect.Truncate, pgdialect.RenameIndex:
		if s.txn == nil {
			s.beginTxn(implicitTxn)
		}
		s.wroteCatalog = true
		d := &ddl{s: s, ctx: ctx, txn: s.txn, st: st}
		for _, o := range ss.Objects {
			err := s.checkSessionDDL(ctx, ss.Kind, o.Name)
			if err == nil && ss.Kind == pgdialect.DropIndex {
				err = d.dropIndex(o.Name, ss.IfExists)
			} else if err == nil && ss.Kind == pgdialect.RenameIndex {
				err = d.renameIndex(o.Name, ss.Name, ss.IfExists)
			} else if err == nil {
				err = d.truncate(o.Name)
			}
			if err != nil {
				return addPosition(err, st.SQL)
			}
		}
		if err := s.flushNotices(w); err != nil {
			return err
		}
		return w.CommandComplete(ss.Tag())
	case pgdialect.CreateRole, pgdialect.AlterRole, pgdialect.DropRole, pgdialect.Grant, pgdialect.Revoke,
		pgdialect.AlterOwner, pgdialect.ReassignOwned, pgdialect.DropOwned:
		return s.runRoleStmt(ctx, st, w)
	case pgdialect.Discard:
		if s.mode != noTxn {
			return sqlerr.New(sqlerr.ActiveSQLTransaction, "DISCARD ALL cannot run inside a transaction block")
		}
		s.prepared = map[string]*prepared{}
		s.closePortals()
		s.portals = map[string]*portal{}
		return w.CommandComplete("DISCARD ALL")
	case pgdialect.Deallocate:
		if ss.All {
			s.prepared = map[string]*prepared{}
		} else {
			if _, ok := s.prepared[ss.Name]; !ok {
				return sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", ss.Name)
			}
			delete(s.prepared, ss.Name)
		}
		return w.CommandComplete("DEALLOCATE")
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported yet", strings.SplitN(st.SQL, " ", 2)[0])
}

var showAllCols = []plan.ResultCol{{Name: "name", T: types.Text}, {Name: "setting", T: types.Text}, {Name: "description", T: types.Text}}

// savepoint runs SAVEPOINT, RELEASE and ROLLBACK TO on the kv
// transaction's savepoints.
func (s *Session) savepoint(ctx context.Context, ss *pgdialect.SessionStmt, w ResultWriter) error {
	if s.mode != explicitTxn {
		return sqlerr.New(sqlerr.NoActiveSQLTransaction, "%s can only be used in transaction blocks", savepointVerb(ss.Kind))
	}
	find := func() int {
		for i := len(s.savepoints) - 1; i >= 0; i-- {
			if s.savepoints[i].name == ss.Name {
				return i
			}
		}
		return -1
	}
	switch ss.Kind {
	case pgdialect.Savepoint:
		if s.failed {
			return errInFailedTxn
		}
		s.savepoints = append(s.savepoints, namedSavepoint{name: ss.Name, sp: s.txn.Savepoint()})
		return w.CommandComplete("SAVEPOINT")
	case pgdialect.ReleaseSavepoint:
		if s.failed {
			return errInFailedTxn
		}
		i := find()
		if i < 0 {
			return sqlerr.New(sqlerr.SavepointException, "savepoint %q does not exist", ss.Name)
		}
		s.txn.ReleaseSavepoint(s.savepoints[i].sp)
		s.savepoints = s.savepoints[:i]
		return w.CommandComplete("RELEASE")
	}
	i := find()
	if i < 0 {
		return sqlerr.New(sqlerr.SavepointException, "savepoint %q does not exist", ss.Name)
	}
	if err := s.txn.RollbackToSavepoint(ctx, s.savepoints[i].sp); err != nil {
		return err
	}
	s.savepoints = s.savepoints[:i+1]
	s.failed = false
	s.closePortals()
	return w.CommandComplete("ROLLBACK")
}

func savepointVerb(k pgdialect.SessionKind) string {
	switch k {
	case pgdialect.ReleaseSavepoint:
		return "RELEASE SAVEPOINT"
	case pgdialect.RollbackToSavepoint:
		return "ROLLBACK TO SAVEPOINT"
	}
	return "SAVEPOINT"
}

func (s *Session) show(name string, w ResultWriter) error {
	key := normalizeVarName(name)
	if key == "ranges" && s.srv.cfg.Ranges != nil {
		return s.showRanges(w, "")
	}
	val, ok := s.vars.get(key)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	col := key
	if dn, ok := displayNames[key]; ok {
		col = dn
	}
	if key == "transaction_isolation" {
		col = "transaction_isolation"
		val = "serializable"
	}
	if key == "transaction_read_only" {
		val = s.transactionReadOnly()
	}
	if err := w.RowDescription(s.columns([]plan.ResultCol{{Name: col, T: types.Text}}, nil)); err != nil {
		return err
	}
	if err := w.DataRow([][]byte{[]byte(val)}); err != nil {
		return err
	}
	return w.CommandComplete("SHOW")
}
