package closedts

import (
	"math/rand/v2"
	"testing"
)

func TestFollowerCheck(t *testing.T) {
	var f Follower
	if got := f.Check(ts(1, 0), 100); got != NotClosed {
		t.Fatalf("empty follower: %s, want NotClosed", got)
	}
	f.Update(ts(100, 0), 10)
	f.Update(ts(200, 0), 20)
	f.Update(ts(150, 0), 30) // stale closed timestamp: ignored
	f.Update(ts(200, 0), 40) // not raised: ignored
	for _, tc := range []struct {
		read    int64
		applied uint64
		want    Reason
	}{
		{50, 9, NotApplied},
		{50, 10, OK},
		{100, 10, OK},
		{101, 10, NotApplied}, // closed by the second pair, index 20 not applied
		{150, 19, NotApplied},
		{150, 20, OK},
		{200, 20, OK},
		{201, 1000, NotClosed},
	} {
		if got := f.Check(ts(tc.read, 0), tc.applied); got != tc.want {
			t.Errorf("Check(%d, applied=%d) = %s, want %s", tc.read, tc.applied, got, tc.want)
		}
		if got := f.CanServe(ts(tc.read, 0), tc.applied); got != (tc.want == OK) {
			t.Errorf("CanServe(%d, applied=%d) = %v", tc.read, tc.applied, got)
		}
	}
	if c, i := f.Closed(); c != ts(200, 0) || i != 20 {
		t.Errorf("Closed() = %s, %d", c, i)
	}

	// A higher closed timestamp at a lower index dominates older pairs.
	f.Update(ts(300, 0), 15)
	if got := f.Check(ts(250, 0), 15); got != OK {
		t.Errorf("after dominating update: %s, want OK", got)
	}
	if len(f.pairs) != 2 { // (100,10), (300,15)
		t.Errorf("pairs = %v, want 2", f.pairs)
	}

	// Only maxPending pairs are kept: the oldest is forgotten, which only
	// costs liveness (NotApplied instead of OK), never safety.
	var g Follower
	for i := range uint64(maxPending + 2) {
		g.Update(ts(int64(100*(i+1)), 0), 10*(i+1))
	}
	if len(g.pairs) != maxPending {
		t.Errorf("kept %d pairs, want %d", len(g.pairs), maxPending)
	}
	if got := g.Check(ts(100, 0), 10); got != NotApplied {
		t.Errorf("forgotten pair: %s, want NotApplied", got)
	}
	if got := g.Check(ts(300, 0), 30); got != OK {
		t.Errorf("kept pair: %s, want OK", got)
	}
	if Reason(0).String() != "Reason(0)" || NotApplied.String() != "NotApplied" {
		t.Error("Reason.String")
	}
}

// TestFollowerRandomizedSafety checks Check against every publication ever
// made: OK must be justified by one of them, and NotClosed only when none
// closes readTs.
func TestFollowerRandomizedSafety(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		var f Follower
		var all []closedAt
		for op := 0; op < 100; op++ {
			c, i := ts(rng.Int64N(100), 0), rng.Uint64N(50)
			f.Update(c, i)
			all = append(all, closedAt{c, i})
			read, applied := ts(rng.Int64N(100), 0), rng.Uint64N(50)
			got := f.Check(read, applied)
			justified, closedAny := false, false
			for _, p := range all {
				if read.LessEq(p.closed) {
					closedAny = true
					justified = justified || p.index <= applied
				}
			}
			if (got == OK && !justified) || (got == NotClosed && closedAny) {
				t.Fatalf("seed %d op %d: Check(%s, %d) = %s; publications %v", seed, op, read, applied, got, all)
			}
		}
	}
}
