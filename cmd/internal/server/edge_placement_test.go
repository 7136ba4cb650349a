package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/kv/spanconfig"
	"github.com/outpostdb/outpost/replication"
)

// edgeRegionsOf returns, for each range of SHOW RANGES FROM TABLE table,
// the regions of its non-voters, sorted and joined ("ap,eu"; "" for none).
func edgeRegionsOf(t *testing.T, c *pgx.Conn, table string) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), "SHOW RANGES FROM TABLE "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	col := -1
	for i, f := range rows.FieldDescriptions() {
		if f.Name == "replica_localities" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("SHOW RANGES has no replica_localities column")
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		// "n1:region=us,zone=a n4:region=eu,zone=a(non-voter) ..."
		var regions []string
		for _, rep := range strings.Fields(vals[col].(string)) {
			loc, ok := strings.CutSuffix(rep, "(non-voter)")
			if !ok {
				continue
			}
			_, loc, _ = strings.Cut(loc, ":")
			regions = append(regions, LocalityRegion(loc))
		}
		slices.Sort(regions)
		out = append(out, strings.Join(regions, ","))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitEdgeRegions waits until every range of table has non-voters in
// exactly the regions want ("ap,eu", "eu", "").
func waitEdgeRegions(t *testing.T, c *pgx.Conn, table, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := edgeRegionsOf(t, c, table)
		if len(got) > 0 && !slices.ContainsFunc(got, func(s string) bool { return s != want }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW RANGES FROM TABLE %s: non-voter regions per range %q, want %q", table, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEdgePlacementSQL: three core nodes (us) and edge nodes in eu and
// ap. ALTER TABLE t SET (edge_regions = 'eu') leaves t's ranges with a
// non-voter on the eu edge only while other tables keep both; 'none'
// leaves none; RESET brings both back. SHOW RANGES FROM TABLE shows it,
// and every node's catalog shows the setting in pg_class.reloptions.
func TestEdgePlacementSQL(t *testing.T) {
	ctx := context.Background()
	base := Config{Replication: replication.Config{ReplicateInterval: 200 * time.Millisecond}}
	srvs, err := StartDemo(ctx, DemoConfig{Nodes: GlobalDemo, Base: base, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range srvs {
			_ = s.Stop(context.Background())
		}
	})
	core, ap := mustConnect(t, srvs[0]), mustConnect(t, srvs[4])
	for _, q := range []string{
		"CREATE TABLE t (k INT PRIMARY KEY, v TEXT)",
		"CREATE TABLE other (k INT PRIMARY KEY)",
		"INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 20) AS g(i)",
		"INSERT INTO other VALUES (1)",
	} {
		if _, err := core.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	waitEdgeRegions(t, core, "t", "ap,eu")

	if _, err := core.Exec(ctx, "ALTER TABLE t SET (edge_regions = 'eu')"); err != nil {
		t.Fatal(err)
	}
	waitEdgeRegions(t, core, "t", "eu")
	waitEdgeRegions(t, core, "other", "ap,eu")
	var nrows int
	if err := core.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 't' AND reloptions = '{edge_regions=eu}'").Scan(&nrows); err != nil || nrows != 1 {
		t.Fatalf("reloptions on the core: %d %v", nrows, err)
	}
	// The ap edge node (no replica of t left) sees the setting and still
	// reads and writes t through the core.
	var opts string
	if err := ap.QueryRow(ctx, "SELECT reloptions FROM pg_class WHERE relname = 't'").Scan(&opts); err != nil || opts != "{edge_regions=eu}" {
		t.Fatalf("reloptions on the ap edge: %q %v", opts, err)
	}
	if _, err := ap.Exec(ctx, "INSERT INTO t VALUES (21, 'from ap')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := ap.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 21 {
		t.Fatalf("count(*) on the ap edge: %d %v", n, err)
	}

	if _, err := core.Exec(ctx, "ALTER TABLE t SET (edge_regions = 'none')"); err != nil {
		t.Fatal(err)
	}
	waitEdgeRegions(t, core, "t", "")
	waitEdgeRegions(t, core, "other", "ap,eu")

	if _, err := core.Exec(ctx, "ALTER TABLE t RESET (edge_regions)"); err != nil {
		t.Fatal(err)
	}
	waitEdgeRegions(t, core, "t", "ap,eu")
	if err := core.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 21 {
		t.Fatalf("count(*) after the changes: %d %v", n, err)
	}
	t.Logf("ranges of t: %s", fmt.Sprint(edgeRegionsOf(t, core, "t")))
}

// TestEdgeRegionsRestart: the setting, its span config record and the
// split at the table's bounds survive a restart of a node on disk.
func TestEdgeRegionsRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := func() *Server {
		t.Helper()
		srv, err := Start(ctx, Config{Store: dir, SQLAddr: "127.0.0.1:0", HTTPAddr: "",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	check := func(srv *Server, wantOpts string, wantCfgs int) {
		t.Helper()
		c, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var opts *string
		if err := c.QueryRow(ctx, "SELECT reloptions FROM pg_class WHERE relname = 't'").Scan(&opts); err != nil {
			t.Fatal(err)
		}
		if got := ""; opts != nil && *opts != wantOpts || opts == nil && wantOpts != "" {
			if opts != nil {
				got = *opts
			}
			t.Fatalf("reloptions %q, want %q", got, wantOpts)
		}
		set, err := spanconfig.Read(ctx, srv.Store())
		if err != nil || len(set.Configs()) != wantCfgs {
			t.Fatalf("span configs %+v %v, want %d", set.Configs(), err, wantCfgs)
		}
		var startKey string
		rows, err := c.Query(ctx, "SHOW RANGES FROM TABLE t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() && startKey == "" {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			startKey = vals[1].(string)
		}
		rows.Close()
		if !strings.HasPrefix(startKey, "/Table/") {
			t.Fatalf("t's first range starts at %s, not at the table's bound", startKey)
		}
	}
	srv := start()
	c, err := pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE t (k INT PRIMARY KEY)", "INSERT INTO t VALUES (1)", "ALTER TABLE t SET (edge_regions = 'eu')"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	c.Close(ctx)
	check(srv, "{edge_regions=eu}", 1)
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	srv = start()
	check(srv, "{edge_regions=eu}", 1)
	c, err = pgx.Connect(ctx, dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ALTER TABLE t RESET (edge_regions)"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	srv = start()
	defer func() { _ = srv.Stop(ctx) }()
	check(srv, "", 0)
}
