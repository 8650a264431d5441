package history

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/shared/model"
)

// day is a UTC day in the retention windows, at midnight: points fall on
// bucket boundaries.
func today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

// writeSeries writes one sample per minute for the given minutes from
// start: in_bps = minute index, out_bps = 2 × that, oper down on minutes
// where down returns true.
func writeSeries(t *testing.T, s *Store, node, ifname string, start time.Time, minutes int, down func(int) bool) {
	t.Helper()
	b := Batch{Agent: "series", Seq: uint64(start.Unix())}
	for m := range minutes {
		oper := model.IfUp
		if down != nil && down(m) {
			oper = model.IfDown
		}
		b.Samples = append(b.Samples, sample(node, ifname, start.Add(time.Duration(m)*time.Minute), float64(m), float64(2*m), oper))
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestInterfaceHistoryPicksTheTableByStep(t *testing.T) {
	s := newStore(t, "")
	day := today().Add(-24 * time.Hour)
	// Two hours of samples; oper down during minutes 10-14.
	writeSeries(t, s, "r1", "xe-0/0/0", day, 120, func(m int) bool { return m >= 10 && m < 15 })
	// Another interface, and a sample without rates, must not leak in.
	writeSeries(t, s, "r1", "xe-0/0/1", day, 5, nil)
	if err := s.Write(ctxT(t), Batch{Agent: "x", Samples: []model.Sample{{Node: "r1", IfName: "xe-0/0/0", Time: day.Add(2 * time.Hour), OperStatus: model.IfUp}}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		q      HistoryQuery
		res    Resolution
		step   time.Duration
		points int
		check  func(t *testing.T, p []Point)
	}{
		{
			name: "step at the poll interval: raw samples",
			q:    HistoryQuery{From: day, To: day.Add(30 * time.Minute), Step: time.Minute},
			res:  ResolutionRaw, points: 30,
			check: func(t *testing.T, p []Point) {
				if *p[7].InBps != 7 || *p[7].OutBps != 14 || *p[7].InBpsMax != 7 || p[7].OperStatus != model.IfUp {
					t.Errorf("minute 7: %+v", p[7])
				}
				if p[12].OperStatus != model.IfDown || p[12].OperUp != 0 {
					t.Errorf("minute 12: %+v", p[12])
				}
			},
		},
		{
			name: "2-minute step: raw samples averaged",
			q:    HistoryQuery{From: day, To: day.Add(10 * time.Minute), Step: 2 * time.Minute},
			res:  ResolutionRaw, step: 2 * time.Minute, points: 5,
			check: func(t *testing.T, p []Point) {
				if *p[1].InBps != 2.5 || *p[1].InBpsMax != 3 || !p[1].Time.Equal(day.Add(2*time.Minute)) {
					t.Errorf("step 1: %+v", p[1])
				}
			},
		},
		{
			name: "15-minute step: 5-minute rollup",
			q:    HistoryQuery{From: day, To: day.Add(2 * time.Hour), Step: 15 * time.Minute},
			res:  ResolutionFiveMinutes, step: 15 * time.Minute, points: 8,
			check: func(t *testing.T, p []Point) {
				// Minutes 0-14: average 7, peak 14, down 5 of 15.
				if *p[0].InBps != 7 || *p[0].OutBps != 14 || *p[0].InBpsMax != 14 || *p[0].OutBpsMax != 28 {
					t.Errorf("first step: %+v", p[0])
				}
				if p[0].OperStatus != model.IfDown || p[0].OperUp < 0.66 || p[0].OperUp > 0.67 {
					t.Errorf("first step status %s, up %v; want down (last sample), 2/3", p[0].OperStatus, p[0].OperUp)
				}
			},
		},
		{
			name: "hour step: hourly rollup; a bucket without rates has none",
			q:    HistoryQuery{From: day, To: day.Add(3 * time.Hour), Step: time.Hour},
			res:  ResolutionHour, step: time.Hour, points: 3,
			check: func(t *testing.T, p []Point) {
				if *p[1].InBps != 89.5 || *p[1].InBpsMax != 119 || p[1].OperStatus != model.IfUp {
					t.Errorf("second hour: %+v", p[1])
				}
				if p[2].InBps != nil || p[2].InBpsMax != nil || p[2].OperStatus != model.IfUp {
					t.Errorf("third hour (one sample without rates): %+v", p[2])
				}
			},
		},
		{
			name: "no step: picked for the range",
			q:    HistoryQuery{From: day, To: day.Add(2 * time.Hour)},
			res:  ResolutionRaw, points: 120,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Node, tt.q.IfName = "r1", "xe-0/0/0"
			h, err := s.InterfaceHistory(ctxT(t), tt.q)
			if err != nil {
				t.Fatalf("InterfaceHistory: %v", err)
			}
			if h.Resolution != tt.res || h.Step != tt.step || len(h.Points) != tt.points {
				t.Fatalf("resolution %s, step %s, %d points; want %s, %s, %d", h.Resolution, h.Step, len(h.Points), tt.res, tt.step, tt.points)
			}
			if tt.check != nil {
				tt.check(t, h.Points)
			}
		})
	}
}

func TestInterfaceHistoryBeyondRawRetentionReadsRollups(t *testing.T) {
	s := newStore(t, "", func(c *Config) { c.Retention.Raw = 2 })
	old := today().AddDate(0, 0, -5)
	writeSeries(t, s, "r1", "e0", old, 10, nil)
	h, err := s.InterfaceHistory(ctxT(t), HistoryQuery{Node: "r1", IfName: "e0", From: old, To: old.Add(10 * time.Minute), Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if h.Resolution != ResolutionFiveMinutes || len(h.Points) != 2 || *h.Points[1].InBps != 7 {
		t.Fatalf("got %s with %d points (%+v), want the 5-minute rollup's 2", h.Resolution, len(h.Points), h.Points)
	}
}

func TestQueriesRefuseBadInput(t *testing.T) {
	s := newStore(t, "")
	now := time.Now()
	tests := []struct {
		name string
		run  func() error
	}{
		{"history without interface", func() error {
			_, err := s.InterfaceHistory(ctxT(t), HistoryQuery{Node: "r", From: now.Add(-time.Hour), To: now})
			return err
		}},
		{"history with from after to", func() error {
			_, err := s.InterfaceHistory(ctxT(t), HistoryQuery{Node: "r", IfName: "e", From: now, To: now.Add(-time.Hour)})
			return err
		}},
		{"events without range", func() error { _, err := s.Events(ctxT(t), EventQuery{Node: "r"}); return err }},
		{"top without nodes", func() error {
			_, _, err := s.TopInterfaces(ctxT(t), TopQuery{Metric: MetricInBps, From: now.Add(-time.Hour), To: now})
			return err
		}},
		{"top with an unknown metric", func() error {
			_, _, err := s.TopInterfaces(ctxT(t), TopQuery{Nodes: []string{"r"}, Metric: "cpu", From: now.Add(-time.Hour), To: now})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, ErrBadQuery) {
				t.Fatalf("err = %v, want ErrBadQuery", err)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	s := newStore(t, "")
	t0 := today().Add(-2 * time.Hour)
	nb := &model.LLDPNeighbor{LocalPort: "e1", LocalIfIndex: 2, ChassisID: "00:11:22:33:44:55", PortID: "p'1"}
	events := []model.Event{
		{Time: t0, Node: "r1", Kind: model.EventFlap, IfIndex: 1, IfName: "e0", From: "up", To: "up"},
		{Time: t0.Add(time.Minute), Node: "r1", Kind: model.EventReboot, Detail: "uptime went back"},
		{Time: t0.Add(2 * time.Minute), Node: "r2", Kind: model.EventFlap, IfName: "e0"},
		{Time: t0.Add(3 * time.Minute), Node: "r1", Kind: model.EventLLDPAdded, IfIndex: 2, IfName: "e1", Neighbor: nb},
	}
	if err := s.Write(ctxT(t), Batch{Agent: "a", Seq: 1, Events: events}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    EventQuery
		want []model.Event
	}{
		{"one node, newest first", EventQuery{Node: "r1"}, []model.Event{events[3], events[1], events[0]}},
		{"one kind, every node", EventQuery{Kinds: []model.EventKind{model.EventFlap}}, []model.Event{events[2], events[0]}},
		{"two kinds of one node", EventQuery{Node: "r1", Kinds: []model.EventKind{model.EventReboot, model.EventLLDPAdded}}, []model.Event{events[3], events[1]}},
		{"one interface", EventQuery{Node: "r1", IfName: "e0"}, []model.Event{events[0]}},
		{"limit", EventQuery{Limit: 1}, []model.Event{events[3]}},
		{"a range that ends before the last", EventQuery{To: t0.Add(2 * time.Minute)}, []model.Event{events[1], events[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.From = t0
			if tt.q.To.IsZero() {
				tt.q.To = t0.Add(time.Hour)
			}
			got, err := s.Events(ctxT(t), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopInterfaces(t *testing.T) {
	s := newStore(t, "")
	t0 := today().Add(-24 * time.Hour)
	b := Batch{Agent: "a", Seq: 1}
	// e0 carries 100 Mb/s in, e1 300 Mb/s out, e2 is 10 Mb/s of a
	// 10 Mb/s port (full), e3 has errors, r3's interface is not asked.
	for m := range 60 {
		at := t0.Add(time.Duration(m) * time.Minute)
		s0 := sample("r1", "e0", at, 100e6, 1e6, model.IfUp)
		s1 := sample("r1", "e1", at, 1e6, 300e6, model.IfUp)
		s2 := sample("r2", "e2", at, 10e6, 0, model.IfUp)
		s2.SpeedBps = 10e6
		s3 := sample("r2", "e3", at, 0, 0, model.IfUp)
		s3.InErrorsRate, s3.OutErrorsRate = f(3), f(4)
		s4 := sample("r3", "e9", at, 900e6, 900e6, model.IfUp)
		b.Samples = append(b.Samples, s0, s1, s2, s3, s4)
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	type top struct {
		Node, If string
		Value    float64
	}
	tests := []struct {
		metric Metric
		span   time.Duration
		res    Resolution
		want   []top
	}{
		{MetricInBps, time.Hour, ResolutionRaw, []top{{"r1", "e0", 100e6}, {"r2", "e2", 10e6}}},
		{MetricOutBps, 24 * time.Hour, ResolutionFiveMinutes, []top{{"r1", "e1", 300e6}, {"r1", "e0", 1e6}}},
		{MetricUtilisation, 30 * 24 * time.Hour, ResolutionHour, []top{{"r2", "e2", 100}, {"r1", "e1", 30}}},
		{MetricErrors, time.Hour, ResolutionRaw, []top{{"r2", "e3", 7}, {"r1", "e0", 0}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.metric), func(t *testing.T) {
			got, res, err := s.TopInterfaces(ctxT(t), TopQuery{Nodes: []string{"r1", "r2"}, Metric: tt.metric, From: t0, To: t0.Add(tt.span), N: 2})
			if err != nil {
				t.Fatal(err)
			}
			var tops []top
			for _, g := range got {
				tops = append(tops, top{g.Node, g.IfName, g.Value})
			}
			if res != tt.res {
				t.Errorf("resolution %s, want %s", res, tt.res)
			}
			if diff := cmp.Diff(tt.want, tops); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAvailability(t *testing.T) {
	s := newStore(t, "", func(c *Config) { c.Retention.Raw = 3 })
	write := func(at time.Time, reach ...bool) {
		t.Helper()
		b := Batch{Agent: "a", Seq: uint64(at.Unix())}
		for i, r := range reach {
			b.DeviceSamples = append(b.DeviceSamples, model.DeviceSample{Node: "r1", Time: at.Add(time.Duration(i) * time.Minute), Reachable: r})
			b.DeviceSamples = append(b.DeviceSamples, model.DeviceSample{Node: "r2", Time: at.Add(time.Duration(i) * time.Minute), Reachable: true})
		}
		if err := s.Write(ctxT(t), b); err != nil {
			t.Fatal(err)
		}
	}
	recent, old := today().Add(-time.Hour), today().AddDate(0, 0, -10)
	write(recent, true, true, true, false)
	write(old, false, false, true, true)
	tests := []struct {
		name  string
		nodes []string
		from  time.Time
		res   Resolution
		want  []Availability
	}{
		{"recent: raw", []string{"r1"}, recent, ResolutionRaw, []Availability{{"r1", 4, 3, 75}}},
		{"old: hourly rollup, every node", nil, old, ResolutionHour, []Availability{{"r1", 8, 5, 62.5}, {"r2", 8, 8, 100}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res, err := s.Availability(ctxT(t), tt.nodes, tt.from, today())
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.res {
				t.Errorf("resolution %s, want %s", res, tt.res)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	s := newStore(t, "")
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	first := withLabels(sample("r1", "e0", t0, 1, 2, model.IfUp), "Ethernet0", "old alias", "ethernetCsmacd")
	second := withLabels(sample("r1", "e0", t0.Add(time.Minute), 3, 4, model.IfDown), "Ethernet0", "to r2", "ethernetCsmacd")
	other := model.Sample{Node: "r1", IfName: "e1", IfIndex: 2, Time: t0, AdminStatus: model.IfDown, OperStatus: model.IfDown}
	b := Batch{Agent: "a", Seq: 1,
		Samples: []model.Sample{second, first, other},
		// r1's system group: the newest reachable sample's, not blanked
		// by the failed poll after it.
		DeviceSamples: []model.DeviceSample{
			{Node: "r1", Time: t0.Add(-time.Minute), Reachable: true, UptimeSeconds: 40, SysName: "r1.old", SysDescr: "EOS 4.30",
				SysObjectID: "1.3.6.1.4.1.30065.1", Vendor: model.VendorArista},
			{Node: "r1", Time: t0, Reachable: true, UptimeSeconds: 100, SysName: "r1.example.net", SysDescr: "EOS 4.31",
				SysObjectID: "1.3.6.1.4.1.30065.1", Vendor: model.VendorArista},
			{Node: "r1", Time: t0.Add(time.Minute), Reachable: false, Error: "timeout", UptimeSeconds: 160},
			{Node: "r2", Time: t0, Reachable: true, UptimeSeconds: 5},
		},
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Latest(ctxT(t), t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.DeviceState{
		{Node: "r1", Reachable: false, Error: "timeout", UptimeSeconds: 160, LastPoll: t0.Add(time.Minute),
			SysName: "r1.example.net", SysDescr: "EOS 4.31", SysObjectID: "1.3.6.1.4.1.30065.1", Vendor: model.VendorArista,
			Interfaces: []model.InterfaceState{
				{Index: 1, Name: "e0", Descr: "Ethernet0", Alias: "to r2", Type: "ethernetCsmacd",
					AdminStatus: model.IfUp, OperStatus: model.IfDown, SpeedBps: 1e9, Rates: second.Rates},
				{Index: 2, Name: "e1", AdminStatus: model.IfDown, OperStatus: model.IfDown},
			}},
		{Node: "r2", Reachable: true, UptimeSeconds: 5, LastPoll: t0, Interfaces: []model.InterfaceState{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}
