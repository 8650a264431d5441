package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sample is what the benchmark knows at one message of a child: the
// child's cumulative counters, and /proc of the child and the simulator.
type sample struct {
	metrics    map[string]float64
	agent, sim procSample
}

// phaseResult is one phase's raw readings and their per-window figures.
type phaseResult struct {
	name     string // v2c, v3, baseline, baseline-v3
	baseline bool
	n        int // devices
	window   time.Duration
	warm     int
	load     string
	udp0     udpStats
	udp1     udpStats
	ready    sample
	ticks    []sample
	final    sample
	done     *doneReport
	profile  string
	figs     []windowFig
}

// windowFig are one window's figures.
type windowFig struct {
	index                                    int
	warm                                     bool
	wall                                     float64 // seconds
	polls, varbinds, failures, late, skips   float64
	retries, timeouts                        float64
	cpu, simCPU                              float64 // seconds
	rss                                      int64
	attr                                     *windowReport // agent: the polls of the window's slots
	pollsPerS, varbindsPerS, cores, simCores float64
	cpuPer1k                                 float64 // CPU seconds per 1,000 device polls
}

func (p *phaseResult) version() string {
	if strings.HasSuffix(p.name, "v3") {
		return "3"
	}
	return "2c"
}

// runPhase runs one phase in a child process and reads it.
func runPhase(o options, name, tmp string, sim *simulator) (*phaseResult, error) {
	r := &phaseResult{name: name, baseline: strings.HasPrefix(name, "baseline"), n: len(sim.targets)}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	role := "agent"
	if r.baseline {
		role = "baseline"
	}
	args := []string{"-role", role, "-version", r.version(), "-targets", sim.file,
		"-port", strconv.Itoa(o.port), "-workers", strconv.Itoa(o.workers), "-maxrep", strconv.Itoa(o.maxRep)}
	var windows int
	if r.baseline {
		r.window, r.warm = o.baseTick, 1
		windows = 1 + int((o.baseDuration+o.baseTick-1)/o.baseTick)
		args = append(args, "-interval", o.baseTick.String(), "-baseline-rate", strconv.FormatFloat(o.baseRate, 'g', -1, 64))
	} else {
		r.window = o.interval
		windows = o.measuredWindows()
		args = append(args, "-interval", o.interval.String(), "-warmup", strconv.Itoa(o.warmup), "-max-warmup", strconv.Itoa(o.maxWarmup))
		if o.derive {
			args = append(args, "-derive")
		}
		if o.profileDir != "" {
			if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
				return nil, err
			}
			r.profile = filepath.Join(o.profileDir, "agent-"+name+".cpu.pprof")
			args = append(args, "-cpuprofile", r.profile, "-heapprofile", filepath.Join(o.profileDir, "agent-"+name+".heap.pprof"))
		}
	}
	args = append(args, "-windows", strconv.Itoa(windows))

	r.load = loadAvg()
	expect := time.Duration(windows)*r.window + 3*time.Second
	if !r.baseline {
		expect += time.Duration(o.warmup) * r.window
	}
	fmt.Printf("\n== phase %s: %s, load average %s, about %v ==\n", name, describePhase(o, r), r.load, expect.Round(time.Second))
	r.udp0 = readUDPStats()
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	if o.agentGOGC != "" {
		cmd.Env = append(os.Environ(), "GOGC="+o.agentGOGC)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()

	lines := make(chan []byte)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
	}()
	pid := cmd.Process.Pid
	for {
		var line []byte
		var ok bool
		select {
		case line, ok = <-lines:
		case <-time.After(r.window + 90*time.Second):
			return nil, fmt.Errorf("the %s child went silent", role)
		}
		if !ok {
			return nil, fmt.Errorf("the %s child ended early (see its errors above)", role)
		}
		var s sample
		s.agent, err = readProc(pid)
		if err != nil {
			return nil, fmt.Errorf("reading the child: %w", err)
		}
		s.sim, _ = readProc(sim.pid())
		var m message
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, fmt.Errorf("child said %q: %w", line, err)
		}
		s.metrics = m.Metrics
		switch m.Type {
		case "ready":
			r.ready = s
		case "tick":
			r.ticks = append(r.ticks, s)
			if m.Warm {
				r.warm = len(r.ticks)
			}
		case "done":
			r.final, r.done = s, m.Done
			r.udp1 = readUDPStats()
			r.compute()
			return r, nil
		}
	}
}

