package poller

import (
	"hash/fnv"

	"github.com/unet-project/unet/shared/model"
)

// memory is what the poller keeps about a device between polls: enough to
// decide what to read and to skip work already done. Only the worker that
// polls the device touches it (polls of one device never overlap).
type memory struct {
	polls       int // successful polls
	sinceLabels int
	sinceLLDP   int
	labelsDue   bool // something suggested a change: read labels next time
	systemDue   bool // read the system group next time (after a reboot)
	ifNumber    int  // -1 unknown
	uptime      uint32
	haveUptime  bool
	vendor      model.Vendor
	known       map[int]struct{} // ifIndexes whose labels were read
	no64        bool             // the device has no 64-bit counters
	// rows is the row count of each non-interface column (LLDP, extras)
	// at its last read: it trims the next read's requests.
	rows   map[string]int
	engine *engineState
}

func newMemory() *memory { return &memory{ifNumber: -1} }

// plan is what one poll reads.
type plan struct {
	labels, lldp, system, counters32 bool
}

// planFor decides what to read. A full poll (the first one, PollOnce)
// reads everything.
func (c *Config) planFor(m *memory, t *Target, full bool) plan {
	full = full || m.polls == 0
	labelTime := m.labelsDue || m.sinceLabels+1 >= c.LabelEvery
	return plan{
		labels: full || labelTime,
		system: full || labelTime || m.systemDue,
		lldp:   c.LLDPEvery > 0 && (full || m.sinceLLDP+1 >= c.LLDPEvery),
		// A device found without 64-bit counters is asked for them again
		// with the labels: firmware upgrades happen.
		counters32: t.Overrides.Counters32 || (m.no64 && !full && !labelTime),
	}
}

// remember updates the device's memory after a successful poll.
func (p *Poller) remember(m *memory, pl *plan, b *builder, ifn int, vendor model.Vendor) {
	m.polls++
	m.vendor = vendor
	m.ifNumber = ifn
	m.uptime, m.haveUptime = b.poll.Uptime, b.poll.HaveUptime
	if pl.system {
		m.systemDue = false
	}
	if pl.labels {
		m.sinceLabels = 0
		m.labelsDue = false
		m.known = make(map[int]struct{}, len(b.poll.Interfaces))
		for i := range b.poll.Interfaces {
			m.known[b.poll.Interfaces[i].Index] = struct{}{}
		}
	} else {
		m.sinceLabels++
		for i := range b.poll.Interfaces {
			if _, ok := m.known[b.poll.Interfaces[i].Index]; !ok {
				m.labelsDue = true // a new interface: name it next time
				break
			}
		}
	}
	switch {
	case pl.lldp:
		m.sinceLLDP = 0
	default:
		m.sinceLLDP++
	}
	if m.polls == 1 {
		// The first poll read everything. Start the counts at a per-device
		// offset, so that devices started together (the agent starting,
		// 10,000 targets set at once) do not all read their labels in the
		// same interval, and their LLDP tables all in another.
		m.sinceLabels, m.sinceLLDP = readOffsets(b.poll.Node, p.cfg.LabelEvery, p.cfg.LLDPEvery)
	}
}

// readOffsets returns where a device's label and LLDP poll counts start
// after its first poll, from a hash of its name: the same on every agent
// and after every restart, and spread evenly over [0, every) across
// devices. A device with offset o reads its labels again at its
// (every-o)-th poll, then every every-th. The LLDP offset is half a cycle
// from the label one, so that a device reads the two in different polls
// when it can. The hash is mixed so that it does not follow the schedule's
// phase (FNV-1a of the name modulo the interval), whose low bits it would
// otherwise share.
func readOffsets(node string, labelEvery, lldpEvery int) (labels, lldp int) {
	h := fnv.New64a()
	h.Write([]byte(node))
	x := mix64(h.Sum64())
	if labelEvery > 1 {
		labels = int(x % uint64(labelEvery))
	}
	if lldpEvery > 1 {
		lldp = int((x%uint64(lldpEvery) + uint64(lldpEvery/2)) % uint64(lldpEvery))
	}
	return labels, lldp
}

// mix64 is SplitMix64's finalizer: every bit of x moves every bit of the
// result.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// expectRows returns the rows a non-interface column had last time, -1
// when never read.
func (m *memory) expectRows(oid string) int {
	if n, ok := m.rows[oid]; ok {
		return n
	}
	return -1
}
