package api

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

// spareSecret is the community of a profile that only a planned node uses:
// it must never leave the collector, not even on the agent channel.
const spareSecret = "spare-S3CRET-community"

// seedAgent builds: region eu › sites par1 (› rack par1-r1) and lon1;
// profiles v2 and v3 (the env's secrets) and spare; nodes of every kind of
// pollability.
func (e *env) seedAgent() {
	e.t.Helper()
	for _, l := range []map[string]any{
		{"name": "eu", "kind": "region"},
		{"name": "par1", "kind": "site", "parent": "eu"},
		{"name": "par1-r1", "kind": "rack", "parent": "par1"},
		{"name": "lon1", "kind": "site", "parent": "eu"},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: l})
	}
	for _, p := range []map[string]any{
		{"name": "v2", "version": "2c", "community": secretCommunity, "port": 1161},
		{"name": "v3", "version": "3", "user": "unet", "auth_protocol": "sha", "auth_key": secretAuthKey,
			"priv_protocol": "aes", "priv_key": secretPrivKey},
		{"name": "spare", "version": "2c", "community": spareSecret},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/snmp-profiles", body: p})
	}
	node := func(name, lifecycle, addr, loc, profile string) map[string]any {
		n := map[string]any{"name": name, "vendor": "cisco", "role": "router", "lifecycle": lifecycle, "location": loc}
		if addr != "" {
			n["management_address"] = addr
		}
		if profile != "" {
			n["snmp_profile"] = profile
		}
		return n
	}
	for _, n := range []map[string]any{
		node("a2", "implementing", "10.0.0.2", "par1-r1", "v3"),
		node("a1", "live", "10.0.0.1", "par1", "v2"),
		node("a3", "planned", "10.0.0.3", "par1", "v2"),
		node("a4", "implementing", "", "par1", "v2"),
		node("a5", "live", "10.0.0.5", "par1", ""),
		node("a6", "planned", "10.0.0.6", "par1", "spare"),
		node("a7", "decommissioned", "10.0.0.7", "par1-r1", "v2"),
		node("b1", "live", "10.1.0.1", "lon1", "v2"),
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/nodes", body: n})
	}
}

// inventory reads the agent channel. It bypasses env.do, which fails any
// answer holding a secret: this one must hold them.
func (e *env) inventory(query string) (int, http.Header, []byte) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/api/v1/agent/inventory" + query)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestAgentInventory(t *testing.T) {
	e := newEnv(t)
	e.seedAgent()
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), spareSecret) {
			t.Errorf("a secret is in the logs")
		}
	})

	status, h, body := e.inventory("?site=par1")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q: secrets must not be cached", h.Get("Cache-Control"))
	}
	var inv agentInventory
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range inv.Nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"a1", "a2"}) {
		t.Errorf("nodes %v, want the pollable a1 and a2 (the rack's a2 included), by name", names)
	}
	if inv.NotPollable != 5 {
		t.Errorf("not_pollable %d, want 5 (planned, no address, no profile, planned, decommissioned)", inv.NotPollable)
	}
	if !slices.Equal(inv.Sites, []string{"par1"}) || inv.Revision <= 0 {
		t.Errorf("sites %v revision %d", inv.Sites, inv.Revision)
	}
	if len(inv.SNMPProfiles) != 2 {
		t.Fatalf("profiles %v, want v2 and v3 only", slices.Collect(maps.Keys(inv.SNMPProfiles)))
	}
	v2, v3 := inv.SNMPProfiles["v2"], inv.SNMPProfiles["v3"]
	if v2.Community != secretCommunity || v2.Port != 1161 || v2.Version != model.SNMPv2c {
		t.Errorf("v2 = %+v, want its community and port", v2)
	}
	if v3.AuthKey != secretAuthKey || v3.PrivKey != secretPrivKey || v3.User != "unet" {
		t.Errorf("v3 = %+v, want its keys", v3)
	}
	if strings.Contains(string(body), spareSecret) {
		t.Errorf("the secret of a profile no pollable node uses left the collector")
	}

	// Several sites, one repeated: each node once, sites in the order given.
	status, _, body = e.inventory("?site=lon1&site=par1&site=lon1")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	inv = agentInventory{}
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, n := range inv.Nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"a1", "a2", "b1"}) || !slices.Equal(inv.Sites, []string{"lon1", "par1"}) {
		t.Errorf("nodes %v sites %v", names, inv.Sites)
	}

	// A write moves the revision on.
	before := inv.Revision
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/nodes/b1", body: map[string]any{"model": "MX204"}})
	_, _, body = e.inventory("?site=lon1")
	inv = agentInventory{}
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	if inv.Revision <= before || len(inv.Nodes) != 1 || inv.Nodes[0].Model != "MX204" {
		t.Errorf("after a write: revision %d (before %d), nodes %+v", inv.Revision, before, inv.Nodes)
	}
}

