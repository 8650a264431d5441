package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guptarohit/asciigraph"

	"github.com/unet-project/unet/shared/apiclient"
)

// The plot of `history interface -o table`: in and out bit rates on one
// chart, drawn by asciigraph on a time grid of our own (so the x axis is
// time, and gaps in the data stay gaps).

// plotOptions fix what the plot depends on besides the data, so tests can
// pin them.
type plotOptions struct {
	width  int            // of the whole plot, axis labels included
	height int            // rows of the chart; 0: defaultPlotHeight
	loc    *time.Location // of the x axis labels
	color  bool           // ANSI colors: only on a terminal
}

const (
	defaultPlotHeight = 10
	minPlotColumns    = 10
	// plotOffset is asciigraph's gap between the y labels and the chart.
	plotOffset = 2
)

// outCharSet draws the out series in heavy lines, so the two series tell
// apart without colors.
func outCharSet() asciigraph.CharSet {
	return asciigraph.CharSet{
		Horizontal: "━", VerticalLine: "┃",
		ArcDownRight: "┏", ArcDownLeft: "┓", ArcUpRight: "┗", ArcUpLeft: "┛",
		EndCap: "╸", StartCap: "╺",
	}
}

// renderPlot draws the points of [from, to) and returns the chart with its
// x axis and legend, or "" when no point has a rate.
func renderPlot(points []apiclient.InterfacePoint, from, to time.Time, step time.Duration, o plotOptions) string {
	top := 0.0
	have := false
	for _, p := range points {
		for _, v := range []*float64{p.InBps, p.OutBps} {
			if usable(v) {
				have = true
				top = math.Max(top, *v)
			}
		}
	}
	if !have || !from.Before(to) {
		return ""
	}
	height := o.height
	if height <= 0 {
		height = defaultPlotHeight
	}
	tick, rows := yScale(top, height)
	labelWidth := 0
	for i := 0; i <= rows; i++ {
		labelWidth = max(labelWidth, utf8.RuneCountInString(bitRate(float64(i)*tick)))
	}
	layout := timeLayout(to.Sub(from), false)
	xLabel := utf8.RuneCountInString(layout)
	// asciigraph puts the chart after the widest label and the offset; the
	// last x label sticks out by half its width.
	leftPad := labelWidth + plotOffset
	cols := max(o.width-leftPad-(xLabel+1)/2, minPlotColumns)

	gap := maxGap(points, step)
	in := plotColumns(points, func(p apiclient.InterfacePoint) *float64 { return p.InBps }, from, to, cols, gap)
	out := plotColumns(points, func(p apiclient.InterfacePoint) *float64 { return p.OutBps }, from, to, cols, gap)

	opts := []asciigraph.Option{
		asciigraph.Height(rows),
		asciigraph.LowerBound(0),
		asciigraph.UpperBound(float64(rows) * tick),
		asciigraph.Offset(plotOffset),
		asciigraph.YAxisValueFormatter(func(v float64) string { return bitRate(roundTo(v, tick)) }),
		asciigraph.SeriesChars(asciigraph.DefaultCharSet, outCharSet()),
	}
	inColor, outColor := asciigraph.Default, asciigraph.Default
	if o.color {
		inColor, outColor = asciigraph.Green, asciigraph.Blue
		opts = append(opts, asciigraph.SeriesColors(inColor, outColor))
	}
	var b strings.Builder
	b.WriteString(asciigraph.PlotMany([][]float64{in, out}, opts...))
	b.WriteString("\n")
	// The x axis is ours: asciigraph spreads its ticks evenly from end to
	// end, and ranges seldom start at round times.
	writeTimeAxis(&b, leftPad, cols, from, to, layout, o.loc)
	b.WriteString(strings.Repeat(" ", leftPad))
	b.WriteString(paint("── in", inColor, o.color) + "   " + paint("━━ out", outColor, o.color) + "   times in " + zoneName(from, o.loc) + "\n")
	return b.String()
}

func paint(s string, c asciigraph.AnsiColor, color bool) string {
	if !color {
		return s
	}
	return c.String() + s + asciigraph.Default.String()
}

