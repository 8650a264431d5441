package derive

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/model"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

const allCounters64 = FieldHCInOctets | FieldHCOutOctets | FieldHCInPkts | FieldHCOutPkts |
	FieldInErrors | FieldOutErrors | FieldInDiscards | FieldOutDiscards

const allCounters32 = FieldInOctets | FieldOutOctets | FieldInPkts | FieldOutPkts |
	FieldInErrors | FieldOutErrors | FieldInDiscards | FieldOutDiscards

// poll builds a successful poll at t0+at with sysUpTime uptime (ticks).
func poll(at time.Duration, uptime uint32, ifs ...Interface) Poll {
	return Poll{Node: "r1", Time: t0.Add(at), HaveUptime: true, Uptime: uptime, Interfaces: ifs, Labels: true}
}

// up is an interface that is up, 1 Gbit/s, with the given 64-bit octets.
func up(index int, in, out uint64) Interface {
	return Interface{
		Index: index, Has: FieldName | FieldAdminStatus | FieldOperStatus | FieldHighSpeed | allCounters64,
		Name: "ge-0/0/" + string(rune('0'+index)), HighSpeed: 1000, AdminStatus: 1, OperStatus: 1,
		HCInOctets: in, HCOutOctets: out,
	}
}

// c32 is an interface with 32-bit counters only.
func c32(index int, speedMbps uint64, in, out uint32) Interface {
	return Interface{
		Index: index, Has: FieldName | FieldAdminStatus | FieldOperStatus | FieldHighSpeed | allCounters32,
		Name: "eth", HighSpeed: speedMbps, AdminStatus: 1, OperStatus: 1, InOctets: in, OutOctets: out,
	}
}

