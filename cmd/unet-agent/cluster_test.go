package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// The agent cluster as an operator runs it: a collector, three unet-agent
// processes sharing one site over gossip, each sending its polls from its
// own 127.0.0.x address, and 3,000 simulated devices whose request log is
// the referee: who polled which device, when. Scenarios in order: steady
// state, kill -9 and takeover, restart, SIGTERM drain, SIGSTOP partition.

const (
	clusterDevices  = 3000
	clusterInterval = 5 * time.Second
)

// pollLog turns the simulator's requests into polls: the requests of one
// agent to one device less than a second apart are one poll.
type pollLog struct {
	mu    sync.Mutex
	last  map[pollKey]time.Time
	polls [][]pollEvent // by device index
}

type pollKey struct {
	dev int
	src netip.Addr
}

type pollEvent struct {
	t   time.Time
	src netip.Addr
}

func (p pollEvent) String() string { return p.t.Format("15:04:05.000") + "@" + p.src.String() }

func newPollLog(devices int) *pollLog {
	return &pollLog{last: map[pollKey]time.Time{}, polls: make([][]pollEvent, devices)}
}

func (l *pollLog) record(r snmpsim.Request) {
	if r.Device < 0 || r.Device >= len(l.polls) {
		return
	}
	k := pollKey{r.Device, r.Source.Addr()}
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.last[k]; !ok || r.Time.Sub(prev) > time.Second {
		l.polls[r.Device] = append(l.polls[r.Device], pollEvent{r.Time, k.src})
	}
	l.last[k] = r.Time
}

// between returns each device's polls in [from, to).
func (l *pollLog) between(from, to time.Time) [][]pollEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([][]pollEvent, len(l.polls))
	for d, ps := range l.polls {
		for _, p := range ps {
			if !p.t.Before(from) && p.t.Before(to) {
				out[d] = append(out[d], p)
			}
		}
	}
	return out
}

// owners returns the agent that polled each device in [from, to), and
// the problems: devices polled by several agents or not at a steady pace.
func owners(polls [][]pollEvent, from, to time.Time) (map[int]netip.Addr, []string) {
	owner := map[int]netip.Addr{}
	var problems []string
	for d, ps := range polls {
		srcs := map[netip.Addr]bool{}
		for _, p := range ps {
			srcs[p.src] = true
		}
		switch {
		case len(ps) == 0:
			problems = append(problems, fmt.Sprintf("device %d: not polled", d))
			continue
		case len(srcs) > 1:
			problems = append(problems, fmt.Sprintf("device %d: polled by %d agents %v", d, len(srcs), ps))
			continue
		}
		owner[d] = ps[0].src
		// Once per interval: gaps of about one interval, none missed.
		edges := append([]time.Time{from}, times(ps)...)
		edges = append(edges, to)
		for i := 1; i < len(edges); i++ {
			gap := edges[i].Sub(edges[i-1])
			inner := i > 1 && i < len(edges)-1
			if gap > clusterInterval*3/2 || (inner && gap < clusterInterval/2) {
				problems = append(problems, fmt.Sprintf("device %d: a gap of %s between polls %v", d, gap.Round(time.Millisecond), ps))
				break
			}
		}
	}
	return owner, problems
}

func times(ps []pollEvent) []time.Time {
	out := make([]time.Time, len(ps))
	for i, p := range ps {
		out[i] = p.t
	}
	return out
}

func firstProblems(ps []string) []string { return ps[:min(len(ps), 5)] }

// movedFraction is the share of devices whose agent differs.
func movedFraction(a, b map[int]netip.Addr) float64 {
	moved := 0
	for d, o := range a {
		if b[d] != o {
			moved++
		}
	}
	return float64(moved) / float64(len(a))
}

