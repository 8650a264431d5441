package snmpsim

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Device is one simulated device. Its methods change its behaviour while
// the simulator runs and are safe for concurrent use. A Device is small
// (about 150 bytes): everything it serves is computed on demand.
type Device struct {
	s     *Simulator
	index int
	p     *devProfile

	lay  atomic.Pointer[layout]
	keys atomic.Pointer[usmKeys]

	// Run-time changes, written under mu and read lock-free: each is an
	// immutable value replaced whole.
	mu        sync.Mutex
	beh       atomic.Pointer[behaviour]
	overrides atomic.Pointer[map[int]override]
	reboots   atomic.Pointer[reboots]

	requests, responses, dropped, authFailures atomic.Uint64
	lastMs                                     atomic.Int64
	lastSource                                 atomic.Uint64 // IPv4 << 16 | port
}

// devProfile is a Profile prepared for serving.
type devProfile struct {
	Profile
	vendor *vendorInfo // nil: picked per device from the seed
	usm    *usmUser
	omega  float64
}

// behaviour is what Set* changed; it replaces the profile's values.
type behaviour struct {
	dead      bool
	dropRate  float64
	delay     time.Duration
	malformed Malformation
}

// override is an interface status set at run time.
type override struct {
	up   bool
	atMs int64
}

// reboots records the reboots triggered at run time.
type reboots struct {
	lastMs int64
	count  uint32
}

// DeviceInfo describes a device.
type DeviceInfo struct {
	Index      int          // position from Config.Base, from 0
	Addr       netip.Addr   // where it answers
	Name       string       // node name for the inventory (sim-00001)
	SysName    string       // what sysName.0 says
	Vendor     model.Vendor // cisco, juniper, arista, linux (generic for unknown recordings)
	Model      string
	Role       model.Role
	Serial     string
	Interfaces int    // ifTable rows
	Seed       uint64 // the device's own seed, derived from Config.Seed and Index
	Recording  string // the recording backing the device, "" when generated
}

// DeviceStats counts a device's traffic.
type DeviceStats struct {
	Requests     uint64 // datagrams received for the device
	Responses    uint64 // datagrams sent (SNMPv3 reports included)
	Dropped      uint64 // requests left unanswered because the device is dead or drops them
	AuthFailures uint64 // wrong community, unknown v3 user, wrong v3 keys
	LastRequest  time.Time
	LastSource   netip.AddrPort
}

// Info describes the device.
func (d *Device) Info() DeviceInfo {
	info := DeviceInfo{
		Index:      d.index,
		Addr:       d.s.addrOf(d.index),
		Name:       d.name(),
		Seed:       d.seed(),
		Interfaces: d.p.Interfaces,
	}
	if rec := d.p.Recording; rec != nil {
		info.Recording = rec.Name
		info.SysName = rec.sysName
		info.Vendor = rec.vendor
		info.Model = rec.model
		info.Role = model.RoleOther
		info.Interfaces = rec.interfaces
		if info.SysName == "" {
			info.SysName = info.Name
		}
		return info
	}
	vi := d.vendor()
	info.SysName = info.Name
	info.Vendor = vi.vendor
	info.Model = vi.model
	info.Role = vi.role
	info.Serial = string(d.appendSerial(nil))
	return info
}

// Stats returns the device's counters.
func (d *Device) Stats() DeviceStats {
	st := DeviceStats{
		Requests:     d.requests.Load(),
		Responses:    d.responses.Load(),
		Dropped:      d.dropped.Load(),
		AuthFailures: d.authFailures.Load(),
	}
	if ms := d.lastMs.Load(); ms != 0 {
		st.LastRequest = time.UnixMilli(ms)
		src := d.lastSource.Load()
		st.LastSource = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(src >> 40), byte(src >> 32), byte(src >> 24), byte(src >> 16)}), uint16(src))
	}
	return st
}

// SetDead makes the device stop answering (true) or start again.
func (d *Device) SetDead(dead bool) { d.setBehaviour(func(b *behaviour) { b.dead = dead }) }

