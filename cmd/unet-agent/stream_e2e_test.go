package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
	"github.com/unet-project/unet/shared/wire"
)

// Issue 5's "no loss" tests, everything real: simulated devices over UDP
// SNMP, unet-agent and unet-collector as processes, clickhouse-server.
// The simulator's request log is the referee: every poll it answered must
// end up in ClickHouse as one device sample and one sample per interface,
// once. Scenarios share one setup, in order:
//
//  1. end to end: rows and polls match, rates match the traffic profile;
//  2. bad input to /ingest at the process level: refused, nothing changes;
//  3. the collector killed for 2 minutes while the agent polls, then
//     restarted; while the agent replays its spool, kill -9, restart;
//  4. the spool's last segment corrupted while the agent is stopped;
//  5. ClickHouse stopped for a minute;
//
// and at the end the whole run is judged again, poll by poll.

const (
	streamDevices     = 20
	streamIfaces      = 4
	streamInterval    = 3 * time.Second
	streamFlush       = 500 * time.Millisecond
	streamAgent       = "stream-agent"
	streamSite        = "stream-site"
	streamUtilization = 0.3
	streamSource      = "127.0.0.31" // the agent's polls, told apart from the referee's own reads
	collectorOutage   = 2 * time.Minute
	clickhouseOutage  = time.Minute
	// Rates are measured over about one interval with sysUpTime's
	// hundredths of a second at both ends: 20 ms in 3 s is 0.7 %.
	rateTolerance = 0.01
)

// streamPolls turns the simulator's requests from the agent into polls:
// answered requests to one device less than a second apart are one poll,
// timed by its first request.
type streamPolls struct {
	src   netip.Addr
	mu    sync.Mutex
	last  []time.Time
	polls [][]time.Time // by device index
}

func newStreamPolls(src netip.Addr, devices int) *streamPolls {
	return &streamPolls{src: src, last: make([]time.Time, devices), polls: make([][]time.Time, devices)}
}

func (l *streamPolls) record(r snmpsim.Request) {
	if r.Source.Addr() != l.src || r.Outcome != snmpsim.OutcomeAnswered || r.Device < 0 || r.Device >= len(l.polls) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Time.Sub(l.last[r.Device]) > time.Second {
		l.polls[r.Device] = append(l.polls[r.Device], r.Time)
	}
	l.last[r.Device] = r.Time
}

func (l *streamPolls) snapshot() [][]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([][]time.Time, len(l.polls))
	for i, ps := range l.polls {
		out[i] = slices.Clone(ps)
	}
	return out
}

// excuse names polls of a node, in [from, to], that may be missing from
// ClickHouse for a reason the test caused (output only in the memory of
// an agent killed with -9, in flight at SIGTERM, in the batch a
// corruption cut): they must be stored at most once.
type excuse struct {
	node     string
	from, to time.Time
	why      string
}

// excusedBy returns the excuse that covers the poll of node at p, nil
// for none.
func excusedBy(ex []excuse, node string, p time.Time) *excuse {
	for i, e := range ex {
		if e.node == node && !p.Before(e.from) && !p.After(e.to) {
			return &ex[i]
		}
	}
	return nil
}

// downtime is when the agent was not running (from its stop to its
// restart plus the scheduler's spread): polls may pause then, not
// otherwise.
type downtime struct{ from, to time.Time }

// streamCluster is the setup the scenarios share.
type streamCluster struct {
	t         *testing.T
	bin, home string
	ch        *testsupport.ClickHouseServer
	sim       *snmpsim.Simulator
	devs      []snmpsim.DeviceInfo
	polls     *streamPolls

	collArgs []string
	collURL  string
	coll     *process

	agentArgs []string
	agentURL  string
	agentData string
	agent     *process
	starts    int // agent processes started

	excuses []excuse
	down    []downtime
}

func (c *streamCluster) collectorEnv() []string {
	return []string{"HOME=" + c.home,
		// Small writes acknowledged at once, and short pauses: the test
		// waits for events, the defaults are for production.
		"UNET_CLICKHOUSE_FLUSH_DELAY=20ms", "UNET_CLICKHOUSE_DIAL_TIMEOUT=1s", "UNET_CLICKHOUSE_RETRY_AFTER=1s",
		"UNET_INGEST_RETRY_AFTER=1s",
		// Limits the bad-input scenario can reach cheaply; the agent's
		// batches (a few kB) are far below.
		"UNET_INGEST_MAX_BODY_BYTES=1048576", "UNET_INGEST_MAX_DECOMPRESSED_BYTES=4194304",
	}
}

func (c *streamCluster) startCollector() {
	c.t.Helper()
	c.coll = startProcess(c.t, filepath.Join(c.bin, "unet-collector"), c.collectorEnv(), c.collArgs...)
	c.coll.waitFor("the collector ready", func() bool { return status(c.collURL+"/readyz") == http.StatusOK })
}

