package model

import (
	"fmt"
	"strings"
)

// Endpoint is one end of a link: a node's interface.
type Endpoint struct {
	Node      string `json:"node"`
	Interface string `json:"interface"`
}

func (e Endpoint) String() string { return e.Node + ":" + e.Interface }

// ParseEndpoint parses the "NODE:IFNAME" form used by the CLI and CSV files.
// Interface names may themselves hold ':' (e.g. "Gi0/0/0:1"), so the node is
// everything before the first colon.
func ParseEndpoint(s string) (Endpoint, error) {
	node, iface, ok := strings.Cut(s, ":")
	if !ok || node == "" || iface == "" {
		return Endpoint{}, fmt.Errorf("%q is not NODE:INTERFACE", s)
	}
	return Endpoint{Node: node, Interface: iface}, nil
}

// Circuit is the provider side of an internet link, which has no Z node.
type Circuit struct {
	ID       string `json:"id"`
	Provider string `json:"provider,omitempty"`
}

// Link is a cable between two node interfaces, or an internet circuit from
// one node interface (Z is then absent and Circuit says what it is).
type Link struct {
	Meta
	A            Endpoint  `json:"a"`
	Z            *Endpoint `json:"z,omitempty"`
	Circuit      *Circuit  `json:"circuit,omitempty"`
	BandwidthBps uint64    `json:"bandwidth_bps,omitempty"`
	Description  string    `json:"description,omitempty"`
}

// Endpoints returns the link's node ends (one for a circuit, two otherwise).
func (l *Link) Endpoints() []Endpoint {
	if l.Z == nil {
		return []Endpoint{l.A}
	}
	return []Endpoint{l.A, *l.Z}
}

// Validate checks the link on its own; the store checks that both nodes
// exist and that no other link uses either interface.
func (l *Link) Validate() error {
	var v ValidationError
	checkEndpoint(&v, "a", l.A)
	switch {
	case l.Z == nil && l.Circuit == nil:
		v.add("z", "a link needs a Z end (NODE:INTERFACE) or a circuit id")
	case l.Z != nil && l.Circuit != nil:
		v.add("circuit", "a link has either a Z end or a circuit, not both")
	case l.Z != nil:
		checkEndpoint(&v, "z", *l.Z)
		if l.Z.Node != "" && l.Z.Node == l.A.Node {
			v.add("z.node", fmt.Sprintf("both ends are on node %q: self-links are not allowed", l.A.Node))
		}
	default:
		if strings.TrimSpace(l.Circuit.ID) == "" {
			v.add("circuit.id", "is required for an internet circuit")
		}
		checkText(&v, "circuit.id", l.Circuit.ID)
		checkText(&v, "circuit.provider", l.Circuit.Provider)
	}
	checkText(&v, "description", l.Description)
	return v.err()
}

func checkEndpoint(v *ValidationError, field string, e Endpoint) {
	if e.Node == "" {
		v.add(field+".node", "is required")
	} else {
		checkName(v, field+".node", e.Node)
	}
	switch {
	case strings.TrimSpace(e.Interface) == "":
		v.add(field+".interface", "is required")
	case len(e.Interface) > maxNameLen:
		v.add(field+".interface", fmt.Sprintf("is longer than %d characters", maxNameLen))
	case strings.ContainsAny(e.Interface, " \t\r\n\x00,"):
		v.add(field+".interface", fmt.Sprintf("%q must not contain spaces or commas", e.Interface))
	}
}
