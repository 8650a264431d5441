// Command poller-scale measures the issue-3 poller figures at scale: one
// agent polling 10,000 simulated devices × 48 interfaces on a fixed
// interval, against the generic way of polling (gosnmp BulkWalkAll of the
// system group, ifTable and ifXTable, as exporters do), in v2c and SNMPv3
// authPriv (SHA/AES).
//
//	go run ./bench/poller-scale                          # 10 s interval, 100 s measured: ~5 min
//	go run ./bench/poller-scale -interval 10s -duration 60s
//	go run ./bench/poller-scale -interval 60s -duration 120s -phases v2c,v3
//	go run ./bench/poller-scale -phases v2c -profile /tmp/prof   # + pprof of the agent
//	go run ./bench/poller-scale -phases v2c -derive              # poller + agent/derive
//
// Method. The simulator (cmd/unet-snmpsim, built into a temp dir) runs as
// its own process on a non-standard UDP port, serving every device from
// two sockets on 127.x.y.z addresses; it writes the inventory CSV, whose
// nodes become the targets. Each phase then runs in a child process (this
// binary re-executed with the hidden -role flag), so that its CPU time and
// memory are its alone: the benchmark reads /proc/PID/stat (utime+stime)
// and /proc/PID/status (VmRSS, VmHWM) of the child at the end of every
// window, and the child's getrusage cross-checks the total.
//
// Phases (-phases, in order):
//
//   - v2c, v3: agent/poller with its default configuration (64 workers,
//     labels and LLDP every 10th poll) on every device at -interval. A
//     window is one interval. First a warm-up (the first poll of a device
//     reads everything; an SNMPv3 one also discovers the engine and
//     localizes the keys): at least -warmup windows, then until a window
//     has no late and no skipped poll, at most -max-warmup; then -duration
//     of measured windows. The child attributes every poll to its slot,
//     computed as the poller computes it (FNV-1a phase of the node name),
//     hence to a window: "every device polled once in every window" is
//     checked exactly, with the poller's own counters of late polls (a
//     start more than a tenth of the interval after the slot), skipped
//     slots (overrun, stale, breaker) and failures.
//   - baseline, baseline-v3: the generic walk, a session per poll, the same
//     concurrency limit, max-repetitions, timeout and retries, the devices
//     round robin as fast as the workers go (or -baseline-rate) for
//     -baseline-duration, in windows of -baseline-tick.
//
// The default -duration is 10 intervals: one full cycle of the label and
// LLDP reads, so that the mean over the measured windows is the poller's
// true average cost per poll (the medians show a typical counters-only
// interval). All devices start together, so their label reads fall in
// the same interval, and their LLDP reads in another: the window table
// shows those intervals.
//
// Everything goes to 127.0.0.0/8 only. The machine is shared: the load
// average is printed at start and before each phase; per-window figures
// are printed and their medians summarized. /proc/net/snmp UDP
// RcvbufErrors (namespace-wide) are read before and after every phase.
//
// At the end a markdown snippet for bench/RESULTS.md is printed.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// options are the public flags.
type options struct {
	devices      int
	interfaces   int
	interval     time.Duration
	duration     time.Duration
	warmup       int
	maxWarmup    int
	workers      int
	maxRep       int
	port         int
	base         string
	vendor       string
	phases       string
	baseDuration time.Duration
	baseTick     time.Duration
	baseRate     float64
	derive       bool
	profileDir   string
	simBinary    string
	keep         bool
	agentGOGC    string
}

// hidden flags are the children's, left out of -help.
var hidden = map[string]bool{"role": true, "version": true, "targets": true, "windows": true, "cpuprofile": true, "heapprofile": true}

