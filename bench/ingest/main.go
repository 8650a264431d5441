// Command ingest measures the collector's ingest and history figures end to
// end: a real collector (embedded etcd, ClickHouse through --clickhouse)
// takes agent batches through POST /api/v1/ingest, as agents send them
// (wire.Encode'd, 5,000 interface samples a batch, a few in flight per
// agent), then answers history queries through its API.
//
//	go run ./bench/ingest [-devices 10000] [-interfaces 48] [-agents 10] [-paced 3] [-unpaced 5] [-queries 20]
//
// Phase 1 sends -paced poll cycles at the rate the fleet produces them
// (every device every -interval: 10,000 × 48 / 10 s = 48,000 rows/s) and
// reports the CPU it costs and the acknowledgement latency; phase 2 sends
// -unpaced cycles as fast as the collector takes them: the ceiling. Then
// history queries, timed through the API. Without -clickhouse it starts a
// ClickHouse of its own with deploy/clickhouse/run.sh in a temp directory.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/unet-project/unet/agent/sender"
	"github.com/unet-project/unet/bench/internal/benchkit"
	"github.com/unet-project/unet/collector"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

type options struct {
	devices, interfaces, agents, inFlight, batchRows int
	paced, unpaced, queries                          int
	interval                                         time.Duration
	clickhouse                                       string
}

