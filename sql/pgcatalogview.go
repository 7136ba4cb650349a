package sql

import (
	"context"
	"strings"

	"github.com/outpostdb/outpost/sql/pgcatalog"
	"github.com/outpostdb/outpost/sql/plan"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

// The session's side of sql/pgcatalog: system tables resolve ahead of user
// tables for unqualified names (pg_catalog is implicitly first on the
// search path, as in PostgreSQL), and their rows and the catalog functions
// read the execution's transaction and the session's settings.

func init() { pgcatalog.ServerVersion = ServerVersion }

// pgEnv returns the pgcatalog environment of an execution (one per
// ExecCtx, so a statement reads the catalog once).
func (c *catalogView) pgEnv(ec *plan.ExecCtx) *pgcatalog.Env {
	if c.pgEC != ec || c.pgEnvCache == nil {
		c.pgEC, c.pgEnvCache = ec, c.s.newPgEnv(ec.Ctx)
		c.pgEnvCache.Txn = ec.Txn
	}
	return c.pgEnvCache
}

func (s *Session) newPgEnv(ctx context.Context) *pgcatalog.Env {
	env := &pgcatalog.Env{Ctx: ctx, Txn: s.txn, DBID: s.dbID, DBName: s.dbName, User: s.user}
	for _, name := range s.vars.names() {
		v, _ := s.vars.get(name)
		st := pgcatalog.Setting{Name: name, Value: v}
		if dn, ok := displayNames[name]; ok {
			st.Name = dn
		}
		if d, ok := settings[name]; ok {
			st.Default = d.def
			st.Changed = v != d.def
			st.ReadOnly = d.readOnly
		} else {
			st.Changed = true
		}
		env.Settings = append(env.Settings, st)
	}
	return env
}

// systemTable resolves a pg_catalog or information_schema table.
func (c *catalogView) systemTable(schema, name string) (*plan.Table, bool) {
	return pgcatalog.Lookup(schema, name, c.pgEnv)
}

// TableIn implements plan.SchemaCatalog.
func (c *catalogView) TableIn(schema, name string) (*plan.Table, error) {
	switch {
	case schema == "public":
		return c.userTable(name)
	case pgcatalog.IsSystemSchema(schema):
		if t, ok := c.systemTable(schema, name); ok {
			return t, nil
		}
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
	}
	return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
}

// funcs returns the session functions for a statement built over c.
func (c *catalogView) funcs() plan.SessionFuncs {
	return edgeFuncs{&pgcatalog.Funcs{Env: c.pgEnv, SetConfig: c.s.setConfig}, c.s}
}

// setConfig is set_config(name, value, is_local). is_local is applied for
// the session (Outpost has no transaction-scoped settings yet).
func (s *Session) setConfig(name, value string, local bool) (string, error) {
	if err := s.checkSetToken(name, value); err != nil {
		return "", err
	}
	if err := s.vars.set(name, value); err != nil {
		return "", err
	}
	v, _ := s.vars.get(name)
	return v, nil
}

// regText is the text form of a reg* value (the object's name), read in
// the session's transaction.
func (s *Session) regText(t *types.T, d types.Datum) []byte {
	oid, ok := d.(types.DOid)
	if !ok || s.txn == nil {
		return types.AppendText(nil, t, d, nil)
	}
	env := s.newPgEnv(context.Background())
	name, err := pgcatalog.RegText(env, t, uint32(oid))
	if err != nil {
		return types.AppendText(nil, t, d, nil)
	}
	return []byte(name)
}

// searchPath is the session's search_path as the schemas that exist, with
// pg_catalog first unless the path names it (as PostgreSQL searches).
func (s *Session) searchPath() []string {
	raw, _ := s.vars.get("search_path")
	var out []string
	named := false
	for _, part := range strings.Split(raw, ",") {
		name := strings.TrimSpace(part)
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		switch name {
		case "pg_catalog":
			named = true
		case "public", "information_schema":
		default:
			continue // "$user" and schemas that do not exist
		}
		out = append(out, name)
	}
	if !named {
		out = append([]string{"pg_catalog"}, out...)
	}
	return out
}