func (c *streamCluster) startAgent() {
	c.t.Helper()
	env := []string{"HOME=" + c.home,
		"UNET_STREAM_FLUSH_INTERVAL=" + streamFlush.String(),
		"UNET_STREAM_SENDER_BACKOFF_MIN=100ms", "UNET_STREAM_SENDER_BACKOFF_MAX=1s", "UNET_STREAM_SENDER_MAX_RETRY_AFTER=1s",
	}
	c.agent = startProcess(c.t, filepath.Join(c.bin, "unet-agent"), env, c.agentArgs...)
	c.starts++
	c.agent.waitFor("the agent ready", func() bool { return status(c.agentURL+"/readyz") == http.StatusOK })
}

// stopAgent stops the agent with sig, and after a pause (so that no poll
// before and after share a second: ClickHouse keeps seconds) returns.
func (c *streamCluster) stopAgent(sig syscall.Signal) time.Time {
	c.t.Helper()
	at := time.Now()
	err := c.agent.stop(sig)
	if sig == syscall.SIGTERM && err != nil {
		c.t.Fatalf("the agent after SIGTERM: %v\n%s", err, c.agent.stderr)
	}
	time.Sleep(1500 * time.Millisecond)
	return at
}

// restartAgent starts the agent again and notes its downtime.
func (c *streamCluster) restartAgent(stopped time.Time) {
	c.t.Helper()
	c.startAgent()
	c.down = append(c.down, downtime{stopped, time.Now().Add(2 * streamInterval)})
}

// agentMetric sums the series of name at the agent's /metrics.
func (c *streamCluster) agentMetric(name string, labels ...string) float64 {
	return scrapeMetric(c.agentURL, name, labels...)
}

