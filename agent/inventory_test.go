package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// TestStartsFromTheCache: with the collector away, the agent starts from
// the inventory it cached, polls on when a refresh fails, and switches back
// to the collector's inventory when it returns.
func TestStartsFromTheCache(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	sim := startSim(t, "127.21.2.1", 2, nil)
	seed(t, c, sim, seedOptions{site: "ams1", interval: time.Second})
	ctx := context.Background()

	cfg := testConfig(t, c, "ams1")
	first, _, _ := newAgent(t, cfg)
	if _, err := first.Once(ctx); err != nil {
		t.Fatal(err)
	}
	c.Stop()

	// One-shot, from the cache.
	once, _, logs := newAgent(t, cfg)
	states, err := once.Once(ctx)
	if err != nil {
		t.Fatalf("Once without the collector: %v", err)
	}
	if len(states) != 2 || !states[0].Reachable || !states[1].Reachable {
		t.Errorf("states from the cached inventory: %+v", states)
	}
	if !strings.Contains(logs.String(), "starting from the cached inventory") {
		t.Errorf("no warning that the inventory is the cached one")
	}

	// Continuous, from the cache, then the collector comes back.
	cfg.Listen = "127.0.0.1:0"
	cfg.InventoryRefresh = 200 * time.Millisecond
	a, reg, logs := newAgent(t, cfg)
	run(t, a)
	base := "http://" + a.Addr()
	if _, body := get(t, base+"/readyz"); !strings.Contains(body, `"inventory_source":"cache"`) {
		t.Errorf("/readyz from the cache: %s", body)
	}
	if v := metricValue(t, reg, "unet_agent_inventory_from_cache", nil); v != 1 {
		t.Errorf("inventory_from_cache %v", v)
	}
	eventually(t, "a failed refresh logged", func() bool { return strings.Contains(logs.String(), "cannot refresh the inventory") })
	polled := func() float64 {
		return metricValue(t, reg, "unet_poller_polls_total", map[string]string{"result": "success"})
	}
	eventually(t, "polls without the collector", func() bool { return polled() >= 2 })

	c.Start()
	eventually(t, "the collector's inventory", func() bool {
		return metricValue(t, reg, "unet_agent_inventory_from_cache", nil) == 0
	})
	if _, body := get(t, base+"/readyz"); !strings.Contains(body, `"inventory_source":"collector"`) {
		t.Errorf("/readyz once the collector is back: %s", body)
	}
	// Gone again: the agent polls on.
	c.Stop()
	before := metricValue(t, reg, "unet_agent_inventory_fetches_total", map[string]string{"result": "failure"})
	eventually(t, "failed refreshes", func() bool {
		return metricValue(t, reg, "unet_agent_inventory_fetches_total", map[string]string{"result": "failure"}) > before
	})
	n := polled()
	eventually(t, "polls go on", func() bool { return polled() > n })
	if status, _ := get(t, base+"/readyz"); status != http.StatusOK {
		t.Errorf("/readyz without the collector: %d", status)
	}
}

// TestNoInventory: no collector and no cache is a clear error, for Once
// and for Run.
func TestNoInventory(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	c.Stop()
	cfg := testConfig(t, c, "par1")
	a, _, _ := newAgent(t, cfg)
	_, err := a.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach the collector") || !strings.Contains(err.Error(), "no cached inventory") {
		t.Errorf("Once: %v", err)
	}
	cfg.Listen = "127.0.0.1:0"
	a, _, _ = newAgent(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), "no cached inventory") {
		t.Errorf("Run: %v", err)
	}
}

// TestCollectorRefusesTheSites: an answer of the collector that refuses
// the sites stops the agent, cache or not.
func TestCollectorRefusesTheSites(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	ctx := context.Background()
	if _, err := c.client.CreateLocation(ctx, model.Location{Name: "eu", Kind: model.KindRegion}); err != nil {
		t.Fatal(err)
	}
	for site, want := range map[string]string{"nowhere": "no such site", "eu": "is a region"} {
		a, _, _ := newAgent(t, testConfig(t, c, site))
		if _, err := a.Once(ctx); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "refuses") {
			t.Errorf("site %s: %v", site, err)
		}
	}
}

