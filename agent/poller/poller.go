// Package poller polls devices over SNMP (v2c, v3 USM) on a schedule and
// hands the raw results to a sink, for agent/derive to turn into state.
//
//	p, err := poller.New(poller.DefaultConfig(), poller.Dependencies{
//		Logger: logger, Registry: registry, Sink: func(r poller.Result) { ... },
//	})
//	p.SetTargets(targets) // at any time: devices come, go and change
//	err = p.Start(ctx)
//	defer p.Stop()
//
// Each device is polled on its own interval at a phase derived from its
// name (hash-spread, so 10,000 devices on 60 s make a steady ~170 polls/s
// rather than a burst each minute), by a fixed pool of workers (one global
// concurrency limit), never twice at once. A device that fails
// BreakerFailures polls in a row is reported unreachable and polled at a
// growing back-off. A slot that comes while the device's previous poll is
// still queued or running is skipped and counted, never queued behind it.
//
// A poll reads only the columns it needs, side by side in the same
// GetBulk requests (see walk.go), the labels and the LLDP table every few
// polls only, each device at its own hash-spread offset in those cycles
// (see memory.go). SNMPv2c responses are decoded in place, without
// allocating (ber.go, client.go); SNMPv3 goes through gosnmp sessions,
// opened per poll (session.go).
//
// Metrics (prefix unet_poller_, on the registry given): polls_total
// {result}, poll_failures_total{reason}, timeouts_total, retries_total,
// pdus_total{type}, varbinds_total, response_anomalies_total{kind},
// poll_duration_seconds, schedule_delay_seconds, polls_in_flight,
// polls_skipped_total{reason}, polls_late_total, breaker_opened_total,
// targets, targets_unreachable, and device_misbehaviour_total{node,kind}
// for the worst Config.MisbehaviourTopN devices only.
package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus"
)

// Dependencies are what a Poller needs from its surroundings.
type Dependencies struct {
	// Logger for the poller's own events (never secrets). Nil discards.
	Logger *slog.Logger
	// Registry receives the poller's metrics. Nil keeps them private.
	Registry prometheus.Registerer
	// Sink receives every scheduled poll's result. It is called from the
	// workers: concurrently for different devices, in order and never
	// concurrently for one device. It should not block for long: a slow
	// sink holds a worker.
	Sink func(Result)
}

// Poller polls a changing set of devices.
type Poller struct {
	cfg  Config
	log  *slog.Logger
	sink func(Result)
	m    *metrics
	// connect opens a v3 session's socket, dial a v2c poll's; tests put
	// fake connections in. requestIDs makes a v2c poll's request ids.
	connect    func(*gosnmp.GoSNMP) error
	dial       func(ctx context.Context, address string) (net.Conn, error)
	requestIDs func() func() int32
	buffers    *sync.Pool // of *v2cBuffers

	mu      sync.Mutex
	cond    *sync.Cond // signals jobs and stopping, with mu
	devices map[string]*device
	sched   schedule
	queue   []job
	wake    chan struct{}
	started bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New creates a poller. It polls nothing before SetTargets and Start.
func New(cfg Config, deps Dependencies) (*Poller, error) {
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("poller configuration: %w", err)
	}
	cfg.ExtraOIDs = normalizeExtras(cfg.ExtraOIDs)
	p := &Poller{
		cfg:     cfg,
		log:     deps.Logger,
		sink:    deps.Sink,
		connect: (*gosnmp.GoSNMP).Connect,
		dial: func(ctx context.Context, address string) (net.Conn, error) {
			var d net.Dialer
			if cfg.SourceAddress != "" {
				d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(cfg.SourceAddress)}
			}
			return d.DialContext(ctx, "udp", address)
		},
		requestIDs: defaultRequestIDs,
		buffers:    newBufferPool(),
		devices:    map[string]*device{},
		wake:       make(chan struct{}, 1),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.sink == nil {
		p.sink = func(Result) {}
	}
	p.cond = sync.NewCond(&p.mu)
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg, p)
	if err != nil {
		return nil, fmt.Errorf("registering the poller's metrics: %w", err)
	}
	p.m = m
	return p, nil
}

// normalizeExtras copies the extra OIDs with OIDs in gosnmp's form.
func normalizeExtras(in map[string][]OIDSpec) map[string][]OIDSpec {
	out := make(map[string][]OIDSpec, len(in))
	for k, specs := range in {
		for _, s := range specs {
			s.OID, _ = parseOID(s.OID)
			out[k] = append(out[k], s)
		}
	}
	return out
}

