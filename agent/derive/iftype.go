package derive

import "strconv"

// IfTypeName returns the IANAifType name of t ("ethernetCsmacd") for the
// types met on routers, switches and servers, or t in decimal otherwise.
func IfTypeName(t int) string {
	switch t {
	case 1:
		return "other"
	case 6:
		return "ethernetCsmacd"
	case 18:
		return "ds1"
	case 23:
		return "ppp"
	case 24:
		return "softwareLoopback"
	case 30:
		return "ds3"
	case 32:
		return "frameRelay"
	case 37:
		return "atm"
	case 39:
		return "sonet"
	case 49:
		return "aal5"
	case 53:
		return "propVirtual"
	case 62:
		return "fastEther"
	case 71:
		return "ieee80211"
	case 108:
		return "pppMultilinkBundle"
	case 117:
		return "gigabitEthernet"
	case 131:
		return "tunnel"
	case 135:
		return "l2vlan"
	case 136:
		return "l3ipvlan"
	case 150:
		return "mplsTunnel"
	case 161:
		return "ieee8023adLag"
	case 166:
		return "mpls"
	case 209:
		return "bridge"
	}
	return strconv.Itoa(t)
}
