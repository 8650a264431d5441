package poller

import (
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
	case pl.lldp && m.polls == 1:
		// Spread the LLDP reads between the label reads.
		m.sinceLLDP = p.cfg.LLDPEvery / 2
	case pl.lldp:
		m.sinceLLDP = 0
	default:
		m.sinceLLDP++
	}
}

// expectRows returns the rows a non-interface column had last time, -1
// when never read.
func (m *memory) expectRows(oid string) int {
	if n, ok := m.rows[oid]; ok {
		return n
	}
	return -1
}
