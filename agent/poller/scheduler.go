package poller

import (
	"container/heap"
	"context"
	"hash/fnv"
	"reflect"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
)

// device is a scheduled device. Its fields are guarded by Poller.mu,
// except mem, which belongs to the one job that holds busy.
type device struct {
	target   Target
	interval time.Duration
	phase    time.Duration
	next     time.Time // the next slot
	index    int       // in the schedule heap, -1 when out
	busy     bool      // a job is queued or running
	removed  bool
	resetMem bool // forget mem before the next poll (the target changed)
	mem      *memory

	// Circuit breaker.
	consecutive int
	open        bool
	openUntil   time.Time
	backoff     time.Duration

	polls, failures, skipped uint64
	lastReason               string
	mis                      misbehaviour
}

func newDevice(t Target) *device {
	iv := t.settings().interval
	return &device{target: t, interval: iv, phase: phase(t.Node, iv), index: -1, mem: newMemory()}
}

// update takes a new version of the target and reports whether the
// schedule must change.
func (d *device) update(t Target) bool {
	if !reflect.DeepEqual(identity(d.target), identity(t)) {
		d.resetMem = true
	}
	d.target = t
	iv := t.settings().interval
	if iv == d.interval {
		return false
	}
	d.interval, d.phase = iv, phase(t.Node, iv)
	return true
}

// identity is what makes a target the same device to the memory: where it
// is and how to talk to it, not the profile's name, revision or the
// polling overrides.
func identity(t Target) Target {
	t.Profile.Meta = model.Meta{}
	t.Profile.Name = ""
	t.Profile.SecretsSet = nil
	t.Profile.Normalize()
	t.Overrides = Overrides{Counters32: t.Overrides.Counters32}
	return t
}

// phase spreads devices over their interval by a hash of their name: the
// same name always polls at the same offset, on every agent and after
// every restart, and 10,000 names cover the interval evenly.
func phase(node string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(node))
	return time.Duration(h.Sum64() % uint64(interval))
}

// slotAfter returns the first slot strictly after now: slots are
// phase + k × interval from the Unix epoch.
func slotAfter(now time.Time, interval, phase time.Duration) time.Time {
	n, iv := now.UnixNano()-int64(phase), int64(interval)
	k := n / iv
	if n < 0 && n%iv != 0 {
		k-- // floor, not truncation
	}
	return time.Unix(0, (k+1)*iv+int64(phase))
}

// schedule is a min-heap of devices by next slot.
type schedule []*device

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].next.Before(s[j].next) }
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = i, j
}
func (s *schedule) Push(x any) {
	d := x.(*device)
	d.index = len(*s)
	*s = append(*s, d)
}
func (s *schedule) Pop() any {
	old := *s
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	d.index = -1
	return d
}

func (s *schedule) add(d *device, now time.Time) {
	d.next = slotAfter(now, d.interval, d.phase)
	heap.Push(s, d)
}

func (s *schedule) remove(d *device) {
	if d.index >= 0 {
		heap.Remove(s, d.index)
	}
}

func (s *schedule) reschedule(d *device, now time.Time) {
	d.next = slotAfter(now, d.interval, d.phase)
	if d.index >= 0 {
		heap.Fix(s, d.index)
	}
}

// job is a poll waiting for a worker.
type job struct {
	d   *device
	due time.Time
}

// schedule hands due devices to the workers until ctx ends.
func (p *Poller) schedule(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		now := time.Now()
		p.dispatch(now)
		wait := time.Hour
		if len(p.sched) > 0 {
			wait = max(0, p.sched[0].next.Sub(now))
		}
		p.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-p.wake:
		}
	}
}

