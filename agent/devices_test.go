package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/model"
)

// devicePoll is a successful poll of a 48-interface device, k minutes
// after t0, with labels (fresh strings, as the poller makes them) when
// labels.
func devicePoll(node string, k int, labels bool) derive.Poll {
	const nIf = 48
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := derive.Poll{Node: node, Time: t0.Add(time.Duration(k) * time.Minute), Uptime: uint32(100000 + 6000*k),
		HaveUptime: true, Labels: labels}
	p.Interfaces = make([]derive.Interface, nIf)
	for i := range p.Interfaces {
		r := &p.Interfaces[i]
		r.Index = i + 1
		r.Has = derive.FieldAdminStatus | derive.FieldOperStatus | derive.FieldLastChange |
			derive.FieldHCInOctets | derive.FieldHCOutOctets | derive.FieldHCInPkts | derive.FieldHCOutPkts |
			derive.FieldInErrors | derive.FieldOutErrors | derive.FieldInDiscards | derive.FieldOutDiscards
		if labels {
			r.Has |= derive.FieldName | derive.FieldDescr | derive.FieldAlias | derive.FieldType | derive.FieldHighSpeed | derive.FieldSpeed
			r.Name = fmt.Sprintf("Gi1/0/%d", i+1)
			r.Descr = fmt.Sprintf("GigabitEthernet1/0/%d", i+1)
			r.Alias = fmt.Sprintf("to %s port %d", node, i)
			r.Type, r.HighSpeed, r.Speed = 6, 1000, 1_000_000_000
		}
		r.AdminStatus, r.OperStatus, r.LastChange = 1, 1, 50
		r.HCInOctets = uint64(1e9 + k*1e8 + i)
		r.HCOutOctets = uint64(2e9 + k*1e8 + i)
		r.HCInPkts, r.HCOutPkts = uint64(1e6+k*1e5), uint64(2e6+k*1e5)
		r.InErrors, r.InDiscards = uint32(k), uint32(k)
	}
	return p
}

func target(node, addr string) poller.Target {
	return poller.Target{Node: node, Address: addr, Profile: model.SNMPProfile{Name: "p", Version: model.SNMPv2c}}
}

// TestDevices: what Devices gives is what a Deriver's Update gives; a node
// moved to another address starts afresh; a removed node's results are
// dropped.
func TestDevices(t *testing.T) {
	ds := NewDevices()
	ds.Set([]poller.Target{target("b", "127.0.0.2"), target("a", "127.0.0.1")})
	ref := derive.New("a")
	var want derive.Output
	for k := range 3 {
		p := devicePoll("a", k, k == 0)
		want = ref.Update(p)
		if _, ok := ds.Update(poller.Result{Poll: p}); !ok {
			t.Fatal("a poll of a known node dropped")
		}
	}
	if _, ok := ds.Update(poller.Result{Poll: derive.Poll{Node: "b", Time: time.Now(), Err: errors.New("timeout")}}); !ok {
		t.Fatal("a poll of a known node dropped")
	}
	states := ds.States()
	if len(states) != 2 || states[0].Node != "a" || states[1].Node != "b" || states[1].Reachable {
		t.Fatalf("states %+v", states)
	}
	if a, b := mustJSON(t, want.State), mustJSON(t, states[0]); a != b {
		t.Errorf("state of a:\n%s\nwant (Update's)\n%s", b, a)
	}
	if states[0].Interfaces[0].InBps == nil {
		t.Errorf("no rates in the state")
	}
	if n, up := ds.Counts(); n != 2 || up != 1 {
		t.Errorf("counts %d, %d; want 2, 1", n, up)
	}
	if lp := ds.LastPolls(); len(lp) != 2 || lp[0].Node != "a" || !lp[0].LastPoll.Equal(states[0].LastPoll) ||
		lp[1].Node != "b" || !lp[1].LastPoll.Equal(states[1].LastPoll) || lp[0].LastPoll.IsZero() {
		t.Errorf("last polls %+v", lp)
	}

	// a moves; b stays; c is new.
	ds.Set([]poller.Target{target("a", "127.0.0.9"), target("b", "127.0.0.2"), target("c", "127.0.0.3")})
	if states := ds.States(); len(states) != 1 || states[0].Node != "b" {
		t.Errorf("after the move: states %+v, want b's only", states)
	}
	if lp := ds.LastPolls(); len(lp) != 3 || !lp[0].LastPoll.IsZero() || lp[1].LastPoll.IsZero() || !lp[2].LastPoll.IsZero() {
		t.Errorf("after the move: last polls %+v, want b's only", lp)
	}
	ds.Set([]poller.Target{target("c", "127.0.0.3")})
	if _, ok := ds.Update(poller.Result{Poll: devicePoll("a", 4, true)}); ok {
		t.Errorf("a poll of a removed node was taken")
	}
	if n, up := ds.Counts(); n != 1 || up != 0 {
		t.Errorf("counts %d, %d; want 1, 0", n, up)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkDevicesRetained: the heap the agent keeps per interface for
// 2,000 devices of 48 interfaces after two polls each (labels on the
// first), through Devices as the agent's poller sink does.
//
//	go test -run '^$' -bench DevicesRetained -benchtime 3x ./agent/
func BenchmarkDevicesRetained(b *testing.B) {
	const devices, nIf = 2000, 48
	var ms runtime.MemStats
	var retained float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		h0 := ms.HeapAlloc
		ts := make([]poller.Target, devices)
		polls := make([][2]derive.Poll, devices)
		for i := range ts {
			name := fmt.Sprint("dev-", i)
			ts[i] = target(name, fmt.Sprintf("127.20.%d.%d", i/250, 1+i%250))
			polls[i] = [2]derive.Poll{devicePoll(name, 0, true), devicePoll(name, 1, false)}
		}
		ds := NewDevices()
		ds.Set(ts)
		ts = nil
		b.StartTimer()
		for k := range 2 {
			for i := range polls {
				ds.Update(poller.Result{Poll: polls[i][k]})
			}
		}
		b.StopTimer()
		polls = nil
		runtime.GC()
		runtime.ReadMemStats(&ms)
		retained = (float64(ms.HeapAlloc) - float64(h0)) / (devices * nIf)
		runtime.KeepAlive(ds)
		b.StartTimer()
	}
	b.ReportMetric(retained, "retained-B/iface")
}
