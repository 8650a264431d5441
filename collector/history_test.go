package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

// runCollector starts a collector with cfg and stops it when the test ends
// (or when the returned function is called).
func runCollector(t *testing.T, cfg Config) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, testsupport.Logger(t))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return "http://" + c.Addr(), stop
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not the JSON expected: %v\n%s", r.status, err, r.body)
	}
}

func (r reply) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	r.json(t, &e)
	return e.Error.Code + ": " + e.Error.Message
}

func call(t *testing.T, method, url, contentType string, body []byte, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func get(t *testing.T, url string) reply { t.Helper(); return call(t, "GET", url, "", nil) }

func ingestBatch(t *testing.T, base string, b *wire.Batch) reply {
	t.Helper()
	body, err := wire.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return call(t, "POST", base+wire.IngestPath, wire.ContentType, body, "Content-Encoding", wire.ContentEncoding, wire.HeaderAgent, b.Agent)
}

// pollBatch is one poll of nodes r0..r{nodes-1}, 3 interfaces each;
// bps grows with seq.
func pollBatch(seq uint64, ts time.Time, nodes int) *wire.Batch {
	b := &wire.Batch{Agent: "par1-a", Seq: seq, Created: ts}
	for n := range nodes {
		node := fmt.Sprintf("r%d", n)
		b.Devices = append(b.Devices, model.DeviceSample{Node: node, Time: ts, Reachable: true, UptimeSeconds: 3600 + int64(seq), Interfaces: 3})
		for i := range 3 {
			in, out := float64((n+1)*1_000_000*(i+1))+float64(seq), float64(1000*(i+1))
			oper := model.IfUp
			if n == 0 && i == 1 && seq >= 3 {
				oper = model.IfDown
			}
			b.Samples = append(b.Samples, model.Sample{Node: node, Time: ts, IfIndex: i + 1, IfName: fmt.Sprintf("e%d", i),
				IntervalSeconds: 60, AdminStatus: model.IfUp, OperStatus: oper, SpeedBps: 1e9, Counter64: true,
				Rates: model.Rates{InBps: &in, OutBps: &out}})
		}
	}
	if seq == 3 {
		b.Events = append(b.Events, model.Event{Time: ts, Node: "r0", Kind: model.EventOperStatus, IfIndex: 2, IfName: "e1", From: "up", To: "down"})
	}
	return b
}

// TestHistoryEndToEnd runs the collector with ClickHouse down at start
// (503 meanwhile), then up: agent batches in through POST /api/v1/ingest,
// out through the history routes and the latest state; and again after a
// restart (duplicates dropped, latest state rebuilt).
func TestHistoryEndToEnd(t *testing.T) {
	etcd, _ := testsupport.EtcdServer(t)
	ch := testsupport.StartClickHouse(t)
	ch.Stop()
	cfg := DefaultConfig()
	cfg.DataDir = ""
	cfg.Listen = "127.0.0.1:0"
	cfg.Etcd.Endpoints = etcd.Endpoints()
	cfg.ClickHouse.Address = ch.Addr
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.ClickHouse.FlushDelay = 5 * time.Millisecond
	cfg.ClickHouse.RetentionInterval = 0
	base, stop := runCollector(t, cfg)
	api := base + "/api/v1"

	// ClickHouse is down: the collector serves, ingest and history say 503.
	now := time.Now().UTC().Truncate(time.Second)
	if r := ingestBatch(t, base, pollBatch(1, now.Add(-4*time.Minute), 2)); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("ingest with ClickHouse down: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r := get(t, api+"/history/events"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.errorMessage(t), "ClickHouse at "+ch.Addr) {
		t.Fatalf("history with ClickHouse down: %d %s", r.status, r.body)
	}
	for _, p := range []struct{ path, body string }{
		{"/locations", `{"name":"par1","kind":"site"}`},
		{"/locations", `{"name":"lon1","kind":"site"}`},
		{"/nodes", `{"name":"r0","vendor":"cisco","role":"router","location":"par1"}`},
		{"/nodes", `{"name":"r1","vendor":"cisco","role":"router","location":"par1"}`},
		{"/nodes", `{"name":"x9","vendor":"cisco","role":"router","location":"lon1"}`},
	} {
		if r := call(t, "POST", api+p.path, "application/json", []byte(p.body)); r.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", p.path, r.status, r.body)
		}
	}

	ch.Start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := ingestBatch(t, base, pollBatch(1, now.Add(-4*time.Minute), 2))
		if r.status == http.StatusOK {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("ingest once ClickHouse is up: %d %s", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for seq := uint64(2); seq <= 3; seq++ {
		if r := ingestBatch(t, base, pollBatch(seq, now.Add(-time.Duration(5-seq)*time.Minute), 2)); r.status != http.StatusOK {
			t.Fatalf("batch %d: %d %s", seq, r.status, r.body)
		}
	}

	checkHistory := func(t *testing.T) {
		t.Helper()
		var h struct {
			Node, IfName, Resolution, Step string
			Points                         []struct {
				TS         time.Time `json:"ts"`
				InBps      *float64  `json:"in_bps"`
				OutBps     *float64  `json:"out_bps"`
				OperStatus string    `json:"oper_status"`
			}
		}
		q := url.Values{"node": {"r0"}, "ifname": {"e1"}, "from": {"-1h"}, "to": {"now"}}
		get(t, api+"/history/interfaces?"+q.Encode()).json(t, &h)
		if h.Resolution != "raw" || len(h.Points) != 3 || *h.Points[0].InBps != 2_000_001 || h.Points[2].OperStatus != "down" ||
			!h.Points[0].TS.Equal(now.Add(-4*time.Minute)) {
			t.Errorf("interface history = %+v", h)
		}
		var ev struct {
			Events []struct {
				TS                        time.Time `json:"ts"`
				Type, Interface, From, To string
			} `json:"events"`
		}
		get(t, api+"/history/events?node=r0&type=oper_status,flap&from=-1h").json(t, &ev)
		if len(ev.Events) != 1 || ev.Events[0].Type != "oper_status" || ev.Events[0].Interface != "e1" || ev.Events[0].To != "down" ||
			!ev.Events[0].TS.Equal(now.Add(-2*time.Minute)) {
			t.Errorf("events = %+v", ev)
		}
		var top struct {
			Items []struct {
				Node, Interface string
				Value           float64
			} `json:"items"`
		}
		get(t, api+"/history/top?metric=in_bps&site=par1&n=2&from=-1h").json(t, &top)
		if len(top.Items) != 2 || top.Items[0].Node != "r1" || top.Items[0].Interface != "e2" || top.Items[1].Interface != "e1" {
			t.Errorf("top = %+v", top)
		}
		var av struct {
			Items []struct {
				Node    string
				Polls   int
				Percent float64
			} `json:"items"`
		}
		get(t, api+"/history/availability?site=par1&from=-1h").json(t, &av)
		if len(av.Items) != 2 || av.Items[0].Node != "r0" || av.Items[0].Polls != 3 || av.Items[0].Percent != 100 {
			t.Errorf("availability = %+v", av)
		}
		get(t, api+"/history/availability?site=lon1&from=-1h").json(t, &av)
		if len(av.Items) != 0 {
			t.Errorf("availability of lon1 = %+v", av)
		}
		var st struct {
			Node       string
			Reachable  bool
			LastPoll   time.Time `json:"last_poll"`
			Uptime     int64     `json:"uptime_seconds"`
			Interfaces []model.InterfaceState
		}
		get(t, api+"/nodes/r0/status").json(t, &st)
		if !st.Reachable || st.Uptime != 3603 || !st.LastPoll.Equal(now.Add(-2*time.Minute)) || len(st.Interfaces) != 3 ||
			st.Interfaces[1].OperStatus != model.IfDown || *st.Interfaces[2].InBps != 3_000_003 {
			t.Errorf("status of r0 = %+v", st)
		}
		var ifs struct {
			Node       string
			Interfaces []model.InterfaceState
		}
		get(t, api+"/nodes/r1/interfaces").json(t, &ifs)
		if ifs.Node != "r1" || len(ifs.Interfaces) != 3 || ifs.Interfaces[0].Name != "e0" || ifs.Interfaces[0].Index != 1 {
			t.Errorf("interfaces of r1 = %+v", ifs)
		}
		if r := get(t, api+"/nodes/x9/interfaces"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"interfaces":[]`) {
			t.Errorf("interfaces of x9 (never polled): %d %s", r.status, r.body)
		}
		if r := get(t, api+"/nodes/nope/interfaces"); r.status != http.StatusNotFound {
			t.Errorf("interfaces of an unknown node: %d %s", r.status, r.body)
		}
	}
	t.Run("served", checkHistory)

	// A restarted collector: the latest state is back at once, and a
	// replayed batch is acknowledged without being stored again.
	stop()
	base, _ = runCollector(t, cfg)
	api = base + "/api/v1"
	deadline = time.Now().Add(60 * time.Second)
	for {
		r := ingestBatch(t, base, pollBatch(2, now.Add(-3*time.Minute), 2))
		if r.status == http.StatusOK {
			if !strings.Contains(string(r.body), "duplicate") {
				t.Fatalf("replayed batch after restart: %s", r.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest after restart: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("after restart", checkHistory)
}

// TestHistoryWithoutClickHouse: the collector starts without history, and
// says so on the routes that need it.
func TestHistoryWithoutClickHouse(t *testing.T) {
	etcd, _ := testsupport.EtcdServer(t)
	cfg := DefaultConfig()
	cfg.DataDir = ""
	cfg.Listen = "127.0.0.1:0"
	cfg.Etcd.Endpoints = etcd.Endpoints()
	base, _ := runCollector(t, cfg)
	const want = `{"error":{"code":"unavailable","message":"no history store is configured: start the collector with --clickhouse"}}`
	for _, path := range []string{"/history/interfaces?node=r1&ifname=e0", "/history/events", "/history/top", "/history/availability"} {
		if r := get(t, base+"/api/v1"+path); r.status != http.StatusServiceUnavailable || string(r.body) != want {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if r := ingestBatch(t, base, pollBatch(1, time.Now(), 1)); r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.errorMessage(t), "--clickhouse") {
		t.Errorf("ingest: %d %s", r.status, r.body)
	}
}
