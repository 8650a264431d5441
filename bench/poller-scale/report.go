package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

func ms(seconds float64) string {
	switch {
	case math.IsNaN(seconds):
		return "?"
	case math.IsInf(seconds, 1):
		return "> last bucket"
	}
	return (time.Duration(seconds * float64(time.Second))).Round(10 * time.Microsecond).String()
}

// print writes the phase's windows and summary.
func (r *phaseResult) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if r.baseline {
		fmt.Fprintln(tw, "window\twall s\tpolls\tpolls/s\tvarbinds/s\tCPU s\tcores\tCPU-s/1k polls\tRSS\tsim cores\tfailed\tretries\t")
	} else {
		fmt.Fprintln(tw, "window\twall s\tpolls\tdevices/s\tvarbinds/s\tCPU s\tcores\tCPU-s/1k polls\tRSS\tsim cores\tpolled once\tnone\ttwice+\tlabels\tLLDP\tfailed\tlate\tskipped\tretries\t")
	}
	for _, f := range r.figs {
		name := strconv.Itoa(f.index)
		if f.warm {
			name += " (warm-up)"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.1f\t%s\t%.2f\t%.2f\t%.3f\t%s\t%.2f\t", name, f.wall, commas(int64(f.polls)), f.pollsPerS,
			commas(int64(f.varbindsPerS)), f.cpu, f.cores, f.cpuPer1k, mb(f.rss), f.simCores)
		if r.baseline {
			fmt.Fprintf(tw, "%.0f\t%.0f\t\n", f.failures, f.retries)
			continue
		}
		a := f.attr
		if a == nil {
			a = &windowReport{}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t\n", commas(int64(a.Once)), a.Zero, a.More, commas(int64(a.Labels)), commas(int64(a.LLDP)),
			f.failures, f.late, f.skips, f.retries)
	}
	tw.Flush()

	s := r.stats()
	d := subMetrics(r.final.metrics, r.ready.metrics)
	if r.baseline {
		fmt.Fprintf(w, "median of %d windows: %.0f device polls/s, %s varbinds/s (%.0f per poll), %.2f cores, %.3f CPU-s per 1,000 polls (mean %.3f); simulator %.2f cores\n",
			s.windows, s.pollsPerS, commas(int64(s.varbindsPerS)), s.varbindsPerPoll, s.cores, s.cpuPer1k, s.meanCPUPer1k, s.sim)
		fmt.Fprintf(w, "polls %s, failures %.0f, retries %.0f; RSS steady %s, peak %s\n",
			commas(int64(d["polls"])), d["failures"], d["retries"], mb(s.rss), mb(s.hwm))
	} else {
		fmt.Fprintf(w, "median of %d measured windows: %.1f devices/s, %s varbinds/s, %.2f cores, %.3f CPU-s per 1,000 polls; simulator %.2f cores\n",
			s.windows, s.pollsPerS, commas(int64(s.varbindsPerS)), s.cores, s.cpuPer1k, s.sim)
		fmt.Fprintf(w, "mean over the measured windows: %.2f cores, %.3f CPU-s per 1,000 polls, %.0f varbinds per poll; busiest window %d at %.2f cores\n",
			s.meanCores, s.meanCPUPer1k, s.varbindsPerPoll, s.maxCoresWindow, s.maxCores)
		fmt.Fprintf(w, "RSS: steady (median at the measured ticks) %s, peak (VmHWM) %s\n", mb(s.rss), mb(s.hwm))
		if n, cpu, polls, late, skips := r.warmup(); n > 0 {
			fmt.Fprintf(w, "warm-up: %d interval(s), %.1f CPU-s (%.2f cores), %s polls at %.3f CPU-s per 1,000, late %.0f, skipped %.0f\n",
				n, cpu, cpu/(float64(n)*r.window.Seconds()), commas(int64(polls)), cpu/polls*1000, late, skips)
		}
		r.printCorrectness(w, d)
	}
	if r.done != nil {
		dd := r.done
		gogc := dd.GOGC
		if gogc == "" {
			gogc = "default (100)"
		}
		fmt.Fprintf(w, "Go: heap in use at end %s (heap sys %s), %d GCs, %v GC pause in all, GOGC %s, GOMAXPROCS %d\n",
			mb(int64(dd.HeapInuse)), mb(int64(dd.HeapSys)), dd.NumGC, dd.GCPause.Round(time.Millisecond), gogc, dd.GOMAXPROCS)
		fmt.Fprintf(w, "CPU cross-check, whole child life: /proc %.2f s, getrusage %.2f s\n",
			r.final.agent.cpu.Seconds(), (dd.UserCPU + dd.SysCPU).Seconds())
		for _, e := range dd.Errors {
			fmt.Fprintln(w, "  failure seen:", e)
		}
	}
	u := r.udp1.sub(r.udp0)
	fmt.Fprintf(w, "kernel UDP (namespace-wide) during the phase: RcvbufErrors +%d, InErrors +%d, InDatagrams +%s\n",
		u.RcvbufErrors, u.InErrors, commas(u.InDatagrams))
	if r.profile != "" {
		fmt.Fprintf(w, "CPU profile of the measured windows: go tool pprof -top %s\n", r.profile)
	}
}

