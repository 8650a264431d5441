package derive

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// randomPolls returns a device's polls with what broken agents and real
// networks do: failures, rows out of order or repeated, interfaces coming
// and going, missing columns, counter resets and 32-bit wraps, reboots.
func randomPolls(rng *rand.Rand, n int) []Poll {
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	uptime := uint32(rng.IntN(1e6))
	type ctr struct {
		hc   [4]uint64
		c32  [8]uint32
		last uint32
		disc uint32
		oper int
	}
	ctrs := map[int]*ctr{}
	var polls []Poll
	for range n {
		step := time.Duration(30+rng.IntN(60)) * time.Second
		t = t.Add(step)
		uptime += uint32(step / (10 * time.Millisecond))
		if rng.IntN(30) == 0 {
			uptime = uint32(rng.IntN(5000)) // reboot
		}
		p := Poll{Node: "r", Time: t, Duration: time.Duration(rng.IntN(1e9))}
		if rng.IntN(8) == 0 {
			p.Err = errors.New("timeout")
			polls = append(polls, p)
			continue
		}
		p.Uptime, p.HaveUptime = uptime, rng.IntN(10) != 0
		if rng.IntN(20) == 0 {
			p.EngineBoots = uint32(1 + rng.IntN(3))
		}
		if rng.IntN(4) == 0 {
			p.System = &System{Descr: "d", ObjectID: "1.3.6.1.4.1.9", Name: fmt.Sprint("n", rng.IntN(2))}
			p.Vendor = "cisco"
		}
		if rng.IntN(3) == 0 {
			p.Extra = map[string]float64{"cpu": float64(rng.IntN(100))}
		}
		p.Labels = rng.IntN(3) == 0
		var idx []int
		for i := 1; i <= 8; i++ {
			if rng.IntN(12) != 0 {
				idx = append(idx, i*10)
			}
		}
		switch rng.IntN(10) {
		case 0:
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		case 1:
			if len(idx) > 0 {
				idx = append(idx, idx[rng.IntN(len(idx))])
			}
		case 2:
			if len(idx) > 0 {
				idx = slices.Insert(idx, rng.IntN(len(idx)), idx[rng.IntN(len(idx))])
			}
		}
		for _, ix := range idx {
			c := ctrs[ix]
			if c == nil {
				c = &ctr{oper: 1}
				ctrs[ix] = c
			}
			for k := range c.hc {
				c.hc[k] += uint64(rng.IntN(1e8))
				if rng.IntN(50) == 0 {
					c.hc[k] = uint64(rng.IntN(100))
				}
			}
			for k := range c.c32 {
				c.c32[k] += uint32(rng.Uint64())>>uint(rng.IntN(32)) | 0
				if rng.IntN(50) == 0 {
					c.c32[k] = uint32(rng.IntN(100))
				}
			}
			if rng.IntN(10) == 0 {
				c.oper = 1 + rng.IntN(2)
				c.last = uptime - uint32(rng.IntN(3000))
			}
			if rng.IntN(15) == 0 {
				c.last = uptime - uint32(rng.IntN(3000))
			}
			if rng.IntN(40) == 0 {
				c.disc = uptime
			}
			r := Interface{Index: ix, Has: Fields(rng.Uint32()) & (1<<22 - 1)}
			if rng.IntN(2) == 0 {
				r.Has |= FieldAdminStatus | FieldOperStatus | FieldHCInOctets | FieldHCOutOctets | FieldInOctets | FieldOutOctets
			}
			r.Name = fmt.Sprint("eth", ix)
			r.Descr = fmt.Sprint("Ethernet", ix)
			if rng.IntN(20) == 0 {
				r.Descr = "bad\x01" + r.Descr
			}
			r.Alias = fmt.Sprint("a", rng.IntN(3))
			r.Type = []int{6, 24, 131}[rng.IntN(3)]
			r.HighSpeed = []uint64{0, 100, 1000, 10000}[rng.IntN(4)]
			r.Speed = []uint32{0, 1e8, 1e9, 1<<32 - 1}[rng.IntN(4)]
			r.AdminStatus, r.OperStatus = 1+rng.IntN(5)/4, c.oper
			r.LastChange, r.DiscontinuityTime = c.last, c.disc
			r.HCInOctets, r.HCOutOctets, r.HCInPkts, r.HCOutPkts = c.hc[0], c.hc[1], c.hc[2], c.hc[3]
			r.InOctets, r.OutOctets, r.InPkts, r.OutPkts = c.c32[0], c.c32[1], c.c32[2], c.c32[3]
			r.InErrors, r.OutErrors, r.InDiscards, r.OutDiscards = c.c32[4], c.c32[5], c.c32[6], c.c32[7]
			p.Interfaces = append(p.Interfaces, r)
		}
		if rng.IntN(3) == 0 {
			p.HaveLLDP = true
			for range rng.IntN(4) {
				ix := 10 * (1 + rng.IntN(9))
				l := LLDPRemote{LocalPortNum: ix, ChassisIDSubtype: 4, ChassisID: []byte{0, 1, 2, 3, 4, byte(rng.IntN(3))},
					PortIDSubtype: 5, PortID: []byte(fmt.Sprint("p", rng.IntN(3))), SysName: "peer"}
				switch rng.IntN(3) {
				case 0:
					l.LocalPortID = fmt.Sprint("eth", ix)
				case 1:
					l.LocalPortDescr = fmt.Sprint("Ethernet", ix)
				}
				p.LLDP = append(p.LLDP, l)
			}
		}
		polls = append(polls, p)
	}
	return polls
}

