package poller

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"github.com/unet-project/unet/agent/derive"
)

// builder turns the varbinds of one poll into a derive.Poll. Devices send
// anything: a value of the wrong type, an index that is not one, a string
// where a counter belongs. Such varbinds are counted (bad) and dropped,
// never trusted and never a reason to stop the poll.
type builder struct {
	poll derive.Poll
	rows map[int]int    // ifIndex → position in poll.Interfaces
	hint int            // position of the last row found
	rem  map[string]int // lldpRemTable index → position in poll.LLDP
	loc  map[int]*locPort
	bad  int
}

// locPort is a row of lldpLocPortTable.
type locPort struct{ id, descr string }

func newBuilder(interfaces int) *builder {
	interfaces = min(max(interfaces, 0), 4096)
	return &builder{
		poll: derive.Poll{Interfaces: make([]derive.Interface, 0, interfaces)},
		rows: make(map[int]int, interfaces),
	}
}

// system stores a varbind of the system group's Get.
func (b *builder) system(v *varbind) {
	if b.poll.System == nil {
		b.poll.System = &derive.System{}
	}
	s := b.poll.System
	switch {
	case bytes.Equal(v.name, encSysDescr):
		s.Descr, _ = str(v)
	case bytes.Equal(v.name, encSysName):
		s.Name, _ = str(v)
	case bytes.Equal(v.name, encSysObjectID):
		if o, ok := oidText(v.raw); ok && v.typ == tagOID {
			s.ObjectID = o
		} else {
			b.bad++
		}
	}
}

// uptime stores sysUpTime.0.
func (b *builder) uptime(v *varbind) {
	if v.typ == tagTimeTicks {
		b.poll.Uptime, b.poll.HaveUptime = uint32(v.u), true
	} else {
		b.bad++
	}
}

// ifNumber reads ifNumber.0; -1 when absent or broken.
func ifNumber(v *varbind) int {
	if !bytes.Equal(v.name, encIfNumber) {
		return -1
	}
	n, ok := intVal(v)
	if !ok || n < 0 || n > 1<<20 {
		return -1
	}
	return int(n)
}

// extra stores the value of an extra OID under key.
func (b *builder) extra(key string, v *varbind) {
	f, ok := floatVal(v)
	if !ok {
		b.bad++
		return
	}
	if b.poll.Extra == nil {
		b.poll.Extra = map[string]float64{}
	}
	b.poll.Extra[key] = f
}

// row stores one varbind of a walked column; suffix is its index, and
// ifIndex the index already parsed for interface columns (0: invalid).
func (b *builder) row(def *columnDef, suffix []byte, ifIndex int, v *varbind) {
	switch def.table {
	case tableIf:
		if ifIndex <= 0 {
			b.bad++
			return
		}
		if !b.ifValue(b.ifRow(ifIndex), def.id, v) {
			b.bad++
		}
	case tableLLDPRem:
		if !b.lldpValue(suffix, def.id, v) {
			b.bad++
		}
	case tableLLDPLoc:
		port, ok := berIndex(suffix)
		s, okv := str(v)
		if !ok || !okv {
			b.bad++
			return
		}
		if b.loc == nil {
			b.loc = map[int]*locPort{}
		}
		lp := b.loc[port]
		if lp == nil {
			lp = &locPort{}
			b.loc[port] = lp
		}
		if def.id == colLldpLocPortID {
			lp.id = s
		} else {
			lp.descr = s
		}
	case tableExtra:
		index, ok := berSuffixText(suffix)
		if !ok {
			b.bad++
			return
		}
		b.extra(def.name+"."+index, v)
	}
}

// ifRow returns the row of ifIndex idx, adding it. Every column lists
// the interfaces in the same order, so the row after the last one found is
// tried before the map.
func (b *builder) ifRow(idx int) *derive.Interface {
	if n := b.hint + 1; n < len(b.poll.Interfaces) && b.poll.Interfaces[n].Index == idx {
		b.hint = n
		return &b.poll.Interfaces[n]
	}
	if i, ok := b.rows[idx]; ok {
		b.hint = i
		return &b.poll.Interfaces[i]
	}
	b.hint = len(b.poll.Interfaces)
	b.rows[idx] = len(b.poll.Interfaces)
	b.poll.Interfaces = append(b.poll.Interfaces, derive.Interface{Index: idx})
	return &b.poll.Interfaces[len(b.poll.Interfaces)-1]
}