// printCorrectness checks the poller phase: every device polled once per
// window, nothing late, skipped or failed.
func (r *phaseResult) printCorrectness(w io.Writer, d map[string]float64) {
	c := r.correctness()
	fmt.Fprintf(w, "measured windows: late %.0f, skipped %.0f, failed %d\n", c.late, c.skips, c.failures)
	fmt.Fprintf(w, "whole phase: polls %s (%s ok, %.0f failed%s), late %.0f, skipped %.0f (overrun %.0f, stale %.0f, breaker %.0f), retries %.0f, timeouts %.0f, anomalies %.0f\n",
		commas(int64(sumPrefix(d, "unet_poller_polls_total"))), commas(int64(d["unet_poller_polls_total{result=success}"])),
		d["unet_poller_polls_total{result=failure}"], reasons(labelled(d, "unet_poller_poll_failures_total", "reason")),
		d["unet_poller_polls_late_total"], sumPrefix(d, "unet_poller_polls_skipped_total"),
		d["unet_poller_polls_skipped_total{reason=overrun}"], d["unet_poller_polls_skipped_total{reason=stale}"],
		d["unet_poller_polls_skipped_total{reason=breaker}"], d["unet_poller_retries_total"], d["unet_poller_timeouts_total"],
		sumPrefix(d, "unet_poller_response_anomalies_total"))
	if c.everyOnce {
		fmt.Fprintf(w, "every device polled exactly once in every measured window: yes (%d windows × %s devices, by slot)\n", c.windows, commas(int64(r.n)))
	} else {
		fmt.Fprintf(w, "every device polled exactly once in every measured window: NO — device-windows with no poll %d, with two or more %d (of %d × %s)\n",
			c.zero, c.more, c.windows, commas(int64(r.n)))
	}
	f := r.final.metrics
	fmt.Fprintf(w, "schedule delay (slot → start) p50 %s, p99 %s, p99.9 %s; poll duration p50 %s, p99 %s, p99.9 %s\n",
		ms(histQuantile(f, "unet_poller_schedule_delay_seconds", .5)), ms(histQuantile(f, "unet_poller_schedule_delay_seconds", .99)),
		ms(histQuantile(f, "unet_poller_schedule_delay_seconds", .999)),
		ms(histQuantile(f, "unet_poller_poll_duration_seconds", .5)), ms(histQuantile(f, "unet_poller_poll_duration_seconds", .99)),
		ms(histQuantile(f, "unet_poller_poll_duration_seconds", .999)))
	if dd := r.done; dd != nil {
		fmt.Fprintf(w, "by the benchmark's slot attribution: first response > interval/10 after the slot %d, largest %v, polls after the last window %d\n",
			dd.LateBySlot, dd.MaxDelay.Round(time.Microsecond), dd.Outside)
		if ds := dd.Devices; ds != nil {
			fmt.Fprintf(w, "poller's device status at the end: %s devices, polls %d…%d each, %d failures, %d skips, %d unreachable%s\n",
				commas(int64(ds.N)), ds.MinPolls, ds.MaxPolls, ds.Failures, ds.Skips, ds.Unreachable, reasonsInt(ds.Reasons))
		}
	}
}

type correctness struct {
	windows, zero, more, failures int
	everyOnce                     bool
	late, skips                   float64
}

func (r *phaseResult) correctness() correctness {
	var c correctness
	for _, f := range r.measured() {
		c.windows++
		c.late += f.late
		c.skips += f.skips
		c.failures += int(f.failures)
		if f.attr != nil {
			c.zero += f.attr.Zero
			c.more += f.attr.More
			c.failures = max(c.failures, f.attr.Failures)
		} else {
			c.zero += r.n
		}
	}
	c.everyOnce = c.windows > 0 && c.zero == 0 && c.more == 0
	return c
}

// warmup sums the warm-up windows.
func (r *phaseResult) warmup() (windows int, cpu, polls, late, skips float64) {
	for _, f := range r.figs[:min(r.warm, len(r.figs))] {
		windows++
		cpu += f.cpu
		polls += f.polls
		late += f.late
		skips += f.skips
	}
	return
}

