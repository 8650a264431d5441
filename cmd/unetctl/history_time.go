package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Time ranges of the history commands: --since DURATION (back from --to,
// or from now), or --from TIME [--to TIME] in RFC 3339.

// parseSpan reads a Go duration ("90s", "15m", "1h30m") or days, alone or
// followed by a Go duration ("7d", "1.5d", "1d12h"): Go has no day unit,
// and operators think of history in days.
func parseSpan(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration (e.g. 90s, 15m, 1h, 7d, 1d12h)", s)
	var d time.Duration
	// No Go duration unit has a "d" in it, so the first one ends the days.
	if days, rest, ok := strings.Cut(in, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		// 10,000 days is far beyond any retention and far below overflow.
		if err != nil || !isDecimal(days) || n > 10_000 {
			return 0, bad
		}
		d = time.Duration(n * float64(24*time.Hour))
		in = rest
	} else if in == "" {
		return 0, bad
	}
	if in != "" {
		v, err := time.ParseDuration(in)
		if err != nil || v < 0 {
			return 0, bad
		}
		d += v
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the duration must be positive", s)
	}
	return d, nil
}

// isDecimal is true for "7" and "1.5": not for what else ParseFloat
// takes ("1e3", "inf", "0x1p3", "+2").
func isDecimal(s string) bool {
	digits, dot := 0, false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// formatSpan writes a duration the way parseSpan reads it, days first:
// "7d", "1d12h", "15m", "1h30m".
func formatSpan(d time.Duration) string {
	days := d / (24 * time.Hour)
	rest := d - days*24*time.Hour
	s := ""
	if days > 0 {
		s = strconv.FormatInt(int64(days), 10) + "d"
	}
	if rest > 0 || s == "" {
		r := rest.String()
		// "1h30m0s" → "1h30m", "2h0m0s" → "2h": the zero tails are noise.
		if strings.HasSuffix(r, "m0s") {
			r = strings.TrimSuffix(r, "0s")
		}
		if strings.HasSuffix(r, "h0m") {
			r = strings.TrimSuffix(r, "0m")
		}
		s += r
	}
	return s
}

// spanValue is a --since or --step flag.
type spanValue struct{ dst *time.Duration }

func (v spanValue) String() string {
	if *v.dst == 0 {
		return ""
	}
	return formatSpan(*v.dst)
}
func (v spanValue) Type() string { return "duration" }
func (v spanValue) Set(s string) error {
	d, err := parseSpan(s)
	if err != nil {
		return err
	}
	*v.dst = d
	return nil
}

// parseTime reads an RFC 3339 time, with or without fractional seconds.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (e.g. 2026-11-26T10:00:00Z or 2026-11-26T11:00:00+01:00)", s)
	}
	return t, nil
}

// timeValue is a --from or --to flag.
type timeValue struct{ dst *time.Time }

func (v timeValue) String() string {
	if v.dst.IsZero() {
		return ""
	}
	return v.dst.Format(time.RFC3339)
}
func (v timeValue) Type() string { return "time" }
func (v timeValue) Set(s string) error {
	t, err := parseTime(s)
	if err != nil {
		return err
	}
	*v.dst = t
	return nil
}

// timeRange holds the range flags of a history command.
type timeRange struct {
	since    time.Duration
	from, to time.Time
	// defaultSince is the range when neither --since nor --from is given.
	defaultSince time.Duration
}

func (r *timeRange) register(cmd *cobra.Command, defaultSince time.Duration) {
	r.defaultSince = defaultSince
	fl := cmd.Flags()
	fl.Var(spanValue{&r.since}, "since", "how far back to look: a Go duration or days, e.g. 15m, 1h, 7d (default "+formatSpan(defaultSince)+")")
	fl.Var(timeValue{&r.from}, "from", "start of the range, RFC 3339 (instead of --since)")
	fl.Var(timeValue{&r.to}, "to", "end of the range, RFC 3339 (default now)")
	for _, f := range []string{"since", "from", "to"} {
		_ = cmd.RegisterFlagCompletionFunc(f, cobra.NoFileCompletions)
	}
}

// resolve turns the flags into [from, to): --since counts back from --to
// (or now).
func (r *timeRange) resolve(now time.Time) (from, to time.Time, err error) {
	to = now
	if !r.to.IsZero() {
		to = r.to
	}
	switch {
	case r.since > 0 && !r.from.IsZero():
		return from, to, usageErrorf("--since and --from both give the start of the range: use one")
	case !r.from.IsZero():
		from = r.from
	case r.since > 0:
		from = to.Add(-r.since)
	default:
		from = to.Add(-r.defaultSince)
	}
	if !from.Before(to) {
		return from, to, usageErrorf("the range is empty: it starts (%s) at or after its end (%s)",
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

var (
	_ pflag.Value = spanValue{}
	_ pflag.Value = timeValue{}
)
