package poller

import "strings"

// OIDs are written dotted with a leading dot, and kept BER-encoded too
// (enc): responses are matched to columns on their encoded names (see
// ber.go).

// Scalars.
const (
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidIfNumber    = ".1.3.6.1.2.1.2.1.0"
)

// Encoded scalars. Read-only after package initialisation.
var (
	encSysDescr    = mustOID(oidSysDescr)
	encSysObjectID = mustOID(oidSysObjectID)
	encSysUpTime   = mustOID(oidSysUpTime)
	encSysName     = mustOID(oidSysName)
	encIfNumber    = mustOID(oidIfNumber)
	// The system group's Get.
	systemOIDs = [][]byte{encSysDescr, encSysObjectID, encSysName}
)

// colID names a column the poller knows how to store.
type colID uint8

const (
	colIfDescr colID = iota
	colIfType
	colIfSpeed
	colIfAdminStatus
	colIfOperStatus
	colIfLastChange
	colIfInOctets
	colIfInUcastPkts
	colIfInDiscards
	colIfInErrors
	colIfOutOctets
	colIfOutUcastPkts
	colIfOutDiscards
	colIfOutErrors
	colIfName
	colIfHCInOctets
	colIfHCInUcastPkts
	colIfHCOutOctets
	colIfHCOutUcastPkts
	colIfHighSpeed
	colIfAlias
	colIfCounterDiscontinuityTime
	colLldpRemChassisIDSubtype
	colLldpRemChassisID
	colLldpRemPortIDSubtype
	colLldpRemPortID
	colLldpRemPortDesc
	colLldpRemSysName
	colLldpLocPortID
	colLldpLocPortDesc
	colExtra // a vendor-profile or custom column
)

// table says how a column's rows are indexed.
type table uint8

const (
	tableIf      table = iota // ifIndex
	tableLLDPRem              // lldpRemTimeMark.lldpRemLocalPortNum.lldpRemIndex
	tableLLDPLoc              // lldpLocPortNum
	tableExtra                // anything: the index is kept as text
)

// columnDef is a column the poller may walk.
type columnDef struct {
	id    colID
	oid   string // the column's OID, leading dot, no trailing dot
	enc   []byte // oid, BER-encoded
	table table
	name  string // extra columns: the key in DeviceState.Extra
}

// Column sets. Counters and statuses are read at every poll, labels and
// LLDP less often (Config.LabelEvery, LLDPEvery).
var (
	statusColumns = encoded([]columnDef{
		{id: colIfAdminStatus, oid: ".1.3.6.1.2.1.2.2.1.7"},
		{id: colIfOperStatus, oid: ".1.3.6.1.2.1.2.2.1.8"},
		{id: colIfLastChange, oid: ".1.3.6.1.2.1.2.2.1.9"},
		{id: colIfInDiscards, oid: ".1.3.6.1.2.1.2.2.1.13"},
		{id: colIfInErrors, oid: ".1.3.6.1.2.1.2.2.1.14"},
		{id: colIfOutDiscards, oid: ".1.3.6.1.2.1.2.2.1.19"},
		{id: colIfOutErrors, oid: ".1.3.6.1.2.1.2.2.1.20"},
		{id: colIfCounterDiscontinuityTime, oid: ".1.3.6.1.2.1.31.1.1.1.19"},
	})
	hcColumns = encoded([]columnDef{
		{id: colIfHCInOctets, oid: ".1.3.6.1.2.1.31.1.1.1.6"},
		{id: colIfHCInUcastPkts, oid: ".1.3.6.1.2.1.31.1.1.1.7"},
		{id: colIfHCOutOctets, oid: ".1.3.6.1.2.1.31.1.1.1.10"},
		{id: colIfHCOutUcastPkts, oid: ".1.3.6.1.2.1.31.1.1.1.11"},
	})
	counter32Columns = encoded([]columnDef{
		{id: colIfInOctets, oid: ".1.3.6.1.2.1.2.2.1.10"},
		{id: colIfInUcastPkts, oid: ".1.3.6.1.2.1.2.2.1.11"},
		{id: colIfOutOctets, oid: ".1.3.6.1.2.1.2.2.1.16"},
		{id: colIfOutUcastPkts, oid: ".1.3.6.1.2.1.2.2.1.17"},
	})
	labelColumns = encoded([]columnDef{
		{id: colIfDescr, oid: ".1.3.6.1.2.1.2.2.1.2"},
		{id: colIfType, oid: ".1.3.6.1.2.1.2.2.1.3"},
		{id: colIfSpeed, oid: ".1.3.6.1.2.1.2.2.1.5"},
		{id: colIfName, oid: ".1.3.6.1.2.1.31.1.1.1.1"},
		{id: colIfHighSpeed, oid: ".1.3.6.1.2.1.31.1.1.1.15"},
		{id: colIfAlias, oid: ".1.3.6.1.2.1.31.1.1.1.18"},
	})
	lldpColumns = encoded([]columnDef{
		{id: colLldpRemChassisIDSubtype, oid: ".1.0.8802.1.1.2.1.4.1.1.4", table: tableLLDPRem},
		{id: colLldpRemChassisID, oid: ".1.0.8802.1.1.2.1.4.1.1.5", table: tableLLDPRem},
		{id: colLldpRemPortIDSubtype, oid: ".1.0.8802.1.1.2.1.4.1.1.6", table: tableLLDPRem},
		{id: colLldpRemPortID, oid: ".1.0.8802.1.1.2.1.4.1.1.7", table: tableLLDPRem},
		{id: colLldpRemPortDesc, oid: ".1.0.8802.1.1.2.1.4.1.1.8", table: tableLLDPRem},
		{id: colLldpRemSysName, oid: ".1.0.8802.1.1.2.1.4.1.1.9", table: tableLLDPRem},
		{id: colLldpLocPortID, oid: ".1.0.8802.1.1.2.1.3.7.1.3", table: tableLLDPLoc},
		{id: colLldpLocPortDesc, oid: ".1.0.8802.1.1.2.1.3.7.1.4", table: tableLLDPLoc},
	})
)

// parseOID checks a dotted OID (leading dot optional) and returns it in
// the form configuration and metrics show: dotted, leading dot.
func parseOID(s string) (string, bool) {
	if _, err := appendOID(nil, s); err != nil {
		return "", false
	}
	return "." + strings.TrimPrefix(s, "."), true
}

// encoded fills the BER encoding of each column of a table.
func encoded(defs []columnDef) []columnDef {
	for i := range defs {
		defs[i].enc = mustOID(defs[i].oid)
	}
	return defs
}

// parseIndex parses a one-component index in text (an LLDP local port
// number): 1..2^31-1, anything else is a broken row.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0 && n <= 1<<31-1
}
