package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/agents"
	"github.com/unet-project/unet/internal/testsupport"
)

// withAgents serves a second API over the env's store with an agent
// registry, and points the env's requests at it.
func (e *env) withAgents() *agents.Registry {
	e.t.Helper()
	reg, err := agents.New(agents.DefaultConfig(), agents.Dependencies{Client: e.cli, Logger: testsupport.Logger(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = reg.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	a, err := New(DefaultConfig(), Dependencies{Store: e.store, Logger: testsupport.Logger(e.t), Registry: prometheus.NewRegistry(), Agents: reg})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.Config.Handler = a.Handler()
	return reg
}

func TestHeartbeatAgentsAndNodeStatus(t *testing.T) {
	e := newEnv(t)
	e.seedAgent()
	// Without a registry the agent endpoints say so.
	if r := e.do(req{method: "GET", path: "/api/v1/agents"}); r.status != http.StatusServiceUnavailable || r.errorCode(t) != "unavailable" {
		t.Fatalf("agents without a registry: %d %s", r.status, r.body)
	}
	e.withAgents()

	polled := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	e.must(http.StatusNoContent, req{method: "POST", path: "/api/v1/agent/heartbeat", body: map[string]any{
		"name": "agent-1", "sites": []string{"par1"}, "address": "127.0.0.1:9181", "version": "dev", "healthy": true,
		"nodes": []map[string]any{{"node": "a1", "last_poll": polled}, {"node": "a2"}},
	}})
	var list []map[string]any
	if err := json.Unmarshal(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/agents"}).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["name"] != "agent-1" || list[0]["site"] != "par1" || list[0]["owned"] != float64(2) || list[0]["last_seen"] == "" {
		t.Fatalf("agents = %v", list)
	}

	var st map[string]any
	if err := json.Unmarshal(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/a1/status"}).body, &st); err != nil {
		t.Fatal(err)
	}
	if st["node"] != "a1" || st["polled_by"] != "agent-1" || st["unpolled"] != false || st["last_poll"] != "2026-11-26T10:00:00Z" ||
		st["site"] != "par1" || st["pollable"] != true {
		t.Fatalf("status of a1 = %v", st)
	}
	if err := json.Unmarshal(e.must(http.StatusOK, req{method: "GET", path: "/api/v1/nodes/b1/status"}).body, &st); err != nil {
		t.Fatal(err)
	}
	if st["polled_by"] != "" || st["unpolled"] != true {
		t.Fatalf("status of b1 (no agent in lon1) = %v", st)
	}
	e.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/nodes/nope/status"})

	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"name":"x","sites":["par1"],"nodes":[],"bogus":1}`, http.StatusBadRequest, "bad_request"},
		{`{"name":"x","sites":[],"nodes":[]}`, http.StatusUnprocessableEntity, "invalid"},
		{`{"name":"x","sites":["par1"],"nodes":"a"}`, http.StatusBadRequest, "bad_request"},
		{`not json`, http.StatusBadRequest, "bad_request"},
	} {
		r := e.do(req{method: "POST", path: "/api/v1/agent/heartbeat", body: tc.body})
		if r.status != tc.status || r.errorCode(t) != tc.code {
			t.Errorf("heartbeat %s: %d %s, want %d %s", tc.body, r.status, r.body, tc.status, tc.code)
		}
	}
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data map[string]any
}

// watchInventory opens the watch and returns its events as they come.
func (e *env) watchInventory(query string) <-chan sseEvent {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	hr, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/agent/inventory/watch"+query, nil)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("watch: %d %s", resp.StatusCode, b)
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "":
				ch <- ev
				ev = sseEvent{}
			}
		}
	}()
	return ch
}

func nextEvent(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return sseEvent{}
}

func TestInventoryWatch(t *testing.T) {
	e := newEnv(t)
	e.seedAgent()
	_, _, body := e.inventory("?site=par1")
	var inv struct{ Revision int64 }
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	ch := e.watchInventory("?site=par1&revision=" + itoa(inv.Revision))

	// A new pollable node in the site: upsert with its profile's secrets.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/nodes", body: map[string]any{
		"name": "a8", "vendor": "cisco", "role": "switch", "lifecycle": "live", "location": "par1-r1",
		"management_address": "10.0.0.8", "snmp_profile": "v2"}})
	ev := nextEvent(t, ch)
	if ev.name != "upsert" || ev.data["node"].(map[string]any)["name"] != "a8" ||
		ev.data["snmp_profile"].(map[string]any)["community"] != secretCommunity {
		t.Fatalf("event = %+v", ev)
	}
	// A node of another site: nothing. Then one of ours decommissioned:
	// delete.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/nodes", body: map[string]any{
		"name": "b2", "vendor": "cisco", "role": "switch", "lifecycle": "live", "location": "lon1",
		"management_address": "10.1.0.2", "snmp_profile": "v2"}})
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/nodes/a1", contentType: "application/merge-patch+json",
		body: `{"lifecycle":"decommissioned"}`})
	if ev := nextEvent(t, ch); ev.name != "delete" || ev.data["node"] != "a1" {
		t.Fatalf("event = %+v, want the delete of a1 (and nothing for b2)", ev)
	}
	// The profile its nodes use changes: profile event; one no node of
	// the site uses: nothing. Then a deleted node.
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/snmp-profiles/spare", contentType: "application/merge-patch+json",
		body: `{"port":1162}`})
	e.must(http.StatusOK, req{method: "PATCH", path: "/api/v1/snmp-profiles/v3", contentType: "application/merge-patch+json",
		body: `{"port":1163}`})
	if ev := nextEvent(t, ch); ev.name != "profile" || ev.data["snmp_profile"].(map[string]any)["name"] != "v3" {
		t.Fatalf("event = %+v, want the v3 profile", ev)
	}
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/nodes/a8"})
	if ev := nextEvent(t, ch); ev.name != "delete" || ev.data["node"] != "a8" {
		t.Fatalf("event = %+v", ev)
	}
	// A new rack under the site: the agent must resync.
	e.must(http.StatusCreated, req{method: "POST", path: "/api/v1/locations", body: map[string]any{"name": "par1-r2", "kind": "rack", "parent": "par1"}})
	if ev := nextEvent(t, ch); ev.name != "resync" {
		t.Fatalf("event = %+v, want resync", ev)
	}

	for _, q := range []string{"?site=par1", "?site=par1&revision=x", "?site=par1&revision=1&bogus=1"} {
		r := e.do(req{method: "GET", path: "/api/v1/agent/inventory/watch" + q})
		if r.status != http.StatusBadRequest {
			t.Errorf("watch%s: %d %s", q, r.status, r.body)
		}
	}
	if r := e.do(req{method: "GET", path: "/api/v1/agent/inventory/watch?site=eu&revision=1"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("watch of a region: %d %s", r.status, r.body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestInventoryWatchEndsOnShutdown: a collector that stops ends the
// agents' streams (with a resync) rather than waiting for them.
func TestInventoryWatchEndsOnShutdown(t *testing.T) {
	e := newEnv(t)
	e.seedAgent()
	_, _, body := e.inventory("?site=par1")
	var inv struct{ Revision int64 }
	if err := json.Unmarshal(body, &inv); err != nil {
		t.Fatal(err)
	}
	ch := e.watchInventory("?site=par1&revision=" + itoa(inv.Revision))
	e.api.Shutdown()
	if ev := nextEvent(t, ch); ev.name != "resync" || !strings.Contains(ev.data["reason"].(string), "shutting down") {
		t.Fatalf("event = %+v, want a resync", ev)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("the stream goes on after the resync")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
}
