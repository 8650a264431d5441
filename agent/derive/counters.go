package derive

import (
	"math"

	"github.com/unet-project/unet/shared/model"
)

// Limits that decide whether a counter that went back wrapped or was reset.
const (
	// wrapSpeedFactor: a 32-bit counter that went back is taken as a wrap
	// when the rate it implies stays below the interface speed times this
	// (a little above 1: speeds are nominal, counters include framing on
	// some devices).
	wrapSpeedFactor = 1.2
	// minFrameBytes bounds packet rates from the speed (64-byte frames).
	minFrameBytes = 64
	// unknownSpeedWrapLimit: without a speed, a wrap is plausible when the
	// counter moved by less than half its range. A reset from a small value
	// looks like a near-full-range jump and is refused.
	unknownSpeedWrapLimit = 1 << 31
)

// counterDelta returns how much a counter grew between two reads and
// whether that is plausible. A 64-bit counter that went back was reset (it
// cannot wrap in practice); a 32-bit counter that went back wrapped if the
// increase that implies stays below maxDelta, and was reset otherwise.
func counterDelta(prev, cur uint64, bits int, maxDelta float64) (uint64, bool) {
	if cur >= prev {
		return cur - prev, true
	}
	if bits == 64 {
		return 0, false
	}
	d := cur + 1<<32 - prev
	if float64(d) > maxDelta {
		return 0, false
	}
	return d, true
}

// counters is one interface's counters taken from a poll: the 64-bit ones
// when both polls have them, the 32-bit ones otherwise.
type counters struct {
	bits                    int // 64 or 32 for octets and packets
	has                     Fields
	inOct, outOct           uint64
	inPkts, outPkts         uint64
	inErr, outErr           uint64
	inDisc, outDisc         uint64
	haveOct, havePkts       [2]bool // in, out
	haveErrors, haveDiscard [2]bool
}

// pickCounters reads r's counters, 64-bit when use64.
func pickCounters(r *Interface, use64 bool) counters {
	c := counters{bits: 32, has: r.Has}
	if use64 {
		c.bits = 64
		c.inOct, c.outOct = r.HCInOctets, r.HCOutOctets
		c.inPkts, c.outPkts = r.HCInPkts, r.HCOutPkts
		c.haveOct = [2]bool{r.Has&FieldHCInOctets != 0, r.Has&FieldHCOutOctets != 0}
		c.havePkts = [2]bool{r.Has&FieldHCInPkts != 0, r.Has&FieldHCOutPkts != 0}
	} else {
		c.inOct, c.outOct = uint64(r.InOctets), uint64(r.OutOctets)
		c.inPkts, c.outPkts = uint64(r.InPkts), uint64(r.OutPkts)
		c.haveOct = [2]bool{r.Has&FieldInOctets != 0, r.Has&FieldOutOctets != 0}
		c.havePkts = [2]bool{r.Has&FieldInPkts != 0, r.Has&FieldOutPkts != 0}
	}
	c.inErr, c.outErr = uint64(r.InErrors), uint64(r.OutErrors)
	c.inDisc, c.outDisc = uint64(r.InDiscards), uint64(r.OutDiscards)
	c.haveErrors = [2]bool{r.Has&FieldInErrors != 0, r.Has&FieldOutErrors != 0}
	c.haveDiscard = [2]bool{r.Has&FieldInDiscards != 0, r.Has&FieldOutDiscards != 0}
	return c
}

// has64 reports whether r carries at least one 64-bit octet counter.
func has64(r *Interface) bool { return r.Has&(FieldHCInOctets|FieldHCOutOctets) != 0 }

