package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/ingest"
	"github.com/unet-project/unet/collector/latest"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

// End-to-end tests of the history commands: the real unetctl binary
// against the real collector API, its history on a real ClickHouse and
// its latest-state view rebuilt from it.

// historyCollector is a collector with a history store.
type historyCollector struct {
	*collector
	history *history.Store
	latest  *latest.View
}

func startHistoryCollector(t *testing.T) *historyCollector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := history.DefaultConfig()
	cfg.Address = testsupport.ClickHouse(t)
	cfg.RetentionInterval = 0
	cfg.FlushDelay = 5 * time.Millisecond
	hs, err := history.New(ctx, cfg, history.Dependencies{Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hs.Close() })
	view, err := latest.New(latest.DefaultConfig(), latest.Dependencies{Logger: testsupport.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ing, err := ingest.New(ctx, ingest.DefaultConfig(), ingest.Dependencies{History: hs, Latest: view, Logger: testsupport.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ing.Close) // before the store closes: cleanups run last first
	store := desired.New(testsupport.Etcd(t), desired.DefaultConfig(), testsupport.Logger(t))
	a, err := api.New(api.DefaultConfig(), api.Dependencies{
		Store: store, Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry(),
		History: func() (*history.Store, error) { return hs, nil },
		Latest:  view.Get,
		Ingest:  ing.Handle,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &historyCollector{collector: &collector{t: t, url: srv.URL, home: t.TempDir()}, history: hs, latest: view}
}

// observed is what the test writes into the history: an hour and a half
// of one-minute polls of r1 and sw1 (the walkthrough's nodes), up to the
// minute before now.
type observed struct {
	start time.Time // the first poll
	polls int
	// r1 Gi0/0/1 is down at polls downFrom..downTo-1; r1 misses polls
	// missFrom..missTo-1 (unreachable).
	downFrom, downTo, missFrom, missTo int
}

func (o observed) at(i int) time.Time { return o.start.Add(time.Duration(i) * time.Minute) }

// r1In is r1 Gi0/0/1's inbound rate at poll i; outbound is half of it.
func r1In(i int) float64 { return 100e6 + float64(i)*1e6 }

func (o observed) write(t *testing.T, c *historyCollector) {
	t.Helper()
	rate := func(v float64) *float64 { return &v }
	b := history.Batch{Agent: "agent-par1", Seq: 1}
	for i := range o.polls {
		ts := o.at(i)
		missed := i >= o.missFrom && i < o.missTo
		dev := model.DeviceSample{Node: "r1", Time: ts, Reachable: !missed, UptimeSeconds: int64(3600 + 60*i), Interfaces: 2}
		if missed {
			dev = model.DeviceSample{Node: "r1", Time: ts, Error: "timeout"}
		}
		b.DeviceSamples = append(b.DeviceSamples, dev, model.DeviceSample{Node: "sw1", Time: ts, Reachable: true, Interfaces: 1})
		b.Samples = append(b.Samples, model.Sample{Node: "sw1", Time: ts, IfIndex: 1, IfName: "Ethernet1", IntervalSeconds: 60,
			AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 10e9, Counter64: true,
			Rates: model.Rates{InBps: rate(5e6), OutBps: rate(7e6), InErrorsRate: rate(0), OutErrorsRate: rate(0)}})
		if missed {
			continue
		}
		oper := model.IfUp
		in, out := rate(r1In(i)), rate(r1In(i)/2)
		if i >= o.downFrom && i < o.downTo {
			oper, in, out = model.IfDown, rate(0), rate(0)
		}
		b.Samples = append(b.Samples,
			model.Sample{Node: "r1", Time: ts, IfIndex: 1, IfName: "Gi0/0/1", IntervalSeconds: 60, AdminStatus: model.IfUp, OperStatus: oper,
				SpeedBps: 1e9, Counter64: true, Rates: model.Rates{InBps: in, OutBps: out, InErrorsRate: rate(0), OutErrorsRate: rate(0)}},
			model.Sample{Node: "r1", Time: ts, IfIndex: 2, IfName: "Gi0/0/0", IntervalSeconds: 60, AdminStatus: model.IfUp, OperStatus: model.IfUp,
				SpeedBps: 1e9, Counter64: true, Rates: model.Rates{InBps: rate(1e6), OutBps: rate(2e6), InErrorsRate: rate(0), OutErrorsRate: rate(0)}})
	}
	b.Events = []model.Event{
		{Time: o.at(o.downFrom), Node: "r1", Kind: model.EventOperStatus, IfIndex: 1, IfName: "Gi0/0/1", From: "up", To: "down"},
		{Time: o.at(o.downTo), Node: "r1", Kind: model.EventOperStatus, IfIndex: 1, IfName: "Gi0/0/1", From: "down", To: "up"},
		{Time: o.at(o.missFrom), Node: "r1", Kind: model.EventReachability, From: "reachable", To: "unreachable", Detail: "timeout"},
		{Time: o.at(o.missTo), Node: "r1", Kind: model.EventReachability, From: "unreachable", To: "reachable"},
		{Time: o.at(5), Node: "r1", Kind: model.EventReboot, Detail: "sysUpTime went back"}, // more than an hour ago
		{Time: o.at(o.downFrom), Node: "sw1", Kind: model.EventFlap, IfIndex: 1, IfName: "Ethernet1", From: "up", To: "up"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.history.Write(ctx, b); err != nil {
		t.Fatalf("writing the history: %v", err)
	}
	// As a collector does at start: the latest state from ClickHouse.
	if err := c.latest.Rebuild(ctx, c.history); err != nil {
		t.Fatal(err)
	}
}

func TestE2EHistory(t *testing.T) {
	c := startHistoryCollector(t)
	c.seed()
	// Polls on 10-minute boundaries, so that 10-minute steps hold whole
	// groups of them; the last one is at most 10 minutes old.
	start := time.Now().UTC().Truncate(10 * time.Minute).Add(-90 * time.Minute)
	o := observed{start: start, polls: 90, downFrom: 60, downTo: 63, missFrom: 70, missTo: 72}
	o.write(t, c)

	t.Run("interface json: raw samples", func(t *testing.T) {
		var points []map[string]any
		c.mustJSON(&points, "history", "interface", "r1", "Gi0/0/1", "--since", "1h")
		// The last hour: polls 30..89 (or fewer, by the time since the
		// last), less the two r1 missed.
		if len(points) < 47 || len(points) > 58 || points[len(points)-1]["ts"] != o.at(89).Format(time.RFC3339) {
			t.Fatalf("%d points, want 47 to 58 up to poll 89: %v", len(points), points)
		}
		byTime := map[string]map[string]any{}
		for i, p := range points {
			if keys := sortedKeys(p); !reflect.DeepEqual(keys, []string{"in_bps", "oper_status", "out_bps", "ts"}) {
				t.Fatalf("point %d has keys %v", i, keys)
			}
			byTime[p["ts"].(string)] = p
		}
		up := byTime[o.at(50).Format(time.RFC3339)]
		if up == nil || up["in_bps"] != r1In(50) || up["out_bps"] != r1In(50)/2 || up["oper_status"] != "up" {
			t.Errorf("poll 50: %v", up)
		}
		if down := byTime[o.at(61).Format(time.RFC3339)]; down == nil || down["oper_status"] != "down" || down["in_bps"] != 0.0 {
			t.Errorf("poll 61 (down): %v", down)
		}
		if byTime[o.at(70).Format(time.RFC3339)] != nil {
			t.Error("a point for a missed poll")
		}
	})

	t.Run("interface json: steps", func(t *testing.T) {
		var points []map[string]any
		c.mustJSON(&points, "history", "interface", "r1", "Gi0/0/1", "--from", o.at(30).Format(time.RFC3339), "--to", o.at(90).Format(time.RFC3339), "--step", "10m")
		if len(points) != 6 {
			t.Fatalf("%d points of 10m in an hour: %v", len(points), points)
		}
		// Polls 30..39 average to the rate of poll 34.5.
		if points[0]["ts"] != o.at(30).Format(time.RFC3339) || points[0]["in_bps"] != r1In(30)+4.5e6 || points[0]["oper_status"] != "up" {
			t.Errorf("first step: %v", points[0])
		}
		// Polls 60..69: down at 60-62, up again at the end of the step.
		if points[3]["oper_status"] != "up" || points[3]["in_bps"].(float64) >= r1In(60) {
			t.Errorf("the step with the outage: %v", points[3])
		}
	})

	t.Run("interface table", func(t *testing.T) {
		out := c.mustEnv([]string{"COLUMNS=90", "TZ=UTC"}, "history", "interface", "r1", "Gi0/0/1", "--since", "1h")
		for _, want := range []string{"r1 Gi0/0/1  ", "raw samples)", "Mbit/s┤", "── in   ━━ out   times in UTC", "TIME", "OPER", "rows: each row averages 2"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		// Rows pair the points: the outage is "up→down" or "down→up" by
		// where the pairs start, but it shows.
		if _, table, _ := strings.Cut(out, "TIME"); !strings.Contains(table, "down") {
			t.Errorf("the outage is not in the table:\n%s", out)
		}
	})

	t.Run("events", func(t *testing.T) {
		var events []map[string]any
		c.mustJSON(&events, "events", "r1", "--since", "1h")
		want := []map[string]any{
			{"ts": o.at(72).Format(time.RFC3339), "type": "reachability", "interface": "", "from": "unreachable", "to": "reachable"},
			{"ts": o.at(70).Format(time.RFC3339), "type": "reachability", "interface": "", "from": "reachable", "to": "unreachable", "detail": "timeout"},
			{"ts": o.at(63).Format(time.RFC3339), "type": "oper_status", "interface": "Gi0/0/1", "from": "down", "to": "up"},
			{"ts": o.at(60).Format(time.RFC3339), "type": "oper_status", "interface": "Gi0/0/1", "from": "up", "to": "down"},
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("events r1 --since 1h:\n got %v\nwant %v", events, want)
		}
		c.mustJSON(&events, "events", "r1", "--since", "2h", "--type", "reboot,flap")
		if len(events) != 1 || events[0]["type"] != "reboot" || events[0]["detail"] != "sysUpTime went back" {
			t.Errorf("events --type reboot,flap: %v", events)
		}
		c.mustJSON(&events, "events", "r1", "--since", "1h", "--interface", "Gi0/0/1", "--type", "oper_status")
		if len(events) != 2 {
			t.Errorf("events --interface: %v", events)
		}
		table := c.mustEnv([]string{"TZ=UTC"}, "events", "r1")
		if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "TIME") ||
			!strings.Contains(lines[3], o.at(63).Format("2006-01-02 15:04:05")+"  oper_status") {
			t.Errorf("events table:\n%s", table)
		}
	})

	t.Run("top", func(t *testing.T) {
		var top []map[string]any
		c.mustJSON(&top, "history", "top", "--metric", "in_bps", "--site", "par1", "--since", "1h")
		if len(top) != 3 || top[0]["node"] != "r1" || top[0]["interface"] != "Gi0/0/1" || top[1]["node"] != "sw1" || top[2]["interface"] != "Gi0/0/0" {
			t.Fatalf("top in_bps: %v", top)
		}
		c.mustJSON(&top, "history", "top", "--metric", "out_bps", "--since", "1h", "-n", "1")
		if len(top) != 1 || top[0]["node"] != "r1" {
			t.Errorf("top out_bps -n 1: %v", top)
		}
		if out := c.must("history", "top", "--metric", "utilisation", "--since", "1h"); !strings.Contains(out, "UTILISATION") || !strings.Contains(out, " %") {
			t.Errorf("top utilisation:\n%s", out)
		}
	})

	t.Run("availability", func(t *testing.T) {
		var av []map[string]any
		c.mustJSON(&av, "history", "availability", "r1", "--since", "24h")
		if len(av) != 1 || av[0]["node"] != "r1" || av[0]["polls"] != 90.0 || av[0]["reachable_polls"] != 88.0 {
			t.Fatalf("availability r1: %v", av)
		}
		c.mustJSON(&av, "history", "availability", "--site", "par1")
		if len(av) != 2 || av[1]["node"] != "sw1" || av[1]["percent"] != 100.0 {
			t.Errorf("availability --site par1: %v", av)
		}
		if out := c.must("history", "availability", "r1"); !strings.Contains(out, "97.77 %") {
			t.Errorf("availability table:\n%s", out)
		}
	})

	t.Run("node interfaces", func(t *testing.T) {
		var ifs []model.InterfaceState
		c.mustJSON(&ifs, "node", "interfaces", "r1")
		if len(ifs) != 2 || ifs[0].Name != "Gi0/0/1" || ifs[0].OperStatus != model.IfUp || ifs[0].InBps == nil || *ifs[0].InBps != r1In(89) {
			t.Errorf("node interfaces r1: %+v", ifs)
		}
		if out := c.must("node", "interfaces", "r1"); !strings.Contains(out, "Gi0/0/0") || !strings.Contains(out, "189.0M") {
			t.Errorf("node interfaces table:\n%s", out)
		}
		if out := c.must("__complete", "history", "interface", "r1", "Gi0/0/"); !strings.HasPrefix(out, "Gi0/0/1\tup\nGi0/0/0\tup\n") {
			t.Errorf("interface completion:\n%s", out)
		}
	})

	t.Run("through the ingest endpoint", func(t *testing.T) {
		// A poll after the others (and surely before now), as an agent
		// sends it: r1 Gi0/0/1 went down.
		ts := o.at(o.polls - 1).Add(30 * time.Second)
		zero := 0.0
		c.ingest(t, &wire.Batch{Agent: "agent-par1", Seq: 2, Created: ts,
			Devices: []model.DeviceSample{{Node: "r1", Time: ts, Reachable: true, Interfaces: 2}},
			Samples: []model.Sample{{Node: "r1", Time: ts, IfIndex: 1, IfName: "Gi0/0/1", IntervalSeconds: 60, AdminStatus: model.IfUp,
				OperStatus: model.IfDown, SpeedBps: 1e9, Counter64: true, Rates: model.Rates{InBps: &zero, OutBps: &zero}}},
			Events: []model.Event{{Time: ts, Node: "r1", Kind: model.EventOperStatus, IfIndex: 1, IfName: "Gi0/0/1", From: "up", To: "down"}},
		})
		var ifs []model.InterfaceState
		c.mustJSON(&ifs, "node", "interfaces", "r1")
		if len(ifs) != 2 || ifs[0].OperStatus != model.IfDown {
			t.Errorf("node interfaces after the batch: %+v", ifs)
		}
		var points []map[string]any
		c.mustJSON(&points, "history", "interface", "r1", "Gi0/0/1", "--since", "1h")
		if last := points[len(points)-1]; last["ts"] != ts.Format(time.RFC3339) || last["oper_status"] != "down" {
			t.Errorf("the last point: %v", last)
		}
		var events []map[string]any
		c.mustJSON(&events, "events", "r1", "--since", "1h", "--type", "oper_status")
		if len(events) != 3 || events[0]["ts"] != ts.Format(time.RFC3339) || events[0]["to"] != "down" {
			t.Errorf("events after the batch: %v", events)
		}
	})

	t.Run("errors", func(t *testing.T) {
		c.run("history", "interface", "r9", "Gi0/0/1").wantCode(t, exitError, "not_found", "r9")
		c.run("events", "r1", "--since", "3000d").wantCode(t, exitError, "longer than")
		c.run("history", "top", "--site", "nowhere").wantCode(t, exitError, "nowhere")
	})
}

// TestE2EHistoryWithoutClickHouse: a collector without a history store
// says so, and unetctl passes it on in one line.
func TestE2EHistoryWithoutClickHouse(t *testing.T) {
	c := startCollector(t)
	c.seed()
	c.run("history", "interface", "r1", "Gi0/0/1").wantCode(t, exitError, "no history store is configured", "--clickhouse")
	c.run("events", "r1").wantCode(t, exitError, "no history store is configured")
	var ifs []json.RawMessage
	c.mustJSON(&ifs, "node", "interfaces", "r1")
	if len(ifs) != 0 {
		t.Errorf("interfaces of a node never polled: %s", ifs)
	}
}

// ingest posts a batch to the ingest endpoint as an agent does.
func (c *historyCollector) ingest(t *testing.T, b *wire.Batch) {
	t.Helper()
	body, err := wire.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", c.url+wire.IngestPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.ContentEncoding)
	req.Header.Set(wire.HeaderAgent, b.Agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %s", resp.Status)
	}
}

// mustEnv is must with more environment variables.
func (c *collector) mustEnv(env []string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"UNET_SERVER=" + c.url, "HOME=" + c.home}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := result{code: 0}
	if err := cmd.Run(); err != nil {
		r.code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
	}
	r.out, r.err = out.String(), errb.String()
	if r.code != 0 {
		c.t.Fatalf("unetctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}
