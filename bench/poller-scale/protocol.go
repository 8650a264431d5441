package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The agent and baseline children talk to the benchmark with JSON lines
// on stdout: "ready" once polling starts, "tick" at the end of every
// window, "done" at the end, then they wait for stdin to close. The
// benchmark reads /proc/PID of the child at each line, so that the CPU
// and memory figures are the child's alone and measured from outside.

type message struct {
	Type string `json:"type"` // ready, tick, done
	// Start is when the first window began (Unix ns): windows are
	// [Start + k·Window, Start + (k+1)·Window).
	Start  int64         `json:"start,omitempty"`
	Window time.Duration `json:"window,omitempty"`
	// Index of the window a tick ends, and whether it was a warm-up one.
	Index int  `json:"index"`
	Warm  bool `json:"warm,omitempty"`
	// Metrics are cumulative counters: the poller's own metrics
	// (flattened registry) for the agent, the walker's for the baseline.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Done    *doneReport        `json:"done,omitempty"`
}

// doneReport is what a child knows at the end.
type doneReport struct {
	// Windows: per window, what the polls of the slots in that window did
	// (agent), or the polls finished in it (baseline).
	Windows []windowReport `json:"windows"`
	// Devices summarizes the poller's own per-device status (agent).
	Devices *deviceSummary `json:"devices,omitempty"`
	// Errors are a few distinct failure messages.
	Errors []string `json:"errors,omitempty"`
	// Self-measured CPU (getrusage), to cross-check /proc.
	UserCPU, SysCPU time.Duration
	HeapInuse       uint64
	HeapSys         uint64
	NumGC           uint32
	GCPause         time.Duration
	GOGC            string
	GOMAXPROCS      int
	// Attribution of polls to their slots (agent): polls whose first
	// response came more than a tenth of the interval after the slot the
	// benchmark computed, and the largest gap.
	LateBySlot int           `json:"late_by_slot"`
	MaxDelay   time.Duration `json:"max_delay"`
	Outside    int           `json:"outside"` // polls attributed to no window (after the last)
}

type windowReport struct {
	Polls, Failures int
	Varbinds        int64
	Labels, LLDP    int // polls that read the labels / the LLDP table
	// Devices by number of polls attributed to this window (agent).
	Zero, Once, More int
}

type deviceSummary struct {
	N                      int
	Polls, Failures, Skips uint64
	MinPolls, MaxPolls     uint64
	Unreachable            int
	Reasons                map[string]int
}

// emitter writes messages, one per line, safe for concurrent use.
type emitter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newEmitter(w io.Writer) *emitter { return &emitter{w: bufio.NewWriter(w)} }

func (e *emitter) send(m message) {
	b, err := json.Marshal(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "poller-scale child: encoding:", err)
		os.Exit(2)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(b)
	e.w.WriteByte('\n')
	if err := e.w.Flush(); err != nil {
		os.Exit(2) // the benchmark is gone
	}
}

// flatten turns a registry's metrics into name{labels} → value;
// histograms give _count, _sum and _bucket{le=…} (cumulative).
func flatten(g prometheus.Gatherer) map[string]float64 {
	out := map[string]float64{}
	mfs, err := g.Gather()
	if err != nil {
		fmt.Fprintln(os.Stderr, "poller-scale child: gather:", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + labelString(m.GetLabel())
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				h := m.Histogram
				out[mf.GetName()+"_count"] = float64(h.GetSampleCount())
				out[mf.GetName()+"_sum"] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[mf.GetName()+"_bucket{le="+strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)+"}"] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

func labelString(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// sumPrefix adds the metrics whose key starts with prefix (all label
// values of a counter).
func sumPrefix(m map[string]float64, prefix string) float64 {
	var s float64
	for k, v := range m {
		if k == prefix || strings.HasPrefix(k, prefix+"{") {
			s += v
		}
	}
	return s
}

// labelled returns label value → value for the metric name, e.g. the
// failure reasons.
func labelled(m map[string]float64, name, label string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, name+"{")
		if !ok {
			continue
		}
		for _, p := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			if lv, ok := strings.CutPrefix(p, label+"="); ok {
				out[lv] += v
			}
		}
	}
	return out
}

// histQuantile estimates quantile q of histogram name from its cumulative
// buckets (linear interpolation within a bucket, as Prometheus does).
// Samples above the last finite bound give +Inf.
func histQuantile(m map[string]float64, name string, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, name+"_bucket{le=")
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, "}"), 64)
		if err == nil {
			bs = append(bs, bucket{le, v})
		}
	}
	total := m[name+"_count"]
	if total == 0 || len(bs) == 0 {
		return math.NaN()
	}
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	rank := q * total
	prevLe, prevN := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if b.n == prevN {
				return b.le
			}
			return prevLe + (b.le-prevLe)*(rank-prevN)/(b.n-prevN)
		}
		prevLe, prevN = b.le, b.n
	}
	return math.Inf(1)
}

// subMetrics returns a − b, key by key.
func subMetrics(a, b map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(a))
	for k, v := range a {
		out[k] = v - b[k]
	}
	return out
}
