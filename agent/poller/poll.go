package poller

import (
	"bytes"
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
)

// Result is the outcome of one poll of one device.
type Result struct {
	// Poll is the raw data (or Poll.Err), for derive.Deriver.Update.
	Poll derive.Poll
	// Reason classifies a failure for metrics: timeout, auth, refused,
	// malformed, snmp_error, protocol, deadline, canceled, error, panic.
	// Empty on success.
	Reason string
	// What the poll cost and what went wrong on the way.
	Requests      int // Get and GetBulk requests, retries excluded
	Retries       int // requests sent again after a timeout or an unreadable answer
	Varbinds      int // varbinds received
	Truncated     int // responses that came back shorter than asked
	NonIncreasing int // columns the device walked backwards
	TooBig        int // tooBig answers
	BadValues     int // varbinds of the wrong type or index, dropped

	gets int // Get requests among Requests
}

// Non-repeaters of the first GetBulk: GetNext of the scalar objects gives
// their .0 instances, so every poll reads sysUpTime in the same PDU as
// the first counters, at no extra round trip. Extra scalars follow them.
var (
	objSysUpTime = mustOID(".1.3.6.1.2.1.1.3")
	objIfNumber  = mustOID(".1.3.6.1.2.1.2.1")
)

const (
	nonRepUptime   = 0
	nonRepIfNumber = 1
	nonRepExtras   = 2 // the first extra scalar
)

// poll runs one poll of t. It never panics: a device that sends garbage
// gets a failed Result.
func (p *Poller) poll(ctx context.Context, t *Target, m *memory, full bool) (res Result) {
	start := time.Now()
	res.Poll = derive.Poll{Node: t.Node, Address: t.Address}
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("poll panicked: this is a bug", "node", t.Node, "panic", r, "stack", string(debug.Stack()))
			res.Poll = derive.Poll{Node: t.Node, Address: t.Address, Err: fmt.Errorf("internal error: %v", r)}
			res.Reason = "panic"
		}
		res.Poll.Time = timeOr(res.Poll.Time, start)
		res.Poll.Duration = time.Since(start)
	}()
	s := t.settings()
	onRetry := func() { res.Retries++ }
	var c client
	var g *gosnmp.GoSNMP
	if t.Profile.Version == model.SNMPv3 {
		g = newSession(ctx, t, s, m.engine, p.cfg.SourceAddress)
		g.OnRetry = func(*gosnmp.GoSNMP) { onRetry() }
		if err := p.connect(g); err != nil {
			return failed(res, fmt.Errorf("opening a socket to %s: %w", t.Address, err), "error")
		}
		defer g.Close()
		buf := p.buffers.Get().(*v2cBuffers)
		defer p.buffers.Put(buf)
		c = &gosnmpClient{g: g, buf: buf}
	} else {
		vc, err := p.newV2cClient(ctx, t, s, onRetry)
		if err != nil {
			return failed(res, fmt.Errorf("opening a socket to %s: %w", t.Address, err), "error")
		}
		defer vc.close(p)
		c = vc
	}
	var st pollStats
	b, err := p.read(c, t, m, s, full, &st, start)
	res.Requests, res.gets = st.getRequests+st.bulkRequests, st.getRequests
	res.Varbinds, res.Truncated, res.NonIncreasing, res.TooBig = st.varbinds, st.truncated, st.nonIncreasing, st.tooBig
	res.BadValues = st.badValues
	if err != nil {
		startedWithEngine := m.engine != nil
		if g != nil {
			// A changed engine or wrong keys look alike; start afresh.
			m.engine = nil
		}
		reason, err := classify(err, t, engineFound(g), startedWithEngine)
		return failed(res, err, reason)
	}
	res.Poll = b.finish()
	if g != nil {
		m.engine = saveEngine(g)
		if m.engine != nil {
			res.Poll.EngineBoots = m.engine.boots
		}
	}
	return res
}

func timeOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func failed(res Result, err error, reason string) Result {
	res.Poll = derive.Poll{Node: res.Poll.Node, Address: res.Poll.Address, Time: res.Poll.Time, Err: err}
	res.Reason = reason
	return res
}

