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
// or, for an agent that keeps many Derivers, out := d.Feed(poll) (no
// out.State), and d.State() when the state is wanted.
//
// A counter that went back is a reset, never a negative rate or a spike of
// 2^64; a 32-bit counter that went back is a wrap only when the rate that
// implies fits the interface speed.
package derive

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Deriver holds what one device looked like at its previous polls. It is
// not safe for concurrent use: feed it one device's polls in order.
//
// An agent keeps one per device, tens of thousands of them, so what it
// keeps between polls is packed: 144 bytes an interface and its names
// (see iface). The device's state is built from that on demand (State).
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

	// rated: the last poll succeeded, so the deltas of ifs over dt
	// seconds are the rates of State.
	rated bool
	dt    float64

	sys    System
	vendor model.Vendor
	// ifs are the interfaces of the last successful poll, sorted by
	// ifIndex.
	ifs []iface
	// labels holds the names of ifs, an entry per interface (iface.lab):
	// name, descr and alias, each a uvarint length then the bytes. One
	// string for the device rather than three an interface, and a copy:
	// never the poller's strings, which may share its buffers.
	labels string
	// pending holds, during an Update only, the labels of this poll that
	// are not in labels yet (iface.lab indexes it when ifPending is set).
	pending []labelSet
	rows    int // during an Update: the rows of the poll
	// c32 holds, by ifIndex, the 32-bit octet and packet counters of the
	// interfaces whose row had both the 64-bit and the 32-bit ones (an
	// iface keeps one set: see iface.ctr); nil when none did, as with
	// every device the poller reads.
	c32 map[int][4]uint32

	lldp []model.LLDPNeighbor
	// haveLLDP: the LLDP table was read once, so later reads are compared.
	haveLLDP bool
	extra    map[string]float64
}

// iface is what the Deriver remembers of an interface between polls: the
// values of its last read that the next poll is compared to, the counter
// increases that gave the last rates (State recomputes those from them),
// its labels and ifLastChange. 144 bytes, no padding (a test checks).
type iface struct {
	index int
	// ctr are the octet and packet counters (in, out octets; in, out
	// packets): the 64-bit ones when the row had a 64-bit octet counter
	// (has64), the 32-bit ones otherwise (the poller reads one set or the
	// other). A rate never mixes them; the rare row with both keeps its
	// 32-bit ones in Deriver.c32.
	ctr [4]uint64
	// dCtr and dErrs are how much the counters grew since the previous
	// poll, in the order of model.Rates; rated says which give a rate.
	dCtr       [4]uint64
	speed      uint64 // bit/s
	lastChange int64  // Unix ns; 0: none

	has                       Fields
	typ                       int32 // IANAifType (an Integer32 on the wire)
	lastChangeTicks, discTime uint32
	errs                      [4]uint32 // in, out errors; in, out discards
	dErrs                     [4]uint32
	// lab is where the labels start in Deriver.labels, or their index in
	// Deriver.pending when flags has ifPending.
	lab uint32

	admin, oper uint8 // statusCode of ifAdminStatus and ifOperStatus
	rated       uint8 // bit i: rate i (model.Rates order) has a value
	flags       uint8
}

// iface flags.
const (
	ifPending uint8 = 1 << iota // lab indexes Deriver.pending
)

// counters32 are the Fields of the 32-bit octet and packet counters.
const counters32 = FieldInOctets | FieldOutOctets | FieldInPkts | FieldOutPkts

// statusCode packs an ifAdminStatus/ifOperStatus value: the value when it
// is one of the MIB's (1…7), 0 (unknown) otherwise.
func statusCode(v int) uint8 {
	if v >= 1 && v <= 7 {
		return uint8(v)
	}
	return 0
}