func main() {
	var o options
	var role string
	var c childOptions
	flag.IntVar(&o.devices, "devices", 10000, "simulated devices")
	flag.IntVar(&o.interfaces, "interfaces", 48, "interfaces per device")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "polling interval of every device (a window)")
	flag.DurationVar(&o.duration, "duration", 0, "measured time per poller phase, after the warm-up (default 10 intervals: one label/LLDP cycle)")
	flag.IntVar(&o.warmup, "warmup", 1, "warm-up intervals before the measured ones, at least (first polls read everything)")
	flag.IntVar(&o.maxWarmup, "max-warmup", 8, "warm-up intervals at most: the warm-up goes on until an interval has no late or skipped poll")
	flag.IntVar(&o.workers, "workers", 64, "concurrency limit (poller workers; baseline walkers)")
	flag.IntVar(&o.maxRep, "maxrep", 25, "max-repetitions of GetBulk (poller and baseline)")
	flag.IntVar(&o.port, "port", 16100, "UDP port of the simulator")
	flag.StringVar(&o.base, "base", "127.20.0.1", "address of the first simulated device (127.0.0.0/8)")
	flag.StringVar(&o.vendor, "vendor", "", "simulated vendor: cisco, juniper, arista, linux (default: a mix)")
	flag.StringVar(&o.phases, "phases", "v2c,baseline,v3", "phases to run, in order: v2c, baseline, v3, baseline-v3")
	flag.DurationVar(&o.baseDuration, "baseline-duration", 20*time.Second, "measured time of a baseline phase, after one warm-up tick")
	flag.DurationVar(&o.baseTick, "baseline-tick", 5*time.Second, "window of the baseline's per-window figures")
	flag.Float64Var(&o.baseRate, "baseline-rate", 0, "baseline device polls per second (0: as fast as the workers go)")
	flag.BoolVar(&o.derive, "derive", false, "feed every result to agent/derive in the agent (the whole agent path, not only the poller)")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU and heap profiles of the agent phases (measured windows) to this directory")
	flag.StringVar(&o.simBinary, "sim", "", "unet-snmpsim binary to use (default: built from cmd/unet-snmpsim into a temp dir)")
	flag.StringVar(&o.agentGOGC, "agent-gogc", "", "GOGC of the agent and baseline children only (default: inherited)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (simulator binary, inventory CSV, targets)")

	flag.StringVar(&role, "role", "", "child role: agent or baseline")
	flag.StringVar(&c.version, "version", "2c", "child: SNMP version")
	flag.StringVar(&c.targets, "targets", "", "child: targets file")
	flag.IntVar(&c.windows, "windows", 0, "child: windows")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "child: CPU profile file")
	flag.StringVar(&c.heapProf, "heapprofile", "", "child: heap profile file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/poller-scale [flags]\n\n")
		flag.VisitAll(func(f *flag.Flag) {
			if hidden[f.Name] {
				return
			}
			fmt.Fprintf(flag.CommandLine.Output(), "  -%s\t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
		})
	}
	flag.Parse()

	if role != "" {
		c.port, c.interval, c.workers, c.maxRep, c.derive, c.rate = o.port, o.interval, o.workers, o.maxRep, o.derive, o.baseRate
		c.warmup, c.maxWarmup = o.warmup, o.maxWarmup
		var err error
		switch role {
		case "agent":
			err = runAgent(c)
		case "baseline":
			err = runBaseline(c)
		default:
			err = fmt.Errorf("unknown role %q", role)
		}
		fmt.Fprintln(os.Stderr, "poller-scale", role+":", err)
		os.Exit(1)
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "poller-scale:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "poller-scale:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	a, err := netip.ParseAddr(o.base)
	if err != nil || !a.Is4() || a.As4()[0] != 127 {
		return fmt.Errorf("-base %q must be an IPv4 address in 127.0.0.0/8", o.base)
	}
	if o.duration == 0 {
		o.duration = 10 * o.interval
	}
	switch {
	case o.devices < 1:
		return fmt.Errorf("-devices must be at least 1")
	case o.interval < time.Second:
		return fmt.Errorf("-interval must be at least 1s")
	case o.duration < o.interval:
		return fmt.Errorf("-duration must be at least one interval")
	case o.warmup < 0 || o.maxWarmup < o.warmup:
		return fmt.Errorf("-warmup cannot be negative nor above -max-warmup")
	case o.port < 1024 || o.port > 65535:
		return fmt.Errorf("-port must be a non-privileged UDP port")
	case o.baseTick <= 0 || o.baseDuration < o.baseTick:
		return fmt.Errorf("-baseline-duration must be at least one -baseline-tick")
	}
	for _, p := range o.phaseList() {
		if !slices.Contains([]string{"v2c", "v3", "baseline", "baseline-v3"}, p) {
			return fmt.Errorf("-phases: unknown phase %q (v2c, baseline, v3, baseline-v3)", p)
		}
	}
	if len(o.phaseList()) == 0 {
		return fmt.Errorf("-phases: none given")
	}
	return nil
}

func (o *options) phaseList() []string {
	var out []string
	for _, p := range strings.Split(o.phases, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// measuredWindows is the number of measured poller windows.
func (o *options) measuredWindows() int {
	return int((o.duration + o.interval - 1) / o.interval)
}

// estimate is the expected wall time of the run.
func (o *options) estimate() time.Duration {
	var d time.Duration
	for _, p := range o.phaseList() {
		if strings.HasPrefix(p, "baseline") {
			d += o.baseDuration + o.baseTick + 2*time.Second
		} else {
			d += time.Duration(o.warmup+o.measuredWindows())*o.interval + 5*time.Second
		}
	}
	return d
}

func run(o options) error {
	tmp, err := os.MkdirTemp("", "poller-scale-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("temp dir:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	env := environment{
		load: loadAvg(), cpus: runtime.NumCPU(), goVersion: runtime.Version(), date: time.Now().Format("2006-01-02"),
		udp: readUDPStats(),
	}
	fmt.Printf("poller-scale: %d devices × %d interfaces, interval %v, measured %v (%d windows) after %d to %d warm-up interval(s); workers %d, max-repetitions %d\n",
		o.devices, o.interfaces, o.interval, time.Duration(o.measuredWindows())*o.interval, o.measuredWindows(), o.warmup, o.maxWarmup, o.workers, o.maxRep)
	fmt.Printf("machine: %d CPUs, load average at start %s, %s; phases %s, about %v\n",
		env.cpus, env.load, env.goVersion, strings.Join(o.phaseList(), ", "), o.estimate().Round(time.Second))

	sim, err := startSimulator(o, tmp)
	if err != nil {
		return err
	}
	defer sim.stop()
	fmt.Printf("simulator: pid %d, %d devices %s … %s, UDP port %d\n", sim.pid(), len(sim.targets), sim.targets[0].addr, sim.targets[len(sim.targets)-1].addr, o.port)

	var results []*phaseResult
	for _, name := range o.phaseList() {
		r, err := runPhase(o, name, tmp, sim)
		if err != nil {
			return fmt.Errorf("phase %s: %w", name, err)
		}
		r.print(os.Stdout)
		results = append(results, r)
	}
	simCPU, _ := readProc(sim.pid())
	env.udpEnd = readUDPStats()
	s := summarize(o, env, results)
	s.print(os.Stdout, simCPU)
	s.markdown(os.Stdout)
	return nil
}
