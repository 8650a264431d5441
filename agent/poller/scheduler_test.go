package poller

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/shared/snmpsim"
)

// Scheduler tests use short intervals and count what happened; they wait
// for events with generous deadlines and never assert on speed.

func TestPhaseSpread(t *testing.T) {
	const interval = time.Minute
	buckets := make([]int, 60)
	for i := 0; i < 6000; i++ {
		name := fmt.Sprintf("sim-%05d", i)
		ph := phase(name, interval)
		if ph < 0 || ph >= interval {
			t.Fatalf("phase(%s) = %s, outside [0, %s)", name, ph, interval)
		}
		if ph != phase(name, interval) {
			t.Fatalf("phase(%s) is not deterministic", name)
		}
		buckets[ph/time.Second]++
	}
	// 100 per second on average; a thundering herd would pile them up.
	for s, n := range buckets {
		if n < 50 || n > 150 {
			t.Errorf("second %d of the minute has %d of 6000 devices", s, n)
		}
	}
	if phase("core-1", interval) == phase("core-2", interval) {
		t.Errorf("two names share a phase")
	}
}

func TestSlotAfter(t *testing.T) {
	iv, ph := 10*time.Second, 3*time.Second
	tests := []struct {
		now, want time.Time
	}{
		{time.Unix(0, 0), time.Unix(3, 0)},
		{time.Unix(3, 0), time.Unix(13, 0)}, // on a slot: the next one
		{time.Unix(12, 999), time.Unix(13, 0)},
		{time.Unix(1_700_000_000, 0), time.Unix(1_700_000_003, 0)},
		{time.Unix(-5, 0), time.Unix(3, 0)},
		{time.Unix(-8, 0), time.Unix(-7, 0)},
	}
	for _, tc := range tests {
		if got := slotAfter(tc.now, iv, ph); !got.Equal(tc.want) {
			t.Errorf("slotAfter(%d) = %d, want %d", tc.now.Unix(), got.Unix(), tc.want.Unix())
		}
	}
}

// tracker counts the sessions open at once, overall and per device,
// through the poller's connect hook.
type tracker struct {
	mu              sync.Mutex
	open, max       int
	perDevice       map[string]int
	overlapped      []string
	sessionsOpened  int
	maxPerDeviceAll int
}

func track(p *Poller) *tracker {
	tr := &tracker{perDevice: map[string]int{}}
	dial := p.dial
	p.dial = func(ctx context.Context, address string) (net.Conn, error) {
		conn, err := dial(ctx, address)
		if err != nil {
			return nil, err
		}
		target, _, _ := net.SplitHostPort(address)
		tr.mu.Lock()
		tr.open++
		tr.sessionsOpened++
		tr.max = max(tr.max, tr.open)
		tr.perDevice[target]++
		if tr.perDevice[target] > 1 {
			tr.overlapped = append(tr.overlapped, target)
		}
		tr.mu.Unlock()
		return &closeHook{Conn: conn, close: func() {
			tr.mu.Lock()
			tr.open--
			tr.perDevice[target]--
			tr.mu.Unlock()
		}}, nil
	}
	return tr
}

type closeHook struct {
	net.Conn
	once  sync.Once
	close func()
}

func (c *closeHook) Close() error {
	c.once.Do(c.close)
	return c.Conn.Close()
}

// TestSchedulerLimits overloads two workers with eight slow devices: the
// global limit holds, no device is polled twice at once, and the slots
// that cannot be served are skipped and counted instead of queued.
func TestSchedulerLimits(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.14.0.1", 8, func(p *snmpsim.Profile) { p.Delay = 15 * time.Millisecond }))
	cfg := DefaultConfig()
	cfg.Workers = 2
	col := newCollector()
	p, reg := newTestPoller(t, cfg, col.sink)
	tr := track(p)
	ts := targets(sim, v2cProfile(sim.Port()))
	for i := range ts {
		ts[i].Overrides.Interval = 100 * time.Millisecond
	}
	if err := p.SetTargets(ts); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.waitFor(t, "40 polls", func(rs []Result) bool { return len(rs) >= 40 })
	skipped := func() float64 {
		return metricValue(t, reg, "unet_poller_polls_skipped_total", map[string]string{"reason": "overrun"}) +
			metricValue(t, reg, "unet_poller_polls_skipped_total", map[string]string{"reason": "stale"})
	}
	deadline := time.Now().Add(30 * time.Second)
	for skipped() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop()

	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.max > cfg.Workers {
		t.Errorf("%d polls ran at once with %d workers", tr.max, cfg.Workers)
	}
	if len(tr.overlapped) > 0 {
		t.Errorf("devices polled twice at once: %v", tr.overlapped)
	}
	if skipped() == 0 {
		t.Errorf("an overloaded poller skipped no slot")
	}
	var skippedByDevice uint64
	for _, d := range p.Devices() {
		skippedByDevice += d.Skipped
	}
	if skippedByDevice == 0 {
		t.Errorf("no device counts a skipped slot")
	}
	rs := col.snapshot()
	for _, r := range rs {
		if r.Poll.Err != nil {
			t.Errorf("%s: %v", r.Poll.Node, r.Poll.Err)
		}
	}
	// The results of one device come in order.
	last := map[string]time.Time{}
	for _, r := range rs {
		if r.Poll.Time.Before(last[r.Poll.Node]) {
			t.Errorf("%s: results out of order", r.Poll.Node)
		}
		last[r.Poll.Node] = r.Poll.Time
	}
	if len(last) != len(ts) {
		t.Errorf("%d of %d devices polled: some starved", len(last), len(ts))
	}
	if n := metricValue(t, reg, "unet_poller_polls_total", map[string]string{"result": "success"}); int(n) < len(rs) {
		t.Errorf("polls_total{success} = %v, %d results", n, len(rs))
	}
	for _, m := range []string{"unet_poller_pdus_total", "unet_poller_varbinds_total", "unet_poller_poll_duration_seconds", "unet_poller_schedule_delay_seconds"} {
		if metricValue(t, reg, m, nil) == 0 {
			t.Errorf("%s is zero", m)
		}
	}
	if n := metricValue(t, reg, "unet_poller_polls_in_flight", nil); n != 0 {
		t.Errorf("%v polls in flight after Stop", n)
	}
}

