package sql_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// FuzzServeForwarded feeds arbitrary bytes to the core's side of write
// forwarding, as a misbehaving (or differently versioned) edge node could:
// every input gets an answer that decodes as JSON, never a panic, and the
// server keeps serving forwarded work.
func FuzzServeForwarded(f *testing.F) {
	for _, s := range []string{
		`{"user":"root","db":"defaultdb","query":"INSERT INTO t VALUES (1)"}`,
		`{"user":"root","db":"defaultdb","execs":[{"sql":"INSERT INTO t VALUES ($1)","param_oids":[20],"params":["Nw=="]}]}`,
		`{"user":"root","db":"defaultdb","execs":[{"sql":"SELECT $1::int","params":["eA=="]}],"hold":true}`,
		`{"user":"root","db":"defaultdb","session":7,"query":"COMMIT"}`,
		`{"user":"root","db":"defaultdb","keep":true,"begin":true,"query":"UPDATE t SET a = a + 1"}`,
		`{"user":"nobody","db":"nosuch","query":"SELECT 1"}`,
		`{"user":"root","db":"defaultdb","settings":{"search_path":"nowhere","TimeZone":"bogus"},"seqs":{"curr":{"99":3}},"query":"SELECT currval('s')"}`,
		`{`, ``, `null`, `{"execs":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	srv := startFuzzServer(f, []string{"CREATE TABLE t (a INT PRIMARY KEY)", "CREATE SEQUENCE s"})
	f.Fuzz(func(t *testing.T, req []byte) {
		// Kept sessions (keep) of earlier inputs may hold locks until
		// their edge ends them, which no edge here does: a statement
		// waiting on them ends with its context.
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		out := srv.ServeForwarded(ctx, 2, req)
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("answer is not JSON: %q", out)
		}
		ok := srv.ServeForwarded(ctx, 2, []byte(`{"user":"root","db":"defaultdb","query":"SELECT 1"}`))
		var after map[string]any
		if err := json.Unmarshal(ok, &after); err != nil || after["err"] != nil {
			t.Fatalf("forwarded work fails after %q: %s", req, ok)
		}
	})
}
