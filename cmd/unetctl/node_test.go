package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

func TestNodeAddSendsTheFlags(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/nodes", echo(201, map[string]any{"id": "1b2c", "revision": 5}))
	r := f.cli("node", "add", "r1", "--location", "par1", "--vendor", "Cisco", "--role", "lb",
		"--mgmt-address", "::ffff:192.0.2.1", "--snmp-profile", "lab", "--lifecycle", "LIVE",
		"--model", "ASR1001-X", "--version", "17.9.4", "--serial", "FOX1", "--domain", "example.net",
		"--tag", "core", "--tag", "edge,pe", "--custom-data", `{"bgp":{"asn":4200000000123456789}}`)
	r.wantCode(t, 0)
	if r.out != "node r1 created\n" {
		t.Errorf("stdout %q", r.out)
	}
	req := f.last()
	if req.ContentType != "application/json" || req.UserAgent != userAgent {
		t.Errorf("headers: %+v", req)
	}
	got := decodeBody(t, req)
	want := map[string]any{
		"name": "r1", "location": "par1", "vendor": "cisco", "role": "load-balancer",
		"management_address": "192.0.2.1", "snmp_profile": "lab", "lifecycle": "live",
		"model": "ASR1001-X", "version": "17.9.4", "serial": "FOX1", "domain": "example.net",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if fmt.Sprint(got["tags"]) != "[core edge pe]" {
		t.Errorf("tags = %v", got["tags"])
	}
	// Big numbers in custom data survive exactly.
	if !strings.Contains(req.Body, `"asn":4200000000123456789`) {
		t.Errorf("custom data changed on the way: %s", req.Body)
	}
}

func TestNodeAddPrintsTheObjectForMachines(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/nodes", echo(201, map[string]any{"id": "1b2c", "revision": 5}))
	r := f.cli("node", "add", "r1", "--location", "par1", "--vendor", "cisco", "--role", "router", "-o", "json")
	r.wantCode(t, 0)
	var n model.Node
	if err := json.Unmarshal([]byte(r.out), &n); err != nil || n.Name != "r1" || n.ID != "1b2c" {
		t.Fatalf("stdout %q: %v", r.out, err)
	}
}

func TestInvalidFlagValuesAreUsageErrorsNamingTheFlag(t *testing.T) {
	f := newFake(t)
	add := []string{"node", "add", "r1", "--location", "par1", "--vendor", "cisco", "--role", "router"}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"node", "add", "r1", "--location", "par1", "--vendor", "foo", "--role", "router"}, []string{"--vendor", `unknown vendor "foo"`, "accepted: cisco"}},
		{append(add, "--mgmt-address", "10.0.0.300"), []string{"--mgmt-address", "not an IPv4 or IPv6 address"}},
		{append(add, "--custom-data", "{vlan:1}"), []string{"--custom-data", "not valid JSON"}},
		{append(add, "--custom-data", "[1,2]"), []string{"--custom-data", "must be a JSON object"}},
		{append(add, "--lifecycle", "dead"), []string{"--lifecycle", "accepted: planned"}},
		{[]string{"node", "add", "r1", "--vendor", "cisco"}, []string{"required flag", "location", "role"}},
		{[]string{"node", "add"}, []string{"needs a NAME argument"}},
		{[]string{"node", "show", "a", "b"}, []string{"takes one NAME"}},
		{[]string{"node", "frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"node", "list", "--bogus"}, []string{"unknown flag: --bogus"}},
		{[]string{"node", "list", "-o", "xml"}, []string{"--output", `unknown output format "xml"`}},
		{[]string{"node", "update", "r1"}, []string{"nothing to update"}},
		{[]string{"node", "list", "--limit", "-1"}, []string{"--limit"}},
		{[]string{"link", "add", "--a", "r1", "--z", "sw1:e1"}, []string{"--a", "NODE:INTERFACE"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := f.cli(tc.args...)
			r.wantCode(t, exitUsage, tc.want...)
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid command lines", n)
	}
}

func TestAPIValidationErrorNamesFieldAndFlag(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/nodes", reply(422, errorBody("invalid", "invalid object: management_address: is required for a live node",
		map[string]any{"fields": []model.FieldError{{Field: "management_address", Reason: "is required for a live node"}}})))
	r := f.cli("node", "add", "r1", "--location", "par1", "--vendor", "cisco", "--role", "router", "--lifecycle", "live")
	r.wantCode(t, exitError, "invalid: management_address (--mgmt-address): is required for a live node")
}

func TestNodeUpdateSendsOnlyTheFlagsGiven(t *testing.T) {
	f := newFake(t)
	f.on("PATCH /api/v1/nodes/sw1", echo(200, map[string]any{"name": "sw1"}))
	r := f.cli("node", "update", "sw1", "--lifecycle", "live", "--tag", "access", "--model", "",
		"--custom-data", `{"vlan":null,"stp":true}`)
	r.wantCode(t, 0)
	if r.out != "node sw1 updated\n" {
		t.Errorf("stdout %q", r.out)
	}
	req := f.last()
	if req.ContentType != "application/merge-patch+json" {
		t.Errorf("content type %q", req.ContentType)
	}
	want := `{"custom_data":{"vlan":null,"stp":true},"lifecycle":"live","model":null,"tags":["access"]}`
	if req.Body != want {
		t.Errorf("patch\n  %s\nwant\n  %s", req.Body, want)
	}

	r = f.cli("node", "update", "sw1", "--tag", "")
	r.wantCode(t, 0)
	if f.last().Body != `{"tags":null}` {
		t.Errorf("clearing tags sent %s", f.last().Body)
	}
}

