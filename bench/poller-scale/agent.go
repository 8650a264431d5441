package main

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/model"
)

// childOptions are the hidden flags of the agent and baseline roles.
type childOptions struct {
	version    string // 2c or 3
	targets    string // file of "name address" lines
	port       int
	interval   time.Duration // agent: the polling interval; baseline: the tick
	windows    int           // measured windows (baseline: warm-up included)
	warmup     int           // agent: warm-up windows at least
	maxWarmup  int           // agent: warm-up windows at most (until one has no late or skipped poll)
	workers    int
	maxRep     int
	derive     bool
	cpuProfile string // agent: CPU profile of the measured windows
	heapProf   string
	rate       float64 // baseline: polls/s, 0 = as fast as the workers go
}

// Test credentials of the simulated devices (loopback only). They reach
// the simulator through its environment, not its command line.
const (
	community = "public"
	v3User    = "unet-bench"
	v3Auth    = "bench-auth-pass"
	v3Priv    = "bench-priv-pass"
)

// profile is the SNMP profile every target gets.
func (o *childOptions) profile() model.SNMPProfile {
	p := model.SNMPProfile{Name: "bench", Version: model.SNMPv2c, Community: community, Port: o.port,
		MaxRepetitions: o.maxRep}
	if o.version == "3" {
		p = model.SNMPProfile{Name: "bench-v3", Version: model.SNMPv3, User: v3User,
			AuthProtocol: model.AuthSHA, AuthKey: v3Auth, PrivProtocol: model.PrivAES, PrivKey: v3Priv,
			Port: o.port, MaxRepetitions: o.maxRep}
	}
	p.Interval = model.Duration(o.interval)
	p.Normalize() // timeout 2 s, 1 retry: the defaults
	return p
}

type target struct{ name, addr string }

func readTargets(path string) ([]target, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []target
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, addr, ok := strings.Cut(sc.Text(), " ")
		if ok {
			out = append(out, target{name, addr})
		}
	}
	if len(out) == 0 && sc.Err() == nil {
		return nil, fmt.Errorf("%s: no targets", path)
	}
	return out, sc.Err()
}

