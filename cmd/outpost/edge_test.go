package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEdgeFlags runs the real binary: bad --locality and --simulate-latency
// values are refused at start, and a node with --locality, --edge and
// --simulate-latency serves SQL and Prometheus /metrics on --http-addr.
func TestEdgeFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process")
	}
	bin := buildOutpost(t)
	dir := t.TempDir()
	for _, bad := range [][]string{
		{"--locality", "region"},
		{"--locality", "region=us,region=eu"},
		{"--simulate-latency", "us-eu=60ms"}, // no region of our own
		{"--locality", "region=us", "--simulate-latency", "us-eu"},
	} {
		args := append([]string{"start", "--store", filepath.Join(dir, "bad"), "--sql-addr", freePort(t), "--listen-addr", freePort(t), "--http-addr", ""}, bad...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		// The error names the flag at fault.
		if err == nil || !strings.Contains(string(out), bad[len(bad)-2]) {
			t.Errorf("%v: err %v, output %s", bad, err, out)
		}
	}
	httpAddr := freePort(t)
	p := &proc{sqlAddr: freePort(t), log: filepath.Join(dir, "n1.log")}
	p.args = []string{"start", "--store", filepath.Join(dir, "d1"), "--sql-addr", p.sqlAddr, "--listen-addr", freePort(t),
		"--http-addr", httpAddr, "--locality", "region=eu,zone=b", "--edge", "--simulate-latency", "us-eu=60ms"}
	p.start(t, bin)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("--- %s:\n%s", p.log, b)
		}
	})
	ctx := context.Background()
	conn := connect(ctx, t, p.sqlAddr)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE e (a INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, "outpost_sql_statements_total") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics: %v\n%s", err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"outpost_kv_batches_sent_total", "outpost_raft_applied_index{range=\"1\"}", "outpost_follower_reads_served_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
