package snmpsim

import (
	"slices"
	"strconv"
	"time"
)

// object is a MIB object whose value the generator computes.
type object uint8

const (
	objRecorded object = iota // the value comes from a recording
	objSysDescr
	objSysObjectID
	objSysUpTime
	objSysContact
	objSysName
	objSysLocation
	objSysServices
	objIfNumber
	objIfIndex
	objIfDescr
	objIfType
	objIfMtu
	objIfSpeed
	objIfPhysAddress
	objIfAdminStatus
	objIfOperStatus
	objIfLastChange
	objIfInOctets
	objIfInUcastPkts
	objIfInDiscards
	objIfInErrors
	objIfOutOctets
	objIfOutUcastPkts
	objIfOutDiscards
	objIfOutErrors
	objIfName
	objIfInMulticastPkts
	objIfInBroadcastPkts
	objIfOutMulticastPkts
	objIfOutBroadcastPkts
	objIfHCInOctets
	objIfHCInUcastPkts
	objIfHCInMulticastPkts
	objIfHCInBroadcastPkts
	objIfHCOutOctets
	objIfHCOutUcastPkts
	objIfHCOutMulticastPkts
	objIfHCOutBroadcastPkts
	objIfHighSpeed
	objIfAlias
	objIfCounterDiscontinuityTime
	objEntPhysicalDescr
	objEntPhysicalSerialNum
	objEntPhysicalModelName
	objLldpRemChassisIDSubtype
	objLldpRemChassisID
	objLldpRemPortIDSubtype
	objLldpRemPortID
	objLldpRemPortDesc
	objLldpRemSysName
)

// rows says how an object is instantiated.
type rows uint8

const (
	rowScalar    rows = iota // .0
	rowInterface             // .ifIndex, one per interface
	rowChassis               // .1, the chassis entity (ENTITY-MIB)
	rowLLDP                  // .timeMark.localPortNum.remIndex, one per cabled uplink
)

// objectDef ties an object to the OID of its type (scalar or column).
type objectDef struct {
	obj  object
	oid  []uint32
	rows rows
}

