package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// buildOutpost compiles the binary once per test run.
func buildOutpost(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "outpost")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type proc struct {
	args    []string
	sqlAddr string
	log     string
	cmd     *exec.Cmd
}

func (p *proc) start(t *testing.T, bin string) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); f.Close() }()
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// cleanupProcs kills the processes when the test ends and, if it failed,
// logs their output.
func cleanupProcs(t *testing.T, procs []*proc) {
	t.Cleanup(func() {
		for _, p := range procs {
			p.kill()
		}
		if t.Failed() {
			for _, p := range procs {
				b, _ := os.ReadFile(p.log)
				t.Logf("--- %s:\n%s", p.log, b)
			}
		}
	})
}

// initCluster runs `outpost init --host addr`, retrying until the node's
// RPC listener is up.
func initCluster(t *testing.T, bin, addr string) {
	t.Helper()
	var initErr error
	for i := 0; i < 50; i++ {
		out, err := exec.Command(bin, "init", "--host", addr).CombinedOutput()
		if initErr = err; err == nil {
			return
		}
		initErr = fmt.Errorf("%v: %s", err, out)
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("outpost init: %v", initErr)
}

func connect(ctx context.Context, t *testing.T, addr string) *pgx.Conn {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(cctx, fmt.Sprintf("postgres://root@%s/defaultdb?sslmode=disable", addr))
		cancel()
		if err == nil {
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("connecting to %s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestThreeProcessCluster runs three real `outpost start --join`
// processes, initializes them with `outpost init`, writes through one node
// and reads through another, SIGKILLs a node, keeps serving through the
// others, and checks that the restarted process catches up.
func TestThreeProcessCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	bin := buildOutpost(t)
	dir := t.TempDir()
	var listen []string
	for i := 0; i < 3; i++ {
		listen = append(listen, freePort(t))
	}
	join := strings.Join(listen, ",")
	procs := make([]*proc, 3)
	for i := range procs {
		p := &proc{sqlAddr: freePort(t), log: filepath.Join(dir, fmt.Sprintf("n%d.log", i+1))}
		p.args = []string{"start", "--store", filepath.Join(dir, fmt.Sprintf("d%d", i+1)),
			"--sql-addr", p.sqlAddr, "--listen-addr", listen[i], "--http-addr", "", "--join", join}
		procs[i] = p
		p.start(t, bin)
	}
	cleanupProcs(t, procs)
	initCluster(t, bin, listen[0])
	ctx := context.Background()
	c1 := connect(ctx, t, procs[0].sqlAddr)
	defer c1.Close(ctx)
	if _, err := c1.Exec(ctx, "CREATE TABLE t (k INT PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := c1.Exec(ctx, "INSERT INTO t VALUES ($1, $2)", i, fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c3 := connect(ctx, t, procs[2].sqlAddr)
	defer c3.Close(ctx)
	var n int
	if err := c3.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 20 {
		t.Fatalf("read through node 3: %d rows, %v", n, err)
	}
	// Wait until the range has three voters, so that losing one node
	// keeps a quorum.
	deadline := time.Now().Add(60 * time.Second)
	for {
		voters, _, _, err := showRange(ctx, c1)
		if err == nil && voters == "{1,2,3}" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("range never reached three voters: %q, %v", voters, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// SIGKILL node 1; nodes 2 and 3 keep serving reads and writes.
	procs[0].kill()
	c1.Close(ctx)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := 20; i < 30; i++ {
		if _, err := c3.Exec(wctx, "INSERT INTO t VALUES ($1, $2)", i, fmt.Sprintf("v%d", i)); err != nil {
			t.Fatalf("write after killing node 1: %v", err)
		}
	}
	c2 := connect(ctx, t, procs[1].sqlAddr)
	defer c2.Close(ctx)
	if err := c2.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 30 {
		t.Fatalf("read through node 2: %d rows, %v", n, err)
	}
	// The restarted process catches up from its log.
	procs[0].start(t, bin)
	c1 = connect(ctx, t, procs[0].sqlAddr)
	defer c1.Close(ctx)
	if err := c1.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 30 {
		t.Fatalf("read through restarted node 1: %d rows, %v", n, err)
	}
	// Its own replica applies everything node 2 has committed.
	_, _, commit, err := showRange(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, applied, _, err := showRange(ctx, c1)
		if err == nil && applied >= commit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted node 1 applied %d, want >= %d (%v)", applied, commit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// showRange returns the voters of the first range and the applied and
// commit indexes of the connected node's replica.
func showRange(ctx context.Context, c *pgx.Conn) (voters string, applied, commit int64, err error) {
	var id, size int64
	var start, end, learners, localities string
	var lh, leader *int64
	var closedLag *time.Duration
	err = c.QueryRow(ctx, "SHOW RANGES").Scan(&id, &start, &end, &voters, &learners, &lh, &leader, &applied, &commit, &size, &localities, &closedLag)
	return voters, applied, commit, err
}