// Start starts the scheduler and the workers; they run until Stop or
// until ctx ends.
func (p *Poller) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("poller already started")
	}
	p.started = true
	ctx, p.cancel = context.WithCancel(ctx)
	p.wg.Add(1 + p.cfg.Workers)
	go func() {
		defer p.wg.Done()
		p.schedule(ctx)
	}()
	for i := 0; i < p.cfg.Workers; i++ {
		go func() {
			defer p.wg.Done()
			p.work(ctx)
		}()
	}
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		p.stopped = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	p.log.Info("poller started", "workers", p.cfg.Workers, "targets", len(p.devices))
	return nil
}

// Stop cancels the polls in flight, drops their results, and returns when
// every worker is done: the sink is not called after Stop returns.
func (p *Poller) Stop() {
	p.mu.Lock()
	cancel := p.cancel
	p.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	p.wg.Wait()
}

// SetTargets replaces the set of devices to poll. New devices are polled
// from their next slot; removed ones stop (a poll in flight finishes, its
// result is dropped); changed ones keep their schedule, and forget what
// was learned about them when their address or SNMP profile changed.
// Invalid targets are left out and reported in the error; the others are
// applied.
func (p *Poller) SetTargets(targets []Target) error {
	var errs []error
	want := make(map[string]Target, len(targets))
	for _, t := range targets {
		if err := t.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := want[t.Node]; dup {
			errs = append(errs, fmt.Errorf("target %q: listed twice", t.Node))
			continue
		}
		want[t.Node] = t
	}
	p.mu.Lock()
	added, removed, changed := 0, 0, 0
	for name, d := range p.devices {
		if _, ok := want[name]; !ok {
			d.removed = true
			p.sched.remove(d)
			delete(p.devices, name)
			removed++
		}
	}
	for name, t := range want {
		d, ok := p.devices[name]
		if !ok {
			d = newDevice(t)
			p.devices[name] = d
			p.sched.add(d, time.Now())
			added++
			continue
		}
		if d.update(t) {
			changed++
			p.sched.reschedule(d, time.Now())
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	p.log.Info("targets set", "total", len(want), "added", added, "removed", removed, "changed", changed, "invalid", len(errs))
	return errors.Join(errs...)
}

// PollOnce polls targets once each, everything included (labels, LLDP),
// with the global concurrency limit, and returns their results in the
// order given. It does not touch the schedule and does not call the sink;
// a started poller can serve it alongside its schedule.
func (p *Poller) PollOnce(ctx context.Context, targets []Target) []Result {
	out := make([]Result, len(targets))
	sem := make(chan struct{}, p.cfg.Workers)
	var wg sync.WaitGroup
	for i := range targets {
		t := targets[i]
		if err := t.validate(); err != nil {
			out[i] = Result{Poll: failedPoll(t, err, time.Now()), Reason: "config"}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = Result{Poll: failedPoll(t, ctx.Err(), time.Now()), Reason: "canceled"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.m.inFlight.Inc()
			defer p.m.inFlight.Dec()
			pctx, cancel := context.WithTimeout(ctx, t.settings().interval)
			defer cancel()
			out[i] = p.poll(pctx, &t, newMemory(), true)
			p.m.observe(&out[i])
		}()
	}
	wg.Wait()
	return out
}

// DeviceStatus is what the poller knows of one scheduled device.
type DeviceStatus struct {
	Node        string
	Polls       uint64 // polls finished
	Failures    uint64 // of which failed
	Skipped     uint64 // slots skipped (overrun, stale)
	Consecutive int    // failures in a row
	Unreachable bool   // the breaker is open: polled at a back-off
	LastReason  string // the last failure's reason, "" after a success
}

// Devices returns the status of every scheduled device, by node name.
func (p *Poller) Devices() []DeviceStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]DeviceStatus, 0, len(p.devices))
	for _, name := range slices.Sorted(maps.Keys(p.devices)) {
		d := p.devices[name]
		out = append(out, DeviceStatus{
			Node: name, Polls: d.polls, Failures: d.failures, Skipped: d.skipped,
			Consecutive: d.consecutive, Unreachable: d.open, LastReason: d.lastReason,
		})
	}
	return out
}

// count returns the number of devices, or of unreachable ones.
func (p *Poller) count(unreachable bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !unreachable {
		return len(p.devices)
	}
	n := 0
	for _, d := range p.devices {
		if d.open {
			n++
		}
	}
	return n
}