func describePhase(o options, r *phaseResult) string {
	v := "v2c"
	if r.version() == "3" {
		v = "v3 authPriv SHA/AES"
	}
	if r.baseline {
		rate := "as fast as the workers go"
		if o.baseRate > 0 {
			rate = fmt.Sprintf("%g polls/s", o.baseRate)
		}
		return fmt.Sprintf("baseline BulkWalkAll (system, ifTable, ifXTable) %s, %d workers, %s, %v in %v windows after one warm-up window",
			v, o.workers, rate, o.baseDuration, o.baseTick)
	}
	d := ""
	if o.derive {
		d = " + agent/derive"
	}
	return fmt.Sprintf("agent/poller%s %s, %d devices every %v, %d to %d warm-up + %d measured intervals", d, v, r.n, o.interval, o.warmup, o.maxWarmup, o.measuredWindows())
}

// compute derives the per-window figures.
func (r *phaseResult) compute() {
	prev := r.ready
	for k, t := range r.ticks {
		d := subMetrics(t.metrics, prev.metrics)
		f := windowFig{index: k, warm: k < r.warm}
		f.wall = t.agent.at.Sub(prev.agent.at).Seconds()
		f.cpu = (t.agent.cpu - prev.agent.cpu).Seconds()
		f.simCPU = (t.sim.cpu - prev.sim.cpu).Seconds()
		f.rss = t.agent.rss
		if r.baseline {
			f.polls, f.varbinds, f.failures, f.retries = d["polls"], d["varbinds"], d["failures"], d["retries"]
		} else {
			f.polls = sumPrefix(d, "unet_poller_polls_total")
			f.failures = d["unet_poller_polls_total{result=failure}"]
			f.varbinds = d["unet_poller_varbinds_total"]
			f.late = d["unet_poller_polls_late_total"]
			f.skips = sumPrefix(d, "unet_poller_polls_skipped_total")
			f.retries = d["unet_poller_retries_total"]
			f.timeouts = d["unet_poller_timeouts_total"]
			if r.done != nil && k < len(r.done.Windows) {
				f.attr = &r.done.Windows[k]
			}
		}
		if f.wall > 0 {
			f.pollsPerS, f.varbindsPerS, f.cores, f.simCores = f.polls/f.wall, f.varbinds/f.wall, f.cpu/f.wall, f.simCPU/f.wall
		}
		if f.polls > 0 {
			f.cpuPer1k = f.cpu / f.polls * 1000
		}
		r.figs = append(r.figs, f)
		prev = t
	}
}

// measured returns the windows after the warm-up.
func (r *phaseResult) measured() []windowFig {
	if len(r.figs) <= r.warm {
		return nil
	}
	return r.figs[r.warm:]
}

// stats are a phase's summary figures.
type stats struct {
	windows                                       int
	pollsPerS, varbindsPerS, cores, cpuPer1k, sim float64 // medians over measured windows
	meanCPUPer1k                                  float64 // total CPU / total polls over measured windows
	meanCores                                     float64 // total CPU / total wall time of the measured windows
	maxCores                                      float64
	maxCoresWindow                                int
	rss                                           int64 // median VmRSS at the measured ticks
	hwm                                           int64 // VmHWM at the end
	varbindsPerPoll                               float64
	polls                                         float64
}

func (r *phaseResult) stats() stats {
	ms := r.measured()
	s := stats{windows: len(ms), hwm: r.final.agent.hwm}
	var polls, cpu, vb []float64
	var rss []float64
	var totPolls, totCPU, totVB, totWall float64
	for _, f := range ms {
		totWall += f.wall
		polls = append(polls, f.pollsPerS)
		vb = append(vb, f.varbindsPerS)
		cpu = append(cpu, f.cores)
		rss = append(rss, float64(f.rss))
		totPolls += f.polls
		totCPU += f.cpu
		totVB += f.varbinds
		if f.cores > s.maxCores {
			s.maxCores, s.maxCoresWindow = f.cores, f.index
		}
	}
	var per1k, sim []float64
	for _, f := range ms {
		per1k = append(per1k, f.cpuPer1k)
		sim = append(sim, f.simCores)
	}
	s.pollsPerS, s.varbindsPerS, s.cores, s.cpuPer1k, s.sim = median(polls), median(vb), median(cpu), median(per1k), median(sim)
	s.rss = int64(median(rss))
	s.polls = totPolls
	if totWall > 0 {
		s.meanCores = totCPU / totWall
	}
	if totPolls > 0 {
		s.meanCPUPer1k = totCPU / totPolls * 1000
		s.varbindsPerPoll = totVB / totPolls
	}
	return s
}
