package poller

import (
	"math"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

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

// scalar stores a scalar read by Get or as a GetBulk non-repeater.
func (b *builder) scalar(oid string, v *gosnmp.SnmpPDU) {
	switch oid {
	case oidSysDescr, oidSysName, oidSysObjectID:
		if b.poll.System == nil {
			b.poll.System = &derive.System{}
		}
		s := b.poll.System
		switch oid {
		case oidSysDescr:
			s.Descr, _ = str(v)
		case oidSysName:
			s.Name, _ = str(v)
		case oidSysObjectID:
			if o, ok := v.Value.(string); ok && v.Type == gosnmp.ObjectIdentifier {
				s.ObjectID = strings.TrimPrefix(o, ".")
			} else {
				b.bad++
			}
		}
	case oidSysUpTime:
		if t, ok := v.Value.(uint32); ok && v.Type == gosnmp.TimeTicks {
			b.poll.Uptime, b.poll.HaveUptime = t, true
		} else {
			b.bad++
		}
	}
}

// ifNumber reads ifNumber.0; -1 when absent or broken.
func ifNumber(v *gosnmp.SnmpPDU) int {
	if v.Name != oidIfNumber {
		return -1
	}
	n, ok := intVal(v)
	if !ok || n < 0 || n > 1<<20 {
		return -1
	}
	return int(n)
}

// extra stores the value of an extra OID under key.
func (b *builder) extra(key string, v *gosnmp.SnmpPDU) {
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
func (b *builder) row(def *columnDef, suffix string, ifIndex int, v *gosnmp.SnmpPDU) {
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
		port, ok := parseIndex(suffix)
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
		b.extra(def.name+"."+suffix, v)
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
func (b *builder) ifValue(r *derive.Interface, id colID, v *gosnmp.SnmpPDU) bool {
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
func (b *builder) lldpValue(suffix string, id colID, v *gosnmp.SnmpPDU) bool {
	// timeMark.localPortNum.remIndex
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
		raw, ok := v.Value.([]byte)
		if !ok || v.Type != gosnmp.OctetString {
			return false
		}
		switch id {
		case colLldpRemChassisID:
			r.ChassisID = raw
		case colLldpRemPortID:
			r.PortID = raw
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

// str reads an OCTET STRING.
func str(v *gosnmp.SnmpPDU) (string, bool) {
	b, ok := v.Value.([]byte)
	if !ok || v.Type != gosnmp.OctetString {
		return "", false
	}
	return string(b), true
}

// intVal reads an INTEGER.
func intVal(v *gosnmp.SnmpPDU) (int64, bool) {
	n, ok := v.Value.(int)
	if !ok || v.Type != gosnmp.Integer {
		return 0, false
	}
	return int64(n), true
}

// uintVal reads any unsigned number (Counter32/64, Gauge32, TimeTicks,
// Unsigned32) and non-negative INTEGERs, which broken agents send for
// counters.
func uintVal(v *gosnmp.SnmpPDU) (uint64, bool) {
	switch x := v.Value.(type) {
	case uint64:
		return x, v.Type == gosnmp.Counter64
	case uint:
		return uint64(x), v.Type == gosnmp.Counter32 || v.Type == gosnmp.Gauge32
	case uint32:
		return uint64(x), v.Type == gosnmp.TimeTicks || v.Type == gosnmp.Uinteger32
	case int:
		return uint64(x), x >= 0 && v.Type == gosnmp.Integer
	}
	return 0, false
}

// floatVal reads a number, or a string that holds one (UCD-SNMP's load
// averages are strings).
func floatVal(v *gosnmp.SnmpPDU) (float64, bool) {
	if u, ok := uintVal(v); ok {
		return float64(u), true
	}
	if n, ok := intVal(v); ok {
		return float64(n), true
	}
	switch x := v.Value.(type) {
	case float32:
		return float64(x), !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	if s, ok := str(v); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}