// setRaw takes the values of r that later polls are compared to.
func (f *iface) setRaw(r *Interface) {
	f.index, f.has = r.Index, r.Has
	f.admin, f.oper = statusCode(r.AdminStatus), statusCode(r.OperStatus)
	f.lastChangeTicks, f.discTime = r.LastChange, r.DiscontinuityTime
	if has64(r) {
		f.ctr = [4]uint64{r.HCInOctets, r.HCOutOctets, r.HCInPkts, r.HCOutPkts}
	} else {
		f.ctr = [4]uint64{uint64(r.InOctets), uint64(r.OutOctets), uint64(r.InPkts), uint64(r.OutPkts)}
	}
	f.errs = [4]uint32{r.InErrors, r.OutErrors, r.InDiscards, r.OutDiscards}
}

// counterRow returns the counters of f as the row setRaw took them (no
// statuses, no strings): what setDeltas compares the next row to.
func (d *Deriver) counterRow(f *iface) Interface {
	r := Interface{
		Index: f.index, Has: f.has, DiscontinuityTime: f.discTime,
		InErrors: f.errs[0], OutErrors: f.errs[1], InDiscards: f.errs[2], OutDiscards: f.errs[3],
	}
	if f.has&(FieldHCInOctets|FieldHCOutOctets) != 0 {
		r.HCInOctets, r.HCOutOctets, r.HCInPkts, r.HCOutPkts = f.ctr[0], f.ctr[1], f.ctr[2], f.ctr[3]
		if f.has&counters32 != 0 {
			c := d.c32[f.index]
			r.InOctets, r.OutOctets, r.InPkts, r.OutPkts = c[0], c[1], c[2], c[3]
		}
	} else {
		r.InOctets, r.OutOctets, r.InPkts, r.OutPkts = uint32(f.ctr[0]), uint32(f.ctr[1]), uint32(f.ctr[2]), uint32(f.ctr[3])
	}
	return r
}

// unixNanos and fromUnixNanos convert iface.lastChange.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
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

// labelSet are the label strings of an interface.
type labelSet struct {
	name, descr, alias string
}

// labelsOf returns the labels of f.
func (d *Deriver) labelsOf(f *iface) labelSet {
	if f.flags&ifPending != 0 {
		return d.pending[f.lab]
	}
	var l labelSet
	s := d.labels[f.lab:]
	l.name, s = cutLabel(s)
	l.descr, s = cutLabel(s)
	l.alias, _ = cutLabel(s)
	return l
}

// cutLabel splits s after its first entry (a uvarint length, the bytes).
func cutLabel(s string) (label, rest string) {
	var n uint64
	i := 0
	for shift := 0; ; shift += 7 {
		b := s[i]
		i++
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
	}
	end := i + int(n)
	return s[i:end], s[end:]
}

// packLabels moves the pending labels of d.ifs into a new labels string,
// with those of the other interfaces (dropping the entries of interfaces
// that are gone).
func (d *Deriver) packLabels() {
	var tmp [binary.MaxVarintLen64]byte
	n := 0
	for i := range d.ifs {
		l := d.labelsOf(&d.ifs[i])
		for _, s := range [3]string{l.name, l.descr, l.alias} {
			n += binary.PutUvarint(tmp[:], uint64(len(s))) + len(s)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i := range d.ifs {
		f := &d.ifs[i]
		l := d.labelsOf(f)
		f.lab, f.flags = uint32(b.Len()), f.flags&^ifPending
		for _, s := range [3]string{l.name, l.descr, l.alias} {
			b.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(s)))])
			b.WriteString(s)
		}
	}
	d.labels, d.pending = b.String(), nil
}

