package server

import (
	"context"
	"database/sql"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/keys"
	"github.com/outpostdb/outpost/kv/kvpb"
	sqlpkg "github.com/outpostdb/outpost/sql"
)

// TestHistoricalReadsPgx: AS OF SYSTEM TIME over pgx's extended protocol
// (a bound parameter), the causality token reported as ParameterStatus and
// carried to another connection, follower-read settings and SHOW LAST
// READ.
func TestHistoricalReadsPgx(t *testing.T) {
	ctx := context.Background()
	srv := startNode(t)
	a := mustConnect(t, srv)
	if _, err := a.Exec(ctx, "CREATE TABLE acct (id INT PRIMARY KEY, bal INT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO acct VALUES (1, 100)"); err != nil {
		t.Fatal(err)
	}
	// The token arrives unsolicited (ParameterStatus) after the commit.
	t1 := a.PgConn().ParameterStatus("outpost_causality_token")
	var shown string
	if err := a.QueryRow(ctx, "SHOW outpost_causality_token").Scan(&shown); err != nil {
		t.Fatal(err)
	}
	if t1 == "" || t1 != shown {
		t.Fatalf("ParameterStatus token %q, SHOW %q", t1, shown)
	}
	if _, err := a.Exec(ctx, "UPDATE acct SET bal = 50 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	t2 := a.PgConn().ParameterStatus("outpost_causality_token")
	if t2 <= t1 || len(t2) != len(t1) {
		t.Fatalf("token did not advance: %q then %q", t1, t2)
	}
	// A prepared statement with the time as a parameter.
	var bal int
	if err := a.QueryRow(ctx, "SELECT bal FROM acct AS OF SYSTEM TIME $1 WHERE id = $2", t1, 1).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if bal != 100 {
		t.Fatalf("AS OF %s: bal %d, want 100", t1, bal)
	}
	var mode, servedBy, readTS string
	var fallback *string
	var staleness time.Duration
	if err := a.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &servedBy, &readTS, &staleness, &fallback); err != nil {
		t.Fatal(err)
	}
	// One node: its replica holds the lease and serves every timestamp.
	if mode != "exact" || !strings.Contains(servedBy, "leaseholder") || readTS != t1 || fallback != nil || staleness < 0 {
		t.Fatalf("SHOW LAST READ = %s %s %s %v %v", mode, servedBy, readTS, staleness, fallback)
	}
	// Writes in a historical transaction fail with 25006.
	tx, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SET TRANSACTION AS OF SYSTEM TIME '"+t1+"'"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM acct"); pgCode(err) != "25006" {
		t.Fatalf("DELETE in a historical transaction: %v", err)
	}
	_ = tx.Rollback(ctx)

	// Another connection: follower reads (4.8s in the past) would miss
	// the UPDATE, but the token carried over raises the read timestamp.
	b := mustConnect(t, srv)
	if _, err := b.Exec(ctx, "SET default_transaction_use_follower_reads = on"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "SET outpost_causality_token = '"+t2+"'"); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT bal FROM acct WHERE id = 1").Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if bal != 50 {
		t.Fatalf("follower read with the token: bal %d, want 50", bal)
	}
	if err := b.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &servedBy, &readTS, &staleness, &fallback); err != nil {
		t.Fatal(err)
	}
	if mode != "follower" || readTS < t2 {
		t.Fatalf("SHOW LAST READ after a follower read = %s %s %s", mode, servedBy, readTS)
	}
	// Read-only transactions are follower reads too under the setting.
	if _, err := b.Exec(ctx, "BEGIN READ ONLY"); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT bal FROM acct WHERE id = 1").Scan(&bal); err != nil || bal != 50 {
		t.Fatalf("read-only transaction: %d, %v", bal, err)
	}
	if err := b.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &servedBy, &readTS, &staleness, &fallback); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if mode != "follower" {
		t.Fatalf("SHOW LAST READ in a read-only transaction = %s", mode)
	}
	// Bounded staleness on the node holding the lease: the newest data,
	// from the local replica.
	if err := b.QueryRow(ctx, "SELECT bal FROM acct AS OF SYSTEM TIME with_max_staleness('10s') WHERE id = 1").Scan(&bal); err != nil || bal != 50 {
		t.Fatalf("bounded read: %d, %v", bal, err)
	}
	if err := b.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &servedBy, &readTS, &staleness, &fallback); err != nil {
		t.Fatal(err)
	}
	if mode != "bounded" || !strings.HasPrefix(servedBy, "n1 r1") || !strings.Contains(servedBy, "leaseholder") || fallback != nil {
		t.Fatalf("SHOW LAST READ after a bounded read = %s %s %v", mode, servedBy, fallback)
	}
	m := srv.sql.Metrics()
	if m.FollowerReadsRedirected+m.FollowerReadsServed < 3 || m.Statements == 0 || m.StatementErrors == 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestCausalityTokenClients: lib/pq and psql tolerate the unsolicited
