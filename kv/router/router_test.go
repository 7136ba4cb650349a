package router_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/router"
)

func k(s string) kvpb.Key { return kvpb.Key(s) }

func sp(a, b string) kvpb.Span { return kvpb.Span{Key: k(a), EndKey: k(b)} }

func batch(reqs ...kvpb.Request) *kvpb.BatchRequest {
	return &kvpb.BatchRequest{Requests: reqs}
}

func newTxn(anchor string) *kvpb.Transaction {
	ts := hlc.Timestamp{WallTime: 100}
	return &kvpb.Transaction{
		TxnMeta:       kvpb.TxnMeta{ID: uuid.New(), Key: k(anchor), WriteTimestamp: ts, MinTimestamp: ts},
		ReadTimestamp: ts, GlobalUncertaintyLimit: ts.Add(time.Second),
	}
}

func send(t *testing.T, r *router.Router, ba *kvpb.BatchRequest) *kvpb.BatchResponse {
	t.Helper()
	resp, err := r.Send(context.Background(), ba)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func rowKeys(rows []kvpb.KeyValue) string {
	var s []string
	for _, r := range rows {
		s = append(s, string(r.Key))
	}
	return strings.Join(s, ",")
}

func put(c *fakeCluster, ks ...string) {
	for _, key := range ks {
		c.data[key] = []byte("v" + key)
	}
}

// TestSplitAndMerge: a batch over several ranges is split per range in key
// order, span requests truncated, and the answers merged in request order.
func TestSplitAndMerge(t *testing.T) {
	c := newFakeCluster(3, "c", "f", "m")
	put(c, "a", "b", "c", "d", "e", "f", "g", "x")
	r := c.router(t, 1, time.Second)
	ba := batch(
		&kvpb.ScanRequest{Span: sp("b", "n")},
		&kvpb.GetRequest{Key: k("d")},
		&kvpb.PutRequest{Key: k("y"), Value: []byte("1")},
		&kvpb.GetRequest{Key: k("a")},
		&kvpb.DeleteRangeRequest{Span: sp("e", "h"), ReturnKeys: true},
		&kvpb.GCRequest{Span: sp("a", "z")},
	)
	resp := send(t, r, ba)
	if got := rowKeys(resp.Responses[0].(*kvpb.ScanResponse).Rows); got != "b,c,d,e,f,g" {
		t.Errorf("scan rows %s", got)
	}
	if rs := resp.Responses[0].(*kvpb.ScanResponse).ResumeSpan; rs != nil {
		t.Errorf("unlimited scan with resume span %s", rs)
	}
	if v := resp.Responses[1].(*kvpb.GetResponse).Value; string(v) != "vd" {
		t.Errorf("get d = %q", v)
	}
	if v := resp.Responses[3].(*kvpb.GetResponse).Value; string(v) != "va" {
		t.Errorf("get a = %q", v)
	}
	dr := resp.Responses[4].(*kvpb.DeleteRangeResponse)
	if dr.Count != 3 || fmt.Sprint(dr.Keys) != `["e" "f" "g"]` {
		t.Errorf("delete range %d %v", dr.Count, dr.Keys)
	}
	// GC runs after the DeleteRange in every range: a,b,c,d,x,y remain.
	if n := resp.Responses[5].(*kvpb.GCResponse).Removed; n != 6 {
		t.Errorf("gc removed %d, want 6", n)
	}
	want := "" +
		"r1@n1: Scan[b,c) Get(a) GC[a,c)\n" +
		"r2@n2: Scan[c,f) Get(d) DeleteRange[e,f) GC[c,f)\n" +
		"r3@n3: Scan[f,m) DeleteRange[f,h) GC[f,m)\n" +
		"r4@n1: Scan[m,n) Put(y) GC[m,z)\n"
	if got := c.userLog(); got != want {
		t.Errorf("parts:\n%s\nwant:\n%s", got, want)
	}
	// A span past the end of the keyspace ends with the last range.
	resp = send(t, r, batch(&kvpb.ScanRequest{Span: sp("c", "\xff\xff\xff")}, &kvpb.ScanRequest{Span: sp("x", "\xff\xff\x01"), Reverse: true, MaxKeys: 1}))
	if got := rowKeys(resp.Responses[0].(*kvpb.ScanResponse).Rows); got != "c,d,x,y" {
		t.Errorf("scan to the end: %s", got)
	}
	if got := rowKeys(resp.Responses[1].(*kvpb.ScanResponse).Rows); got != "y" {
		t.Errorf("reverse scan from the end: %s", got)
	}
	// A batch in one range goes as is, in one piece.
	c.resetLog()
	send(t, r, batch(&kvpb.GetRequest{Key: k("g")}, &kvpb.ScanRequest{Span: sp("f", "m")}))
	if got := c.userLog(); got != "r3@n3: Get(g) Scan[f,m)\n" {
		t.Errorf("single-range batch: %s", got)
	}
}

// TestScanLimitsAcrossRanges: MaxKeys holds across ranges, forward and in
// reverse, and the ResumeSpan says exactly what was not read.
func TestScanLimitsAcrossRanges(t *testing.T) {
	c := newFakeCluster(2, "c", "f", "m")
	put(c, "a", "b", "c", "d", "e", "g", "h", "x")
	r := c.router(t, 1, time.Second)
	for _, tc := range []struct {
		span    kvpb.Span
		reverse bool
		max     int64
		rows    string
		resume  string // "" for none
		parts   int    // user batches sent
	}{
		{sp("a", "z"), false, 3, "a,b,c", `["d","z")`, 2},
		{sp("a", "z"), false, 2, "a,b", `["c","z")`, 1}, // limit met at the boundary
		{sp("a", "z"), false, 5, "a,b,c,d,e", `["f","z")`, 2},
		{sp("a", "z"), false, 8, "a,b,c,d,e,g,h,x", "", 4},
		{sp("a", "z"), false, 9, "a,b,c,d,e,g,h,x", "", 4},
		{sp("a", "z"), true, 3, "x,h,g", `["a","f")`, 2}, // limit met at the boundary
		{sp("a", "z"), true, 4, "x,h,g,e", `["a","d\x00")`, 3},
		{sp("b", "h"), true, 2, "g,e", `["b","d\x00")`, 2},
		{sp("b", "h"), true, 0, "g,e,d,c,b", "", 3},
		{sp("d", "e\x00"), false, 1, "d", `["e","e\x00")`, 1},
	} {
		c.resetLog()
		resp := send(t, r, batch(&kvpb.ScanRequest{Span: tc.span, Reverse: tc.reverse, MaxKeys: tc.max}))
		sr := resp.Responses[0].(*kvpb.ScanResponse)
		name := fmt.Sprintf("scan %s reverse=%v max=%d", tc.span, tc.reverse, tc.max)
		if got := rowKeys(sr.Rows); got != tc.rows {
			t.Errorf("%s: rows %s, want %s", name, got, tc.rows)
		}
		got := ""
		if sr.ResumeSpan != nil {
			got = sr.ResumeSpan.String()
		}
		if got != tc.resume {
			t.Errorf("%s: resume %s, want %s", name, got, tc.resume)
		}
		if n := len(c.servedBy(0)); n != tc.parts {
			t.Errorf("%s: %d parts sent, want %d:\n%s", name, n, tc.parts, c.userLog())
		}
	}
	// Two limited scans in one batch keep their own limits; a range
	// without work for a finished scan is not visited for it.
	c.resetLog()
	resp := send(t, r, batch(&kvpb.ScanRequest{Span: sp("a", "z"), MaxKeys: 1}, &kvpb.ScanRequest{Span: sp("d", "z"), MaxKeys: 3}))
	if a, b := rowKeys(resp.Responses[0].(*kvpb.ScanResponse).Rows), rowKeys(resp.Responses[1].(*kvpb.ScanResponse).Rows); a != "a" || b != "d,e,g" {
		t.Errorf("two scans: %s / %s", a, b)
	}
	want := "r1@n1: Scan[a,c)\nr2@n2: Scan[d,f)\nr3@n1: Scan[f,m)\n"
	if got := c.userLog(); got != want {
		t.Errorf("two scans sent:\n%s\nwant\n%s", got, want)
	}
}

// TestStaleCacheMismatch: after a split the router's cached descriptor is
// stale; the RangeKeyMismatchError's ranges replace it and only the
// refused part is re-split and resent.
func TestStaleCacheMismatch(t *testing.T) {
	c := newFakeCluster(1, "m")
	put(c, "a", "g", "p", "t")
	r := c.router(t, 1, time.Second)
	send(t, r, batch(&kvpb.ScanRequest{Span: sp("a", "z")})) // caches both ranges
	// Split r1 [.., m) at g: r1 [.., g) gen 2, r5 [g, m).
	c.mu.Lock()
	left := c.ranges[0].Clone()
	left.EndKey, left.Generation = k("g"), 2
	right := &kvpb.RangeDescriptor{RangeID: 5, StartKey: k("g"), EndKey: k("m"), Generation: 1, Replicas: left.Replicas}
	c.ranges = []*kvpb.RangeDescriptor{left, right, c.ranges[1]}
	c.lh[5] = 1
	c.mu.Unlock()
	// Meta still lags (the old record), so only the error tells the truth.
	c.resetLog()
	resp := send(t, r, batch(&kvpb.ScanRequest{Span: sp("a", "z"), MaxKeys: 3}))
	sr := resp.Responses[0].(*kvpb.ScanResponse)
	if rowKeys(sr.Rows) != "a,g,p" || sr.ResumeSpan.String() != `["t","z")` {
		t.Fatalf("scan after split: %s resume %s", rowKeys(sr.Rows), sr.ResumeSpan)
	}
	want := "r1@n1: Scan[a,g)\nr5@n1: Scan[g,m)\nr2@n1: Scan[m,z)\n"
	if got := c.userLog(); got != want {
		t.Errorf("after mismatch sent:\n%s\nwant\n%s", got, want)
	}
	var cached []string
	for _, d := range r.CachedRanges() {
		cached = append(cached, fmt.Sprintf("r%d:%s-%s", d.RangeID, d.StartKey, d.EndKey))
	}
	if got := strings.Join(cached, " "); got != `r1:"\x02"-"g" r5:"g"-"m" r2:"m"-"\xff\xff"` {
		t.Errorf("cache %s", got)
	}
	// The refused attempt was not evaluated anywhere: exactly one
	// mismatch, and r2's part was sent once.
	var refused int
	c.mu.Lock()
	for _, s := range c.log {
		var mm *kvpb.RangeKeyMismatchError
		if errors.As(s.err, &mm) {
			refused++
		}
	}
	c.mu.Unlock()
	if refused != 1 {
		t.Errorf("%d refusals, want 1", refused)
	}
}

// TestStaleMetaOlderThanCache: a meta record older than the cached
// descriptor of its range (meta lagging a split whose left half the
// router already knows) is tried, and the refusal teaches the router the
// truth. It once made the router cut a part to the record's bounds, find
// them at odds with its cache, and cut again until the stack overflowed.
func TestStaleMetaOlderThanCache(t *testing.T) {
	c := newFakeCluster(1, "c")
	put(c, "d", "g", "p")
	r := c.router(t, 1, 5*time.Second)
	// Split r2 [c, max) at f: r2 [c, f) gen 2, r3 [f, max). Meta has the
	// left record but still the old one at max, and keeps it.
	c.mu.Lock()
	left := c.ranges[1].Clone()
	left.EndKey, left.Generation = k("f"), 2
	right := &kvpb.RangeDescriptor{RangeID: 3, StartKey: k("f"), EndKey: c.ranges[1].EndKey, Generation: 1, Replicas: left.Replicas}
	c.ranges = []*kvpb.RangeDescriptor{c.ranges[0], left, right}
	c.lh[3] = 1
	c.writeMeta(left)
	c.mu.Unlock()
	send(t, r, batch(&kvpb.GetRequest{Key: k("d")})) // caches r2 gen 2
	c.resetLog()
	resp := send(t, r, batch(&kvpb.ScanRequest{Span: sp("d", "z"), Reverse: true}))
	if got := rowKeys(resp.Responses[0].(*kvpb.ScanResponse).Rows); got != "p,g,d" {
		t.Fatalf("reverse scan rows %s", got)
	}
	want := "r3@n1: Scan[f,z)\nr2@n1: Scan[d,f)\n"
	if got := c.userLog(); got != want {
		t.Errorf("sent:\n%s\nwant\n%s", got, want)
	}
}

// TestLeaseholderPerRange: each range's leaseholder is learnt from hints
// and remembered separately; without hints the router walks the replicas.
func TestLeaseholderPerRange(t *testing.T) {
	c := newFakeCluster(3, "f", "m")
	r := c.router(t, 1, time.Second)
	send(t, r, batch(&kvpb.PutRequest{Key: k("g"), Value: []byte("1")}, &kvpb.PutRequest{Key: k("p"), Value: []byte("1")}))
	for rid, want := range map[int64]int32{2: 2, 3: 3} {
		if got := r.LeaseHolderOf(rid); got != want {
			t.Errorf("r%d leaseholder %d, want %d", rid, got, want)
		}
	}
	// Known leaseholders are used directly: no refusals.
	c.mu.Lock()
	c.log = nil
	c.mu.Unlock()
	send(t, r, batch(&kvpb.PutRequest{Key: k("g"), Value: []byte("2")}, &kvpb.PutRequest{Key: k("p"), Value: []byte("2")}))
	c.mu.Lock()
	for _, s := range c.log {
		if s.err != nil {
			t.Errorf("refusal with known leaseholders: %v", s.err)
		}
	}
	// The lease of r2 moves to n3, and nobody gives hints.
	c.lh[2], c.hints = 3, false
	c.mu.Unlock()
	resp := send(t, r, batch(&kvpb.GetRequest{Key: k("g")}))
	if v := resp.Responses[0].(*kvpb.GetResponse).Value; string(v) != "2" {
		t.Errorf("get g = %q", v)
	}
	if got := r.LeaseHolderOf(2); got != 3 {
		t.Errorf("r2 leaseholder %d after the move, want 3", got)
	}
}

// TestUnavailable: a down node is skipped for another replica; when no
// replica serves, RangeUnavailableError names the range.
func TestUnavailable(t *testing.T) {
	c := newFakeCluster(3, "f", "m")
	r := c.router(t, 1, 300*time.Millisecond)
	send(t, r, batch(&kvpb.PutRequest{Key: k("g"), Value: []byte("1")}))
	c.mu.Lock()
	c.down[2] = true
	c.lh[2] = 3
	c.mu.Unlock()
	resp := send(t, r, batch(&kvpb.GetRequest{Key: k("g")}))
	if v := resp.Responses[0].(*kvpb.GetResponse).Value; string(v) != "1" {
		t.Errorf("get g = %q", v)
	}
	c.mu.Lock()
	c.down[3] = true
	c.mu.Unlock()
	start := time.Now()
	_, err := r.Send(context.Background(), batch(&kvpb.ScanRequest{Span: sp("a", "z")}))
	var ru *kvpb.RangeUnavailableError
	if !errors.As(err, &ru) || ru.RangeID != 2 {
		t.Fatalf("want r2 unavailable, got %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %s, timeout 300ms", d)
	}
	// The caller's context ends the search first.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Send(ctx, batch(&kvpb.GetRequest{Key: k("g")})); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want the context's error, got %v", err)
	}
}