func main() {
	var o options
	flag.IntVar(&o.devices, "devices", 10_000, "simulated devices (nodes), in 10 sites")
	flag.IntVar(&o.interfaces, "interfaces", 48, "interfaces per device")
	flag.IntVar(&o.agents, "agents", 10, "agents sending at once (one per site)")
	flag.IntVar(&o.inFlight, "in-flight", sender.DefaultConfig().MaxInFlight, "batches in flight per agent (the sender's max-in-flight)")
	flag.IntVar(&o.batchRows, "batch-rows", 5_000, "interface samples per batch (the agent's stream max-rows)")
	flag.IntVar(&o.paced, "paced", 3, "poll cycles sent at the fleet's rate")
	flag.IntVar(&o.unpaced, "unpaced", 5, "poll cycles sent as fast as the collector takes them")
	flag.IntVar(&o.queries, "queries", 20, "runs of each history query")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "poll interval of every device")
	flag.StringVar(&o.clickhouse, "clickhouse", "", "ClickHouse native address; empty: start one (deploy/clickhouse/run.sh)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "ingest bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "unet-bench-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	chPid := 0
	if o.clickhouse == "" {
		ch, err := benchkit.StartClickHouse(filepath.Join(dir, "clickhouse"))
		if err != nil {
			return err
		}
		defer ch.Stop()
		o.clickhouse, chPid = ch.Addr, ch.PID
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := collector.DefaultConfig()
	cfg.DataDir, cfg.Listen = filepath.Join(dir, "collector"), "127.0.0.1:0"
	cfg.API.MaxImportBytes = 256 << 20
	cfg.ClickHouse.Address = o.clickhouse
	cfg.ClickHouse.Database = fmt.Sprintf("bench_%d", time.Now().Unix())
	cfg.ClickHouse.PollInterval = o.interval
	c, err := collector.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + c.Addr()
	if err := importNodes(base, o.devices); err != nil {
		return err
	}

	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	fmt.Printf("encoding %d cycles of %d devices × %d interfaces...\n", o.paced+o.unpaced, o.devices, o.interfaces)
	t0 := time.Now()
	cycles := make([][][]batch, o.paced+o.unpaced) // cycle → agent → batches
	seqs := make([]uint64, o.agents)
	for cy := range cycles {
		cycles[cy] = makeCycle(o, seqs, cy, start.Add(time.Duration(cy)*o.interval))
	}
	fmt.Printf("encoded in %v\n", time.Since(t0).Round(time.Millisecond))
	waitIngest(base)

	rowsPerCycle := o.devices * o.interfaces
	fmt.Printf("\n%d interface samples per cycle (+ %d device samples); %d agents, %d in flight each, %d samples per batch\n",
		rowsPerCycle, o.devices, o.agents, o.inFlight, o.batchRows)
	if o.paced > 0 {
		r := send(base, o, cycles[:o.paced], true, chPid)
		r.print(fmt.Sprintf("paced: %d cycles at the fleet's rate (%.0f samples/s)", o.paced, float64(rowsPerCycle)/o.interval.Seconds()), rowsPerCycle*o.paced)
	}
	if o.unpaced > 0 {
		r := send(base, o, cycles[o.paced:], false, chPid)
		r.print(fmt.Sprintf("unpaced: %d cycles as fast as acknowledged", o.unpaced), rowsPerCycle*o.unpaced)
	}
	// Let the rollups' background merges settle a little before timing queries.
	time.Sleep(2 * time.Second)
	return queries(base, o)
}

// batch is one encoded request.
type batch struct {
	body  []byte
	agent string
	rows  int
}

// makeCycle encodes one poll of every device: agent a polls the devices
// of site a; one device in a hundred reports an oper status change.
func makeCycle(o options, seqs []uint64, cycle int, ts time.Time) [][]batch {
	out := make([][]batch, o.agents)
	var wg sync.WaitGroup
	for a := range o.agents {
		wg.Go(func() {
			name := fmt.Sprintf("bench-agent-%d", a)
			var b *wire.Batch
			flush := func() {
				if b == nil {
					return
				}
				body, err := wire.Encode(b)
				if err != nil {
					panic(err)
				}
				out[a] = append(out[a], batch{body: body, agent: name, rows: len(b.Samples)})
				b = nil
			}
			for d := a; d < o.devices; d += o.agents {
				if b == nil {
					seqs[a]++
					b = &wire.Batch{Agent: name, Seq: seqs[a], Created: ts}
				}
				node := fmt.Sprintf("n%05d", d)
				b.Devices = append(b.Devices, model.DeviceSample{Node: node, Time: ts, Reachable: d%97 != cycle%97,
					UptimeSeconds: int64(86400 + cycle*10), PollDurationSeconds: 0.02, Interfaces: o.interfaces})
				for i := range o.interfaces {
					in, out := float64((d*31+i*7+cycle)%1000)*1e6, float64((d*17+i*3)%1000)*1e6
					z := 0.0
					b.Samples = append(b.Samples, model.Sample{Node: node, Time: ts, IfIndex: i + 1, IfName: fmt.Sprintf("Ethernet%d", i+1),
						IntervalSeconds: o.interval.Seconds(), AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 10e9, Counter64: true,
						InOctets: uint64(cycle) * 1e9, OutOctets: uint64(cycle) * 5e8,
						Rates: model.Rates{InBps: &in, OutBps: &out, InPps: &z, OutPps: &z, InErrorsRate: &z, OutErrorsRate: &z, InDiscardsRate: &z, OutDiscardsRate: &z}})
				}
				if d%100 == cycle%100 {
					b.Events = append(b.Events, model.Event{Time: ts, Node: node, Kind: model.EventOperStatus, IfIndex: 1, IfName: "Ethernet1", From: "up", To: "down"})
				}
				if len(b.Samples)+o.interfaces > o.batchRows {
					flush()
				}
			}
			flush()
		})
	}
	wg.Wait()
	return out
}

type result struct {
	wall                time.Duration
	cpu, chCPU          time.Duration
	latencies           []time.Duration
	retries, batches    int64
	firstErr            error
	cyclesLate, maxLate time.Duration
}

// send posts the cycles' batches: every agent keeps in-flight requests
// going; paced, the batches of a cycle are spread over the interval.
func send(base string, o options, cycles [][][]batch, paced bool, chPid int) *result {
	r := &result{}
	var mu sync.Mutex
	var retries, batches atomic.Int64
	cpu0, ch0 := benchkit.ProcessCPU(os.Getpid()), benchkit.ProcessCPU(chPid)
	start := time.Now()
	for cy, agents := range cycles {
		cycleStart := start.Add(time.Duration(cy) * o.interval)
		var wg sync.WaitGroup
		for _, list := range agents {
			work := make(chan batch)
			for range o.inFlight {
				wg.Go(func() {
					for b := range work {
						lat, n, err := benchkit.PostBatch(base, b.agent, b.body, 500*time.Millisecond)
						retries.Add(int64(n))
						batches.Add(1)
						mu.Lock()
						r.latencies = append(r.latencies, lat)
						if err != nil && r.firstErr == nil {
							r.firstErr = err
						}
						mu.Unlock()
					}
				})
			}
			wg.Go(func() {
				defer close(work)
				for i, b := range list {
					if paced {
						time.Sleep(time.Until(cycleStart.Add(o.interval * time.Duration(i) / time.Duration(len(list)))))
					}
					work <- b
				}
			})
		}
		wg.Wait()
		if paced {
			if late := time.Since(cycleStart) - o.interval; late > r.maxLate {
				r.maxLate = late
			}
			time.Sleep(time.Until(cycleStart.Add(o.interval)))
		}
	}
	r.wall = time.Since(start)
	r.cpu, r.chCPU = benchkit.ProcessCPU(os.Getpid())-cpu0, benchkit.ProcessCPU(chPid)-ch0
	r.retries, r.batches = retries.Load(), batches.Load()
	return r
}

func (r *result) print(title string, rows int) {
	fmt.Printf("\n%s\n", title)
	if r.firstErr != nil {
		fmt.Printf("  ERROR: %v\n", r.firstErr)
	}
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		return r.latencies[int(p*float64(len(r.latencies)-1))].Round(time.Millisecond)
	}
	fmt.Printf("  %d interface samples in %d batches in %v: %.0f samples/s\n", rows, r.batches, r.wall.Round(time.Millisecond), float64(rows)/r.wall.Seconds())
	fmt.Printf("  acknowledgement latency: p50 %v, p90 %v, p99 %v, max %v; %d answers 429/503 (retried)\n",
		pct(0.5), pct(0.9), pct(0.99), pct(1), r.retries)
	fmt.Printf("  CPU: collector process (with the load generator's HTTP client) %.2f cores", r.cpu.Seconds()/r.wall.Seconds())
	if r.chCPU > 0 {
		fmt.Printf(", ClickHouse %.2f cores", r.chCPU.Seconds()/r.wall.Seconds())
	}
	fmt.Println()
	if r.maxLate > 0 {
		fmt.Printf("  slowest cycle finished %v after its interval\n", r.maxLate.Round(time.Millisecond))
	}
}

