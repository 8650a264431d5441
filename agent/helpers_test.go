package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug banner from the collector API
	os.Exit(m.Run())
}

// Secrets of the fixtures: no log line may hold them.
const (
	community = "agent-c0mmunity-S3CRET"
	v3Auth    = "agent-auth-S3CRET"
	v3Priv    = "agent-priv-S3CRET"
)

var v3User = snmpsim.V3User{Name: "agent", AuthProtocol: model.AuthSHA, AuthKey: v3Auth, PrivProtocol: model.PrivAES, PrivKey: v3Priv}

// collector is the real collector API on a real store on embedded etcd,
// served on a loopback address that survives Stop and Start, so that
// tests can take the collector away and bring it back.
type collector struct {
	t       *testing.T
	handler http.Handler
	addr    string
	url     string
	client  *apiclient.Client

	mu  sync.Mutex
	srv *http.Server
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	store := desired.New(testsupport.Etcd(t), desired.DefaultConfig(), testsupport.Logger(t))
	a, err := api.New(api.DefaultConfig(), api.Dependencies{Store: store, Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	// A port below the ephemeral range: Start binds it again after Stop,
	// and an outgoing connection must not have taken it meanwhile.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t, handler: a.Handler(), addr: l.Addr().String()}
	c.url = "http://" + c.addr
	if c.client, err = apiclient.New(c.url); err != nil {
		t.Fatal(err)
	}
	c.serve(l)
	t.Cleanup(c.Stop)
	return c
}

func (c *collector) serve(l net.Listener) {
	srv := &http.Server{Handler: c.handler}
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop takes the collector away: connections are refused.
func (c *collector) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		c.srv.Close()
		c.srv = nil
	}
}

// Start brings it back on the same address.
func (c *collector) Start() {
	c.t.Helper()
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		c.t.Fatalf("collector back on %s: %v", c.addr, err)
	}
	c.serve(l)
}

// startSim serves n simulated devices from base on a free port, with the
// v3 user; change adjusts the profile.
func startSim(t *testing.T, base string, n int, change func(*snmpsim.Profile)) *snmpsim.Simulator {
	t.Helper()
	cfg := snmpsim.DefaultConfig()
	cfg.Base = netip.MustParseAddr(base)
	cfg.Devices = n
	cfg.Port = 0
	cfg.Seed = 11
	cfg.Profile.Community = community
	cfg.Profile.V3 = &v3User
	cfg.Profile.Interfaces = 12
	if change != nil {
		change(&cfg.Profile)
	}
	s, err := snmpsim.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		s.Close()
	})
	return s
}

// seedOptions shape the inventory seed writes.
type seedOptions struct {
	site     string
	interval time.Duration // of the profiles; 0: the default
	v3Nodes  int           // the last v3Nodes devices use the v3 profile
}

// seed writes region › site, a v2c and a v3 profile on the simulator's
// port, and a live node per simulated device.
func seed(t *testing.T, c *collector, sim *snmpsim.Simulator, o seedOptions) {
	t.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.client.GetLocation(ctx, "region"); err != nil {
		must(c.client.CreateLocation(ctx, model.Location{Name: "region", Kind: model.KindRegion}))
	}
	must(c.client.CreateLocation(ctx, model.Location{Name: o.site, Kind: model.KindSite, Parent: "region"}))
	retries := 0
	common := model.SNMPProfile{Port: sim.Port(), Timeout: model.Duration(500 * time.Millisecond), Retries: &retries,
		Interval: model.Duration(o.interval)}
	v2, v3 := common, common
	v2.Name, v2.Version, v2.Community = o.site+"-v2", model.SNMPv2c, community
	v3.Name, v3.Version, v3.User = o.site+"-v3", model.SNMPv3, v3User.Name
	v3.AuthProtocol, v3.AuthKey, v3.PrivProtocol, v3.PrivKey = v3User.AuthProtocol, v3User.AuthKey, v3User.PrivProtocol, v3User.PrivKey
	must(c.client.CreateSNMPProfile(ctx, v2))
	must(c.client.CreateSNMPProfile(ctx, v3))
	devs := sim.Devices()
	for i, d := range devs {
		profile := v2.Name
		if i >= len(devs)-o.v3Nodes {
			profile = v3.Name
		}
		must(c.client.CreateNode(ctx, node(d.Name, d.Addr.String(), o.site, profile)))
	}
}

func node(name, addr, site, profile string) model.Node {
	return model.Node{Name: name, Vendor: model.VendorGeneric, Role: model.RoleRouter, Lifecycle: model.LifecycleLive,
		ManagementAddress: addr, Location: site, SNMPProfile: profile}
}

// logs captures an agent's logs (JSON, debug level) and shows them with
// the test; at the end, it fails the test if a secret is in them.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogs(t *testing.T) (*logs, *slog.Logger) {
	t.Helper()
	l := &logs{}
	done := &atomic.Bool{}
	t.Cleanup(func() {
		done.Store(true)
		for _, s := range []string{community, v3Auth, v3Priv} {
			if strings.Contains(l.String(), s) {
				t.Errorf("a secret is in the agent's logs")
			}
		}
	})
	w := io.MultiWriter(l, tLog{t, done})
	return l, slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tLog struct {
	t    *testing.T
	done *atomic.Bool
}

func (w tLog) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// testConfig is an agent's configuration for c and site, with a fresh
// data directory and no HTTP server.
func testConfig(t *testing.T, c *collector, sites ...string) Config {
	cfg := DefaultConfig()
	cfg.Collector = c.url
	cfg.Sites = sites
	cfg.DataDir = t.TempDir()
	cfg.Name = "test-agent"
	cfg.Listen = ""
	cfg.OnceWait = 1100 * time.Millisecond // sysUpTime counts hundredths
	cfg.InventoryTimeout = 5 * time.Second
	return cfg
}

// newAgent builds an agent with its own registry and captured logs.
func newAgent(t *testing.T, cfg Config) (*Agent, *prometheus.Registry, *logs) {
	t.Helper()
	l, log := newLogs(t)
	reg := prometheus.NewRegistry()
	a, err := New(cfg, Dependencies{Logger: log, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return a, reg, l
}

// run runs the agent until the test ends and waits until it polls.
func run(t *testing.T, a *Agent) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return 30 s after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not start polling")
	}
	return stop
}

// eventually waits until cond holds, failing after a generous time: tests
// wait for events, they never assert on speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
