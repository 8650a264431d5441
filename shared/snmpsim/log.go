package snmpsim

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request received for a simulated device: who polled which
// device, when, and what became of it.
type Request struct {
	Time      time.Time
	Device    int            // device index
	Addr      netip.Addr     // device address
	Source    netip.AddrPort // the poller
	Version   int            // 2 for v2c, 3 for v3, 0 when undecodable
	PDU       PDUType        // 0 when undecodable or encrypted with keys the device lacks
	RequestID int32
	Outcome   Outcome
}

// Outcome is what the simulator did with a request.
type Outcome uint8

const (
	// OutcomeAnswered: a response was sent (or scheduled, for slow devices).
	OutcomeAnswered Outcome = iota
	// OutcomeReport: an SNMPv3 Report was sent (engine discovery, time
	// window); for a wrong user or key see OutcomeAuthFailed.
	OutcomeReport
	// OutcomeDead: the device is dead.
	OutcomeDead
	// OutcomeDropped: the device's drop rate swallowed the request.
	OutcomeDropped
	// OutcomeBadCommunity: wrong v2c community, ignored.
	OutcomeBadCommunity
	// OutcomeAuthFailed: unknown v3 user, wrong keys or security level; a
	// Report went back when the request asked for one and the failure
	// allows it (RFC 3414), else nothing.
	OutcomeAuthFailed
	// OutcomeMalformed: the request could not be decoded, or was not a
	// request; ignored.
	OutcomeMalformed
)

func (o Outcome) String() string {
	switch o {
	case OutcomeAnswered:
		return "answered"
	case OutcomeReport:
		return "report"
	case OutcomeDead:
		return "dead"
	case OutcomeDropped:
		return "dropped"
	case OutcomeBadCommunity:
		return "bad-community"
	case OutcomeAuthFailed:
		return "auth-failed"
	case OutcomeMalformed:
		return "malformed"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Stats counts the simulator's traffic, all devices together.
type Stats struct {
	Requests      uint64 // datagrams received for simulated devices
	Responses     uint64 // datagrams sent, reports included
	Reports       uint64 // SNMPv3 reports sent
	Dropped       uint64 // requests of dead devices and drops
	AuthFailures  uint64 // wrong community, unknown v3 user, wrong v3 keys or level
	Malformed     uint64 // undecodable datagrams, and PDUs that are not requests
	UnknownDevice uint64 // datagrams for addresses no device has
}

// counters are the simulator-wide counters behind Stats.
type counters struct {
	requests, responses, reports, dropped, authFailures, malformed, unknown atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests:      c.requests.Load(),
		Responses:     c.responses.Load(),
		Reports:       c.reports.Load(),
		Dropped:       c.dropped.Load(),
		AuthFailures:  c.authFailures.Load(),
		Malformed:     c.malformed.Load(),
		UnknownDevice: c.unknown.Load(),
	}
}

// requestLog keeps the most recent requests in a ring.
type requestLog struct {
	mu   sync.Mutex
	ring []Request
	next int
	full bool
}

func newRequestLog(size int) *requestLog {
	if size <= 0 {
		return nil
	}
	return &requestLog{ring: make([]Request, size)}
}

func (l *requestLog) add(r Request) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.ring[l.next] = r
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// recent returns the kept requests, oldest first.
func (l *requestLog) recent() []Request {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Request(nil), l.ring[:l.next]...)
	}
	out := make([]Request, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}
