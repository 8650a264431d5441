package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
)

func TestHealthAndReady(t *testing.T) {
	e := newEnv(t)
	if got := string(e.must(http.StatusOK, req{method: "GET", path: "/healthz"}).body); got != `{"status":"ok"}` {
		t.Errorf("/healthz: %s", got)
	}
	if got := string(e.must(http.StatusOK, req{method: "GET", path: "/readyz"}).body); got != `{"status":"ok"}` {
		t.Errorf("/readyz: %s", got)
	}
}

// TestStoreDown: with etcd gone, /readyz is 503 with the reason, /healthz
// still 200, and a store call is a generic 500 whose cause is logged.
// The API's etcd client is closed (embedded.Server.Close may not be called
// twice, and testsupport closes the server at cleanup).
func TestStoreDown(t *testing.T) {
	e := newEnv(t)
	e.seed()
	cli, err := e.etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	scfg := desired.DefaultConfig()
	scfg.RequestTimeout = 300 * time.Millisecond
	a, _ := e.newAPIOver(desired.New(cli, scfg, testsupport.Logger(t)), func(c *Config) { c.ReadyTimeout = 300 * time.Millisecond })
	srv := newServer(t, a)
	if res := e.doTo(srv, req{method: "GET", path: "/readyz"}); res.status != http.StatusOK {
		t.Fatalf("/readyz with etcd up: %d %s", res.status, res.body)
	}
	cli.Close()

	res := e.doTo(srv, req{method: "GET", path: "/readyz"})
	if res.status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with etcd down: %d %s", res.status, res.body)
	}
	if m := res.json(t); m["status"] != "unavailable" || m["reason"] == "" || m["reason"] == nil {
		t.Errorf("/readyz body: %s", res.body)
	}
	if res := e.doTo(srv, req{method: "GET", path: "/healthz"}); res.status != http.StatusOK {
		t.Errorf("/healthz with etcd down: %d", res.status)
	}

	res = e.doTo(srv, req{method: "GET", path: "/api/v1/nodes/r1", headers: map[string]string{"X-Request-Id": "req-500"}})
	if res.status != http.StatusInternalServerError || res.errorCode(t) != "internal" {
		t.Fatalf("GET with etcd down: %d %s", res.status, res.body)
	}
	if got := fmt.Sprint(res.details(t)["request_id"]); got != "req-500" {
		t.Errorf("details.request_id %q", got)
	}
	if b := string(res.body); strings.Contains(b, "deadline") || strings.Contains(b, "etcd") {
		t.Errorf("the 500 leaks its cause: %s", b)
	}
	if logs := e.logs.String(); !regexp.MustCompile(`"msg":"internal error".*"request_id":"req-500"`).MatchString(logs) {
		t.Errorf("the cause is not logged with the request id:\n%s", logs)
	}
}

// TestRequestID: a sane client id is echoed, anything else replaced.
func TestRequestID(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ in, want string }{
		{"abc-123", "abc-123"},
		{"", ""},
		{"has space", ""},
		{strings.Repeat("x", 200), ""},
	} {
		res := e.must(http.StatusOK, req{method: "GET", path: "/healthz", headers: map[string]string{"X-Request-Id": tc.in}})
		got := res.header.Get("X-Request-Id")
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("request id %q echoed as %q", tc.in, got)
		case tc.want == "" && (got == "" || got == tc.in):
			t.Errorf("request id %q: answer id %q, want a generated one", tc.in, got)
		}
	}
	if !strings.Contains(e.logs.String(), `"request_id":"abc-123"`) {
		t.Errorf("request id not in the request log")
	}
}

