package snmpsim

import (
	"strconv"
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// vendorInfo is what makes a generated device look like one vendor's box:
// identification strings, interface naming, speeds. The values are
// plausible, not copies of a particular firmware.
type vendorInfo struct {
	vendor       model.Vendor
	model        string
	role         model.Role
	sysObjectID  []uint32
	descrA       string // sysDescr before the host name ...
	descrB       string // ... and after it (descrB empty: no host name)
	services     int64
	entDescr     string // entPhysicalDescr of the chassis; "" = no ENTITY-MIB
	serialPrefix string
	oui          [3]byte
	ifIndexBase  int // ifIndex of slot s is ifIndexBase+s+1
	mtu          int64
	accessSpeed  uint64 // bits/s
	uplinkSpeed  uint64
	loopback     bool // slot 0 is "lo" (Net-SNMP on Linux)
	// name appends the interface name of slot; long selects ifDescr's
	// form where it differs from ifName's (Cisco).
	name func(dst []byte, slot, uplink int, long bool) []byte
}

// vendors lists the vendors the generator imitates, in the order a device
// picks from when its profile leaves the vendor unset.
var vendors = []*vendorInfo{
	{
		vendor:      model.VendorCisco,
		model:       "C9300-48P",
		role:        model.RoleSwitch,
		sysObjectID: mustOID("1.3.6.1.4.1.9.1.2494"),
		descrA: "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, RELEASE SOFTWARE (fc3)\r\n" +
			"Technical Support: http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Fri 20-Oct-23 10:44 by mcpre",
		services:     6,
		entDescr:     "Cisco Catalyst 9300 Series Chassis",
		serialPrefix: "FOC",
		oui:          [3]byte{0x00, 0x1b, 0x54},
		mtu:          1500,
		accessSpeed:  1_000_000_000,
		uplinkSpeed:  10_000_000_000,
		name: func(dst []byte, slot, uplink int, long bool) []byte {
			switch {
			case uplink >= 0 && long:
				dst = append(dst, "TenGigabitEthernet1/1/"...)
				return strconv.AppendInt(dst, int64(uplink+1), 10)
			case uplink >= 0:
				dst = append(dst, "Te1/1/"...)
				return strconv.AppendInt(dst, int64(uplink+1), 10)
			case long:
				dst = append(dst, "GigabitEthernet1/0/"...)
			default:
				dst = append(dst, "Gi1/0/"...)
			}
			return strconv.AppendInt(dst, int64(slot+1), 10)
		},
	},
	{
		vendor:      model.VendorJuniper,
		model:       "MX204",
		role:        model.RoleRouter,
		sysObjectID: mustOID("1.3.6.1.4.1.2636.1.1.1.2.151"),
		descrA: "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 22.4R3.25, Build date: 2024-01-12 04:53:38 UTC " +
			"Copyright (c) 1996-2024 Juniper Networks, Inc.",
		services:     4,
		entDescr:     "Juniper MX204 Universal Routing Platform",
		serialPrefix: "JN",
		oui:          [3]byte{0x3c, 0x61, 0x04},
		ifIndexBase:  500,
		mtu:          1514,
		accessSpeed:  10_000_000_000,
		uplinkSpeed:  100_000_000_000,
		name: func(dst []byte, slot, uplink int, _ bool) []byte {
			if uplink >= 0 {
				dst = append(dst, "et-0/0/"...)
				return strconv.AppendInt(dst, int64(uplink), 10)
			}
			dst = append(dst, "xe-0/1/"...)
			return strconv.AppendInt(dst, int64(slot), 10)
		},
	},
	{
		vendor:       model.VendorArista,
		model:        "DCS-7280SR-48C6",
		role:         model.RoleSwitch,
		sysObjectID:  mustOID("1.3.6.1.4.1.30065.1.3011.7280.1848"),
		descrA:       "Arista Networks EOS version 4.31.2F running on an Arista Networks DCS-7280SR-48C6",
		services:     6,
		entDescr:     "DCS-7280SR-48C6 10/100GbE switch",
		serialPrefix: "JPE",
		oui:          [3]byte{0x44, 0x4c, 0xa8},
		mtu:          9214,
		accessSpeed:  10_000_000_000,
		uplinkSpeed:  100_000_000_000,
		name: func(dst []byte, slot, uplink int, _ bool) []byte {
			dst = append(dst, "Ethernet"...)
			dst = strconv.AppendInt(dst, int64(slot+1), 10)
			if uplink >= 0 {
				dst = append(dst, "/1"...)
			}
			return dst
		},
	},
	{
		vendor:       model.VendorLinux,
		model:        "Linux",
		role:         model.RoleServer,
		sysObjectID:  mustOID("1.3.6.1.4.1.8072.3.2.10"),
		descrA:       "Linux ",
		descrB:       " 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64",
		services:     72,
		serialPrefix: "VMW",
		oui:          [3]byte{0x52, 0x54, 0x00},
		mtu:          1500,
		accessSpeed:  1_000_000_000,
		uplinkSpeed:  10_000_000_000,
		loopback:     true,
		name: func(dst []byte, slot, _ int, _ bool) []byte {
			if slot == 0 {
				return append(dst, "lo"...)
			}
			dst = append(dst, "eth"...)
			return strconv.AppendInt(dst, int64(slot-1), 10)
		},
	},
}

// vendorByName finds the generator's vendor for v; ok is false for vendors
// it does not imitate.
func vendorByName(v model.Vendor) (*vendorInfo, bool) {
	for _, vi := range vendors {
		if vi.vendor == v {
			return vi, true
		}
	}
	return nil, false
}

// vendorFromSysObjectID guesses the vendor of a recording from the
// enterprise number in its sysObjectID.
func vendorFromSysObjectID(oid []uint32) model.Vendor {
	if len(oid) < 7 || compareOID(oid[:6], []uint32{1, 3, 6, 1, 4, 1}) != 0 {
		return model.VendorGeneric
	}
	switch oid[6] {
	case 9:
		return model.VendorCisco
	case 2636:
		return model.VendorJuniper
	case 30065:
		return model.VendorArista
	case 8072:
		return model.VendorLinux
	}
	return model.VendorGeneric
}

// uplinks is how many of a device's last interfaces are uplinks: faster,
// busier, and cabled to other simulated devices (LLDP).
func uplinks(interfaces int) int {
	return min(4, interfaces/8)
}

// uplinkOf returns k when slot is the device's k-th uplink, else -1.
func uplinkOf(slot, interfaces int) int {
	k := slot - (interfaces - uplinks(interfaces))
	if k < 0 {
		return -1
	}
	return k
}

// supportedVendors lists the vendor names a Profile accepts.
func supportedVendors() string {
	names := make([]string, len(vendors))
	for i, vi := range vendors {
		names[i] = string(vi.vendor)
	}
	return strings.Join(names, ", ")
}