// waitDrained waits until the agent's spool holds no more than the batch
// or two of the polls going on.
func (c *streamCluster) waitDrained(what string) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for c.agentMetric("unet_spool_pending_batches") > 2 || c.agentMetric("unet_spool_acks_total") == 0 {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: the agent's spool still holds %v batches:\n%s", what, c.agentMetric("unet_spool_pending_batches"), tail(c.agent.stderr.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// query runs a SELECT on ClickHouse's HTTP interface and returns its TSV
// rows.
func (c *streamCluster) query(q string) [][]string {
	c.t.Helper()
	resp, err := http.Get("http://" + c.ch.HTTPAddr + "/?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		c.t.Fatalf("ClickHouse: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s: %d %s", q, resp.StatusCode, b)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

func (c *streamCluster) queryInts(q string) []int64 {
	c.t.Helper()
	rows := c.query(q)
	if len(rows) != 1 {
		c.t.Fatalf("%s: %d rows, want 1", q, len(rows))
	}
	out := make([]int64, len(rows[0]))
	for i, s := range rows[0] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			c.t.Fatalf("%s: %q: %v", q, s, err)
		}
		out[i] = v
	}
	return out
}

func TestStreamE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries, ClickHouse, and takes minutes")
	}
	began := time.Now()
	c := &streamCluster{t: t, bin: buildBinaries(t), home: t.TempDir()}
	c.ch = testsupport.StartClickHouse(t)

	// The collector, on ports it keeps across restarts.
	addr := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
	c.collURL = "http://" + addr
	c.collArgs = []string{"--data-dir", t.TempDir(), "--listen", addr, "--clickhouse", c.ch.Addr, "--log-format", "text",
		"--etcd-client-url", fmt.Sprintf("http://127.0.0.1:%d", testsupport.FreePort(t)),
		"--etcd-peer-url", fmt.Sprintf("http://127.0.0.1:%d", testsupport.FreePort(t))}
	c.startCollector()

	// The devices, in this process: constant traffic (no swing, no noise)
	// so that each interface's rate is one number to compare with.
	pid := os.Getpid()
	c.polls = newStreamPolls(netip.MustParseAddr(streamSource), streamDevices)
	cfg := snmpsim.DefaultConfig()
	cfg.Base = netip.MustParseAddr(fmt.Sprintf("127.%d.%d.1", 50+pid%50, 1+pid/50%250))
	cfg.Devices, cfg.Port, cfg.Seed = streamDevices, 0, 17
	cfg.Profile.Interfaces = streamIfaces
	cfg.Profile.AdminDownFraction, cfg.Profile.DownFraction = 0, 0
	cfg.Profile.Traffic = snmpsim.Traffic{Utilization: streamUtilization}
	cfg.OnRequest = c.polls.record
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
	c.sim, c.devs = sim, sim.Devices()
	client, err := apiclient.New(c.collURL)
	if err != nil {
		t.Fatal(err)
	}
	importStreamDevices(t, client, sim)
	expected := expectedRates(t, sim)

	c.agentURL = fmt.Sprintf("http://127.0.0.1:%d", testsupport.FreePort(t))
	c.agentData = t.TempDir()
	c.agentArgs = []string{"--collector", c.collURL, "--site", streamSite, "--data-dir", c.agentData, "--name", streamAgent,
		"--listen", strings.TrimPrefix(c.agentURL, "http://"), "--source-address", streamSource,
		"--inventory-refresh", "2s", "--log-format", "json"}
	from := time.Now()
	c.startAgent()

	// 1. End to end.
	t.Log("end to end: simulator → agent → collector → ClickHouse")
	time.Sleep(5 * streamInterval)
	c.checkStored(from, time.Now(), expected)

	// 2. Bad input, while the agent streams.
	t.Log("bad input to /ingest")
	c.badInput()

	// 3. The collector away for two minutes; back, the agent replays its
	// spool, and is killed with -9 in the middle of it.
	t.Logf("the collector stopped for %s", collectorOutage)
	// kill -9 rather than SIGTERM: the harder case, a batch half
	// written to ClickHouse when the collector dies.
	stopped := time.Now()
	_ = c.coll.stop(syscall.SIGKILL)
	c.agent.waitFor("batches spooled while the collector is away", func() bool {
		return c.agentMetric("unet_spool_pending_batches") >= 10
	})
	time.Sleep(time.Until(stopped.Add(collectorOutage)))
	pending := c.agentMetric("unet_spool_pending_batches")
	acked := c.agentMetric("unet_spool_acks_total")
	t.Logf("restarting the collector: %v batches in the agent's spool", pending)
	c.startCollector()
	// kill -9 as soon as the replay has begun: batches are in flight,
	// some stored and not yet acknowledged.
	c.agent.waitFor("the replay under way", func() bool { return c.agentMetric("unet_spool_acks_total") > acked })
	inFlight := c.agentMetric("unet_spool_pending_batches")
	sending := c.agentMetric("unet_sender_in_flight_batches")
	killed := c.stopAgent(syscall.SIGKILL)
	c.unspooled(killed, "in the memory of the agent killed with -9")
	c.restartAgent(killed)
	if inFlight > 0 && !strings.Contains(c.agent.stderr.String(), "replaying batches not acknowledged") {
		t.Errorf("the agent killed with %v batches in its spool did not replay them:\n%s", inFlight, tail(c.agent.stderr.String(), 4000))
	}
	c.waitDrained("after kill -9 during the replay")
	dups := scrapeMetric(c.collURL, "unet_ingest_batches_total", `result="duplicate"`)
	stored := scrapeMetric(c.collURL, "unet_ingest_batches_total", `result="stored"`)
	t.Logf("kill -9 with %v of the %v spooled batches left, %v of them being sent: since its restart the collector stored %v batches and dropped %v duplicates (sent again after the kill)",
		inFlight, pending, sending, stored, dups)
	c.checkStored(from, time.Now(), expected)

	// 4. The spool's last segment damaged while the agent is stopped.
	t.Log("corrupting the spool's last segment")
	c.corruptSpool()
	c.checkStored(from, time.Now(), expected)

	// 5. ClickHouse away for a minute.
	t.Logf("ClickHouse stopped for %s", clickhouseOutage)
	chStopped := time.Now()
	c.ch.Stop()
	c.agent.waitFor("batches spooled while ClickHouse is away", func() bool {
		return c.agentMetric("unet_spool_pending_batches") >= 10
	})
	time.Sleep(time.Until(chStopped.Add(clickhouseOutage)))
	t.Logf("restarting ClickHouse: %v batches in the agent's spool; the collector refused %v requests for ClickHouse",
		c.agentMetric("unet_spool_pending_batches"), scrapeMetric(c.collURL, "unet_ingest_refused_total", `reason="clickhouse_unavailable"`))
	c.ch.Start()
	c.waitDrained("after the ClickHouse outage")

	// The whole run, poll by poll.
	t.Log("the whole run")
	c.checkStored(from, time.Now(), expected)
	for _, m := range []string{"unet_sender_dead_letters_total", "unet_spool_dropped_batches_total", "unet_agent_stream_lost_rows_total"} {
		if v := c.agentMetric(m); v != 0 {
			t.Errorf("%s = %v, want 0", m, v)
		}
	}
	if err := c.agent.stop(syscall.SIGTERM); err != nil {
		t.Errorf("the agent after SIGTERM: %v", err)
	}
	if err := c.coll.stop(syscall.SIGTERM); err != nil {
		t.Errorf("the collector after SIGTERM: %v", err)
	}
	t.Logf("FIGURE stream e2e: %d devices × %d interfaces every %s, %d agent starts, the whole test %s",
		streamDevices, streamIfaces, streamInterval, c.starts, time.Since(began).Round(time.Second))
}