// Output is what one poll gives. Its slices and maps are the caller's;
// rate pointers may be shared between State and Samples: treat them as
// read-only.
type Output struct {
	// State is the device's newest state, every field filled (Update; Feed
	// leaves it zero: see State).
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
// known state is kept without rates. Update is Feed, then State.
func (d *Deriver) Update(p Poll) Output {
	out := d.Feed(p)
	out.State = d.State()
	return out
}

// Feed is Update without Output.State, for a caller that keeps many
// Derivers and needs a device's state now and then only: State builds it,
// the same as Update's, from what the Deriver keeps anyway.
func (d *Deriver) Feed(p Poll) Output {
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
	out.Device = model.DeviceSample{
		Node:                d.node,
		Time:                p.Time,
		Reachable:           d.reachable,
		Error:               d.lastErr,
		PollDurationSeconds: p.Duration.Seconds(),
		Interfaces:          len(out.Samples),
	}
	if d.reachable {
		out.Device.UptimeSeconds = d.uptimeSeconds()
		out.Device.Extra = maps.Clone(p.Extra)
		// The strings the Deriver keeps, not copies: samples are read-only.
		out.Device.SysName, out.Device.SysDescr, out.Device.SysObjectID = d.sys.Name, d.sys.Descr, d.sys.ObjectID
		out.Device.Vendor = d.vendor
	}
	slices.SortStableFunc(out.Events, func(a, b model.Event) int { return a.Time.Compare(b.Time) })
	return out
}

// Reachable reports whether the device's last poll succeeded (false
// before the first).
func (d *Deriver) Reachable() bool { return d.reachable }

// LastPoll is the time of the last poll, successful or not (zero before
// the first): State's LastPoll, without building the state.
func (d *Deriver) LastPoll() time.Time { return d.lastPoll }

// uptimeSeconds is the sysUpTime of the last successful poll that had it.
func (d *Deriver) uptimeSeconds() int64 {
	if d.haveUptime {
		return int64(d.uptime / 100)
	}
	return 0
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
	d.rated = false
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
	var c32 map[int][4]uint32
	d.rows = len(p.Interfaces)
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
		if has64(r) && r.Has&counters32 != 0 {
			if c32 == nil {
				c32 = map[int][4]uint32{}
			}
			c32[r.Index] = [4]uint32{r.InOctets, r.OutOctets, r.InPkts, r.OutPkts}
		}
		f := d.nextIface(prev, r, p)
		if prev != nil && d.ok {
			events = append(events, d.statusEvents(prev, &f, p, st.reboot)...)
		}
		// The labels are filled below, once packLabels has them.
		s := model.Sample{
			Node: d.node, Time: t, IfIndex: r.Index,
			AdminStatus: f.status(FieldAdminStatus), OperStatus: f.status(FieldOperStatus),
			SpeedBps: f.speed, Type: f.typeName(),
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
				prevRow := d.counterRow(prev)
				s.Discontinuity = !f.setDeltas(&prevRow, r, st.seconds)
				if !s.Discontinuity {
					s.Rates = f.rates(st.seconds, (*[8]float64)(vals[8*i:]))
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
	d.ifs, d.c32 = next, c32
	if d.pending != nil {
		d.packLabels()
	}
	// The samples' labels are substrings of d.labels: no copy per poll,
	// and never the poller's strings (which may share its buffers). Unless
	// rows came out of order (seen), samples[i] is the row of d.ifs[i].
	for i := range samples {
		f := &d.ifs[i]
		if seen != nil {
			f = d.find(samples[i].IfIndex)
		}
		l := d.labelsOf(f)
		samples[i].IfName, samples[i].Descr, samples[i].Alias = l.name, l.descr, l.alias
	}

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
	d.rated, d.dt = true, st.seconds
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
		f.typ, f.speed, f.lab = prev.typ, prev.speed, prev.lab
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
		d.updateLabels(&f, prev, r)
	}
	if r.Has&FieldLastChange != 0 && p.HaveUptime {
		f.lastChange = unixNanos(changeTime(p, r.LastChange))
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

// updateLabels takes the label columns of r into f (whose labels are
// prev's, if any), with fallbacks: ifDescr names an interface when ifName
// is missing, ifSpeed gives the exact speed below 4.29 Gbit/s where
// ifHighSpeed rounds to Mbit/s. Changed strings wait in d.pending for
// packLabels.
func (d *Deriver) updateLabels(f *iface, prev *iface, r *Interface) {
	l := labelSet{name: printable(r.Name), descr: printable(r.Descr), alias: printable(r.Alias)}
	if r.Has&FieldName == 0 || r.Name == "" {
		l.name = l.descr
	}
	if r.Has&FieldType != 0 {
		f.typ = int32(r.Type)
	}
	switch {
	case r.Has&FieldSpeed != 0 && r.Speed != 0 && r.Speed != 1<<32-1:
		f.speed = uint64(r.Speed)
	case r.Has&FieldHighSpeed != 0:
		f.speed = r.HighSpeed * 1_000_000
	case r.Has&FieldSpeed != 0:
		f.speed = uint64(r.Speed)
	}
	if prev != nil && d.labelsOf(prev) == l {
		return // f.lab is prev's
	}
	if d.pending == nil {
		d.pending = make([]labelSet, 0, d.rows)
	}
	f.lab, f.flags = uint32(len(d.pending)), f.flags|ifPending
	d.pending = append(d.pending, l)
}

// typeName is the IANAifType name of f, "" when the device never gave
// ifType.
func (f *iface) typeName() string {
	if f.has&FieldType != 0 || f.typ != 0 {
		return IfTypeName(int(f.typ))
	}
	return ""
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
	name := d.labelsOf(cur).name
	ev := func(kind model.EventKind, at time.Time, from, to model.IfStatus, detail string) {
		events = append(events, model.Event{
			Time: at, Node: d.node, Kind: kind, IfIndex: cur.index, IfName: name,
			From: string(from), To: string(to), Detail: detail,
		})
	}
	// A change happened between the two polls; ifLastChange dates it more
	// precisely than the poll when it falls in that window.
	at := p.Time
	if lc := fromUnixNanos(cur.lastChange); !lc.IsZero() && lc.After(d.okTime.Add(-time.Second)) && !lc.After(p.Time) {
		at = lc
	}
	if a, b := prev.status(FieldAdminStatus), cur.status(FieldAdminStatus); a != b {
		ev(model.EventAdminStatus, p.Time, a, b, "")
	}
	a, b := prev.status(FieldOperStatus), cur.status(FieldOperStatus)
	switch {
	case a != b:
		ev(model.EventOperStatus, at, a, b, "")
		if cur.lastChange == 0 || at.Equal(p.Time) {
			cur.lastChange = unixNanos(at)
		}
	case !reboot && prev.has&cur.has&FieldLastChange != 0 && prev.lastChangeTicks != cur.lastChangeTicks:
		ev(model.EventFlap, at, a, b, fmt.Sprintf("left %s and came back between two polls (ifLastChange moved)", a))
	}
	return events
}

// State returns the device's newest state, every field filled: what the
// last Update returned as Output.State.
func (d *Deriver) State() model.DeviceState {
	s := model.DeviceState{
		Node:          d.node,
		Reachable:     d.reachable,
		Error:         d.lastErr,
		SysName:       d.sys.Name,
		SysDescr:      d.sys.Descr,
		SysObjectID:   d.sys.ObjectID,
		Vendor:        d.vendor,
		UptimeSeconds: d.uptimeSeconds(),
		LastPoll:      d.lastPoll,
		Interfaces:    make([]model.InterfaceState, 0, len(d.ifs)),
		Extra:         maps.Clone(d.extra),
	}
	var vals []float64 // the rates, 8 an interface
	for i := range d.ifs {
		f := &d.ifs[i]
		var rates model.Rates
		if d.rated && f.rated != 0 {
			if vals == nil {
				vals = make([]float64, 8*len(d.ifs))
			}
			rates = f.rates(d.dt, (*[8]float64)(vals[8*i:]))
		}
		l := d.labelsOf(f)
		s.Interfaces = append(s.Interfaces, model.InterfaceState{
			Index:       f.index,
			Name:        l.name,
			Descr:       l.descr,
			Alias:       l.alias,
			Type:        f.typeName(),
			AdminStatus: f.status(FieldAdminStatus),
			OperStatus:  f.status(FieldOperStatus),
			SpeedBps:    f.speed,
			LastChange:  fromUnixNanos(f.lastChange),
			Rates:       rates,
		})
	}
	if len(d.lldp) > 0 {
		s.LLDPNeighbors = slices.Clone(d.lldp)
	}
	return s
}
