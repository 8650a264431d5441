package snmpsim

import (
	"math"
	"time"
)

// Everything a generated device shows is a pure function of (seed, device
// index, interface slot, time): nothing per interface is stored, two reads
// at the same instant agree, and 50,000 devices cost a few bytes each.

// mix64 is the SplitMix64 finalizer: a cheap, well-distributed hash step.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash combines values into one well-mixed 64-bit value.
func hash(a uint64, more ...uint64) uint64 {
	h := mix64(a + 0x9e3779b97f4a7c15)
	for _, v := range more {
		h = mix64(h ^ (v + 0x9e3779b97f4a7c15))
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// Salts that keep the hashes of different properties independent.
const (
	saltVendor = iota + 1
	saltStatus
	saltFlap
	saltFlapWhen
	saltUpDelay
	saltTraffic
	saltNoise
	saltErrors
	saltUptime
	saltBoots
	saltSerial
	saltPhase
	saltDrop
)

// noiseBucket is the spacing of the noise control points: the noise on a
// counter is interpolated linearly between them, which bounds its slope.
const noiseBucketMs = 10_000

// direction is one direction of an interface's traffic.
type direction struct {
	base     float64 // mean rate, bytes/s
	amp      float64 // diurnal swing, fraction of base, < 1
	phase    float64 // radians
	noiseAmp float64 // bytes; see octets
	key      uint64  // hash key of the noise points
	pkt      uint64  // mean packet size, bytes
	mcastDiv uint64  // one multicast packet per mcastDiv unicast ones
	bcastDiv uint64
	errDiv   uint64 // 0: no errors on this interface
	discDiv  uint64 // 0: no discards
}

// ifInfo is the static description of one generated interface.
type ifInfo struct {
	speed   uint64 // bits/s
	uplink  int    // uplink number, -1 for access ports
	admin   bool   // adminStatus up
	conn    bool   // cabled: operStatus up unless a flap or an override says otherwise
	flaps   bool   // takes part in the profile's scheduled flaps
	upDelay int64  // ms after boot at which the interface came up
	key     uint64
	in, out direction
}

// interfaceInfo derives the interface at slot of the device in v. It
// depends on the device alone, not on time.
func (v *view) interfaceInfo(slot int) ifInfo {
	var info ifInfo
	v.fillInterfaceInfo(slot, &info)
	return info
}

func (v *view) fillInterfaceInfo(slot int, info *ifInfo) {
	p := v.p
	key := hash(v.seed, uint64(slot))
	*info = ifInfo{
		speed:   v.vi.accessSpeed,
		uplink:  uplinkOf(slot, v.n),
		admin:   true,
		conn:    true,
		upDelay: 5000 + int64(hash(key, saltUpDelay)%25_000),
		key:     key,
	}
	loopback := v.vi.loopback && slot == 0
	switch {
	case loopback:
		info.speed = 10_000_000
	case info.uplink >= 0:
		info.speed = v.vi.uplinkSpeed
	default:
		r := unit(hash(key, saltStatus))
		switch {
		case r < p.AdminDownFraction:
			info.admin, info.conn = false, false
		case r < p.AdminDownFraction+p.DownFraction:
			info.conn = false
		}
	}
	if !info.conn {
		return
	}
	info.flaps = p.FlapEvery > 0 && !loopback && unit(hash(key, saltFlap)) < p.FlapFraction
	t := &p.Traffic
	if t.Utilization <= 0 {
		return
	}
	devPhase := 2 * math.Pi * unit(hash(v.seed, saltPhase))
	for i := range 2 {
		d := &info.in
		if i == 1 {
			d = &info.out
		}
		h := hash(key, saltTraffic, uint64(i))
		u := t.Utilization * (0.2 + 1.6*unit(h))
		if info.uplink >= 0 {
			u *= 1.5
		}
		amp := min(0.95, max(0, t.Amplitude*(0.7+0.6*unit(mix64(h+1)))))
		// Keep the peak below line rate: counters that outrun ifSpeed
		// would trip any sanity check of a poller.
		u = min(u, 0.95/(1+amp))
		d.base = float64(info.speed) / 8 * u
		d.amp = amp
		d.phase = devPhase + 0.3*unit(mix64(h+2))
		noise := min(1, max(0, t.Noise))
		d.noiseAmp = noise * d.base * (1 - amp) * noiseBucketMs / 1000
		d.key = hash(key, saltNoise, uint64(i))
		d.pkt = 200 + mix64(h+3)%1200
		d.mcastDiv = 50 + mix64(h+4)%450
		d.bcastDiv = 500 + mix64(h+5)%4500
		e := hash(key, saltErrors, uint64(i))
		if e%8 == 0 {
			d.errDiv = 100_000 + mix64(e)%10_000_000
		}
		if e%4 == 1 {
			d.discDiv = 10_000 + mix64(e)%1_000_000
		}
	}
}

// ifCounters are the counters of one interface at one instant, since boot.
type ifCounters struct {
	inOctets, inUcast, inMcast, inBcast, inDiscards, inErrors       uint64
	outOctets, outUcast, outMcast, outBcast, outDiscards, outErrors uint64
}

// counters computes the interface's counters at v.nowMs. Counters run from
// zero at boot, so a reboot resets them; 32-bit objects take the low bits
// and wrap on fast interfaces as real ones do. atBoot holds the integrals'
// values at boot for both directions (see bootTerms).
func (v *view) counters(info *ifInfo, atBoot *[2]float64) ifCounters {
	var c ifCounters
	c.inOctets = v.octets(&info.in, atBoot[0])
	c.outOctets = v.octets(&info.out, atBoot[1])
	c.inUcast, c.inMcast, c.inBcast, c.inErrors, c.inDiscards = packets(&info.in, c.inOctets)
	c.outUcast, c.outMcast, c.outBcast, c.outErrors, c.outDiscards = packets(&info.out, c.outOctets)
	return c
}

// bootTerms computes what octets subtracts for the boot instant; it only
// changes with a reboot, so callers cache it.
func (v *view) bootTerms(info *ifInfo) [2]float64 {
	return [2]float64{v.integral(&info.in, v.bootMs), v.integral(&info.out, v.bootMs)}
}

// packets derives packet counters from an octet counter. Integer division
// of a non-decreasing value keeps them non-decreasing.
func packets(d *direction, octets uint64) (ucast, mcast, bcast, errs, discards uint64) {
	if d.pkt == 0 {
		return
	}
	ucast = octets / d.pkt
	mcast = ucast / d.mcastDiv
	bcast = ucast / d.bcastDiv
	if d.errDiv > 0 {
		errs = ucast / d.errDiv
	}
	if d.discDiv > 0 {
		discards = ucast / d.discDiv
	}
	return
}

// octets integrates the rate base·(1 + amp·sin(ωt + phase)) + noise'(t)
// from boot to now. The noise is a piecewise-linear function whose slope
// is at most noiseAmp/bucket = noise·base·(1-amp), never more than the
// lowest point of the sine, so the counter never goes backwards; the
// integral is closed-form, so reading it costs a cosine.
func (v *view) octets(d *direction, atBoot float64) uint64 {
	if d.base == 0 || v.nowMs <= v.bootMs {
		return 0
	}
	// The linear term is computed from the exact elapsed milliseconds:
	// base·t for an absolute t would lose the low digits.
	c := d.base*float64(v.nowMs-v.bootMs)/1000 + v.integral(d, v.nowMs) - atBoot
	if c <= 0 {
		return 0
	}
	return uint64(c)
}

// integral is the non-linear part of the integral of the rate at ms.
func (v *view) integral(d *direction, ms int64) float64 {
	if d.base == 0 {
		return 0
	}
	t := float64(ms) / 1000
	return -d.base*d.amp/v.omega*math.Cos(v.omega*t+d.phase) + noiseAt(d, ms)
}

func noiseAt(d *direction, ms int64) float64 {
	if d.noiseAmp == 0 {
		return 0
	}
	k := ms / noiseBucketMs
	if ms < 0 && ms%noiseBucketMs != 0 {
		k--
	}
	frac := float64(ms-k*noiseBucketMs) / noiseBucketMs
	r0, r1 := unit(hash(d.key, uint64(k))), unit(hash(d.key, uint64(k+1)))
	return d.noiseAmp * (r0 + (r1-r0)*frac)
}

// operStatus returns whether the interface is up at v.nowMs and when its
// status last changed (unix ms). Sources, weakest first: the static state
// (cabled or not), the profile's flap schedule, run-time overrides
// (Device.Flap, Device.SetOperStatus).
func (v *view) operStatus(slot int, info *ifInfo) (bool, int64) {
	up := info.admin && info.conn
	changed := v.bootMs + info.upDelay
	if info.flaps {
		up, changed = v.flapSchedule(info, up, changed)
	}
	if ov := v.d.overrides.Load(); ov != nil {
		if o, ok := (*ov)[slot]; ok && info.admin {
			up, changed = o.up, o.atMs
		}
	}
	// A change before the last boot shows as the moment the interface came
	// up after it; ifLastChange is never later than now.
	changed = min(max(changed, v.bootMs+info.upDelay), v.nowMs)
	return up, changed
}

// flapSchedule applies the profile's flaps: in each FlapEvery period from
// the simulator's start, a flapping interface goes down once, at an offset
// drawn from the seed, for FlapDuration.
func (v *view) flapSchedule(info *ifInfo, up bool, changed int64) (bool, int64) {
	every := v.p.FlapEvery.Milliseconds()
	down := v.p.FlapDuration.Milliseconds()
	start := v.s.startMs
	if v.nowMs < start || every <= down {
		return up, changed
	}
	window := func(k int64) (int64, int64) {
		off := int64(hash(info.key, saltFlapWhen, uint64(k)) % uint64(every-down))
		s := start + k*every + off
		return s, s + down
	}
	k := (v.nowMs - start) / every
	s, e := window(k)
	switch {
	case v.nowMs >= s && v.nowMs < e:
		return false, s
	case v.nowMs >= e:
		return up, e
	case k > 0:
		_, pe := window(k - 1)
		return up, pe
	}
	return up, changed
}

// omegaFor is the angular frequency of a traffic period.
func omegaFor(period time.Duration) float64 {
	return 2 * math.Pi / period.Seconds()
}
