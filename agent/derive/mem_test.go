package derive

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchPolls builds two successive 48-interface polls of one device, the
// first with labels (fresh strings, as the poller makes them), the second
// without, 60 s later.
func benchPolls(dev int, t0 time.Time) [2]Poll {
	const nIf = 48
	var ps [2]Poll
	for k := range ps {
		p := Poll{Node: "dev", Time: t0.Add(time.Duration(k) * time.Minute), Uptime: uint32(100000 + 6000*k), HaveUptime: true, Labels: k == 0}
		p.Interfaces = make([]Interface, nIf)
		for i := range p.Interfaces {
			r := &p.Interfaces[i]
			r.Index = i + 1
			r.Has = FieldAdminStatus | FieldOperStatus | FieldLastChange | FieldHCInOctets | FieldHCOutOctets |
				FieldHCInPkts | FieldHCOutPkts | FieldInErrors | FieldOutErrors | FieldInDiscards | FieldOutDiscards
			if k == 0 {
				r.Has |= FieldName | FieldDescr | FieldAlias | FieldType | FieldHighSpeed | FieldSpeed
				r.Name = fmt.Sprintf("Gi1/0/%d", i+1)
				r.Descr = fmt.Sprintf("GigabitEthernet1/0/%d", i+1)
				r.Alias = fmt.Sprintf("to dev-%d port %d", dev, i)
				r.Type, r.HighSpeed, r.Speed = 6, 1000, 1_000_000_000
			}
			r.AdminStatus, r.OperStatus, r.LastChange = 1, 1, 50
			r.HCInOctets = uint64(1e9 + k*1e8 + i)
			r.HCOutOctets = uint64(2e9 + k*1e8 + i)
			r.HCInPkts, r.HCOutPkts = uint64(1e6+k*1e5), uint64(2e6+k*1e5)
			r.InErrors, r.OutErrors, r.InDiscards, r.OutDiscards = uint32(k), 0, uint32(k), 0
		}
		ps[k] = p
	}
	return ps
}

var benchSink Output

// BenchmarkRetained feeds two successive 48-interface polls to many
// Derivers with Update and reports the heap they keep afterwards per
// interface, and the allocations per Update. BenchmarkRetainedFeed does the
// same with Feed, as the agent does (no Output.State).
//
//	go test -run '^$' -bench Retained -benchtime 3x ./agent/derive/
func BenchmarkRetained(b *testing.B) { benchRetained(b, (*Deriver).Update) }

func BenchmarkRetainedFeed(b *testing.B) { benchRetained(b, (*Deriver).Feed) }

func benchRetained(b *testing.B, update func(*Deriver, Poll) Output) {
	const devices, nIf = 2000, 48
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ms runtime.MemStats
	var retained, allocs float64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		h0 := ms.HeapAlloc
		polls := make([][2]Poll, devices)
		for i := range polls {
			polls[i] = benchPolls(i, t0)
		}
		ds := make([]*Deriver, devices)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		m0 := ms.Mallocs
		b.StartTimer()
		for k := range 2 {
			for i := range ds {
				if k == 0 {
					ds[i] = New(fmt.Sprint("dev-", i))
				}
				benchSink = update(ds[i], polls[i][k])
			}
		}
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		allocs = float64(ms.Mallocs-m0-devices /* New's node names */) / (2 * devices)
		polls, benchSink = nil, Output{}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		retained = (float64(ms.HeapAlloc) - float64(h0)) / (devices * nIf)
		runtime.KeepAlive(ds)
		b.StartTimer()
	}
	b.ReportMetric(retained, "retained-B/iface")
	b.ReportMetric(allocs, "allocs/update")
}
