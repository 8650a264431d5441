// Package derive turns the raw results of successive SNMP polls of a
// device into derived state: interface rates from counters (64-bit, or
// 32-bit with wrap handling), counter discontinuities, status transitions,
// flaps, reboots, reachability and LLDP neighbour changes.
//
// It is pure: no network, no clock. One Deriver per device is fed the
// device's polls in order (the poller's Result.Poll):
//
//	d := derive.New("core-1")
//	out := d.Update(poll) // out.State, out.Device, out.Samples, out.Events
//
// A counter that went back is a reset, never a negative rate or a spike of
// 2^64; a 32-bit counter that went back is a wrap only when the rate that
// implies fits the interface speed.
package derive

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Deriver holds what one device looked like at its previous polls. It is
// not safe for concurrent use: feed it one device's polls in order.
type Deriver struct {
	node string

	// seen: a poll arrived, so reachable is a baseline events compare to.
	seen      bool
	reachable bool
	lastPoll  time.Time
	lastErr   string

	// The previous successful poll.
	ok         bool
	okTime     time.Time
	uptime     uint32
	haveUptime bool
	boots      uint32

	sys    System
	vendor model.Vendor
	ifs    map[int]*iface
	order  []int // ifIndexes, sorted
	lldp   []model.LLDPNeighbor
	// haveLLDP: the LLDP table was read once, so later reads are compared.
	haveLLDP bool
	extra    map[string]float64
}

// iface is what the Deriver remembers of an interface.
type iface struct {
	raw        Interface // the last read, for the next counter deltas
	labels     labels
	lastChange time.Time
	rates      model.Rates
}

// labels are the slowly changing columns, fetched on some polls only.
type labels struct {
	name, descr, alias string
	typ                int
	speed              uint64 // bit/s
}

// Output is what one poll gives. Its slices and maps are the caller's;
// rate pointers may be shared between State and Samples: treat them as
// read-only.
type Output struct {
	// State is the device's newest state, every field filled.
	State model.DeviceState
	// Device is the device's row of history for this poll.
	Device model.DeviceSample
	// Samples has one row per interface for a successful poll, none for a
	// failed one.
	Samples []model.Sample
	// Events are the changes since the previous poll, oldest first.
	Events []model.Event
}

// New returns a Deriver for the device called node.
func New(node string) *Deriver {
	return &Deriver{node: node, ifs: map[int]*iface{}}
}

