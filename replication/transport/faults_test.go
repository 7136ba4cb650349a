package transport

import (
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var nilFaults *Faults
	if nilFaults.Blocked(1, 2) || nilFaults.Drop(1, 2) || nilFaults.Delay(1, 2) != 0 {
		t.Fatal("a nil injector injects")
	}

	f := NewFaults(42)
	f.Partition([]int32{1}, []int32{2, 3})
	f.BlockOneWay(4, 5)
	f.Isolate(6)
	for _, c := range []struct {
		from, to int32
		blocked  bool
	}{
		{1, 2, true}, {2, 1, true}, {3, 1, true}, {2, 3, false},
		{4, 5, true}, {5, 4, false},
		{6, 1, true}, {7, 6, true}, {7, 8, false},
	} {
		if got := f.Blocked(c.from, c.to); got != c.blocked {
			t.Errorf("Blocked(%d, %d) = %v", c.from, c.to, got)
		}
		if got := f.Drop(c.from, c.to); got != c.blocked {
			t.Errorf("Drop(%d, %d) = %v with no drop rate", c.from, c.to, got)
		}
	}
	if !f.Isolated(6) || f.Isolated(7) {
		t.Fatal("Isolated")
	}
	f.Unisolate(6)
	if f.Isolated(6) || f.Blocked(6, 1) || !f.Blocked(1, 2) || !f.Blocked(4, 5) {
		t.Fatal("Unisolate must end node 6's isolation only")
	}
	f.Isolate(6)
	f.Heal()
	if f.Blocked(1, 2) || f.Blocked(4, 5) || f.Blocked(6, 1) {
		t.Fatal("Heal left a block")
	}

	f.SetDelay(1, 2, 10*time.Millisecond)
	f.SetOneWayDelay(2, 1, 0)
	f.SetLatencyMatrix(map[int32]string{3: "us", 4: "eu"}, map[[2]string]time.Duration{{"eu", "us"}: 60 * time.Millisecond})
	if f.Delay(1, 2) != 10*time.Millisecond || f.Delay(2, 1) != 0 || f.Delay(3, 4) != 30*time.Millisecond || f.Delay(4, 3) != 30*time.Millisecond {
		t.Fatal("delays")
	}

	pattern := func(seed int64) []bool {
		f := NewFaults(seed)
		f.SetOneWayDropRate(1, 2, 0.5)
		out := make([]bool, 1000)
		for i := range out {
			out[i] = f.Drop(1, 2)
		}
		return out
	}
	a, b, c := pattern(1), pattern(1), pattern(2)
	same, dropped := true, 0
	for i := range a {
		same = same && a[i] == b[i]
		if a[i] {
			dropped++
		}
	}
	if !same || dropped < 400 || dropped > 600 {
		t.Fatalf("same seed same pattern %v, %d/1000 dropped at rate 0.5", same, dropped)
	}
	differ := false
	for i := range a {
		differ = differ || a[i] != c[i]
	}
	if !differ {
		t.Fatal("different seeds gave the same pattern")
	}
	f.SetDropRate(1, 2, 1)
	if !f.Drop(2, 1) || f.Drop(1, 3) {
		t.Fatal("drop rate 1")
	}
}
