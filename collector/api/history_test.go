package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/internal/testsupport"
)

// withHistory serves a second API over the env's store with a history
// store on a fresh ClickHouse, and points the env's requests at it.
func (e *env) withHistory() *history.Store {
	e.t.Helper()
	cfg := history.DefaultConfig()
	cfg.Address = testsupport.ClickHouse(e.t)
	cfg.RetentionInterval = 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := history.New(ctx, cfg, history.Dependencies{Logger: testsupport.Logger(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { store.Close() })
	e.serveHistory(func() (*history.Store, error) { return store, nil })
	return store
}

func (e *env) serveHistory(h func() (*history.Store, error)) {
	e.t.Helper()
	a, err := New(DefaultConfig(), Dependencies{Store: e.store, Logger: testsupport.Logger(e.t), Registry: prometheus.NewRegistry(), History: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.Config.Handler = a.Handler()
}

func TestHistoryRoutesValidate(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.withHistory()
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/history/interfaces?node=r1&ifname=e0", 200, ""},
		{"/history/interfaces?node=r1&ifname=e0&from=2026-11-26T08:00:00Z&to=2026-11-26T09:00:00Z&step=5m", 200, ""},
		{"/history/interfaces?node=r1&ifname=e0&from=-7d&to=now-1h&step=1d", 200, ""},
		{"/history/interfaces?node=r1", 400, "ifname is required"},
		{"/history/interfaces?ifname=e0", 400, "node is required"},
		{"/history/interfaces?node=nope&ifname=e0", 404, "nope"},
		{"/history/interfaces?node=r1&ifname=e0&from=yesterday", 400, "RFC 3339"},
		{"/history/interfaces?node=r1&ifname=e0&from=-0h", 400, "positive duration"},
		{"/history/interfaces?node=r1&ifname=e0&from=now&to=-1h", 400, "must be before"},
		{"/history/interfaces?node=r1&ifname=e0&from=-1000d", 400, "longer than the 800 days"},
		{"/history/interfaces?node=r1&ifname=e0&step=0s", 400, "step"},
		{"/history/interfaces?node=r1&ifname=e0&step=fast", 400, "step"},
		{"/history/interfaces?node=r1&ifname=e0&step=60d", 400, "step"},
		{"/history/interfaces?node=r1&ifname=e0&bogus=1", 400, "unknown query parameter"},
		{"/history/interfaces?node=r1&ifname=e0&ifname=e1", 400, "given 2 times"},
		{"/history/events?type=flap&type=reboot,reachability&node=r1&interface=e0&limit=5", 200, ""},
		{"/history/events?type=flaps", 400, "accepted: oper_status"},
		{"/history/events?limit=0", 400, "between 1 and 100000"},
		{"/history/events?node=nope", 404, "nope"},
		{"/history/top?metric=utilisation&site=par1&n=5&from=-30d", 200, ""},
		{"/history/top", 200, ""},
		{"/history/top?metric=bps", 400, "accepted: in_bps"},
		{"/history/top?n=0", 400, "between 1 and 1000"},
		{"/history/top?n=1001", 400, "between 1 and 1000"},
		{"/history/top?site=atlantis", 404, "atlantis"},
		{"/history/availability?node=r1", 200, ""},
		{"/history/availability?site=par1&from=-400d", 200, ""},
		{"/history/availability", 200, ""},
		{"/history/availability?node=r1&site=par1", 400, "not both"},
		{"/history/availability?site=atlantis", 404, "atlantis"},
		{"/nodes/r1/interfaces", 200, ""},
		{"/nodes/r1/interfaces?x=1", 400, "takes none"},
		{"/nodes/nope/interfaces", 404, "nope"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.do(req{method: "GET", path: "/api/v1" + tc.path})
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != 200 && !strings.Contains(string(r.body), tc.msg) {
				t.Fatalf("%s: the message does not say %q", r.body, tc.msg)
			}
			if tc.status == 200 && strings.Contains(string(r.body), "null") {
				t.Errorf("a null list in %s", r.body)
			}
		})
	}
}

func TestHistoryRoutesUnavailable(t *testing.T) {
	e := newEnv(t)
	e.seed()
	const none = `{"error":{"code":"unavailable","message":"no history store is configured: start the collector with --clickhouse"}}`
	for _, path := range []string{"/history/interfaces?node=r1&ifname=e0", "/history/events", "/history/top", "/history/availability"} {
		r := e.do(req{method: "GET", path: "/api/v1" + path})
		if r.status != http.StatusServiceUnavailable || string(r.body) != none {
			t.Errorf("%s without history: %d %s", path, r.status, r.body)
		}
	}
	r := e.do(req{method: "POST", path: "/api/v1/ingest", body: []byte("x"), contentType: "application/x-protobuf"})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.errorCode(t) != "unavailable" {
		t.Errorf("ingest without history: %d %s", r.status, r.body)
	}
	// The node's interfaces need no history: empty until polled.
	if r := e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/r1/interfaces"}); string(r.body) != `{"node":"r1","interfaces":[]}` {
		t.Errorf("interfaces: %s", r.body)
	}

	// Configured but not connected: 503 with the reason and Retry-After.
	e.serveHistory(func() (*history.Store, error) {
		return nil, &history.UnavailableError{Op: "history", RetryAfter: 1500 * time.Millisecond, Err: errors.New("connecting to ClickHouse at 127.0.0.1:9000")}
	})
	r = e.do(req{method: "GET", path: "/api/v1/history/events"})
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "2" || !strings.Contains(string(r.body), "connecting to ClickHouse") {
		t.Errorf("history while connecting: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	// Ready all the same (etcd answers), and it says why history is not.
	if r := e.must(http.StatusOK, req{method: "GET", path: "/readyz"}); !strings.Contains(string(r.body), `"history":"history: ClickHouse unavailable`) {
		t.Errorf("readyz while connecting: %s", r.body)
	}
}

func TestReadyzSaysHistory(t *testing.T) {
	e := newEnv(t)
	if r := e.must(http.StatusOK, req{method: "GET", path: "/readyz"}); strings.Contains(string(r.body), "history") {
		t.Errorf("readyz without history: %s", r.body)
	}
	e.withHistory()
	if r := e.must(http.StatusOK, req{method: "GET", path: "/readyz"}); string(r.body) != `{"history":"ok","status":"ok"}` {
		t.Errorf("readyz with history: %s", r.body)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"now", now, false},
		{"-24h", now.Add(-24 * time.Hour), false},
		{"now-90m", now.Add(-90 * time.Minute), false},
		{"-7d", now.AddDate(0, 0, -7), false},
		{"-2w", now.AddDate(0, 0, -14), false},
		{"2026-11-26T08:00:00Z", time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), false},
		{"2026-11-26T09:00:00.5+01:00", time.Date(2026, 11, 26, 8, 0, 0, 5e8, time.UTC), false},
		{"+1h", time.Time{}, true},
		{"-1.5d", time.Time{}, true},
		{"now-", time.Time{}, true},
		{"-0s", time.Time{}, true},
		{"2026-11-26", time.Time{}, true},
		{"", time.Time{}, true},
	} {
		got, err := parseTime(tc.in, now)
		if (err != nil) != tc.err || (!tc.err && !got.Equal(tc.want)) {
			t.Errorf("parseTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