// TestAmbiguousNotRetried: an error that does not prove the batch was not
// evaluated goes back at once, and the parts after it are not sent.
func TestAmbiguousNotRetried(t *testing.T) {
	c := newFakeCluster(2, "m")
	r := c.router(t, 1, time.Second)
	txn := newTxn("a")
	c.fail = func(node int32, d *kvpb.RangeDescriptor, ba *kvpb.BatchRequest) error {
		if d.RangeID == 2 {
			return &kvpb.AmbiguousResultError{Msg: "lost"}
		}
		return nil
	}
	ba := batch(&kvpb.PutRequest{Key: k("a"), Value: []byte("1")}, &kvpb.PutRequest{Key: k("p"), Value: []byte("1")},
		&kvpb.EndTxnRequest{Commit: true, LockSpans: []kvpb.Span{{Key: k("a")}, {Key: k("p")}}})
	ba.Txn = txn
	_, err := r.Send(context.Background(), ba)
	var ae *kvpb.AmbiguousResultError
	if !errors.As(err, &ae) {
		t.Fatalf("want ambiguous, got %v", err)
	}
	c.mu.Lock()
	var attempts int
	for _, s := range c.log {
		if errors.As(s.err, new(*kvpb.AmbiguousResultError)) {
			attempts++
		}
	}
	c.mu.Unlock()
	if attempts != 1 {
		t.Errorf("r2 tried %d times, want 1", attempts)
	}
	// The EndTxn was not sent: the first part applied, the commit did not.
	if got := c.userLog(); got != "r1@n1: Put(a)\n" {
		t.Errorf("sent:\n%s", got)
	}
}

