package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/internal/testsupport"
)

// These tests run real memberlist members on 127.0.0.1, several per test
// process, on ports the kernel picks.

func testConfig(name, site string) Config {
	cfg := DefaultConfig()
	cfg.Name = name
	cfg.Site = site
	cfg.BindAddr = "127.0.0.1"
	cfg.BindPort = 0
	cfg.SettleTime = 300 * time.Millisecond
	cfg.SettleTimeMax = 10 * time.Second
	cfg.JoinRetry = 100 * time.Millisecond
	cfg.Version = "v-test"
	cfg.APIAddress = "127.0.0.1:9180"
	return cfg
}

// start starts a member, stopped when the test ends.
func start(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	c, err := New(cfg, Dependencies{Logger: testsupport.Logger(t).With("member", cfg.Name)})
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Name, err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	t.Cleanup(c.Stop)
	return c
}

// startSite starts n healthy members of site, all joining the first, and
// waits until every one has applied the full set.
func startSite(t *testing.T, site string, n int, mutate func(*Config)) []*Cluster {
	t.Helper()
	var cs []*Cluster
	for i := range n {
		cfg := testConfig(fmt.Sprintf("%s-%d", site, i), site)
		if i > 0 {
			cfg.Join = []string{cs[0].Address()}
		}
		if mutate != nil {
			mutate(&cfg)
		}
		c := start(t, cfg)
		c.SetHealthy(true)
		cs = append(cs, c)
	}
	want := make([]string, n)
	for i, c := range cs {
		want[i] = c.cfg.Name
	}
	for _, c := range cs {
		waitForSet(t, c, want, 20*time.Second)
	}
	return cs
}