func reasons(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

func reasonsInt(m map[string]int) string {
	f := map[string]float64{}
	for k, v := range m {
		f[k] = float64(v)
	}
	if r := reasons(f); r != "" {
		return "; last failure reasons" + r
	}
	return ""
}

// environment is the machine and its state at the start.
type environment struct {
	load, goVersion, date string
	cpus                  int
	udp, udpEnd           udpStats
}

// summary is the run's verdict.
type summary struct {
	o       options
	env     environment
	byName  map[string]*phaseResult
	results []*phaseResult
}

func summarize(o options, env environment, rs []*phaseResult) *summary {
	s := &summary{o: o, env: env, byName: map[string]*phaseResult{}, results: rs}
	for _, r := range rs {
		s.byName[r.name] = r
	}
	return s
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

// check is one target's line.
type check struct {
	figure, target, value string
	ok                    *bool
}

func (s *summary) checks() []check {
	var out []check
	yes := func(b bool) *bool { return &b }
	v2, ok2 := s.byName["v2c"]
	n := int64(s.o.devices)
	if ok2 {
		st := v2.stats()
		c := v2.correctness()
		out = append(out,
			check{"v2c: devices polled per interval", fmt.Sprintf("all %s every %v, none late, skipped or failed", commas(n), s.o.interval),
				fmt.Sprintf("%.1f devices/s (median); polled once in every window: %v; late %.0f, skipped %.0f, failed polls %d",
					st.pollsPerS, c.everyOnce, c.late, c.skips, c.failures),
				yes(c.everyOnce && c.late == 0 && c.skips == 0 && c.failures == 0)},
			check{"v2c: varbinds/s", "", fmt.Sprintf("%s (median), %.0f per poll (mean)", commas(int64(st.varbindsPerS)), st.varbindsPerPoll), nil},
			check{"v2c: agent CPU", "< 1 core", coresText(st), yes(st.meanCores < 1)},
			check{"v2c: agent CPU-s per 1,000 device polls", "", fmt.Sprintf("%.3f median, %.3f mean", st.cpuPer1k, st.meanCPUPer1k), nil},
			check{"v2c: agent RSS", "< 300 MB", fmt.Sprintf("%s steady, %s peak", mb(st.rss), mb(st.hwm)), yes(st.hwm < 300<<20)},
			v2.warmupCheck("v2c"),
		)
	}
	if b, ok := s.byName["baseline"]; ok {
		bs := b.stats()
		out = append(out, check{"baseline v2c (BulkWalkAll): CPU-s per 1,000 device polls", "",
			fmt.Sprintf("%.3f median at %.0f polls/s (%.2f cores), %.0f varbinds per poll", bs.cpuPer1k, bs.pollsPerS, bs.cores, bs.varbindsPerPoll), nil})
		if ok2 {
			st := v2.stats()
			ratio := st.meanCPUPer1k / bs.cpuPer1k
			out = append(out, check{"v2c: ours / baseline CPU per device poll", "≤ 25 %",
				fmt.Sprintf("%.1f %% (mean over the label/LLDP cycle; %.1f %% median window)", 100*ratio, 100*st.cpuPer1k/bs.cpuPer1k), yes(ratio <= .25)})
		}
	}
	if v3, ok := s.byName["v3"]; ok {
		st := v3.stats()
		c := v3.correctness()
		out = append(out,
			check{"v3 authPriv: devices polled per interval", fmt.Sprintf("all %s every %v", commas(n), s.o.interval),
				fmt.Sprintf("%.1f devices/s; polled once in every window: %v; late %.0f, skipped %.0f, failed polls %d",
					st.pollsPerS, c.everyOnce, c.late, c.skips, c.failures),
				yes(c.everyOnce && c.late == 0 && c.skips == 0 && c.failures == 0)},
			check{"v3 authPriv: agent CPU", "< 1 core", coresText(st), yes(st.meanCores < 1)},
			check{"v3 authPriv: agent RSS", "< 300 MB", fmt.Sprintf("%s steady, %s peak", mb(st.rss), mb(st.hwm)), yes(st.hwm < 300<<20)},
			check{"v3 authPriv: agent CPU-s per 1,000 device polls", "", fmt.Sprintf("%.3f median, %.3f mean", st.cpuPer1k, st.meanCPUPer1k), nil},
			v3.warmupCheck("v3 authPriv"))
		if ok2 {
			s2 := v2.stats()
			out = append(out, check{"v3 / v2c cost per poll (ours)", "", fmt.Sprintf("%.2f× (mean), %.2f× (median)", st.meanCPUPer1k/s2.meanCPUPer1k, st.cpuPer1k/s2.cpuPer1k), nil})
		}
		if b, ok := s.byName["baseline-v3"]; ok {
			bs := b.stats()
			out = append(out, check{"v3: ours / baseline CPU per device poll", "",
				fmt.Sprintf("%.1f %% (baseline %.3f CPU-s per 1,000 polls at %.0f polls/s)", 100*st.meanCPUPer1k/bs.cpuPer1k, bs.cpuPer1k, bs.pollsPerS), nil})
		}
	}
	u := s.env.udpEnd.sub(s.env.udp)
	out = append(out, check{"kernel UDP RcvbufErrors during the run", "0", fmt.Sprintf("%d (before %d, after %d; namespace-wide)",
		u.RcvbufErrors, s.env.udp.RcvbufErrors, s.env.udpEnd.RcvbufErrors), yes(u.RcvbufErrors == 0)})
	return out
}

// coresText gives the CPU use of the measured windows; the verdict is on
// the mean (one label/LLDP cycle with the default duration), the busiest
// window is shown beside it.
func coresText(st stats) string {
	t := fmt.Sprintf("%.2f cores mean, %.2f median, %.2f busiest window", st.meanCores, st.cores, st.maxCores)
	if st.maxCores >= 1 {
		t += fmt.Sprintf(" (window %d: over one core)", st.maxCoresWindow)
	}
	return t
}

// warmupCheck describes the start: the first poll of every device, and
// how long the agent took to poll on time.
func (r *phaseResult) warmupCheck(name string) check {
	n, cpu, polls, late, skips := r.warmup()
	v := fmt.Sprintf("%d interval(s) before one with no late or skipped poll; %.1f CPU-s (%.2f cores), %s polls, late %.0f, skipped %.0f",
		n, cpu, cpu/(float64(max(n, 1))*r.window.Seconds()), commas(int64(polls)), late, skips)
	return check{name + ": start (warm-up, first polls)", "", v, nil}
}

func (s *summary) print(w io.Writer, sim procSample) {
	fmt.Fprintf(w, "\n== summary (load average at start %s; simulator used %.1f CPU-s in all, peak RSS %s) ==\n", s.env.load, sim.cpu.Seconds(), mb(sim.hwm))
	for _, c := range s.checks() {
		v := ""
		if c.ok != nil {
			v = "  [" + verdict(*c.ok) + "]"
		}
		t := ""
		if c.target != "" {
			t = " (target " + c.target + ")"
		}
		fmt.Fprintf(w, "%s%s: %s%s\n", c.figure, t, c.value, v)
	}
}

func (s *summary) command() string {
	args := []string{"go run ./bench/poller-scale"}
	o := s.o
	args = append(args, "-interval", o.interval.String(), "-duration", o.duration.String())
	if o.devices != 10000 {
		args = append(args, "-devices", strconv.Itoa(o.devices))
	}
	if o.phases != "v2c,baseline,v3" {
		args = append(args, "-phases", o.phases)
	}
	if o.derive {
		args = append(args, "-derive")
	}
	if o.vendor != "" {
		args = append(args, "-vendor", o.vendor)
	}
	if o.agentGOGC != "" {
		args = append(args, "-agent-gogc", o.agentGOGC)
	}
	if o.baseRate > 0 {
		args = append(args, "-baseline-rate", strconv.FormatFloat(o.baseRate, 'g', -1, 64))
	}
	return strings.Join(args, " ")
}

// markdown writes the snippet for bench/RESULTS.md.
func (s *summary) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n---- markdown for bench/RESULTS.md ----\n\n")
	fmt.Fprintf(w, "### Poller at scale: %s devices × %d interfaces, one agent\n\n", commas(int64(s.o.devices)), s.o.interfaces)
	fmt.Fprintf(w, "```\n%s\n```\n\n", s.command())
	fmt.Fprintf(w, "Simulator (`unet-snmpsim`, vendor mix) and agent in separate processes; the agent's CPU and RSS from\n")
	fmt.Fprintf(w, "/proc/PID of its own process; %d workers, max-repetitions %d; measured windows of one interval after\n", s.o.workers, s.o.maxRep)
	fmt.Fprintf(w, "a warm-up (until an interval has no late or skipped poll), medians over the windows (mean = one label/LLDP\n")
	fmt.Fprintf(w, "cycle with the default 10 windows). Baseline: a session\n")
	fmt.Fprintf(w, "per poll and gosnmp `BulkWalkAll` of system, ifTable, ifXTable, same workers, as fast as they go.\n\n")
	fmt.Fprintf(w, "| figure | target | %s (load avg %s at start) |\n| --- | --- | --- |\n", s.env.date, s.env.load)
	for _, c := range s.checks() {
		v := c.value
		if c.ok != nil {
			v = "**" + verdict(*c.ok) + "**: " + v
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", c.figure, c.target, v)
	}
	fmt.Fprintln(w)
}