// TestBreaker: a dead device is declared unreachable after
// BreakerFailures polls and polled at a back-off, without starving a
// healthy one; when it answers again, it is polled normally.
func TestBreaker(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.14.1.1", 2, nil))
	cfg := DefaultConfig()
	cfg.Workers = 1
	cfg.BreakerFailures = 2
	cfg.BreakerBackoff = 200 * time.Millisecond
	cfg.BreakerMaxBackoff = 400 * time.Millisecond
	col := newCollector()
	p, reg := newTestPoller(t, cfg, col.sink)
	ts := targets(sim, v2cProfile(sim.Port()))
	for i := range ts {
		ts[i].Overrides.Interval = 50 * time.Millisecond
		ts[i].Overrides.Timeout = 20 * time.Millisecond
	}
	dead, healthy := ts[0].Node, ts[1].Node
	sim.DeviceAt(0).SetDead(true)
	p.SetTargets(ts)
	p.Start(context.Background())
	defer p.Stop()

	col.waitFor(t, "the breaker to open", func([]Result) bool {
		for _, d := range p.Devices() {
			if d.Node == dead && d.Unreachable {
				return true
			}
		}
		return false
	})
	opened := byNode(col.snapshot(), healthy)
	deadBefore := len(byNode(col.snapshot(), dead))
	rs := col.waitFor(t, "30 more polls of the healthy device", func(rs []Result) bool {
		return len(byNode(rs, healthy)) >= len(opened)+30
	})
	deadPolls := len(byNode(rs, dead)) - deadBefore
	if deadPolls*3 > 30 {
		t.Errorf("the dead device was polled %d times while the healthy one was polled 30 times", deadPolls)
	}
	for _, r := range byNode(rs, dead) {
		if r.Reason != "timeout" {
			t.Errorf("dead device: reason %q", r.Reason)
		}
	}
	if n := metricValue(t, reg, "unet_poller_targets_unreachable", nil); n != 1 {
		t.Errorf("targets_unreachable = %v", n)
	}
	if n := metricValue(t, reg, "unet_poller_breaker_opened_total", nil); n != 1 {
		t.Errorf("breaker_opened_total = %v", n)
	}
	if metricValue(t, reg, "unet_poller_polls_skipped_total", map[string]string{"reason": "breaker"}) == 0 {
		t.Errorf("no slot skipped by the breaker")
	}

	sim.DeviceAt(0).SetDead(false)
	col.waitFor(t, "the device to answer again", func(rs []Result) bool {
		r := byNode(rs, dead)
		return len(r) > 0 && r[len(r)-1].Poll.Err == nil
	})
	for _, d := range p.Devices() {
		if d.Node == dead && (d.Unreachable || d.Consecutive != 0) {
			t.Errorf("after recovery: %+v", d)
		}
	}
	if n := metricValue(t, reg, "unet_poller_targets_unreachable", nil); n != 0 {
		t.Errorf("targets_unreachable = %v after recovery", n)
	}
}

