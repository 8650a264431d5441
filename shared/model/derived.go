package model

import (
	"time"
)

// Derived state: what the agents observe on the devices and send to the
// collector. Agents compute it from successive SNMP polls (agent/derive);
// the collector keeps the newest DeviceState per node in memory, writes
// Samples, DeviceSamples and Events to ClickHouse, and feeds DeviceState to
// policies (the `derived.` fields).
//
// Times are UTC. Rates are per second over the interval between two polls
// and are absent (nil, omitted from JSON) when there is no rate: on the
// first poll of an interface, after a counter discontinuity (reboot,
// counter reset), or while the device is unreachable. A zero rate is a
// measured zero.

// IfStatus is the administrative or operational status of an interface,
// spelled as IF-MIB names the values of ifAdminStatus and ifOperStatus.
type IfStatus string

const (
	IfUp             IfStatus = "up"
	IfDown           IfStatus = "down"
	IfTesting        IfStatus = "testing"
	IfUnknown        IfStatus = "unknown"
	IfDormant        IfStatus = "dormant"
	IfNotPresent     IfStatus = "notPresent"
	IfLowerLayerDown IfStatus = "lowerLayerDown"
)

// IfStatusFromSNMP maps the INTEGER value of ifAdminStatus/ifOperStatus
// (1 up … 7 lowerLayerDown). Values outside the MIB's range, which broken
// agents do send, are "unknown" rather than an error.
func IfStatusFromSNMP(v int64) IfStatus {
	switch v {
	case 1:
		return IfUp
	case 2:
		return IfDown
	case 3:
		return IfTesting
	case 5:
		return IfDormant
	case 6:
		return IfNotPresent
	case 7:
		return IfLowerLayerDown
	}
	return IfUnknown
}

// SNMP is the inverse of IfStatusFromSNMP: IF-MIB's number of the status
// (1 up … 7 lowerLayerDown); anything else (empty, a name IF-MIB does not
// have) is 4, unknown.
func (s IfStatus) SNMP() int64 {
	switch s {
	case IfUp:
		return 1
	case IfDown:
		return 2
	case IfTesting:
		return 3
	case IfDormant:
		return 5
	case IfNotPresent:
		return 6
	case IfLowerLayerDown:
		return 7
	}
	return 4
}

