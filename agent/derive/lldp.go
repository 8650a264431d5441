package derive

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/unet-project/unet/shared/model"
)

// LLDP-MIB subtypes that need formatting (LldpChassisIdSubtype and
// LldpPortIdSubtype).
const (
	chassisSubtypeMAC     = 4
	chassisSubtypeNetAddr = 5
	portSubtypeMAC        = 3
	portSubtypeNetAddr    = 4
)

// neighbors converts the LLDP remote rows of a poll, naming each local
// port after the device's own interface.
func (d *Deriver) neighbors(rows []LLDPRemote) []model.LLDPNeighbor {
	if len(rows) == 0 {
		return nil
	}
	byName := make(map[string]int, 2*len(d.ifs))
	for i := range d.ifs {
		f := &d.ifs[i]
		l := d.labelsOf(f)
		for _, n := range []string{l.descr, l.name} {
			if n != "" {
				byName[n] = f.index
			}
		}
	}
	out := make([]model.LLDPNeighbor, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		n := model.LLDPNeighbor{
			ChassisID: formatID(r.ChassisID, r.ChassisIDSubtype == chassisSubtypeMAC, r.ChassisIDSubtype == chassisSubtypeNetAddr),
			PortID:    formatID(r.PortID, r.PortIDSubtype == portSubtypeMAC, r.PortIDSubtype == portSubtypeNetAddr),
			PortDescr: printable(r.PortDescr),
			SysName:   printable(r.SysName),
		}
		n.LocalIfIndex, n.LocalPort = d.localPort(r, byName)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b model.LLDPNeighbor) int { return strings.Compare(neighborKey(&a), neighborKey(&b)) })
	return slices.CompactFunc(out, func(a, b model.LLDPNeighbor) bool { return neighborKey(&a) == neighborKey(&b) })
}

// localPort finds the interface an LLDP row was received on. The local
// port number is only an ifIndex on some vendors, so the port's own
// identifiers (lldpLocPortId, lldpLocPortDesc) are matched against
// interface names first.
func (d *Deriver) localPort(r *LLDPRemote, byName map[string]int) (int, string) {
	for _, id := range []string{r.LocalPortID, r.LocalPortDescr} {
		if idx, ok := byName[id]; ok && id != "" {
			return idx, d.labelsOf(d.find(idx)).name
		}
	}
	if f := d.find(r.LocalPortNum); f != nil {
		return r.LocalPortNum, d.labelsOf(f).name
	}
	for _, id := range []string{r.LocalPortID, r.LocalPortDescr} {
		if id != "" {
			return 0, printable(id)
		}
	}
	return 0, strconv.Itoa(r.LocalPortNum)
}

// neighborKey identifies a neighbour: local port, remote chassis and port.
func neighborKey(n *model.LLDPNeighbor) string {
	return n.LocalPort + "\x00" + n.ChassisID + "\x00" + n.PortID + "\x00" + n.SysName
}

// lldpEvents compares the new neighbour set with the previous one.
func (d *Deriver) lldpEvents(cur []model.LLDPNeighbor, t time.Time) []model.Event {
	old := make(map[string]bool, len(d.lldp))
	for i := range d.lldp {
		old[neighborKey(&d.lldp[i])] = true
	}
	now := make(map[string]bool, len(cur))
	var events []model.Event
	for i := range cur {
		n := cur[i]
		k := neighborKey(&n)
		now[k] = true
		if !old[k] {
			events = append(events, model.Event{Time: t, Node: d.node, Kind: model.EventLLDPAdded,
				IfIndex: n.LocalIfIndex, IfName: n.LocalPort, To: n.SysName, Neighbor: &n})
		}
	}
	for i := range d.lldp {
		n := d.lldp[i]
		if !now[neighborKey(&n)] {
			events = append(events, model.Event{Time: t, Node: d.node, Kind: model.EventLLDPRemoved,
				IfIndex: n.LocalIfIndex, IfName: n.LocalPort, From: n.SysName, Neighbor: &n})
		}
	}
	return events
}

// formatID renders an LLDP chassis or port identifier: a MAC address as
// aa:bb:cc:dd:ee:ff, a network address (IANA family byte, then the
// address) as an IP, text as text, anything else in hex.
func formatID(b []byte, mac, netAddr bool) string {
	switch {
	case mac && len(b) == 6:
		return formatMAC(b)
	case netAddr && len(b) == 5 && b[0] == 1:
		return netip.AddrFrom4([4]byte(b[1:])).String()
	case netAddr && len(b) == 17 && b[0] == 2:
		return netip.AddrFrom16([16]byte(b[1:])).String()
	}
	if isText(b) {
		return string(b)
	}
	return hex.EncodeToString(b)
}

func formatMAC(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

// isText reports whether b is printable UTF-8.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return len(b) == 0
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// printable keeps device-supplied text safe to show and to store: invalid
// UTF-8 and control characters other than tab, CR and LF (multi-line
// sysDescr is common) become U+FFFD.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (!unicode.IsPrint(r) && r != '\t' && r != '\r' && r != '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r != '\t' && r != '\r' && r != '\n' && !unicode.IsPrint(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
