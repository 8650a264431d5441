package snmpsim

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// testLogger writes through t.Log, so a failing test shows what the
// simulator said.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testConfig is a small simulator on a free port with a fixed seed. Each
// test takes its own base address so that parallel tests never share one.
func testConfig(base string, devices int) Config {
	cfg := DefaultConfig()
	cfg.Base = netip.MustParseAddr(base)
	cfg.Devices = devices
	cfg.Port = 0
	cfg.Seed = 42
	return cfg
}

// startSim starts a simulator, stopped when the test ends.
func startSim(t testing.TB, cfg Config) *Simulator {
	t.Helper()
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// v2 returns a connected v2c client for device i.
func v2(t testing.TB, s *Simulator, i int, community string) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{
		Target:             s.DeviceAt(i).Info().Addr.String(),
		Port:               uint16(s.Port()),
		Community:          community,
		Version:            gosnmp.Version2c,
		Timeout:            2 * time.Second,
		Retries:            0,
		MaxRepetitions:     25,
		ExponentialTimeout: false,
	}
	connect(t, g)
	return g
}

func connect(t testing.TB, g *gosnmp.GoSNMP) {
	t.Helper()
	if err := g.Connect(); err != nil {
		t.Fatalf("connect to %s:%d: %v", g.Target, g.Port, err)
	}
	t.Cleanup(func() { g.Conn.Close() })
}

// getOne fetches one OID and fails the test on error.
func getOne(t testing.TB, g *gosnmp.GoSNMP, oid string) gosnmp.SnmpPDU {
	t.Helper()
	res, err := g.Get([]string{oid})
	if err != nil {
		t.Fatalf("get %s from %s: %v", oid, g.Target, err)
	}
	if len(res.Variables) != 1 {
		t.Fatalf("get %s: %d varbinds", oid, len(res.Variables))
	}
	return res.Variables[0]
}

// walk runs gosnmp's BulkWalkAll under root.
func walk(t testing.TB, g *gosnmp.GoSNMP, root string) []gosnmp.SnmpPDU {
	t.Helper()
	pdus, err := g.BulkWalkAll(root)
	if err != nil {
		t.Fatalf("bulk walk %s of %s: %v", root, g.Target, err)
	}
	return pdus
}