// read sends the requests of one poll and collects the values.
func (p *Poller) read(c client, t *Target, m *memory, s settings, full bool, st *pollStats, start time.Time) (*builder, error) {
	pl := p.cfg.planFor(m, t, full)
	b := newBuilder(max(m.ifNumber, 0))
	b.poll.Node, b.poll.Address = t.Node, t.Address
	vendor := m.vendor
	if pl.system {
		// The system group in one Get: it also tells the vendor, hence
		// which profile OIDs to read.
		st.getRequests++
		resp, err := c.get(systemOIDs)
		if err != nil {
			return nil, err
		}
		if resp.errorStatus != statusNoError {
			return nil, &snmpError{resp.errorStatus, resp.errorIndex}
		}
		st.varbinds += len(resp.vbs)
		for i := range resp.vbs {
			v := &resp.vbs[i]
			if v.typ != tagNoSuchObject && v.typ != tagNoSuchInstance {
				b.system(v)
			}
		}
		if b.poll.System != nil {
			vendor = vendorOf("." + b.poll.System.ObjectID)
		}
	}
	if vendor == "" {
		vendor = model.VendorGeneric
	}
	b.poll.Vendor = vendor
	b.poll.Labels = pl.labels
	b.poll.HaveLLDP = pl.lldp

	// Columns: statuses and counters always, the rest by plan.
	var cols []*column
	add := func(defs []columnDef, expect int) {
		for i := range defs {
			cols = append(cols, newColumn(&defs[i], expect))
		}
	}
	add(statusColumns, m.ifNumber)
	if pl.counters32 {
		add(counter32Columns, m.ifNumber)
	} else {
		add(hcColumns, m.ifNumber)
	}
	if pl.labels {
		add(labelColumns, m.ifNumber)
	}
	if pl.lldp {
		for i := range lldpColumns {
			cols = append(cols, newColumn(&lldpColumns[i], m.expectRows(lldpColumns[i].oid)))
		}
	}
	nonRep := [][]byte{objSysUpTime, objIfNumber}
	var scalarExtras []string // names of the extra scalars, from nonRepExtras on
	var extraDefs []columnDef
	for _, spec := range p.cfg.extraOIDs(vendor) {
		enc, err := appendOID(nil, spec.OID)
		if err != nil {
			continue // refused by the configuration's validation already
		}
		if spec.Column {
			extraDefs = append(extraDefs, columnDef{id: colExtra, oid: spec.OID, enc: enc, table: tableExtra, name: spec.Name})
			continue
		}
		obj := bytes.TrimSuffix(enc, []byte{0}) // the object, whose .0 GetNext returns
		if !slices.ContainsFunc(nonRep, func(o []byte) bool { return bytes.Equal(o, obj) }) && len(nonRep) < maxOIDsPerRequest/2 {
			nonRep = append(nonRep, obj)
			scalarExtras = append(scalarExtras, spec.Name)
		}
	}
	for i := range extraDefs {
		// A column the device lacked last time is looked for again with
		// the labels only: in a shared GetBulk it would cost a full
		// repetition count of useless varbinds at every poll.
		if n := m.expectRows(extraDefs[i].oid); n != 0 || pl.labels {
			cols = append(cols, newColumn(&extraDefs[i], n))
		}
	}

	ifn := -1
	w := &walker{c: c, maxRep: s.maxRepetitions, stats: st}
	scalar := func(i int, v *varbind) {
		switch i {
		case nonRepUptime:
			if bytes.Equal(v.name, encSysUpTime) {
				b.uptime(v)
			}
		case nonRepIfNumber:
			ifn = ifNumber(v)
		default:
			// The object's .0 instance, not the next object's.
			obj := nonRep[i]
			if len(v.name) == len(obj)+1 && v.name[len(obj)] == 0 && bytes.HasPrefix(v.name, obj) {
				b.extra(scalarExtras[i-nonRepExtras], v)
			}
		}
	}
	first := func() {
		b.poll.Time = time.Now()
		if ifn >= 0 {
			for _, c := range cols {
				if c.def.table == tableIf {
					c.expect = ifn
				}
			}
		}
		// A reboot or a changed interface count: names and indexes may
		// have moved, read the labels now rather than in ten polls.
		changed := (ifn >= 0 && m.ifNumber >= 0 && ifn != m.ifNumber) ||
			(b.poll.HaveUptime && m.haveUptime && b.poll.Uptime < m.uptime)
		if changed && !pl.labels {
			pl.labels = true
			b.poll.Labels = true
			for i := range labelColumns {
				cols = append(cols, newColumn(&labelColumns[i], ifn))
			}
		}
		if changed && !pl.system {
			m.systemDue = true // a new firmware has a new sysDescr
		}
	}
	row := func(c *column, suffix []byte, index int, v *varbind) { b.row(c.def, suffix, index, v) }
	if err := w.walk(&cols, nonRep, scalar, first, row); err != nil {
		return nil, err
	}
	// A device without ifXTable counters: read the 32-bit ones, now and
	// from now on.
	m.no64 = (!pl.counters32 && columnRows(cols, colIfHCInOctets) == 0 && columnRows(cols, colIfOperStatus) > 0) ||
		(pl.counters32 && m.no64)
	if m.no64 && !pl.counters32 {
		var more []*column
		for i := range counter32Columns {
			more = append(more, newColumn(&counter32Columns[i], ifn))
		}
		if err := w.walk(&more, nil, scalar, nil, row); err != nil {
			return nil, err
		}
	}
	st.badValues = b.bad
	if b.poll.Time.IsZero() {
		b.poll.Time = start
	}
	p.remember(m, &pl, b, ifn, vendor)
	for _, c := range cols {
		if c.def.table != tableIf && c.done {
			if m.rows == nil {
				m.rows = map[string]int{}
			}
			m.rows[c.def.oid] = c.rows
		}
	}
	return b, nil
}

// columnRows returns the rows read from column id.
func columnRows(cols []*column, id colID) int {
	for _, c := range cols {
		if c.def.id == id {
			return c.rows
		}
	}
	return 0
}
