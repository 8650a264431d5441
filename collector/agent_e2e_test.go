package collector

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// TestAgentToHistory runs the whole chain in one process: simulated
// devices polled by a real agent, which streams to a real collector over
// a real ClickHouse; what the devices show comes back through the
// collector's latest state and history. ClickHouse then goes away for a
// while: the agent spools, replays, and every batch ends up stored once.
func TestAgentToHistory(t *testing.T) {
	etcd, _ := testsupport.EtcdServer(t)
	ch := testsupport.StartClickHouse(t)
	cfg := DefaultConfig()
	cfg.DataDir = ""
	cfg.Listen = "127.0.0.1:0"
	cfg.Etcd.Endpoints = etcd.Endpoints()
	cfg.ClickHouse.Address = ch.Addr
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.ClickHouse.FlushDelay = 10 * time.Millisecond
	cfg.ClickHouse.RetryAfter = time.Second
	cfg.ClickHouse.RetentionInterval = 0
	base, _ := runCollector(t, cfg)
	api := base + "/api/v1"

	const community = "e2e-c0mmunity"
	simCfg := snmpsim.DefaultConfig()
	simCfg.Base = netip.MustParseAddr("127.29.0.1")
	simCfg.Devices, simCfg.Port, simCfg.Seed = 4, 0, 5
	simCfg.Profile.Community = community
	simCfg.Profile.Interfaces = 8
	// Cabled interfaces flap: events to find in the history.
	simCfg.Profile.FlapEvery, simCfg.Profile.FlapDuration, simCfg.Profile.FlapFraction = 3*time.Second, 1500*time.Millisecond, 1
	sim, err := snmpsim.New(simCfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	if err := sim.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scancel(); sim.Close() })

	client, err := apiclient.New(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateLocation(ctx, model.Location{Name: "e2e1", Kind: model.KindSite}); err != nil {
		t.Fatal(err)
	}
	retries := 0
	if _, err := client.CreateSNMPProfile(ctx, model.SNMPProfile{Name: "e2e-v2", Version: model.SNMPv2c, Community: community,
		Port: sim.Port(), Timeout: model.Duration(500 * time.Millisecond), Retries: &retries, Interval: model.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	devs := sim.Devices()
	for _, d := range devs {
		if _, err := client.CreateNode(ctx, model.Node{Name: d.Name, Vendor: model.VendorGeneric, Role: model.RoleRouter,
			Lifecycle: model.LifecycleLive, ManagementAddress: d.Addr.String(), Location: "e2e1", SNMPProfile: "e2e-v2"}); err != nil {
			t.Fatal(err)
		}
	}

	acfg := agent.DefaultConfig()
	acfg.Collector, acfg.Sites, acfg.DataDir, acfg.Name, acfg.Listen = base, []string{"e2e1"}, t.TempDir(), "e2e-agent", ""
	acfg.Stream.FlushInterval = 200 * time.Millisecond
	acfg.Stream.Sender.BackoffMin, acfg.Stream.Sender.BackoffMax = 50*time.Millisecond, 500*time.Millisecond
	acfg.Stream.Sender.MaxRetryAfter = time.Second
	areg := prometheus.NewRegistry()
	ag, err := agent.New(acfg, agent.Dependencies{Logger: testsupport.Logger(t), Registry: areg})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	adone := make(chan error, 1)
	go func() { adone <- ag.Run(actx) }()
	t.Cleanup(func() {
		acancel()
		if err := <-adone; err != nil {
			t.Errorf("agent: %v", err)
		}
	})

	// The latest state: every device reachable, its interfaces with rates.
	eventually(t, "every device's state with rates", func() bool {
		for _, d := range devs {
			var st struct {
				Reachable  bool
				Interfaces []model.InterfaceState
			}
			if r := get(t, api+"/nodes/"+d.Name+"/status"); r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil {
				return false
			}
			if !st.Reachable || len(st.Interfaces) != d.Interfaces || st.Interfaces[0].InBps == nil {
				return false
			}
		}
		return true
	})
	// The fields of the agent's `--once` output are there too (issue 5):
	// the system group and the interfaces' labels, which the agent reads
	// at its first poll of a device, so they came with the rates.
	for _, d := range devs {
		var st model.DeviceState
		get(t, api+"/nodes/"+d.Name+"/status").json(t, &st)
		if st.SysName != d.SysName || st.SysDescr == "" || st.SysObjectID == "" || st.Vendor == "" {
			t.Errorf("%s: sys_name %q (want %q), sys_descr %q, sys_object_id %q, vendor %q",
				d.Name, st.SysName, d.SysName, st.SysDescr, st.SysObjectID, st.Vendor)
		}
		for _, i := range st.Interfaces {
			if i.Descr == "" || i.Type == "" {
				t.Errorf("%s interface %s: descr %q, type %q", d.Name, i.Name, i.Descr, i.Type)
			}
		}
	}
	// History: the first interface of the first device over time.
	var ifs struct{ Interfaces []model.InterfaceState }
	get(t, api+"/nodes/"+devs[0].Name+"/interfaces").json(t, &ifs)
	q := url.Values{"node": {devs[0].Name}, "ifname": {ifs.Interfaces[0].Name}, "from": {"-10m"}}
	eventually(t, "interface history with rates", func() bool {
		var h struct {
			Points []struct {
				InBps *float64 `json:"in_bps"`
			}
		}
		get(t, api+"/history/interfaces?"+q.Encode()).json(t, &h)
		n := 0
		for _, p := range h.Points {
			if p.InBps != nil {
				n++
			}
		}
		return n >= 2
	})
	eventually(t, "flaps in the events", func() bool {
		var ev struct{ Events []json.RawMessage }
		get(t, api+"/history/events?type=oper_status,flap&from=-10m").json(t, &ev)
		return len(ev.Events) > 0
	})
	var av struct {
		Items []struct {
			Node    string
			Percent float64
		}
	}
	get(t, api+"/history/availability?site=e2e1&from=-10m").json(t, &av)
	if len(av.Items) != len(devs) || av.Items[0].Percent != 100 {
		t.Errorf("availability = %+v", av)
	}

	// ClickHouse goes away: the agent is told 503 and keeps its batches;
	// back, they all arrive, once.
	stored := func() (batches, last int) {
		row := chQuery(t, ch, "SELECT count(DISTINCT seq), max(seq) FROM unet.ingested_batches WHERE state = 'done' AND agent = 'e2e-agent'")
		f := strings.Fields(row)
		batches, _ = strconv.Atoi(f[0])
		last, _ = strconv.Atoi(f[1])
		return batches, last
	}
	_, before := stored()
	ch.Stop()
	eventually(t, "batches waiting in the agent's spool", func() bool { return metric(t, areg, "unet_spool_pending_batches") >= 5 })
	ch.Start()
	eventually(t, "the spooled batches stored after the outage", func() bool {
		n, last := stored()
		// Every number up to the last one stored, the outage's included.
		return n == last && last > before+5 && metric(t, areg, "unet_spool_pending_batches") <= 1
	})
	if got := chQuery(t, ch, "SELECT count() - uniqExact(node, ts) FROM unet.device_samples"); got != "0" {
		t.Errorf("%s device samples stored twice", got)
	}
	if got := metric(t, areg, "unet_sender_dead_letters_total"); got != 0 {
		t.Errorf("%v batches refused by the collector", got)
	}
}

// eventually waits until cond holds; tests wait for events, they do not
// assert on speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chQuery runs a query through ClickHouse's HTTP interface and returns
// its answer (TSV), trimmed.
func chQuery(t *testing.T, ch *testsupport.ClickHouseServer, query string) string {
	t.Helper()
	resp, err := http.Get("http://" + ch.HTTPAddr + "/?" + url.Values{"query": {query}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", query, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// metric sums a metric's values in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
