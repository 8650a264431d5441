package lang

import (
	"slices"
	"strings"

	"github.com/unet-project/unet/collector/policy/abi"
)

// FieldInfo describes a field of the catalogue: the names a policy can
// read. collector/policy/record fills them; the CLI and the README list
// them from Fields.
type FieldInfo struct {
	// Path is the field's name. Two entries are families rather than
	// fields: "custom_data.<path>" and "derived.extra.<name>"; Lookup
	// answers for each of their members.
	Path string
	Type abi.Type
	Doc  string

	elem abi.Type // TypeList fields: the type of the elements
}

// Prefixes of the two families of fields.
const (
	CustomDataPrefix = "custom_data."
	ExtraPrefix      = "derived.extra."
)

// catalogue is read-only: the field list of the language.
var catalogue = []FieldInfo{
	{Path: "node.name", Type: abi.TypeString, Doc: "the node's name"},
	{Path: "node.fqdn", Type: abi.TypeString, Doc: "name.domain, or the name when the node has no domain"},
	{Path: "node.domain", Type: abi.TypeString, Doc: "the DNS domain (lower case)"},
	{Path: "node.vendor", Type: abi.TypeString, Doc: "the vendor as in the desired state, e.g. \"cisco\", \"juniper\""},
	{Path: "node.model", Type: abi.TypeString, Doc: "the hardware model"},
	{Path: "node.role", Type: abi.TypeString, Doc: "router, switch, firewall, load-balancer, access-point, server or other"},
	{Path: "node.lifecycle", Type: abi.TypeString, Doc: "planned, implementing, live or decommissioned"},
	{Path: "node.version", Type: abi.TypeString, Doc: "the software version the node should run"},
	{Path: "node.serial", Type: abi.TypeString, Doc: "the serial number"},
	{Path: "node.management_address", Type: abi.TypeString, Doc: "the management IP address, in canonical text form"},
	{Path: "node.snmp_profile", Type: abi.TypeString, Doc: "the name of the node's SNMP profile"},
	{Path: "node.tags", Type: abi.TypeList, elem: abi.TypeString, Doc: "the node's tags, sorted (an empty list when it has none)"},

	{Path: "location.name", Type: abi.TypeString, Doc: "the name of the node's location"},
	{Path: "location.kind", Type: abi.TypeString, Doc: "the kind of the node's location: region, country, city, site, building, floor, room or rack"},
	{Path: "location.path", Type: abi.TypeString, Doc: "the names of the locations from the root down to the node's, joined by \"/\" (e.g. \"eu/dc1/room-2/r12\")"},
	{Path: "location.site", Type: abi.TypeString, Doc: "the name of the site the node is in: its location or the nearest ancestor of kind site"},

	{Path: "derived.reachable", Type: abi.TypeBool, Doc: "whether the device answered its last poll"},
	{Path: "derived.uptime", Type: abi.TypeNumber, Doc: "the device's uptime in seconds (sysUpTime)"},
	{Path: "derived.sys_name", Type: abi.TypeString, Doc: "sysName as the device reports it"},
	{Path: "derived.sys_descr", Type: abi.TypeString, Doc: "sysDescr as the device reports it"},
	{Path: "derived.sys_object_id", Type: abi.TypeString, Doc: "sysObjectID in dotted form"},
	{Path: "derived.vendor", Type: abi.TypeString, Doc: "the vendor recognised from sysObjectID"},
	{Path: "derived.last_poll_age", Type: abi.TypeNumber, Doc: "seconds since the last poll attempt (successful or not), at evaluation time"},
	{Path: "derived.interfaces.count", Type: abi.TypeNumber, Doc: "the number of interfaces"},
	{Path: "derived.interfaces.up", Type: abi.TypeNumber, Doc: "interfaces whose operational status is up"},
	{Path: "derived.interfaces.down", Type: abi.TypeNumber, Doc: "interfaces administratively up but not operationally up"},
	{Path: "derived.interfaces.admin_down", Type: abi.TypeNumber, Doc: "interfaces administratively down"},
	{Path: "derived.interfaces.errors_in_rate", Type: abi.TypeNumber, Doc: "the highest inbound error rate of any interface, per second (null when no interface has a rate)"},
	{Path: "derived.interfaces.errors_out_rate", Type: abi.TypeNumber, Doc: "the highest outbound error rate of any interface, per second"},
	{Path: "derived.interfaces.discards_in_rate", Type: abi.TypeNumber, Doc: "the highest inbound discard rate of any interface, per second"},
	{Path: "derived.interfaces.discards_out_rate", Type: abi.TypeNumber, Doc: "the highest outbound discard rate of any interface, per second"},
	{Path: "derived.interfaces.max_in_utilization", Type: abi.TypeNumber, Doc: "the highest inbound utilisation of any interface with a known speed, in percent"},
	{Path: "derived.interfaces.max_out_utilization", Type: abi.TypeNumber, Doc: "the highest outbound utilisation of any interface with a known speed, in percent"},
	{Path: "derived.lldp.neighbors", Type: abi.TypeNumber, Doc: "the number of LLDP neighbours (rows of the LLDP remote table)"},
	{Path: "derived.lldp.neighbor_names", Type: abi.TypeList, elem: abi.TypeString, Doc: "the system names the LLDP neighbours advertise, sorted, each once"},
	{Path: ExtraPrefix + "<name>", Type: abi.TypeNumber, Doc: "the value of a vendor-profile or custom OID by name, e.g. derived.extra.cpu_5min (null when the device has none)"},

	{Path: CustomDataPrefix + "<path>", Type: abi.TypeAny, Doc: "the node's custom data by dotted path, e.g. custom_data.bgp.asn; any JSON type, null when the path is missing"},
}