// tickIntervals are the round intervals between x axis ticks.
func tickIntervals() []time.Duration {
	const day = 24 * time.Hour
	return []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		day, 2 * day, 7 * day, 14 * day, 28 * day, 91 * day, 364 * day,
	}
}

// timeTicks returns the round times in [from, to] at the smallest
// interval that gives at most maxTicks of them, aligned on loc's clock
// (hours and days start where the clock says).
func timeTicks(from, to time.Time, maxTicks int, loc *time.Location) []time.Time {
	for _, iv := range tickIntervals() {
		first := align(from, iv, loc)
		if first.Before(from) {
			first = first.Add(iv)
		}
		if n := int(to.Sub(first)/iv) + 1; n <= maxTicks {
			ticks := make([]time.Time, 0, n)
			for t := first; !t.After(to); t = t.Add(iv) {
				ticks = append(ticks, t)
			}
			return ticks
		}
	}
	return []time.Time{from, to}
}

// align rounds t down to a multiple of iv on loc's clock.
func align(t time.Time, iv time.Duration, loc *time.Location) time.Time {
	_, offset := t.In(loc).Zone()
	shift := time.Duration(offset) * time.Second
	return t.Add(shift).Truncate(iv).Add(-shift)
}

// writeTimeAxis writes the x axis under a chart of cols columns that
// starts at leftPad (column 0 at from, cols-1 at to): a line with a tick
// at each round time and the times under them, centred, none overlapping.
func writeTimeAxis(b *strings.Builder, leftPad, cols int, from, to time.Time, layout string, loc *time.Location) {
	labelWidth := utf8.RuneCountInString(layout)
	ticks := timeTicks(from, to, min(max(2, cols/(labelWidth+2)), 8), loc)
	span := float64(to.Sub(from))
	line := []rune(strings.Repeat(" ", leftPad-1) + "└" + strings.Repeat("─", cols))
	labels := []rune(strings.Repeat(" ", leftPad+cols+labelWidth))
	end := -1 // of the last label written
	for _, t := range ticks {
		col := int(math.Round(float64(t.Sub(from)) / span * float64(cols-1)))
		line[leftPad+col] = '┬'
		text := []rune(t.In(loc).Format(layout))
		start := max(leftPad+col-len(text)/2, 0)
		if start <= end+1 {
			continue
		}
		copy(labels[start:], text)
		end = start + len(text) - 1
	}
	b.WriteString(string(line) + "\n")
	b.WriteString(strings.TrimRight(string(labels), " ") + "\n")
}

// zoneName is the abbreviation of the time zone the labels are in.
func zoneName(t time.Time, loc *time.Location) string {
	name, _ := t.In(loc).Zone()
	return name
}

// usable is a rate the plot can draw: there, finite, not negative.
func usable(v *float64) bool { return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) && *v >= 0 }

// yScale picks the value of one row of the chart from 1, 2, 2.5 and 5
// times a power of ten, the smallest that fits top in at most height
// rows, so the axis labels are round numbers.
func yScale(top float64, height int) (tick float64, rows int) {
	// Below 10 bit/s an interface is idle: no need for fractions of a bit.
	top = math.Max(top, 10)
	height = max(height, 2)
	exp := math.Pow(10, math.Floor(math.Log10(top/float64(height))))
	for _, m := range []float64{1, 2, 2.5, 5, 10, 20} {
		tick = m * exp
		rows = int(math.Ceil(top/tick - 1e-9))
		if rows <= height {
			break
		}
	}
	return tick, max(rows, 2)
}

// roundTo undoes the float noise of asciigraph's label arithmetic.
func roundTo(v, tick float64) float64 { return math.Round(v/tick) * tick }

