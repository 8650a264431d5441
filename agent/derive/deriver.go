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
	"cmp"
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
	// ifs are the interfaces of the last successful poll, sorted by
	// ifIndex.
	ifs  []iface
	lldp []model.LLDPNeighbor
	// haveLLDP: the LLDP table was read once, so later reads are compared.
	haveLLDP bool
	extra    map[string]float64
}

// iface is what the Deriver remembers of an interface between polls: the
// values of its last read that the next poll is compared to (not the
// strings of the row: the labels hold those), its labels and ifLastChange.
type iface struct {
	index int
	has   Fields
	// pos is the interface's row in the Samples of the last successful
	// Update: its rates, which the Deriver does not keep.
	pos int32

	admin, oper                            int
	lastChangeTicks, discTime              uint32
	hcInOct, hcOutOct, hcInPkts, hcOutPkts uint64
	inOct, outOct, inPkts, outPkts         uint32
	inErr, outErr, inDisc, outDisc         uint32

	labels     labels
	lastChange time.Time
}

// setRaw takes the values of r that later polls are compared to.
func (f *iface) setRaw(r *Interface) {
	f.index, f.has = r.Index, r.Has
	f.admin, f.oper = r.AdminStatus, r.OperStatus
	f.lastChangeTicks, f.discTime = r.LastChange, r.DiscontinuityTime
	f.hcInOct, f.hcOutOct, f.hcInPkts, f.hcOutPkts = r.HCInOctets, r.HCOutOctets, r.HCInPkts, r.HCOutPkts
	f.inOct, f.outOct, f.inPkts, f.outPkts = r.InOctets, r.OutOctets, r.InPkts, r.OutPkts
	f.inErr, f.outErr, f.inDisc, f.outDisc = r.InErrors, r.OutErrors, r.InDiscards, r.OutDiscards
}

// raw returns the row setRaw took, without its strings.
func (f *iface) raw() Interface {
	return Interface{
		Index: f.index, Has: f.has,
		AdminStatus: f.admin, OperStatus: f.oper,
		LastChange: f.lastChangeTicks, DiscontinuityTime: f.discTime,
		HCInOctets: f.hcInOct, HCOutOctets: f.hcOutOct, HCInPkts: f.hcInPkts, HCOutPkts: f.hcOutPkts,
		InOctets: f.inOct, OutOctets: f.outOct, InPkts: f.inPkts, OutPkts: f.outPkts,
		InErrors: f.inErr, OutErrors: f.outErr, InDiscards: f.inDisc, OutDiscards: f.outDisc,
	}
}

