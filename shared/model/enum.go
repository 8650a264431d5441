package model

import (
	"fmt"
	"strings"
)

// parseEnum matches s case-insensitively against the canonical values in
// accepted (and their aliases) and returns the canonical value. The error
// lists every accepted value so the user can fix the input in one go.
func parseEnum[T ~string](what, s string, accepted []T, aliases map[string]T) (T, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	for _, v := range accepted {
		if in == strings.ToLower(string(v)) {
			return v, nil
		}
	}
	if v, ok := aliases[in]; ok {
		return v, nil
	}
	names := make([]string, len(accepted))
	for i, v := range accepted {
		names[i] = string(v)
	}
	var zero T
	return zero, fmt.Errorf("unknown %s %q (accepted: %s)", what, s, strings.Join(names, ", "))
}

// LocationKind is the level of a location in the hierarchy.
type LocationKind string

const (
	KindRegion   LocationKind = "region"
	KindCountry  LocationKind = "country"
	KindCity     LocationKind = "city"
	KindSite     LocationKind = "site"
	KindBuilding LocationKind = "building"
	KindFloor    LocationKind = "floor"
	KindRoom     LocationKind = "room"
	KindRack     LocationKind = "rack"
)

// LocationKinds lists the kinds from the widest to the narrowest.
func LocationKinds() []LocationKind {
	return []LocationKind{KindRegion, KindCountry, KindCity, KindSite, KindBuilding, KindFloor, KindRoom, KindRack}
}

// ParseLocationKind parses a kind case-insensitively.
func ParseLocationKind(s string) (LocationKind, error) {
	return parseEnum("location kind", s, LocationKinds(), nil)
}

// UnmarshalText accepts any case; the empty string stays empty so that
// validation can report a missing value by field name.
func (k *LocationKind) UnmarshalText(b []byte) error { return unmarshalEnum(k, b, ParseLocationKind) }

// Role is what a node does in the network.
type Role string

const (
	RoleRouter       Role = "router"
	RoleSwitch       Role = "switch"
	RoleFirewall     Role = "firewall"
	RoleLoadBalancer Role = "load-balancer"
	RoleAccessPoint  Role = "access-point"
	RoleServer       Role = "server"
	RoleOther        Role = "other"
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleRouter, RoleSwitch, RoleFirewall, RoleLoadBalancer, RoleAccessPoint, RoleServer, RoleOther}
}

// ParseRole parses a role case-insensitively ("loadbalancer", "load_balancer",
// "lb", "ap" are accepted spellings).
func ParseRole(s string) (Role, error) {
	return parseEnum("role", s, Roles(), map[string]Role{
		"loadbalancer": RoleLoadBalancer, "load_balancer": RoleLoadBalancer, "lb": RoleLoadBalancer,
		"accesspoint": RoleAccessPoint, "access_point": RoleAccessPoint, "ap": RoleAccessPoint,
	})
}

func (r *Role) UnmarshalText(b []byte) error { return unmarshalEnum(r, b, ParseRole) }

// Lifecycle is where a node is in its life.
type Lifecycle string

const (
	LifecyclePlanned        Lifecycle = "planned"
	LifecycleImplementing   Lifecycle = "implementing"
	LifecycleLive           Lifecycle = "live"
	LifecycleDecommissioned Lifecycle = "decommissioned"
)

// Lifecycles lists every lifecycle stage in order.
func Lifecycles() []Lifecycle {
	return []Lifecycle{LifecyclePlanned, LifecycleImplementing, LifecycleLive, LifecycleDecommissioned}
}

// ParseLifecycle parses a lifecycle stage case-insensitively.
func ParseLifecycle(s string) (Lifecycle, error) {
	return parseEnum("lifecycle", s, Lifecycles(), nil)
}

func (l *Lifecycle) UnmarshalText(b []byte) error { return unmarshalEnum(l, b, ParseLifecycle) }

// Vendor is the maker of a node; it selects vendor-specific SNMP profiles,
// config parsers and templates.
type Vendor string

const (
	VendorCisco    Vendor = "cisco"
	VendorJuniper  Vendor = "juniper"
	VendorArista   Vendor = "arista"
	VendorNokia    Vendor = "nokia"
	VendorHuawei   Vendor = "huawei"
	VendorMikrotik Vendor = "mikrotik"
	VendorFortinet Vendor = "fortinet"
	VendorPaloAlto Vendor = "paloalto"
	VendorHPE      Vendor = "hpe"
	VendorDell     Vendor = "dell"
	VendorLinux    Vendor = "linux"
	VendorGeneric  Vendor = "generic"
)

// Vendors lists every known vendor.
func Vendors() []Vendor {
	return []Vendor{VendorCisco, VendorJuniper, VendorArista, VendorNokia, VendorHuawei, VendorMikrotik,
		VendorFortinet, VendorPaloAlto, VendorHPE, VendorDell, VendorLinux, VendorGeneric}
}

// ParseVendor parses a vendor name case-insensitively.
func ParseVendor(s string) (Vendor, error) {
	return parseEnum("vendor", s, Vendors(), map[string]Vendor{
		"palo-alto": VendorPaloAlto, "palo alto": VendorPaloAlto, "paloaltonetworks": VendorPaloAlto,
		"aruba": VendorHPE, "hp": VendorHPE, "other": VendorGeneric, "net-snmp": VendorLinux,
	})
}

