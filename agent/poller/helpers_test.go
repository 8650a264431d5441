package poller

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// Every test takes its own range of 127.x.y.z addresses (simConfig's
// base), so that parallel tests never poll each other's devices.

// simConfig is a simulator of n devices from base, on a free port, with a
// fixed seed and the given profile changes.
func simConfig(base string, n int, change func(*snmpsim.Profile)) snmpsim.Config {
	cfg := snmpsim.DefaultConfig()
	cfg.Base = netip.MustParseAddr(base)
	cfg.Devices = n
	cfg.Port = 0
	cfg.Seed = 7
	if change != nil {
		change(&cfg.Profile)
	}
	return cfg
}

// startSim starts a simulator, closed when the test ends.
func startSim(t testing.TB, cfg snmpsim.Config) *snmpsim.Simulator {
	t.Helper()
	s, err := snmpsim.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("snmpsim.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatalf("snmpsim.Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		s.Close()
	})
	return s
}

// v3User is the SNMPv3 user of v3 tests.
var v3User = snmpsim.V3User{Name: "unet", AuthProtocol: model.AuthSHA, AuthKey: "authpass123", PrivProtocol: model.PrivAES, PrivKey: "privpass123"}

func v2cProfile(port int) model.SNMPProfile {
	retries := 0
	return model.SNMPProfile{Name: "v2", Version: model.SNMPv2c, Community: "public", Port: port,
		Timeout: model.Duration(500 * time.Millisecond), Retries: &retries}
}

func v3Profile(port int) model.SNMPProfile {
	retries := 0
	return model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: v3User.Name,
		AuthProtocol: v3User.AuthProtocol, AuthKey: v3User.AuthKey, PrivProtocol: v3User.PrivProtocol, PrivKey: v3User.PrivKey,
		Port: port, Timeout: model.Duration(500 * time.Millisecond), Retries: &retries}
}

// targets returns a target per simulated device with profile.
func targets(s *snmpsim.Simulator, profile model.SNMPProfile) []Target {
	var out []Target
	for _, d := range s.Devices() {
		out = append(out, Target{Node: d.Name, Address: d.Addr.String(), Profile: profile})
	}
	return out
}

// newTestPoller returns a poller with a private registry and test logger.
func newTestPoller(t testing.TB, cfg Config, sink func(Result)) (*Poller, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := New(cfg, Dependencies{Logger: testsupport.Logger(t), Registry: reg, Sink: sink})
	if err != nil {
		t.Fatalf("poller.New: %v", err)
	}
	return p, reg
}

// collector gathers sink results, safe for concurrent use.
type collector struct {
	mu      sync.Mutex
	results []Result
	ch      chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) sink(r Result) {
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// snapshot returns the results so far.
func (c *collector) snapshot() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.results...)
}

// waitFor waits until cond holds on the results, failing after a generous
// time: tests wait for events, they never assert on speed.
func (c *collector) waitFor(t testing.TB, what string, cond func([]Result) bool) []Result {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		rs := c.snapshot()
		if cond(rs) {
			return rs
		}
		select {
		case <-c.ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s (%d results)", what, len(rs))
		}
	}
}

// byNode returns the results of one node.
func byNode(rs []Result, node string) []Result {
	var out []Result
	for _, r := range rs {
		if r.Poll.Node == node {
			out = append(out, r)
		}
	}
	return out
}

// metricValue sums the samples of a metric whose labels include want.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
