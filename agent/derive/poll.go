package derive

import (
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Poll is the raw result of one poll of one device, as the poller read it:
// the input of Deriver.Update. Values are the SNMP values as sent, with no
// interpretation; what the device did not return is absent (Fields bits,
// nil pointers, Have flags), never guessed.
type Poll struct {
	Node    string
	Address string
	// Time is the wall-clock time at which sysUpTime and the counters were
	// read (the arrival of the first response), Duration how long the
	// whole poll took.
	Time     time.Time
	Duration time.Duration
	// Err is why the poll failed; nil when it succeeded. A failed poll
	// carries no values.
	Err error

	// Uptime is sysUpTime.0 in hundredths of a second, valid when
	// HaveUptime. It wraps at 2^32 (497 days).
	Uptime     uint32
	HaveUptime bool
	// EngineBoots is snmpEngineBoots of an SNMPv3 agent, 0 when unknown
	// (SNMPv2c): it goes up at each restart of the agent.
	EngineBoots uint32
	// System is the system group, nil when this poll did not fetch it.
	System *System
	// Vendor is the vendor profile the poller picked from sysObjectID.
	Vendor model.Vendor

	// Interfaces are the rows of ifTable/ifXTable, in any order.
	Interfaces []Interface
	// Labels says the label columns (names, type, speed) were fetched this
	// time. When false, the Deriver keeps the labels it saw last.
	Labels bool

	// LLDP is the LLDP remote table, valid when HaveLLDP (an empty table
	// is an answer too: the neighbours are gone). When HaveLLDP is false,
	// the Deriver keeps the neighbours it saw last.
	LLDP     []LLDPRemote
	HaveLLDP bool

	// Extra holds the values of vendor-profile and custom OIDs by name,
	// nil when none were fetched this time.
	Extra map[string]float64
}

// System is the SNMPv2-MIB system group.
type System struct {
	Descr    string
	ObjectID string // dotted, without a leading dot: 1.3.6.1.4.1.9.1.2494
	Name     string
}

// Fields says which values of an Interface the device returned.
type Fields uint32

// The fields of Interface. Counters come in pairs (in and out); each
// direction has its own bit since broken agents drop columns one by one.
const (
	FieldName Fields = 1 << iota
	FieldDescr
	FieldAlias
	FieldType
	FieldHighSpeed
	FieldSpeed
	FieldAdminStatus
	FieldOperStatus
	FieldLastChange
	FieldDiscontinuityTime
	FieldHCInOctets
	FieldHCOutOctets
	FieldHCInPkts
	FieldHCOutPkts
	FieldInOctets
	FieldOutOctets
	FieldInPkts
	FieldOutPkts
	FieldInErrors
	FieldOutErrors
	FieldInDiscards
	FieldOutDiscards
)

// Interface is one interface's row as read. Counter32 values stay uint32 so
// that their wrap at 2^32 is explicit.
type Interface struct {
	Index int // ifIndex
	Has   Fields

	Name, Descr, Alias string
	Type               int    // IANAifType
	HighSpeed          uint64 // ifHighSpeed, Mbit/s
	Speed              uint32 // ifSpeed, bit/s (saturates at 4.29 Gbit/s)

	AdminStatus, OperStatus int // IF-MIB INTEGER values
	LastChange              uint32
	DiscontinuityTime       uint32 // ifCounterDiscontinuityTime (TimeTicks)

	HCInOctets, HCOutOctets uint64 // ifHCIn/OutOctets
	HCInPkts, HCOutPkts     uint64 // ifHCIn/OutUcastPkts
	InOctets, OutOctets     uint32 // ifIn/OutOctets
	InPkts, OutPkts         uint32 // ifIn/OutUcastPkts
	InErrors, OutErrors     uint32
	InDiscards, OutDiscards uint32
}

// LLDPRemote is one row of lldpRemTable, joined with the local port it was
// seen on (lldpLocPortTable) when the device has that table.
type LLDPRemote struct {
	LocalPortNum     int    // lldpRemLocalPortNum
	LocalPortID      string // lldpLocPortId of that port, "" when unknown
	LocalPortDescr   string // lldpLocPortDesc, "" when unknown
	ChassisIDSubtype int
	ChassisID        []byte
	PortIDSubtype    int
	PortID           []byte
	PortDescr        string
	SysName          string
}
