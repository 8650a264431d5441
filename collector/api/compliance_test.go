package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/policy"
	"github.com/unet-project/unet/internal/testsupport"
)

const testPolicy = `rule "router-version":
WHEN node.role == "router"
THEN ASSERT node.version IS "17.9.4"

rule "juniper-asn":
WHEN node.vendor == "juniper" AND custom_data.bgp.asn IS NULL
THEN SET custom_data.bgp.asn TO 65001

rule "core-template":
WHEN node.tags CONTAINS "core"
THEN APPLY "templates/core.j2"
`

// withEngine runs a policy engine on e's store over a directory holding
// files, and serves an API that uses it; it returns the server's URL.
func (e *env) withEngine(files map[string]string) (string, *policy.Engine) {
	e.t.Helper()
	dir := e.t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	cfg := policy.DefaultConfig()
	cfg.Dir = dir
	cfg.Debounce = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := policy.New(ctx, cfg, policy.Dependencies{Logger: testsupport.Logger(e.t), Store: e.store, Etcd: e.cli})
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	a, err := New(DefaultConfig(), Dependencies{Store: e.store, Registry: prometheus.NewRegistry(), Logger: testsupport.Logger(e.t), Policies: eng})
	if err != nil {
		e.t.Fatal(err)
	}
	return newServer(e.t, a), eng
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestComplianceAPI(t *testing.T) {
	e := newEnv(t)
	e.seed()
	srv, _ := e.withEngine(map[string]string{"site.unet": testPolicy, "broken.unet": "WHEN node.nope == 1 THEN APPLY \"x\"\n"})
	get := func(want int, path string) *response {
		t.Helper()
		res := e.doTo(srv, req{method: "GET", path: path})
		if res.status != want {
			t.Fatalf("GET %s: %d, want %d: %s", path, res.status, want, res.body)
		}
		return res
	}
	waitFor(t, "first verdicts", func() bool {
		items, _ := get(http.StatusOK, "/api/v1/compliance").json(t)["items"].([]any)
		return len(items) > 0
	})

	// Filters.
	tests := []struct {
		query string
		want  []string // node/rule/status of the items, in order
	}{
		{"", []string{"r1/core-template/compliant", "r1/router-version/violation", "r2/juniper-asn/violation", "r2/router-version/violation"}},
		{"?status=violation&node=r2", []string{"r2/juniper-asn/violation", "r2/router-version/violation"}},
		{"?rule=core-template", []string{"r1/core-template/compliant"}},
		{"?site=par1&status=compliant", []string{"r1/core-template/compliant"}},
		{"?site=lyo1", nil},
		{"?status=not_applicable&node=r1", []string{"r1/juniper-asn/not_applicable"}},
		{"?policy=site.unet&limit=1", []string{"r1/core-template/compliant"}},
	}
	for _, tt := range tests {
		m := get(http.StatusOK, "/api/v1/compliance"+tt.query).json(t)
		var got []string
		for _, it := range m["items"].([]any) {
			r := it.(map[string]any)
			got = append(got, fmt.Sprintf("%s/%s/%s", r["node"], r["rule"], r["status"]))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	// Pages follow their continue tokens.
	var all []any
	path := "/api/v1/compliance?limit=3"
	for {
		m := get(http.StatusOK, path).json(t)
		all = append(all, m["items"].([]any)...)
		tok, _ := m["continue"].(string)
		if tok == "" {
			break
		}
		path = "/api/v1/compliance?limit=3&continue=" + url.QueryEscape(tok)
	}
	if len(all) != 4 {
		t.Errorf("paged: %d items", len(all))
	}

	// A violation says what and why.
	r1 := get(http.StatusOK, "/api/v1/nodes/r1/compliance").json(t)
	items := r1["items"].([]any)
	if len(items) != 3 || fmt.Sprint(r1["templates"]) != "[templates/core.j2]" {
		t.Errorf("node r1: %v", r1)
	}
	for _, it := range items {
		r := it.(map[string]any)
		if r["rule"] == "router-version" && (r["actual"] != nil || r["expected"] != "17.9.4" ||
			r["message"] != `node.version is null, expected "17.9.4"`) {
			t.Errorf("router-version on r1: %v", r)
		}
	}

	// Bad queries.
	for _, q := range []string{"?status=great", "?vendor=x", "?continue=zzz", "?limit=-1"} {
		if code := get(http.StatusBadRequest, "/api/v1/compliance"+q).errorCode(t); code != "bad_request" {
			t.Errorf("%s: %s", q, code)
		}
	}
	get(http.StatusNotFound, "/api/v1/compliance?node=nope")
	get(http.StatusNotFound, "/api/v1/nodes/nope/compliance")

	// Policies: the broken file is reported, the other loaded.
	pol := get(http.StatusOK, "/api/v1/policies").json(t)
	if pol["files_with_errors"] != 1.0 || pol["rules"] != 3.0 {
		t.Errorf("policies: %v", pol)
	}
	if !strings.Contains(fmt.Sprint(pol["policies"]), "broken.unet:1:6: unknown field node.nope") {
		t.Errorf("no diagnostic for broken.unet: %v", pol["policies"])
	}

	// SET proposals: listed, applied (only those named), gone.
	sets := get(http.StatusOK, "/api/v1/compliance/sets").json(t)["items"].([]any)
	if len(sets) != 1 || sets[0].(map[string]any)["path"] != "custom_data.bgp.asn" {
		t.Fatalf("sets: %v", sets)
	}
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`{"proposals": [{"node": "r2"}]}`, http.StatusUnprocessableEntity},
		{`{"propsals": []}`, http.StatusBadRequest},
		{`{"proposals": [`, http.StatusBadRequest},
	} {
		if res := e.doTo(srv, req{method: "POST", path: "/api/v1/compliance/sets/apply", body: bad.body}); res.status != bad.status {
			t.Errorf("apply %s: %d %s", bad.body, res.status, res.body)
		}
	}
	res := e.doTo(srv, req{method: "POST", path: "/api/v1/compliance/sets/apply",
		body: map[string]any{"proposals": []map[string]any{{"node": "r2", "path": "custom_data.bgp.asn", "proposed": 65001}}}})
	if rep := res.json(t); res.status != http.StatusOK || rep["applied"] != 1.0 {
		t.Fatalf("apply: %d %s", res.status, res.body)
	}
	node := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/r2"}).json(t)
	if fmt.Sprint(node["custom_data"]) != "map[bgp:map[asn:65001]]" {
		t.Errorf("r2 custom_data %v", node["custom_data"])
	}
	waitFor(t, "the SET evaluated again", func() bool {
		return len(get(http.StatusOK, "/api/v1/compliance/sets").json(t)["items"].([]any)) == 0
	})

	// Evaluation on demand.
	ev := e.doTo(srv, req{method: "POST", path: "/api/v1/policies/evaluate", body: map[string]any{"nodes": []string{"r1"}}})
	if m := ev.json(t); ev.status != http.StatusOK || m["nodes"] != 1.0 || m["rules"] != 3.0 {
		t.Errorf("evaluate: %d %s", ev.status, ev.body)
	}
	if ev := e.doTo(srv, req{method: "POST", path: "/api/v1/policies/evaluate"}); ev.status != http.StatusOK || ev.json(t)["nodes"] != 2.0 {
		t.Errorf("evaluate everything: %d %s", ev.status, ev.body)
	}
	if ev := e.doTo(srv, req{method: "POST", path: "/api/v1/policies/evaluate", body: `{"nodes": ["ghost"]}`}); ev.status != http.StatusNotFound {
		t.Errorf("evaluate a ghost: %d %s", ev.status, ev.body)
	}
}

// TestPolicyRoutesWithoutEngine: 503 with a message that says what to do.
func TestPolicyRoutesWithoutEngine(t *testing.T) {
	e := newEnv(t)
	for _, r := range []req{
		{method: "GET", path: "/api/v1/compliance"},
		{method: "GET", path: "/api/v1/nodes/r1/compliance"},
		{method: "GET", path: "/api/v1/policies"},
		{method: "POST", path: "/api/v1/policies/evaluate"},
		{method: "GET", path: "/api/v1/compliance/sets"},
		{method: "POST", path: "/api/v1/compliance/sets/apply"},
	} {
		res := e.do(r)
		if res.status != http.StatusServiceUnavailable || res.errorCode(t) != "unavailable" || !strings.Contains(string(res.body), "--policies") {
			t.Errorf("%s %s: %d %s", r.method, r.path, res.status, res.body)
		}
	}
}