func with(f Interface, change func(*Interface)) Interface {
	change(&f)
	return f
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestRates feeds two polls and checks the second one's rates.
func TestRates(t *testing.T) {
	const minute = 6000 // ticks
	tests := []struct {
		name     string
		a, b     Poll
		wantDisc bool
		wantIn   float64 // NaN: no rate
		wantOut  float64
		wantDt   float64
		reboot   bool
	}{
		{
			name:    "64-bit counters",
			a:       poll(0, 100_000, up(1, 1_000_000, 2_000_000)),
			b:       poll(time.Minute, 100_000+minute, up(1, 1_000_000+75_000_000, 2_000_000+7_500_000)),
			wantIn:  10_000_000,
			wantOut: 1_000_000,
			wantDt:  60,
		},
		{
			name: "device time, not wall clock: the poll answered 1.5 s late",
			a:    poll(0, 100_000, up(1, 0, 0)),
			// Counters and sysUpTime were read 60 s apart on the device;
			// the response took 1.5 s longer to arrive than the first.
			b:       poll(61500*time.Millisecond, 100_000+minute, up(1, 75_000_000, 0)),
			wantIn:  10_000_000,
			wantOut: 0,
			wantDt:  60,
		},
		{
			name:    "sysUpTime wraps at 2^32: not a reboot",
			a:       poll(0, math.MaxUint32-2999, up(1, 0, 0)),
			b:       poll(time.Minute, minute-3000, up(1, 75_000_000, 0)),
			wantIn:  10_000_000,
			wantOut: 0,
			wantDt:  60,
		},
		{
			name:    "32-bit counter wraps",
			a:       poll(0, 100_000, c32(1, 1000, math.MaxUint32-999, 10)),
			b:       poll(time.Minute, 100_000+minute, c32(1, 1000, 74_999_000, 20)),
			wantIn:  10_000_000,
			wantOut: 80.0 / 60,
			wantDt:  60,
		},
		{
			name: "32-bit counter goes back beyond what the speed allows: reset",
			// 10 Mbit/s for 60 s is 75 MB at most; a wrap would mean 4 GB.
			a:        poll(0, 100_000, c32(1, 10, 3_000_000_000, 10)),
			b:        poll(time.Minute, 100_000+minute, c32(1, 10, 5_000, 20)),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(),
		},
		{
			name:     "32-bit counter goes back a little, no speed: reset",
			a:        poll(0, 100_000, with(c32(1, 0, 5_000, 10), func(f *Interface) { f.Has &^= FieldHighSpeed })),
			b:        poll(time.Minute, 100_000+minute, with(c32(1, 0, 4_000, 20), func(f *Interface) { f.Has &^= FieldHighSpeed })),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(),
		},
		{
			name:     "64-bit counter goes back: reset, not 2^64",
			a:        poll(0, 100_000, up(1, 9_000_000_000, 10)),
			b:        poll(time.Minute, 100_000+minute, up(1, 1_000, 20)),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(),
		},
		{
			name:     "reboot: sysUpTime went back",
			a:        poll(0, 100_000_000, up(1, 9_000_000_000, 9_000_000_000)),
			b:        poll(time.Minute, 3000, up(1, 1_000_000, 2_000_000)),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(), reboot: true,
		},
		{
			name: "reboot between polls of a young device: up 20 s, polled 60 s apart",
			// Counters grew past their old values again: only the uptime tells.
			a:        poll(0, 1_000, up(1, 1_000, 1_000)),
			b:        poll(time.Minute, 2_000, up(1, 9_000_000, 9_000_000)),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(), reboot: true,
		},
		{
			name:     "SNMPv3 engine boots went up",
			a:        with2(poll(0, 100_000, up(1, 0, 0)), func(p *Poll) { p.EngineBoots = 7 }),
			b:        with2(poll(time.Minute, 100_000+minute, up(1, 1, 1)), func(p *Poll) { p.EngineBoots = 8 }),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(), reboot: true,
		},
		{
			name: "ifCounterDiscontinuityTime changed",
			a: poll(0, 100_000, with(up(1, 1_000, 1_000), func(f *Interface) {
				f.Has |= FieldDiscontinuityTime
				f.DiscontinuityTime = 0
			})),
			b: poll(time.Minute, 100_000+minute, with(up(1, 9_000_000, 9_000_000), func(f *Interface) {
				f.Has |= FieldDiscontinuityTime
				f.DiscontinuityTime = 100_000 + 3000
			})),
			wantDisc: true, wantIn: math.NaN(), wantOut: math.NaN(),
		},
		{
			name:    "64-bit counters appear: no rate mixing 32 and 64 bits",
			a:       poll(0, 100_000, c32(1, 1000, 1_000, 1_000)),
			b:       poll(time.Minute, 100_000+minute, with(up(1, 9_000_000, 9_000_000), func(f *Interface) { f.Has |= allCounters32; f.InOctets = 76_001_000; f.OutOctets = 1_000 })),
			wantIn:  76_000_000 * 8 / 60.0,
			wantOut: 0,
			wantDt:  60,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New("r1")
			d.Update(tc.a)
			out := d.Update(tc.b)
			if len(out.Samples) != 1 {
				t.Fatalf("got %d samples, want 1", len(out.Samples))
			}
			s := out.Samples[0]
			if s.Discontinuity != tc.wantDisc {
				t.Errorf("discontinuity = %v, want %v", s.Discontinuity, tc.wantDisc)
			}
			checkRate(t, "in_bps", s.InBps, tc.wantIn)
			checkRate(t, "out_bps", s.OutBps, tc.wantOut)
			if !math.IsNaN(tc.wantIn) && math.Abs(s.IntervalSeconds-tc.wantDt) > 1e-9 {
				t.Errorf("interval = %v s, want %v", s.IntervalSeconds, tc.wantDt)
			}
			for _, r := range []*float64{s.InBps, s.OutBps, s.InPps, s.OutPps, s.InErrorsRate, s.OutErrorsRate} {
				if r != nil && (*r < 0 || *r > 1e12) {
					t.Errorf("rate %v is negative or a spike", *r)
				}
			}
			// The state shows the same rates as the sample.
			checkRate(t, "state in_bps", out.State.Interfaces[0].InBps, tc.wantIn)
			var reboots []model.Event
			for _, e := range out.Events {
				if e.Kind == model.EventReboot {
					reboots = append(reboots, e)
				}
			}
			if (len(reboots) == 1) != tc.reboot || len(reboots) > 1 {
				t.Errorf("reboot events = %+v, want reboot %v", reboots, tc.reboot)
			}
		})
	}
}

func with2(p Poll, change func(*Poll)) Poll {
	change(&p)
	return p
}

func checkRate(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		t.Errorf("%s = %v, want no rate", name, *got)
	case !math.IsNaN(want) && got == nil:
		t.Errorf("%s missing, want %v", name, want)
	case !math.IsNaN(want) && math.Abs(*got-want) > 1e-6*math.Max(1, want):
		t.Errorf("%s = %v, want %v", name, *got, want)
	}
}