// clusterAgent is one unet-agent process of the test.
type clusterAgent struct {
	name, src, gossip, listen string
	args                      []string
	proc                      *process
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "UNET_HEARTBEAT_INTERVAL=1s"}

	addr := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
	url := "http://" + addr
	coll := startProcess(t, filepath.Join(bin, "unet-collector"), env, "--data-dir", t.TempDir(), "--listen", addr, "--log-format", "text")
	coll.waitFor("the collector ready", func() bool { return status(url+"/readyz") == http.StatusOK })

	// The devices, in this process: their request log is the referee.
	log := newPollLog(clusterDevices)
	pid := os.Getpid()
	cfg := snmpsim.DefaultConfig()
	cfg.Base = netip.MustParseAddr(fmt.Sprintf("127.%d.%d.1", 200+pid%50, 1+pid/50%250))
	cfg.Devices, cfg.Port, cfg.Seed = clusterDevices, 0, 11
	cfg.Profile.Interfaces = 4
	cfg.OnRequest = log.record
	sim, err := snmpsim.New(cfg, testsupport.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	client, err := apiclient.New(url)
	if err != nil {
		t.Fatal(err)
	}
	importDevices(t, client, sim)

	// Three agents, each gossiping and polling from its own address.
	agents := make([]*clusterAgent, 3)
	for i := range agents {
		a := &clusterAgent{name: fmt.Sprintf("agent-%d", i+1), src: fmt.Sprintf("127.0.0.%d", 11+i)}
		a.gossip = fmt.Sprintf("%s:%d", a.src, testsupport.FreePort(t))
		a.listen = fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
		agents[i] = a
	}
	for i, a := range agents {
		var join []string
		for j, o := range agents {
			if j != i {
				join = append(join, o.gossip)
			}
		}
		a.args = []string{"--collector", url, "--site", "cluster-site", "--data-dir", t.TempDir(), "--name", a.name,
			"--listen", a.listen, "--gossip", a.gossip, "--join", join[0] + "," + join[1], "--source-address", a.src,
			"--log-format", "json"}
	}
	start := func(a *clusterAgent) {
		a.proc = startProcess(t, filepath.Join(bin, "unet-agent"), env, a.args...)
		a.proc.waitFor(a.name+" ready", func() bool { return status("http://"+a.listen+"/readyz") == http.StatusOK })
	}
	for _, a := range agents {
		start(a)
	}
	bySrc := map[netip.Addr]string{}
	for _, a := range agents {
		bySrc[netip.MustParseAddr(a.src)] = a.name
	}
	// agentsOwning waits until the collector lists these agents with the
	// devices split between them.
	agentsOwning := func(names ...string) []apiclient.Agent {
		t.Helper()
		var list []apiclient.Agent
		deadline := time.Now().Add(60 * time.Second)
		for {
			out, _ := runOnce(t, filepath.Join(bin, "unetctl"), env, "--server", url, "agents", "-o", "json")
			list = nil
			_ = json.Unmarshal([]byte(out), &list)
			total, got := 0, []string{}
			for _, a := range list {
				total += a.Owned
				got = append(got, a.Name)
			}
			if total == clusterDevices && slices.Equal(got, names) {
				return list
			}
			if time.Now().After(deadline) {
				t.Fatalf("agents %v own %d devices, want %v owning %d", got, total, names, clusterDevices)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	settle := func() { time.Sleep(clusterInterval + 2*time.Second) }

	// Steady state: every device polled by exactly one agent, once an
	// interval; each agent about a third.
	list := agentsOwning("agent-1", "agent-2", "agent-3")
	for _, a := range list {
		if share := float64(a.Owned) / clusterDevices; share < 0.25 || share > 0.42 {
			t.Errorf("%s owns %d devices (%.0f %%), want about a third", a.Name, a.Owned, 100*share)
		}
	}
	settle()
	t0 := time.Now()
	time.Sleep(3 * clusterInterval)
	steady, problems := owners(log.between(t0, time.Now()), t0, time.Now())
	if len(problems) > 0 {
		t.Fatalf("steady state: %d problems, e.g. %v", len(problems), firstProblems(problems))
	}
	node := sim.Devices()[0].Name
	out, _ := runOnce(t, filepath.Join(bin, "unetctl"), env, "--server", url, "node", "status", node, "-o", "json")
	var st apiclient.NodeStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("node status: %v\n%s", err, out)
	}
	if st.PolledBy != bySrc[steady[0]] || st.LastPoll.IsZero() || time.Since(st.LastPoll) > 3*clusterInterval {
		t.Errorf("node status of %s: polled_by %q last_poll %v, want %s within an interval or two", node, st.PolledBy, st.LastPoll, bySrc[steady[0]])
	}

	// kill -9 agent-3: its devices are polled by the others within
	// failure detection (≤ ~10 s), the settle time and one interval.
	victim := netip.MustParseAddr(agents[2].src)
	killed := time.Now()
	if err := agents[2].proc.stop(syscall.SIGKILL); err == nil {
		t.Fatal("agent-3 survived SIGKILL")
	}
	agentsOwning("agent-1", "agent-2")
	settle()
	tk := time.Now()
	time.Sleep(2 * clusterInterval)
	after := log.between(killed, time.Now())
	var takeover time.Duration
	for d, o := range steady {
		if o != victim {
			continue
		}
		first := time.Time{}
		for _, p := range after[d] {
			if p.src != victim {
				first = p.t
				break
			}
		}
		if first.IsZero() {
			t.Fatalf("device %d of agent-3 never taken over", d)
		}
		takeover = max(takeover, first.Sub(killed))
	}
	t.Logf("FIGURE kill -9 → every device of the dead agent polled by another: %s", takeover.Round(10*time.Millisecond))
	if takeover > 10*time.Second+2*time.Second+clusterInterval+3*time.Second {
		t.Errorf("takeover took %s", takeover)
	}
	twoOwners, problems := owners(log.between(tk, time.Now()), tk, time.Now())
	if len(problems) > 0 {
		t.Fatalf("after the takeover: %d problems, e.g. %v", len(problems), firstProblems(problems))
	}
	t.Logf("FIGURE loss 3→2 (kill -9): %.3f of the devices moved (ideal 1/3 = 0.333)", movedFraction(steady, twoOwners))

	// Restart agent-3: it gets about a third back; no device is polled
	// by two agents in more than one interval.
	restarted := time.Now()
	start(agents[2])
	list = agentsOwning("agent-1", "agent-2", "agent-3")
	for _, a := range list {
		if a.Name == "agent-3" {
			if share := float64(a.Owned) / clusterDevices; share < 0.25 || share > 0.42 {
				t.Errorf("restarted agent-3 owns %d devices, want about a third", a.Owned)
			}
		}
	}
	settle()
	tr := time.Now()
	time.Sleep(3 * clusterInterval)
	doubles := log.between(restarted, time.Now())
	for d, ps := range doubles {
		var first, last time.Time
		for i := 1; i < len(ps); i++ {
			if ps[i].src != ps[i-1].src && ps[i].t.Sub(ps[i-1].t) < clusterInterval/2 {
				if first.IsZero() {
					first = ps[i-1].t
				}
				last = ps[i].t
			}
		}
		if !first.IsZero() && last.Sub(first) > clusterInterval {
			t.Errorf("device %d polled twice an interval for %s after the restart: %v", d, last.Sub(first), ps)
		}
	}
	three, problems := owners(log.between(tr, time.Now()), tr, time.Now())
	if len(problems) > 0 {
		t.Fatalf("after the restart: %d problems, e.g. %v", len(problems), firstProblems(problems))
	}
	t.Logf("FIGURE join 2→3 (restart): %.3f of the devices moved (ideal 1/3 = 0.333)", movedFraction(twoOwners, three))

	// SIGTERM agent-2: it hands over before it stops; no device misses
	// an interval.
	drained := time.Now()
	if err := agents[1].proc.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("agent-2 after SIGTERM: %v\n%s", err, agents[1].proc.stderr)
	}
	agentsOwning("agent-1", "agent-3")
	settle()
	td := time.Now()
	time.Sleep(2 * clusterInterval)
	around := log.between(drained.Add(-clusterInterval), time.Now())
	for d, ps := range around {
		ts := times(ps)
		for i := 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap > clusterInterval*3/2 {
				t.Errorf("device %d missed an interval around the drain: a gap of %s (%v)", d, gap.Round(time.Millisecond), ps)
				break
			}
		}
	}
	drainOwners, problems := owners(log.between(td, time.Now()), td, time.Now())
	if len(problems) > 0 {
		t.Fatalf("after the drain: %d problems, e.g. %v", len(problems), firstProblems(problems))
	}
	t.Logf("FIGURE leave 3→2 (SIGTERM drain): %.3f of the devices moved (ideal 1/3 = 0.333)", movedFraction(three, drainOwners))

	// A partition: agent-1 frozen (SIGSTOP) long enough to be declared
	// dead, then thawed. No permanent double polling.
	frozen := agents[0].proc.cmd.Process
	if err := frozen.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	agentsOwningExcept := func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			out, _ := runOnce(t, filepath.Join(bin, "unetctl"), env, "--server", url, "agents", "-o", "json")
			var l []apiclient.Agent
			_ = json.Unmarshal([]byte(out), &l)
			if len(l) == 2 {
				for _, a := range l {
					if a.Name == "agent-3" && a.Owned == clusterDevices {
						return
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Fatal("agent-3 never took everything over from the frozen agent-1")
	}
	agentsOwningExcept()
	if err := frozen.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	agentsOwning("agent-1", "agent-3")
	settle()
	th := time.Now()
	time.Sleep(3 * clusterInterval)
	if _, problems := owners(log.between(th, time.Now()), th, time.Now()); len(problems) > 0 {
		t.Fatalf("after the partition healed: %d problems, e.g. %v", len(problems), firstProblems(problems))
	}
	for _, a := range []*clusterAgent{agents[0], agents[2]} {
		if err := a.proc.stop(syscall.SIGTERM); err != nil {
			t.Errorf("%s after SIGTERM: %v", a.name, err)
		}
	}
	_ = coll.stop(syscall.SIGTERM)
}

// importDevices puts the simulated devices into the collector: region ›
// site, a v2c profile polled every clusterInterval, the nodes.
func importDevices(t *testing.T, c *apiclient.Client, sim *snmpsim.Simulator) {
	t.Helper()
	b := &bundle.Bundle{
		Locations: []model.Location{
			{Name: "cluster-region", Kind: model.KindRegion},
			{Name: "cluster-site", Kind: model.KindSite, Parent: "cluster-region"},
		},
		SNMPProfiles: []model.SNMPProfile{{Name: "cluster-snmp", Version: model.SNMPv2c, Community: "public",
			Port: sim.Port(), Interval: model.Duration(clusterInterval)}},
	}
	for _, d := range sim.Devices() {
		b.Nodes = append(b.Nodes, model.Node{Name: d.Name, Vendor: d.Vendor, Role: d.Role, Lifecycle: model.LifecycleLive,
			ManagementAddress: d.Addr.String(), Location: "cluster-site", SNMPProfile: "cluster-snmp"})
	}
	var buf bytes.Buffer
	if err := bundle.EncodeCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Import(context.Background(), &buf, "csv", "", false, nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Total() != clusterDevices+3 {
		t.Fatalf("imported %+v", rep)
	}
}