// objectDefs is the generated MIB. The order does not matter: layouts are
// sorted by OID.
var objectDefs = []objectDef{
	{objSysDescr, mustOID("1.3.6.1.2.1.1.1"), rowScalar},
	{objSysObjectID, mustOID("1.3.6.1.2.1.1.2"), rowScalar},
	{objSysUpTime, mustOID("1.3.6.1.2.1.1.3"), rowScalar},
	{objSysContact, mustOID("1.3.6.1.2.1.1.4"), rowScalar},
	{objSysName, mustOID("1.3.6.1.2.1.1.5"), rowScalar},
	{objSysLocation, mustOID("1.3.6.1.2.1.1.6"), rowScalar},
	{objSysServices, mustOID("1.3.6.1.2.1.1.7"), rowScalar},
	{objIfNumber, mustOID("1.3.6.1.2.1.2.1"), rowScalar},
	{objIfIndex, mustOID("1.3.6.1.2.1.2.2.1.1"), rowInterface},
	{objIfDescr, mustOID("1.3.6.1.2.1.2.2.1.2"), rowInterface},
	{objIfType, mustOID("1.3.6.1.2.1.2.2.1.3"), rowInterface},
	{objIfMtu, mustOID("1.3.6.1.2.1.2.2.1.4"), rowInterface},
	{objIfSpeed, mustOID("1.3.6.1.2.1.2.2.1.5"), rowInterface},
	{objIfPhysAddress, mustOID("1.3.6.1.2.1.2.2.1.6"), rowInterface},
	{objIfAdminStatus, mustOID("1.3.6.1.2.1.2.2.1.7"), rowInterface},
	{objIfOperStatus, mustOID("1.3.6.1.2.1.2.2.1.8"), rowInterface},
	{objIfLastChange, mustOID("1.3.6.1.2.1.2.2.1.9"), rowInterface},
	{objIfInOctets, mustOID("1.3.6.1.2.1.2.2.1.10"), rowInterface},
	{objIfInUcastPkts, mustOID("1.3.6.1.2.1.2.2.1.11"), rowInterface},
	{objIfInDiscards, mustOID("1.3.6.1.2.1.2.2.1.13"), rowInterface},
	{objIfInErrors, mustOID("1.3.6.1.2.1.2.2.1.14"), rowInterface},
	{objIfOutOctets, mustOID("1.3.6.1.2.1.2.2.1.16"), rowInterface},
	{objIfOutUcastPkts, mustOID("1.3.6.1.2.1.2.2.1.17"), rowInterface},
	{objIfOutDiscards, mustOID("1.3.6.1.2.1.2.2.1.19"), rowInterface},
	{objIfOutErrors, mustOID("1.3.6.1.2.1.2.2.1.20"), rowInterface},
	{objIfName, mustOID("1.3.6.1.2.1.31.1.1.1.1"), rowInterface},
	{objIfInMulticastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.2"), rowInterface},
	{objIfInBroadcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.3"), rowInterface},
	{objIfOutMulticastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.4"), rowInterface},
	{objIfOutBroadcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.5"), rowInterface},
	{objIfHCInOctets, mustOID("1.3.6.1.2.1.31.1.1.1.6"), rowInterface},
	{objIfHCInUcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.7"), rowInterface},
	{objIfHCInMulticastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.8"), rowInterface},
	{objIfHCInBroadcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.9"), rowInterface},
	{objIfHCOutOctets, mustOID("1.3.6.1.2.1.31.1.1.1.10"), rowInterface},
	{objIfHCOutUcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.11"), rowInterface},
	{objIfHCOutMulticastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.12"), rowInterface},
	{objIfHCOutBroadcastPkts, mustOID("1.3.6.1.2.1.31.1.1.1.13"), rowInterface},
	{objIfHighSpeed, mustOID("1.3.6.1.2.1.31.1.1.1.15"), rowInterface},
	{objIfAlias, mustOID("1.3.6.1.2.1.31.1.1.1.18"), rowInterface},
	{objIfCounterDiscontinuityTime, mustOID("1.3.6.1.2.1.31.1.1.1.19"), rowInterface},
	{objEntPhysicalDescr, mustOID("1.3.6.1.2.1.47.1.1.1.1.2"), rowChassis},
	{objEntPhysicalSerialNum, mustOID("1.3.6.1.2.1.47.1.1.1.1.11"), rowChassis},
	{objEntPhysicalModelName, mustOID("1.3.6.1.2.1.47.1.1.1.1.13"), rowChassis},
	{objLldpRemChassisIDSubtype, mustOID("1.0.8802.1.1.2.1.4.1.1.4"), rowLLDP},
	{objLldpRemChassisID, mustOID("1.0.8802.1.1.2.1.4.1.1.5"), rowLLDP},
	{objLldpRemPortIDSubtype, mustOID("1.0.8802.1.1.2.1.4.1.1.6"), rowLLDP},
	{objLldpRemPortID, mustOID("1.0.8802.1.1.2.1.4.1.1.7"), rowLLDP},
	{objLldpRemPortDesc, mustOID("1.0.8802.1.1.2.1.4.1.1.8"), rowLLDP},
	{objLldpRemSysName, mustOID("1.0.8802.1.1.2.1.4.1.1.9"), rowLLDP},
}

// sysUpTimeOID is sysUpTime.0, made live in recordings too.
var sysUpTimeOID = mustOID("1.3.6.1.2.1.1.3.0")

// entry is one instance in a device's MIB view.
type entry struct {
	oid    []uint32
	ber    []byte // the OID as a complete TLV, copied as is into responses
	objLen uint8  // sub-identifiers naming the object type (see layout.missing)
	obj    object
	slot   uint16     // interface slot or uplink number
	rec    *recording // recordings: the value
}

// layout is the sorted list of instances a device serves. Generated devices
// with the same vendor, interface count and cabled uplinks share one.
type layout struct {
	entries []entry
}

// layoutKey identifies a generated layout.
type layoutKey struct {
	vendor     *vendorInfo
	interfaces int
	lldp       uint8 // bit k: uplink k is cabled to another simulated device
}

// buildLayout builds the layout of a generated device.
func buildLayout(k layoutKey) *layout {
	n := k.interfaces
	var es []entry
	add := func(d objectDef, slot int, index ...uint32) {
		oid := append(slices.Clip(d.oid), index...)
		es = append(es, entry{oid: oid, objLen: uint8(len(d.oid)), obj: d.obj, slot: uint16(slot)})
	}
	for _, d := range objectDefs {
		switch d.rows {
		case rowScalar:
			add(d, 0, 0)
		case rowInterface:
			for s := 0; s < n; s++ {
				add(d, s, uint32(k.vendor.ifIndexBase+s+1))
			}
		case rowChassis:
			if k.vendor.entDescr != "" {
				add(d, 0, 1)
			}
		case rowLLDP:
			for u := 0; u < uplinks(n); u++ {
				if k.lldp&(1<<u) != 0 {
					slot := n - uplinks(n) + u
					add(d, u, 0, uint32(k.vendor.ifIndexBase+slot+1), 1)
				}
			}
		}
	}
	return newLayout(es)
}

// newLayout sorts the entries and encodes their OIDs once.
func newLayout(es []entry) *layout {
	slices.SortFunc(es, func(a, b entry) int { return compareOID(a.oid, b.oid) })
	var size int
	for i := range es {
		size += 2 + 5*len(es[i].oid)
	}
	arena := make([]byte, 0, size)
	for i := range es {
		start := len(arena)
		arena = appendOIDTLV(arena, es[i].oid)
		es[i].ber = arena[start:len(arena):len(arena)]
	}
	return &layout{entries: es}
}

// search returns the position of the first entry not before oid, and
// whether it is oid itself.
func (l *layout) search(oid []uint32) (int, bool) {
	lo, hi := 0, len(l.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareOID(l.entries[m].oid, oid) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(l.entries) && compareOID(l.entries[lo].oid, oid) == 0
}

// next returns the position of the first entry after oid (GetNext).
func (l *layout) next(oid []uint32) int {
	i, exact := l.search(oid)
	if exact {
		i++
	}
	return i
}

// missing returns the exception for a Get of an OID the device lacks:
// noSuchInstance when the OID lies under an object type the device has
// (a column or scalar), noSuchObject otherwise (RFC 3416 §4.2.1). Every
// instance of an object type sorts contiguously, so the neighbours of the
// OID are the only candidates.
func (l *layout) missing(oid []uint32) byte {
	i, _ := l.search(oid)
	for _, j := range [2]int{i - 1, i} {
		if j >= 0 && j < len(l.entries) {
			e := &l.entries[j]
			if commonPrefix(e.oid, oid) >= int(e.objLen) {
				return tagNoSuchInstance
			}
		}
	}
	return tagNoSuchObject
}

// view is one device as one request sees it: the instant and the boot
// are fixed for the whole request, so that every varbind of a response is
// consistent, and per-interface work is cached in scratch owned by the
// worker.
type view struct {
	s      *Simulator
	d      *Device
	p      *devProfile
	vi     *vendorInfo // nil for recordings
	lay    *layout
	n      int // interfaces
	seed   uint64
	nowMs  int64 // unix ms
	bootMs int64
	boots  uint32
	omega  float64
	ifs    []ifCache
	gen    uint32
}

// ifCache holds what a request computed about one interface. info depends
// on the device only, so it stays valid across requests to the same device
// (a walk, a poller's successive GetBulks); the rest is per request.
type ifCache struct {
	gen      uint32
	have     uint8 // haveCounters | haveStatus
	infoDev  *Device
	info     ifInfo
	bootMs   int64      // the boot atBoot was computed for
	atBoot   [2]float64 // see view.bootTerms
	ctr      ifCounters
	up       bool
	changeMs int64
}

const (
	haveCounters = 1 << iota
	haveStatus
)

// reset points the view at device d at instant now.
func (v *view) reset(s *Simulator, d *Device, now time.Time) {
	v.s, v.d, v.p = s, d, d.p
	v.nowMs = now.UnixMilli()
	v.bootMs, v.boots = d.boot(v.nowMs)
	v.seed = d.seed()
	v.lay = d.layout()
	v.vi = nil
	v.n = 0
	if d.p.Recording == nil {
		v.vi = d.vendor()
		v.n = d.p.Interfaces
		v.omega = d.p.omega
		if cap(v.ifs) < v.n {
			v.ifs = make([]ifCache, v.n)
		}
		v.ifs = v.ifs[:v.n]
	}
	v.gen++
	if v.gen == 0 {
		// Wrapped: clear so that no stale entry matches the new generation.
		clear(v.ifs[:cap(v.ifs)])
		v.gen = 1
	}
}

// iface returns the cached interface at slot with at least what is asked.
func (v *view) iface(slot int, want uint8) *ifCache {
	c := &v.ifs[slot]
	if c.gen != v.gen {
		c.gen, c.have = v.gen, 0
		if c.infoDev != v.d {
			v.fillInterfaceInfo(slot, &c.info)
			c.infoDev = v.d
			c.bootMs = v.bootMs
			c.atBoot = v.bootTerms(&c.info)
		}
	}
	if want&haveCounters != 0 && c.have&haveCounters == 0 {
		if c.bootMs != v.bootMs {
			c.bootMs = v.bootMs
			c.atBoot = v.bootTerms(&c.info)
		}
		c.ctr = v.counters(&c.info, &c.atBoot)
		c.have |= haveCounters
	}
	if want&haveStatus != 0 && c.have&haveStatus == 0 {
		c.up, c.changeMs = v.operStatus(slot, &c.info)
		c.have |= haveStatus
	}
	return c
}

// ticks converts a duration in ms to TimeTicks (hundredths of a second),
// wrapping at 2^32 like the real thing (after 497 days).
func ticks(ms int64) uint64 {
	if ms < 0 {
		return 0
	}
	return uint64(uint32(ms / 10))
}

// appendValue appends the value TLV of entry e.
func (v *view) appendValue(dst []byte, e *entry) []byte {
	switch e.obj {
	case objRecorded:
		return e.rec.appendValue(dst, v)
	case objSysUpTime:
		return appendUint(dst, tagTimeTicks, ticks(v.nowMs-v.bootMs))
	case objSysDescr:
		dst, m := beginTLV(dst)
		dst = append(dst, v.vi.descrA...)
		if v.vi.descrB != "" {
			dst = v.d.appendSysName(dst)
			dst = append(dst, v.vi.descrB...)
		}
		return endTLV(dst, m, tagOctetString)
	case objSysObjectID:
		return appendOIDTLV(dst, v.vi.sysObjectID)
	case objSysContact:
		return appendString(dst, tagOctetString, v.p.Contact)
	case objSysName:
		dst, m := beginTLV(dst)
		dst = v.d.appendSysName(dst)
		return endTLV(dst, m, tagOctetString)
	case objSysLocation:
		return appendString(dst, tagOctetString, v.p.Location)
	case objSysServices:
		return appendInt(dst, tagInteger, v.vi.services)
	case objIfNumber:
		return appendInt(dst, tagInteger, int64(v.n))
	case objEntPhysicalDescr:
		return appendString(dst, tagOctetString, v.vi.entDescr)
	case objEntPhysicalSerialNum:
		dst, m := beginTLV(dst)
		dst = v.d.appendSerial(dst)
		return endTLV(dst, m, tagOctetString)
	case objEntPhysicalModelName:
		return appendString(dst, tagOctetString, v.vi.model)
	}
	if e.obj >= objLldpRemChassisIDSubtype {
		return v.appendLLDP(dst, e)
	}
	return v.appendInterface(dst, e)
}

// appendInterface appends the value of an ifTable or ifXTable instance.
func (v *view) appendInterface(dst []byte, e *entry) []byte {
	slot := int(e.slot)
	switch e.obj {
	case objIfIndex:
		return appendInt(dst, tagInteger, int64(v.vi.ifIndexBase+slot+1))
	case objIfDescr, objIfName:
		dst, m := beginTLV(dst)
		dst = v.vi.name(dst, slot, uplinkOf(slot, v.n), e.obj == objIfDescr)
		return endTLV(dst, m, tagOctetString)
	case objIfType:
		if v.vi.loopback && slot == 0 {
			return appendInt(dst, tagInteger, 24) // softwareLoopback
		}
		return appendInt(dst, tagInteger, 6) // ethernetCsmacd
	case objIfMtu:
		if v.vi.loopback && slot == 0 {
			return appendInt(dst, tagInteger, 65536)
		}
		return appendInt(dst, tagInteger, v.vi.mtu)
	case objIfPhysAddress:
		if v.vi.loopback && slot == 0 {
			return appendString(dst, tagOctetString, "")
		}
		mac := v.d.mac(slot + 1)
		return appendBytes(dst, tagOctetString, mac[:])
	case objIfCounterDiscontinuityTime:
		return appendUint(dst, tagTimeTicks, 0)
	case objIfAlias:
		dst, m := beginTLV(dst)
		if k := uplinkOf(slot, v.n); k >= 0 {
			if peer, _, ok := v.d.peer(k); ok {
				dst = append(dst, "to "...)
				dst = peer.appendSysName(dst)
			} else {
				dst = append(dst, "uplink "...)
				dst = strconv.AppendInt(dst, int64(k+1), 10)
			}
		}
		return endTLV(dst, m, tagOctetString)
	}
	c := v.iface(slot, 0)
	switch e.obj {
	case objIfSpeed:
		return appendUint(dst, tagGauge32, min(c.info.speed, 0xffffffff))
	case objIfHighSpeed:
		return appendUint(dst, tagGauge32, c.info.speed/1_000_000)
	case objIfAdminStatus:
		if c.info.admin {
			return appendInt(dst, tagInteger, 1)
		}
		return appendInt(dst, tagInteger, 2)
	case objIfOperStatus, objIfLastChange:
		c = v.iface(slot, haveStatus)
		if e.obj == objIfLastChange {
			return appendUint(dst, tagTimeTicks, ticks(c.changeMs-v.bootMs))
		}
		if c.up {
			return appendInt(dst, tagInteger, 1)
		}
		return appendInt(dst, tagInteger, 2)
	}
	c = v.iface(slot, haveCounters)
	k := &c.ctr
	var tag byte = tagCounter32
	var val uint64
	switch e.obj {
	case objIfInOctets:
		val = k.inOctets
	case objIfInUcastPkts:
		val = k.inUcast
	case objIfInDiscards:
		val = k.inDiscards
	case objIfInErrors:
		val = k.inErrors
	case objIfOutOctets:
		val = k.outOctets
	case objIfOutUcastPkts:
		val = k.outUcast
	case objIfOutDiscards:
		val = k.outDiscards
	case objIfOutErrors:
		val = k.outErrors
	case objIfInMulticastPkts:
		val = k.inMcast
	case objIfInBroadcastPkts:
		val = k.inBcast
	case objIfOutMulticastPkts:
		val = k.outMcast
	case objIfOutBroadcastPkts:
		val = k.outBcast
	default:
		tag = tagCounter64
		switch e.obj {
		case objIfHCInOctets:
			val = k.inOctets
		case objIfHCInUcastPkts:
			val = k.inUcast
		case objIfHCInMulticastPkts:
			val = k.inMcast
		case objIfHCInBroadcastPkts:
			val = k.inBcast
		case objIfHCOutOctets:
			val = k.outOctets
		case objIfHCOutUcastPkts:
			val = k.outUcast
		case objIfHCOutMulticastPkts:
			val = k.outMcast
		case objIfHCOutBroadcastPkts:
			val = k.outBcast
		}
	}
	if tag == tagCounter32 {
		val = uint64(uint32(val))
	}
	return appendUint(dst, tag, val)
}

// appendLLDP appends the value of an lldpRemTable instance: what the device
// at the other end of uplink e.slot advertises.
func (v *view) appendLLDP(dst []byte, e *entry) []byte {
	k := int(e.slot)
	peer, peerSlot, ok := v.d.peer(k)
	if !ok {
		// The layout only holds rows of cabled uplinks.
		return append(dst, tagNull, 0)
	}
	switch e.obj {
	case objLldpRemChassisIDSubtype:
		return appendInt(dst, tagInteger, 4) // macAddress
	case objLldpRemChassisID:
		mac := peer.mac(0)
		return appendBytes(dst, tagOctetString, mac[:])
	case objLldpRemPortIDSubtype:
		return appendInt(dst, tagInteger, 5) // interfaceName
	case objLldpRemPortID, objLldpRemPortDesc:
		pv := peer.vendor()
		dst, m := beginTLV(dst)
		dst = pv.name(dst, peerSlot, k, e.obj == objLldpRemPortDesc)
		return endTLV(dst, m, tagOctetString)
	case objLldpRemSysName:
		dst, m := beginTLV(dst)
		dst = peer.appendSysName(dst)
		return endTLV(dst, m, tagOctetString)
	}
	return append(dst, tagNull, 0)
}