var catalogueIndex = func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, f := range catalogue {
		m[f.Path] = i
	}
	return m
}()

// Fields returns the catalogue, in documentation order. The result is a
// copy: changing it changes nothing.
func Fields() []FieldInfo {
	out := make([]FieldInfo, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the field called path, including the members of the
// custom_data and derived.extra families.
func Lookup(path string) (FieldInfo, bool) {
	if i, ok := catalogueIndex[path]; ok && !strings.HasSuffix(path, ">") {
		return catalogue[i], true
	}
	for _, fam := range [...]struct{ prefix, entry string }{
		{CustomDataPrefix, CustomDataPrefix + "<path>"},
		{ExtraPrefix, ExtraPrefix + "<name>"},
	} {
		rest, ok := strings.CutPrefix(path, fam.prefix)
		if !ok || strings.ContainsAny(rest, "<>") || slices.Contains(strings.Split(rest, "."), "") {
			continue
		}
		f := catalogue[catalogueIndex[fam.entry]]
		f.Path = path
		return f, true
	}
	return FieldInfo{}, false
}

// suggest returns the catalogue name closest to an unknown path, or "" when
// nothing is close enough to be a likely typo.
func suggest(path string) string {
	best, bestD := "", 1<<30
	for _, f := range catalogue {
		if strings.HasSuffix(f.Path, ">") {
			continue
		}
		if d := editDistance(strings.ToLower(path), f.Path); d < bestD {
			best, bestD = f.Path, d
		}
	}
	// A path without its prefix ("role" for node.role) or cut short
	// ("node.vers") is far in edit distance but an obvious intent.
	if bestD > 0 {
		for _, f := range catalogue {
			if strings.HasSuffix(f.Path, "."+path) {
				return f.Path
			}
		}
		if i := strings.LastIndexByte(path, '.'); i >= 0 && len(path)-i > 2 {
			for _, f := range catalogue {
				if strings.HasPrefix(f.Path, path) && !strings.HasSuffix(f.Path, ">") {
					return f.Path
				}
			}
		}
	}
	if bestD <= max(2, len(path)/4) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// siblings returns the last segments of the catalogue fields that share
// path's parent ("node." for node.x), or nil when the parent is unknown.
func siblings(path string) []string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return nil
	}
	parent := path[:i+1]
	var out []string
	for _, f := range catalogue {
		if rest, ok := strings.CutPrefix(f.Path, parent); ok && !strings.Contains(rest, ".") {
			out = append(out, rest)
		}
	}
	return out
}