// ParameterStatus that follows every commit that wrote.
func TestCausalityTokenClients(t *testing.T) {
	srv := startNode(t)
	db, err := sql.Open("postgres", dsn(srv, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"CREATE TABLE pq (a INT PRIMARY KEY)", "INSERT INTO pq VALUES (1)", "INSERT INTO pq VALUES (2)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pq AS OF SYSTEM TIME now() - interval '1 microsecond'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var tok string
	if err := db.QueryRow("SHOW outpost_causality_token").Scan(&tok); err != nil || !strings.Contains(tok, ".") {
		t.Fatalf("lib/pq token %q, %v", tok, err)
	}
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	out, err := exec.Command("psql", dsn(srv, "defaultdb"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-c", "INSERT INTO pq VALUES (3)", "-c", "SELECT count(*) FROM pq").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3") {
		t.Fatalf("psql: %v\n%s", err, out)
	}
}

// TestHistoricalReadBelowGC: a read below the GC threshold fails with
// 72000 (snapshot_too_old) and a clear message.
func TestHistoricalReadBelowGC(t *testing.T) {
	ctx := context.Background()
	srv := startNode(t)
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, "CREATE TABLE g (a INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	old := c.PgConn().ParameterStatus("outpost_causality_token")
	ba := &kvpb.BatchRequest{Header: kvpb.Header{Timestamp: srv.clock.Now()}}
	ba.Add(&kvpb.GCRequest{Span: kvpb.Span{Key: keys.LocalMax, EndKey: keys.MaxKey}, Threshold: srv.clock.Now()})
	if _, err := srv.Store().Send(ctx, ba); err != nil {
		t.Fatal(err)
	}
	_, err := c.Exec(ctx, "SELECT * FROM g AS OF SYSTEM TIME '"+old+"'", pgx.QueryExecModeSimpleProtocol)
	if pgCode(err) != "72000" || !strings.Contains(err.Error(), "garbage collection threshold") {
		t.Fatalf("read below the GC threshold: %v", err)
	}
	// The present still reads.
	if _, err := c.Exec(ctx, "SELECT * FROM g"); err != nil {
		t.Fatal(err)
	}
}

// fakeFollowerReads serves every span locally up to a fixed lag behind the
// clock, as the replication side's hook will from closed timestamps.
type fakeFollowerReads struct {
	srv *Server
	lag time.Duration
}

func (f *fakeFollowerReads) LocalServable(ctx context.Context, spans []kvpb.Span) (hlc.Timestamp, bool) {
	return f.srv.clock.Now().Add(-f.lag), true
}

// TestBoundedStalenessHook: bounded reads use the hook's timestamp when it
// is within the bound and the causality token, else fall back to the
// leaseholder with a reason; SHOW LAST READ and the metrics say which.
func TestBoundedStalenessHook(t *testing.T) {
	ctx := context.Background()
	fr := &fakeFollowerReads{lag: 2 * time.Second}
	srv, err := Start(ctx, Config{InMemory: true, SQLAddr: "127.0.0.1:0", SQL: sqlpkg.Config{FollowerReads: fr, FollowerReadOffset: sqlpkg.DefaultFollowerReadOffset}})
	if err != nil {
		t.Fatal(err)
	}
	fr.srv = srv
	defer srv.Stop(ctx)
	c := mustConnect(t, srv)
	if _, err := c.Exec(ctx, "CREATE TABLE b (a INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	// The table is younger than the replica's 2s lag: wait it out, so the
	// local read can see the table (reads before would say 42P01).
	time.Sleep(2100 * time.Millisecond)
	rywRead := false // the read is at the causality token, not at the hook's timestamp
	last := func() (mode, servedBy, ts string, fallback *string) {
		var st time.Duration
		if err := c.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &servedBy, &ts, &st, &fallback); err != nil {
			t.Fatal(err)
		}
		if mode == "bounded" && fallback == nil && st < fr.lag && !rywRead {
			t.Fatalf("staleness %v below the replica's lag %v", st, fr.lag)
		}
		return
	}
	if _, err := c.Exec(ctx, "SELECT * FROM b AS OF SYSTEM TIME with_max_staleness('10s')"); err != nil {
		t.Fatal(err)
	}
	// The hook chose the timestamp; the replica that served is reported.
	if mode, by, _, fb := last(); mode != "bounded" || by != "n1 r1 leaseholder" || fb != nil {
		t.Fatalf("within the bound: %s %s %v", mode, by, fb)
	}
	if _, err := c.Exec(ctx, "SELECT * FROM b AS OF SYSTEM TIME with_max_staleness('1s')"); err != nil {
		t.Fatal(err)
	}
	if mode, by, _, fb := last(); mode != "bounded" || by != "leaseholder" || fb == nil || !strings.Contains(*fb, "older than the bound") {
		t.Fatalf("beyond the bound: %s %s %v", mode, by, fb)
	}
	// A write raises the causality token above what the replica serves:
	// without follower_read_wait, bounded reads then go to the leaseholder
	// at the present and see the write.
	if _, err := c.Exec(ctx, "INSERT INTO b VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "SET follower_read_wait = 0"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM b AS OF SYSTEM TIME with_max_staleness('10s')").Scan(&n); err != nil || n != 1 {
		t.Fatalf("bounded read after a write: %d, %v", n, err)
	}
	if _, by, _, fb := last(); by != "leaseholder" || fb == nil {
		t.Fatalf("after a write: %s %v", by, fb)
	}
	// With it (the default), they read at the token, which the local
	// replica (here the leaseholder) serves.
	if _, err := c.Exec(ctx, "RESET follower_read_wait"); err != nil {
		t.Fatal(err)
	}
	rywRead = true
	if err := c.QueryRow(ctx, "SELECT count(*) FROM b AS OF SYSTEM TIME with_max_staleness('10s')").Scan(&n); err != nil || n != 1 {
		t.Fatalf("bounded read after a write, waiting: %d, %v", n, err)
	}
	var token string
	if err := c.QueryRow(ctx, "SHOW outpost_causality_token").Scan(&token); err != nil {
		t.Fatal(err)
	}
	if _, by, ts, fb := last(); by != "n1 r1 leaseholder" || fb != nil || ts != token {
		t.Fatalf("after a write, waiting: %s %s %v (token %s)", by, ts, fb, token)
	}
	// Session follower reads at follower_read_timestamp() (4.8s) are
	// older than what the replica serves: served locally.
	c2 := mustConnect(t, srv)
	if _, err := c2.Exec(ctx, "SET default_transaction_use_follower_reads = on"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the table must exist 4.8s ago
	if _, err := c2.Exec(ctx, "SELECT * FROM b"); err != nil {
		t.Fatal(err)
	}
	var mode, by, ts string
	var st time.Duration
	var fb *string
	if err := c2.QueryRow(ctx, "SHOW LAST READ").Scan(&mode, &by, &ts, &st, &fb); err != nil {
		t.Fatal(err)
	}
	if mode != "follower" || by != "n1 r1 leaseholder" || st < sqlpkg.DefaultFollowerReadOffset {
		t.Fatalf("session follower read: %s %s %v %v", mode, by, st, fb)
	}
	if m := srv.sql.Metrics(); m.FollowerReadsServed < 2 || m.FollowerReadsRedirected < 2 {
		t.Fatalf("metrics %+v", m)
	}
}
