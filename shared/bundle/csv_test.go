package bundle

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/shared/model"
)

func intp(n int) *int { return &n }

// TestDecodeCSVColumns decodes one object per case and checks every field,
// column by column and kind by kind.
func TestDecodeCSVColumns(t *testing.T) {
	for _, tc := range []struct {
		name        string
		csv         string
		defaultKind model.ObjectKind
		want        Bundle
	}{{
		name: "location, every column",
		csv: "kind,id,name,location_kind,parent,description\n" +
			"location, 0E5F6F1C-7D43-4A8E-9B0E-6A1F2F3C4D5E ,dc1, Site ,eu,\"  Main DC, \"\"hall 2\"\"\"\n",
		want: Bundle{Locations: []model.Location{{Meta: model.Meta{ID: "0e5f6f1c-7d43-4a8e-9b0e-6a1f2f3c4d5e"},
			Name: "dc1", Kind: model.KindSite, Parent: "eu", Description: `  Main DC, "hall 2"`}}},
	}, {
		name: "location, kind spelled as a plural and no parent",
		csv:  "KIND,Name,Location_Kind\nLocations,eu,REGION\n",
		want: Bundle{Locations: []model.Location{{Name: "eu", Kind: model.KindRegion}}},
	}, {
		name: "snmp v2c profile gets the defaults",
		csv:  "kind,name,snmp_version,community\nsnmp_profile,p2,v2c,public\n",
		want: Bundle{SNMPProfiles: []model.SNMPProfile{{Name: "p2", Version: model.SNMPv2c, Community: "public",
			Port: 161, Timeout: model.DefaultSNMPTimeout, Retries: intp(1), Interval: model.DefaultSNMPInterval, MaxRepetitions: 25}}},
	}, {
		name: "snmp v3 profile, every column",
		csv: "kind,name,snmp_version,user,auth_protocol,auth_key,priv_protocol,priv_key,port,timeout,retries,interval,max_repetitions\n" +
			"profile,p3,V3,ops team,SHA-256, key with spaces ,aes-128,privpriv, 1161 ,500ms,0,1m30s,10\n",
		want: Bundle{SNMPProfiles: []model.SNMPProfile{{Name: "p3", Version: model.SNMPv3, User: "ops team",
			AuthProtocol: model.AuthSHA256, AuthKey: " key with spaces ", PrivProtocol: model.PrivAES, PrivKey: "privpriv",
			Port: 1161, Timeout: model.Duration(500 * time.Millisecond), Retries: intp(0),
			Interval: model.Duration(90 * time.Second), MaxRepetitions: 10}}},
	}, {
		name: "node, every column",
		csv: "kind,id,name,domain,vendor,model,role,lifecycle,management_address,location,snmp_profile,version,serial,tags,custom_data\n" +
			`node,2c3d4e5f-6071-4829-9bac-1d2e3f4a5b6c,r1,Example.NET.,Palo Alto,PA-440,lb,LIVE, 10.0.0.1 ,par1,p3,11.1, SN 1 ,"b; a;;a;",` +
			`"{""asn"": 4200000000, ""big"": 123456789012345678901, ""x"": {""y"": [1, ""z""]}}"` + "\n",
		want: Bundle{Nodes: []model.Node{{Meta: model.Meta{ID: "2c3d4e5f-6071-4829-9bac-1d2e3f4a5b6c"},
			Name: "r1", Domain: "example.net", FQDN: "r1.example.net", Vendor: model.VendorPaloAlto, Model: "PA-440",
			Role: model.RoleLoadBalancer, Lifecycle: model.LifecycleLive, ManagementAddress: "10.0.0.1", Location: "par1",
			SNMPProfile: "p3", Version: "11.1", Serial: " SN 1 ", Tags: []string{"a", "b"},
			CustomData: map[string]any{"asn": json.Number("4200000000"), "big": json.Number("123456789012345678901"),
				"x": map[string]any{"y": []any{json.Number("1"), "z"}}}}}},
	}, {
		name: "node, minimal: lifecycle planned, FQDN the name, IPv6 address made canonical",
		csv:  "kind,name,vendor,role,location,management_address,custom_data,tags\nnode,sw1,arista,switch,par1,2001:DB8:0::1,{},\n",
		want: Bundle{Nodes: []model.Node{{Name: "sw1", FQDN: "sw1", Vendor: model.VendorArista, Role: model.RoleSwitch,
			Lifecycle: model.LifecyclePlanned, Location: "par1", ManagementAddress: "2001:db8::1"}}},
	}, {
		name: "link between two interfaces, one holding a colon",
		csv:  "kind,a,z,bandwidth_bps,description,id\nlink, r1:Gi0/0/0:1 ,r2:xe-0/0/0,10000000000,core, \n",
		want: Bundle{Links: []model.Link{{A: model.Endpoint{Node: "r1", Interface: "Gi0/0/0:1"},
			Z: &model.Endpoint{Node: "r2", Interface: "xe-0/0/0"}, BandwidthBps: 10_000_000_000, Description: "core"}}},
	}, {
		name: "internet circuit",
		csv:  "kind,a,z,circuit_id,circuit_provider\nlink,r1:ge-0/0/1,,CID 42,Transit Co\n",
		want: Bundle{Links: []model.Link{{A: model.Endpoint{Node: "r1", Interface: "ge-0/0/1"},
			Circuit: &model.Circuit{ID: "CID 42", Provider: "Transit Co"}}}},
	}, {
		name:        "no kind column: the default kind",
		csv:         "name,vendor,role,location\nr1,cisco,router,par1\nr2,juniper,router,par1\n",
		defaultKind: "nodes",
		want: Bundle{Nodes: []model.Node{
			{Name: "r1", FQDN: "r1", Vendor: model.VendorCisco, Role: model.RoleRouter, Lifecycle: model.LifecyclePlanned, Location: "par1"},
			{Name: "r2", FQDN: "r2", Vendor: model.VendorJuniper, Role: model.RoleRouter, Lifecycle: model.LifecyclePlanned, Location: "par1"},
		}},
	}, {
		name:        "a blank kind cell takes the default kind",
		csv:         "kind,name,location_kind\n,eu,region\n",
		defaultKind: model.ObjectLocation,
		want:        Bundle{Locations: []model.Location{{Name: "eu", Kind: model.KindRegion}}},
	}, {
		name: "header spellings, byte-order mark, comments and blank lines before the header",
		csv: "\ufeff# exported by hand\n\n,,\nKind, Management Address ,SNMP-Profile,name,vendor,role,location\n" +
			"node,192.0.2.1,p1,r1,cisco,router,par1\n",
		want: Bundle{Nodes: []model.Node{{Name: "r1", FQDN: "r1", Vendor: model.VendorCisco, Role: model.RoleRouter,
			Lifecycle: model.LifecyclePlanned, Location: "par1", ManagementAddress: "192.0.2.1", SNMPProfile: "p1"}}},
	}, {
		name: "short rows are padded, trailing blank cells ignored, CRLF line ends",
		csv:  "kind,name,location_kind,parent,description\r\nlocation,eu,region\r\nlocation,fr,country,eu,,,,\r\n",
		want: Bundle{Locations: []model.Location{{Name: "eu", Kind: model.KindRegion}, {Name: "fr", Kind: model.KindCountry, Parent: "eu"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustDecodeCSV(t, tc.csv, tc.defaultKind)
			if d := diffObjects(got, &tc.want); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// wantErr is a RowError expected by a test; reason is a fragment.
type wantErr struct {
	line   int
	path   string
	kind   model.ObjectKind
	name   string
	field  string
	reason string
}

func checkRowErrors(t *testing.T, got []RowError, want []wantErr) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Line == w.line && g.Path == w.path && g.Kind == w.kind && g.Name == w.name &&
			g.Field == w.field && strings.Contains(g.Reason, w.reason)
	}
	if !ok {
		var ws []string
		for _, w := range want {
			ws = append(ws, RowError{Position{w.line, w.path}, w.kind, w.name, w.field, "…" + w.reason + "…"}.Error())
		}
		t.Errorf("row errors:\n%s\nwant:\n%s", joinErrors(got), strings.Join(ws, "\n"))
	}
}

// checkBadRowsLeftOut checks that no object of the bundle comes from a
// row that has an error.
func checkBadRowsLeftOut(t *testing.T, b *Bundle, errs []RowError) {
	t.Helper()
	bad := map[Position]bool{}
	for _, e := range errs {
		bad[e.Position] = true
	}
	for _, ps := range [][]Position{b.Sources.Locations, b.Sources.SNMPProfiles, b.Sources.Nodes, b.Sources.Links} {
		for _, p := range ps {
			if bad[p] {
				t.Errorf("the bundle holds the object %s, which has errors", p.where())
			}
		}
	}
}

func TestDecodeCSVRowErrors(t *testing.T) {
	const nodeHeader = "kind,name,vendor,role,lifecycle,location,management_address\n"
	for _, tc := range []struct {
		name string
		csv  string
		want []wantErr
	}{{
		name: "unknown vendor lists the accepted ones",
		csv:  nodeHeader + "node,r1,foo,router,,par1,\n",
		want: []wantErr{{line: 2, kind: "node", name: "r1", field: "vendor", reason: `unknown vendor "foo" (accepted: cisco, juniper,`}},
	}, {
		name: "every bad cell of a row, not just the first",
		csv:  nodeHeader + "node,r1,cisco,core,alive,par1,10.0.0.300\n",
		want: []wantErr{
			{line: 2, kind: "node", name: "r1", field: "role", reason: `unknown role "core"`},
			{line: 2, kind: "node", name: "r1", field: "lifecycle", reason: `unknown lifecycle "alive"`},
			{line: 2, kind: "node", name: "r1", field: "management_address", reason: `"10.0.0.300" is not an IPv4 or IPv6 address`},
		},
	}, {
		name: "the model's validation, under CSV column names",
		csv:  nodeHeader + "node,bad name,,,live,,\n",
		want: []wantErr{
			{line: 2, kind: "node", name: "bad name", field: "name", reason: "may only hold letters"},
			{line: 2, kind: "node", name: "bad name", field: "vendor", reason: "is required"},
			{line: 2, kind: "node", name: "bad name", field: "role", reason: "is required"},
			{line: 2, kind: "node", name: "bad name", field: "management_address", reason: "is required for a live node"},
			{line: 2, kind: "node", name: "bad name", field: "location", reason: "is required"},
		},
	}, {
		name: "numbers and durations",
		csv: "kind,name,snmp_version,community,port,timeout,retries,interval,max_repetitions\n" +
			"snmp-profile,p,2c,c,http,fast,many,1d,99999999999999999999\n",
		want: []wantErr{
			{line: 2, kind: "snmp-profile", name: "p", field: "port", reason: `"http" is not a whole number`},
			{line: 2, kind: "snmp-profile", name: "p", field: "timeout", reason: `"fast" is not a duration`},
			{line: 2, kind: "snmp-profile", name: "p", field: "retries", reason: `"many" is not a whole number`},
			{line: 2, kind: "snmp-profile", name: "p", field: "interval", reason: `"1d" is not a duration`},
			{line: 2, kind: "snmp-profile", name: "p", field: "max_repetitions", reason: "99999999999999999999 is out of range"},
		},
	}, {
		name: "profile validation: ranges, v3 rules, version under snmp_version",
		csv: "kind,name,snmp_version,user,auth_protocol,priv_protocol,port,retries\n" +
			"snmp-profile,p1,,,,,70000,11\n" +
			"snmp-profile,p2,3,,,des,,\n" +
			"snmp-profile,p3,4,,,,,\n",
		want: []wantErr{
			{line: 2, kind: "snmp-profile", name: "p1", field: "snmp_version", reason: "is required (2c or 3)"},
			{line: 2, kind: "snmp-profile", name: "p1", field: "port", reason: "70000 is not a UDP port"},
			{line: 2, kind: "snmp-profile", name: "p1", field: "retries", reason: "must be between 0 and 10"},
			{line: 3, kind: "snmp-profile", name: "p2", field: "user", reason: "is required for SNMP v3"},
			{line: 3, kind: "snmp-profile", name: "p2", field: "priv_protocol", reason: "privacy needs authentication"},
			{line: 4, kind: "snmp-profile", name: "p3", field: "snmp_version", reason: `unknown SNMP version "4"`},
		},
	}, {
		name: "secrets too short are reported without echoing them",
		csv:  "kind,name,snmp_version,user,auth_protocol,auth_key\nsnmp-profile,p,3,u,sha,hunter2\n",
		want: []wantErr{{line: 2, kind: "snmp-profile", name: "p", field: "auth_key", reason: "must be at least 8 characters"}},
	}, {
		name: "links: endpoints, self-link, Z and circuit, nothing at all",
		csv: "kind,a,z,circuit_id,circuit_provider,bandwidth_bps\n" +
			"link,r1,r2:ge-0/0/0,,,\n" +
			"link,r1:ge-0/0/0,r1:ge-0/0/1,,,-5\n" +
			"link,r1:ge-0/0/2,r2:ge-0/0/2,CID-1,,\n" +
			"link,,,,Transit,\n" +
			"link,r1:ge 0/0/3,,,,\n",
		want: []wantErr{
			{line: 2, kind: "link", field: "a", reason: `"r1" is not NODE:INTERFACE`},
			{line: 3, kind: "link", name: "r1:ge-0/0/0", field: "bandwidth_bps", reason: `"-5" is not a whole number`},
			{line: 3, kind: "link", name: "r1:ge-0/0/0", field: "z", reason: "self-links are not allowed"},
			{line: 4, kind: "link", name: "r1:ge-0/0/2", field: "circuit_id", reason: "either a Z end or a circuit"},
			{line: 5, kind: "link", field: "a", reason: "is required"}, // once, though both a.node and a.interface are missing
			{line: 5, kind: "link", field: "circuit_id", reason: "is required for an internet circuit"},
			{line: 6, kind: "link", name: "r1:ge 0/0/3", field: "a", reason: "must not contain spaces"},
			{line: 6, kind: "link", name: "r1:ge 0/0/3", field: "z", reason: "needs a Z end"},
		},
	}, {
		name: "custom data must be one JSON object",
		csv: "kind,name,vendor,role,location,custom_data\n" +
			"node,r1,cisco,router,par1,{\n" +
			"node,r2,cisco,router,par1,[1]\n" +
			"node,r3,cisco,router,par1,null\n" +
			`node,r4,cisco,router,par1,"{""a"":1} {}"` + "\n",
		want: []wantErr{
			{line: 2, kind: "node", name: "r1", field: "custom_data", reason: "is not a JSON object: unexpected EOF"},
			{line: 3, kind: "node", name: "r2", field: "custom_data", reason: "must be a JSON object, not a JSON array"},
			{line: 4, kind: "node", name: "r3", field: "custom_data", reason: "must be a JSON object, not null"},
			{line: 5, kind: "node", name: "r4", field: "custom_data", reason: "has more after the JSON object"},
		},
	}, {
		name: "a value in a column that does not apply to the row's kind",
		csv: "kind,name,vendor,description,a,community,location_kind\n" +
			"link,,cisco,ok,r1:e0,secret,\n" +
			"node,r1,cisco,desc,,,site\n",
		want: []wantErr{
			{line: 2, kind: "link", name: "r1:e0", field: "vendor", reason: "does not apply to a link (leave it blank)"},
			{line: 2, kind: "link", name: "r1:e0", field: "community", reason: "does not apply to a link"},
			{line: 2, kind: "link", name: "r1:e0", field: "z", reason: "needs a Z end"},
			{line: 3, kind: "node", name: "r1", field: "description", reason: "does not apply to a node"},
			{line: 3, kind: "node", name: "r1", field: "location_kind", reason: "does not apply to a node"},
			{line: 3, kind: "node", name: "r1", field: "role", reason: "is required"},
			{line: 3, kind: "node", name: "r1", field: "location", reason: "is required"},
		},
	}, {
		name: "kinds: unknown, missing, and cells beyond the header",
		csv: "kind,name,location_kind\n" +
			"router,r1,\n" +
			",eu,region\n" +
			"location,eu,region,extra\n",
		want: []wantErr{
			{line: 2, name: "r1", field: "kind", reason: `unknown kind "router" (accepted: location, snmp-profile, node, link)`},
			{line: 3, name: "eu", field: "kind", reason: "is required"},
			{line: 4, kind: "location", name: "eu", reason: "cell 4 holds a value but its column has no name in the header"},
		},
	}, {
		name: "ids must be UUIDs",
		csv:  "kind,id,name,location_kind\nlocation,42,eu,region\n",
		want: []wantErr{{line: 2, kind: "location", name: "eu", field: "id", reason: "is not a UUID"}},
	}, {
		name: "location validation under location_kind",
		csv:  "kind,name,location_kind,parent\nlocation,eu,,eu\n",
		want: []wantErr{
			{line: 2, kind: "location", name: "eu", field: "location_kind", reason: "is required"},
			{line: 2, kind: "location", name: "eu", field: "parent", reason: "cannot be its own parent"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b, rowErrs, err := DecodeCSV(strings.NewReader(tc.csv), "")
			if err != nil {
				t.Fatalf("DecodeCSV: %v", err)
			}
			checkRowErrors(t, rowErrs, tc.want)
			checkBadRowsLeftOut(t, b, rowErrs)
		})
	}
}

// TestDecodeCSVEveryBadRow: a long file with good and bad rows in any
// order, comments, blank lines and quoted cells spanning lines: every bad
// row is reported with its own physical line, the good ones are kept with
// theirs.
func TestDecodeCSVEveryBadRow(t *testing.T) {
	in := strings.Join([]string{
		/* 1 */ "kind,name,location_kind,parent,description,vendor,role,location,custom_data,snmp_version,community,a,z",
		/* 2 */ "# a comment line",
		/* 3 */ "link,,,,,,,,,,,r1:e0,r2:e0",
		/* 4 */ "",
		/* 5 */ `node,r1,,,,cisco,router,par1,"{`,
		/* 6 */ `  ""asn"": 65001,`,
		/* 7 */ `  ""note"": ""spans lines""`,
		/* 8 */ `}",,,,`,
		/* 9 */ "node,r2,,,,foo,router,par1,,,,,",
		/* 10 */ `location,par1,site,,"first line`,
		/* 11 */ `second line",,,,,,,,`,
		/* 12 */ "snmp-profile,p1,,,,,,,,2c,\"multi",
		/* 13 */ "line community\",,",
		/* 14 */ "node,r3,,,,cisco,nope,par1,,,,,",
		/* 15 */ "   ,  ,,,,,,,,,,,",
		/* 16 */ "link,,,,,,,,,,,r2:e0,r3",
		/* 17 */ "location,eu,region,,,,,,,,,,",
		/* 18 */ "bogus,x,,,,,,,,,,,",
	}, "\n") + "\n"
	b, rowErrs, err := DecodeCSV(strings.NewReader(in), "")
	if err != nil {
		t.Fatalf("DecodeCSV: %v", err)
	}
	checkRowErrors(t, rowErrs, []wantErr{
		{line: 9, kind: "node", name: "r2", field: "vendor", reason: "unknown vendor"},
		{line: 10, kind: "location", name: "par1", field: "description", reason: "must be one line"},
		{line: 12, kind: "snmp-profile", name: "p1", field: "community", reason: "must not contain line breaks"},
		{line: 14, kind: "node", name: "r3", field: "role", reason: "unknown role"},
		{line: 16, kind: "link", name: "r2:e0", field: "z", reason: "is not NODE:INTERFACE"},
		{line: 16, kind: "link", name: "r2:e0", field: "a", reason: "interface r2:e0 is also used by the link on line 3"},
		{line: 18, name: "x", field: "kind", reason: `unknown kind "bogus"`},
	})
	checkBadRowsLeftOut(t, b, rowErrs)
	if d := cmp.Diff([]int{3}, lines(b.Sources.Links)); d != "" {
		t.Errorf("link lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{5}, lines(b.Sources.Nodes)); d != "" {
		t.Errorf("node lines (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int{17}, lines(b.Sources.Locations)); d != "" {
		t.Errorf("location lines (-want +got):\n%s", d)
	}
	// A secret with a line break is refused by the model (it could not
	// travel through every format unchanged).
	if len(b.SNMPProfiles) != 0 {
		t.Errorf("profiles = %v, want the multi-line community refused", b.SNMPProfiles)
	}
	if got := b.Nodes[0].CustomData["note"]; got != "spans lines" {
		t.Errorf("multi-line custom data: note = %v", got)
	}
}

// TestDecodeCSVMixedOrder: rows of every kind in any order land in their
// kind's slice in file order, each with its line.
func TestDecodeCSVMixedOrder(t *testing.T) {
	in := "kind,name,location_kind,parent,vendor,role,location,snmp_version,community,a,z\n" +
		"link,,,,,,,,,r1:e1,r2:e1\n" + // 2
		"node,r2,,,arista,switch,par1,,,,\n" + // 3
		"location,par1,site,fr,,,,,,,\n" + // 4
		"node,r1,,,cisco,router,par1,,,,\n" + // 5
		"snmp-profile,p,,,,,,2c,public,,\n" + // 6
		"location,fr,country,,,,,,,,\n" + // 7
		"link,,,,,,,,,r1:e2,r2:e2\n" // 8
	b := mustDecodeCSV(t, in, "")
	var names []string
	for _, l := range b.Locations {
		names = append(names, l.Name)
	}
	for _, n := range b.Nodes {
		names = append(names, n.Name)
	}
	for _, l := range b.Links {
		names = append(names, linkName(&l))
	}
	if d := cmp.Diff([]string{"par1", "fr", "r2", "r1", "r1:e1", "r1:e2"}, names); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}
	want := Sources{
		Locations:    []Position{{Line: 4}, {Line: 7}},
		SNMPProfiles: []Position{{Line: 6}},
		Nodes:        []Position{{Line: 3}, {Line: 5}},
		Links:        []Position{{Line: 2}, {Line: 8}},
	}
	if d := cmp.Diff(want, b.Sources); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
}

func TestDecodeCSVDuplicates(t *testing.T) {
	in := "kind,id,name,location_kind,vendor,role,location,a,z\n" +
		"location,,par1,site,,,,,\n" + // 2
		"node,,par1,,cisco,router,par1,,\n" + // 3: same name, other kind: fine
		"location,,par1,site,,,,,\n" + // 4
		"node,,r1,,cisco,router,,,\n" + // 5: invalid, still defines r1
		"node,,r1,,cisco,router,par1,,\n" + // 6
		"location,,par1,rack,,,,,\n" + // 7: the first definition is the one named
		"link,,,,,,,r1:e0,par1:e0\n" + // 8
		"link,,,,,,,par1:e0,r2:e0\n" + // 9: par1:e0 already used as a Z
		"link,,,,,,,r2:e0,r1:e0\n" + // 10: both ends used
		"location,0e5f6f1c-7d43-4a8e-9b0e-6a1f2f3c4d5e,eu,region,,,,,\n" + // 11
		"link,0E5F6F1C-7D43-4A8E-9B0E-6A1F2F3C4D5E,,,,,,r3:e0,r4:e0\n" // 12: same id, other spelling
	b, rowErrs, err := DecodeCSV(strings.NewReader(in), "")
	if err != nil {
		t.Fatal(err)
	}
	checkRowErrors(t, rowErrs, []wantErr{
		{line: 4, kind: "location", name: "par1", field: "name", reason: "defined twice, also on line 2"},
		{line: 5, kind: "node", name: "r1", field: "location", reason: "is required"},
		{line: 6, kind: "node", name: "r1", field: "name", reason: "defined twice, also on line 5"},
		{line: 7, kind: "location", name: "par1", field: "name", reason: "defined twice, also on line 2"},
		{line: 9, kind: "link", name: "par1:e0", field: "a", reason: "interface par1:e0 is also used by the link on line 8"},
		{line: 10, kind: "link", name: "r2:e0", field: "a", reason: "interface r2:e0 is also used by the link on line 9"},
		{line: 10, kind: "link", name: "r2:e0", field: "z", reason: "interface r1:e0 is also used by the link on line 8"},
		{line: 12, kind: "link", name: "r3:e0", field: "id", reason: "used twice, also on line 11"},
	})
	checkBadRowsLeftOut(t, b, rowErrs)
	// The first definitions are kept; the ones on lines 3, 8 and 11 too.
	if d := cmp.Diff(Sources{Locations: []Position{{Line: 2}, {Line: 11}}, Nodes: []Position{{Line: 3}}, Links: []Position{{Line: 8}}}, b.Sources); d != "" {
		t.Errorf("sources (-want +got):\n%s", d)
	}
}

// TestDecodeCSVUnreadable: problems with the file as a whole are the
// error result, naming the line.
func TestDecodeCSVUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name, csv   string
		defaultKind model.ObjectKind
		want        string
	}{
		{"empty", "", "", "empty file"},
		{"only comments and blank lines", "# nothing\n\n , \n", "", "empty file"},
		{"unknown column", "kind,name,vendr\n", "", `line 1: unknown column "vendr" (known columns: kind, id, name,`},
		{"unknown columns, all named, after comment lines", "# x\nkind,Vendr,name,colour\n", "", `line 2: unknown columns "Vendr", "colour"`},
		{"repeated column", "kind,name,Name\n", "", `line 1: column "name" appears twice (cells 2 and 3)`},
		{"no kind column, no default", "name,vendor\nr1,cisco\n", "", `line 1: the file has no "kind" column and no default kind`},
		{"bad default kind", "kind,name\n", "router", `default kind: unknown kind "router"`},
		{"broken quoting", "kind,name,description\nlocation,eu,ok\nlocation,fr,\"open\nlocation,de,x\n", "",
			"unreadable CSV: record on line 3; parse error on line 4, column 15: extraneous or missing \" in quoted-field"},
		{"bare quote", "kind,name,description\nlocation,e\"u,x\n", "", "parse error on line 2, column 11: bare \" in non-quoted-field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, rowErrs, err := DecodeCSV(strings.NewReader(tc.csv), tc.defaultKind)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
			if b != nil || rowErrs != nil {
				t.Errorf("with an error, got a bundle %v and row errors %v", b, rowErrs)
			}
		})
	}
}

// TestEncodeCSVColumns pins the documented column order and that every
// column applies to some kind.
func TestEncodeCSVColumns(t *testing.T) {
	want := "kind,id,name,location_kind,parent,description,domain,vendor,model,role,lifecycle,management_address," +
		"location,snmp_profile,version,serial,tags,custom_data,snmp_version,community,user,auth_protocol,auth_key," +
		"priv_protocol,priv_key,port,timeout,retries,interval,max_repetitions,a,z,circuit_id,circuit_provider,bandwidth_bps"
	if got := strings.Join(columnNames(), ","); got != want {
		t.Errorf("columns:\n got %s\nwant %s", got, want)
	}
	for c := range numColumns {
		if columnSpecs[c].kinds == 0 || columnSpecs[c].name == "" {
			t.Errorf("column %d is incomplete: %+v", c, columnSpecs[c])
		}
	}
}

func TestEncodeCSVCustomDataError(t *testing.T) {
	b := &Bundle{Nodes: []model.Node{{Name: "r1", CustomData: map[string]any{"f": func() {}}}}}
	var sb strings.Builder
	if err := EncodeCSV(&sb, b); err == nil || !strings.Contains(err.Error(), `node "r1": custom_data`) {
		t.Errorf("EncodeCSV error = %v", err)
	}
}

// TestCSVTrickyValues: values that need quoting, or look like blanks,
// survive; a CR LF, which encoding/csv turns into LF, is refused rather
// than silently changed.
func TestCSVTrickyValues(t *testing.T) {
	// Line breaks and NUL in secrets are refused by the model (see
	// TestDecodeCSVEveryBadRow); everything else must survive.
	for _, community := range []string{" lead", "tab\t", `"q"`, "#hash", "x;y,z", "é\u00a0ü"} {
		b := &Bundle{
			SNMPProfiles: []model.SNMPProfile{{Name: "p", Version: model.SNMPv2c, Community: community}},
			// Only spaces and tabs are trimmed: other white space is the value's own.
			Links: []model.Link{{A: model.Endpoint{Node: "r1", Interface: "e0\v"}, Z: &model.Endpoint{Node: "r2", Interface: "\u00a0e0"}}},
		}
		normalize(b)
		b.Sources = Sources{SNMPProfiles: []Position{{Line: 2}}, Links: []Position{{Line: 3}}}
		checkRoundTrips(t, b)
	}

	b := &Bundle{SNMPProfiles: []model.SNMPProfile{{Name: "p", Version: model.SNMPv2c, Community: "se\r\ncret"}}}
	var sb strings.Builder
	err := EncodeCSV(&sb, b)
	if !errors.Is(err, errCRLF) || !strings.Contains(err.Error(), `snmp-profile "p": community: holds a CR LF`) {
		t.Errorf("EncodeCSV error = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "cret") {
		t.Errorf("the error quotes the secret: %v", err)
	}
}
