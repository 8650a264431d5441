package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Node is a managed device: what it should be (desired state).
type Node struct {
	Meta
	Name              string         `json:"name"`
	Domain            string         `json:"domain,omitempty"`
	FQDN              string         `json:"fqdn,omitempty"` // derived from Name and Domain; ignored on input
	Vendor            Vendor         `json:"vendor"`
	Model             string         `json:"model,omitempty"`
	Role              Role           `json:"role"`
	Lifecycle         Lifecycle      `json:"lifecycle"`
	ManagementAddress string         `json:"management_address,omitempty"`
	Location          string         `json:"location"`
	SNMPProfile       string         `json:"snmp_profile,omitempty"`
	Version           string         `json:"version,omitempty"` // software version
	Serial            string         `json:"serial,omitempty"`
	Tags              []string       `json:"tags,omitempty"`
	CustomData        map[string]any `json:"custom_data,omitempty"`
}

var (
	domainPattern = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/=-]*$`)
)

// Normalize fills defaults and canonical forms: lifecycle planned when
// unset, FQDN derived, tags de-duplicated and sorted, the management address
// in its canonical text form. Call it before Validate.
func (n *Node) Normalize() {
	if n.Lifecycle == "" {
		n.Lifecycle = LifecyclePlanned
	}
	n.Domain = strings.ToLower(strings.TrimSuffix(n.Domain, "."))
	n.FQDN = n.Name
	if n.Domain != "" && n.Name != "" {
		n.FQDN = n.Name + "." + n.Domain
	}
	if a, err := netip.ParseAddr(n.ManagementAddress); err == nil {
		n.ManagementAddress = a.Unmap().String()
	}
	if len(n.Tags) > 0 {
		tags := slices.Clone(n.Tags)
		for i := range tags {
			tags[i] = strings.TrimSpace(tags[i])
		}
		slices.Sort(tags)
		n.Tags = slices.Compact(tags)
	}
	// Empty and absent mean the same; nil keeps store, API and files agreeing.
	if len(n.Tags) == 0 {
		n.Tags = nil
	}
	if len(n.CustomData) == 0 {
		n.CustomData = nil
	}
}

// Validate checks the node on its own; the store checks that the location
// (a site or below) and the SNMP profile exist.
func (n *Node) Validate() error {
	var v ValidationError
	checkName(&v, "name", n.Name)
	if n.Domain != "" && (len(n.Domain) > 253 || !domainPattern.MatchString(n.Domain)) {
		v.add("domain", fmt.Sprintf("%q is not a DNS domain name", n.Domain))
	}
	if n.Vendor == "" {
		v.add("vendor", "is required")
	} else {
		_, err := ParseVendor(string(n.Vendor))
		v.addErr("vendor", err)
	}
	if n.Role == "" {
		v.add("role", "is required")
	} else {
		_, err := ParseRole(string(n.Role))
		v.addErr("role", err)
	}
	if n.Lifecycle != "" {
		_, err := ParseLifecycle(string(n.Lifecycle))
		v.addErr("lifecycle", err)
	}
	if n.ManagementAddress != "" {
		a, err := netip.ParseAddr(n.ManagementAddress)
		switch {
		case err != nil:
			v.add("management_address", fmt.Sprintf("%q is not an IPv4 or IPv6 address", n.ManagementAddress))
		case a.Zone() != "":
			v.add("management_address", "must not carry an IPv6 zone")
		case a.IsUnspecified() || a.IsMulticast():
			v.add("management_address", fmt.Sprintf("%s cannot be a management address", a))
		}
	} else if n.Lifecycle == LifecycleLive {
		v.add("management_address", "is required for a live node")
	}
	if n.Location == "" {
		v.add("location", "is required")
	} else {
		checkRef(&v, "location", n.Location)
	}
	checkRef(&v, "snmp_profile", n.SNMPProfile)
	checkText(&v, "model", n.Model)
	checkText(&v, "version", n.Version)
	checkText(&v, "serial", n.Serial)
	for _, t := range n.Tags {
		if len(t) > maxNameLen || !tagPattern.MatchString(t) {
			v.add("tags", fmt.Sprintf("tag %q may only hold letters, digits and . _ : / = -", t))
		}
	}
	if n.CustomData != nil {
		b, err := json.Marshal(n.CustomData)
		switch {
		case err != nil:
			v.add("custom_data", err.Error())
		case len(b) > maxCustomDataSize:
			v.add("custom_data", fmt.Sprintf("is %d bytes, more than the %d allowed", len(b), maxCustomDataSize))
		}
	}
	return v.err()
}

// HasTag reports whether the node carries tag.
func (n *Node) HasTag(tag string) bool { return slices.Contains(n.Tags, tag) }

// CustomValue looks up a dotted path ("bgp.asn") in the node's custom data;
// a missing path gives (nil, false).
func (n *Node) CustomValue(path string) (any, bool) {
	var cur any = n.CustomData
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}