// TestEndTxnLastAndTxnMerge: the EndTxn of a batch spanning ranges goes
// last and alone; every part carries the transaction as the parts before
// it left it, and the response the merge of all.
func TestEndTxnLastAndTxnMerge(t *testing.T) {
	c := newFakeCluster(3, "f", "m")
	r := c.router(t, 1, time.Second)
	pushed := hlc.Timestamp{WallTime: 500}
	c.pushTo[1] = pushed
	txn := newTxn("p") // anchored in r3
	ba := batch(&kvpb.HeartbeatTxnRequest{Create: true}, &kvpb.PutRequest{Key: k("a"), Value: []byte("1")},
		&kvpb.PutRequest{Key: k("g"), Value: []byte("1")},
		&kvpb.EndTxnRequest{Commit: true, LockSpans: []kvpb.Span{{Key: k("a")}, {Key: k("g")}}})
	ba.Txn = txn
	resp := send(t, r, ba)
	want := "r1@n1: Put(a)\nr2@n2: Put(g)\nr3@n3: HeartbeatTxn(p)\nr3@n3: EndTxn(p)\n"
	if got := c.userLog(); got != want {
		t.Errorf("sent:\n%s\nwant\n%s", got, want)
	}
	for i, s := range c.servedBy(0) {
		if i > 0 && s.ba.Txn.WriteTimestamp != pushed {
			t.Errorf("part %d (%s) sent at %s, want the pushed %s", i, methods(s.ba), s.ba.Txn.WriteTimestamp, pushed)
		}
	}
	if len(resp.Responses) != 4 {
		t.Fatalf("%d responses", len(resp.Responses))
	}
	for i, want := range []string{"*kvpb.HeartbeatTxnResponse", "*kvpb.PutResponse", "*kvpb.PutResponse", "*kvpb.EndTxnResponse"} {
		if got := fmt.Sprintf("%T", resp.Responses[i]); got != want {
			t.Errorf("response %d is %s, want %s", i, got, want)
		}
	}
	if resp.Txn.WriteTimestamp != pushed || resp.Txn.Status != kvpb.COMMITTED {
		t.Errorf("response txn %s", resp.Txn)
	}
	for _, n := range []int32{1, 2, 3} {
		if _, ok := resp.Txn.ObservedTimestamp(n); !ok {
			t.Errorf("no observed timestamp of n%d in %v", n, resp.Txn.ObservedTimestamps)
		}
	}
	if txn.WriteTimestamp == pushed || len(txn.ObservedTimestamps) != 0 {
		t.Error("the caller's transaction was modified")
	}
}

