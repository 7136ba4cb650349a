package replication

import (
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
)

func TestClosedWait(t *testing.T) {
	ms := time.Millisecond
	at := func(d time.Duration) hlc.Timestamp { return hlc.Timestamp{WallTime: int64(time.Second + d)} }
	closed := at(0)
	for _, tc := range []struct {
		ts              time.Duration
		since, interval time.Duration
		want            time.Duration
	}{
		{0, 0, 50 * ms, 0},                   // already closed
		{-5 * ms, 0, 50 * ms, 0},             // below
		{10 * ms, 0, 50 * ms, 50 * ms},       // one step, just published: a full interval away
		{10 * ms, 30 * ms, 50 * ms, 20 * ms}, // one step, due 20ms from now
		{60 * ms, 30 * ms, 50 * ms, 70 * ms}, // two steps
		{60 * ms, time.Hour, 50 * ms, 50 * ms},
		{60 * ms, 0, 0, 60 * ms}, // no interval known: the gap
	} {
		if got := closedWait(at(tc.ts), closed, tc.since, tc.interval); got != tc.want {
			t.Errorf("closedWait(+%s, since %s, interval %s) = %s, want %s", tc.ts, tc.since, tc.interval, got, tc.want)
		}
	}
}