// importStreamDevices puts the simulated devices into the collector: a
// site and a v2c profile polled every streamInterval.
func importStreamDevices(t *testing.T, c *apiclient.Client, sim *snmpsim.Simulator) {
	t.Helper()
	b := &bundle.Bundle{
		Locations: []model.Location{{Name: streamSite, Kind: model.KindSite}},
		SNMPProfiles: []model.SNMPProfile{{Name: "stream-snmp", Version: model.SNMPv2c, Community: "public",
			Port: sim.Port(), Interval: model.Duration(streamInterval)}},
	}
	for _, d := range sim.Devices() {
		b.Nodes = append(b.Nodes, model.Node{Name: d.Name, Vendor: d.Vendor, Role: d.Role, Lifecycle: model.LifecycleLive,
			ManagementAddress: d.Addr.String(), Location: streamSite, SNMPProfile: "stream-snmp"})
	}
	var buf bytes.Buffer
	if err := bundle.EncodeCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Import(context.Background(), &buf, "csv", "", false, nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if rep.Total() != streamDevices+2 {
		t.Fatalf("imported %+v", rep)
	}
}

// ifKey is one interface of one node.
type ifKey struct {
	node    string
	ifindex int
}

// expectedRates reads every interface's octet counters and sysUpTime
// with an SNMP client of its own (gosnmp). The traffic is constant and
// counters run from zero at boot, so counter / uptime is the rate the
// simulator serves, to a precision that hours of uptime make tiny.
func expectedRates(t *testing.T, sim *snmpsim.Simulator) map[ifKey][2]float64 {
	t.Helper()
	out := map[ifKey][2]float64{}
	for _, d := range sim.Devices() {
		g := &gosnmp.GoSNMP{Target: d.Addr.String(), Port: uint16(sim.Port()), Community: "public", Version: gosnmp.Version2c,
			Timeout: 2 * time.Second, Retries: 2, MaxRepetitions: 20, Logger: gosnmp.NewLogger(nil)}
		if err := g.Connect(); err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		up, err := g.Get([]string{".1.3.6.1.2.1.1.3.0"})
		if err != nil || len(up.Variables) != 1 {
			t.Fatalf("%s: sysUpTime: %v", d.Name, err)
		}
		secs := float64(gosnmp.ToBigInt(up.Variables[0].Value).Uint64()) / 100
		for dir, oid := range []string{".1.3.6.1.2.1.31.1.1.1.6", ".1.3.6.1.2.1.31.1.1.1.10"} { // ifHCInOctets, ifHCOutOctets
			vars, err := g.BulkWalkAll(oid)
			if err != nil || len(vars) != streamIfaces {
				t.Fatalf("%s: walk of %s: %d values, %v", d.Name, oid, len(vars), err)
			}
			for _, v := range vars {
				idx, _ := strconv.Atoi(v.Name[strings.LastIndexByte(v.Name, '.')+1:])
				k := ifKey{d.Name, idx}
				r := out[k]
				r[dir] = 8 * float64(gosnmp.ToBigInt(v.Value).Uint64()) / secs
				out[k] = r
			}
		}
		g.Conn.Close()
	}
	return out
}

// checkStored judges what ClickHouse holds against the simulator's log
// for the polls in [from, to), waiting a while for the last batches to
// arrive, and against the expected rates.
func (c *streamCluster) checkStored(from, to time.Time, expected map[ifKey][2]float64) {
	c.t.Helper()
	to = to.Add(-2 * time.Second) // polls still in the agent's current batch
	var problems []string
	var summary string
	deadline := time.Now().Add(30 * time.Second)
	for {
		problems, summary = c.judge(from, to)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if len(problems) > 0 {
		c.t.Fatalf("%d problems, e.g.:\n  %s", len(problems), strings.Join(problems[:min(len(problems), 15)], "\n  "))
	}
	c.t.Log(summary)
	c.checkUnique()
	c.checkRates(expected)
	c.checkPace(from, to)
}

// judge compares each device's polls in [from, to) with its rows.
func (c *streamCluster) judge(from, to time.Time) (problems []string, summary string) {
	type devRow struct {
		ts        int64
		reachable bool
	}
	devRows := map[string][]devRow{}
	for _, r := range c.query(fmt.Sprintf("SELECT node, toUnixTimestamp(ts), reachable FROM unet.device_samples WHERE agent = '%s' ORDER BY node, ts", streamAgent)) {
		ts, _ := strconv.ParseInt(r[1], 10, 64)
		devRows[r[0]] = append(devRows[r[0]], devRow{ts, r[2] == "1"})
	}
	type ifGroup struct{ rows, indexes int }
	ifRows := map[string]map[int64]ifGroup{}
	for _, r := range c.query(fmt.Sprintf("SELECT node, toUnixTimestamp(ts), count(), uniqExact(ifindex) FROM unet.interface_samples WHERE agent = '%s' GROUP BY node, ts", streamAgent)) {
		ts, _ := strconv.ParseInt(r[1], 10, 64)
		n, _ := strconv.Atoi(r[2])
		u, _ := strconv.Atoi(r[3])
		if ifRows[r[0]] == nil {
			ifRows[r[0]] = map[int64]ifGroup{}
		}
		ifRows[r[0]][ts] = ifGroup{n, u}
	}

	polls := c.polls.snapshot()
	var nPolls, nExcused, nUnreachable int
	var missing []string // excused polls not stored: node, and how long before the event
	for d, dev := range c.devs {
		rows := devRows[dev.Name]
		// A sample's second S is that of the first answer of its poll at
		// P: P-1 < S <= P+1 (the poll took far less than a second).
		matches := func(p time.Time) int {
			ps := float64(p.UnixNano()) / 1e9
			n := 0
			for _, r := range rows {
				if s := float64(r.ts); s > ps-1 && s <= ps+1 {
					n++
				}
			}
			return n
		}
		for _, p := range polls[d] {
			if p.Before(from) || !p.Before(to) {
				continue
			}
			nPolls++
			n := matches(p)
			switch ex := excusedBy(c.excuses, dev.Name, p); {
			case ex != nil:
				nExcused++
				if n == 0 {
					missing = append(missing, fmt.Sprintf("%s at %s (%s)", dev.Name, p.Format("15:04:05.000"), ex.why))
				}
				if n > 1 {
					problems = append(problems, fmt.Sprintf("%s: the poll of %s stored %d times", dev.Name, p.Format("15:04:05.000"), n))
				}
			case n != 1:
				problems = append(problems, fmt.Sprintf("%s: the poll of %s stored %d times, want once", dev.Name, p.Format("15:04:05.000"), n))
			}
		}
		// Every row in the period is a poll the simulator answered, and
		// carries its interfaces.
		for _, r := range rows {
			st := time.Unix(r.ts, 0)
			if st.Before(from.Add(time.Second)) || st.After(to.Add(-time.Second)) {
				continue
			}
			n := 0
			for _, p := range polls[d] {
				if ps := float64(p.UnixNano()) / 1e9; float64(r.ts) > ps-1 && float64(r.ts) <= ps+1 {
					n++
				}
			}
			if n != 1 {
				problems = append(problems, fmt.Sprintf("%s: a device sample at %s matches %d polls of the simulator, want 1", dev.Name, st.UTC().Format("15:04:05"), n))
			}
			g := ifRows[dev.Name][r.ts]
			switch {
			case !r.reachable:
				nUnreachable++
				if g.rows != 0 {
					problems = append(problems, fmt.Sprintf("%s: %d interface samples at %s of an unreachable poll", dev.Name, g.rows, st.UTC().Format("15:04:05")))
				}
			case g.rows != streamIfaces || g.indexes != streamIfaces:
				problems = append(problems, fmt.Sprintf("%s: %d interface samples (%d interfaces) at %s, want %d", dev.Name, g.rows, g.indexes, st.UTC().Format("15:04:05"), streamIfaces))
			}
		}
		for ts := range ifRows[dev.Name] {
			if !slices.ContainsFunc(rows, func(r devRow) bool { return r.ts == ts }) {
				problems = append(problems, fmt.Sprintf("%s: interface samples at %s without a device sample", dev.Name, time.Unix(ts, 0).UTC().Format("15:04:05")))
			}
		}
	}
	if nPolls < streamDevices*3 {
		problems = append(problems, fmt.Sprintf("only %d polls in %s", nPolls, to.Sub(from)))
	}
	slices.Sort(missing)
	summary = fmt.Sprintf("%d polls of %d devices from %s to %s each stored once (%d unreachable); %d more were excused by the test's own doing, of which %d not stored: %s",
		nPolls-nExcused, streamDevices, from.UTC().Format("15:04:05"), to.UTC().Format("15:04:05"), nUnreachable, nExcused, len(missing), strings.Join(missing, ", "))
	return problems, summary
}

// checkUnique counts rows against distinct keys in every table, whoever
// wrote them, and batches marked done against distinct batches.
func (c *streamCluster) checkUnique() {
	c.t.Helper()
	for _, q := range []string{
		"SELECT count(), uniqExact(node, ts) FROM unet.device_samples",
		"SELECT count(), uniqExact(node, ifname, ts) FROM unet.interface_samples",
		"SELECT count(), uniqExact(node, ifindex, ts) FROM unet.interface_samples",
		"SELECT count(), uniqExact(node, ts, kind, ifindex, from_state, to_state, detail) FROM unet.events",
		"SELECT count(), uniqExact(agent, seq) FROM unet.ingested_batches WHERE state = 'done'",
	} {
		if v := c.queryInts(q); v[0] != v[1] {
			c.t.Errorf("%s: %d rows, %d distinct: stored more than once", q, v[0], v[1])
		}
	}
}

// checkRates compares every stored rate with the simulator's, and counts
// the samples without one: only the first poll of an interface after an
// agent (re)start has none, outages or not.
func (c *streamCluster) checkRates(expected map[ifKey][2]float64) {
	c.t.Helper()
	worst, n := 0.0, 0
	var bad []string
	for _, r := range c.query(fmt.Sprintf("SELECT node, ifindex, in_bps, out_bps, speed_bps FROM unet.interface_samples WHERE agent = '%s' AND in_bps IS NOT NULL", streamAgent)) {
		idx, _ := strconv.Atoi(r[1])
		want, ok := expected[ifKey{r[0], idx}]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s ifIndex %d: not an interface of the simulator", r[0], idx))
			continue
		}
		speed, _ := strconv.ParseFloat(r[4], 64)
		for dir := range 2 {
			got, err := strconv.ParseFloat(r[2+dir], 64)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s ifIndex %d: rate %q", r[0], idx, r[2+dir]))
				continue
			}
			rel := math.Abs(got-want[dir]) / want[dir]
			worst = max(worst, rel)
			if rel > rateTolerance {
				bad = append(bad, fmt.Sprintf("%s ifIndex %d: %.0f b/s, the simulator serves %.0f (%.2f %%)", r[0], idx, got, want[dir], 100*rel))
			}
			// The profile: each interface between 0.2 and 1.8 times the
			// utilization of its speed (no uplinks among 4 interfaces).
			if u := got / speed; u < 0.2*streamUtilization*(1-rateTolerance) || u > 1.8*streamUtilization*(1+rateTolerance) {
				bad = append(bad, fmt.Sprintf("%s ifIndex %d: %.0f b/s is %.3f of its speed, outside the profile", r[0], idx, got, u))
			}
		}
		n++
	}
	if len(bad) > 0 {
		c.t.Fatalf("%d rates wrong, e.g.:\n  %s", len(bad), strings.Join(bad[:min(len(bad), 10)], "\n  "))
	}
	if n == 0 {
		c.t.Fatal("no rates stored")
	}
	for _, r := range c.query(fmt.Sprintf("SELECT node, ifindex, countIf(in_bps IS NULL) AS none FROM unet.interface_samples WHERE agent = '%s' GROUP BY node, ifindex HAVING none > %d", streamAgent, c.starts)) {
		c.t.Errorf("%s ifIndex %s: %s samples without rates, more than the agent's %d starts", r[0], r[1], r[2], c.starts)
	}
	c.t.Logf("%d interface samples with rates, each within %.3f %% of the simulator's (tolerance %.1f %%)", n, 100*worst, 100*rateTolerance)
}

