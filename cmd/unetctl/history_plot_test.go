package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/guptarohit/asciigraph"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// Golden files: UNET_UPDATE_GOLDEN=1 go test ./cmd/unetctl -run Golden
// rewrites them; review the diff.

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if os.Getenv("UNET_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UNET_UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (UNET_UPDATE_GOLDEN=1 rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func f64(v float64) *float64 { return &v }

// fixturePoints is an interface's day-like traffic: in around a sine,
// out a share of it, every step from from to to; the rates are missing
// (nil) in [gapFrom, gapTo) and oper status down in [downFrom, downTo).
type fixture struct {
	from, to           time.Time
	step               time.Duration
	peak               float64
	gapFrom, gapTo     time.Time
	downFrom, downTo   time.Time
	skipFrom, skipTo   time.Time // no points at all: missed polls
	constant, outShare float64
}

func (f fixture) points() []apiclient.InterfacePoint {
	var out []apiclient.InterfacePoint
	span := f.to.Sub(f.from)
	for t := f.from; t.Before(f.to); t = t.Add(f.step) {
		if !t.Before(f.skipFrom) && t.Before(f.skipTo) {
			continue
		}
		x := float64(t.Sub(f.from)) / float64(span)
		in := f.constant + f.peak*(0.55+0.45*math.Sin(2*math.Pi*x*2))
		share := f.outShare
		if share == 0 {
			share = 0.4
		}
		p := apiclient.InterfacePoint{Time: t, InBps: f64(in), OutBps: f64(math.Max(0, in*share+f.peak*0.05*math.Cos(7*x))), OperStatus: model.IfUp}
		if !t.Before(f.gapFrom) && t.Before(f.gapTo) {
			p.InBps, p.OutBps = nil, nil
		}
		if !t.Before(f.downFrom) && t.Before(f.downTo) {
			p.OperStatus = model.IfDown
			p.InBps, p.OutBps = f64(0), f64(0)
		}
		out = append(out, p)
	}
	return out
}

func TestPlotGolden(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	day := func(d int) time.Time { return base.Add(time.Duration(d) * 24 * time.Hour) }
	for _, tc := range []struct {
		name  string
		fx    fixture
		step  time.Duration // as the collector reports it: 0 for raw samples
		width int
	}{
		{name: "raw_1h_80", width: 80, fx: fixture{from: base, to: min(60), step: 10 * time.Second, peak: 800e6,
			downFrom: min(20), downTo: min(24), skipFrom: min(40), skipTo: min(45)}},
		{name: "step_1m_120", width: 120, step: time.Minute, fx: fixture{from: base, to: min(60), step: time.Minute, peak: 2.4e9,
			gapFrom: min(30), gapTo: min(36)}},
		{name: "hourly_7d_80", width: 80, step: time.Hour, fx: fixture{from: base, to: day(7), step: time.Hour, peak: 9.5e6}},
		{name: "narrow_50", width: 50, step: 5 * time.Minute, fx: fixture{from: base, to: min(360), step: 5 * time.Minute, peak: 42e3}},
		{name: "unaligned_1h_80", width: 80, fx: fixture{from: base.Add(13*time.Minute + 27*time.Second), to: min(73).Add(27 * time.Second), step: time.Minute, peak: 120e6}},
		{name: "flat_zero_80", width: 80, fx: fixture{from: base, to: min(10), step: 30 * time.Second, peak: 0, outShare: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderPlot(tc.fx.points(), tc.fx.from, tc.fx.to, tc.step, plotOptions{width: tc.width, loc: time.UTC})
			if got == "" {
				t.Fatal("no plot")
			}
			for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if n := utf8.RuneCountInString(line); n > tc.width {
					t.Errorf("line %d is %d wide, more than %d: %q", i, n, tc.width, line)
				}
			}
			if strings.Contains(got, "\x1b") {
				t.Error("colors without a terminal")
			}
			golden(t, "plot_"+tc.name, got)
		})
	}
}

func TestPlotNothingToDraw(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	noRates := []apiclient.InterfacePoint{{Time: base, OperStatus: model.IfDown}, {Time: base.Add(time.Minute), OperStatus: model.IfDown}}
	for name, pts := range map[string][]apiclient.InterfacePoint{"none": nil, "no rates": noRates} {
		if got := renderPlot(pts, base, base.Add(time.Hour), 0, plotOptions{width: 80, loc: time.UTC}); got != "" {
			t.Errorf("%s: plot %q", name, got)
		}
	}
}

func TestPlotColors(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	fx := fixture{from: base, to: base.Add(time.Hour), step: time.Minute, peak: 1e9}
	got := renderPlot(fx.points(), fx.from, fx.to, time.Minute, plotOptions{width: 80, loc: time.UTC, color: true})
	if !strings.Contains(got, asciigraph.Green.String()+"── in") || !strings.Contains(got, asciigraph.Blue.String()+"━━ out") {
		t.Errorf("no colored legend:\n%s", got)
	}
}

func TestBitRate(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0 bit/s"},
		{1, "1 bit/s"},
		{999, "999 bit/s"},
		{999.6, "1 kbit/s"},
		{1000, "1 kbit/s"},
		{1500, "1.5 kbit/s"},
		{250e3, "250 kbit/s"},
		{12.34e6, "12.3 MBit/s"},
		{1.25e9, "1.25 Gbit/s"},
		{100e9, "100 Gbit/s"},
		{3.2e12, "3.2 Tbit/s"},
	} {
		want := strings.Replace(tc.want, "MBit", "Mbit", 1)
		if got := bitRate(tc.in); got != want {
			t.Errorf("bitRate(%v) = %q, want %q", tc.in, got, want)
		}
	}
}