// waitForSet reads c's Changes until the applied set is want.
func waitForSet(t *testing.T, c *Cluster, want []string, timeout time.Duration) []Member {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := c.Members(); slices.Equal(memberNames(got), want) {
			// Drain what was delivered for it, so that later waits see
			// later changes only.
			select {
			case <-c.Changes():
			default:
			}
			return got
		}
		select {
		case <-c.Changes():
		case <-deadline:
			t.Fatalf("%s: applied members %v, want %v after %s (live: %v)", c.cfg.Name, memberNames(c.Members()), want, timeout, memberNames(c.All()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// value reads a counter.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("reading a metric: %v", err)
	}
	return m.GetCounter().GetValue()
}

func hasMember(ms []Member, name string) bool {
	return slices.ContainsFunc(ms, func(m Member) bool { return m.Name == name })
}

func TestJoinAndMetadata(t *testing.T) {
	cs := startSite(t, "lyon", 3, nil)
	for _, c := range cs {
		ms := c.Members()
		for _, m := range ms {
			if m.Site != "lyon" || m.Version != "v-test" || m.APIAddress != "127.0.0.1:9180" || !m.Healthy || m.Ring != "1.25/160" {
				t.Errorf("%s sees %+v: metadata not as advertised", c.cfg.Name, m)
			}
			if !strings.HasPrefix(m.Address, "127.0.0.1:") {
				t.Errorf("%s sees %s at %q", c.cfg.Name, m.Name, m.Address)
			}
		}
		if got := value(t, c.m.changes); got < 1 {
			t.Errorf("%s: changes_applied_total = %v, want at least 1", c.cfg.Name, got)
		}
	}
}

func TestNewcomerTakesItsShareOnlyWhenHealthy(t *testing.T) {
	a := startSite(t, "paris", 1, nil)[0]
	cfg := testConfig("paris-new", "paris")
	cfg.Join = []string{a.Address()}
	b := start(t, cfg)
	waitFor(t, 10*time.Second, "a sees the newcomer", func() bool { return hasMember(a.All(), "paris-new") })
	// Unhealthy, it is a member but not a sharer, however long we wait.
	time.Sleep(3 * a.cfg.SettleTime)
	if got := memberNames(a.Members()); !slices.Equal(got, []string{"paris-0"}) {
		t.Fatalf("applied set %v while the newcomer is not healthy, want [paris-0]", got)
	}
	b.SetHealthy(true)
	waitForSet(t, a, []string{"paris-0", "paris-new"}, 10*time.Second)
	waitForSet(t, b, []string{"paris-0", "paris-new"}, 10*time.Second)

	// Unhealthy again: it hands its share back without leaving.
	b.SetHealthy(false)
	waitForSet(t, a, []string{"paris-0"}, 10*time.Second)
	waitForSet(t, b, []string{"paris-0"}, 10*time.Second)
}

func TestOnlySameSiteMembersCount(t *testing.T) {
	x := startSite(t, "x", 2, nil)
	cfg := testConfig("y-0", "y")
	cfg.Join = []string{x[0].Address()}
	y := start(t, cfg)
	y.SetHealthy(true)
	waitFor(t, 10*time.Second, "x-0 sees y-0", func() bool { return hasMember(x[0].All(), "y-0") })
	waitForSet(t, y, []string{"y-0"}, 10*time.Second)
	time.Sleep(3 * cfg.SettleTime)
	for _, c := range x {
		if got := memberNames(c.Members()); !slices.Equal(got, []string{"x-0", "x-1"}) {
			t.Errorf("%s applied %v, want [x-0 x-1]: another site's member counted", c.cfg.Name, got)
		}
		if len(c.All()) != 3 {
			t.Errorf("%s sees %v live, want all 3", c.cfg.Name, memberNames(c.All()))
		}
	}
}

func TestGracefulLeaveIsSeenAtOnce(t *testing.T) {
	// Failure detection slowed down to 10 s or more, so that seeing the
	// leave sooner proves it came from the leave message.
	cs := startSite(t, "nice", 3, func(c *Config) { c.SuspicionMult = 20 })
	leaving := cs[2]
	start := time.Now()
	if err := leaving.Leave(5 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	for _, c := range cs[:2] {
		waitFor(t, 5*time.Second, c.cfg.Name+" sees the leave", func() bool { return !hasMember(c.All(), "nice-2") })
	}
	seen := time.Since(start)
	for _, c := range cs[:2] {
		waitForSet(t, c, []string{"nice-0", "nice-1"}, 5*time.Second)
	}
	applied := time.Since(start)
	t.Logf("graceful leave: seen by both others %s after Leave, applied %s after (settle time %s)",
		seen.Round(time.Millisecond), applied.Round(time.Millisecond), cs[0].cfg.SettleTime)
	// The leaving member applies nothing more.
	select {
	case ms, ok := <-leaving.Changes():
		if ok {
			t.Errorf("the leaving member delivered %v after Leave", memberNames(ms))
		}
	case <-time.After(2 * leaving.cfg.SettleTime):
	}
}

func TestKilledMemberIsDetected(t *testing.T) {
	cs := startSite(t, "lille", 3, nil)
	start := time.Now()
	cs[2].Stop() // no Leave: a crash, as far as the others know
	var dead time.Duration
	for _, c := range cs[:2] {
		waitFor(t, 20*time.Second, c.cfg.Name+" declares lille-2 dead", func() bool { return !hasMember(c.All(), "lille-2") })
		dead = time.Since(start)
	}
	for _, c := range cs[:2] {
		waitForSet(t, c, []string{"lille-0", "lille-1"}, 20*time.Second)
	}
	takeover := time.Since(start)
	t.Logf("killed member: declared dead by both others %s after the kill, change applied %s after (probe %s, suspicion ≥ %s, settle %s)",
		dead.Round(time.Millisecond), takeover.Round(time.Millisecond), cs[0].cfg.ProbeInterval,
		time.Duration(cs[0].cfg.SuspicionMult)*cs[0].cfg.ProbeInterval, cs[0].cfg.SettleTime)
	// Config documents about 3 s for a small cluster, at most about 10 s:
	// checked loosely, the machines running the tests are shared.
	if dead > 15*time.Second {
		t.Errorf("a killed member was declared dead after %s, documented at most about 10 s", dead)
	}
}

func TestSettleTimeSuppressesFlaps(t *testing.T) {
	cases := []struct {
		name string
		flap func(t *testing.T, cs []*Cluster)
	}{
		{"health", func(t *testing.T, cs []*Cluster) {
			cs[2].SetHealthy(false)
			time.Sleep(100 * time.Millisecond)
			cs[2].SetHealthy(true)
		}},
		{"leave and rejoin", func(t *testing.T, cs []*Cluster) {
			// A restart: leave, stop, start again under the same name (on
			// another port) and rejoin.
			old := cs[2]
			if err := old.Leave(5 * time.Second); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			old.Stop()
			waitFor(t, 5*time.Second, "the others see the leave", func() bool { return !hasMember(cs[0].All(), old.cfg.Name) })
			cfg := old.cfg
			cfg.BindPort = 0
			c := start(t, cfg)
			c.SetHealthy(true)
			waitFor(t, 5*time.Second, "the others see the rejoin", func() bool {
				return hasMember(cs[0].All(), old.cfg.Name) && hasMember(cs[1].All(), old.cfg.Name)
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := startSite(t, "flap", 3, func(c *Config) { c.SettleTime = 3 * time.Second })
			changes := value(t, cs[0].m.changes)
			start := time.Now()
			tc.flap(t, cs)
			if took := time.Since(start); took > cs[0].cfg.SettleTime/2 {
				t.Fatalf("the flap took %s, too close to the settle time %s for the test to mean anything", took, cs[0].cfg.SettleTime)
			}
			// Past the settle time, nothing was applied.
			select {
			case ms := <-cs[0].Changes():
				t.Fatalf("a change was applied after a flap: %v", memberNames(ms))
			case <-time.After(cs[0].cfg.SettleTime + time.Second):
			}
			if got := value(t, cs[0].m.changes); got != changes {
				t.Errorf("changes_applied_total went from %v to %v", changes, got)
			}
			if got := value(t, cs[0].m.flaps); got < 1 {
				t.Errorf("flaps_suppressed_total = %v, want at least 1", got)
			}
		})
	}
}

func TestSettleTimeMaxEndsAnEndlessFlap(t *testing.T) {
	cs := startSite(t, "endless", 3, func(c *Config) {
		c.SettleTime = time.Second
		c.SettleTimeMax = 2 * time.Second
	})
	// endless-2 goes for good while endless-1 flaps on and on: the set
	// alternates between [0 1] and [0], never back to the applied [0 1 2]
	// and never stable for SettleTime. SettleTimeMax applies one anyway.
	start := time.Now()
	cs[2].SetHealthy(false)
	const flapping = 8 * time.Second
	done, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; time.Since(start) < flapping; i++ {
			cs[1].SetHealthy(i%2 == 1)
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	select {
	case ms := <-cs[0].Changes():
		took := time.Since(start)
		t.Logf("applied %v %s after the flapping started (settle-time-max %s)", memberNames(ms), took.Round(time.Millisecond), cs[0].cfg.SettleTimeMax)
		if hasMember(ms, "endless-2") {
			t.Errorf("applied %v: endless-2 is gone", memberNames(ms))
		}
	case <-done:
		t.Fatalf("nothing applied during %s of flapping, settle-time-max %s", flapping, cs[0].cfg.SettleTimeMax)
	}
}

func TestEncryption(t *testing.T) {
	key := func(b byte, n int) string {
		k := make([]byte, n)
		for i := range k {
			k[i] = b
		}
		return base64.StdEncoding.EncodeToString(k)
	}
	cases := []struct {
		name       string
		seed, join string // keys
		ok         bool
	}{
		{"same key", key(1, 32), key(1, 32), true},
		{"same 16-byte key", key(7, 16), key(7, 16), true},
		{"other key", key(1, 32), key(2, 32), false},
		{"joiner without key", key(1, 32), "", false},
		{"seed without key", "", key(1, 32), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("seed", "enc")
			cfg.SecretKey = tc.seed
			seed := start(t, cfg)
			cfg = testConfig("joiner", "enc")
			cfg.SecretKey = tc.join
			joiner := start(t, cfg)
			_, err := joiner.Join([]string{seed.Address()})
			if tc.ok {
				if err != nil {
					t.Fatalf("Join: %v", err)
				}
				waitFor(t, 5*time.Second, "the seed sees the joiner", func() bool { return hasMember(seed.All(), "joiner") })
				return
			}
			if err == nil {
				t.Fatal("Join succeeded across different gossip keys")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), "gossip encryption differs") || strings.Contains(err.Error(), "\n") {
				t.Errorf("Join error %q does not say on one line that the keys differ", err)
			}
			time.Sleep(500 * time.Millisecond)
			if hasMember(seed.All(), "joiner") || hasMember(joiner.All(), "seed") {
				t.Errorf("members with different keys see each other: %v, %v", memberNames(seed.All()), memberNames(joiner.All()))
			}
		})
	}
}

func TestJoinIsRetriedInTheBackground(t *testing.T) {
	// The seed is not up yet when the joiner starts; the join list also
	// holds the joiner's own address, which must not count as joined.
	port := testsupport.FreePort(t)
	cfg := testConfig("late-joiner", "retry")
	cfg.BindPort = testsupport.FreePort(t)
	cfg.Join = []string{fmt.Sprintf("127.0.0.1:%d", cfg.BindPort), fmt.Sprintf("localhost:%d", port)}
	joiner := start(t, cfg)
	time.Sleep(500 * time.Millisecond)
	seedCfg := testConfig("seed", "retry")
	seedCfg.BindPort = port
	seed := start(t, seedCfg)
	d := waitFor(t, 10*time.Second, "the joiner joins the late seed", func() bool { return hasMember(seed.All(), "late-joiner") })
	t.Logf("joined %s after the seed started", d.Round(time.Millisecond))
	if got := value(t, joiner.m.joins.WithLabelValues("failure")); got < 1 {
		t.Errorf("join failures counted: %v, want at least 1", got)
	}
}

func TestStopEndsChanges(t *testing.T) {
	c := start(t, testConfig("alone", "solo"))
	c.SetHealthy(true)
	waitForSet(t, c, []string{"alone"}, 5*time.Second)
	c.Stop()
	c.Stop() // idempotent
	select {
	case _, ok := <-c.Changes():
		if ok {
			// A value may have been pending; the close follows.
			if _, ok := <-c.Changes(); ok {
				t.Fatal("Changes not closed after Stop")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Changes not closed after Stop")
	}
	if err := c.Leave(time.Second); err == nil {
		t.Error("Leave after Stop succeeded")
	}
}

func TestStartFailsOnABusyPort(t *testing.T) {
	a := start(t, testConfig("a", "ports"))
	cfg := testConfig("b", "ports")
	_, port, _ := strings.Cut(a.Address(), ":")
	fmt.Sscan(port, &cfg.BindPort)
	b, err := New(cfg, Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil {
		b.Stop()
		t.Fatal("Start on a port in use succeeded")
	} else {
		t.Logf("error: %v", err)
	}
	b.Stop() // harmless after a failed Start
}