// TestAllRates checks every rate of an interface over one interval.
func TestAllRates(t *testing.T) {
	a := Interface{Index: 3, Has: FieldName | FieldHighSpeed | allCounters64, HighSpeed: 10_000}
	b := a
	b.HCInOctets, b.HCOutOctets, b.HCInPkts, b.HCOutPkts = 1250, 2500, 10, 20
	b.InErrors, b.OutErrors, b.InDiscards, b.OutDiscards = 1, 2, 3, 4
	d := New("r1")
	d.Update(poll(0, 500, a))
	out := d.Update(poll(10*time.Second, 1500, b))
	r := out.Samples[0].Rates
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"in_bps", r.InBps, 1000}, {"out_bps", r.OutBps, 2000}, {"in_pps", r.InPps, 1}, {"out_pps", r.OutPps, 2},
		{"in_errors", r.InErrorsRate, 0.1}, {"out_errors", r.OutErrorsRate, 0.2},
		{"in_discards", r.InDiscardsRate, 0.3}, {"out_discards", r.OutDiscardsRate, 0.4},
	} {
		checkRate(t, c.name, c.got, c.want)
	}
	s := out.Samples[0]
	if !s.Counter64 || s.InOctets != 1250 || s.OutDiscards != 4 || s.SpeedBps != 10_000_000_000 {
		t.Errorf("sample counters = %+v", s)
	}
}

