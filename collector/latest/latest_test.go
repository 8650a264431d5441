package latest

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/shared/model"
)

func f(v float64) *float64 { return &v }

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func sample(node, ifname string, index int, ts time.Time, oper model.IfStatus, in float64) model.Sample {
	return model.Sample{Node: node, IfName: ifname, IfIndex: index, Time: ts, AdminStatus: model.IfUp, OperStatus: oper,
		SpeedBps: 1e9, Rates: model.Rates{InBps: f(in), OutBps: f(in / 2)}}
}

func withLabels(s model.Sample, descr, alias, typ string) model.Sample {
	s.Descr, s.Alias, s.Type = descr, alias, typ
	return s
}

func newView(t *testing.T) *View {
	t.Helper()
	v, err := New(DefaultConfig(), Dependencies{Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestApply(t *testing.T) {
	type batch struct {
		devices []model.DeviceSample
		samples []model.Sample
		events  []model.Event
	}
	for _, tc := range []struct {
		name    string
		batches []batch
		check   func(t *testing.T, s model.DeviceState)
	}{
		{
			name: "newest sample wins, whatever the order of arrival",
			batches: []batch{
				{devices: []model.DeviceSample{{Node: "r1", Time: at(2), Reachable: true, UptimeSeconds: 120}},
					samples: []model.Sample{sample("r1", "e1", 1, at(2), model.IfUp, 200)}},
				{devices: []model.DeviceSample{{Node: "r1", Time: at(1), Reachable: false, Error: "timeout"}},
					samples: []model.Sample{sample("r1", "e1", 1, at(1), model.IfDown, 100)}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				i := s.Interfaces[0]
				if !s.Reachable || s.UptimeSeconds != 120 || !s.LastPoll.Equal(at(2)) || i.OperStatus != model.IfUp || *i.InBps != 200 {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "unreachable keeps statuses, drops rates",
			batches: []batch{
				{devices: []model.DeviceSample{{Node: "r1", Time: at(1), Reachable: true, UptimeSeconds: 60}},
					samples: []model.Sample{sample("r1", "e1", 1, at(1), model.IfUp, 100)}},
				{devices: []model.DeviceSample{{Node: "r1", Time: at(2), Reachable: false, Error: "timeout"}}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				i := s.Interfaces[0]
				if s.Reachable || s.Error != "timeout" || s.UptimeSeconds != 60 || !s.LastPoll.Equal(at(2)) ||
					i.OperStatus != model.IfUp || i.InBps != nil || i.OutBps != nil {
					t.Errorf("state = %+v, interface %+v", s, i)
				}
			},
		},
		{
			name: "events: status change with its time, newer sample wins again",
			batches: []batch{
				{samples: []model.Sample{sample("r1", "e1", 1, at(1), model.IfUp, 100)}},
				{events: []model.Event{{Node: "r1", Time: at(2), Kind: model.EventOperStatus, IfName: "e1", From: "up", To: "down"}}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				i := s.Interfaces[0]
				if i.OperStatus != model.IfDown || !i.LastChange.Equal(at(2)) || *i.InBps != 100 {
					t.Errorf("interface %+v", i)
				}
			},
		},
		{
			name: "an event older than the sample does not undo it",
			batches: []batch{
				{samples: []model.Sample{sample("r1", "e1", 1, at(3), model.IfUp, 100)}},
				{events: []model.Event{{Node: "r1", Time: at(2), Kind: model.EventOperStatus, IfIndex: 1, From: "up", To: "down"}}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				if i := s.Interfaces[0]; i.OperStatus != model.IfUp || !i.LastChange.Equal(at(2)) {
					t.Errorf("interface %+v", i)
				}
			},
		},
		{
			name: "reachability and LLDP events",
			batches: []batch{
				{devices: []model.DeviceSample{{Node: "r1", Time: at(1), Reachable: true}}},
				{events: []model.Event{
					{Node: "r1", Time: at(2), Kind: model.EventLLDPAdded, Neighbor: &model.LLDPNeighbor{LocalPort: "e1", ChassisID: "aa", PortID: "p1"}},
					{Node: "r1", Time: at(2), Kind: model.EventLLDPAdded, Neighbor: &model.LLDPNeighbor{LocalPort: "e2", ChassisID: "bb", PortID: "p2"}},
					{Node: "r1", Time: at(3), Kind: model.EventLLDPRemoved, Neighbor: &model.LLDPNeighbor{LocalPort: "e1", ChassisID: "aa", PortID: "p1"}},
					{Node: "r1", Time: at(3), Kind: model.EventReachability, From: "reachable", To: "unreachable"},
				}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				if s.Reachable || len(s.LLDPNeighbors) != 1 || s.LLDPNeighbors[0].LocalPort != "e2" {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			// The fields of the agent's `--once` output (issue 5).
			name: "system group and labels: newest wins, a failed poll keeps them",
			batches: []batch{
				{devices: []model.DeviceSample{{Node: "r1", Time: at(2), Reachable: true, SysName: "r1.new", SysDescr: "EOS 4.31",
					SysObjectID: "1.3.6.1.4.1.30065.1", Vendor: model.VendorArista}},
					samples: []model.Sample{withLabels(sample("r1", "e1", 1, at(2), model.IfUp, 2), "Ethernet1", "to r2", "ethernetCsmacd")}},
				{devices: []model.DeviceSample{{Node: "r1", Time: at(1), Reachable: true, SysName: "r1.old", SysDescr: "EOS 4.30",
					SysObjectID: "1.3.6.1.4.1.30065.1", Vendor: model.VendorArista}},
					samples: []model.Sample{withLabels(sample("r1", "e1", 1, at(1), model.IfUp, 1), "Ethernet1", "old alias", "ethernetCsmacd")}},
				{devices: []model.DeviceSample{{Node: "r1", Time: at(3), Reachable: false, Error: "timeout"}}},
			},
			check: func(t *testing.T, s model.DeviceState) {
				if s.Reachable || s.SysName != "r1.new" || s.SysDescr != "EOS 4.31" || s.SysObjectID != "1.3.6.1.4.1.30065.1" || s.Vendor != model.VendorArista {
					t.Errorf("state = %+v", s)
				}
				if i := s.Interfaces[0]; i.Descr != "Ethernet1" || i.Alias != "to r2" || i.Type != "ethernetCsmacd" {
					t.Errorf("interface %+v", i)
				}
			},
		},
		{
			name: "interfaces sorted by ifIndex",
			batches: []batch{{samples: []model.Sample{
				sample("r1", "e10", 10, at(1), model.IfUp, 1), sample("r1", "e2", 2, at(1), model.IfUp, 1), sample("r1", "e1", 1, at(1), model.IfUp, 1),
			}}},
			check: func(t *testing.T, s model.DeviceState) {
				var names []string
				for _, i := range s.Interfaces {
					names = append(names, i.Name)
				}
				if len(names) != 3 || names[0] != "e1" || names[1] != "e2" || names[2] != "e10" {
					t.Errorf("interfaces %v", names)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newView(t)
			for _, b := range tc.batches {
				v.Apply(b.devices, b.samples, b.events)
			}
			s, ok := v.Get("r1")
			if !ok || s.Node != "r1" {
				t.Fatalf("Get = %+v, %v", s, ok)
			}
			tc.check(t, s)
		})
	}
}

func TestLoadKeepsNewer(t *testing.T) {
	v := newView(t)
	v.Apply([]model.DeviceSample{{Node: "r1", Time: at(5), Reachable: true, UptimeSeconds: 300}},
		[]model.Sample{sample("r1", "e1", 1, at(5), model.IfUp, 500)}, nil)
	v.Load([]model.DeviceState{
		{Node: "r1", LastPoll: at(1), Reachable: false, Interfaces: []model.InterfaceState{{Index: 1, Name: "e1", OperStatus: model.IfDown},
			{Index: 2, Name: "e2", OperStatus: model.IfUp}}},
		{Node: "r2", LastPoll: at(1), Reachable: true, Interfaces: []model.InterfaceState{}},
		{Node: "r4", LastPoll: at(1), Reachable: true, SysName: "r4.example.net", Vendor: model.VendorJuniper,
			Interfaces: []model.InterfaceState{{Index: 1, Name: "xe-0/0/0", Descr: "xe-0/0/0", Alias: "to r1", Type: "ethernetCsmacd"}}},
	})
	s, _ := v.Get("r1")
	if !s.Reachable || s.UptimeSeconds != 300 || len(s.Interfaces) != 2 || s.Interfaces[0].OperStatus != model.IfUp || s.Interfaces[1].Name != "e2" {
		t.Errorf("r1 = %+v", s)
	}
	if s, ok := v.Get("r2"); !ok || !s.Reachable || s.Interfaces == nil || len(s.Interfaces) != 0 {
		t.Errorf("r2 = %+v, %v", s, ok)
	}
	// A rebuilt view has the system group and labels history keeps.
	if s, ok := v.Get("r4"); !ok || s.SysName != "r4.example.net" || s.Vendor != model.VendorJuniper ||
		len(s.Interfaces) != 1 || s.Interfaces[0].Alias != "to r1" || s.Interfaces[0].Type != "ethernetCsmacd" {
		t.Errorf("r4 = %+v, %v", s, ok)
	}
	if _, ok := v.Get("r3"); ok {
		t.Error("r3 is in the view")
	}
	if n, i := v.Len(); n != 3 || i != 3 {
		t.Errorf("Len = %d, %d", n, i)
	}
}

// TestGetIsACopy: what Get returns is the caller's to change.
func TestGetIsACopy(t *testing.T) {
	v := newView(t)
	v.Apply([]model.DeviceSample{{Node: "r1", Time: at(1), Reachable: true, Extra: map[string]float64{"cpu": 5}}},
		[]model.Sample{sample("r1", "e1", 1, at(1), model.IfUp, 1)}, nil)
	s, _ := v.Get("r1")
	s.Interfaces[0].Name = "changed"
	s.Extra["cpu"] = 99
	again, _ := v.Get("r1")
	if again.Interfaces[0].Name != "e1" || again.Extra["cpu"] != 5 {
		t.Errorf("the view changed through Get's answer: %+v", again)
	}
}

// TestOnChange: policies hear of new devices, reachability changes and
// events, not of every poll's rates.
func TestOnChange(t *testing.T) {
	var told [][]string
	v, err := New(DefaultConfig(), Dependencies{OnChange: func(nodes []string) { told = append(told, nodes) }})
	if err != nil {
		t.Fatal(err)
	}
	up := func(node string, ts time.Time, reachable bool) model.DeviceSample {
		return model.DeviceSample{Node: node, Time: ts, Reachable: reachable}
	}
	v.Apply([]model.DeviceSample{up("a", at(0), true), up("b", at(0), true)}, []model.Sample{sample("a", "Gi1", 1, at(0), model.IfUp, 10)}, nil)
	v.Apply([]model.DeviceSample{up("a", at(1), true), up("b", at(1), true)}, []model.Sample{sample("a", "Gi1", 1, at(1), model.IfUp, 20)}, nil)
	v.Apply([]model.DeviceSample{up("a", at(2), true), up("b", at(2), false)}, nil, nil)
	v.Apply(nil, nil, []model.Event{{Node: "a", Time: at(3), Kind: model.EventOperStatus, IfIndex: 1, IfName: "Gi1", From: "up", To: "down"}})
	want := [][]string{{"a", "b"}, {"b"}, {"a"}}
	if len(told) != len(want) {
		t.Fatalf("told %v, want %v", told, want)
	}
	for i := range want {
		if len(told[i]) != len(want[i]) || told[i][0] != want[i][0] || told[i][len(told[i])-1] != want[i][len(want[i])-1] {
			t.Fatalf("told %v, want %v", told, want)
		}
	}
}
