package poller

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// These tests poll the simulator over real UDP and check that each of its
// behaviours gives the right derived result or a clear error.

// device is a simulated device polled by hand: a target, the poller's
// memory of it and a Deriver, as the scheduler and the agent would hold.
type simDevice struct {
	t   *testing.T
	p   *Poller
	sim *snmpsim.Simulator
	dev *snmpsim.Device
	tgt Target
	mem *memory
	d   *derive.Deriver
}

func newSimDevice(t *testing.T, base string, change func(*snmpsim.Profile), prof func(int) model.SNMPProfile) *simDevice {
	t.Helper()
	sim := startSim(t, simConfig(base, 1, func(p *snmpsim.Profile) {
		p.Vendor = model.VendorCisco
		p.V3 = &v3User
		if change != nil {
			change(p)
		}
	}))
	p, _ := newTestPoller(t, DefaultConfig(), nil)
	tgt := targets(sim, prof(sim.Port()))[0]
	return &simDevice{t: t, p: p, sim: sim, dev: sim.DeviceAt(0), tgt: tgt, mem: newMemory(), d: derive.New(tgt.Node)}
}

// poll polls the device once and derives the result.
func (s *simDevice) poll() (Result, derive.Output) {
	s.t.Helper()
	r := s.p.poll(context.Background(), &s.tgt, s.mem, false)
	if r.Reason == "panic" {
		s.t.Fatalf("poll panicked: %v", r.Poll.Err)
	}
	return r, s.d.Update(r.Poll)
}

// mustPoll polls and fails the test on a failed poll.
func (s *simDevice) mustPoll() derive.Output {
	s.t.Helper()
	r, out := s.poll()
	if r.Poll.Err != nil {
		s.t.Fatalf("poll: %v (%s)", r.Poll.Err, r.Reason)
	}
	return out
}

// tick waits long enough for sysUpTime (hundredths) and counters to move.
func tick() { time.Sleep(300 * time.Millisecond) }

func TestBehaviourReboot(t *testing.T) {
	t.Parallel()
	s := newSimDevice(t, "127.11.0.1", nil, v2cProfile)
	s.mustPoll()
	tick()
	s.mustPoll()
	s.dev.TriggerReboot()
	tick()
	out := s.mustPoll()
	var reboots int
	for _, e := range out.Events {
		if e.Kind == model.EventReboot {
			reboots++
			if e.Time.After(time.Now()) || time.Since(e.Time) > 5*time.Second {
				t.Errorf("reboot dated %s", e.Time)
			}
		}
	}
	if reboots != 1 {
		t.Errorf("events %+v: want one reboot", out.Events)
	}
	for _, smp := range out.Samples {
		if !smp.Discontinuity || smp.InBps != nil || smp.OutBps != nil {
			t.Fatalf("sample across a reboot = %+v: want a discontinuity, no rate", smp)
		}
	}
	if out.State.UptimeSeconds > 5 {
		t.Errorf("uptime %d s after a reboot", out.State.UptimeSeconds)
	}
	// The next interval has rates again, and none is a spike.
	tick()
	out = s.mustPoll()
	for _, ifc := range out.State.Interfaces {
		if ifc.InBps == nil || *ifc.InBps < 0 || *ifc.InBps > 1.2*float64(ifc.SpeedBps) {
			t.Errorf("%s after the reboot: in_bps %v", ifc.Name, val(ifc.InBps))
		}
	}
}

