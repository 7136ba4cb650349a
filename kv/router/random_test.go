package router_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/kvpb"
	"github.com/outpostdb/outpost/kv/kvtest"
)

// TestRandomScansMatchOneRange: over real stores split at random points,
// random scans (both directions, random limits, several per batch) return
// what one range holding the same keys returns, and following the
// ResumeSpans reads exactly the rest, once.
func TestRandomScansMatchOneRange(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	randKey := func() string {
		var b strings.Builder
		for n := 1 + rng.IntN(3); n > 0; n-- {
			b.WriteByte(byte('a' + rng.IntN(6)))
		}
		return b.String()
	}
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	ctx := context.Background()
	for round := 0; round < rounds; round++ {
		splitSet := map[string]bool{}
		for n := 3 + rng.IntN(5); len(splitSet) < n; {
			splitSet[randKey()] = true
		}
		var splits []kvpb.Key
		for s := range splitSet {
			splits = append(splits, kvpb.Key(s))
		}
		multi := kvtest.StartMulti(t, kvtest.MultiOptions{Splits: splits, Nodes: 3})
		single := kvtest.Start(t, kvtest.Options{})

		// The same writes on both: one non-transactional batch of puts
		// (split by the router over the ranges), then a DeleteRange.
		puts := &kvpb.BatchRequest{}
		for i := 0; i < 120; i++ {
			key := randKey()
			puts.Add(&kvpb.PutRequest{Key: kvpb.Key(key), Value: []byte(key)})
		}
		a, b := randKey(), randKey()
		if b < a {
			a, b = b, a
		}
		if a == b {
			b += "a"
		}
		del := &kvpb.BatchRequest{}
		del.Add(&kvpb.DeleteRangeRequest{Span: kvpb.Span{Key: kvpb.Key(a), EndKey: kvpb.Key(b)}, ReturnKeys: true})
		var deleted [2]string
		for i, h := range []interface {
			Send(context.Context, *kvpb.BatchRequest) (*kvpb.BatchResponse, error)
		}{multi.Router, single.Store} {
			if _, err := h.Send(ctx, puts); err != nil {
				t.Fatal(err)
			}
			resp, err := h.Send(ctx, del)
			if err != nil {
				t.Fatal(err)
			}
			dr := resp.Responses[0].(*kvpb.DeleteRangeResponse)
			if int(dr.Count) != len(dr.Keys) {
				t.Fatalf("delete range count %d with %d keys", dr.Count, len(dr.Keys))
			}
			deleted[i] = rowString(keysAsRows(dr.Keys))
		}
		if deleted[0] != deleted[1] {
			t.Fatalf("delete range [%s,%s): multi %s, single %s", a, b, deleted[0], deleted[1])
		}

		for i := 0; i < 200; i++ {
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
					ba.Add(&kvpb.GetRequest{Key: kvpb.Key(s)})
					continue
				}
				ba.Add(&kvpb.ScanRequest{Span: kvpb.Span{Key: kvpb.Key(s), EndKey: kvpb.Key(e)},
					Reverse: ba.Requests == nil && rng.IntN(2) == 0, MaxKeys: int64(rng.IntN(8))})
			}
			// Both read at one timestamp.
			ba.Timestamp = multi.Clock.Now()
			got, err := multi.Router.Send(ctx, ba)
			if err != nil {
				t.Fatalf("round %d batch %d: %v", round, i, err)
			}
			want, err := single.Store.Send(ctx, ba)
			if err != nil {
				t.Fatal(err)
			}
			for j, req := range ba.Requests {
				switch r := req.(type) {
				case *kvpb.GetRequest:
					if g, w := string(got.Responses[j].(*kvpb.GetResponse).Value), string(want.Responses[j].(*kvpb.GetResponse).Value); g != w {
						t.Fatalf("get %s: %q, one range %q", r.Key, g, w)
					}
				case *kvpb.ScanRequest:
					gs, ws := got.Responses[j].(*kvpb.ScanResponse), want.Responses[j].(*kvpb.ScanResponse)
					if g, w := rowString(gs.Rows), rowString(ws.Rows); g != w {
						t.Fatalf("round %d splits %s: scan %s reverse=%v max=%d:\n got %s\nwant %s", round, splits, r.Span, r.Reverse, r.MaxKeys, g, w)
					}
					if (gs.ResumeSpan == nil) != (ws.ResumeSpan == nil) && ws.ResumeSpan != nil {
						t.Fatalf("scan %s max=%d: no resume span, one range resumes at %s", r.Span, r.MaxKeys, ws.ResumeSpan)
					}
					checkResume(t, multi, ba, r, gs)
				}
			}
		}
	}
}

// checkResume follows a scan's resume spans to the end and checks that the
// pages together are the unlimited scan, in order, without repeats.
func checkResume(t *testing.T, m *kvtest.Multi, orig *kvpb.BatchRequest, r *kvpb.ScanRequest, first *kvpb.ScanResponse) {
	t.Helper()
	ctx := context.Background()
	all := &kvpb.BatchRequest{Header: orig.Header}
	all.Add(&kvpb.ScanRequest{Span: r.Span, Reverse: r.Reverse})
	resp, err := m.Router.Send(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	want := rowString(resp.Responses[0].(*kvpb.ScanResponse).Rows)
	rows := slices.Clone(first.Rows)
	resume := first.ResumeSpan
	for pages := 0; resume != nil; pages++ {
		if pages > 100 {
			t.Fatalf("scan %s: resume spans do not end", r.Span)
		}
		if !(kvpb.Span{Key: r.Span.Key, EndKey: r.Span.EndKey}).ContainsKey(resume.Key) || string(resume.EndKey) > string(r.Span.EndKey) {
			t.Fatalf("scan %s: resume span %s outside the scan", r.Span, resume)
		}
		next := &kvpb.BatchRequest{Header: orig.Header}
		next.Add(&kvpb.ScanRequest{Span: *resume, Reverse: r.Reverse, MaxKeys: r.MaxKeys})
		resp, err := m.Router.Send(ctx, next)
		if err != nil {
			t.Fatal(err)
		}
		sr := resp.Responses[0].(*kvpb.ScanResponse)
		rows = append(rows, sr.Rows...)
		resume = sr.ResumeSpan
	}
	if got := rowString(rows); got != want {
		t.Fatalf("scan %s reverse=%v max=%d: pages %s, want %s", r.Span, r.Reverse, r.MaxKeys, got, want)
	}
}

func rowString(rows []kvpb.KeyValue) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(string(r.Key))
		b.WriteString("=")
		b.WriteString(string(r.Value))
		b.WriteString(" ")
	}
	return b.String()
}

func keysAsRows(ks []kvpb.Key) []kvpb.KeyValue {
	out := make([]kvpb.KeyValue, len(ks))
	for i, k := range ks {
		out[i].Key = k
	}
	return out
}