// DeviceState is the newest observed state of one device. It marshals to
// the agent's `--once -o json` form and to the collector's latest-state API.
// While a device is unreachable it keeps the last values seen (names,
// statuses, system group) with Reachable false and no rates.
type DeviceState struct {
	Node          string           `json:"node"`
	Reachable     bool             `json:"reachable"`
	Error         string           `json:"error,omitempty"` // why the last poll failed
	SysName       string           `json:"sys_name"`
	SysDescr      string           `json:"sys_descr"`
	SysObjectID   string           `json:"sys_object_id"`
	Vendor        Vendor           `json:"vendor,omitempty"` // as recognised from sysObjectID
	UptimeSeconds int64            `json:"uptime_seconds"`
	LastPoll      time.Time        `json:"last_poll"` // the last poll attempt, successful or not
	Interfaces    []InterfaceState `json:"interfaces"`
	LLDPNeighbors []LLDPNeighbor   `json:"lldp_neighbors,omitempty"`
	// Extra holds the values of vendor-profile and custom OIDs, by name
	// ("cpu_5min", or "name.index" for a column).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// InterfaceState is the newest observed state of one interface.
type InterfaceState struct {
	Index       int      `json:"index"` // ifIndex
	Name        string   `json:"name"`  // ifName (ifDescr when the device has no ifName)
	Descr       string   `json:"descr"`
	Alias       string   `json:"alias"`
	Type        string   `json:"type"` // IANAifType name, e.g. "ethernetCsmacd"; the number when unknown
	AdminStatus IfStatus `json:"admin_status"`
	OperStatus  IfStatus `json:"oper_status"`
	SpeedBps    uint64   `json:"speed_bps"`
	// LastChange is when the interface entered its operational status,
	// from ifLastChange, when the device reports it and it is after boot.
	LastChange time.Time `json:"last_change,omitzero"`
	Rates
}

// Rates are per-second rates over the last polling interval. Packets are
// unicast packets (ifHCIn/OutUcastPkts). Each is nil when no rate exists.
type Rates struct {
	InBps           *float64 `json:"in_bps,omitempty"`
	OutBps          *float64 `json:"out_bps,omitempty"`
	InPps           *float64 `json:"in_pps,omitempty"`
	OutPps          *float64 `json:"out_pps,omitempty"`
	InErrorsRate    *float64 `json:"in_errors_rate,omitempty"`
	OutErrorsRate   *float64 `json:"out_errors_rate,omitempty"`
	InDiscardsRate  *float64 `json:"in_discards_rate,omitempty"`
	OutDiscardsRate *float64 `json:"out_discards_rate,omitempty"`
}

// LLDPNeighbor is one row of the device's LLDP remote table: what the
// device at the other end of a local port advertises.
type LLDPNeighbor struct {
	LocalPort    string `json:"local_port"`               // the local interface's name
	LocalIfIndex int    `json:"local_if_index,omitempty"` // 0 when the port maps to no known interface
	ChassisID    string `json:"chassis_id"`               // MAC addresses as aa:bb:cc:dd:ee:ff
	PortID       string `json:"port_id"`
	PortDescr    string `json:"port_descr,omitempty"`
	SysName      string `json:"sys_name,omitempty"`
}

// Sample is the measurement of one interface at one successful poll: the
// raw counters as read and the rates since the previous poll. It is the
// row of the interface history.
type Sample struct {
	Node    string    `json:"node"`
	Time    time.Time `json:"time"`
	IfIndex int       `json:"if_index"`
	IfName  string    `json:"if_name"`
	// Descr, Alias and Type are InterfaceState's: the labels as last read
	// (agents read them every few polls only and repeat them in between),
	// so that the collector's latest state has them as the agent's has.
	Descr string `json:"descr"`
	Alias string `json:"alias"`
	Type  string `json:"type"`
	// IntervalSeconds is the time the rates cover, measured with the
	// device's sysUpTime when it agrees with the wall clock; 0 without rates.
	IntervalSeconds float64  `json:"interval_seconds,omitempty"`
	AdminStatus     IfStatus `json:"admin_status"`
	OperStatus      IfStatus `json:"oper_status"`
	SpeedBps        uint64   `json:"speed_bps"`
	// Counter64 says the octet and packet counters are the 64-bit ones of
	// ifXTable; false means the 32-bit ifTable fallback.
	Counter64   bool   `json:"counter64"`
	InOctets    uint64 `json:"in_octets"`
	OutOctets   uint64 `json:"out_octets"`
	InPkts      uint64 `json:"in_pkts"`
	OutPkts     uint64 `json:"out_pkts"`
	InErrors    uint64 `json:"in_errors"`
	OutErrors   uint64 `json:"out_errors"`
	InDiscards  uint64 `json:"in_discards"`
	OutDiscards uint64 `json:"out_discards"`
	// Discontinuity marks a counter reset since the previous poll (reboot,
	// ifCounterDiscontinuityTime, a counter going back): no rates then.
	Discontinuity bool `json:"discontinuity,omitempty"`
	Rates
}

// DeviceSample is the measurement of one device at one poll, successful
// or not: the row of the device history (availability, uptime).
type DeviceSample struct {
	Node                string             `json:"node"`
	Time                time.Time          `json:"time"`
	Reachable           bool               `json:"reachable"`
	Error               string             `json:"error,omitempty"`
	UptimeSeconds       int64              `json:"uptime_seconds,omitempty"`
	PollDurationSeconds float64            `json:"poll_duration_seconds"`
	Interfaces          int                `json:"interfaces"`
	Extra               map[string]float64 `json:"extra,omitempty"`
	// The system group and vendor as DeviceState has them, as last read
	// (agents read the system group every few polls only). Like Uptime
	// and Extra, only a reachable sample has them: a failed poll read
	// nothing, and its empty values must not replace the last ones seen.
	SysName     string `json:"sys_name,omitempty"`
	SysDescr    string `json:"sys_descr,omitempty"`
	SysObjectID string `json:"sys_object_id,omitempty"`
	Vendor      Vendor `json:"vendor,omitempty"`
}

// EventKind says what an Event reports.
type EventKind string

const (
	// EventOperStatus: an interface's ifOperStatus changed (From → To).
	EventOperStatus EventKind = "oper_status"
	// EventAdminStatus: an interface's ifAdminStatus changed (From → To).
	EventAdminStatus EventKind = "admin_status"
	// EventFlap: ifOperStatus is what it was at the previous poll but
	// ifLastChange moved: the interface went away and came back in between.
	EventFlap EventKind = "flap"
	// EventReachability: the device stopped answering (To "unreachable")
	// or answers again (To "reachable").
	EventReachability EventKind = "reachability"
	// EventReboot: sysUpTime went back (or the SNMPv3 engine boots count
	// went up); Time is the estimated boot time.
	EventReboot EventKind = "reboot"
	// EventLLDPAdded and EventLLDPRemoved: a neighbour appeared on or
	// disappeared from a local port (a change is a removal and an addition).
	EventLLDPAdded   EventKind = "lldp_neighbor_added"
	EventLLDPRemoved EventKind = "lldp_neighbor_removed"
)

// Event is a change observed on a device. Events are emitted on changes
// only: the first poll of a device sets the baseline and emits none.
type Event struct {
	Time     time.Time     `json:"time"`
	Node     string        `json:"node"`
	Kind     EventKind     `json:"kind"`
	IfIndex  int           `json:"if_index,omitempty"`
	IfName   string        `json:"if_name,omitempty"`
	From     string        `json:"from,omitempty"`
	To       string        `json:"to,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Neighbor *LLDPNeighbor `json:"neighbor,omitempty"`
}
