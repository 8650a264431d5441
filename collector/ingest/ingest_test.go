package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/latest"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// env is an ingest endpoint over a real ClickHouse, served over HTTP.
type env struct {
	t      *testing.T
	ch     *testsupport.ClickHouseServer
	store  *history.Store
	view   *latest.View
	ingest *Ingest
	srv    *httptest.Server
}

func historyConfig(addr string) history.Config {
	cfg := history.DefaultConfig()
	cfg.Address = addr
	cfg.RetentionInterval = 0
	cfg.FlushDelay = 5 * time.Millisecond
	cfg.DialTimeout = 2 * time.Second
	cfg.RetryAfter = 3 * time.Second
	return cfg
}

// newEnv starts ClickHouse and the endpoint; edit changes its config.
func newEnv(t *testing.T, edit ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, ch: testsupport.StartClickHouse(t)}
	e.restart(edit...)
	return e
}

// restart builds a new store, view and endpoint over the same ClickHouse,
// as a restarted collector does (the previous ones are closed).
func (e *env) restart(edit ...func(*Config)) {
	e.t.Helper()
	if e.srv != nil {
		e.srv.Close()
		e.ingest.Close()
		e.store.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := history.New(ctx, historyConfig(e.ch.Addr), history.Dependencies{Logger: testsupport.Logger(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = store
	e.t.Cleanup(func() { store.Close() })
	if e.view, err = latest.New(latest.DefaultConfig(), latest.Dependencies{}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.view.Rebuild(ctx, store); err != nil {
		e.t.Fatal(err)
	}
	cfg := DefaultConfig()
	for _, f := range edit {
		f(&cfg)
	}
	reg := prometheus.NewRegistry()
	in, err := New(ctx, cfg, Dependencies{History: store, Logger: testsupport.Logger(e.t), Registry: reg, Latest: e.view})
	if err != nil {
		e.t.Fatal(err)
	}
	e.ingest = in
	g := gin.New()
	g.POST(wire.IngestPath, in.Handle)
	srv := httptest.NewServer(g)
	e.srv = srv
	e.t.Cleanup(func() { srv.Close(); in.Close() })
}

// batch is a poll of nodes×ifaces interfaces at ts, with a device sample
// per node and one event.
func batch(agent string, seq uint64, ts time.Time, nodes, ifaces int) *wire.Batch {
	b := &wire.Batch{Agent: agent, Seq: seq, Created: ts}
	for n := range nodes {
		node := fmt.Sprintf("r%d", n)
		b.Devices = append(b.Devices, model.DeviceSample{Node: node, Time: ts, Reachable: true, UptimeSeconds: 1000, Interfaces: ifaces})
		for i := range ifaces {
			in, out := float64(1000*(i+1)+int(seq)), float64(500*(i+1))
			b.Samples = append(b.Samples, model.Sample{Node: node, Time: ts, IfIndex: i + 1, IfName: fmt.Sprintf("e%d", i),
				IntervalSeconds: 60, AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 1e9, Counter64: true,
				Rates: model.Rates{InBps: &in, OutBps: &out}})
		}
		b.Events = append(b.Events, model.Event{Time: ts, Node: node, Kind: model.EventReboot, Detail: "test"})
	}
	return b
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// post sends body with the contract's headers, changed by edit.
func (e *env) post(body []byte, agent string, edit ...func(*http.Request)) answer {
	e.t.Helper()
	return postTo(e.t, e.srv.URL, body, agent, edit...)
}

func postTo(t testing.TB, base string, body []byte, agent string, edit ...func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest("POST", base+wire.IngestPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.ContentEncoding)
	req.Header.Set(wire.HeaderAgent, agent)
	for _, f := range edit {
		f(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func encode(t testing.TB, b *wire.Batch) []byte {
	t.Helper()
	body, err := wire.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// count runs a count() query through ClickHouse's HTTP interface.
func (e *env) count(table string) int {
	e.t.Helper()
	q := url.Values{"query": {"SELECT count() FROM unet." + table}}
	resp, err := http.Get("http://" + e.ch.HTTPAddr + "/?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		e.t.Fatalf("count %s: %d %q", table, resp.StatusCode, raw)
	}
	return n
}

func (e *env) wantCounts(samples, devices, events int) {
	e.t.Helper()
	for table, want := range map[string]int{"interface_samples": samples, "device_samples": devices, "events": events} {
		if got := e.count(table); got != want {
			e.t.Errorf("%s: %d rows, want %d", table, got, want)
		}
	}
}

func status(a answer) string {
	s, _ := a.body["status"].(string)
	return s
}

func TestStoresOnceAndDropsDuplicatesAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	ts := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	b1 := encode(t, batch("par1-a", 1, ts, 3, 4))
	if a := e.post(b1, "par1-a"); a.status != http.StatusOK || status(a) != "stored" {
		t.Fatalf("first post: %d %v", a.status, a.body)
	}
	e.wantCounts(12, 3, 3)
	// The latest view has what was stored.
	st, ok := e.view.Get("r1")
	if !ok || !st.Reachable || len(st.Interfaces) != 4 || st.Interfaces[3].Name != "e3" || *st.Interfaces[3].InBps != 4001 || !st.LastPoll.Equal(ts) {
		t.Fatalf("latest state of r1 = %+v", st)
	}

	// The agent sends it again (a lost answer): acknowledged, not stored.
	if a := e.post(b1, "par1-a"); a.status != http.StatusOK || status(a) != "duplicate" {
		t.Fatalf("second post: %d %v", a.status, a.body)
	}
	e.wantCounts(12, 3, 3)

	// A restarted collector knows it from ClickHouse, and its latest view
	// is rebuilt from there.
	e.restart()
	if st, ok := e.view.Get("r2"); !ok || len(st.Interfaces) != 4 || !st.Reachable || st.UptimeSeconds != 1000 {
		t.Fatalf("latest state of r2 after restart = %+v", st)
	}
	if a := e.post(b1, "par1-a"); a.status != http.StatusOK || status(a) != "duplicate" {
		t.Fatalf("post after restart: %d %v", a.status, a.body)
	}
	// Another agent's batch 1 is another batch; this agent's batch 2 too.
	if a := e.post(encode(t, batch("par1-b", 1, ts, 1, 1)), "par1-b"); a.status != http.StatusOK || status(a) != "stored" {
		t.Fatalf("other agent: %d %v", a.status, a.body)
	}
	if a := e.post(encode(t, batch("par1-a", 2, ts.Add(time.Minute), 3, 4)), "par1-a"); a.status != http.StatusOK || status(a) != "stored" {
		t.Fatalf("batch 2: %d %v", a.status, a.body)
	}
	e.wantCounts(12+1+12, 3+1+3, 3+1+3)
	if got := counterValue(t, e.ingest.metrics.batches.WithLabelValues("duplicate")); got != 1 {
		t.Errorf("duplicates counted since restart: %v, want 1", got)
	}
}

func TestSameBatchConcurrentlyIsStoredOnce(t *testing.T) {
	e := newEnv(t)
	body := encode(t, batch("a", 7, time.Now().UTC().Add(-time.Minute), 2, 10))
	var wg sync.WaitGroup
	answers := make([]answer, 8)
	for i := range answers {
		wg.Go(func() { answers[i] = e.post(body, "a") })
	}
	wg.Wait()
	stored := 0
	for _, a := range answers {
		if a.status != http.StatusOK {
			t.Fatalf("answer %d %v", a.status, a.body)
		}
		if status(a) == "stored" {
			stored++
		}
	}
	// Requests that waited on the first write answer "stored" with it or
	// "duplicate" after it: the rows are there once either way.
	if stored < 1 {
		t.Errorf("no answer says stored: %v", answers)
	}
	e.wantCounts(20, 2, 2)
}

func TestRefusesBadRequests(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBodyBytes = 64 << 10; c.MaxBatchRows = 1000 })
	ts := time.Now().UTC().Add(-time.Minute)
	good := encode(t, batch("a", 1, ts, 1, 2))
	// A body of random bytes that zstd cannot shrink: over 64 KiB.
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		agent  string
		edit   func(*http.Request)
		status int
		code   string
		reason string
		msg    string
	}{
		{"json content type", good, "a", func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
			415, "unsupported_media_type", "content_type", "Content-Type must be"},
		{"other protobuf message", good, "a", func(r *http.Request) { r.Header.Set("Content-Type", "application/x-protobuf;proto=other.Msg") },
			415, "unsupported_media_type", "content_type", "Content-Type must be"},
		{"no encoding", good, "a", func(r *http.Request) { r.Header.Del("Content-Encoding") },
			415, "unsupported_media_type", "content_encoding", "Content-Encoding must be zstd, got none"},
		{"gzip", good, "a", func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") },
			415, "unsupported_media_type", "content_encoding", "Content-Encoding must be zstd"},
		{"no agent header", good, "", nil, 400, "bad_request", "no_agent", "X-Unet-Agent header is missing"},
		{"agent mismatch", good, "b", nil, 400, "bad_request", "agent_mismatch", `from agent "a" but the X-Unet-Agent header says "b"`},
		{"garbage", []byte("not a batch"), "a", nil, 400, "bad_request", "malformed", "malformed"},
		{"empty", nil, "a", nil, 400, "bad_request", "malformed", "malformed"},
		{"body over the limit", big, "a", nil, 413, "payload_too_large", "too_large", "larger than"},
		{"too many rows", encode(t, batch("a", 2, ts, 10, 100)), "a", nil, 413, "payload_too_large", "too_many_rows", "send smaller batches"},
		{"sample without interface name", encode(t, func() *wire.Batch {
			b := batch("a", 3, ts, 1, 1)
			b.Samples[0].IfName = ""
			return b
		}()), "a", nil, 400, "bad_request", "invalid", "no node or interface name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*http.Request)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			a := e.post(tc.body, tc.agent, edits...)
			eo, _ := a.body["error"].(map[string]any)
			if a.status != tc.status || eo["code"] != tc.code || !strings.Contains(fmt.Sprint(eo["message"]), tc.msg) {
				t.Fatalf("answer %d %v, want %d %s with %q", a.status, a.body, tc.status, tc.code, tc.msg)
			}
			if a.header.Get("Retry-After") != "" {
				t.Errorf("Retry-After on a refused batch: %q", a.header.Get("Retry-After"))
			}
			if got := counterValue(t, e.ingest.metrics.refused.WithLabelValues(tc.reason)); got < 1 {
				t.Errorf("refused{reason=%q} = %v", tc.reason, got)
			}
		})
	}
	e.wantCounts(0, 0, 0)
	// The good batch still goes in: nothing of the refusals stuck.
	if a := e.post(good, "a"); a.status != http.StatusOK {
		t.Fatalf("good batch: %d %v", a.status, a.body)
	}
}

func TestClickHouseDownAnswers503ThenStores(t *testing.T) {
	e := newEnv(t)
	ts := time.Now().UTC().Add(-time.Minute)
	if a := e.post(encode(t, batch("a", 1, ts, 1, 2)), "a"); a.status != http.StatusOK {
		t.Fatalf("before the outage: %d %v", a.status, a.body)
	}
	e.ch.Stop()
	b2 := encode(t, batch("a", 2, ts.Add(time.Minute), 1, 2))
	a := e.post(b2, "a")
	eo, _ := a.body["error"].(map[string]any)
	if a.status != http.StatusServiceUnavailable || eo["code"] != "unavailable" || a.header.Get("Retry-After") != "3" {
		t.Fatalf("ClickHouse down: %d %v Retry-After %q, want 503 unavailable with Retry-After 3", a.status, a.body, a.header.Get("Retry-After"))
	}
	t.Logf("down: %v", eo["message"])

	e.ch.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a = e.post(b2, "a")
		if a.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		if a.status != http.StatusServiceUnavailable {
			t.Fatalf("while ClickHouse comes back: %d %v", a.status, a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if a.status != http.StatusOK || status(a) != "stored" {
		t.Fatalf("after ClickHouse is back: %d %v", a.status, a.body)
	}
	e.wantCounts(4, 2, 2)
}

// TestBusyAnswers429: with every write slot taken (a request whose body
// has not arrived yet holds one), the next request waits AcquireTimeout
// and is told to come back.
func TestBusyAnswers429(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxConcurrentWrites = 1
		c.AcquireTimeout = 100 * time.Millisecond
		c.RetryAfter = 2 * time.Second
	})
	body := encode(t, batch("a", 1, time.Now().UTC().Add(-time.Minute), 1, 1))
	pr, pw := io.Pipe()
	slow := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.srv.URL+wire.IngestPath, pr)
		req.Header.Set("Content-Type", wire.ContentType)
		req.Header.Set("Content-Encoding", wire.ContentEncoding)
		req.Header.Set(wire.HeaderAgent, "a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- answer{}
			return
		}
		resp.Body.Close()
		slow <- answer{status: resp.StatusCode}
	}()
	for deadline := time.Now().Add(10 * time.Second); len(e.ingest.slots) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never took its slot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a := e.post(encode(t, batch("a", 2, time.Now().UTC().Add(-time.Minute), 1, 1)), "a")
	eo, _ := a.body["error"].(map[string]any)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "2" || eo["code"] != "too_many_requests" {
		t.Fatalf("busy: %d %v Retry-After %q", a.status, a.body, a.header.Get("Retry-After"))
	}
	// The slow body arrives: that batch is stored.
	if _, err := pw.Write(body); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if a := <-slow; a.status != http.StatusOK {
		t.Fatalf("slow request: %d", a.status)
	}
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	m := &dto.Metric{}
	if err := c.Write(m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestSlowBodyAnswers408: a sender whose body does not come gives its slot
// back after ReadTimeout.
func TestSlowBodyAnswers408(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxConcurrentWrites = 1; c.ReadTimeout = 200 * time.Millisecond })
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, _ := http.NewRequest("POST", e.srv.URL+wire.IngestPath, pr)
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.ContentEncoding)
	req.Header.Set(wire.HeaderAgent, "a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stuck body: %s, want 408", resp.Status)
	}
	if a := e.post(encode(t, batch("a", 1, time.Now().UTC().Add(-time.Minute), 1, 1)), "a"); a.status != http.StatusOK {
		t.Fatalf("next batch: %d %v", a.status, a.body)
	}
}