// TestSetTargetsLive adds, removes and changes devices while polling.
func TestSetTargetsLive(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.14.2.1", 3, nil))
	col := newCollector()
	cfg := DefaultConfig()
	cfg.BreakerFailures = 100
	p, reg := newTestPoller(t, cfg, col.sink)
	ts := targets(sim, v2cProfile(sim.Port()))
	for i := range ts {
		ts[i].Overrides.Interval = 50 * time.Millisecond
	}
	a, b, c := ts[0], ts[1], ts[2]
	if err := p.SetTargets([]Target{a, b}); err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	defer p.Stop()
	col.waitFor(t, "a and b", func(rs []Result) bool { return len(byNode(rs, a.Node)) >= 2 && len(byNode(rs, b.Node)) >= 2 })

	// Remove a, add c, and give b a wrong community: it fails from now on.
	b2 := b
	b2.Profile.Community = "wrong"
	b2.Overrides.Timeout = 20 * time.Millisecond
	bad := Target{Node: "", Address: "127.14.2.9", Profile: b.Profile}
	err := p.SetTargets([]Target{b2, c, bad})
	if err == nil || !strings.Contains(err.Error(), "node name is empty") {
		t.Errorf("SetTargets with an invalid target: %v", err)
	}
	aCount := len(byNode(col.snapshot(), a.Node))
	rs := col.waitFor(t, "c, and b failing", func(rs []Result) bool {
		rb := byNode(rs, b.Node)
		return len(byNode(rs, c.Node)) >= 3 && len(rb) > 0 && rb[len(rb)-1].Reason == "timeout"
	})
	if n := len(byNode(rs, a.Node)); n > aCount+1 {
		t.Errorf("a was polled %d more times after its removal", n-aCount)
	}
	if n := metricValue(t, reg, "unet_poller_targets", nil); n != 2 {
		t.Errorf("targets gauge = %v", n)
	}
	if err := p.SetTargets(nil); err != nil {
		t.Fatal(err)
	}
	if len(p.Devices()) != 0 {
		t.Errorf("devices left: %+v", p.Devices())
	}
}

// TestStop: no result reaches the sink after Stop returns.
func TestStop(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.14.3.1", 4, func(p *snmpsim.Profile) { p.Delay = 20 * time.Millisecond }))
	var stopped atomic.Bool
	var late atomic.Int32
	col := newCollector()
	p, _ := newTestPoller(t, DefaultConfig(), func(r Result) {
		if stopped.Load() {
			late.Add(1)
		}
		col.sink(r)
	})
	ts := targets(sim, v2cProfile(sim.Port()))
	for i := range ts {
		ts[i].Overrides.Interval = 30 * time.Millisecond
	}
	p.SetTargets(ts)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil {
		t.Error("a second Start did not fail")
	}
	col.waitFor(t, "some polls", func(rs []Result) bool { return len(rs) >= 8 })
	p.Stop()
	stopped.Store(true)
	time.Sleep(100 * time.Millisecond)
	if late.Load() != 0 {
		t.Errorf("%d results after Stop", late.Load())
	}
	for _, r := range col.snapshot() {
		if r.Reason == "canceled" {
			t.Errorf("a canceled poll reached the sink")
		}
	}
	p.Stop() // twice is fine
}

// TestMisbehaviourTopN: only the worst devices get a series.
func TestMisbehaviourTopN(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MisbehaviourTopN = 2
	p, reg := newTestPoller(t, cfg, nil)
	now := time.Now()
	for i, n := range []int{5, 0, 9, 1, 7} {
		d := newDevice(Target{Node: fmt.Sprintf("dev-%d", i), Address: "127.0.0.1", Profile: v2cProfile(161)})
		for k := 0; k < n; k++ {
			d.mis.record(&Result{Reason: "timeout", Truncated: 1}, now)
		}
		p.devices[d.target.Node] = d
	}
	old := newDevice(Target{Node: "old", Address: "127.0.0.1", Profile: v2cProfile(161)})
	for k := 0; k < 100; k++ {
		old.mis.record(&Result{Reason: "malformed"}, now.Add(-2*cfg.MisbehaviourWindow))
	}
	p.devices["old"] = old

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var series []string
	for _, mf := range mfs {
		if mf.GetName() != "unet_poller_device_misbehaviour_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			series = append(series, fmt.Sprintf("%s/%s=%v", labels["node"], labels["kind"], m.GetCounter().GetValue()))
		}
	}
	slices.Sort(series)
	want := []string{"dev-2/timeout=9", "dev-2/truncated=9", "dev-4/timeout=7", "dev-4/truncated=7"}
	if !slices.Equal(series, want) {
		t.Errorf("series %v, want %v", series, want)
	}
}

// TestNoDefaultRegistry: the poller registers nothing globally, and two
// pollers can share a process.
func TestNoDefaultRegistry(t *testing.T) {
	before, _ := prometheus.DefaultGatherer.Gather()
	newTestPoller(t, DefaultConfig(), nil)
	newTestPoller(t, DefaultConfig(), nil)
	p, err := New(DefaultConfig(), Dependencies{})
	if err != nil || p == nil {
		t.Fatal(err)
	}
	after, _ := prometheus.DefaultGatherer.Gather()
	if len(after) != len(before) {
		t.Errorf("the default registry went from %d to %d families", len(before), len(after))
	}
}
