package testcluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/outpostdb/outpost/kv"
	"github.com/outpostdb/outpost/kv/kvpb"
)

// liveGateway picks a random live node to send through.
func liveGateway(c *Cluster, rng *rand.Rand) *Node {
	ids := c.IDs()
	for {
		id := ids[rng.IntN(len(ids))]
		if c.Alive(id) {
			return c.Node(id)
		}
	}
}

// outcomeUnknown reports errors after which a write may or may not have
// happened.
func outcomeUnknown(err error) bool {
	var amb *kvpb.AmbiguousResultError
	return errors.As(err, &amb)
}

// TestBankWithKill moves money between accounts through every node while
// nodes are killed and restarted one at a time; an auditor checks the
// total at every snapshot and at the end. It runs with the accounts in one
// range and spread over four (transfers and audits then cross ranges).
func TestBankWithKill(t *testing.T) {
	for _, splits := range [][]int{nil, {5, 10, 15}} {
		t.Run(fmt.Sprintf("ranges=%d", len(splits)+1), func(t *testing.T) { testBankWithKill(t, splits) })
	}
}

func testBankWithKill(t *testing.T, splits []int) {
	const (
		accounts = 20
		initial  = 1000
	)
	ctx := context.Background()
	c := Start(t, Options{Nodes: 3, Seed: 3})
	acct := func(i int) kvpb.Key { return kvpb.Key(fmt.Sprintf("bank/%02d", i)) }
	for _, i := range splits {
		if _, err := split(ctx, c, 1, acct(i)); err != nil {
			t.Fatal(err)
		}
	}
	enc := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	err := c.Node(1).DB.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
		for i := 0; i < accounts; i++ {
			if err := txn.Put(ctx, acct(i), enc(initial)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	total := func(db *kv.DB) (int64, error) {
		var sum int64
		err := db.Txn(ctx, func(ctx context.Context, txn *kv.Txn) error {
			rows, err := txn.Scan(ctx, kvpb.Key("bank/"), kvpb.Key("bank0"), 0)
			if err != nil {
				return err
			}
			if len(rows) != accounts {
				return fmt.Errorf("saw %d accounts", len(rows))
			}
			sum = 0
			for _, r := range rows {
				sum += int64(binary.BigEndian.Uint64(r.Value))
			}
			return nil
		})
		return sum, err
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var transfers, failed, audits atomic.Int64
	var badTotal atomic.Int64
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				from, to := rng.IntN(accounts), rng.IntN(accounts)
				if from == to {
					continue
				}
				amount := int64(rng.IntN(50))
				tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				err := liveGateway(c, rng).DB.Txn(tctx, func(ctx context.Context, txn *kv.Txn) error {
					a, err := txn.Get(ctx, acct(from))
					if err != nil {
						return err
					}
					b, err := txn.Get(ctx, acct(to))
					if err != nil {
						return err
					}
					if err := txn.Put(ctx, acct(from), enc(int64(binary.BigEndian.Uint64(a))-amount)); err != nil {
						return err
					}
					return txn.Put(ctx, acct(to), enc(int64(binary.BigEndian.Uint64(b))+amount))
				})
				cancel()
				if err != nil {
					failed.Add(1)
				} else {
					transfers.Add(1)
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(99, 1))
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			sum, err := total(liveGateway(c, rng).DB)
			if err != nil {
				continue // unavailable during failover
			}
			audits.Add(1)
			if sum != accounts*initial {
				badTotal.Store(sum)
			}
		}
	}()

	// Nemesis: kill and restart each node in turn.
	duration := 6 * time.Second
	if testing.Short() {
		duration = 3 * time.Second
	}
	end := time.Now().Add(duration)
	for _, id := range []int32{c.LeaseHolder(), 0, 0} {
		if time.Now().After(end) {
			break
		}
		if id == 0 {
			id = c.LeaseHolder()
			if id == 0 {
				id = 1
			}
		}
		time.Sleep(duration / 6)
		c.Kill(id)
		time.Sleep(duration / 6)
		if err := c.Restart(id); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if v := badTotal.Load(); v != 0 {
		t.Fatalf("an audit saw total %d, want %d", v, accounts*initial)
	}
	sum, err := total(c.Node(1).DB)
	if err != nil {
		t.Fatal(err)
	}
	if sum != accounts*initial {
		t.Fatalf("final total %d, want %d", sum, accounts*initial)
	}
	if transfers.Load() == 0 || audits.Load() == 0 {
		t.Fatalf("no progress: %d transfers, %d audits", transfers.Load(), audits.Load())
	}
	t.Logf("%d transfers (%d failed during faults), %d audits", transfers.Load(), failed.Load(), audits.Load())
}

// kvInput and kvOutput describe one operation for porcupine.
type kvInput struct {
	key   string
	write bool
	value string
}

type kvOutput struct{ value string }

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				order = append(order, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, k := range order {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in := input.(kvInput)
		if in.write {
			return true, in.value
		}
		return output.(kvOutput).value == state.(string), state
	},
	Equal: func(a, b interface{}) bool { return a == b },
	DescribeOperation: func(input, output interface{}) string {
		in := input.(kvInput)
		if in.write {
			return fmt.Sprintf("put(%s, %q)", in.key, in.value)
		}
		return fmt.Sprintf("get(%s) -> %q", in.key, output.(kvOutput).value)
	},
}

// TestLinearizable runs single-key reads and writes from concurrent
// clients through random nodes while a nemesis kills, restarts and
// partitions nodes, then checks the history with porcupine. A write whose
// outcome is unknown (ambiguous) is recorded as pending forever, which
// lets the checker place it anywhere after its call, or nowhere.
func TestLinearizable(t *testing.T) {
	testLinearizable(t, Options{Nodes: 3, Seed: 5, RouterTimeout: 2 * time.Second})
}

func testLinearizable(t *testing.T, opts Options) {
	ctx := context.Background()
	c := Start(t, opts)
	var (
		mu      sync.Mutex
		history []porcupine.Operation
	)
	origin := time.Now()
	now := func() int64 { return int64(time.Since(origin)) }
	const forever = int64(1) << 62
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, unknown atomic.Int64
	for client := 0; client < 6; client++ {
		wg.Add(1)
		go func(client int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(client), 2))
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				in := kvInput{key: fmt.Sprintf("r%d", rng.IntN(3))}
				if rng.IntN(2) == 0 {
					in.write, in.value = true, fmt.Sprintf("c%d-%d", client, seq)
				}
				db := liveGateway(c, rng).DB
				// Short, so that clients stuck behind a lost quorum come
				// back and keep probing both sides of a partition.
				tctx, cancel := context.WithTimeout(ctx, time.Second)
				call := now()
				var out kvOutput
				var err error
				if in.write {
					err = put(tctx, db, kvpb.Key(in.key), in.value)
				} else {
					out.value, err = get(tctx, db, kvpb.Key(in.key))
				}
				ret := now()
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
				case in.write && (outcomeUnknown(err) || errors.Is(err, context.DeadlineExceeded)):
					ret = forever
					unknown.Add(1)
				default:
					continue // failed without effect
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		}(client)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	duration := 8 * time.Second
	if testing.Short() {
		duration = 4 * time.Second
	}
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		time.Sleep(400 * time.Millisecond)
		switch rng.IntN(3) {
		case 0:
			id := c.LeaseHolder()
			if id == 0 {
				continue
			}
			c.Kill(id)
			time.Sleep(500 * time.Millisecond)
			if err := c.Restart(id); err != nil {
				t.Fatal(err)
			}
		case 1:
			// Isolating the leaseholder is the interesting case: it
			// must stop serving before the others start.
			lone := c.LeaseHolder()
			if lone == 0 || rng.IntN(3) == 0 {
				lone = int32(1 + rng.IntN(3))
			}
			var rest []int32
			for _, id := range c.IDs() {
				if id != lone {
					rest = append(rest, id)
				}
			}
			c.Partition([]int32{lone}, rest)
			// Longer than a lease, so the majority moves on.
			time.Sleep(2 * time.Second)
			c.Heal()
		default:
		}
	}
	close(stop)
	wg.Wait()
	if ok.Load() < 50 {
		t.Fatalf("only %d operations succeeded", ok.Load())
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, 60*time.Second)
	if res == porcupine.Illegal {
		path := t.TempDir() + "/linearizability.html"
		_ = porcupine.VisualizePath(registerModel, info, path)
		t.Fatalf("history of %d operations is not linearizable (visualization: %s)", len(history), path)
	}
	if res == porcupine.Unknown {
		t.Fatalf("linearizability check timed out on %d operations", len(history))
	}
	t.Logf("%d operations linearizable (%d ok, %d with unknown outcome)", len(history), ok.Load(), unknown.Load())
}
