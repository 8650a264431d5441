package derive

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestIfaceSize: what a Deriver keeps per interface stays packed (an agent
// keeps ~500,000 of them; see BenchmarkRetained). 48 of them fill a size
// class (6912 bytes) exactly.
func TestIfaceSize(t *testing.T) {
	want := 136 + unsafe.Sizeof(int(0)) // the ifIndex: 144 on 64-bit
	if n := unsafe.Sizeof(iface{}); n != want {
		t.Errorf("iface is %d bytes, want %d", n, want)
	}
}

// TestCounterWidthSwitch: an interface keeps one set of octet and packet
// counters (64-bit when its row had them); a device that switches between
// 64-bit and 32-bit counters gets the rates it got when both sets were
// kept: 64-bit when both polls have them, 32-bit from both polls
// otherwise, none when the previous poll had no 32-bit ones.
func TestCounterWidthSwitch(t *testing.T) {
	const minute = 6000 // ticks
	nan := math.NaN()
	both := func(hc uint64, c uint32) Interface {
		return with(up(1, hc, hc), func(f *Interface) {
			f.Has |= FieldInOctets | FieldOutOctets | FieldInPkts | FieldOutPkts
			f.InOctets, f.OutOctets, f.InPkts, f.OutPkts = c, c, c, c
			f.HCInPkts, f.HCOutPkts = hc, hc
		})
	}
	only32 := func(c uint32) Interface {
		return with(c32(1, 1000, c, c), func(f *Interface) { f.InPkts, f.OutPkts = c, c })
	}
	only64 := func(hc uint64) Interface {
		return with(up(1, hc, hc), func(f *Interface) { f.HCInPkts, f.HCOutPkts = hc, hc })
	}
	for _, tc := range []struct {
		name     string
		a, b     Interface
		wantIn   float64 // bit/s; NaN: no rate
		wantPkts float64
	}{
		{"both then both: 64-bit", both(1e9, 1000), both(1e9+75e6, 1000+60), 10e6, 1.25e6},
		{"both then 32-bit: 32-bit", both(1e9, 1000), only32(1000 + 7500), 1000, 125},
		{"64-bit then 32-bit: none", only64(1e9), only32(1000 + 7500), nan, nan},
		{"32-bit then both: 32-bit", only32(1000), both(5e9, 1000+7500), 1000, 125},
		{"32-bit then 64-bit: none", only32(1000), only64(5e9), nan, nan},
		{"32-bit wrap then both", only32(1<<32 - 100), both(5e9, 7400), 1000, 125},
		{"both, 32-bit wrap, then 32-bit", both(1e9, 1<<32-100), only32(7400), 1000, 125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New("r1")
			d.Feed(poll(0, 100_000, tc.a))
			out := d.Update(poll(time.Minute, 100_000+minute, tc.b))
			s := out.Samples[0]
			if s.Discontinuity {
				t.Fatalf("discontinuity: %+v", s)
			}
			checkRate(t, "in_bps", s.InBps, tc.wantIn)
			checkRate(t, "in_pps", s.InPps, tc.wantPkts)
			checkRate(t, "state in_bps", out.State.Interfaces[0].InBps, tc.wantIn)
			checkRate(t, "state in_pps", out.State.Interfaces[0].InPps, tc.wantPkts)
			checkRate(t, "state in_errors_rate", out.State.Interfaces[0].InErrorsRate, 0)
		})
	}
}