// exitOnStdinEOF ends the child when the benchmark closes its stdin or
// dies.
func exitOnStdinEOF() {
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// rusage returns this process's user and system CPU time.
func rusage() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func fillRuntime(d *doneReport) {
	d.UserCPU, d.SysCPU = rusage()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	d.HeapInuse, d.HeapSys, d.NumGC, d.GCPause = ms.HeapInuse, ms.HeapSys, ms.NumGC, time.Duration(ms.PauseTotalNs)
	d.GOGC = os.Getenv("GOGC")
	d.GOMAXPROCS = runtime.GOMAXPROCS(0)
}

// accounting follows the poller's results: each poll is attributed to
// its slot (the benchmark computes the slots as the poller does: phase =
// FNV-1a of the node name mod interval, slots phase + k·interval from the
// epoch), hence to a window, so that "every device polled once in every
// window" can be checked without edge effects.
type accounting struct {
	start   int64 // Unix ns
	iv      int64
	n       int
	windows int
	index   map[string]int
	phase   []int64
	counts  []uint8 // windows × n: polls of device i attributed to window w
	agg     []windowAgg
	// devices derives the polls as unet-agent does (agent.Devices, the
	// agent's own); nil unless -derive.
	devices *agent.Devices

	outside    atomic.Int64
	lateBySlot atomic.Int64
	maxDelay   atomic.Int64

	errMu  sync.Mutex
	errors map[string]bool
}

type windowAgg struct {
	polls, failures, varbinds, labels, lldp atomic.Int64
}

func newAccounting(ts []target, iv time.Duration, windows int, devices *agent.Devices) *accounting {
	a := &accounting{
		iv: int64(iv), n: len(ts), windows: windows,
		index:  make(map[string]int, len(ts)),
		phase:  make([]int64, len(ts)),
		counts: make([]uint8, windows*len(ts)),
		agg:    make([]windowAgg, windows),
		errors: map[string]bool{},
	}
	for i, t := range ts {
		a.index[t.name] = i
		h := fnv.New64a()
		h.Write([]byte(t.name))
		a.phase[i] = int64(h.Sum64() % uint64(iv))
	}
	a.devices = devices
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// sink is the poller's Sink: concurrent for different devices, serial for
// one, so the per-device cells need no lock.
func (a *accounting) sink(r poller.Result) {
	i, ok := a.index[r.Poll.Node]
	if !ok {
		return
	}
	if a.devices != nil {
		_, _ = a.devices.Update(r)
	}
	t := r.Poll.Time.UnixNano()
	slot := floorDiv(t-a.phase[i], a.iv)*a.iv + a.phase[i]
	delay := t - slot
	if delay > a.iv/10 {
		a.lateBySlot.Add(1)
	}
	for {
		m := a.maxDelay.Load()
		if delay <= m || a.maxDelay.CompareAndSwap(m, delay) {
			break
		}
	}
	w := floorDiv(slot-a.start, a.iv)
	if w < 0 || w >= int64(a.windows) {
		a.outside.Add(1)
		return
	}
	if c := &a.counts[int(w)*a.n+i]; *c < 255 {
		*c++
	}
	g := &a.agg[w]
	g.polls.Add(1)
	g.varbinds.Add(int64(r.Varbinds))
	if r.Poll.Labels {
		g.labels.Add(1)
	}
	if r.Poll.HaveLLDP {
		g.lldp.Add(1)
	}
	if r.Reason != "" {
		g.failures.Add(1)
		a.errMu.Lock()
		if len(a.errors) < 5 {
			a.errors[r.Reason+": "+fmt.Sprint(r.Poll.Err)] = true
		}
		a.errMu.Unlock()
	}
}

// report returns the first used windows.
func (a *accounting) report(used int) []windowReport {
	out := make([]windowReport, min(used, a.windows))
	for w := range out {
		g := &a.agg[w]
		r := &out[w]
		r.Polls, r.Failures = int(g.polls.Load()), int(g.failures.Load())
		r.Varbinds = g.varbinds.Load()
		r.Labels, r.LLDP = int(g.labels.Load()), int(g.lldp.Load())
		for _, c := range a.counts[w*a.n : (w+1)*a.n] {
			switch c {
			case 0:
				r.Zero++
			case 1:
				r.Once++
			default:
				r.More++
			}
		}
	}
	return out
}

// runAgent is the agent child: the poller on every target, a window per
// interval.
func runAgent(o childOptions) error {
	go exitOnStdinEOF()
	ts, err := readTargets(o.targets)
	if err != nil {
		return err
	}
	prof := o.profile()
	targets := make([]poller.Target, len(ts))
	for i, t := range ts {
		targets[i] = poller.Target{Node: t.name, Address: t.addr, Profile: prof}
	}
	capacity := o.maxWarmup + o.windows
	var devices *agent.Devices
	if o.derive {
		devices = agent.NewDevices()
		devices.Set(targets)
	}
	acc := newAccounting(ts, o.interval, capacity, devices)
	cfg := poller.DefaultConfig()
	cfg.Workers = o.workers
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := poller.New(cfg, poller.Dependencies{Logger: log, Registry: reg, Sink: acc.sink})
	if err != nil {
		return err
	}
	em := newEmitter(os.Stdout)
	runtime.GC()

	start := time.Now()
	acc.start = start.UnixNano()
	if err := p.SetTargets(targets); err != nil {
		return err
	}
	targets = nil
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err != nil {
		return err
	}
	em.send(message{Type: "ready", Start: acc.start, Window: o.interval})

	// Warm-up windows: at least o.warmup, then until one window has no
	// late and no skipped poll (the first polls of SNMPv3 devices are
	// costly: the agent may need a few intervals to catch up), at most
	// o.maxWarmup. Then o.windows measured ones.
	var prev map[string]float64
	measured, k := 0, 0
	profiling := false
	for ; measured < o.windows && k < capacity; k++ {
		time.Sleep(time.Until(start.Add(time.Duration(k+1) * o.interval)))
		m := flatten(reg)
		d := subMetrics(m, prev)
		prev = m
		clean := d["unet_poller_polls_late_total"] == 0 && sumPrefix(d, "unet_poller_polls_skipped_total") == 0
		warm := measured == 0 && (k < o.warmup || (!clean && k < o.maxWarmup))
		if !warm {
			measured++
		}
		em.send(message{Type: "tick", Index: k, Warm: warm, Metrics: m})
		if warm && o.cpuProfile != "" {
			// The next window may be the first measured one: (re)start
			// the profile at the end of every warm-up window.
			if profiling {
				pprof.StopCPUProfile()
			}
			if profiling, err = startProfile(o.cpuProfile); err != nil {
				return err
			}
		}
	}
	if profiling {
		pprof.StopCPUProfile()
	}
	if o.heapProf != "" {
		if f, err := os.Create(o.heapProf); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	// The polls of the last window's slots finish shortly after it.
	time.Sleep(min(o.interval/4, 3*time.Second))
	p.Stop()

	d := &doneReport{Windows: acc.report(k)}
	ds := &deviceSummary{N: len(ts), Reasons: map[string]int{}}
	for i, st := range p.Devices() {
		ds.Polls += st.Polls
		ds.Failures += st.Failures
		ds.Skips += st.Skipped
		if i == 0 || st.Polls < ds.MinPolls {
			ds.MinPolls = st.Polls
		}
		ds.MaxPolls = max(ds.MaxPolls, st.Polls)
		if st.Unreachable {
			ds.Unreachable++
		}
		if st.LastReason != "" {
			ds.Reasons[st.LastReason]++
		}
	}
	d.Devices = ds
	for e := range acc.errors {
		d.Errors = append(d.Errors, e)
	}
	d.LateBySlot, d.MaxDelay, d.Outside = int(acc.lateBySlot.Load()), time.Duration(acc.maxDelay.Load()), int(acc.outside.Load())
	for w := k; w < capacity; w++ {
		d.Outside += int(acc.agg[w].polls.Load())
	}
	fillRuntime(d)
	em.send(message{Type: "done", Metrics: flatten(reg), Done: d})
	select {} // until the benchmark closes stdin
}

// startProfile starts a CPU profile into path (truncated).
func startProfile(path string) (bool, error) {
	f, err := os.Create(path)
	if err != nil {
		return false, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return false, err
	}
	// The file stays open until the process ends: StopCPUProfile flushes
	// it, and the next profile writes to a new descriptor.
	return true, nil
}
