package server

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/lib/pq"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestEdgeWriteForwarding: writes on an edge node run on the core as one
// forwarded call per implicit transaction (a statement, a multi-statement
// query string, or a pipelined batch up to Sync), with PostgreSQL's
// results, errors and atomicity, through pgx (extended protocol, batches,
// simple protocol) and lib/pq.
func TestEdgeWriteForwarding(t *testing.T) {
	ctx := context.Background()
	srvs := startEdgeDemo(t, 20*time.Millisecond)
	core, edge := srvs[0], srvs[3]
	cc := mustConnect(t, core)
	ec := mustConnect(t, edge)
	if _, err := cc.Exec(ctx, "CREATE TABLE acct (id INT PRIMARY KEY, owner TEXT UNIQUE, bal INT NOT NULL CHECK (bal >= 0))"); err != nil {
		t.Fatal(err)
	}
	forwarded := func() int64 { return edge.sql.ForwardMetrics().Forwarded }
	expectForwards := func(before int64, want int64, what string) {
		t.Helper()
		if got := forwarded() - before; got != want {
			t.Fatalf("%s: %d forwarded calls, want %d", what, got, want)
		}
	}
	count := func() (n int) {
		t.Helper()
		if err := cc.QueryRow(ctx, "SELECT count(*) FROM acct").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Extended protocol, one statement: one call, the right tag.
	f := forwarded()
	tag, err := ec.Exec(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 1, "ann", 100)
	if err != nil || tag.String() != "INSERT 0 1" {
		t.Fatalf("edge insert: %q %v", tag, err)
	}
	expectForwards(f, 1, "one INSERT")
	// The causality token moved to the forwarded commit.
	if tok := ec.PgConn().ParameterStatus("outpost_causality_token"); tok == "" {
		t.Fatal("no causality token after a forwarded write")
	}

	// RETURNING rows come back in the bound (binary) formats.
	var id, bal int
	if err := ec.QueryRow(ctx, "UPDATE acct SET bal = bal + $1 WHERE id = $2 RETURNING id, bal", 5, 1).Scan(&id, &bal); err != nil || id != 1 || bal != 105 {
		t.Fatalf("UPDATE ... RETURNING on the edge: %d %d %v", id, bal, err)
	}

	// Errors keep their SQLSTATE.
	if _, err := ec.Exec(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 1, "dup", 1); pgCode(err) != "23505" {
		t.Fatalf("duplicate key on the edge: %v", err)
	}
	if _, err := ec.Exec(ctx, "UPDATE acct SET bal = -1 WHERE id = $1", 1); pgCode(err) != "23514" {
		t.Fatalf("check violation on the edge: %v", err)
	}
	if _, err := ec.Exec(ctx, "INSERT INTO nosuch VALUES ($1)", 1); pgCode(err) != "42P01" {
		t.Fatalf("unknown table on the edge: %v", err)
	}

	// A pipelined batch is one transaction and one call.
	f = forwarded()
	b := &pgx.Batch{}
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 2, "bob", 10)
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 3, "cy", 20)
	b.Queue("SELECT count(*) FROM acct")
	b.Queue("UPDATE acct SET bal = bal - 5 WHERE id = $1", 3)
	br := ec.SendBatch(ctx, b)
	for i := 0; i < 2; i++ {
		if _, err := br.Exec(); err != nil {
			t.Fatalf("batch insert %d: %v", i, err)
		}
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil || n != 3 {
		t.Fatalf("count inside the batch (sees its own writes): %d %v", n, err)
	}
	if tag, err := br.Exec(); err != nil || tag.String() != "UPDATE 1" {
		t.Fatalf("batch update: %q %v", tag, err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	expectForwards(f, 1, "a pipelined batch of four statements")
	if count() != 3 {
		t.Fatalf("after the batch: %d rows", count())
	}

	// A batch failing in the middle commits nothing, and reports the
	// failing statement's error.
	b = &pgx.Batch{}
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 4, "dee", 1)
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 5, "bob", 1) // owner taken
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 6, "eve", 1)
	br = ec.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatalf("first statement of the failing batch: %v", err)
	}
	if _, err := br.Exec(); pgCode(err) != "23505" {
		t.Fatalf("second statement of the failing batch: %v", err)
	}
	_ = br.Close()
	if count() != 3 {
		t.Fatalf("a failed batch left rows: %d", count())
	}

	// A pipeline that asks for results (Flush) before its Sync is still
	// one transaction: the part before the Flush is held open on the
	// core, and a later failure rolls it back.
	pp := ec.PgConn().StartPipeline(ctx)
	pp.SendQueryParams("INSERT INTO acct VALUES (20, 'p1', 1)", nil, nil, nil, nil)
	pp.SendFlushRequest()
	if err := pp.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := pp.GetResults()
	if err != nil {
		t.Fatal(err)
	}
	if tag, err := res.(*pgconn.ResultReader).Close(); err != nil || tag.String() != "INSERT 0 1" {
		t.Fatalf("pipelined insert before the Flush: %q %v", tag, err)
	}
	pp.SendQueryParams("INSERT INTO acct VALUES (20, 'p2', 1)", nil, nil, nil, nil)
	pp.SendPipelineSync()
	if err := pp.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err = pp.GetResults()
	if err == nil {
		_, err = res.(*pgconn.ResultReader).Close()
	}
	if pgCode(err) != "23505" {
		t.Fatalf("pipelined duplicate after the Flush: %v", err)
	}
	if res, err = pp.GetResults(); err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(*pgconn.PipelineSync); !ok {
		t.Fatalf("pipeline: %T, want the Sync", res)
	}
	if err := pp.Close(); err != nil {
		t.Fatal(err)
	}
	if count() != 3 {
		t.Fatalf("a pipeline failing after a Flush left rows: %d", count())
	}

	// Simple protocol: a multi-statement query string is one transaction
	// and one call; a failure rolls all of it back.
	f = forwarded()
	if _, err := ec.Exec(ctx, "INSERT INTO acct VALUES (7, 'gus', 1); UPDATE acct SET bal = bal + 1 WHERE id = 7", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	expectForwards(f, 1, "a two-statement query string")
	if _, err := ec.Exec(ctx, "INSERT INTO acct VALUES (8, 'hal', 1); INSERT INTO acct VALUES (9, 'ann', 1)", pgx.QueryExecModeSimpleProtocol); pgCode(err) != "23505" {
		t.Fatalf("failing query string: %v", err)
	}
	if count() != 4 {
		t.Fatalf("after the query strings: %d rows, want 4", count())
	}

	// Session settings travel with the work: a search_path naming no
	// schema with the table makes it unknown there too.
	if _, err := ec.Exec(ctx, "SET search_path = nowhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.Exec(ctx, "INSERT INTO acct VALUES (10, 'ivy', 1)"); pgCode(err) != "42P01" {
		t.Fatalf("insert under search_path = nowhere: %v", err)
	}
	if _, err := ec.Exec(ctx, "RESET search_path"); err != nil {
		t.Fatal(err)
	}

	// An explicit transaction whose first data statement is a write or a
	// strong read runs on a core session: BEGIN is local, then one call
	// per statement (COMMIT and ROLLBACK included); it stays atomic.
	f = forwarded()
	tx, err := ec.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 10, "ivy", 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM acct").Scan(&n); err != nil || n != 5 {
		t.Fatalf("count inside the forwarded transaction: %d %v", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	expectForwards(f, 3, "INSERT, SELECT, ROLLBACK of an explicit transaction")
	if count() != 4 {
		t.Fatalf("after a rolled-back transaction: %d rows", count())
	}
	f = forwarded()
	tx, err = ec.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b = &pgx.Batch{}
	b.Queue("INSERT INTO acct VALUES ($1, $2, $3)", 10, "ivy", 1)
	b.Queue("UPDATE acct SET bal = bal + 1 WHERE id = $1", 10)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	expectForwards(f, 2, "a pipelined batch and COMMIT of an explicit transaction")
	if err := cc.QueryRow(ctx, "SELECT bal FROM acct WHERE id = 10").Scan(&bal); err != nil || bal != 2 {
		t.Fatalf("row of the committed forwarded transaction: %d %v", bal, err)
	}
	// An error inside it fails the transaction, as PostgreSQL does.
	tx, err = ec.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE acct SET bal = bal + 1 WHERE id = $1", 10); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 10, "dup", 1); pgCode(err) != "23505" {
		t.Fatalf("duplicate inside a forwarded transaction: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
		t.Fatalf("statement after an error in a forwarded transaction: %v", err)
	}
	if ec.PgConn().TxStatus() != 'E' {
		t.Fatalf("transaction status %c, want E", ec.PgConn().TxStatus())
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cc.QueryRow(ctx, "SELECT bal FROM acct WHERE id = 10").Scan(&bal); err != nil || bal != 2 {
		t.Fatalf("row after a failed forwarded transaction: %d %v", bal, err)
	}
	// A transaction that read here first stays here (its reads and
	// writes must be one transaction).
	f = forwarded()
	tx, err = ec.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'acct'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE acct SET bal = bal + 1 WHERE id = $1", 10); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	expectForwards(f, 0, "a transaction that read locally first")
	// A client that goes away mid-transaction rolls back its core
	// session: another writer of the same row is not held up.
	gone := mustConnect(t, edge)
	if _, err := gone.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Exec(ctx, "UPDATE acct SET bal = 100 WHERE id = 10"); err != nil {
		t.Fatal(err)
	}
	_ = gone.Close(ctx)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = cc.Exec(wctx, "UPDATE acct SET bal = 3 WHERE id = 10")
	cancel()
	if err != nil {
		t.Fatalf("writer after an edge client left a forwarded transaction: %v", err)
	}

	// A strong read of user tables is one call too; system tables and
	// follower reads stay on the edge.
	f = forwarded()
	if err := ec.QueryRow(ctx, "SELECT bal FROM acct WHERE id = $1", 7).Scan(&bal); err != nil || bal != 2 {
		t.Fatalf("strong read on the edge: %d %v", bal, err)
	}
	if err := ec.QueryRow(ctx, "SELECT count(*) FROM acct", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 5 {
		t.Fatalf("strong read on the edge (simple protocol): %d %v", n, err)
	}
	expectForwards(f, 2, "two strong reads")
	f = forwarded()
	if err := ec.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname = 'acct'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("pg_class on the edge: %d %v", n, err)
	}
	if err := ec.QueryRow(ctx, "SELECT count(*) FROM acct AS OF SYSTEM TIME with_max_staleness('10s')").Scan(&n); err != nil {
		t.Fatalf("bounded read on the edge: %v", err)
	}
	expectForwards(f, 0, "a system-table read and a bounded read")

	// A setting changed by forwarded work is the edge session's too, and
	// does not leak into other sessions' forwarded work.
	var app string
	if err := ec.QueryRow(ctx, "SELECT set_config('search_path', 'nowhere', false) FROM acct WHERE id = 7").Scan(&app); err != nil || app != "nowhere" {
		t.Fatalf("set_config in a forwarded read: %q %v", app, err)
	}
	if err := ec.QueryRow(ctx, "SHOW search_path").Scan(&app); err != nil || app != "nowhere" {
		t.Fatalf("search_path on the edge after a forwarded set_config: %q %v", app, err)
	}
	ec2 := mustConnect(t, edge)
	if _, err := ec2.Exec(ctx, "UPDATE acct SET bal = bal WHERE id = 7"); err != nil {
		t.Fatalf("forwarded work of another session after set_config: %v", err)
	}
	if _, err := ec.Exec(ctx, "RESET search_path"); err != nil {
		t.Fatal(err)
	}

	// Sequence state stays with the session that made it: the edge
	// session sees the currval its forwarded nextval set, and a pooled
	// core session does not lend it to another client.
	if _, err := cc.Exec(ctx, "CREATE SEQUENCE s"); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.Exec(ctx, "INSERT INTO acct VALUES (nextval('s') + 100, 'seq', 1)"); err != nil {
		t.Fatal(err)
	}
	var cur int64
	if err := ec.QueryRow(ctx, "SELECT currval('s')").Scan(&cur); err != nil || cur != 1 {
		t.Fatalf("currval on the edge after a forwarded nextval: %d %v", cur, err)
	}
	if _, err := ec.Exec(ctx, "UPDATE acct SET bal = currval('s') + lastval() WHERE id = 101"); err != nil {
		t.Fatalf("currval in the same session's forwarded work: %v", err)
	}
	if _, err := ec2.Exec(ctx, "UPDATE acct SET bal = currval('s') WHERE id = 7"); pgCode(err) != "55000" {
		t.Fatalf("currval in another session's forwarded work: %v (want 55000)", err)
	}
	if err := cc.QueryRow(ctx, "SELECT bal FROM acct WHERE id = 101").Scan(&bal); err != nil || bal != 2 {
		t.Fatalf("row updated with currval + lastval on the edge: %d %v", bal, err)
	}

	// lib/pq: unnamed statements, Parse/Bind/Execute per call.
	db, err := sql.Open("postgres", dsn(edge, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f = forwarded()
	pqRes, err := db.ExecContext(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 11, "jo", 7)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := pqRes.RowsAffected(); n != 1 {
		t.Fatalf("lib/pq rows affected %d", n)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO acct VALUES ($1, $2, $3)", 11, "jo", 7); pgCode(err) != "23505" {
		t.Fatalf("lib/pq duplicate: %v", err)
	}
	expectForwards(f, 2, "two lib/pq statements")
	var owner string
	if err := cc.QueryRow(ctx, "SELECT owner FROM acct WHERE id = 11").Scan(&owner); err != nil || owner != "jo" {
		t.Fatalf("row written through lib/pq on the edge: %q %v", owner, err)
	}
}

// gormEdgeItem is a GORM model written through an edge node.
type gormEdgeItem struct {
	ID    uint `gorm:"primaryKey"`
	Name  string
	Count int
}

// TestEdgeForwardingGORM: GORM on an edge node (its creates and updates
// run in explicit transactions: BEGIN, INSERT ... RETURNING, COMMIT) gets
// correct rows, and each write costs two forwarded calls (the statement,
// the commit), not one per kv step.
func TestEdgeForwardingGORM(t *testing.T) {
	srvs := startEdgeDemo(t, 10*time.Millisecond)
	core, edge := srvs[0], srvs[3]
	cdb, err := gorm.Open(postgres.Open(dsn(core, "defaultdb")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := cdb.AutoMigrate(&gormEdgeItem{}); err != nil {
		t.Fatal(err)
	}
	edb, err := gorm.Open(postgres.Open(dsn(edge, "defaultdb")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	before := edge.sql.ForwardMetrics().Forwarded
	items := []gormEdgeItem{{Name: "a", Count: 1}, {Name: "b", Count: 2}, {Name: "c", Count: 3}}
	for i := range items {
		if err := edb.Create(&items[i]).Error; err != nil {
			t.Fatal(err)
		}
		if items[i].ID == 0 {
			t.Fatalf("no ID returned for %q", items[i].Name)
		}
	}
	if err := edb.Model(&items[1]).Update("count", 20).Error; err != nil {
		t.Fatal(err)
	}
	if got := edge.sql.ForwardMetrics().Forwarded - before; got != 8 {
		t.Fatalf("%d forwarded calls for 3 creates and an update, want 8", got)
	}
	var got []gormEdgeItem
	if err := cdb.Order("id").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Count != 20 || got[2].Name != "c" {
		t.Fatalf("rows on the core: %+v", got)
	}
	// A unique violation through GORM on the edge keeps its SQLSTATE.
	if err := edb.Create(&gormEdgeItem{ID: items[0].ID, Name: "dup"}).Error; pgCode(err) != "23505" {
		t.Fatalf("duplicate through GORM on the edge: %v", err)
	}
}

// TestEdgeForwardingPartition: an edge cut off from the core (its links
// fail in both directions) answers forwarded writes and strong reads with
// a clear error after the RPC keepalive gives up, never a hang, while
// bounded reads go on locally; after the heal, forwarded writes work
// again and nothing acknowledged was lost.
func TestEdgeForwardingPartition(t *testing.T) {
	ctx := context.Background()
	srvs := startEdgeDemo(t, 10*time.Millisecond)
	core, edge := srvs[0], srvs[3]
	cc, ec := mustConnect(t, core), mustConnect(t, edge)
	if _, err := cc.Exec(ctx, "CREATE TABLE kv (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.Exec(ctx, "INSERT INTO kv VALUES (1, 'before')"); err != nil {
		t.Fatal(err)
	}
	bounded := "SELECT v FROM kv AS OF SYSTEM TIME with_max_staleness('60s') WHERE k = 1"
	var v string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var mode, by, ts string
		var st time.Duration
		var fb *string
		err := ec.QueryRow(ctx, bounded).Scan(&v)
		if err == nil {
			err = ec.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &by, &ts, &st, &fb)
		}
		if err == nil && v == "before" && strings.Contains(by, "non-voter") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bounded read never served on the edge: %q %s %v", v, by, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	edge.faults.Isolate(edge.NodeID())
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := ec.Exec(wctx, "INSERT INTO kv VALUES (2, 'cut off')"); pgCode(err) != "40003" {
		t.Fatalf("forwarded write on a cut-off edge: %v (want 40003)", err)
	}
	// A statement never prepared on this connection: describing it needs
	// no round trip (the edge's replicas know the catalog), and the
	// forwarded read fails as such.
	err := ec.QueryRow(wctx, "SELECT v FROM kv WHERE k = 1").Scan(&v)
	if pgCode(err) != "58000" || !strings.Contains(err.Error(), "could not reach the core") {
		t.Fatalf("strong read on a cut-off edge: %v (want 58000, could not reach the core)", err)
	}
	if err := ec.QueryRow(wctx, bounded).Scan(&v); err != nil || v != "before" {
		t.Fatalf("bounded read on a cut-off edge: %q %v", v, err)
	}

	edge.faults.Unisolate(edge.NodeID())
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err := ec.Exec(ctx, "INSERT INTO kv VALUES (3, 'after') ON CONFLICT (k) DO NOTHING")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("forwarded write after the heal: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, k := range []int{1, 3} {
		if err := cc.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", k).Scan(&v); err != nil {
			t.Fatalf("row %d on the core after the heal: %v", k, err)
		}
	}
}
