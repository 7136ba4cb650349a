package sql

import (
	"testing"
	"time"

	"github.com/outpostdb/outpost/kv/hlc"
	"github.com/outpostdb/outpost/sql/sqlerr"
	"github.com/outpostdb/outpost/sql/types"
)

func TestHLCText(t *testing.T) {
	for _, ts := range []hlc.Timestamp{{}, {WallTime: 1}, {WallTime: 1796009377598510526, Logical: 7}, {WallTime: 1<<63 - 1, Logical: 1<<31 - 1}} {
		got, err := parseHLC(formatHLC(ts))
		if err != nil || got != ts {
			t.Errorf("round trip of %v: %v, %v", ts, got, err)
		}
	}
	for in, want := range map[string]hlc.Timestamp{
		"5":                {WallTime: 5},
		"5.1":              {WallTime: 5, Logical: 1000000000},
		"5.0000000002":     {WallTime: 5, Logical: 2},
		"1796009377.00001": {WallTime: 1796009377, Logical: 100000},
	} {
		if got, err := parseHLC(in); err != nil || got != want {
			t.Errorf("parseHLC(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1.", "1.12345678901", "9223372036854775808", "1.9999999999", "1.-5", "1.+5", "+1"} {
		if got, err := parseHLC(bad); err == nil {
			t.Errorf("parseHLC(%q) = %v, want an error", bad, got)
		}
	}
	if maxToken("5.0000000001", "5.0000000002") != "5.0000000002" || maxToken("6.0000000000", "5.0000000002") != "6.0000000000" || maxToken("bad", "1.0000000000") != "1.0000000000" {
		t.Error("maxToken")
	}
}

func TestParseAsOfString(t *testing.T) {
	now := hlc.Timestamp{WallTime: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano(), Logical: 3}
	ec := &types.EvalContext{Location: time.UTC}
	for in, want := range map[string]time.Duration{
		"-10s":        -10 * time.Second,
		"-1m30s":      -90 * time.Second, // a Go duration, not PostgreSQL's -1 minute +30 seconds
		"-500ms":      -500 * time.Millisecond,
		"-1h":         -time.Hour,
		"-10 seconds": -10 * time.Second,
		"-1 day":      -24 * time.Hour,
		"0s":          0,
	} {
		got, err := parseAsOfString(in, now, ec)
		if err != nil || got.WallTime != now.WallTime+int64(want) || got.Logical != 0 {
			t.Errorf("%q: %v, %v; want now%+v", in, got, err, want)
		}
	}
	got, err := parseAsOfString("2026-11-30 11:00:00+00", now, ec)
	if err != nil || got.GoTime() != time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC) {
		t.Errorf("absolute: %v, %v", got, err)
	}
	got, err = parseAsOfString("1796009377598510526.0000000009", now, ec)
	if err != nil || got != (hlc.Timestamp{WallTime: 1796009377598510526, Logical: 9}) {
		t.Errorf("decimal: %v, %v", got, err)
	}
	for in, code := range map[string]string{
		"10s":                    sqlerr.DatetimeFieldOverflow,
		"+1 minute":              sqlerr.DatetimeFieldOverflow,
		"2026-11-30 13:00:00+00": sqlerr.DatetimeFieldOverflow,
		"1960-01-01":             sqlerr.DatetimeFieldOverflow,
		"soonish":                sqlerr.InvalidDatetimeFormat,
	} {
		if _, err := parseAsOfString(in, now, ec); sqlerr.Code(err) != code {
			t.Errorf("%q: %v, want %s", in, err, code)
		}
	}
}