// pagedNodes serves n nodes in pages of the requested size.
func pagedNodes(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
		end := min(start+limit, n)
		var items []model.Node
		for i := start; i < end; i++ {
			items = append(items, model.Node{Name: fmt.Sprintf("r%03d", i), Vendor: "cisco", Role: "router",
				Lifecycle: "live", ManagementAddress: fmt.Sprintf("192.0.2.%d", i), Location: "par1",
				Tags: []string{"core", "pe"}, Meta: model.Meta{ID: fmt.Sprintf("id-%d", i), Revision: 9}})
		}
		next := ""
		if end < n {
			next = strconv.Itoa(end)
		}
		reply(200, map[string]any{"items": items, "continue": next, "revision": 9})(w, r)
	}
}

func TestNodeListFollowsContinueTokens(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", pagedNodes(1203))
	r := f.cli("node", "list", "--role", "router", "--location", "eu", "--vendor", "cisco", "--lifecycle", "live",
		"--tag", "core", "--name-prefix", "r", "--sort", "-name", "-o", "json")
	r.wantCode(t, 0)
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(r.out), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1203 {
		t.Fatalf("%d nodes", len(nodes))
	}
	for _, k := range []string{"name", "vendor", "role", "lifecycle", "management_address", "location"} {
		if nodes[1202][k] == nil {
			t.Errorf("node JSON lacks %s: %v", k, nodes[1202])
		}
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	q := reqs[2].Query
	for _, want := range []string{"role=router", "location=eu", "vendor=cisco", "lifecycle=live", "tag=core", "name_prefix=r", "sort=-name", "continue=1000"} {
		if !strings.Contains(q, want) {
			t.Errorf("third page query %q lacks %s", q, want)
		}
	}
}

func TestNodeListLimitFetchesOnePage(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", pagedNodes(10))
	r := f.cli("node", "list", "--limit", "3")
	r.wantCode(t, 0)
	if len(f.requests()) != 1 || !strings.Contains(f.last().Query, "limit=4") {
		t.Errorf("requests: %+v", f.requests())
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", r.out)
	}
	if !strings.Contains(r.err, "first 3 nodes") {
		t.Errorf("no note that there are more: %q", r.err)
	}
}

func TestNodeListLimitAcrossPages(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", pagedNodes(1200))
	r := f.cli("node", "list", "--limit", "700", "-o", "json")
	r.wantCode(t, 0)
	var nodes []model.Node
	if err := json.Unmarshal([]byte(r.out), &nodes); err != nil || len(nodes) != 700 || nodes[699].Name != "r699" {
		t.Fatalf("%d nodes, %v", len(nodes), err)
	}
	if len(f.requests()) != 2 {
		t.Errorf("%d requests for 700 nodes", len(f.requests()))
	}
	r = f.cli("node", "list", "--limit", "1200")
	if strings.Contains(r.err, "there are more") {
		t.Errorf("a complete list says there are more: %q", r.err)
	}
}

func TestNodeListTable(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", pagedNodes(2))
	r := f.cli("node", "list")
	r.wantCode(t, 0)
	want := "" +
		"NAME  VENDOR  MODEL  ROLE    LIFECYCLE  MGMT ADDRESS  LOCATION  SNMP PROFILE  TAGS\n" +
		"r000  cisco   -      router  live       192.0.2.0     par1      -             core,pe\n" +
		"r001  cisco   -      router  live       192.0.2.1     par1      -             core,pe\n"
	if r.out != want {
		t.Errorf("table\n%s\nwant\n%s", r.out, want)
	}
}

func TestNodeListEmpty(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", reply(200, map[string]any{"items": []any{}, "continue": ""}))
	r := f.cli("node", "list")
	r.wantCode(t, 0)
	if r.out != "" || r.err != "No nodes found.\n" {
		t.Errorf("stdout %q stderr %q", r.out, r.err)
	}
	r = f.cli("node", "list", "-o", "json")
	if strings.TrimSpace(r.out) != "[]" {
		t.Errorf("empty JSON list is %q", r.out)
	}
}

func TestNodeListCSVAndYAML(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", pagedNodes(1))
	r := f.cli("node", "list", "-o", "csv")
	r.wantCode(t, 0)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "name,fqdn,domain,vendor,model,version,role,lifecycle,management_address,location") ||
		!strings.Contains(lines[1], `"core,pe"`) || !strings.Contains(lines[1], "id-0,9") {
		t.Errorf("csv:\n%s", r.out)
	}

	r = f.cli("node", "list", "-o", "yaml")
	r.wantCode(t, 0)
	want := "- id: id-0\n  revision: 9\n  name: r000\n  vendor: cisco\n  role: router\n  lifecycle: live\n" +
		"  management_address: 192.0.2.0\n  location: par1\n  tags:\n    - core\n    - pe\n"
	if r.out != want {
		t.Errorf("yaml\n%s\nwant\n%s", r.out, want)
	}
}

func TestNodeShow(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes/r1", reply(200, model.Node{Name: "r1", FQDN: "r1.example.net", Domain: "example.net",
		Vendor: "cisco", Role: "router", Lifecycle: "live", Location: "par1", SNMPProfile: "lab",
		CustomData: map[string]any{"vlan": 120}, Meta: model.Meta{ID: "abc", Revision: 3}}))
	r := f.cli("node", "show", "r1")
	r.wantCode(t, 0)
	for _, want := range []string{"Name:         r1\n", "FQDN:         r1.example.net\n", "SNMP profile: lab\n",
		`Custom data:  {"vlan":120}` + "\n", "ID:           abc\n", "Revision:     3\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "Serial") {
		t.Errorf("empty fields shown:\n%s", r.out)
	}

	r = f.cli("node", "show", "r9")
	r.wantCode(t, exitError, "not_found")
}