// TestEvents checks the events of a sequence of polls.
func TestEvents(t *testing.T) {
	down := func(f Interface) Interface { f.OperStatus = 2; return f }
	lastChange := func(f Interface, ticks uint32) Interface {
		f.Has |= FieldLastChange
		f.LastChange = ticks
		return f
	}
	fail := func(at time.Duration) Poll {
		return Poll{Node: "r1", Time: t0.Add(at), Err: errors.New("timeout (device down or wrong community?)")}
	}
	type want struct {
		kind     model.EventKind
		at       time.Duration
		ifIndex  int
		from, to string
	}
	tests := []struct {
		name  string
		polls []Poll
		want  []want
	}{
		{
			name: "oper status down, dated by ifLastChange",
			polls: []Poll{
				poll(0, 100_000, lastChange(up(1, 0, 0), 50_000)),
				// Went down 20 s before the poll: uptime 106000, change at 104000.
				poll(time.Minute, 106_000, lastChange(down(up(1, 0, 0)), 104_000)),
				poll(2*time.Minute, 112_000, lastChange(up(1, 0, 0), 111_000)),
			},
			want: []want{
				{model.EventOperStatus, 40 * time.Second, 1, "up", "down"},
				{model.EventOperStatus, 110 * time.Second, 1, "down", "up"},
			},
		},
		{
			name: "oper status change without ifLastChange: the poll time",
			polls: []Poll{
				poll(0, 100_000, up(1, 0, 0)),
				poll(time.Minute, 106_000, down(up(1, 0, 0))),
			},
			want: []want{{model.EventOperStatus, time.Minute, 1, "up", "down"}},
		},
		{
			name: "flap between polls: same status, ifLastChange moved",
			polls: []Poll{
				poll(0, 100_000, lastChange(up(1, 0, 0), 50_000)),
				poll(time.Minute, 106_000, lastChange(up(1, 0, 0), 105_000)),
				poll(2*time.Minute, 112_000, lastChange(up(1, 0, 0), 105_000)),
			},
			want: []want{{model.EventFlap, 50 * time.Second, 1, "up", "up"}},
		},
		{
			name: "admin status",
			polls: []Poll{
				poll(0, 100_000, up(1, 0, 0)),
				poll(time.Minute, 106_000, with(down(up(1, 0, 0)), func(f *Interface) { f.AdminStatus = 2 })),
			},
			want: []want{
				{model.EventAdminStatus, time.Minute, 1, "up", "down"},
				{model.EventOperStatus, time.Minute, 1, "up", "down"},
			},
		},
		{
			name: "reachability: down then up; the first failure is a baseline",
			polls: []Poll{
				fail(0),
				poll(time.Minute, 100_000, up(1, 0, 0)),
				fail(2 * time.Minute),
				fail(3 * time.Minute),
				poll(4*time.Minute, 118_000, up(1, 0, 0)),
			},
			want: []want{
				{model.EventReachability, time.Minute, 0, "unreachable", "reachable"},
				{model.EventReachability, 2 * time.Minute, 0, "reachable", "unreachable"},
				{model.EventReachability, 4 * time.Minute, 0, "unreachable", "reachable"},
			},
		},
		{
			name: "reboot during an outage, dated at boot",
			polls: []Poll{
				poll(0, 100_000, up(1, 0, 0)),
				fail(time.Minute),
				poll(5*time.Minute, 3_000, up(1, 0, 0)),
			},
			want: []want{
				{model.EventReachability, time.Minute, 0, "reachable", "unreachable"},
				{model.EventReboot, 5*time.Minute - 30*time.Second, 0, "", ""},
				{model.EventReachability, 5 * time.Minute, 0, "unreachable", "reachable"},
			},
		},
		{
			name: "no flap reported across a reboot (ifLastChange restarts)",
			polls: []Poll{
				poll(0, 100_000, lastChange(up(1, 0, 0), 50_000)),
				poll(time.Minute, 4_000, lastChange(up(1, 0, 0), 1_500)),
			},
			want: []want{{model.EventReboot, 20 * time.Second, 0, "", ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New("r1")
			var got []model.Event
			for _, p := range tc.polls {
				got = append(got, d.Update(p).Events...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Kind != w.kind || !g.Time.Equal(t0.Add(w.at)) || g.IfIndex != w.ifIndex || g.From != w.from || g.To != w.to || g.Node != "r1" {
					t.Errorf("event %d = %+v, want %+v at %s", i, g, w, t0.Add(w.at))
				}
			}
		})
	}
}

// TestUnreachableState: a failed poll keeps the last values, drops rates.
func TestUnreachableState(t *testing.T) {
	d := New("r1")
	d.Update(poll(0, 100_000, up(1, 0, 0)))
	out := d.Update(poll(time.Minute, 106_000, up(1, 75_000_000, 0)))
	if out.State.Interfaces[0].InBps == nil {
		t.Fatal("no rate after the second poll")
	}
	out = d.Update(Poll{Node: "r1", Time: t0.Add(2 * time.Minute), Err: errors.New("timeout")})
	st := out.State
	if st.Reachable || st.Error != "timeout" || len(st.Interfaces) != 1 || st.Interfaces[0].Name == "" {
		t.Fatalf("state after a failure = %+v", st)
	}
	if st.Interfaces[0].InBps != nil || len(out.Samples) != 0 || out.Device.Reachable {
		t.Errorf("rates or samples while unreachable: %+v", out)
	}
	// Next success: the rate covers the whole gap.
	out = d.Update(poll(3*time.Minute, 118_000, up(1, 75_000_000+150_000_000, 0)))
	checkRate(t, "in_bps over the gap", out.Samples[0].InBps, 10_000_000)
}

// TestLabelsCarryOver: polls without labels keep the names seen before.
func TestLabelsCarryOver(t *testing.T) {
	d := New("r1")
	a := up(1, 0, 0)
	a.Has |= FieldDescr | FieldAlias | FieldType
	a.Descr, a.Alias, a.Type = "GigabitEthernet0/0/1", "to core", 6
	d.Update(poll(0, 100_000, a))
	b := Interface{Index: 1, Has: FieldAdminStatus | FieldOperStatus | allCounters64, AdminStatus: 1, OperStatus: 2}
	p := poll(time.Minute, 106_000, b)
	p.Labels = false
	out := d.Update(p)
	got := out.State.Interfaces[0]
	if got.Name != a.Name || got.Descr != a.Descr || got.Alias != "to core" || got.Type != "ethernetCsmacd" ||
		got.SpeedBps != 1_000_000_000 || got.OperStatus != model.IfDown {
		t.Errorf("interface = %+v", got)
	}
	// The sample repeats them: the collector's latest state is built from
	// samples.
	if s := out.Samples[0]; s.IfName != a.Name || s.Descr != a.Descr || s.Alias != "to core" || s.Type != "ethernetCsmacd" {
		t.Errorf("sample labels %q %q %q %q, want the state's", s.IfName, s.Descr, s.Alias, s.Type)
	}
}

// TestDeviceSampleSystem: a reachable device sample has the system group
// and vendor as the state has them, also from a poll that did not read
// the system group; a failed one has none.
func TestDeviceSampleSystem(t *testing.T) {
	d := New("r1")
	p := poll(0, 100_000, up(1, 0, 0))
	p.System = &System{Name: "r1.example.net", Descr: "Cisco IOS", ObjectID: "1.3.6.1.4.1.9.1.1"}
	p.Vendor = model.VendorCisco
	type sysGroup struct {
		SysName, SysDescr, SysObjectID string
		Vendor                         model.Vendor
	}
	want := sysGroup{"r1.example.net", "Cisco IOS", "1.3.6.1.4.1.9.1.1", model.VendorCisco}
	system := func(s model.DeviceSample) sysGroup {
		return sysGroup{s.SysName, s.SysDescr, s.SysObjectID, s.Vendor}
	}
	if got := system(d.Update(p).Device); got != want {
		t.Errorf("first poll's device sample has %+v, want %+v", got, want)
	}
	p = poll(time.Minute, 106_000, up(1, 0, 0))
	p.Labels, p.Vendor = false, model.VendorCisco
	out := d.Update(p)
	if got := system(out.Device); got != want {
		t.Errorf("device sample of a poll without the system group has %+v, want %+v", got, want)
	}
	if out.State.SysName != want.SysName || out.State.Vendor != want.Vendor {
		t.Errorf("state %+v", out.State)
	}
	out = d.Update(Poll{Node: "r1", Time: t0.Add(2 * time.Minute), Err: errors.New("timeout")})
	if got := system(out.Device); got != (sysGroup{}) {
		t.Errorf("failed poll's device sample has %+v", got)
	}
	if out.State.SysName != want.SysName {
		t.Errorf("state while unreachable lost the system group: %+v", out.State)
	}
}

// TestSpeedAndNames covers the fallbacks between ifSpeed/ifHighSpeed and
// ifName/ifDescr.
func TestSpeedAndNames(t *testing.T) {
	tests := []struct {
		name      string
		f         Interface
		wantSpeed uint64
		wantName  string
	}{
		{"ifSpeed exact below 4.29G", Interface{Has: FieldSpeed | FieldHighSpeed | FieldName, Speed: 1_544_000, HighSpeed: 2, Name: "t1"}, 1_544_000, "t1"},
		{"ifHighSpeed above 4.29G", Interface{Has: FieldSpeed | FieldHighSpeed, Speed: math.MaxUint32, HighSpeed: 100_000, Descr: "et-0/0/0"}, 100_000_000_000, "et-0/0/0"},
		{"ifHighSpeed only", Interface{Has: FieldHighSpeed | FieldName, HighSpeed: 10_000, Name: "xe-0"}, 10_000_000_000, "xe-0"},
		{"no speed", Interface{Has: FieldName, Name: "x"}, 0, "x"},
		{"garbage name", Interface{Has: FieldName, Name: "a\x00b\xff"}, 0, "a\uFFFDb\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New("r1")
			tc.f.Index = 1
			got := d.Update(poll(0, 1, tc.f)).State.Interfaces[0]
			if got.SpeedBps != tc.wantSpeed || got.Name != tc.wantName {
				t.Errorf("speed %d name %q, want %d %q", got.SpeedBps, got.Name, tc.wantSpeed, tc.wantName)
			}
		})
	}
}

// TestLLDP checks neighbour formatting, local port resolution and changes.
func TestLLDP(t *testing.T) {
	rem := func(port int, sys string, portID string) LLDPRemote {
		return LLDPRemote{LocalPortNum: port, ChassisIDSubtype: 4, ChassisID: []byte{0, 0x1b, 0x54, 0, 1, 0xab},
			PortIDSubtype: 5, PortID: []byte(portID), SysName: sys}
	}
	p := func(at time.Duration, rows ...LLDPRemote) Poll {
		q := poll(at, uint32(100_000+at/(10*time.Millisecond)), up(1, 0, 0), up(2, 0, 0), up(3, 0, 0))
		q.HaveLLDP, q.LLDP = true, rows
		return q
	}
	d := New("r1")
	out := d.Update(p(0, rem(1, "sw1", "Gi1/0/1"), rem(2, "sw2", "Gi1/0/2")))
	if len(out.Events) != 0 {
		t.Errorf("first LLDP read gave events %+v", out.Events)
	}
	n := out.State.LLDPNeighbors
	if len(n) != 2 || n[0].ChassisID != "00:1b:54:00:01:ab" || n[0].LocalPort != "ge-0/0/1" || n[0].LocalIfIndex != 1 || n[0].PortID != "Gi1/0/1" {
		t.Fatalf("neighbours = %+v", n)
	}
	// A poll without the LLDP table keeps the neighbours.
	q := poll(time.Minute, 106_000, up(1, 0, 0), up(2, 0, 0), up(3, 0, 0))
	if out = d.Update(q); len(out.State.LLDPNeighbors) != 2 || len(out.Events) != 0 {
		t.Fatalf("poll without LLDP: %+v", out)
	}
	// sw2 goes away, sw3 appears on port 3 (local port found by lldpLocPortId).
	r3 := rem(99, "sw3", "Ethernet1")
	r3.LocalPortID = "ge-0/0/3"
	out = d.Update(p(2*time.Minute, rem(1, "sw1", "Gi1/0/1"), r3))
	var kinds []string
	for _, e := range out.Events {
		kinds = append(kinds, string(e.Kind)+":"+e.IfName+":"+e.From+e.To)
	}
	sort.Strings(kinds)
	want := []string{"lldp_neighbor_added:ge-0/0/3:sw3", "lldp_neighbor_removed:ge-0/0/2:sw2"}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	// Every neighbour gone: an empty table is an answer.
	if out = d.Update(p(3 * time.Minute)); len(out.State.LLDPNeighbors) != 0 || len(out.Events) != 2 {
		t.Errorf("empty table: neighbours %v events %v", out.State.LLDPNeighbors, out.Events)
	}
}

func TestFormatID(t *testing.T) {
	tests := []struct {
		b        []byte
		mac, net bool
		want     string
	}{
		{[]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, true, false, "aa:bb:cc:dd:ee:ff"},
		{[]byte{1, 192, 0, 2, 1}, false, true, "192.0.2.1"},
		{[]byte("Gi1/0/1"), false, false, "Gi1/0/1"},
		{[]byte{0, 1, 2}, false, false, "000102"},
		{[]byte{1, 2}, true, false, "0102"},
		{nil, false, false, ""},
	}
	for _, tc := range tests {
		if got := formatID(tc.b, tc.mac, tc.net); got != tc.want {
			t.Errorf("formatID(%x) = %q, want %q", tc.b, got, tc.want)
		}
	}
}

// TestJSONShape pins the `--once -o json` form of a device state.
func TestJSONShape(t *testing.T) {
	d := New("r1")
	p := poll(0, 123_456, Interface{
		Index: 7, Has: FieldName | FieldDescr | FieldAlias | FieldType | FieldHighSpeed | FieldAdminStatus | FieldOperStatus | allCounters64,
		Name: "Gi0/7", Descr: "GigabitEthernet0/7", Alias: "uplink", Type: 6, HighSpeed: 1000, AdminStatus: 1, OperStatus: 7,
	})
	p.System = &System{Name: "r1.example.net", Descr: "Cisco IOS", ObjectID: "1.3.6.1.4.1.9.1.1"}
	first := d.Update(p).State
	b, err := json.Marshal([]model.DeviceState{first})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(mapKeys(got[0]))
	want := []string{"interfaces", "last_poll", "node", "reachable", "sys_descr", "sys_name", "sys_object_id", "uptime_seconds"}
	if !slices.Equal(keys, want) {
		t.Errorf("device keys %v, want %v", keys, want)
	}
	if got[0]["last_poll"] != "2025-03-14T09:00:00Z" || got[0]["uptime_seconds"] != 1234.0 || got[0]["reachable"] != true {
		t.Errorf("device = %v", got[0])
	}
	ifc := got[0]["interfaces"].([]any)[0].(map[string]any)
	keys = slices.Sorted(mapKeys(ifc))
	want = []string{"admin_status", "alias", "descr", "index", "name", "oper_status", "speed_bps", "type"}
	if !slices.Equal(keys, want) {
		t.Errorf("interface keys before a rate %v, want %v", keys, want)
	}
	if ifc["oper_status"] != "lowerLayerDown" || ifc["type"] != "ethernetCsmacd" || ifc["speed_bps"] != 1e9 || ifc["index"] != 7.0 {
		t.Errorf("interface = %v", ifc)
	}
	p.Time, p.Uptime, p.Labels = p.Time.Add(time.Minute), p.Uptime+6000, false
	second := d.Update(p).State
	b, _ = json.Marshal(second)
	if !strings.Contains(string(b), `"in_bps":0,"out_bps":0`) {
		t.Errorf("second poll lacks in_bps/out_bps: %s", b)
	}
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestInterfacesNeverNull: a device never reached still has an array.
func TestInterfacesNeverNull(t *testing.T) {
	out := New("r1").Update(Poll{Node: "r1", Time: t0, Err: errors.New("timeout")})
	b, _ := json.Marshal(out.State)
	if !strings.Contains(string(b), `"interfaces":[]`) || out.Events != nil {
		t.Errorf("state %s, events %v", b, out.Events)
	}
}