func (v *Vendor) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseVendor) }

// SNMPVersion is the SNMP protocol version of a profile.
type SNMPVersion string

const (
	SNMPv2c SNMPVersion = "2c"
	SNMPv3  SNMPVersion = "3"
)

// SNMPVersions lists the supported versions.
func SNMPVersions() []SNMPVersion { return []SNMPVersion{SNMPv2c, SNMPv3} }

// ParseSNMPVersion accepts "2c", "v2c", "2", "3", "v3" in any case.
func ParseSNMPVersion(s string) (SNMPVersion, error) {
	return parseEnum("SNMP version", s, SNMPVersions(), map[string]SNMPVersion{
		"v2c": SNMPv2c, "2": SNMPv2c, "v2": SNMPv2c, "v3": SNMPv3,
	})
}

func (v *SNMPVersion) UnmarshalText(b []byte) error { return unmarshalEnum(v, b, ParseSNMPVersion) }

// AuthProtocol is an SNMPv3 USM authentication protocol.
type AuthProtocol string

const (
	AuthMD5    AuthProtocol = "md5"
	AuthSHA    AuthProtocol = "sha"
	AuthSHA224 AuthProtocol = "sha224"
	AuthSHA256 AuthProtocol = "sha256"
	AuthSHA384 AuthProtocol = "sha384"
	AuthSHA512 AuthProtocol = "sha512"
)

// AuthProtocols lists the supported authentication protocols.
func AuthProtocols() []AuthProtocol {
	return []AuthProtocol{AuthMD5, AuthSHA, AuthSHA224, AuthSHA256, AuthSHA384, AuthSHA512}
}

// ParseAuthProtocol parses an authentication protocol case-insensitively.
func ParseAuthProtocol(s string) (AuthProtocol, error) {
	return parseEnum("auth protocol", s, AuthProtocols(), map[string]AuthProtocol{
		"sha1": AuthSHA, "sha-1": AuthSHA, "sha-224": AuthSHA224, "sha-256": AuthSHA256,
		"sha-384": AuthSHA384, "sha-512": AuthSHA512,
	})
}

func (p *AuthProtocol) UnmarshalText(b []byte) error { return unmarshalEnum(p, b, ParseAuthProtocol) }

// PrivProtocol is an SNMPv3 USM privacy (encryption) protocol.
type PrivProtocol string

const (
	PrivDES     PrivProtocol = "des"
	PrivAES     PrivProtocol = "aes"
	PrivAES192  PrivProtocol = "aes192"
	PrivAES256  PrivProtocol = "aes256"
	PrivAES192C PrivProtocol = "aes192c"
	PrivAES256C PrivProtocol = "aes256c"
)

// PrivProtocols lists the supported privacy protocols.
func PrivProtocols() []PrivProtocol {
	return []PrivProtocol{PrivDES, PrivAES, PrivAES192, PrivAES256, PrivAES192C, PrivAES256C}
}

// ParsePrivProtocol parses a privacy protocol case-insensitively.
func ParsePrivProtocol(s string) (PrivProtocol, error) {
	return parseEnum("priv protocol", s, PrivProtocols(), map[string]PrivProtocol{
		"aes128": PrivAES, "aes-128": PrivAES, "aes-192": PrivAES192, "aes-256": PrivAES256,
	})
}

func (p *PrivProtocol) UnmarshalText(b []byte) error { return unmarshalEnum(p, b, ParsePrivProtocol) }

// ObjectKind names the kinds of desired-state objects (the `kind` column of
// a bulk CSV file, the key prefix in the store).
type ObjectKind string

const (
	ObjectLocation    ObjectKind = "location"
	ObjectSNMPProfile ObjectKind = "snmp-profile"
	ObjectNode        ObjectKind = "node"
	ObjectLink        ObjectKind = "link"
)

// ObjectKinds lists the kinds in dependency order: an object only refers to
// kinds that come before it.
func ObjectKinds() []ObjectKind {
	return []ObjectKind{ObjectLocation, ObjectSNMPProfile, ObjectNode, ObjectLink}
}

// ParseObjectKind parses an object kind ("snmp_profile", "profile" and plurals accepted).
func ParseObjectKind(s string) (ObjectKind, error) {
	return parseEnum("kind", s, ObjectKinds(), map[string]ObjectKind{
		"locations": ObjectLocation, "snmp_profile": ObjectSNMPProfile, "snmpprofile": ObjectSNMPProfile,
		"snmp-profiles": ObjectSNMPProfile, "snmp_profiles": ObjectSNMPProfile, "profile": ObjectSNMPProfile, "nodes": ObjectNode, "links": ObjectLink,
	})
}

func (k *ObjectKind) UnmarshalText(b []byte) error { return unmarshalEnum(k, b, ParseObjectKind) }

func unmarshalEnum[T ~string](dst *T, b []byte, parse func(string) (T, error)) error {
	if len(b) == 0 {
		*dst = ""
		return nil
	}
	v, err := parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
