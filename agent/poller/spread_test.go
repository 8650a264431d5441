package poller

import (
	"fmt"
	"testing"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
)

// simulatePlans runs a device's memory through polls successful polls
// without SNMP, as the scheduler would, and returns what each poll read.
// interfaces are the ifIndexes each poll returns (nil: none).
func simulatePlans(p *Poller, node string, polls int, interfaces func(i int) []int) []plan {
	m := newMemory()
	tgt := Target{Node: node}
	out := make([]plan, polls)
	for i := range polls {
		pl := p.cfg.planFor(m, &tgt, false)
		out[i] = pl
		b := newBuilder(0)
		b.poll.Node = node
		if interfaces != nil {
			for _, idx := range interfaces(i) {
				b.poll.Interfaces = append(b.poll.Interfaces, derive.Interface{Index: idx})
			}
		}
		p.remember(m, &pl, b, len(b.poll.Interfaces), model.VendorGeneric)
	}
	return out
}

// checkCadence checks that read(poll) is true at poll 0 and exactly once
// in every window of every consecutive polls after it.
func checkCadence(t *testing.T, node, what string, plans []plan, every int, read func(plan) bool) (first int) {
	t.Helper()
	if !read(plans[0]) {
		t.Errorf("%s: the first poll did not read the %s", node, what)
	}
	first = -1
	for start := 1; start+every <= len(plans); start++ {
		n := 0
		for i := start; i < start+every; i++ {
			if read(plans[i]) {
				n++
				if first < 0 {
					first = i
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d %s reads in polls %d..%d, want exactly 1", node, n, what, start, start+every-1)
			return first
		}
	}
	return first
}

// TestReadsSpreadAcrossPolls: devices started together (every device's
// poll i falls in the same interval) read their labels and LLDP tables in
// different polls, each poll index taking about devices/every of them,
// while each device still reads everything at its first poll and then
// exactly once every LabelEvery (LLDPEvery) polls.
func TestReadsSpreadAcrossPolls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		labelEvery, lldpEvery, devices int
	}{
		{10, 10, 10_000}, // the defaults, at the benchmark's scale
		{5, 10, 2_000},
		{3, 7, 3_000},
		{60, 60, 12_000},
		{2, -1, 1_000}, // LLDP never read
		{1, 1, 100},    // every poll reads everything: nothing to spread
	} {
		t.Run(fmt.Sprintf("label%d_lldp%d", tc.labelEvery, tc.lldpEvery), func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			cfg.LabelEvery, cfg.LLDPEvery = tc.labelEvery, tc.lldpEvery
			if err := cfg.normalize(); err != nil {
				t.Fatal(err)
			}
			p := &Poller{cfg: cfg}
			polls := 1 + 3*max(tc.labelEvery, tc.lldpEvery)
			labelsAt := make([]int, polls) // devices reading labels at poll i
			lldpAt := make([]int, polls)
			for d := range tc.devices {
				node := fmt.Sprintf("sw-%05d.dc%d", d, d%3)
				plans := simulatePlans(p, node, polls, nil)
				if !plans[0].system {
					t.Errorf("%s: the first poll did not read the system group", node)
				}
				checkCadence(t, node, "label", plans, tc.labelEvery, func(pl plan) bool { return pl.labels })
				if tc.lldpEvery > 0 {
					checkCadence(t, node, "LLDP", plans, tc.lldpEvery, func(pl plan) bool { return pl.lldp })
				}
				for i, pl := range plans {
					if pl.system != pl.labels {
						t.Errorf("%s poll %d: system %v but labels %v", node, i, pl.system, pl.labels)
					}
					if tc.lldpEvery <= 0 && pl.lldp {
						t.Errorf("%s poll %d: LLDP read with LLDPEvery %d", node, i, tc.lldpEvery)
					}
					if tc.labelEvery == tc.lldpEvery && tc.labelEvery > 1 && i > 0 && pl.labels && pl.lldp {
						t.Errorf("%s poll %d: labels and LLDP read in the same poll", node, i)
					}
					if pl.labels {
						labelsAt[i]++
					}
					if pl.lldp {
						lldpAt[i]++
					}
				}
				if t.Failed() {
					return
				}
			}
			if labelsAt[0] != tc.devices || (tc.lldpEvery > 0 && lldpAt[0] != tc.devices) {
				t.Errorf("first polls: %d label reads and %d LLDP reads of %d devices", labelsAt[0], lldpAt[0], tc.devices)
			}
			spread := func(what string, at []int, every int) {
				if every == 1 {
					return // every poll reads: nothing to spread
				}
				want := float64(tc.devices) / float64(every)
				for i := 1; i < len(at); i++ {
					if at[i] == tc.devices {
						t.Errorf("poll %d: all %d devices read their %s", i, tc.devices, what)
					}
					if f := float64(at[i]); f < 0.75*want || f > 1.25*want {
						t.Errorf("poll %d: %d devices read their %s, want about %.0f", i, at[i], what, want)
					}
				}
			}
			spread("labels", labelsAt, tc.labelEvery)
			if tc.lldpEvery > 0 {
				spread("LLDP tables", lldpAt, tc.lldpEvery)
			}
		})
	}
}

// TestReadOffsetsDeterministic: a device's offsets depend on its name
// only, and stay within the cycles.
func TestReadOffsetsDeterministic(t *testing.T) {
	t.Parallel()
	for _, node := range []string{"a", "sw-00001.dc0", "core-router-1"} {
		l1, d1 := readOffsets(node, 10, 7)
		l2, d2 := readOffsets(node, 10, 7)
		if l1 != l2 || d1 != d2 {
			t.Errorf("%s: offsets (%d, %d) then (%d, %d)", node, l1, d1, l2, d2)
		}
		if l1 < 0 || l1 >= 10 || d1 < 0 || d1 >= 7 {
			t.Errorf("%s: offsets (%d, %d) out of range", node, l1, d1)
		}
		if l, d := readOffsets(node, 1, -1); l != 0 || d != 0 {
			t.Errorf("%s: offsets (%d, %d) with nothing to spread", node, l, d)
		}
	}
}

// TestForcedLabelReadsKept: whatever its offset, a device that shows an
// unknown ifIndex reads its labels at the next poll, and its count
// restarts from that read.
func TestForcedLabelReadsKept(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	p := &Poller{cfg: cfg}
	for d := range 50 {
		node := fmt.Sprintf("sw-%05d.dc0", d)
		n := 3 + 3*cfg.LabelEvery
		// Find a poll a after which the device would read no labels at
		// a+1 on its own: ifIndex 9 appears there.
		natural := simulatePlans(p, node, n, nil)
		a := 1
		for natural[a].labels || natural[a+1].labels {
			a++
		}
		plans := simulatePlans(p, node, n, func(i int) []int {
			if i >= a {
				return []int{1, 9}
			}
			return []int{1}
		})
		if !plans[a+1].labels || !plans[a+1].system {
			t.Errorf("%s: poll %d after a new ifIndex did not read the labels (%+v)", node, a+1, plans[a+1])
			continue
		}
		for i := a + 2; i < len(plans); i++ {
			if want := (i-a-1)%cfg.LabelEvery == 0; plans[i].labels != want {
				t.Errorf("%s poll %d: labels %v, want %v (count restarted at poll %d)", node, i, plans[i].labels, want, a+1)
			}
		}
	}
}