// TestNonTxnTimestamp: the parts of a non-transactional batch spanning
// ranges are sent at one timestamp.
func TestNonTxnTimestamp(t *testing.T) {
	for _, withClock := range []bool{false, true} {
		c := newFakeCluster(2, "m")
		put(c, "a", "x")
		cfg := c.config(1, time.Second)
		if withClock {
			cfg.Clock = func() hlc.Timestamp { return hlc.Timestamp{WallTime: 77} }
		}
		r := router.New(cfg)
		resp := send(t, r, batch(&kvpb.ScanRequest{Span: sp("a", "z")}))
		parts := c.servedBy(0)
		if len(parts) != 2 {
			t.Fatalf("%d parts", len(parts))
		}
		ts := parts[0].ba.Timestamp
		if withClock && ts.WallTime != 77 {
			t.Errorf("first part at %s, want the router clock's 77", ts)
		}
		if parts[1].ba.Timestamp.IsEmpty() || (!ts.IsEmpty() && parts[1].ba.Timestamp != ts) {
			t.Errorf("parts at %s and %s", ts, parts[1].ba.Timestamp)
		}
		if resp.Timestamp.IsEmpty() {
			t.Error("no response timestamp")
		}
	}
}

// TestNoMeta: a cluster that wrote no meta records is routed as one range
// until a refusal says otherwise.
func TestNoMeta(t *testing.T) {
	c := newFakeCluster(1)
	c.data = map[string][]byte{}
	put(c, "a", "b")
	r := c.router(t, 1, time.Second)
	resp := send(t, r, batch(&kvpb.ScanRequest{Span: sp("a", "z")}))
	if got := rowKeys(resp.Responses[0].(*kvpb.ScanResponse).Rows); got != "a,b" {
		t.Errorf("rows %s", got)
	}
}

