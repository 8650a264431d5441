package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/desired/embedded"
	"github.com/unet-project/unet/internal/testsupport"
)

func TestMain(m *testing.M) {
	// Keep gin's debug banner and route listing out of test output.
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// Secrets of the fixtures: no answer body and no log line may hold them.
const (
	secretCommunity = "c0mmunity-S3CRET"
	secretAuthKey   = "authkey-S3CRET-1"
	secretPrivKey   = "privkey-S3CRET-2"
)

var secrets = []string{secretCommunity, secretAuthKey, secretPrivKey}

// env is an API over a real store on a real embedded etcd.
type env struct {
	t     *testing.T
	api   *API
	store *desired.Store
	reg   *prometheus.Registry
	srv   *httptest.Server
	etcd  *embedded.Server
	cli   *clientv3.Client
	logs  *testsupport.SyncBuffer
}

// testsupport.SyncBuffer collects log output from concurrent handlers.
// newEnv starts etcd, a store and the API; cfg tweaks the API's config.
// Every answer and the logs are checked for secrets at the end.
func newEnv(t *testing.T, cfg ...func(*Config)) *env {
	t.Helper()
	srv, cli := testsupport.EtcdServer(t)
	store := desired.New(cli, desired.DefaultConfig(), testsupport.Logger(t))
	e := &env{t: t, store: store, etcd: srv, cli: cli, logs: &testsupport.SyncBuffer{}}
	e.api, e.reg = e.newAPI(cfg...)
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() {
		logs := e.logs.String()
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret is in the logs:\n%s", logs)
			}
		}
	})
	return e
}

// newAPI builds another API over the same store (its own registry).
func (e *env) newAPI(cfg ...func(*Config)) (*API, *prometheus.Registry) {
	e.t.Helper()
	return e.newAPIOver(e.store, cfg...)
}

// newAPIOver builds another API over store.
func (e *env) newAPIOver(store *desired.Store, cfg ...func(*Config)) (*API, *prometheus.Registry) {
	e.t.Helper()
	c := DefaultConfig()
	for _, f := range cfg {
		f(&c)
	}
	reg := prometheus.NewRegistry()
	done := &atomic.Bool{}
	e.t.Cleanup(func() { done.Store(true) })
	log := slog.New(slog.NewJSONHandler(io.MultiWriter(e.logs, tLogWriter{e.t, done}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(c, Dependencies{Store: store, Logger: log, Registry: reg})
	if err != nil {
		e.t.Fatalf("api.New: %v", err)
	}
	return a, reg
}

// tLogWriter writes through t.Log until the test ends.
type tLogWriter struct {
	t    *testing.T
	done *atomic.Bool
}

func (w tLogWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as JSON into a generic value.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// errorCode returns error.code of an error answer, failing on another shape.
func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	eo, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("not an error answer: %s", r.body)
	}
	code, _ := eo["code"].(string)
	msg, _ := eo["message"].(string)
	if code == "" || msg == "" {
		t.Fatalf("error answer without code or message: %s", r.body)
	}
	return code
}

// details returns error.details.
func (r *response) details(t *testing.T) map[string]any {
	t.Helper()
	d, _ := r.json(t)["error"].(map[string]any)["details"].(map[string]any)
	return d
}

// req is a request to make.
type req struct {
	method, path string
	body         any // string, []byte or a value to encode as JSON
	contentType  string
	headers      map[string]string
}

// do sends r to the server (the API under test unless srv is given).
func (e *env) do(r req) *response {
	e.t.Helper()
	return e.doTo(e.srv.URL, r)
}

func (e *env) doTo(base string, r req) *response {
	e.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	if body != nil && ct == "" {
		ct = "application/json"
	}
	hr, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
	}
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			e.t.Errorf("%s %s: a secret is in the answer: %s", r.method, r.path, b)
		}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends r and fails unless the status is want.
func (e *env) must(want int, r req) *response {
	e.t.Helper()
	res := e.do(r)
	if res.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.status, want, res.body)
	}
	return res
}

// seed creates a small network: region eu › site par1 › rack par1-r1, a
// v2c and a v3 profile, nodes r1 and r2 in par1 and a link between them.
func (e *env) seed() (linkID string) {
	e.t.Helper()
	for _, l := range []map[string]any{
		{"name": "eu", "kind": "region"},
		{"name": "par1", "kind": "site", "parent": "eu"},
		{"name": "par1-r1", "kind": "rack", "parent": "par1"},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: l})
	}
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/snmp-profiles",
		body: map[string]any{"name": "v2", "version": "2c", "community": secretCommunity}})
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/snmp-profiles",
		body: map[string]any{"name": "v3", "version": "3", "user": "unet", "auth_protocol": "sha", "auth_key": secretAuthKey,
			"priv_protocol": "aes", "priv_key": secretPrivKey}})
	for _, n := range []map[string]any{
		{"name": "r1", "vendor": "cisco", "role": "router", "location": "par1", "snmp_profile": "v2", "tags": []string{"core"}},
		{"name": "r2", "vendor": "juniper", "role": "router", "location": "par1-r1", "snmp_profile": "v3"},
	} {
		e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/nodes", body: n})
	}
	res := e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/links",
		body: map[string]any{"a": map[string]any{"node": "r1", "interface": "xe-0/0/0"}, "z": map[string]any{"node": "r2", "interface": "xe-0/0/1"}}})
	return res.json(e.t)["id"].(string)
}

// newServer serves another API instance for the test.
func newServer(t *testing.T, a *API) string {
	t.Helper()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// chunked hides the length of a body, so it is sent chunked.
func chunked(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) }