func TestYScale(t *testing.T) {
	for _, tc := range []struct {
		top    float64
		height int
		tick   float64
		rows   int
	}{
		{top: 800e6, height: 10, tick: 100e6, rows: 8},
		{top: 2.4e9, height: 10, tick: 250e6, rows: 10},
		{top: 9.5e6, height: 10, tick: 1e6, rows: 10},
		{top: 1e9, height: 10, tick: 100e6, rows: 10},
		{top: 1.01e9, height: 10, tick: 200e6, rows: 6},
		{top: 0, height: 10, tick: 1, rows: 10},
		{top: 3, height: 10, tick: 1, rows: 10},
		{top: 42, height: 10, tick: 5, rows: 9},
	} {
		tick, rows := yScale(tc.top, tc.height)
		if math.Abs(tick-tc.tick) > tc.tick*1e-9 || rows != tc.rows {
			t.Errorf("yScale(%v, %d) = %v, %d; want %v, %d", tc.top, tc.height, tick, rows, tc.tick, tc.rows)
		}
		if float64(rows)*tick < tc.top || rows > tc.height {
			t.Errorf("yScale(%v, %d): %d rows of %v do not fit", tc.top, tc.height, rows, tick)
		}
	}
}

func TestPlotColumns(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(s int, v float64) apiclient.InterfacePoint {
		return apiclient.InterfacePoint{Time: base.Add(time.Duration(s) * time.Second), InBps: f64(v)}
	}
	in := func(p apiclient.InterfacePoint) *float64 { return p.InBps }
	// 11 columns over 100 s: one per 10 s. Points at 0, 20 (joined: 20 s
	// apart, gap 40 s) and 80 (not joined: 60 s after the previous).
	got := plotColumns([]apiclient.InterfacePoint{at(0, 10), at(20, 30), at(21, 50), at(80, 5)}, in, base, base.Add(100*time.Second), 11, 40*time.Second)
	nan := math.NaN()
	want := []float64{10, 25, 40, nan, nan, nan, nan, nan, 5, nan, nan}
	if len(got) != len(want) {
		t.Fatalf("plotColumns = %v", got)
	}
	for i := range want {
		if !(got[i] == want[i] || math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("column %d = %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestPointRows(t *testing.T) {
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var pts []apiclient.InterfacePoint
	statuses := []model.IfStatus{"up", "up", "down", "up", "up", "up", "down", "up", "down", "up"}
	for i, s := range statuses {
		p := apiclient.InterfacePoint{Time: base.Add(time.Duration(i) * time.Minute), OperStatus: s, InBps: f64(float64(i))}
		if i != 1 {
			p.OutBps = f64(10)
		}
		pts = append(pts, p)
	}
	if rows := pointRows(pts, 10); len(rows) != 10 || rows[1].out != nil || *rows[2].in != 2 || rows[2].oper != "down" {
		t.Errorf("ungrouped rows: %+v", rows)
	}
	rows := pointRows(pts, 4) // groups of 3: [0 1 2] [3 4 5] [6 7 8] [9]
	if len(rows) != 4 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, want := range []struct {
		time   time.Time
		in     float64
		oper   string
		points int
	}{
		{base, 1, "up→down", 3},
		{base.Add(3 * time.Minute), 4, "up", 3},
		{base.Add(6 * time.Minute), 7, "down→up→down", 3},
		{base.Add(9 * time.Minute), 9, "up", 1},
	} {
		r := rows[i]
		if !r.time.Equal(want.time) || *r.in != want.in || r.oper != want.oper || r.points != want.points || *r.out != 10 {
			t.Errorf("row %d = %+v, want %+v", i, r, want)
		}
	}
	flappy := pointRows(pts, 1)
	if len(flappy) != 1 || flappy[0].oper != "up→…→up (6 changes)" {
		t.Errorf("one row: %+v", flappy)
	}
}

func TestTimeTicks(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ist := time.FixedZone("IST", 5*3600+1800)
	for _, tc := range []struct {
		name     string
		from, to string
		max      int
		loc      *time.Location
		want     []string // in loc, "15:04" or "01-02 15:04"
	}{
		{"an hour from a round time", "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z", 8, time.UTC,
			[]string{"10:00", "10:10", "10:20", "10:30", "10:40", "10:50", "11:00"}},
		{"an hour from any time", "2026-11-26T10:13:27Z", "2026-11-26T11:13:27Z", 8, time.UTC,
			[]string{"10:20", "10:30", "10:40", "10:50", "11:00", "11:10"}},
		{"fewer ticks", "2026-11-26T10:13:27Z", "2026-11-26T11:13:27Z", 4, time.UTC,
			[]string{"10:15", "10:30", "10:45", "11:00"}},
		{"hours on a half-hour zone's clock", "2026-11-26T00:00:00Z", "2026-11-26T06:00:00Z", 8, ist,
			[]string{"06:00", "07:00", "08:00", "09:00", "10:00", "11:00"}},
		{"days at midnight", "2026-11-26T10:00:00Z", "2026-11-30T10:00:00Z", 5, time.UTC,
			[]string{"11-27 00:00", "11-28 00:00", "11-29 00:00", "11-30 00:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layout := "15:04"
			if len(tc.want[0]) > 5 {
				layout = "01-02 15:04"
			}
			var got []string
			for _, tk := range timeTicks(at(tc.from), at(tc.to), tc.max, tc.loc) {
				got = append(got, tk.In(tc.loc).Format(layout))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("ticks %v, want %v", got, tc.want)
			}
		})
	}
}
