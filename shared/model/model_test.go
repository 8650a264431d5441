package model

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseEnumsCaseInsensitive(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (string, error)
		in    string
		want  string
	}{
		{"role upper", wrap(ParseRole), "ROUTER", "router"},
		{"role alias", wrap(ParseRole), "LoadBalancer", "load-balancer"},
		{"role spaced", wrap(ParseRole), "  switch ", "switch"},
		{"lifecycle", wrap(ParseLifecycle), "Live", "live"},
		{"vendor", wrap(ParseVendor), "Juniper", "juniper"},
		{"vendor alias", wrap(ParseVendor), "Palo-Alto", "paloalto"},
		{"kind", wrap(ParseLocationKind), "SITE", "site"},
		{"snmp v2c", wrap(ParseSNMPVersion), "v2c", "2c"},
		{"snmp v3", wrap(ParseSNMPVersion), "V3", "3"},
		{"auth", wrap(ParseAuthProtocol), "SHA-256", "sha256"},
		{"priv", wrap(ParsePrivProtocol), "AES128", "aes"},
		{"object kind", wrap(ParseObjectKind), "snmp_profile", "snmp-profile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.in)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("parse %q = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func wrap[T ~string](f func(string) (T, error)) func(string) (string, error) {
	return func(s string) (string, error) { v, err := f(s); return string(v), err }
}

func TestParseEnumErrorListsAcceptedValues(t *testing.T) {
	_, err := ParseRole("core")
	if err == nil {
		t.Fatal("ParseRole(core) succeeded, want an error")
	}
	want := `unknown role "core" (accepted: router, switch, firewall, load-balancer, access-point, server, other)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestEnumJSON(t *testing.T) {
	var n struct {
		Role Role `json:"role"`
	}
	if err := json.Unmarshal([]byte(`{"role":"Firewall"}`), &n); err != nil {
		t.Fatal(err)
	}
	if n.Role != RoleFirewall {
		t.Errorf("role = %q, want firewall", n.Role)
	}
	if err := json.Unmarshal([]byte(`{"role":"toaster"}`), &n); err == nil || !strings.Contains(err.Error(), "accepted:") {
		t.Errorf("unknown role error = %v, want the accepted values listed", err)
	}
}

func validNode() Node {
	return Node{Name: "r1", Vendor: VendorCisco, Role: RoleRouter, Lifecycle: LifecycleLive,
		ManagementAddress: "192.0.2.1", Location: "par1", SNMPProfile: "default"}
}

func TestNodeValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Node)
		fields []string // the fields the error must name; none = valid
	}{
		{"valid", func(*Node) {}, nil},
		{"ipv6", func(n *Node) { n.ManagementAddress = "2001:db8::1" }, nil},
		{"missing name", func(n *Node) { n.Name = "" }, []string{"name"}},
		{"bad name", func(n *Node) { n.Name = "r 1" }, []string{"name"}},
		{"missing vendor", func(n *Node) { n.Vendor = "" }, []string{"vendor"}},
		{"unknown vendor", func(n *Node) { n.Vendor = "acme" }, []string{"vendor"}},
		{"unknown role", func(n *Node) { n.Role = "core" }, []string{"role"}},
		{"bad lifecycle", func(n *Node) { n.Lifecycle = "dead" }, []string{"lifecycle"}},
		{"bad address", func(n *Node) { n.ManagementAddress = "300.1.1.1" }, []string{"management_address"}},
		{"zoned address", func(n *Node) { n.ManagementAddress = "fe80::1%eth0" }, []string{"management_address"}},
		{"unspecified address", func(n *Node) { n.ManagementAddress = "0.0.0.0" }, []string{"management_address"}},
		{"live without address", func(n *Node) { n.ManagementAddress = "" }, []string{"management_address"}},
		{"planned without address", func(n *Node) { n.ManagementAddress = ""; n.Lifecycle = LifecyclePlanned }, nil},
		{"missing location", func(n *Node) { n.Location = "" }, []string{"location"}},
		{"bad domain", func(n *Node) { n.Domain = "-bad-.example" }, []string{"domain"}},
		{"bad tag", func(n *Node) { n.Tags = []string{"ok", "not ok"} }, []string{"tags"}},
		{"two problems", func(n *Node) { n.Name = ""; n.Role = "" }, []string{"name", "role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := validNode()
			tc.mutate(&n)
			checkFields(t, n.Validate(), tc.fields)
		})
	}
}

// checkFields asserts that err is a ValidationError naming exactly fields.
func checkFields(t *testing.T, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	v, ok := AsValidationError(err)
	if !ok {
		t.Fatalf("error = %v, want a ValidationError on %v", err, fields)
	}
	var got []string
	for _, f := range v.Fields {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != strings.Join(fields, ",") {
		t.Errorf("fields = %v, want %v (error: %v)", got, fields, err)
	}
}

func TestNodeNormalize(t *testing.T) {
	n := Node{Name: "r1", Domain: "Example.NET.", ManagementAddress: "::ffff:192.0.2.1", Tags: []string{"b", " a", "b"}}
	n.Normalize()
	if n.Lifecycle != LifecyclePlanned {
		t.Errorf("lifecycle = %q, want planned by default", n.Lifecycle)
	}
	if n.FQDN != "r1.example.net" {
		t.Errorf("fqdn = %q, want r1.example.net", n.FQDN)
	}
	if n.ManagementAddress != "192.0.2.1" {
		t.Errorf("address = %q, want the IPv4 form", n.ManagementAddress)
	}
	if strings.Join(n.Tags, ",") != "a,b" {
		t.Errorf("tags = %v, want sorted and unique", n.Tags)
	}
}

func TestNodeCustomValue(t *testing.T) {
	var n Node
	if err := json.Unmarshal([]byte(`{"custom_data":{"bgp":{"asn":65001},"x":1}}`), &n); err != nil {
		t.Fatal(err)
	}
	if v, ok := n.CustomValue("bgp.asn"); !ok || v != 65001.0 {
		t.Errorf("bgp.asn = %v %v, want 65001", v, ok)
	}
	for _, p := range []string{"bgp.missing", "x.y", "nope"} {
		if v, ok := n.CustomValue(p); ok {
			t.Errorf("%s = %v, want missing", p, v)
		}
	}
}

func TestLinkValidate(t *testing.T) {
	ep := func(s string) *Endpoint { e, _ := ParseEndpoint(s); return &e }
	tests := []struct {
		name   string
		link   Link
		fields []string
	}{
		{"cable", Link{A: *ep("r1:ge-0/0/0"), Z: ep("r2:ge-0/0/1")}, nil},
		{"circuit", Link{A: *ep("r1:ge-0/0/2"), Circuit: &Circuit{ID: "CID-1", Provider: "Transit"}}, nil},
		{"no z nor circuit", Link{A: *ep("r1:ge-0/0/0")}, []string{"z"}},
		{"both", Link{A: *ep("r1:a"), Z: ep("r2:b"), Circuit: &Circuit{ID: "c"}}, []string{"circuit"}},
		{"self link", Link{A: *ep("r1:a"), Z: ep("r1:b")}, []string{"z.node"}},
		{"empty circuit", Link{A: *ep("r1:a"), Circuit: &Circuit{}}, []string{"circuit.id"}},
		{"missing a", Link{Z: ep("r2:b")}, []string{"a.node", "a.interface"}},
		{"bad interface", Link{A: Endpoint{Node: "r1", Interface: "ge 0"}, Z: ep("r2:b")}, []string{"a.interface"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkFields(t, tc.link.Validate(), tc.fields) })
	}
}

func TestParseEndpoint(t *testing.T) {
	e, err := ParseEndpoint("r1:Gi0/0/0:1")
	if err != nil || e.Node != "r1" || e.Interface != "Gi0/0/0:1" {
		t.Errorf("ParseEndpoint = %+v, %v; want r1 / Gi0/0/0:1", e, err)
	}
	for _, bad := range []string{"", "r1", "r1:", ":ge0"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) succeeded, want an error", bad)
		}
	}
}

func TestSNMPProfileValidate(t *testing.T) {
	zero := 0
	tests := []struct {
		name   string
		p      SNMPProfile
		fields []string
	}{
		{"v2c", SNMPProfile{Name: "p", Version: SNMPv2c, Community: "public"}, nil},
		{"v2c no community", SNMPProfile{Name: "p", Version: SNMPv2c}, []string{"community"}},
		{"v3 authpriv", SNMPProfile{Name: "p", Version: SNMPv3, User: "u", AuthProtocol: AuthSHA, AuthKey: "authpass", PrivProtocol: PrivAES, PrivKey: "privpass"}, nil},
		{"v3 noauth", SNMPProfile{Name: "p", Version: SNMPv3, User: "u"}, nil},
		{"v3 short key", SNMPProfile{Name: "p", Version: SNMPv3, User: "u", AuthProtocol: AuthSHA, AuthKey: "short"}, []string{"auth_key"}},
		{"v3 priv without auth", SNMPProfile{Name: "p", Version: SNMPv3, User: "u", PrivProtocol: PrivAES, PrivKey: "privpass"}, []string{"priv_protocol"}},
		{"v3 no user", SNMPProfile{Name: "p", Version: SNMPv3}, []string{"user"}},
		{"no version", SNMPProfile{Name: "p"}, []string{"version"}},
		{"bad port", SNMPProfile{Name: "p", Version: SNMPv2c, Community: "c", Port: 70000}, []string{"port"}},
		{"zero retries ok", SNMPProfile{Name: "p", Version: SNMPv2c, Community: "c", Retries: &zero}, nil},
		{"interval too short", SNMPProfile{Name: "p", Version: SNMPv2c, Community: "c", Interval: Duration(1)}, []string{"interval"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkFields(t, tc.p.Validate(), tc.fields) })
	}
}

func TestSNMPProfileSecretsStayHidden(t *testing.T) {
	p := SNMPProfile{Name: "p", Version: SNMPv3, User: "u", AuthProtocol: AuthSHA, AuthKey: "s3cret-auth", PrivProtocol: PrivAES, PrivKey: "s3cret-priv"}
	b, err := json.Marshal(p.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(b), p.String(), p.LogValue().String()} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("secret leaked in %s", out)
		}
	}
	if r := p.Redacted(); strings.Join(r.SecretsSet, ",") != "auth_key,priv_key" {
		t.Errorf("secrets_set = %v, want auth_key,priv_key", r.SecretsSet)
	}
	if p.AuthKey != "s3cret-auth" {
		t.Error("Redacted modified the original")
	}
}

func TestSNMPProfileKeepSecretsFrom(t *testing.T) {
	old := SNMPProfile{Name: "p", Version: SNMPv2c, Community: "old"}
	upd := SNMPProfile{Name: "p", Version: SNMPv2c, Port: 1161}
	upd.KeepSecretsFrom(&old)
	if upd.Community != "old" {
		t.Errorf("community = %q, want the stored one kept", upd.Community)
	}
	v3 := SNMPProfile{Name: "p", Version: SNMPv3, User: "u"}
	v3.KeepSecretsFrom(&old)
	if v3.Community != "" {
		t.Error("a v2c community was carried over to a v3 profile")
	}
}

func TestSNMPProfileNormalizeDefaults(t *testing.T) {
	p := SNMPProfile{Name: "p", Version: SNMPv2c, Community: "c"}
	p.Normalize()
	if p.Port != 161 || p.Timeout != DefaultSNMPTimeout || p.RetryCount() != 1 || p.Interval != DefaultSNMPInterval || p.MaxRepetitions != 25 {
		t.Errorf("defaults not filled: %+v", p)
	}
}

func TestDurationJSON(t *testing.T) {
	var p SNMPProfile
	if err := json.Unmarshal([]byte(`{"timeout":"1500ms"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Timeout.String() != "1.5s" {
		t.Errorf("timeout = %s, want 1.5s", p.Timeout)
	}
	if err := json.Unmarshal([]byte(`{"timeout":"soon"}`), &p); err == nil {
		t.Error("bad duration accepted")
	}
}

// TestSampleLabelsJSON: samples carry the labels of the latest state under
// the same names (issue 5: the collector's node status has the fields of
// the agent's `--once` output), and a failed poll's device sample has no
// system group (omitted, not empty strings that would read as values).
func TestSampleLabelsJSON(t *testing.T) {
	s := Sample{Node: "r1", IfIndex: 7, IfName: "Gi0/7", Descr: "GigabitEthernet0/7", Alias: "uplink", Type: "ethernetCsmacd"}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"descr":"GigabitEthernet0/7"`, `"alias":"uplink"`, `"type":"ethernetCsmacd"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("sample %s lacks %s", b, want)
		}
	}
	d := DeviceSample{Node: "r1", Reachable: true, SysName: "r1.example.net", SysDescr: "Cisco IOS",
		SysObjectID: "1.3.6.1.4.1.9.1.1", Vendor: VendorCisco}
	b, err = json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sys_name":"r1.example.net"`, `"sys_descr":"Cisco IOS"`, `"sys_object_id":"1.3.6.1.4.1.9.1.1"`, `"vendor":"cisco"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("device sample %s lacks %s", b, want)
		}
	}
	var back DeviceSample
	if err := json.Unmarshal(b, &back); err != nil || back.SysName != d.SysName || back.Vendor != VendorCisco {
		t.Errorf("device sample back from JSON = %+v, %v", back, err)
	}
	b, _ = json.Marshal(DeviceSample{Node: "r1", Error: "timeout"})
	if strings.Contains(string(b), "sys_") || strings.Contains(string(b), "vendor") {
		t.Errorf("failed poll's device sample %s has a system group", b)
	}
}
