package poller

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// TestPollOnce polls simulated devices over real UDP, v2c and v3
// authPriv, and checks what the derived state shows against what the
// simulator says the devices are.
func TestPollOnce(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		v3      bool
		vendor  model.Vendor
		wantVen model.Vendor
	}{
		{"v2c cisco", "127.10.0.1", false, model.VendorCisco, model.VendorCisco},
		{"v2c juniper", "127.10.1.1", false, model.VendorJuniper, model.VendorJuniper},
		{"v2c linux", "127.10.2.1", false, model.VendorLinux, model.VendorGeneric},
		{"v3 authPriv arista", "127.10.3.1", true, model.VendorArista, model.VendorArista},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := startSim(t, simConfig(tc.base, 2, func(p *snmpsim.Profile) {
				p.Vendor = tc.vendor
				p.V3 = &v3User
			}))
			prof := v2cProfile(sim.Port())
			if tc.v3 {
				prof = v3Profile(sim.Port())
			}
			p, _ := newTestPoller(t, DefaultConfig(), nil)
			ts := targets(sim, prof)
			results := p.PollOnce(context.Background(), ts)
			for i, r := range results {
				info := sim.Devices()[i]
				if r.Poll.Err != nil {
					t.Fatalf("%s: %v (%s)", info.Name, r.Poll.Err, r.Reason)
				}
				st := derive.New(info.Name).Update(r.Poll).State
				if !st.Reachable || st.SysName != info.SysName || st.Vendor != tc.wantVen || st.UptimeSeconds < 3600 {
					t.Errorf("device state = %+v", st)
				}
				if len(st.Interfaces) != info.Interfaces {
					t.Fatalf("%d interfaces, want %d", len(st.Interfaces), info.Interfaces)
				}
				for _, ifc := range st.Interfaces {
					if ifc.Name == "" || ifc.Descr == "" || ifc.SpeedBps == 0 || ifc.Type == "" ||
						(ifc.OperStatus != model.IfUp && ifc.OperStatus != model.IfDown) || ifc.InBps != nil {
						t.Errorf("interface = %+v", ifc)
					}
				}
				// Uplinks are cabled to other simulated devices.
				if len(st.LLDPNeighbors) == 0 {
					t.Errorf("no LLDP neighbours")
				}
				for _, n := range st.LLDPNeighbors {
					if !strings.HasPrefix(n.SysName, "sim-") || n.LocalIfIndex == 0 || n.LocalPort == "" || n.PortID == "" {
						t.Errorf("neighbour = %+v", n)
					}
				}
				if r.Requests > 6 {
					t.Errorf("a full poll took %d requests", r.Requests)
				}
				checkOnceJSON(t, st)
			}
		})
	}
}

// TestRatesFromSimulator polls a device twice and checks the rates
// against the simulator's own counters, read over the same interval.
func TestRatesFromSimulator(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.10.4.1", 1, func(p *snmpsim.Profile) { p.Vendor = model.VendorCisco }))
	p, _ := newTestPoller(t, DefaultConfig(), nil)
	ts := targets(sim, v2cProfile(sim.Port()))
	d := derive.New(ts[0].Node)
	mem := newMemory()
	var out derive.Output
	for i := 0; i < 3; i++ {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // sysUpTime counts hundredths
		}
		r := p.poll(context.Background(), &ts[0], mem, false)
		if r.Poll.Err != nil {
			t.Fatal(r.Poll.Err)
		}
		out = d.Update(r.Poll)
	}
	var withRate int
	for _, ifc := range out.State.Interfaces {
		if ifc.InBps == nil {
			continue
		}
		withRate++
		if *ifc.InBps < 0 || *ifc.InBps > float64(ifc.SpeedBps)*1.2 || *ifc.OutBps < 0 || *ifc.OutBps > float64(ifc.SpeedBps)*1.2 {
			t.Errorf("%s: in %v out %v bit/s on a %d bit/s interface", ifc.Name, *ifc.InBps, *ifc.OutBps, ifc.SpeedBps)
		}
		if ifc.OperStatus == model.IfUp && ifc.Type != "softwareLoopback" && *ifc.InBps == 0 {
			t.Errorf("%s: up but no traffic", ifc.Name)
		}
	}
	if withRate != len(out.State.Interfaces) {
		t.Errorf("%d of %d interfaces have rates after three polls", withRate, len(out.State.Interfaces))
	}
	for _, s := range out.Samples {
		if !s.Counter64 || s.Discontinuity || s.IntervalSeconds < 1 || s.IntervalSeconds > 2 {
			t.Errorf("sample = %+v", s)
		}
	}
}

// checkOnceJSON checks the keys of the `--once -o json` form of a state.
func checkOnceJSON(t *testing.T, st model.DeviceState) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"node", "reachable", "sys_name", "sys_descr", "sys_object_id", "uptime_seconds", "last_poll", "interfaces"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if _, err := time.Parse(time.RFC3339, m["last_poll"].(string)); err != nil {
		t.Errorf("last_poll: %v", err)
	}
	for _, x := range m["interfaces"].([]any) {
		ifc := x.(map[string]any)
		for _, k := range []string{"index", "name", "descr", "alias", "type", "admin_status", "oper_status", "speed_bps"} {
			if _, ok := ifc[k]; !ok {
				t.Errorf("interface without %q: %v", k, ifc)
			}
		}
		if _, ok := ifc["in_bps"]; ok {
			t.Errorf("in_bps after one poll: %v", ifc)
		}
	}
}

// TestSourceAddress: polls leave from Config.SourceAddress, v2c and v3
// alike, as the device sees them.
func TestSourceAddress(t *testing.T) {
	t.Parallel()
	sim := startSim(t, simConfig("127.14.9.1", 2, func(p *snmpsim.Profile) { p.V3 = &v3User }))
	cfg := DefaultConfig()
	cfg.SourceAddress = "127.0.0.77"
	p, _ := newTestPoller(t, cfg, nil)
	ts := targets(sim, v2cProfile(sim.Port()))
	ts[1].Profile = v3Profile(sim.Port())
	for _, r := range p.PollOnce(context.Background(), ts) {
		if r.Poll.Err != nil {
			t.Fatalf("%s: %v", r.Poll.Node, r.Poll.Err)
		}
	}
	want := netip.MustParseAddr("127.0.0.77")
	for _, req := range sim.Recent() {
		if req.Source.Addr() != want {
			t.Fatalf("a request came from %s, want %s", req.Source, want)
		}
	}
	if len(sim.Recent()) == 0 {
		t.Fatal("the simulator logged no request")
	}
	cfg.SourceAddress = "not-an-ip"
	if _, err := New(cfg, Dependencies{}); err == nil || !strings.Contains(err.Error(), "source-address") {
		t.Fatalf("New with a bad source address: %v", err)
	}
}