// TestRandomPolls runs random poll sequences through Derivers. With
// DERIVE_RANDOM_OUT set, it writes every Output as JSON to that file, to
// compare two versions of the package.
func TestRandomPolls(t *testing.T) {
	var out *os.File
	if name := os.Getenv("DERIVE_RANDOM_OUT"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out = f
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for dev := range 300 {
		d := New(fmt.Sprint("dev-", dev))
		for _, p := range randomPolls(rng, 40) {
			o := d.Update(p)
			if len(o.State.Interfaces) > 0 && !slices.IsSortedFunc(o.State.Interfaces, func(a, b model.InterfaceState) int { return a.Index - b.Index }) {
				t.Fatalf("device %d: interfaces not sorted", dev)
			}
			checkSamplesMatchState(t, dev, &o)
			if out != nil {
				b, err := json.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				out.Write(append(b, '\n'))
			}
		}
	}
}

// checkSamplesMatchState: what the collector builds its latest state from
// (samples, device samples) has the labels and system group of the state,
// whatever the order of the rows (shuffled, repeated).
func checkSamplesMatchState(t *testing.T, dev int, o *Output) {
	t.Helper()
	for _, smp := range o.Samples {
		i, ok := slices.BinarySearchFunc(o.State.Interfaces, smp.IfIndex, func(f model.InterfaceState, idx int) int { return f.Index - idx })
		if !ok {
			t.Fatalf("device %d: sample of interface %d, which the state lacks", dev, smp.IfIndex)
		}
		f := o.State.Interfaces[i]
		if got, want := [4]string{smp.IfName, smp.Descr, smp.Alias, smp.Type}, [4]string{f.Name, f.Descr, f.Alias, f.Type}; got != want {
			t.Fatalf("device %d interface %d: sample labels %q, state %q", dev, smp.IfIndex, got, want)
		}
	}
	d, st := &o.Device, &o.State
	if d.Reachable && (d.SysName != st.SysName || d.SysDescr != st.SysDescr || d.SysObjectID != st.SysObjectID || d.Vendor != st.Vendor) {
		t.Fatalf("device %d: device sample system group %q %q %q %q, state %q %q %q %q", dev,
			d.SysName, d.SysDescr, d.SysObjectID, d.Vendor, st.SysName, st.SysDescr, st.SysObjectID, st.Vendor)
	}
}
