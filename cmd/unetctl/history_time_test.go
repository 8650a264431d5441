package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "1h", want: time.Hour},
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: " 7d ", want: 7 * 24 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0d30m", want: 30 * time.Minute},
		{in: "", err: "not a duration"},
		{in: "d", err: "not a duration"},
		{in: "7", err: "not a duration"},
		{in: "-1h", err: "not a duration"},
		{in: "-1d", err: "not a duration"},
		{in: "1e3d", err: "not a duration"},
		{in: "infd", err: "not a duration"},
		{in: "1d1d", err: "not a duration"},
		{in: "99999d", err: "not a duration"},
		{in: "0s", err: "must be positive"},
		{in: "0d", err: "must be positive"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSpan(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseSpan(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseSpan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatSpan(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{15 * time.Minute, "15m"},
		{90 * time.Second, "1m30s"},
		{24 * time.Hour, "1d"},
		{36 * time.Hour, "1d12h"},
		{7 * 24 * time.Hour, "7d"},
		{500 * time.Millisecond, "500ms"},
	} {
		if got := formatSpan(tc.in); got != tc.want {
			t.Errorf("formatSpan(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := parseSpan(formatSpan(tc.in)); err != nil || back != tc.in {
			t.Errorf("parseSpan(formatSpan(%v)) = %v, %v", tc.in, back, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-26T10:00:00Z", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), true},
		{"2026-11-26T11:00:00+01:00", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), true},
		{"2026-11-26T10:00:00.5Z", time.Date(2026, 11, 26, 10, 0, 0, 5e8, time.UTC), true},
		{"2026-11-26", time.Time{}, false},
		{"2026-11-26 10:00:00", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := parseTime(tc.in)
		if tc.ok != (err == nil) || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("parseTime(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("parseTime(%q): error %q does not name the format", tc.in, err)
		}
	}
}

func TestTimeRangeResolve(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return time.Date(2026, 11, 26, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		r        timeRange
		from, to time.Time
		err      string
	}{
		{name: "default", r: timeRange{defaultSince: time.Hour}, from: at(11), to: now},
		{name: "since", r: timeRange{defaultSince: time.Hour, since: 3 * time.Hour}, from: at(9), to: now},
		{name: "since before to", r: timeRange{defaultSince: time.Hour, since: 2 * time.Hour, to: at(8)}, from: at(6), to: at(8)},
		{name: "from", r: timeRange{defaultSince: time.Hour, from: at(3)}, from: at(3), to: now},
		{name: "from to", r: timeRange{defaultSince: time.Hour, from: at(3), to: at(4)}, from: at(3), to: at(4)},
		{name: "since and from", r: timeRange{defaultSince: time.Hour, since: time.Hour, from: at(3)}, err: "--since and --from"},
		{name: "empty", r: timeRange{defaultSince: time.Hour, from: at(4), to: at(4)}, err: "the range is empty"},
		{name: "backwards", r: timeRange{defaultSince: time.Hour, from: at(5), to: at(4)}, err: "the range is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to, err := tc.r.resolve(now)
			if tc.err != "" {
				var u usageError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &u) {
					t.Fatalf("resolve: %v; want a usage error with %q", err, tc.err)
				}
				return
			}
			if err != nil || !from.Equal(tc.from) || !to.Equal(tc.to) {
				t.Fatalf("resolve = %v, %v, %v; want %v, %v", from, to, err, tc.from, tc.to)
			}
		})
	}
}