// queries times the history routes.
func queries(base string, o options) error {
	node := fmt.Sprintf("n%05d", o.devices/2)
	list := []struct{ name, path string }{
		{"interface history, 1 h raw", "/api/v1/history/interfaces?node=" + node + "&ifname=Ethernet7&from=-2h"},
		{"interface history, 1 h in 5-minute steps", "/api/v1/history/interfaces?node=" + node + "&ifname=Ethernet7&from=-2h&step=5m"},
		{"top 10 in_bps of a site (1/10 of the nodes)", "/api/v1/history/top?metric=in_bps&site=site3&n=10&from=-2h"},
		{"top 10 utilisation of every node", "/api/v1/history/top?metric=utilisation&n=10&from=-2h"},
		{"availability of a site", "/api/v1/history/availability?site=site3&from=-2h"},
		{"availability of one node", "/api/v1/history/availability?node=" + node + "&from=-2h"},
		{"events of a node", "/api/v1/history/events?node=" + node + "&from=-2h"},
		{"events, every node, 1000 newest", "/api/v1/history/events?from=-2h&limit=1000"},
		{"latest state of a node (memory)", "/api/v1/nodes/" + node + "/status"},
		// What top and availability of a site spend before ClickHouse.
		{"for comparison: a site's nodes from etcd", "/api/v1/nodes?location=site3&limit=5000"},
		{"for comparison: 5,000 nodes from etcd (a page)", "/api/v1/nodes?limit=5000"},
	}
	fmt.Printf("\nhistory queries through the API (%d runs each; median, p90)\n", o.queries)
	for _, q := range list {
		var ds []time.Duration
		size := 0
		for range o.queries {
			start := time.Now()
			resp, err := http.Get(base + q.path)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ds = append(ds, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s %s", q.path, resp.Status, body)
			}
			size = len(body)
		}
		slices.Sort(ds)
		fmt.Printf("  %-46s %8v %8v   (%d bytes)\n", q.name, ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*9/10].Round(10*time.Microsecond), size)
	}
	return nil
}

// importNodes creates the nodes n00000… in ten sites, through the import.
func importNodes(base string, n int) error {
	var b bytes.Buffer
	b.WriteString("kind,name,location_kind,parent,vendor,role,lifecycle,management_address,location,snmp_profile,snmp_version,community,a,z\n")
	b.WriteString("location,world,region,,,,,,,,,,,\n")
	for s := range 10 {
		fmt.Fprintf(&b, "location,site%d,site,world,,,,,,,,,,\n", s)
	}
	b.WriteString("snmp-profile,bench,,,,,,,,,2c,public,,\n")
	for i := range n {
		fmt.Fprintf(&b, "node,n%05d,,,arista,switch,live,10.%d.%d.%d,site%d,bench,,,,\n", i, i>>16&255, i>>8&255, i&255, i%10)
	}
	resp, err := http.Post(base+"/api/v1/import?format=csv", "text/csv", &b)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("import: %s: %.300s", resp.Status, body)
	}
	return nil
}

// waitIngest waits until the collector has connected to ClickHouse.
func waitIngest(base string) {
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/api/v1/history/events?from=-1m")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
}
