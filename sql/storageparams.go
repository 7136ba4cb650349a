package sql

import (
	"context"
	"slices"
	"strings"

	"github.com/outpostdb/outpost/sql/catalog"
	"github.com/outpostdb/outpost/sql/parser"
	"github.com/outpostdb/outpost/sql/pgdialect"
	"github.com/outpostdb/outpost/sql/sqlerr"
)

// Storage parameters: ALTER TABLE t SET (param = value, ...) and RESET
// (param, ...). Outpost knows one, edge_regions (issue 5): which edge
// regions hold a non-voting replica of the table's ranges.
//
//	ALTER TABLE t SET (edge_regions = 'eu,ap')   only the edge nodes of eu and ap
//	ALTER TABLE t SET (edge_regions = 'none')    no edge replica (or = '')
//	ALTER TABLE t RESET (edge_regions)           every edge region (the default)
//
// PostgreSQL's own parameters (fillfactor, autovacuum_*, ...) are refused
// with 0A000; any other name is 22023 "unrecognized parameter", as in
// PostgreSQL. RESET of a name that is not set succeeds, as in PostgreSQL.

const edgeRegionsParam = "edge_regions"

// pgStorageParams are PostgreSQL's table storage parameters (15).
var pgStorageParams = map[string]bool{
	"fillfactor": true, "toast_tuple_target": true, "parallel_workers": true,
	"autovacuum_enabled": true, "vacuum_index_cleanup": true, "vacuum_truncate": true,
	"autovacuum_vacuum_threshold": true, "autovacuum_vacuum_scale_factor": true,
	"autovacuum_vacuum_insert_threshold": true, "autovacuum_vacuum_insert_scale_factor": true,
	"autovacuum_analyze_threshold": true, "autovacuum_analyze_scale_factor": true,
	"autovacuum_vacuum_cost_delay": true, "autovacuum_vacuum_cost_limit": true,
	"autovacuum_freeze_min_age": true, "autovacuum_freeze_max_age": true,
	"autovacuum_freeze_table_age": true, "autovacuum_multixact_freeze_min_age": true,
	"autovacuum_multixact_freeze_max_age": true, "autovacuum_multixact_freeze_table_age": true,
	"log_autovacuum_min_duration": true, "user_catalog_table": true,
}

// runStorageParams runs ALTER TABLE ... SET|RESET (...) in the session's
// transaction. It needs ownership of the table, as ALTER TABLE does.
// SET edge_regions also splits the table's data off at its start and end
// (a no-op where a range boundary exists), so that the setting applies
// to whole ranges; a split is not transactional, and stays if the
// statement rolls back.
func (s *Session) runStorageParams(ctx context.Context, st *parser.Statement, w ResultWriter) error {
	ss := st.Session
	if s.txn == nil {
		s.beginTxn(implicitTxn)
	}
	s.wroteCatalog = true
	name := ss.Objects[0]
	switch name.Schema {
	case "", "public":
	case "pg_catalog", "information_schema":
		return denied("permission denied: %q is a system catalog", name.Name)
	default:
		return sqlerr.New(sqlerr.InvalidSchemaName, "schema %q does not exist", name.Schema)
	}
	d, err := s.catalogView(ctx).lookup(name.Name, catalog.KindTable)
	if err != nil {
		if ss.IfExists && sqlerr.Code(err) == sqlerr.UndefinedTable {
			s.roleNotice(sqlerr.SuccessfulCompletion, "relation %q does not exist, skipping", name.Name)
			if err := s.flushNotices(w); err != nil {
				return err
			}
			return w.CommandComplete(ss.Tag())
		}
		return err
	}
	r, err := s.currentRole(ctx)
	if err != nil {
		return err
	}
	if !r.Superuser && d.Table.OwnerOID() != r.OID {
		return mustBeOwner("table", name.Name)
	}
	reset := ss.Kind == pgdialect.ResetStorageParams
	var regions []string
	touched := false
	seen := map[string]bool{}
	for _, p := range ss.Params {
		if seen[p.Name] && !reset {
			return sqlerr.New(sqlerr.InvalidParameterValue, "parameter %q specified more than once", p.Name)
		}
		seen[p.Name] = true
		switch {
		case p.Name == edgeRegionsParam:
			touched = true
			if !reset {
				if regions, err = parseEdgeRegions(p); err != nil {
					return err
				}
			}
		case reset:
			// PostgreSQL resets a parameter that is not set silently.
		case pgStorageParams[p.Name]:
			return sqlerr.New(sqlerr.FeatureNotSupported, "storage parameter %q is not supported", p.Name)
		default:
			return sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized parameter %q", p.Name)
		}
	}
	if touched {
		// The catalog write first: it fails in a read-only transaction.
		if err := catalog.SetEdgeRegions(ctx, s.txn, d, regions, reset); err != nil {
			return err
		}
		if !reset && s.srv.cfg.Ranges != nil {
			sp := catalog.TableSpan(d.Table.ID)
			for _, k := range [][]byte{sp.Key, sp.EndKey} {
				if _, _, err := s.srv.cfg.Ranges.Split(ctx, k); err != nil {
					return sqlerr.New(sqlerr.InternalError, "splitting at %s: %v", prettyKey(k, "/Min"), err)
				}
			}
		}
	}
	return w.CommandComplete(ss.Tag())
}

// parseEdgeRegions reads the value of edge_regions: a comma-separated
// list of region names (the region tier of --locality: letters, digits,
// '-', '_', '.'; spaces around names ignored, duplicates dropped), or
// 'none' or the empty string for no edge region (an empty, non-nil
// result).
func parseEdgeRegions(p pgdialect.StorageParam) ([]string, error) {
	bad := func() error {
		return sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter %q: %q", p.Name, p.Value).
			WithHint("Give a comma-separated list of regions, such as 'eu,ap', or 'none'.")
	}
	if !p.HasValue {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "parameter %q requires a value", p.Name).
			WithHint("Give a comma-separated list of regions, such as 'eu,ap', or 'none'.")
	}
	v := strings.TrimSpace(p.Value)
	if v == "" || strings.EqualFold(v, catalog.EdgeRegionsNone) {
		return []string{}, nil
	}
	out := []string{}
	for _, r := range strings.Split(v, ",") {
		r = strings.TrimSpace(r)
		if !regionName(r) || strings.EqualFold(r, catalog.EdgeRegionsNone) {
			return nil, bad()
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func regionName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