// SetDropRate sets the fraction of requests left unanswered (clamped to 0..1).
func (d *Device) SetDropRate(rate float64) {
	d.setBehaviour(func(b *behaviour) { b.dropRate = min(1, max(0, rate)) })
}

// SetDelay holds every response back by delay.
func (d *Device) SetDelay(delay time.Duration) {
	d.setBehaviour(func(b *behaviour) { b.delay = max(0, delay) })
}

// SetMalformed breaks every response in the given way (MalformNone repairs).
func (d *Device) SetMalformed(m Malformation) { d.setBehaviour(func(b *behaviour) { b.malformed = m }) }

func (d *Device) setBehaviour(change func(*behaviour)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.behaviour()
	change(&b)
	d.beh.Store(&b)
}

// behaviour returns the device's current behaviour.
func (d *Device) behaviour() behaviour {
	if b := d.beh.Load(); b != nil {
		return *b
	}
	return behaviour{dead: d.p.Dead, dropRate: d.p.DropRate, delay: d.p.Delay, malformed: d.p.Malformed}
}

// TriggerReboot reboots the device now: sysUpTime, counters and the SNMPv3
// engine time restart from zero and the engine boots count goes up.
func (d *Device) TriggerReboot() {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := reboots{lastMs: d.s.clock().UnixMilli(), count: 1}
	if old := d.reboots.Load(); old != nil {
		r.count = old.count + 1
	}
	d.reboots.Store(&r)
}

// Flap toggles the operational status of the interface with that ifIndex
// now: up goes down, down comes up; ifLastChange follows.
func (d *Device) Flap(ifIndex int) error {
	return d.changeStatus(ifIndex, func(up bool) bool { return !up })
}

// SetOperStatus forces the operational status of the interface with that
// ifIndex from now on. Interfaces that are administratively down stay down.
// Counters keep running, as with the profile's flaps.
func (d *Device) SetOperStatus(ifIndex int, up bool) error {
	return d.changeStatus(ifIndex, func(bool) bool { return up })
}

