package kv_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
	"github.com/outpostdb/outpost/kv/storage"
)

const crashChildEnv = "OUTPOST_CRASH_CHILD_DIR"

// crashGroupKey names key k of the group a worker commits in one
// transaction.
func crashGroupKey(iter, worker, seq, k int) kvpb.Key {
	return kvpb.Key(fmt.Sprintf("crash/%03d/%d/%06d/%02d", iter, worker, seq, k))
}

// runCrashChild commits groups of keys from several workers and prints an
// ACK line for each commit after Commit returns, until it is killed.
func runCrashChild(dir string, iter int) {
	n, err := kvtest.Open(kvtest.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for worker := 0; worker < 4; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				size := 1 + (seq*7+worker)%12
				err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					for k := 0; k < size; k++ {
						if err := txn.Put(ctx, crashGroupKey(iter, worker, seq, k), []byte(strconv.Itoa(size))); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "txn:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Fprintf(w, "ACK %d %d %d\n", worker, seq, size)
				w.Flush()
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

type crashAck struct{ worker, seq, size int }

// TestCrash kills a committing child process with SIGKILL at random
// moments, many times, and after each kill reopens the data directory:
// every acknowledged commit must be there in full, and no transaction may
// be visible in part.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		iter, _ := strconv.Atoi(os.Getenv(crashChildEnv + "_ITER"))
		runCrashChild(dir, iter)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	iterations := 12
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for iter := 0; iter < iterations; iter++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("%s_ITER=%d", crashChildEnv, iter))
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		must(t, cmd.Start())
		acks := make(chan crashAck, 1<<20)
		firstAck := make(chan struct{})
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var a crashAck
				if _, err := fmt.Sscanf(sc.Text(), "ACK %d %d %d", &a.worker, &a.seq, &a.size); err == nil {
					if len(acks) == 0 && a.seq == 0 {
						select {
						case <-firstAck:
						default:
							close(firstAck)
						}
					}
					acks <- a
				}
			}
		}()
		// Kill at a random moment: mostly while commits stream, sometimes
		// during start-up or recovery.
		if iter%4 == 3 {
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		} else {
			select {
			case <-firstAck:
			case <-time.After(10 * time.Second):
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		}
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		<-readDone
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || stderr.Len() > 0 {
			t.Fatalf("iteration %d: child exited on its own (%v): %s", iter, err, stderr.String())
		}
		close(acks)
		var acked []crashAck
		for a := range acks {
			acked = append(acked, a)
		}
		checkAfterCrash(t, dir, iter, acked)
		t.Logf("iteration %d: %d acknowledged commits survived", iter, len(acked))
	}
}

func checkAfterCrash(t *testing.T, dir string, iter int, acked []crashAck) {
	n, err := kvtest.Open(kvtest.Options{Dir: dir})
	must(t, err)
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Leftover intents of the killed process belong to a previous
	// incarnation of this node: reads must not wait for them to expire.
	prefix := kvpb.Key(fmt.Sprintf("crash/%03d/", iter))
	rows, err := n.DB.Scan(ctx, prefix, prefix.PrefixEnd(), 0)
	if err != nil {
		t.Fatalf("iteration %d: scan after restart: %v", iter, err)
	}
	groups := map[string]int{} // worker/seq -> keys seen
	sizes := map[string]int{}
	for _, r := range rows {
		parts := strings.Split(string(r.Key), "/")
		g := parts[2] + "/" + parts[3]
		groups[g]++
		size, _ := strconv.Atoi(string(r.Value))
		sizes[g] = size
	}
	for g, c := range groups {
		if c != sizes[g] {
			t.Fatalf("iteration %d: group %s partially visible: %d of %d keys", iter, g, c, sizes[g])
		}
	}
	for _, a := range acked {
		g := fmt.Sprintf("%d/%06d", a.worker, a.seq)
		if groups[g] != a.size {
			t.Fatalf("iteration %d: acknowledged commit %s lost (%d of %d keys)", iter, g, groups[g], a.size)
		}
	}
	// The store is writable again: a write to a key the dead process may
	// have held an intent on goes through.
	for w := 0; w < 4; w++ {
		for seq := 0; seq < 1000; seq++ {
			g := fmt.Sprintf("%d/%06d", w, seq)
			if groups[g] == 0 {
				must(t, n.DB.Put(ctx, crashGroupKey(iter, w, seq, 0), []byte("after")))
				break
			}
		}
	}
}

// TestCrashPowerLoss simulates power failures: while workers commit, the
// filesystem is cloned as a crash would leave it (synced data, plus a random
// part of the unsynced data). Every commit acknowledged before the clone
// must survive in it, and no transaction may be visible in part.
func TestCrashPowerLoss(t *testing.T) {
	fs := storage.NewMemFS()
	n := kvtest.Start(t, kvtest.Options{MemFS: fs})
	ctx := context.Background()
	var mu sync.Mutex
	var acked []crashAck
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for worker := 0; worker < 4; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				size := 1 + (seq*7+worker)%12
				err := n.DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
					for k := 0; k < size; k++ {
						if err := txn.Put(ctx, crashGroupKey(0, worker, seq, k), []byte(strconv.Itoa(size))); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, crashAck{worker, seq, size})
				mu.Unlock()
			}
		}()
	}
	type crash struct {
		fs    *storage.MemFS
		acked []crashAck
	}
	var crashes []crash
	for i := 0; i < 6; i++ {
		time.Sleep(time.Duration(20+i*30) * time.Millisecond)
		mu.Lock()
		before := slices.Clone(acked)
		mu.Unlock()
		crashes = append(crashes, crash{fs: fs.CrashClone(50, int64(i)), acked: before})
	}
	close(stop)
	wg.Wait()
	for i, c := range crashes {
		cn, err := kvtest.Open(kvtest.Options{MemFS: c.fs})
		must(t, err)
		rows, err := cn.DB.Scan(ctx, kvpb.Key("crash/"), kvpb.Key("crash0"), 0)
		must(t, err)
		groups, sizes := map[string]int{}, map[string]int{}
		for _, r := range rows {
			parts := strings.Split(string(r.Key), "/")
			g := parts[2] + "/" + parts[3]
			groups[g]++
			sizes[g], _ = strconv.Atoi(string(r.Value))
		}
		for g, cnt := range groups {
			if cnt != sizes[g] {
				t.Fatalf("crash %d: group %s partially visible: %d of %d keys", i, g, cnt, sizes[g])
			}
		}
		for _, a := range c.acked {
			if g := fmt.Sprintf("%d/%06d", a.worker, a.seq); groups[g] != a.size {
				t.Fatalf("crash %d: acknowledged commit %s lost", i, g)
			}
		}
		t.Logf("crash %d: %d acknowledged commits survived, %d groups visible", i, len(c.acked), len(groups))
		cn.Close()
	}
}