// TestBadCaches: a cache of other sites, or an unreadable one, is not
// used; a node the inventory cannot poll shows in Once's result.
func TestBadCaches(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	c.Stop()
	write := func(cfg Config, v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "inventory.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()

	cfg := testConfig(t, c, "par1")
	write(cfg, cacheFile{Format: cacheFormat, Inventory: &apiclient.Inventory{Sites: []string{"lon1"}}})
	a, _, _ := newAgent(t, cfg)
	if _, err := a.Once(ctx); err == nil || !strings.Contains(err.Error(), "is for sites [lon1], not [par1]") {
		t.Errorf("cache of another site: %v", err)
	}

	cfg = testConfig(t, c, "par1")
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "inventory.json"), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _, _ = newAgent(t, cfg)
	if _, err := a.Once(ctx); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("corrupt cache: %v", err)
	}

	cfg = testConfig(t, c, "par1", "lon1")
	n := node("orphan", "127.21.3.1", "par1", "gone")
	write(cfg, cacheFile{Format: cacheFormat, Inventory: &apiclient.Inventory{Sites: []string{"lon1", "par1"}, Nodes: []model.Node{n}}})
	a, _, _ = newAgent(t, cfg)
	states, err := a.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Node != "orphan" || states[0].Reachable || !strings.Contains(states[0].Error, `profile "gone"`) {
		t.Errorf("states %+v", states)
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.Collector, good.Sites = "http://127.0.0.1:8080", []string{"par1"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(*Config)
		says   string
	}{
		"no collector":  {func(c *Config) { c.Collector = "" }, "collector is required"},
		"bad collector": {func(c *Config) { c.Collector = "ftp://127.0.0.1:8080" }, "scheme"},
		"no site":       {func(c *Config) { c.Sites = nil }, "at least one site"},
		"empty site":    {func(c *Config) { c.Sites = []string{"par1", ""} }, "site name is empty"},
		"no data dir":   {func(c *Config) { c.DataDir = "" }, "data-dir is required"},
		"bad name":      {func(c *Config) { c.Name = "a b" }, "name"},
		"bad listen":    {func(c *Config) { c.Listen = "9180" }, "listen"},
		"zero refresh":  {func(c *Config) { c.InventoryRefresh = 0 }, "inventory-refresh"},
		"zero wait":     {func(c *Config) { c.OnceWait = 0 }, "once-wait"},
	} {
		c := good
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := good
	bad.Poller.Workers = -1
	if _, err := New(bad, Dependencies{}); err == nil || !strings.Contains(err.Error(), "workers") {
		t.Errorf("bad poller config: %v", err)
	}
	// An empty listen address serves nothing: it is valid.
	good.Listen = ""
	if err := good.Validate(); err != nil {
		t.Errorf("no listen: %v", err)
	}
}

// TestRefreshRefused: once running, a collector that refuses the sites
// (here: the site was deleted) is logged as an error and the agent polls on
// with the inventory it has, rather than dropping every node.
func TestRefreshRefused(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	sim := startSim(t, "127.21.4.1", 1, nil)
	seed(t, c, sim, seedOptions{site: "fra1", interval: time.Second})
	cfg := testConfig(t, c, "fra1")
	cfg.InventoryRefresh = 200 * time.Millisecond
	a, reg, logs := newAgent(t, cfg)
	run(t, a)
	if err := c.client.DeleteLocation(context.Background(), "fra1", true, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refusal logged as an error", func() bool {
		return strings.Contains(logs.String(), `"level":"ERROR","msg":"cannot refresh the inventory`)
	})
	n := metricValue(t, reg, "unet_poller_polls_total", nil)
	eventually(t, "polls go on", func() bool { return metricValue(t, reg, "unet_poller_polls_total", nil) > n })
	if len(a.States()) != 1 {
		t.Errorf("states %+v", a.States())
	}
}
