package poller

import (
	"strconv"
	"strings"
)

// OIDs are kept in gosnmp's form: dotted with a leading dot, which is how
// it names the varbinds of responses, so that matching a response to a
// column is a prefix comparison with no parsing.

// Scalars.
const (
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidIfNumber    = ".1.3.6.1.2.1.2.1.0"
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
	table table
	name  string // extra columns: the key in DeviceState.Extra
}

// Column sets. Counters and statuses are read at every poll, labels and
// LLDP less often (Config.LabelEvery, LLDPEvery).
var (
	statusColumns = []columnDef{
		{id: colIfAdminStatus, oid: ".1.3.6.1.2.1.2.2.1.7"},
		{id: colIfOperStatus, oid: ".1.3.6.1.2.1.2.2.1.8"},
		{id: colIfLastChange, oid: ".1.3.6.1.2.1.2.2.1.9"},
		{id: colIfInDiscards, oid: ".1.3.6.1.2.1.2.2.1.13"},
		{id: colIfInErrors, oid: ".1.3.6.1.2.1.2.2.1.14"},
		{id: colIfOutDiscards, oid: ".1.3.6.1.2.1.2.2.1.19"},
		{id: colIfOutErrors, oid: ".1.3.6.1.2.1.2.2.1.20"},
		{id: colIfCounterDiscontinuityTime, oid: ".1.3.6.1.2.1.31.1.1.1.19"},
	}
	hcColumns = []columnDef{
		{id: colIfHCInOctets, oid: ".1.3.6.1.2.1.31.1.1.1.6"},
		{id: colIfHCInUcastPkts, oid: ".1.3.6.1.2.1.31.1.1.1.7"},
		{id: colIfHCOutOctets, oid: ".1.3.6.1.2.1.31.1.1.1.10"},
		{id: colIfHCOutUcastPkts, oid: ".1.3.6.1.2.1.31.1.1.1.11"},
	}
	counter32Columns = []columnDef{
		{id: colIfInOctets, oid: ".1.3.6.1.2.1.2.2.1.10"},
		{id: colIfInUcastPkts, oid: ".1.3.6.1.2.1.2.2.1.11"},
		{id: colIfOutOctets, oid: ".1.3.6.1.2.1.2.2.1.16"},
		{id: colIfOutUcastPkts, oid: ".1.3.6.1.2.1.2.2.1.17"},
	}
	labelColumns = []columnDef{
		{id: colIfDescr, oid: ".1.3.6.1.2.1.2.2.1.2"},
		{id: colIfType, oid: ".1.3.6.1.2.1.2.2.1.3"},
		{id: colIfSpeed, oid: ".1.3.6.1.2.1.2.2.1.5"},
		{id: colIfName, oid: ".1.3.6.1.2.1.31.1.1.1.1"},
		{id: colIfHighSpeed, oid: ".1.3.6.1.2.1.31.1.1.1.15"},
		{id: colIfAlias, oid: ".1.3.6.1.2.1.31.1.1.1.18"},
	}
	lldpColumns = []columnDef{
		{id: colLldpRemChassisIDSubtype, oid: ".1.0.8802.1.1.2.1.4.1.1.4", table: tableLLDPRem},
		{id: colLldpRemChassisID, oid: ".1.0.8802.1.1.2.1.4.1.1.5", table: tableLLDPRem},
		{id: colLldpRemPortIDSubtype, oid: ".1.0.8802.1.1.2.1.4.1.1.6", table: tableLLDPRem},
		{id: colLldpRemPortID, oid: ".1.0.8802.1.1.2.1.4.1.1.7", table: tableLLDPRem},
		{id: colLldpRemPortDesc, oid: ".1.0.8802.1.1.2.1.4.1.1.8", table: tableLLDPRem},
		{id: colLldpRemSysName, oid: ".1.0.8802.1.1.2.1.4.1.1.9", table: tableLLDPRem},
		{id: colLldpLocPortID, oid: ".1.0.8802.1.1.2.1.3.7.1.3", table: tableLLDPLoc},
		{id: colLldpLocPortDesc, oid: ".1.0.8802.1.1.2.1.3.7.1.4", table: tableLLDPLoc},
	}
)

// parseOID checks a dotted OID (leading dot optional) and returns it in
// gosnmp's form.
func parseOID(s string) (string, bool) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return "", false
	}
	for _, part := range strings.Split(s, ".") {
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return "", false
		}
	}
	return "." + s, true
}

// suffixOf returns the index part of name under column oid ("12" for
// .1.3.6.1.2.1.2.2.1.8.12 under .1.3.6.1.2.1.2.2.1.8), and false when name
// is not strictly inside the column.
func suffixOf(name, oid string) (string, bool) {
	if len(name) < len(oid)+2 || name[len(oid)] != '.' || name[:len(oid)] != oid {
		return "", false
	}
	return name[len(oid)+1:], true
}

// parseIndex parses a one-component index (an ifIndex). ifIndex is
// 1..2^31-1; anything else is a broken row.
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

// compareOID compares two dotted OIDs numerically, component by
// component, without allocating. It is called for every varbind of a walk
// (to refuse an agent that goes back), so it skips the common prefix
// bytewise and compares numbers from the first component that differs.
// Malformed components compare as text, which is enough to stop loops.
func compareOID(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return 0
	}
	// Back up to the start of the component that differs.
	for i > 0 && a[i-1] != '.' {
		i--
	}
	a, b = a[i:], b[i:]
	for a != "" && b != "" {
		na, nb := componentEnd(a), componentEnd(b)
		if na != nb {
			// Without leading zeros, a longer number is bigger.
			if na < nb {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a[:na], b[:nb]); c != 0 {
			return c
		}
		a, b = skipDot(a[na:]), skipDot(b[nb:])
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// componentEnd returns the length of the first component of s.
func componentEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return i
		}
	}
	return len(s)
}

func skipDot(s string) string {
	if s != "" && s[0] == '.' {
		return s[1:]
	}
	return s
}