// setDeltas compares the counters of an interface in two successive polls
// dt seconds apart (device time) and keeps in f how much each grew (dCtr,
// dErrs, and which: rated). speed (f.speed, bit/s, 0 when unknown) bounds
// the wraps of 32-bit counters. Any counter that went back without a
// plausible wrap, or a changed ifCounterDiscontinuityTime, makes the
// whole interface discontinuous: all its counters may have been reset
// together, and a rate from one of them would be a spike. setDeltas then
// returns false, and f has no rates.
func (f *iface) setDeltas(prev, cur *Interface, dt float64) bool {
	f.rated = 0
	if prev.Has&cur.Has&FieldDiscontinuityTime != 0 && prev.DiscontinuityTime != cur.DiscontinuityTime {
		return false
	}
	// Never mix the 64-bit counters of one poll with the 32-bit ones of
	// the other: the difference would be meaningless.
	use64 := has64(prev) && has64(cur)
	p, c := pickCounters(prev, use64), pickCounters(cur, use64)

	maxOct, maxPkt := float64(unknownSpeedWrapLimit), float64(unknownSpeedWrapLimit)
	if f.speed > 0 {
		maxOct = float64(f.speed) / 8 * dt * wrapSpeedFactor
		maxPkt = float64(f.speed) / (8 * minFrameBytes) * dt * wrapSpeedFactor
	}
	type pair struct {
		have bool
		prev uint64
		cur  uint64
		bits int
		max  float64
	}
	pairs := [8]pair{
		{p.haveOct[0] && c.haveOct[0], p.inOct, c.inOct, c.bits, maxOct},
		{p.haveOct[1] && c.haveOct[1], p.outOct, c.outOct, c.bits, maxOct},
		{p.havePkts[0] && c.havePkts[0], p.inPkts, c.inPkts, c.bits, maxPkt},
		{p.havePkts[1] && c.havePkts[1], p.outPkts, c.outPkts, c.bits, maxPkt},
		{p.haveErrors[0] && c.haveErrors[0], p.inErr, c.inErr, 32, maxPkt},
		{p.haveErrors[1] && c.haveErrors[1], p.outErr, c.outErr, 32, maxPkt},
		{p.haveDiscard[0] && c.haveDiscard[0], p.inDisc, c.inDisc, 32, maxPkt},
		{p.haveDiscard[1] && c.haveDiscard[1], p.outDisc, c.outDisc, 32, maxPkt},
	}
	var rated uint8
	for i, q := range pairs {
		if !q.have {
			continue
		}
		d, ok := counterDelta(q.prev, q.cur, q.bits, q.max)
		if !ok {
			return false
		}
		if i < 4 {
			f.dCtr[i] = d
		} else {
			f.dErrs[i-4] = uint32(d) // a 32-bit counter grows by less than 2^32
		}
		rated |= 1 << i
	}
	f.rated = rated
	return true
}

// rates returns the rates of f over dt seconds from its deltas, pointing
// into vals.
func (f *iface) rates(dt float64, vals *[8]float64) model.Rates {
	var res model.Rates
	out := [8]**float64{
		&res.InBps, &res.OutBps, &res.InPps, &res.OutPps,
		&res.InErrorsRate, &res.OutErrorsRate, &res.InDiscardsRate, &res.OutDiscardsRate,
	}
	for i := range out {
		if f.rated&(1<<i) == 0 {
			continue
		}
		var d, perOctet float64 = 0, 1
		if i < 4 {
			d = float64(f.dCtr[i])
		} else {
			d = float64(f.dErrs[i-4])
		}
		if i < 2 {
			perOctet = 8 // bits per second
		}
		vals[i] = d * perOctet / dt
		*out[i] = &vals[i]
	}
	return res
}

// sampleCounters fills the raw counter fields of a sample from r.
func sampleCounters(s *model.Sample, r *Interface) {
	c := pickCounters(r, has64(r))
	s.Counter64 = c.bits == 64
	s.InOctets, s.OutOctets = c.inOct, c.outOct
	s.InPkts, s.OutPkts = c.inPkts, c.outPkts
	s.InErrors, s.OutErrors = c.inErr, c.outErr
	s.InDiscards, s.OutDiscards = c.inDisc, c.outDisc
}

// finite reports whether dt can divide a counter delta.
func finite(dt float64) bool { return dt > 0 && !math.IsInf(dt, 0) && !math.IsNaN(dt) }