// bitRate writes a rate in bit/s with an SI prefix and at most three
// significant digits: "0 bit/s", "250 kbit/s", "1.25 Gbit/s".
func bitRate(v float64) string {
	units := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for math.Abs(v) >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	digits := 0
	switch a := math.Abs(v); {
	case a == 0 || a >= 99.95:
	case a >= 9.995:
		digits = 1
	default:
		digits = 2
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + units[i] + "bit/s"
}

// timeLayout is how times of a range of span are shown: the time of day
// for a day or less, the date too beyond (seconds when asked, or for short
// ranges).
func timeLayout(span time.Duration, seconds bool) string {
	switch {
	case span > 60*24*time.Hour:
		return "2006-01-02"
	case span > 24*time.Hour:
		if seconds {
			return "01-02 15:04:05"
		}
		return "01-02 15:04"
	case seconds || span <= 10*time.Minute:
		return "15:04:05"
	}
	return "15:04"
}

// maxGap is the longest time between two points that the plot joins with
// a line: twice their usual spacing (the step, or the median interval of
// raw samples). Longer gaps are missing data and stay blank.
func maxGap(points []apiclient.InterfacePoint, step time.Duration) time.Duration {
	if step > 0 {
		return 2 * step
	}
	if len(points) < 2 {
		return 0
	}
	d := make([]time.Duration, 0, len(points)-1)
	for i := 1; i < len(points); i++ {
		d = append(d, points[i].Time.Sub(points[i-1].Time))
	}
	// The median: a few missed polls do not widen it.
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
	return 2 * d[len(d)/2]
}

// plotColumns puts the values of the points on n columns spread evenly
// over [from, to] (column 0 at from, n-1 at to, as asciigraph's x axis
// has them): the average of the points nearest each column, NaN where
// there are none. Columns between two points no further apart than gap
// are interpolated, so sparse points still draw a line.
func plotColumns(points []apiclient.InterfacePoint, value func(apiclient.InterfacePoint) *float64, from, to time.Time, n int, gap time.Duration) []float64 {
	span := float64(to.Sub(from))
	col := func(t time.Time) int { return int(math.Round(float64(t.Sub(from)) / span * float64(n-1))) }
	sum := make([]float64, n)
	count := make([]int, n)
	first := make([]time.Time, n) // of the points on the column
	last := make([]time.Time, n)
	for _, p := range points {
		v := value(p)
		c := col(p.Time)
		if !usable(v) || c < 0 || c >= n {
			continue
		}
		if count[c] == 0 {
			first[c] = p.Time
		}
		sum[c] += *v
		count[c]++
		last[c] = p.Time
	}
	out := make([]float64, n)
	prev := -1
	for c := range out {
		if count[c] == 0 {
			out[c] = math.NaN()
			continue
		}
		out[c] = sum[c] / float64(count[c])
		if prev >= 0 && c-prev > 1 && first[c].Sub(last[prev]) <= gap {
			for k := prev + 1; k < c; k++ {
				f := float64(k-prev) / float64(c-prev)
				out[k] = out[prev] + (out[c]-out[prev])*f
			}
		}
		prev = c
	}
	return out
}

// pointRow is a row of the table under the plot: one point, or a group of
// consecutive points when there are too many to list.
type pointRow struct {
	time    time.Time
	in, out *float64
	oper    string
	points  int
}

// maxTableRows bounds the table under the plot; longer histories are
// shown in groups of consecutive points.
const maxTableRows = 30

// pointRows lists the points, or averages them in at most maxRows groups
// of consecutive points; a group's status is the sequence of the statuses
// it went through ("up→down→up").
func pointRows(points []apiclient.InterfacePoint, maxRows int) []pointRow {
	size := 1
	if len(points) > maxRows {
		size = (len(points) + maxRows - 1) / maxRows
	}
	var rows []pointRow
	for start := 0; start < len(points); start += size {
		g := points[start:min(start+size, len(points))]
		r := pointRow{time: g[0].Time, points: len(g)}
		var in, out []float64
		var statuses []string
		for _, p := range g {
			if usable(p.InBps) {
				in = append(in, *p.InBps)
			}
			if usable(p.OutBps) {
				out = append(out, *p.OutBps)
			}
			if s := string(p.OperStatus); s != "" && (len(statuses) == 0 || statuses[len(statuses)-1] != s) {
				statuses = append(statuses, s)
			}
		}
		r.in, r.out = mean(in), mean(out)
		r.oper = strings.Join(statuses, "→")
		if len(statuses) > 3 {
			r.oper = fmt.Sprintf("%s→…→%s (%d changes)", statuses[0], statuses[len(statuses)-1], len(statuses)-1)
		}
		rows = append(rows, r)
	}
	return rows
}

func mean(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	s /= float64(len(v))
	return &s
}
