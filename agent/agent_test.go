package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// TestOnce polls simulated devices (v2c and v3 authPriv) through an
// inventory read from the real collector API, and checks the states
// against what the simulator says the devices are.
func TestOnce(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	sim := startSim(t, "127.21.0.1", 3, nil)
	seed(t, c, sim, seedOptions{site: "par1", v3Nodes: 1})
	ctx := context.Background()
	// A planned node: the collector leaves it out. A live one where no
	// device answers: unreachable, polled once.
	planned := node("planned-1", "127.21.0.100", "par1", "par1-v2")
	planned.Lifecycle = model.LifecyclePlanned
	for _, n := range []model.Node{planned, node("dead-1", "127.21.0.200", "par1", "par1-v2")} {
		if _, err := c.client.CreateNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	a, reg, _ := newAgent(t, testConfig(t, c, "par1"))
	states, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 4 {
		t.Fatalf("%d states, want the 3 devices and dead-1: %+v", len(states), states)
	}
	if dead := states[0]; dead.Node != "dead-1" || dead.Reachable || dead.Error == "" {
		t.Errorf("dead-1 = %+v", dead)
	}
	for i, info := range sim.Devices() {
		st := states[i+1]
		if st.Node != info.Name || !st.Reachable || st.SysName != info.SysName || st.SysDescr == "" ||
			st.SysObjectID == "" || st.UptimeSeconds <= 0 {
			t.Errorf("%s: state %+v", info.Name, st)
		}
		if len(st.Interfaces) != info.Interfaces {
			t.Fatalf("%s: %d interfaces, want %d", info.Name, len(st.Interfaces), info.Interfaces)
		}
		for _, ifc := range st.Interfaces {
			if ifc.Name == "" || ifc.Descr == "" || ifc.Type == "" || ifc.SpeedBps == 0 ||
				(ifc.OperStatus != model.IfUp && ifc.OperStatus != model.IfDown) ||
				(ifc.AdminStatus != model.IfUp && ifc.AdminStatus != model.IfDown) {
				t.Errorf("%s: interface %+v", info.Name, ifc)
			}
			// The second poll gives the rates.
			if ifc.InBps == nil || ifc.OutBps == nil {
				t.Errorf("%s %s: no rates after two polls", info.Name, ifc.Name)
			}
		}
	}
	// Two polls of each device that answered, one of the dead one.
	if got := metricValue(t, reg, "unet_poller_polls_total", map[string]string{"result": "success"}); got != 6 {
		t.Errorf("%v successful polls, want 6", got)
	}
	if got := metricValue(t, reg, "unet_poller_polls_total", map[string]string{"result": "failure"}); got != 1 {
		t.Errorf("%v failed polls, want 1", got)
	}

	// The inventory is cached, readable by the agent's user only.
	st, err := os.Stat(a.cachePath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the cached inventory holds secrets but has mode %v", st.Mode().Perm())
	}
	if _, err := a.Once(ctx); err == nil {
		t.Errorf("a second Once was accepted")
	}
}

// TestRun polls on a schedule, follows the inventory as it changes, logs
// events, and serves /metrics, /healthz and /readyz; it stops cleanly.
func TestRun(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	sim := startSim(t, "127.21.1.1", 3, func(p *snmpsim.Profile) {
		// Every cabled interface flaps every few seconds: events to log.
		p.FlapEvery, p.FlapDuration, p.FlapFraction = 3*time.Second, 1500*time.Millisecond, 1
	})
	seed(t, c, sim, seedOptions{site: "lon1", interval: time.Second, v3Nodes: 1})
	ctx := context.Background()
	third := sim.Devices()[2]
	if err := c.client.DeleteNode(ctx, third.Name, false, 0); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, c, "lon1")
	cfg.Listen = "127.0.0.1:0"
	cfg.InventoryRefresh = time.Hour // changes must come through the watch
	a, _, logs := newAgent(t, cfg)
	stop := run(t, a)
	base := "http://" + a.Addr()

	withRates := func(name string) bool {
		for _, st := range a.States() {
			if st.Node == name && st.Reachable && len(st.Interfaces) > 0 && st.Interfaces[0].InBps != nil {
				return true
			}
		}
		return false
	}
	devs := sim.Devices()
	eventually(t, "rates on both devices", func() bool { return withRates(devs[0].Name) && withRates(devs[1].Name) })

	status, body := get(t, base+"/healthz")
	if status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, body)
	}
	status, body = get(t, base+"/readyz")
	if status != http.StatusOK || !strings.Contains(body, `"inventory_source":"collector"`) || !strings.Contains(body, `"nodes":2`) {
		t.Errorf("/readyz: %d %s", status, body)
	}
	polls := func() float64 { return scrape(t, base, "unet_poller_polls_total") }
	first := polls()
	eventually(t, "polls counted at /metrics", func() bool { return polls() > first })
	if n := scrape(t, base, "unet_agent_inventory_nodes"); n != 2 {
		t.Errorf("unet_agent_inventory_nodes %v", n)
	}
	eventually(t, "an interface event logged", func() bool {
		return strings.Contains(logs.String(), `"msg":"device event"`) && strings.Contains(logs.String(), `"kind":"oper_status"`)
	})
	if !strings.Contains(logs.String(), `"msg":"polled"`) {
		t.Errorf("no per-poll debug line")
	}

	// The inventory changes: a node comes, another goes.
	if _, err := c.client.CreateNode(ctx, node(third.Name, third.Addr.String(), "lon1", "lon1-v3")); err != nil {
		t.Fatal(err)
	}
	if err := c.client.DeleteNode(ctx, devs[0].Name, false, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new node polled", func() bool { return withRates(third.Name) })
	eventually(t, "the deleted node dropped", func() bool {
		for _, st := range a.States() {
			if st.Node == devs[0].Name {
				return false
			}
		}
		return true
	})

	if err := stop(); err != nil {
		t.Fatalf("Run after its context ended: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the HTTP server still serves after Run returned")
	}
	// The cache follows the inventory.
	cached, _, err := a.loadCache()
	if err != nil {
		t.Fatal(err)
	}
	if len(cached.Nodes) != 2 || cached.Nodes[0].Name != devs[1].Name || cached.Nodes[1].Name != third.Name {
		t.Errorf("cached nodes %+v", cached.Nodes)
	}
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape sums the samples of a metric at base/metrics.
func scrape(t *testing.T, base, name string) float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		var v float64
		fields := strings.Fields(rest)
		if err := json.Unmarshal([]byte(fields[len(fields)-1]), &v); err == nil {
			sum += v
		}
	}
	return sum
}

// metricValue sums the samples of a counter or gauge in reg whose labels
// include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