// TestStateOnDemand: State after Feed is what Update returns, after any
// poll, and again when called twice.
func TestStateOnDemand(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for dev := range 50 {
		a, b := New(fmt.Sprint("dev-", dev)), New(fmt.Sprint("dev-", dev))
		for i, p := range randomPolls(rng, 40) {
			want := a.Update(p)
			got := b.Feed(p)
			if got.State.Node != "" {
				t.Fatalf("Feed filled State")
			}
			got.State = b.State()
			if !sameJSON(t, want, got) || !sameJSON(t, want.State, b.State()) {
				t.Fatalf("device %d poll %d: Feed+State differs from Update", dev, i)
			}
		}
	}
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// TestLabelsRepacked: interfaces that come, go and are renamed keep their
// own names across label and label-less polls.
func TestLabelsRepacked(t *testing.T) {
	named := func(idx int, name, descr, alias string) Interface {
		return with(up(idx, 0, 0), func(f *Interface) {
			f.Has |= FieldDescr | FieldAlias
			f.Name, f.Descr, f.Alias = name, descr, alias
		})
	}
	long := strings.Repeat("uplink ", 50) // a length over one uvarint byte
	d := New("r1")
	steps := []struct {
		labels bool
		ifs    []Interface
		want   map[int][3]string // name, descr, alias by ifIndex
	}{
		{true, []Interface{named(1, "a", "A", ""), named(2, "b", "B", "x")},
			map[int][3]string{1: {"a", "A", ""}, 2: {"b", "B", "x"}}},
		// Labels not read: a new interface is named all the same.
		{false, []Interface{named(3, "c", "C", long), named(1, "zz", "", ""), named(2, "", "", "")},
			map[int][3]string{1: {"a", "A", ""}, 2: {"b", "B", "x"}, 3: {"c", "C", long}}},
		// An interface gone, one renamed, rows repeated.
		{true, []Interface{named(3, "c", "C", long), named(2, "b2", "B", "y"), named(2, "b3", "", "")},
			map[int][3]string{2: {"b2", "B", "y"}, 3: {"c", "C", long}}},
		// Nothing changes: the labels string is kept.
		{true, []Interface{named(2, "b2", "B", "y"), named(3, "c", "C", long)},
			map[int][3]string{2: {"b2", "B", "y"}, 3: {"c", "C", long}}},
		// ifName missing: ifDescr names the interface.
		{true, []Interface{named(2, "", "B", "y"), named(3, "c", "C", long)},
			map[int][3]string{2: {"B", "B", "y"}, 3: {"c", "C", long}}},
	}
	for i, s := range steps {
		p := poll(time.Duration(i)*time.Minute, uint32(100_000+6000*i), s.ifs...)
		p.Labels = s.labels
		before := d.labels
		out := d.Update(p)
		st := out.State
		if len(st.Interfaces) != len(s.want) {
			t.Fatalf("step %d: %d interfaces, want %d", i, len(st.Interfaces), len(s.want))
		}
		for _, ifc := range st.Interfaces {
			if got := [3]string{ifc.Name, ifc.Descr, ifc.Alias}; got != s.want[ifc.Index] {
				t.Errorf("step %d: interface %d labels %q, want %q", i, ifc.Index, got, s.want[ifc.Index])
			}
		}
		// Samples have the same labels, as substrings of d.labels: no
		// copies, and none of the poll's strings.
		for _, smp := range out.Samples {
			for _, l := range [3]string{smp.IfName, smp.Descr, smp.Alias} {
				if got := [3]string{smp.IfName, smp.Descr, smp.Alias}; got != s.want[smp.IfIndex] {
					t.Errorf("step %d: sample of interface %d labels %q, want %q", i, smp.IfIndex, got, s.want[smp.IfIndex])
				}
				if l != "" && !within(l, d.labels) {
					t.Errorf("step %d: sample of interface %d: label %q is not in the Deriver's labels string", i, smp.IfIndex, l)
				}
			}
		}
		if i == 3 && unsafe.StringData(d.labels) != unsafe.StringData(before) {
			t.Errorf("step %d: labels string rebuilt though nothing changed", i)
		}
		if d.pending != nil {
			t.Errorf("step %d: pending labels left", i)
		}
	}
}

// within reports whether sub's bytes lie inside s's.
func within(sub, s string) bool {
	b, e := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(sub)))
	return e >= b && e+uintptr(len(sub)) <= b+uintptr(len(s))
}