// ifValue stores an ifTable/ifXTable value; false when its type is wrong.
func (b *builder) ifValue(r *derive.Interface, id colID, v *varbind) bool {
	var field derive.Fields
	switch id {
	case colIfDescr, colIfName, colIfAlias:
		s, ok := str(v)
		if !ok {
			return false
		}
		switch id {
		case colIfDescr:
			r.Descr, field = s, derive.FieldDescr
		case colIfName:
			r.Name, field = s, derive.FieldName
		default:
			r.Alias, field = s, derive.FieldAlias
		}
	case colIfType, colIfAdminStatus, colIfOperStatus:
		n, ok := intVal(v)
		if !ok || n < 0 || n > math.MaxInt32 {
			return false
		}
		switch id {
		case colIfType:
			r.Type, field = int(n), derive.FieldType
		case colIfAdminStatus:
			r.AdminStatus, field = int(n), derive.FieldAdminStatus
		default:
			r.OperStatus, field = int(n), derive.FieldOperStatus
		}
	default:
		u, ok := uintVal(v)
		if !ok {
			return false
		}
		u32 := uint32(u)
		switch id {
		case colIfSpeed:
			r.Speed, field = u32, derive.FieldSpeed
		case colIfHighSpeed:
			r.HighSpeed, field = u, derive.FieldHighSpeed
		case colIfLastChange:
			r.LastChange, field = u32, derive.FieldLastChange
		case colIfCounterDiscontinuityTime:
			r.DiscontinuityTime, field = u32, derive.FieldDiscontinuityTime
		case colIfHCInOctets:
			r.HCInOctets, field = u, derive.FieldHCInOctets
		case colIfHCOutOctets:
			r.HCOutOctets, field = u, derive.FieldHCOutOctets
		case colIfHCInUcastPkts:
			r.HCInPkts, field = u, derive.FieldHCInPkts
		case colIfHCOutUcastPkts:
			r.HCOutPkts, field = u, derive.FieldHCOutPkts
		case colIfInOctets:
			r.InOctets, field = u32, derive.FieldInOctets
		case colIfOutOctets:
			r.OutOctets, field = u32, derive.FieldOutOctets
		case colIfInUcastPkts:
			r.InPkts, field = u32, derive.FieldInPkts
		case colIfOutUcastPkts:
			r.OutPkts, field = u32, derive.FieldOutPkts
		case colIfInErrors:
			r.InErrors, field = u32, derive.FieldInErrors
		case colIfOutErrors:
			r.OutErrors, field = u32, derive.FieldOutErrors
		case colIfInDiscards:
			r.InDiscards, field = u32, derive.FieldInDiscards
		case colIfOutDiscards:
			r.OutDiscards, field = u32, derive.FieldOutDiscards
		default:
			return false
		}
	}
	r.Has |= field
	return true
}

// lldpValue stores an lldpRemTable value; false when the index or the
// type is wrong.
func (b *builder) lldpValue(suffixBER []byte, id colID, v *varbind) bool {
	// timeMark.localPortNum.remIndex
	suffix, ok := berSuffixText(suffixBER)
	if !ok {
		return false
	}
	_, rest, ok1 := strings.Cut(suffix, ".")
	portText, remText, ok2 := strings.Cut(rest, ".")
	port, ok3 := parseIndex(portText)
	if !ok1 || !ok2 || !ok3 || remText == "" || strings.Contains(remText, ".") {
		return false
	}
	if b.rem == nil {
		b.rem = map[string]int{}
	}
	i, ok := b.rem[suffix]
	if !ok {
		i = len(b.poll.LLDP)
		b.rem[suffix] = i
		b.poll.LLDP = append(b.poll.LLDP, derive.LLDPRemote{LocalPortNum: port})
	}
	r := &b.poll.LLDP[i]
	switch id {
	case colLldpRemChassisIDSubtype, colLldpRemPortIDSubtype:
		n, ok := intVal(v)
		if !ok || n < 0 || n > 255 {
			return false
		}
		if id == colLldpRemChassisIDSubtype {
			r.ChassisIDSubtype = int(n)
		} else {
			r.PortIDSubtype = int(n)
		}
	default:
		if v.typ != tagOctetString {
			return false
		}
		raw := v.raw
		switch id {
		case colLldpRemChassisID:
			r.ChassisID = bytes.Clone(raw) // raw is the receive buffer's
		case colLldpRemPortID:
			r.PortID = bytes.Clone(raw)
		case colLldpRemPortDesc:
			r.PortDescr = string(raw)
		case colLldpRemSysName:
			r.SysName = string(raw)
		}
	}
	return true
}

// finish returns the poll, LLDP rows joined with their local ports.
func (b *builder) finish() derive.Poll {
	for i := range b.poll.LLDP {
		r := &b.poll.LLDP[i]
		if lp := b.loc[r.LocalPortNum]; lp != nil {
			r.LocalPortID, r.LocalPortDescr = lp.id, lp.descr
		}
	}
	return b.poll
}

// str reads an OCTET STRING (copied: the varbind's bytes are the
// receive buffer's).
func str(v *varbind) (string, bool) {
	if v.typ != tagOctetString {
		return "", false
	}
	return string(v.raw), true
}

// intVal reads an INTEGER.
func intVal(v *varbind) (int64, bool) {
	return v.i, v.typ == tagInteger
}

// uintVal reads any unsigned number (Counter32/64, Gauge32, TimeTicks,
// Unsigned32) and non-negative INTEGERs, which broken agents send for
// counters.
func uintVal(v *varbind) (uint64, bool) {
	switch v.typ {
	case tagCounter32, tagGauge32, tagTimeTicks, tagUinteger32, tagCounter64:
		return v.u, true
	case tagInteger:
		return uint64(v.i), v.i >= 0
	}
	return 0, false
}

// floatVal reads a number, or a string that holds one (UCD-SNMP's load
// averages are strings, or Opaque floats).
func floatVal(v *varbind) (float64, bool) {
	if u, ok := uintVal(v); ok {
		return float64(u), true
	}
	if n, ok := intVal(v); ok {
		return float64(n), true
	}
	if v.typ == tagOpaque && v.hasF {
		return v.f, !math.IsNaN(v.f) && !math.IsInf(v.f, 0)
	}
	if s, ok := str(v); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}