// checkPace checks that the agent polled every device once an interval
// all along, outages of the collector and ClickHouse included, but while
// it was itself down: spooling is no excuse to stop polling.
func (c *streamCluster) checkPace(from, to time.Time) {
	c.t.Helper()
	for d, ps := range c.polls.snapshot() {
		var in []time.Time
		for _, p := range ps {
			if !p.Before(from) && p.Before(to) {
				in = append(in, p)
			}
		}
		for i := 1; i < len(in); i++ {
			gap := in[i].Sub(in[i-1])
			if gap <= streamInterval*3/2 {
				continue
			}
			if !slices.ContainsFunc(c.down, func(w downtime) bool { return w.from.Before(in[i]) && w.to.After(in[i-1]) }) {
				c.t.Errorf("%s: no poll for %s from %s while the agent ran", c.devs[d].Name, gap.Round(time.Millisecond), in[i-1].Format("15:04:05.000"))
				break
			}
		}
	}
}

// spoolRecord is a record of a spool segment (agent/spool's format).
type spoolRecord struct {
	seq       uint64
	off, size int64
	payload   []byte
}

// readSpool returns the last segment's path and records, and the ack
// watermark.
func readSpool(t *testing.T, dir string) (string, []spoolRecord, uint64) {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no spool segment in %s (%v)", dir, err)
	}
	slices.Sort(segs) // 20-digit names
	path := segs[len(segs)-1]
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("UNETSPL1")) {
		t.Fatalf("%s: no segment header", path)
	}
	var recs []spoolRecord
	for off := int64(8); off+24 <= int64(len(data)); {
		n := int64(binary.LittleEndian.Uint32(data[off:]))
		if off+24+n > int64(len(data)) {
			break
		}
		recs = append(recs, spoolRecord{seq: binary.LittleEndian.Uint64(data[off+8:]), off: off, size: 24 + n, payload: data[off+24 : off+24+n]})
		off += 24 + n
	}
	ack, err := os.ReadFile(filepath.Join(dir, "acked"))
	if err != nil || len(ack) < 8 {
		t.Fatalf("the spool's ack watermark: %v (%d bytes)", err, len(ack))
	}
	return path, recs, binary.LittleEndian.Uint64(ack)
}

