package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outpostdb/outpost/kv/liveness"
)

func TestParseLocality(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"region=us":               "region=us",
		" region=us , zone=us-1a": "region=us,zone=us-1a",
		"cloud=gcp,region=eu.w":   "cloud=gcp,region=eu.w",
	} {
		if got, err := ParseLocality(in); err != nil || got != want {
			t.Errorf("ParseLocality(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"us", "region=", "=us", "region=us,region=eu", "region=u s", "region=us,"} {
		if got, err := ParseLocality(bad); err == nil {
			t.Errorf("ParseLocality(%q) = %q, want an error", bad, got)
		}
	}
	if r := LocalityRegion("cloud=x,region=ap,zone=b"); r != "ap" {
		t.Errorf("LocalityRegion = %q", r)
	}
}

func TestParseLatencyMatrix(t *testing.T) {
	m, err := ParseLatencyMatrix("us-eu=60ms, ap-us=120ms")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[[2]string{"eu", "us"}] != 60*time.Millisecond || m[[2]string{"ap", "us"}] != 120*time.Millisecond {
		t.Fatalf("matrix %v", m)
	}
	if m, err := ParseLatencyMatrix(""); m != nil || err != nil {
		t.Fatalf("empty: %v, %v", m, err)
	}
	for _, bad := range []string{"us-eu", "us=60ms", "us-us=1ms", "us-eu=-1ms", "us-eu=0s", "us-eu=fast", "us-eu=1ms,eu-us=2ms"} {
		if _, err := ParseLatencyMatrix(bad); err == nil {
			t.Errorf("ParseLatencyMatrix(%q): no error", bad)
		}
	}
}

// TestMetricsEndpoint: /metrics serves the SQL, kv and replica metrics in
// the Prometheus text format, and the counters move with statements.
func TestMetricsEndpoint(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx, Config{InMemory: true, SQLAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(ctx)
	c := mustConnect(t, srv)
	for _, q := range []string{"CREATE TABLE m (a INT PRIMARY KEY)", "INSERT INTO m VALUES (1)", "SELECT * FROM m AS OF SYSTEM TIME '-1ms'"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := c.Exec(ctx, "SELECT * FROM nosuchtable"); err == nil {
		t.Fatal("no error")
	}
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	value := func(re string) string {
		m := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no %s in\n%s", re, text)
		}
		return m[1]
	}
	if v := value(`outpost_sql_statements_total`); v == "0" {
		t.Errorf("statements = %s", v)
	}
	if v := value(`outpost_sql_statement_errors_total`); v == "0" {
		t.Errorf("statement errors = %s", v)
	}
	if v := value(`outpost_kv_batches_sent_total`); v == "0" {
		t.Errorf("kv batches = %s", v)
	}
	// One node holds every lease: its historical read is served locally.
	redirected, served := value(`outpost_follower_reads_redirected_total`), value(`outpost_follower_reads_served_total`)
	if redirected != "0" || served != "1" {
		t.Errorf("follower reads served %s, redirected %s; want 1 and 0", served, redirected)
	}
	value(`outpost_replica_closed_timestamp_lag_seconds\{range="1"\}`)
	value(`outpost_store_follower_reads_served_total`)
	if v := value(`outpost_raft_applied_index\{range="1"\}`); v == "0" {
		t.Errorf("applied index = %s", v)
	}
	value(`outpost_raft_commit_index\{range="1"\}`)
	if v := value(`outpost_replica_leaseholder\{range="1"\}`); v != "1" {
		t.Errorf("a single node holds its lease: %s", v)
	}
	if !strings.Contains(text, "# TYPE outpost_sql_statements_total counter") {
		t.Error("statements is not a counter")
	}
}

// TestSimulatedLatency: two nodes in different regions exchange their
// localities through the node table, configure the simulated delay (half
// the round trip each way), and a statement routed from the follower to
// the leaseholder pays at least the round trip. (Only a lower bound is
// asserted: the machine may be slow, never faster than the delay.)
func TestSimulatedLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ctx := context.Background()
	const rtt = 80 * time.Millisecond
	matrix, err := ParseLatencyMatrix("us-eu=80ms")
	if err != nil {
		t.Fatal(err)
	}
	listen, err := FreeAddrs(2)
	if err != nil {
		t.Fatal(err)
	}
	localities := []string{"region=us,zone=a", "region=eu,zone=b"}
	cfgs := make([]Config, 2)
	for i := range cfgs {
		cfgs[i] = Config{Store: t.TempDir(), SQLAddr: "127.0.0.1:0", ListenAddr: listen[i], Join: listen,
			Locality: localities[i], Edge: i == 1, SimulateLatency: matrix,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	srvs, err := StartJoined(ctx, cfgs)
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	defer func() {
		for _, s := range srvs {
			_ = s.Stop(ctx)
		}
	}()
	// Both nodes learn the other's region from the node table.
	deadline := time.Now().Add(60 * time.Second)
	for srvs[0].SimulatedDelay(srvs[1].NodeID()) != rtt/2 || srvs[1].SimulatedDelay(srvs[0].NodeID()) != rtt/2 {
		if time.Now().After(deadline) {
			t.Fatalf("delays %v / %v, want %v", srvs[0].SimulatedDelay(srvs[1].NodeID()), srvs[1].SimulatedDelay(srvs[0].NodeID()), rtt/2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recs, err := liveness.ReadAll(ctx, srvs[0].DB())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]string{}
	for _, r := range recs {
		got[r.ID] = r.Locality
		if r.Edge != (r.ID == srvs[1].NodeID()) {
			t.Errorf("node %d: edge %v", r.ID, r.Edge)
		}
	}
	if got[srvs[0].NodeID()] != localities[0] || got[srvs[1].NodeID()] != localities[1] {
		t.Fatalf("node table localities %v", got)
	}
	// A point read through the node without the lease crosses the WAN.
	// (Should the lease move to that node meanwhile, measure again.)
	leaseholder := func() int32 {
		for time.Now().Before(deadline) {
			if lh := srvs[0].Store().Replicas()[0].Status().Lease.Replica; lh != 0 {
				return lh
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no leaseholder")
		return 0
	}
	for attempt := 0; ; attempt++ {
		far := srvs[0]
		if leaseholder() == srvs[0].NodeID() {
			far = srvs[1]
		}
		c, err := pgx.Connect(ctx, dsn(far, "defaultdb"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS w (k INT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var n int
		err = c.QueryRow(ctx, "SELECT count(*) FROM w WHERE k = 1").Scan(&n)
		d := time.Since(start)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d >= rtt {
			return
		}
		if leaseholder() != far.NodeID() || attempt == 3 {
			t.Fatalf("a read routed across regions took %v, less than the simulated round trip %v", d, rtt)
		}
	}
}