func val(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestBehaviourFlap(t *testing.T) {
	t.Parallel()
	s := newSimDevice(t, "127.11.1.1", func(p *snmpsim.Profile) { p.DownFraction, p.AdminDownFraction = 0, 0 }, v2cProfile)
	out := s.mustPoll()
	ifc := out.State.Interfaces[3]
	if ifc.OperStatus != model.IfUp {
		t.Fatalf("interface %s is %s", ifc.Name, ifc.OperStatus)
	}
	tick()
	before := time.Now()
	if err := s.dev.Flap(ifc.Index); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	tick()
	out = s.mustPoll()
	want := []string{fmt.Sprintf("oper_status %s up→down", ifc.Name)}
	checkEvents(t, out.Events, want, before, after)

	// Down and up again between two polls: a flap, dated by ifLastChange.
	tick()
	if err := s.dev.Flap(ifc.Index); err != nil {
		t.Fatal(err)
	}
	out = s.mustPoll() // up again
	checkEvents(t, out.Events, []string{fmt.Sprintf("oper_status %s down→up", ifc.Name)}, time.Time{}, time.Now())
	tick()
	s.dev.Flap(ifc.Index)
	time.Sleep(20 * time.Millisecond)
	before = time.Now()
	s.dev.Flap(ifc.Index)
	after = time.Now()
	tick()
	out = s.mustPoll()
	checkEvents(t, out.Events, []string{fmt.Sprintf("flap %s up→up", ifc.Name)}, before, after)
}

// checkEvents compares events with "kind name from→to" strings and checks
// that they are dated between from and to (to the hundredth of a second
// of sysUpTime).
func checkEvents(t *testing.T, events []model.Event, want []string, from, to time.Time) {
	t.Helper()
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s %s→%s", e.Kind, e.IfName, e.From, e.To))
		if e.Time.Before(from.Add(-20*time.Millisecond)) || e.Time.After(to.Add(20*time.Millisecond)) {
			t.Errorf("event %s dated %s, not within [%s, %s]", e.Kind, e.Time.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
		}
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestBehaviourWrap replays a device with 32-bit counters only (no
// ifXTable counters), running at 32 Gbit/s so that ifInOctets wraps about
// once a second, and checks the derived rate across the wraps.
func TestBehaviourWrap(t *testing.T) {
	t.Parallel()
	const rate = 4e9 // bytes/s: 2^32 in 1.07 s
	rec := fmt.Sprintf(`1.3.6.1.2.1.1.1.0|4|wrap test device
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10
1.3.6.1.2.1.1.3.0|67|0
1.3.6.1.2.1.1.5.0|4|wrapper
1.3.6.1.2.1.2.1.0|2|1
1.3.6.1.2.1.2.2.1.1.1|2|1
1.3.6.1.2.1.2.2.1.2.1|4|et-0/0/0
1.3.6.1.2.1.2.2.1.3.1|2|6
1.3.6.1.2.1.2.2.1.5.1|66|4294967295
1.3.6.1.2.1.2.2.1.7.1|2|1
1.3.6.1.2.1.2.2.1.8.1|2|1
1.3.6.1.2.1.2.2.1.10.1|65:numeric|initial=0,rate=%g,wrap=1
1.3.6.1.2.1.2.2.1.11.1|65:numeric|initial=0,rate=1000,wrap=1
1.3.6.1.2.1.2.2.1.16.1|65:numeric|initial=4294967000,rate=1000,wrap=1
1.3.6.1.2.1.31.1.1.1.1.1|4|et-0/0/0
1.3.6.1.2.1.31.1.1.1.15.1|66|100000
`, rate)
	recording, err := snmpsim.ParseRecording("wrap", strings.NewReader(rec))
	if err != nil {
		t.Fatal(err)
	}
	s := newSimDevice(t, "127.11.2.1", func(p *snmpsim.Profile) { p.Recording = recording }, v2cProfile)
	s.mustPoll()
	wraps, prev := 0, uint64(0)
	for i := 0; i < 3; i++ {
		time.Sleep(time.Second) // sysUpTime counts hundredths: 1 % at most
		out := s.mustPoll()
		smp := out.Samples[0]
		if smp.Counter64 || smp.Discontinuity {
			t.Fatalf("sample = %+v: want 32-bit counters, no discontinuity", smp)
		}
		if smp.InOctets < prev {
			wraps++
		}
		prev = smp.InOctets
		if got := val(smp.InBps); got == nil || math.Abs(*smp.InBps-8*rate)/(8*rate) > 0.03 {
			t.Errorf("poll %d: in_bps %v, want %g", i, got, 8*rate)
		}
		if got := val(smp.OutBps); got == nil || math.Abs(*smp.OutBps-8000) > 400 {
			t.Errorf("poll %d: out_bps %v across ifOutOctets' wrap, want 8000", i, got)
		}
	}
	if wraps == 0 {
		t.Errorf("ifInOctets never wrapped")
	}
	if !s.mem.no64 {
		t.Errorf("the poller did not notice the missing 64-bit counters")
	}
}

// TestBehaviourCounters32 reads the 32-bit counters of a device that has
// 64-bit ones too (Overrides.Counters32) and finds the same rates.
func TestBehaviourCounters32(t *testing.T) {
	t.Parallel()
	s := newSimDevice(t, "127.11.3.1", func(p *snmpsim.Profile) { p.Vendor = model.VendorLinux }, v2cProfile)
	s32 := *s
	s32.tgt.Overrides.Counters32 = true
	s32.mem, s32.d = newMemory(), derive.New(s.tgt.Node)
	s.mustPoll()
	s32.mustPoll()
	time.Sleep(time.Second)
	a, b := s.mustPoll(), s32.mustPoll()
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if !x.Counter64 || y.Counter64 {
			t.Fatalf("counter widths: %v and %v", x.Counter64, y.Counter64)
		}
		if x.InBps == nil || y.InBps == nil || math.Abs(*x.InBps-*y.InBps) > 0.05*max(*x.InBps, 1e4) {
			t.Errorf("%s: in_bps %v from 64-bit counters, %v from 32-bit", x.IfName, val(x.InBps), val(y.InBps))
		}
	}
}

// TestBehaviourFailures checks that each broken device fails with a clear
// reason and message.
func TestBehaviourFailures(t *testing.T) {
	retries := func(n int) *int { return &n }
	tests := []struct {
		name       string
		base       string
		change     func(*snmpsim.Profile)
		prof       func(int) model.SNMPProfile
		adjust     func(*Target)
		wantReason string
		wantMsg    string
	}{
		{name: "dead", base: "127.12.0.1", change: func(p *snmpsim.Profile) { p.Dead = true }, prof: v2cProfile,
			wantReason: "timeout", wantMsg: "timeout (device down or wrong community?)"},
		{name: "slow beyond the timeout", base: "127.12.1.1", change: func(p *snmpsim.Profile) { p.Delay = 400 * time.Millisecond }, prof: v2cProfile,
			adjust: func(t *Target) { t.Overrides.Timeout = 100 * time.Millisecond }, wantReason: "timeout", wantMsg: "timeout"},
		{name: "wrong community", base: "127.12.2.1", prof: v2cProfile,
			adjust: func(t *Target) { t.Profile.Community = "private" }, wantReason: "timeout", wantMsg: "wrong community?"},
		{name: "truncated responses", base: "127.12.3.1", change: func(p *snmpsim.Profile) { p.Malformed = snmpsim.MalformTruncated }, prof: v2cProfile,
			wantReason: "malformed", wantMsg: "malformed"},
		{name: "corrupt responses", base: "127.12.4.1", change: func(p *snmpsim.Profile) { p.Malformed = snmpsim.MalformCorrupt }, prof: v2cProfile,
			wantReason: "malformed", wantMsg: "malformed"},
		{name: "v3 wrong privacy key", base: "127.12.5.1", prof: v3Profile,
			adjust: func(t *Target) { t.Profile.PrivKey = "wrongpriv123" }, wantReason: "timeout", wantMsg: "timeout (wrong v3 keys?)"},
		{name: "v3 wrong auth key", base: "127.12.6.1", prof: v3Profile,
			adjust: func(t *Target) { t.Profile.AuthKey = "wrongauth123" }, wantReason: "auth", wantMsg: "authentication failed"},
		{name: "v3 unknown user", base: "127.12.7.1", prof: v3Profile,
			adjust: func(t *Target) { t.Profile.User = "nobody" }, wantReason: "auth", wantMsg: "authentication failed"},
		{name: "v3 dead", base: "127.12.8.1", change: func(p *snmpsim.Profile) { p.Dead = true }, prof: v3Profile,
			wantReason: "timeout", wantMsg: "timeout (device down?)"},
		{name: "nothing listens", base: "127.12.9.1", prof: v2cProfile,
			adjust: func(t *Target) { t.Profile.Port = 9; t.Overrides.Retries = retries(0) }, wantReason: "refused", wantMsg: "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSimDevice(t, tc.base, tc.change, tc.prof)
			if tc.adjust != nil {
				tc.adjust(&s.tgt)
			}
			r, out := s.poll()
			if r.Reason != tc.wantReason || r.Poll.Err == nil || !strings.Contains(r.Poll.Err.Error(), tc.wantMsg) {
				t.Fatalf("reason %q err %v, want %q with %q", r.Reason, r.Poll.Err, tc.wantReason, tc.wantMsg)
			}
			if out.State.Reachable || out.State.Error != r.Poll.Err.Error() || len(out.Samples) != 0 {
				t.Errorf("derived state of a failed poll = %+v", out.State)
			}
			if strings.Contains(r.Poll.Err.Error(), "\n") || len(r.Poll.Err.Error()) > 200 {
				t.Errorf("error is not one clear line: %q", r.Poll.Err)
			}
		})
	}
}

// TestBehaviourSlowAndLossy: a slow device within the timeout and a lossy
// one with retries are polled fine; the retries show.
func TestBehaviourSlowAndLossy(t *testing.T) {
	t.Parallel()
	slow := newSimDevice(t, "127.13.0.1", func(p *snmpsim.Profile) { p.Delay = 50 * time.Millisecond }, v3Profile)
	if out := slow.mustPoll(); len(out.State.Interfaces) != 48 {
		t.Errorf("%d interfaces", len(out.State.Interfaces))
	}
	lossy := newSimDevice(t, "127.13.1.1", func(p *snmpsim.Profile) { p.DropRate = 0.3 }, v2cProfile)
	n := 10
	lossy.tgt.Overrides.Retries = &n
	lossy.tgt.Overrides.Timeout = 50 * time.Millisecond
	var retried int
	for i := 0; i < 5; i++ {
		r, _ := lossy.poll()
		if r.Poll.Err != nil {
			t.Fatalf("lossy device: %v", r.Poll.Err)
		}
		retried += r.Retries
	}
	if retried == 0 {
		t.Errorf("no retry against a device that drops 30%% of requests")
	}
}

// TestBehaviourSmallResponses: a device whose responses hold ~1400 bytes
// cuts every GetBulk short; the walk still reads every row, and the
// truncation is counted.
func TestBehaviourSmallResponses(t *testing.T) {
	t.Parallel()
	s := newSimDevice(t, "127.13.2.1", func(p *snmpsim.Profile) { p.MaxResponseSize = 1400 }, v2cProfile)
	r, out := s.poll()
	if r.Poll.Err != nil {
		t.Fatal(r.Poll.Err)
	}
	if r.Truncated == 0 {
		t.Errorf("no truncation counted in %d requests", r.Requests)
	}
	for _, ifc := range out.State.Interfaces {
		if ifc.Name == "" || ifc.Alias == "" && strings.HasPrefix(ifc.Name, "Te") {
			t.Errorf("interface %+v incomplete", ifc)
		}
	}
	for _, smp := range out.Samples {
		if smp.InOctets == 0 && smp.OperStatus == model.IfUp {
			t.Errorf("%s: counters missing", smp.IfName)
		}
	}
	if len(out.State.Interfaces) != 48 {
		t.Errorf("%d interfaces", len(out.State.Interfaces))
	}
}

// TestLabelRefresh: labels are read on the first poll, every LabelEvery
// polls and after a reboot, not in between.
func TestLabelRefresh(t *testing.T) {
	t.Parallel()
	s := newSimDevice(t, "127.13.3.1", nil, v2cProfile)
	var labels []bool
	for i := 0; i < 12; i++ {
		if i == 5 {
			s.dev.TriggerReboot()
			time.Sleep(20 * time.Millisecond)
		}
		r, _ := s.poll()
		if r.Poll.Err != nil {
			t.Fatal(r.Poll.Err)
		}
		labels = append(labels, r.Poll.Labels)
	}
	// Poll 0 reads everything; the reboot seen at poll 5 reads labels
	// there, and the count restarts from it.
	want := []bool{true, false, false, false, false, true, false, false, false, false, false, false}
	if fmt.Sprint(labels) != fmt.Sprint(want) {
		t.Errorf("labels read at polls %v, want %v", labels, want)
	}
}