// unspooled is called while the agent is stopped (at stopped): it finds
// the polls the simulator answered that are in no batch of the spool, and
// excuses them. Only the agent's last moments may be missing: polls whose
// output was still in memory, after the last batch was cut (a flush
// interval, plus a write the disk was slow to finish), or in flight.
// Everything the spool holds must reach ClickHouse once.
func (c *streamCluster) unspooled(stopped time.Time, why string) {
	c.t.Helper()
	_, recs, _ := readSpool(c.t, filepath.Join(c.agentData, "spool"))
	if len(recs) == 0 || recs[0].seq != 1 {
		c.t.Fatalf("the spool's last segment does not start at batch 1: cannot tell what was spooled")
	}
	spooled := map[string][]time.Time{}
	var lastCut time.Time
	for _, r := range recs {
		b, err := wire.Decode(r.payload, wire.DefaultLimits())
		if err != nil {
			c.t.Fatalf("spooled batch %d: %v", r.seq, err)
		}
		for _, d := range b.Devices {
			spooled[d.Node] = append(spooled[d.Node], d.Time)
		}
		if b.Created.After(lastCut) {
			lastCut = b.Created
		}
	}
	polls := c.polls.snapshot()
	var lost []string
	for d, dev := range c.devs {
		for _, p := range polls[d] {
			if p.After(stopped) || slices.ContainsFunc(spooled[dev.Name], func(t time.Time) bool { return t.Sub(p).Abs() < time.Second }) {
				continue
			}
			// Lost at an earlier stop (a kill -9), and excused then: a
			// later agent never had it to spool.
			if excusedBy(c.excuses, dev.Name, p) != nil {
				continue
			}
			if p.Before(lastCut.Add(-time.Second)) {
				c.t.Errorf("%s: the poll of %s is in no spooled batch, though batches were cut until %s", dev.Name,
					p.Format("15:04:05.000"), lastCut.Local().Format("15:04:05.000"))
			}
			c.excuses = append(c.excuses, excuse{node: dev.Name, from: p, to: p, why: why})
			lost = append(lost, p.Format("15:04:05.000"))
		}
	}
	c.t.Logf("%s: %d polls not in the spool (%v), the last batch cut at %s, %s before the stop", why, len(lost), lost,
		lastCut.Local().Format("15:04:05.000"), stopped.Sub(lastCut).Round(time.Millisecond))
}