// Update takes the device's next poll and returns the derived output. A
// poll with Err set is a failure: the device is unreachable, its last
// known state is kept without rates.
func (d *Deriver) Update(p Poll) Output {
	if p.Time.IsZero() {
		// The poller always sets it; a zero time would make every
		// interval nonsense.
		p.Time = time.Now()
	}
	p.Time = p.Time.UTC()
	var out Output
	if p.Err != nil {
		out.Events = d.failed(&p)
	} else {
		out.Events, out.Samples = d.succeeded(&p)
	}
	d.seen = true
	d.lastPoll = p.Time
	out.State = d.state()
	out.Device = model.DeviceSample{
		Node:                d.node,
		Time:                p.Time,
		Reachable:           d.reachable,
		Error:               d.lastErr,
		PollDurationSeconds: p.Duration.Seconds(),
		Interfaces:          len(out.Samples),
	}
	if d.reachable {
		out.Device.UptimeSeconds = out.State.UptimeSeconds
		out.Device.Extra = maps.Clone(p.Extra)
	}
	slices.SortStableFunc(out.Events, func(a, b model.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// failed records a failed poll.
func (d *Deriver) failed(p *Poll) []model.Event {
	var events []model.Event
	msg := p.Err.Error()
	if d.seen && d.reachable {
		events = append(events, model.Event{
			Time: p.Time, Node: d.node, Kind: model.EventReachability,
			From: "reachable", To: "unreachable", Detail: msg,
		})
	}
	d.reachable = false
	d.lastErr = msg
	// Rates are over an interval that ended at the previous poll: stale.
	for _, f := range d.ifs {
		f.rates = model.Rates{}
	}
	return events
}

// succeeded derives a successful poll.
func (d *Deriver) succeeded(p *Poll) ([]model.Event, []model.Sample) {
	var events []model.Event
	t := p.Time
	if d.seen && !d.reachable {
		events = append(events, model.Event{
			Time: t, Node: d.node, Kind: model.EventReachability,
			From: "unreachable", To: "reachable", Detail: d.lastErr,
		})
	}
	var st step
	if d.ok {
		st = between(d.okTime, d.uptime, d.haveUptime, d.boots, p)
		if st.reboot {
			boot := t
			if p.HaveUptime {
				boot = t.Add(-ticksDuration(p.Uptime))
			}
			events = append(events, model.Event{Time: boot, Node: d.node, Kind: model.EventReboot, Detail: st.why})
		}
	}
	if p.System != nil {
		d.sys = System{Descr: printable(p.System.Descr), ObjectID: printable(p.System.ObjectID), Name: printable(p.System.Name)}
	}
	if p.Vendor != "" {
		d.vendor = p.Vendor
	}
	if p.Extra != nil {
		d.extra = maps.Clone(p.Extra)
	}

	ifs := make(map[int]*iface, len(p.Interfaces))
	samples := make([]model.Sample, 0, len(p.Interfaces))
	for i := range p.Interfaces {
		r := &p.Interfaces[i]
		if _, dup := ifs[r.Index]; dup {
			continue // a broken agent repeated a row: keep the first
		}
		prev := d.ifs[r.Index]
		f := d.nextIface(prev, r, p)
		ifs[r.Index] = f
		if prev != nil && d.ok {
			events = append(events, d.statusEvents(prev, f, p, st.reboot)...)
		}
		s := model.Sample{
			Node: d.node, Time: t, IfIndex: r.Index, IfName: f.labels.name,
			AdminStatus: statusOf(&f.raw, FieldAdminStatus), OperStatus: statusOf(&f.raw, FieldOperStatus),
			SpeedBps: f.labels.speed,
		}
		sampleCounters(&s, r)
		if prev != nil && d.ok {
			switch {
			case st.reboot:
				s.Discontinuity = true
			case finite(st.seconds):
				res := computeRates(&prev.raw, r, f.labels.speed, st.seconds)
				s.Discontinuity = res.discontinuity
				if !res.discontinuity {
					f.rates = res.rates
					s.Rates = res.rates
					s.IntervalSeconds = st.seconds
				}
			}
		}
		samples = append(samples, s)
	}
	d.ifs = ifs
	d.order = slices.Sorted(maps.Keys(ifs))

	if p.HaveLLDP {
		nbrs := d.neighbors(p.LLDP)
		if d.haveLLDP {
			events = append(events, d.lldpEvents(nbrs, t)...)
		}
		d.lldp, d.haveLLDP = nbrs, true
	}

	d.reachable, d.lastErr = true, ""
	d.ok, d.okTime = true, t
	d.uptime, d.haveUptime = p.Uptime, p.HaveUptime
	if p.EngineBoots != 0 {
		d.boots = p.EngineBoots
	}
	return events, samples
}

// nextIface builds the remembered interface from its previous state and
// the new row: labels carry over when this poll did not fetch them, and
// statuses when the device left them out.
func (d *Deriver) nextIface(prev *iface, r *Interface, p *Poll) *iface {
	f := &iface{raw: *r}
	if prev != nil {
		f.labels = prev.labels
		f.lastChange = prev.lastChange
		// A status column missing from one poll (a broken agent, a cut
		// reply) keeps the last value rather than flapping to unknown.
		if r.Has&FieldAdminStatus == 0 && prev.raw.Has&FieldAdminStatus != 0 {
			f.raw.Has |= FieldAdminStatus
			f.raw.AdminStatus = prev.raw.AdminStatus
		}
		if r.Has&FieldOperStatus == 0 && prev.raw.Has&FieldOperStatus != 0 {
			f.raw.Has |= FieldOperStatus
			f.raw.OperStatus = prev.raw.OperStatus
		}
	}
	if p.Labels || prev == nil {
		f.labels.update(r)
	}
	if r.Has&FieldLastChange != 0 && p.HaveUptime {
		f.lastChange = changeTime(p, r.LastChange)
	}
	return f
}

// changeTime converts an ifLastChange value to a wall-clock time: the
// poll time minus how long ago, in device time, the change happened. Zero
// (the state predates the agent's start) and values after sysUpTime give
// no time.
func changeTime(p *Poll, lastChange uint32) time.Time {
	if lastChange == 0 || lastChange > p.Uptime {
		return time.Time{}
	}
	return p.Time.Add(-ticksDuration(p.Uptime - lastChange))
}

// update takes the label columns of r, with fallbacks: ifDescr names an
// interface when ifName is missing, ifSpeed gives the exact speed below
// 4.29 Gbit/s where ifHighSpeed rounds to Mbit/s.
func (l *labels) update(r *Interface) {
	l.descr = printable(r.Descr)
	l.alias = printable(r.Alias)
	l.name = printable(r.Name)
	if r.Has&FieldName == 0 || r.Name == "" {
		l.name = l.descr
	}
	if r.Has&FieldType != 0 {
		l.typ = r.Type
	}
	switch {
	case r.Has&FieldSpeed != 0 && r.Speed != 0 && r.Speed != 1<<32-1:
		l.speed = uint64(r.Speed)
	case r.Has&FieldHighSpeed != 0:
		l.speed = r.HighSpeed * 1_000_000
	case r.Has&FieldSpeed != 0:
		l.speed = uint64(r.Speed)
	}
}

// statusOf returns the status field b (admin or oper) of r.
func statusOf(r *Interface, b Fields) model.IfStatus {
	if r.Has&b == 0 {
		return model.IfUnknown
	}
	if b == FieldAdminStatus {
		return model.IfStatusFromSNMP(int64(r.AdminStatus))
	}
	return model.IfStatusFromSNMP(int64(r.OperStatus))
}

// statusEvents compares an interface across two polls.
func (d *Deriver) statusEvents(prev, cur *iface, p *Poll, reboot bool) []model.Event {
	var events []model.Event
	ev := func(kind model.EventKind, at time.Time, from, to model.IfStatus, detail string) {
		events = append(events, model.Event{
			Time: at, Node: d.node, Kind: kind, IfIndex: cur.raw.Index, IfName: cur.labels.name,
			From: string(from), To: string(to), Detail: detail,
		})
	}
	// A change happened between the two polls; ifLastChange dates it more
	// precisely than the poll when it falls in that window.
	at := p.Time
	if !cur.lastChange.IsZero() && cur.lastChange.After(d.okTime.Add(-time.Second)) && !cur.lastChange.After(p.Time) {
		at = cur.lastChange
	}
	if a, b := statusOf(&prev.raw, FieldAdminStatus), statusOf(&cur.raw, FieldAdminStatus); a != b {
		ev(model.EventAdminStatus, p.Time, a, b, "")
	}
	a, b := statusOf(&prev.raw, FieldOperStatus), statusOf(&cur.raw, FieldOperStatus)
	switch {
	case a != b:
		ev(model.EventOperStatus, at, a, b, "")
		if cur.lastChange.IsZero() || at.Equal(p.Time) {
			cur.lastChange = at
		}
	case !reboot && prev.raw.Has&cur.raw.Has&FieldLastChange != 0 && prev.raw.LastChange != cur.raw.LastChange:
		ev(model.EventFlap, at, a, b, fmt.Sprintf("left %s and came back between two polls (ifLastChange moved)", a))
	}
	return events
}

// state builds the DeviceState from what the Deriver holds.
func (d *Deriver) state() model.DeviceState {
	s := model.DeviceState{
		Node:        d.node,
		Reachable:   d.reachable,
		Error:       d.lastErr,
		SysName:     d.sys.Name,
		SysDescr:    d.sys.Descr,
		SysObjectID: d.sys.ObjectID,
		Vendor:      d.vendor,
		LastPoll:    d.lastPoll,
		Interfaces:  make([]model.InterfaceState, 0, len(d.order)),
		Extra:       maps.Clone(d.extra),
	}
	if d.haveUptime {
		s.UptimeSeconds = int64(d.uptime / 100)
	}
	for _, idx := range d.order {
		f := d.ifs[idx]
		typ := ""
		if f.raw.Has&FieldType != 0 || f.labels.typ != 0 {
			typ = IfTypeName(f.labels.typ)
		}
		s.Interfaces = append(s.Interfaces, model.InterfaceState{
			Index:       idx,
			Name:        f.labels.name,
			Descr:       f.labels.descr,
			Alias:       f.labels.alias,
			Type:        typ,
			AdminStatus: statusOf(&f.raw, FieldAdminStatus),
			OperStatus:  statusOf(&f.raw, FieldOperStatus),
			SpeedBps:    f.labels.speed,
			LastChange:  f.lastChange,
			Rates:       f.rates,
		})
	}
	if len(d.lldp) > 0 {
		s.LLDPNeighbors = slices.Clone(d.lldp)
	}
	return s
}