func TestAgentInventoryEmptySite(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: map[string]any{"name": "empty", "kind": "site"}})
	status, _, body := e.inventory("?site=empty")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	// Empty collections are [] and {}, never null: agents iterate them.
	if nodes, ok := m["nodes"].([]any); !ok || len(nodes) != 0 {
		t.Errorf("nodes = %v", m["nodes"])
	}
	if profiles, ok := m["snmp_profiles"].(map[string]any); !ok || len(profiles) != 0 {
		t.Errorf("snmp_profiles = %v", m["snmp_profiles"])
	}
}

func TestAgentInventoryErrors(t *testing.T) {
	e := newEnv(t)
	e.seedAgent()
	for _, tc := range []struct {
		query  string
		status int
		code   string
		says   string
	}{
		{"", http.StatusBadRequest, "bad_request", "site is required"},
		{"?site=", http.StatusBadRequest, "bad_request", "site is empty"},
		{"?site=par1&siet=lon1", http.StatusBadRequest, "bad_request", `"siet"`},
		{"?site=nowhere", http.StatusNotFound, "not_found", `"nowhere"`},
		{"?site=eu&site=nowhere&site=gone", http.StatusNotFound, "not_found", `"nowhere", "gone"`},
		{"?site=eu", http.StatusUnprocessableEntity, "invalid", `"eu" is a region, not a site`},
		{"?site=par1&site=par1-r1", http.StatusUnprocessableEntity, "invalid", `"par1-r1" is a rack`},
	} {
		status, _, body := e.inventory(tc.query)
		res := &response{status: status, body: body}
		msg, _ := res.json(t)["error"].(map[string]any)["message"].(string)
		if status != tc.status || res.errorCode(t) != tc.code || !strings.Contains(msg, tc.says) {
			t.Errorf("%q: %d %s, want %d %s saying %s", tc.query, status, body, tc.status, tc.code, tc.says)
		}
		if strings.Contains(string(body), secretCommunity) {
			t.Errorf("%q: an error answer holds a secret", tc.query)
		}
	}
	status, _, body := e.inventory("?site=eu")
	fields, _ := (&response{status: status, body: body}).details(t)["fields"].([]any)
	if len(fields) != 1 {
		t.Errorf("422 without details.fields: %s", body)
	}
	var many []string
	for i := range maxAgentSites + 1 {
		many = append(many, fmt.Sprintf("site=s%d", i))
	}
	if status, _, _ := e.inventory("?" + strings.Join(many, "&")); status != http.StatusBadRequest {
		t.Errorf("%d sites: status %d", maxAgentSites+1, status)
	}
	// Writes are not routes of the channel.
	if res := e.do(req{method: "POST", path: "/api/v1/agent/inventory?site=par1", body: "{}"}); res.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.status)
	}
}

func TestAgentInventoryInOpenAPI(t *testing.T) {
	raw, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var op map[string]any
	if err := json.Unmarshal(doc.Paths["/api/v1/agent/inventory"]["get"], &op); err != nil {
		t.Fatal(err)
	}
	if desc, _ := op["description"].(string); !strings.Contains(desc, "secrets") {
		t.Errorf("the operation does not warn about secrets: %v", op)
	}
	props := doc.Components.Schemas["AgentSNMPProfile"]["properties"].(map[string]any)
	community := props["community"].(map[string]any)
	if community["writeOnly"] == true || !strings.Contains(community["description"].(string), "SECRET") {
		t.Errorf("agent profile community = %v", community)
	}
	// The ordinary profile schema keeps its secrets write-only.
	plain := doc.Components.Schemas["SNMPProfile"]["properties"].(map[string]any)["community"].(map[string]any)
	if plain["writeOnly"] != true {
		t.Errorf("SNMPProfile community lost writeOnly: %v", plain)
	}
}