// find returns the interface of the last successful poll with ifIndex
// idx, nil when there is none.
func (d *Deriver) find(idx int) *iface {
	lo, hi := 0, len(d.ifs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.ifs[m].index < idx {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(d.ifs) && d.ifs[lo].index == idx {
		return &d.ifs[lo]
	}
	return nil
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
	return &Deriver{node: node}
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
	out.State = d.state(out.Samples)
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
	// state gets none, as this Update has no samples.
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

	// same: the poll has the interfaces of the previous one in the same
	// (sorted) order, the usual case: d.ifs is updated in place.
	same := len(d.ifs) == len(p.Interfaces)
	for i := 0; same && i < len(d.ifs); i++ {
		same = d.ifs[i].index == p.Interfaces[i].Index
	}
	next := d.ifs
	if !same {
		next = make([]iface, 0, len(p.Interfaces))
	}
	// seen holds the ifIndexes of next once the poll's rows are found out
	// of order; until then, an ifIndex above the last one is new.
	var seen map[int]struct{}
	var vals []float64 // the rates, 8 a row of p.Interfaces
	samples := make([]model.Sample, 0, len(p.Interfaces))
	for i := range p.Interfaces {
		r := &p.Interfaces[i]
		var prev *iface
		var prevCopy iface
		if same {
			prevCopy = d.ifs[i] // next[i] is overwritten below
			prev = &prevCopy
		} else {
			if seen == nil && len(next) > 0 && r.Index <= next[len(next)-1].index {
				seen = make(map[int]struct{}, len(p.Interfaces))
				for j := range next {
					seen[next[j].index] = struct{}{}
				}
			}
			if seen != nil {
				if _, dup := seen[r.Index]; dup {
					continue // a broken agent repeated a row: keep the first
				}
				seen[r.Index] = struct{}{}
			}
			prev = d.find(r.Index)
		}
		f := d.nextIface(prev, r, p)
		f.pos = int32(len(samples))
		if prev != nil && d.ok {
			events = append(events, d.statusEvents(prev, &f, p, st.reboot)...)
		}
		s := model.Sample{
			Node: d.node, Time: t, IfIndex: r.Index, IfName: f.labels.name,
			AdminStatus: f.status(FieldAdminStatus), OperStatus: f.status(FieldOperStatus),
			SpeedBps: f.labels.speed,
		}
		sampleCounters(&s, r)
		if prev != nil && d.ok {
			switch {
			case st.reboot:
				s.Discontinuity = true
			case finite(st.seconds):
				if vals == nil {
					// One block for the rates of all the interfaces.
					vals = make([]float64, 8*len(p.Interfaces))
				}
				prevRaw := prev.raw()
				res := computeRates(&prevRaw, r, f.labels.speed, st.seconds, (*[8]float64)(vals[8*i:]))
				s.Discontinuity = res.discontinuity
				if !res.discontinuity {
					s.Rates = res.rates
					s.IntervalSeconds = st.seconds
				}
			}
		}
		samples = append(samples, s)
		if same {
			next[i] = f
		} else {
			next = append(next, f)
		}
	}
	if seen != nil {
		slices.SortFunc(next, func(a, b iface) int { return cmp.Compare(a.index, b.index) })
	}
	d.ifs = next

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
func (d *Deriver) nextIface(prev *iface, r *Interface, p *Poll) iface {
	var f iface
	f.setRaw(r)
	if prev != nil {
		f.labels = prev.labels
		f.lastChange = prev.lastChange
		// A status column missing from one poll (a broken agent, a cut
		// reply) keeps the last value rather than flapping to unknown.
		if r.Has&FieldAdminStatus == 0 && prev.has&FieldAdminStatus != 0 {
			f.has |= FieldAdminStatus
			f.admin = prev.admin
		}
		if r.Has&FieldOperStatus == 0 && prev.has&FieldOperStatus != 0 {
			f.has |= FieldOperStatus
			f.oper = prev.oper
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

// status returns the status field b (admin or oper) of f.
func (f *iface) status(b Fields) model.IfStatus {
	if f.has&b == 0 {
		return model.IfUnknown
	}
	if b == FieldAdminStatus {
		return model.IfStatusFromSNMP(int64(f.admin))
	}
	return model.IfStatusFromSNMP(int64(f.oper))
}

// statusEvents compares an interface across two polls.
func (d *Deriver) statusEvents(prev, cur *iface, p *Poll, reboot bool) []model.Event {
	var events []model.Event
	ev := func(kind model.EventKind, at time.Time, from, to model.IfStatus, detail string) {
		events = append(events, model.Event{
			Time: at, Node: d.node, Kind: kind, IfIndex: cur.index, IfName: cur.labels.name,
			From: string(from), To: string(to), Detail: detail,
		})
	}
	// A change happened between the two polls; ifLastChange dates it more
	// precisely than the poll when it falls in that window.
	at := p.Time
	if !cur.lastChange.IsZero() && cur.lastChange.After(d.okTime.Add(-time.Second)) && !cur.lastChange.After(p.Time) {
		at = cur.lastChange
	}
	if a, b := prev.status(FieldAdminStatus), cur.status(FieldAdminStatus); a != b {
		ev(model.EventAdminStatus, p.Time, a, b, "")
	}
	a, b := prev.status(FieldOperStatus), cur.status(FieldOperStatus)
	switch {
	case a != b:
		ev(model.EventOperStatus, at, a, b, "")
		if cur.lastChange.IsZero() || at.Equal(p.Time) {
			cur.lastChange = at
		}
	case !reboot && prev.has&cur.has&FieldLastChange != 0 && prev.lastChangeTicks != cur.lastChangeTicks:
		ev(model.EventFlap, at, a, b, fmt.Sprintf("left %s and came back between two polls (ifLastChange moved)", a))
	}
	return events
}

// state builds the DeviceState from what the Deriver holds and the samples
// of this Update (nil for a failed poll), which have the rates.
func (d *Deriver) state(samples []model.Sample) model.DeviceState {
	s := model.DeviceState{
		Node:        d.node,
		Reachable:   d.reachable,
		Error:       d.lastErr,
		SysName:     d.sys.Name,
		SysDescr:    d.sys.Descr,
		SysObjectID: d.sys.ObjectID,
		Vendor:      d.vendor,
		LastPoll:    d.lastPoll,
		Interfaces:  make([]model.InterfaceState, 0, len(d.ifs)),
		Extra:       maps.Clone(d.extra),
	}
	if d.haveUptime {
		s.UptimeSeconds = int64(d.uptime / 100)
	}
	for i := range d.ifs {
		f := &d.ifs[i]
		var rates model.Rates
		if int(f.pos) < len(samples) {
			rates = samples[f.pos].Rates
		}
		typ := ""
		if f.has&FieldType != 0 || f.labels.typ != 0 {
			typ = IfTypeName(f.labels.typ)
		}
		s.Interfaces = append(s.Interfaces, model.InterfaceState{
			Index:       f.index,
			Name:        f.labels.name,
			Descr:       f.labels.descr,
			Alias:       f.labels.alias,
			Type:        typ,
			AdminStatus: f.status(FieldAdminStatus),
			OperStatus:  f.status(FieldOperStatus),
			SpeedBps:    f.labels.speed,
			LastChange:  f.lastChange,
			Rates:       rates,
		})
	}
	if len(d.lldp) > 0 {
		s.LLDPNeighbors = slices.Clone(d.lldp)
	}
	return s
}