func (d *Device) changeStatus(ifIndex int, next func(up bool) bool) error {
	if d.p.Recording != nil {
		return fmt.Errorf("device %s replays recording %q: its interfaces cannot change", d.name(), d.p.Recording.Name)
	}
	vi := d.vendor()
	slot := ifIndex - vi.ifIndexBase - 1
	if slot < 0 || slot >= d.p.Interfaces {
		return fmt.Errorf("device %s has no ifIndex %d (it has %d to %d)", d.name(), ifIndex, vi.ifIndexBase+1, vi.ifIndexBase+d.p.Interfaces)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.s.clock()
	var v view
	v.reset(d.s, d, now)
	info := v.interfaceInfo(slot)
	up, _ := v.operStatus(slot, &info)
	m := map[int]override{}
	if old := d.overrides.Load(); old != nil {
		for k, o := range *old {
			m[k] = o
		}
	}
	if n := next(up); n != up {
		m[slot] = override{up: n, atMs: now.UnixMilli()}
	}
	d.overrides.Store(&m)
	return nil
}

// seed is the device's own seed.
func (d *Device) seed() uint64 { return hash(d.s.cfg.Seed, uint64(d.index)) }

// vendor returns what the generated device imitates.
func (d *Device) vendor() *vendorInfo {
	if d.p.vendor != nil {
		return d.p.vendor
	}
	return vendors[hash(d.seed(), saltVendor)%uint64(len(vendors))]
}

// boot returns when the device last booted (unix ms) and its SNMPv3
// engine boots count, at instant nowMs. Devices start with an uptime of
// 1 hour to 46 days; scheduled and triggered reboots move the boot later.
func (d *Device) boot(nowMs int64) (int64, uint32) {
	h := d.seed()
	bootMs := d.s.startMs - 3_600_000 - int64(hash(h, saltUptime)%(45*86_400_000))
	boots := 1 + uint32(hash(h, saltBoots)%20)
	if after := d.p.RebootAfter.Milliseconds(); after > 0 {
		first := d.s.startMs + after
		if nowMs >= first {
			k, last := int64(1), first
			if every := d.p.RebootEvery.Milliseconds(); every > 0 {
				k += (nowMs - first) / every
				last = first + (k-1)*every
			}
			bootMs = last
			boots += uint32(k)
		}
	}
	if r := d.reboots.Load(); r != nil {
		bootMs = max(bootMs, r.lastMs)
		boots += r.count
	}
	return bootMs, boots
}

// layout returns the device's MIB layout, building it on first use.
func (d *Device) layout() *layout {
	if l := d.lay.Load(); l != nil {
		return l
	}
	var l *layout
	if rec := d.p.Recording; rec != nil {
		l = rec.layout
	} else {
		key := layoutKey{vendor: d.vendor(), interfaces: d.p.Interfaces}
		for k := 0; k < uplinks(d.p.Interfaces); k++ {
			if _, _, ok := d.peer(k); ok {
				key.lldp |= 1 << k
			}
		}
		l = d.s.layoutFor(key)
	}
	d.lay.Store(l)
	return l
}

// peer returns the device at the other end of uplink k, and the slot of
// its uplink k: device i's uplink k is cabled to device i XOR 2^k, so the
// cabling is symmetric and needs no table.
func (d *Device) peer(k int) (*Device, int, bool) {
	j := d.index ^ (1 << k)
	if k >= uplinks(d.p.Interfaces) || j >= len(d.s.devs) {
		return nil, 0, false
	}
	p := &d.s.devs[j]
	if p.p.Recording != nil || k >= uplinks(p.p.Interfaces) {
		return nil, 0, false
	}
	return p, p.p.Interfaces - uplinks(p.p.Interfaces) + k, true
}

// name is the device's node name.
func (d *Device) name() string { return string(d.appendSysName(nil)) }

// appendSysName appends the device's name (sim-00001).
func (d *Device) appendSysName(dst []byte) []byte {
	dst = append(dst, d.s.cfg.NamePrefix...)
	dst = append(dst, '-')
	n := d.index + 1
	for w := 10000; w > 1 && n < w; w /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// appendSerial appends the chassis serial number.
func (d *Device) appendSerial(dst []byte) []byte {
	const hexdigits = "0123456789ABCDEF"
	dst = append(dst, d.vendor().serialPrefix...)
	h := hash(d.seed(), saltSerial)
	for i := 0; i < 8; i++ {
		dst = append(dst, hexdigits[h>>(60-4*i)&0xf])
	}
	return dst
}

// mac returns the MAC address of interface n (0 is the chassis): the
// vendor's OUI, then the device index and n. Unique up to 65,535 devices
// of 255 interfaces.
func (d *Device) mac(n int) [6]byte {
	var m [6]byte
	copy(m[:3], d.vendor().oui[:])
	v := uint32(d.index+1)<<8 | uint32(n&0xff)
	m[3], m[4], m[5] = byte(v>>16), byte(v>>8), byte(v)
	return m
}

// noteRequest records the arrival of a request.
func (d *Device) noteRequest(nowMs int64, src netip.AddrPort) {
	d.requests.Add(1)
	d.lastMs.Store(nowMs)
	if src.Addr().Is4() {
		a := src.Addr().As4()
		d.lastSource.Store(uint64(binary.BigEndian.Uint32(a[:]))<<16 | uint64(src.Port()))
	}
}

// addrAt returns the address of device i counted from base, skipping host
// bytes .0 and .255; invalid past 127.255.255.254.
func addrAt(base netip.Addr, i int) netip.Addr {
	o := ordinal(base) + uint64(i)
	x := (o/254)<<8 | (o%254 + 1)
	if x>>24 != 127 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// ordinal numbers the addresses with host bytes 1 to 254 consecutively.
// addr must end in 1 to 254.
func ordinal(addr netip.Addr) uint64 {
	a := addr.As4()
	x := uint64(binary.BigEndian.Uint32(a[:]))
	return (x>>8)*254 + (x & 0xff) - 1
}

// ordinal4 is ordinal for a raw IPv4 address; ok is false for host bytes
// 0 and 255, which no device has.
func ordinal4(x uint32) (uint64, bool) {
	lo := x & 0xff
	if lo == 0 || lo == 255 {
		return 0, false
	}
	return uint64(x>>8)*254 + uint64(lo) - 1, true
}