// TestConcurrentLookups: concurrent sends to the same unknown range share
// meta reads.
func TestConcurrentLookups(t *testing.T) {
	c := newFakeCluster(1, "m")
	r := c.router(t, 1, 5*time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Send(context.Background(), batch(&kvpb.GetRequest{Key: k("q")})); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	var lookups int
	for _, s := range c.log {
		if isMeta(s.ba) && s.err == nil {
			lookups++
		}
	}
	if lookups == 0 || lookups >= 20 {
		t.Errorf("%d meta reads for 20 concurrent lookups of one key", lookups)
	}
}

// TestMalformed: batches that address nothing are refused, not routed.
func TestMalformed(t *testing.T) {
	c := newFakeCluster(1, "m")
	r := c.router(t, 1, time.Second)
	for _, ba := range []*kvpb.BatchRequest{
		nil, batch(), batch(nil), batch((*kvpb.GetRequest)(nil)),
		batch(&kvpb.GetRequest{}), batch(&kvpb.EndTxnRequest{}),
		batch(&kvpb.ScanRequest{Span: sp("b", "a")}),
	} {
		if _, err := r.Send(context.Background(), ba); !errors.Is(err, kvpb.ErrMalformedBatch) {
			t.Errorf("%v: want a malformed batch error, got %v", ba, err)
		}
	}
	if _, err := r.Send(context.Background(), batch(&kvpb.GetRequest{Key: k("\xff\xff\x01")})); !errors.Is(err, kvpb.ErrMalformedBatch) {
		t.Errorf("key beyond the keyspace: %v", err)
	}
}

// TestNodeWithoutReplica: a node that holds no replica of the range (and
// knows no range there) is skipped for the next candidate, not taken for
// a sign that the descriptor is stale.
func TestNodeWithoutReplica(t *testing.T) {
	c := newFakeCluster(3, "m")
	c.lh[2] = 3
	c.lacks[1] = 2
	c.hints = false
	r := c.router(t, 1, time.Second)
	start := time.Now()
	resp := send(t, r, batch(&kvpb.PutRequest{Key: k("p"), Value: []byte("1")}, &kvpb.GetRequest{Key: k("p")}))
	if v := resp.Responses[1].(*kvpb.GetResponse).Value; string(v) != "1" {
		t.Errorf("get p = %q", v)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %s", d)
	}
	if got := r.LeaseHolderOf(2); got != 3 {
		t.Errorf("r2 leaseholder %d, want 3", got)
	}
	// Meta was read once: the refusal did not evict the descriptor.
	c.mu.Lock()
	defer c.mu.Unlock()
	var lookups int
	for _, s := range c.log {
		if isMeta(s.ba) && s.err == nil {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("%d meta reads, want 1", lookups)
	}
}

// TestRandomSplitsWhileRouting: ranges split between batches, with meta
// updated, lagging, or not at all; random batches of scans and gets
// through one router (whose cache goes stale) return what one range would.
func TestRandomSplitsWhileRouting(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	randKey := func() string {
		var b strings.Builder
		for n := 1 + rng.IntN(3); n > 0; n-- {
			b.WriteByte(byte('a' + rng.IntN(8)))
		}
		return b.String()
	}
	c := newFakeCluster(3)
	for i := 0; i < 150; i++ {
		put(c, randKey())
	}
	r := c.router(t, 1, 2*time.Second)
	nextID := int64(2)
	// Meta records not written yet. The lead's maintenance writes them
	// shortly; here, while a batch is being routed. Until then a lookup
	// may find no record for its key and must wait.
	var lagging []*kvpb.RangeDescriptor
	c.fail = func(int32, *kvpb.RangeDescriptor, *kvpb.BatchRequest) error {
		if len(lagging) > 0 && rng.IntN(3) == 0 {
			c.writeMeta(lagging...)
			lagging = nil
		}
		return nil
	}
	for step := 0; step < 300; step++ {
		if rng.IntN(4) == 0 {
			sk := kvpb.Key(randKey())
			c.mu.Lock()
			for i, d := range c.ranges {
				if !d.ContainsKey(sk) || bytes.Equal(d.StartKey, sk) {
					continue
				}
				left := d.Clone()
				left.EndKey, left.Generation = sk, d.Generation+1
				right := d.Clone()
				right.RangeID, right.StartKey, right.Generation = nextID, sk, 1
				nextID++
				c.ranges = slices.Insert(slices.Delete(c.ranges, i, i+1), i, left, right)
				c.lh[right.RangeID] = c.nodes[rng.IntN(len(c.nodes))]
				switch rng.IntN(3) {
				case 0: // meta current
					c.writeMeta(left, right)
				case 1: // the right side's record first, the left's later
					c.writeMeta(right)
					lagging = append(lagging, left)
				default: // both later
					lagging = append(lagging, left, right)
				}
				break
			}
			c.mu.Unlock()
		}
		ba := &kvpb.BatchRequest{}
		for n := 1 + rng.IntN(3); n > 0; n-- {
			s, e := randKey(), randKey()
			if e < s {
				s, e = e, s
			}
			if s == e {
				e += "\x00"
			}
			if rng.IntN(4) == 0 {
				ba.Add(&kvpb.GetRequest{Key: k(s)})
				continue
			}
			ba.Add(&kvpb.ScanRequest{Span: sp(s, e), Reverse: len(ba.Requests) == 0 && rng.IntN(2) == 0, MaxKeys: int64(rng.IntN(6))})
		}
		got, err := r.Send(context.Background(), ba)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		c.mu.Lock()
		for i, req := range ba.Requests {
			want := c.eval(req)
			switch w := want.(type) {
			case *kvpb.GetResponse:
				if g := got.Responses[i].(*kvpb.GetResponse); string(g.Value) != string(w.Value) {
					t.Fatalf("step %d: get %s = %q, want %q", step, req.(*kvpb.GetRequest).Key, g.Value, w.Value)
				}
			case *kvpb.ScanResponse:
				g := got.Responses[i].(*kvpb.ScanResponse)
				s := req.(*kvpb.ScanRequest)
				if rowKeys(g.Rows) != rowKeys(w.Rows) {
					t.Fatalf("step %d: scan %s reverse=%v max=%d: %s, want %s", step, s.Span, s.Reverse, s.MaxKeys, rowKeys(g.Rows), rowKeys(w.Rows))
				}
				if w.ResumeSpan != nil && g.ResumeSpan == nil {
					t.Fatalf("step %d: scan %s: no resume span", step, s.Span)
				}
				if g.ResumeSpan != nil {
					// What remains after the resume span, read in one go,
					// is what remains after the rows returned.
					rest := c.eval(&kvpb.ScanRequest{Span: *g.ResumeSpan, Reverse: s.Reverse}).(*kvpb.ScanResponse)
					all := c.eval(&kvpb.ScanRequest{Span: s.Span, Reverse: s.Reverse}).(*kvpb.ScanResponse)
					if rowKeys(append(slices.Clone(g.Rows), rest.Rows...)) != rowKeys(all.Rows) {
						t.Fatalf("step %d: scan %s reverse=%v max=%d: resume %s loses or repeats rows", step, s.Span, s.Reverse, s.MaxKeys, g.ResumeSpan)
					}
				}
			}
		}
		c.mu.Unlock()
	}
	t.Logf("%d ranges, %d cached", len(c.ranges), len(r.CachedRanges()))
}