// dispatch queues the devices whose slot has come. Called with mu held.
func (p *Poller) dispatch(now time.Time) {
	for len(p.sched) > 0 && !p.sched[0].next.After(now) {
		d := p.sched[0]
		due := d.next
		// The next slot after now: slots missed while the scheduler lagged
		// are not caught up, which would only make a burst.
		d.next = slotAfter(now, d.interval, d.phase)
		heap.Fix(&p.sched, 0)
		switch {
		case d.busy:
			// The previous poll is still queued or running: skip this
			// slot rather than queue a second poll behind it.
			d.skipped++
			p.m.skipped.WithLabelValues("overrun").Inc()
		case d.open && due.Before(d.openUntil):
			p.m.skipped.WithLabelValues("breaker").Inc()
		default:
			d.busy = true
			p.queue = append(p.queue, job{d, due})
			p.cond.Signal()
		}
	}
}

// work runs queued polls until the poller stops.
func (p *Poller) work(ctx context.Context) {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.stopped {
			p.cond.Wait()
		}
		if p.stopped {
			p.mu.Unlock()
			return
		}
		j := p.queue[0]
		p.queue[0] = job{}
		p.queue = p.queue[1:]
		d := j.d
		if d.removed {
			d.busy = false
			p.mu.Unlock()
			continue
		}
		if d.resetMem {
			d.mem, d.resetMem = newMemory(), false
		}
		t, mem, interval := d.target, d.mem, d.interval
		p.mu.Unlock()

		p.run(ctx, d, &t, mem, j.due, interval)
	}
}

// run polls one device for a job and accounts for the result.
func (p *Poller) run(ctx context.Context, d *device, t *Target, mem *memory, due time.Time, interval time.Duration) {
	start := time.Now()
	if !start.Before(due.Add(interval)) {
		// Waited for a worker until the next slot: that one is polled
		// (or skipped) in its own right.
		p.mu.Lock()
		d.busy = false
		d.skipped++
		p.mu.Unlock()
		p.m.skipped.WithLabelValues("stale").Inc()
		return
	}
	delay := start.Sub(due)
	p.m.delay.Observe(delay.Seconds())
	if delay > interval/10 {
		p.m.late.Inc()
	}
	// A poll may take one interval; one that takes longer makes the
	// device's next slot skipped (overrun), never queued.
	pctx, cancel := context.WithTimeout(ctx, interval)
	p.m.inFlight.Inc()
	res := p.poll(pctx, t, mem, false)
	p.m.inFlight.Dec()
	cancel()

	p.mu.Lock()
	d.busy = false
	if ctx.Err() != nil {
		// Stopping: a canceled poll says nothing about the device.
		p.mu.Unlock()
		return
	}
	removed := d.removed
	p.account(d, &res, interval)
	p.mu.Unlock()

	p.m.observe(&res)
	if !removed {
		p.sink(res)
	}
}

// account updates a device's breaker and counters. Called with mu held.
func (p *Poller) account(d *device, r *Result, interval time.Duration) {
	now := time.Now()
	d.polls++
	d.mis.record(r, now)
	if r.Reason == "" {
		if d.open {
			p.log.Info("device reachable again", "node", d.target.Node, "after_failures", d.consecutive)
		}
		d.consecutive, d.open, d.backoff, d.lastReason = 0, false, 0, ""
		return
	}
	d.failures++
	d.consecutive++
	d.lastReason = r.Reason
	if d.consecutive < p.cfg.BreakerFailures {
		return
	}
	limit := max(p.cfg.BreakerMaxBackoff, interval)
	switch {
	case !d.open:
		d.backoff = p.cfg.BreakerBackoff
		if d.backoff == 0 {
			d.backoff = 2 * interval
		}
		p.m.breakerOpen.Inc()
		p.log.Warn("device unreachable: backing off", "node", d.target.Node, "address", d.target.Address,
			"failures", d.consecutive, "reason", r.Reason, "err", r.Poll.Err, "backoff", min(d.backoff, limit))
	default:
		d.backoff *= 2
	}
	d.backoff = min(d.backoff, limit)
	d.open = true
	d.openUntil = now.Add(d.backoff)
}

// failedPoll is the Poll of a target that could not be polled at all.
func failedPoll(t Target, err error, at time.Time) derive.Poll {
	return derive.Poll{Node: t.Node, Address: t.Address, Time: at, Err: err}
}