// corruptSpool stops the agent, flips the last bytes of its spool's last
// segment (the last record's CRC no longer matches: a torn write), starts
// it, and checks that it cut the record, said so, and goes on.
func (c *streamCluster) corruptSpool() {
	c.t.Helper()
	stopped := c.stopAgent(syscall.SIGTERM)
	c.unspooled(stopped, "in flight at SIGTERM")
	dir := filepath.Join(c.agentData, "spool")
	path, recs, acked := readSpool(c.t, dir)
	if len(recs) == 0 {
		c.t.Fatalf("%s holds no record", path)
	}
	last := recs[len(recs)-1]
	if last.seq > acked {
		// Not acknowledged: the collector may or may not have it. Its
		// polls may be missing, never twice.
		b, err := wire.Decode(last.payload, wire.DefaultLimits())
		if err != nil {
			c.t.Fatalf("the last spooled batch %d: %v", last.seq, err)
		}
		for _, d := range b.Devices {
			c.excuses = append(c.excuses, excuse{node: d.Node, from: d.Time.Add(-time.Second), to: d.Time, why: "in the batch the corruption cut"})
		}
		c.t.Logf("the batch cut, %d (%d polls), was not acknowledged (watermark %d)", last.seq, len(b.Devices), acked)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	end := last.off + last.size
	buf := make([]byte, 8)
	if _, err := f.ReadAt(buf, end-8); err != nil {
		c.t.Fatal(err)
	}
	for i := range buf {
		buf[i] ^= 0xff
	}
	if _, err := f.WriteAt(buf, end-8); err != nil {
		c.t.Fatal(err)
	}
	f.Close()
	stored := c.queryInts(fmt.Sprintf("SELECT max(seq) FROM unet.ingested_batches WHERE agent = '%s' AND state = 'done'", streamAgent))[0]

	c.restartAgent(stopped)
	log := c.agent.stderr.String()
	if !strings.Contains(log, "torn or damaged tail cut") || !strings.Contains(log, `"reason":"CRC mismatch"`) ||
		!strings.Contains(log, fmt.Sprintf(`"offset":%d`, last.off)) || !strings.Contains(log, fmt.Sprintf(`"cut_bytes":%d`, last.size)) {
		c.t.Fatalf("the agent did not report the cut of batch %d at offset %d (%d bytes):\n%s", last.seq, last.off, last.size, tail(log, 4000))
	}
	if v := c.agentMetric("unet_spool_corruptions_total", `where="tail"`); v != 1 {
		c.t.Errorf("unet_spool_corruptions_total{where=\"tail\"} = %v, want 1", v)
	}
	// It goes on: new batches, numbered past the cut one, are stored.
	c.agent.waitFor("batches after the cut stored", func() bool {
		v := c.queryInts(fmt.Sprintf("SELECT max(seq) FROM unet.ingested_batches WHERE agent = '%s' AND state = 'done'", streamAgent))
		return uint64(v[0]) > last.seq && v[0] > stored
	})
	c.waitDrained("after the corrupt segment")
	if _, recs2, _ := readSpool(c.t, dir); slices.ContainsFunc(recs2, func(r spoolRecord) bool { return r.seq == last.seq }) {
		c.t.Errorf("the cut batch %d is still in %s", last.seq, path)
	}
}

// badInput sends refused and replayed batches to the running collector:
// each answered as the wire contract says, with a message, and the rows
// stored before unchanged.
func (c *streamCluster) badInput() {
	c.t.Helper()
	// A batch the collector stored, byte for byte as the agent sent it:
	// the spool keeps the active segment's acknowledged records.
	_, recs, acked := readSpool(c.t, filepath.Join(c.agentData, "spool"))
	if len(recs) == 0 || recs[0].seq > acked {
		c.t.Fatalf("no acknowledged batch in the spool (watermark %d, %d records)", acked, len(recs))
	}
	replay := recs[0]
	// The batches up to the spool's watermark are acknowledged: their rows
	// and 'begin' markers are in ClickHouse ('done' markers follow a
	// flush late), and nothing but bad input could change them.
	upTo := acked
	snapshot := func() string {
		var b strings.Builder
		for _, q := range []string{
			"SELECT count(), sum(toUInt64(ifNull(in_bps, 0))), sum(toUInt64(ifNull(out_bps, 0))) FROM unet.interface_samples WHERE agent = '%[1]s' AND seq <= %[2]d",
			"SELECT count(), sum(uptime_seconds) FROM unet.device_samples WHERE agent = '%[1]s' AND seq <= %[2]d",
			"SELECT count() FROM unet.events WHERE agent = '%[1]s' AND seq <= %[2]d",
			"SELECT count() FROM unet.ingested_batches WHERE agent = '%[1]s' AND seq <= %[2]d AND state = 'begin'",
			"SELECT count() FROM unet.interface_samples WHERE agent != '%[1]s'",
			"SELECT count() FROM unet.device_samples WHERE agent != '%[1]s'",
			"SELECT count() FROM unet.ingested_batches WHERE agent != '%[1]s'",
		} {
			fmt.Fprintln(&b, c.queryInts(fmt.Sprintf(q, streamAgent, upTo)))
		}
		return b.String()
	}
	before := snapshot()

	// A batch of another node, valid but large once decompressed: 200,000
	// identical samples compress to a few kB.
	big := wire.Batch{Agent: "intruder", Seq: 1, Created: time.Now()}
	for i := range 200_000 {
		big.Samples = append(big.Samples, model.Sample{Node: "intruder-node", Time: time.Now(), IfIndex: i % 4, IfName: "eth0",
			AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 1e9})
	}
	enc, err := wire.NewEncoder(wire.Limits{MaxCompressed: 16 << 20, MaxDecompressed: 64 << 20})
	if err != nil {
		c.t.Fatal(err)
	}
	bomb, err := enc.Encode(&big)
	if err != nil {
		c.t.Fatal(err)
	}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rand.N(256))
	}
	cases := []struct {
		name, agent, contentType string
		body                     []byte
		want                     int
	}{
		{"garbage", streamAgent, wire.ContentType, garbage, http.StatusBadRequest},
		{"truncated", streamAgent, wire.ContentType, replay.payload[:len(replay.payload)/2], http.StatusBadRequest},
		{"oversized body", streamAgent, wire.ContentType, bytes.Repeat([]byte{0x28}, 1<<20+1), http.StatusRequestEntityTooLarge},
		{"oversized once decompressed", "intruder", wire.ContentType, bomb, http.StatusRequestEntityTooLarge},
		{"not protobuf", streamAgent, "application/json", []byte(`{"seq": 1}`), http.StatusUnsupportedMediaType},
		{"replayed under another agent's name", "intruder", wire.ContentType, replay.payload, http.StatusBadRequest},
		{"replayed", streamAgent, wire.ContentType, replay.payload, http.StatusOK},
	}
	for _, tc := range cases {
		code, body := postIngest(c.t, c.collURL, tc.agent, tc.contentType, tc.body)
		if code != tc.want {
			c.t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
			continue
		}
		if code == http.StatusOK {
			// The wire contract: a batch already stored is acknowledged
			// (the agent that lost an answer must be able to let go of
			// it) and not stored again.
			if !strings.Contains(body, `"duplicate"`) {
				c.t.Errorf("%s: %s, want it acknowledged as a duplicate", tc.name, body)
			}
			c.t.Logf("%s batch %d: %d %s", tc.name, replay.seq, code, strings.TrimSpace(body))
			continue
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
			c.t.Errorf("%s: %d with no error message: %s", tc.name, code, body)
			continue
		}
		c.t.Logf("%s: %d %s", tc.name, code, e.Error.Message)
	}
	if after := snapshot(); after != before {
		c.t.Errorf("the rows stored changed under bad input:\nbefore %s\nafter %s", before, after)
	}
	if v := c.queryInts("SELECT count() FROM unet.interface_samples WHERE node = 'intruder-node'"); v[0] != 0 {
		c.t.Errorf("%d samples of the refused batch stored", v[0])
	}
}

// postIngest sends one body to the collector's ingest endpoint.
func postIngest(t *testing.T, base, agent, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+wire.IngestPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", wire.ContentEncoding)
	req.Header.Set(wire.HeaderAgent, agent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", wire.IngestPath, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrapeMetric sums the series of name (with all the labels given, as
// `k="v"`) at base/metrics; 0 when unreachable.
func scrapeMetric(base, name string, labels ...string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !all(labels, func(l string) bool { return strings.Contains(line, l) }) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

func all[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if !f(x) {
			return false
		}
	}
	return true
}

// tail is the end of a log, for failure messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