// TestMetrics: counters and latency by route template, method and status.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/r1"})
	e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/r2"})
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/nodes/r9"})
	e.must(http.StatusNotFound, req{method: "GET", path: "/no/such/route"})
	body := string(e.must(http.StatusOK, req{method: "GET", path: "/metrics"}).body)
	for _, want := range []string{
		`unet_api_requests_total{method="GET",route="/api/v1/nodes/:ref",status="200"} 2`,
		`unet_api_requests_total{method="GET",route="/api/v1/nodes/:ref",status="404"} 1`,
		`unet_api_requests_total{method="POST",route="/api/v1/nodes",status="201"} 2`,
		`unet_api_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`unet_api_request_duration_seconds_count{method="GET",route="/api/v1/nodes/:ref",status="200"} 2`,
		`unet_api_request_duration_seconds_bucket{method="GET",route="/api/v1/nodes/:ref",status="200",le="+Inf"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "/no/such/route") || strings.Contains(body, "r9") {
		t.Errorf("raw URLs in the metrics")
	}
}

// TestNewRefusesBadDependencies: no store, no registry, a bad config, or a
// registry that already holds the API's metrics are errors, not panics.
func TestNewRefusesBadDependencies(t *testing.T) {
	e := newEnv(t)
	_, reg := e.newAPI()
	for name, tc := range map[string]struct {
		cfg  func(*Config)
		deps Dependencies
	}{
		"no store":            {deps: Dependencies{Registry: reg}},
		"no registry":         {deps: Dependencies{Store: e.store}},
		"metrics registered":  {deps: Dependencies{Store: e.store, Registry: reg}},
		"zero body limit":     {cfg: func(c *Config) { c.MaxBodyBytes = 0 }, deps: Dependencies{Store: e.store, Registry: reg}},
		"default above max":   {cfg: func(c *Config) { c.DefaultListLimit = c.MaxListLimit + 1 }, deps: Dependencies{Store: e.store, Registry: reg}},
		"zero ready timeout":  {cfg: func(c *Config) { c.ReadyTimeout = 0 }, deps: Dependencies{Store: e.store, Registry: reg}},
		"zero import limit":   {cfg: func(c *Config) { c.MaxImportBytes = -1 }, deps: Dependencies{Store: e.store, Registry: reg}},
		"zero max list limit": {cfg: func(c *Config) { c.MaxListLimit = 0 }, deps: Dependencies{Store: e.store, Registry: reg}},
	} {
		c := DefaultConfig()
		if tc.cfg != nil {
			tc.cfg(&c)
		}
		if _, err := New(c, tc.deps); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestOpenAPICoversRoutes: every route is in the document, and every
// operation of the document is a route.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t)
	res := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/openapi.json"})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	var routes, documented []string
	for _, r := range e.api.engine.Routes() {
		routes = append(routes, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document has %s, which is no route", d)
		}
	}
	if len(routes) < 30 {
		t.Errorf("only %d routes: %v", len(routes), routes)
	}
}

// TestOpenAPIRefsResolve: every $ref points at a component that exists.
func TestOpenAPIRefsResolve(t *testing.T) {
	raw, err := openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	components := doc["components"].(map[string]any)
	for _, m := range regexp.MustCompile(`"\$ref": "#/components/([^/]+)/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		group, _ := components[m[1]].(map[string]any)
		if _, ok := group[m[2]]; !ok {
			t.Errorf("dangling $ref %s/%s", m[1], m[2])
		}
	}
}

// TestGroupAndPanics: routes added through Group share the middleware; a
// panicking handler is a logged, generic 500 and the server lives on.
func TestGroupAndPanics(t *testing.T) {
	e := newEnv(t)
	a, _ := e.newAPI()
	a.Group().GET("/boom", func(*gin.Context) { panic("kaboom") })
	a.Group().GET("/ok", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	srv := newServer(t, a)
	res := e.doTo(srv, req{method: "GET", path: "/api/v1/boom", headers: map[string]string{"X-Request-Id": "req-boom"}})
	if res.status != http.StatusInternalServerError || res.errorCode(t) != "internal" || strings.Contains(string(res.body), "kaboom") {
		t.Errorf("panic: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.logs.String(), "kaboom") {
		t.Errorf("the panic is not logged")
	}
	if res := e.doTo(srv, req{method: "GET", path: "/api/v1/ok"}); res.status != http.StatusOK || res.header.Get("X-Request-Id") == "" {
		t.Errorf("group route: %d %v", res.status, res.header)
	}
}
