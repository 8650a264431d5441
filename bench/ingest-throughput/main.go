// Command ingest-throughput measures interface samples per second from
// agents through the collector into ClickHouse, and the ratio to
// ClickHouse's own insert speed of the same rows in the same run (issue 5:
// the collector path at 70 % of the direct load or better).
//
//	go run ./bench/ingest-throughput                    # 8 agents × 125 batches of 100 devices × 48 interfaces
//	go run ./bench/ingest-throughput -batches 20        # a quick check
//
// The collector is the real binary (cmd/unet-collector, built here) run
// with --clickhouse against a ClickHouse this program starts with
// deploy/clickhouse/run.sh (or -addr). Senders behave like agents: each has
// its own name and sequence numbers from 1, up to -in-flight batches in
// flight (the agent's stream.max-in-flight default), and waits the
// collector's Retry-After on 429 and 503. Batches are encoded before the
// clock starts: the figure is the collector's, not the agents' encoding.
//
// Then the same rows (regenerated: the generator is deterministic) are
// loaded into a fresh database of the same schema (history.New: rollup
// views included) by plain clickhouse-go PrepareBatch inserts of
// -direct-batch rows, -direct-loaders at once: ClickHouse's own insert
// speed. And, to tell the writer's share from HTTP and decoding, through
// collector/history's writer (Store.Write) with the collector's defaults.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unet-project/unet/agent/sender"
	"github.com/unet-project/unet/bench/internal/benchkit"
	"github.com/unet-project/unet/collector"
	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

type options struct {
	addr                       string
	pid                        int
	agents, batches, devices   int
	interfaces, inFlight       int
	directBatch, directLoaders int
	skipWriter, skipSmall      bool
	collectorBin               string
	interval                   time.Duration
	runs                       int
	cpuprofile                 string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "", "ClickHouse native address; empty: start one with deploy/clickhouse/run.sh in a temp dir")
	flag.IntVar(&o.pid, "pid", 0, "ClickHouse server pid, to report its CPU when -addr is given")
	flag.IntVar(&o.agents, "agents", 8, "concurrent senders, each an agent with its own name and sequence numbers")
	flag.IntVar(&o.batches, "batches", 125, "batches each agent sends")
	flag.IntVar(&o.devices, "devices", 100, "devices per batch")
	flag.IntVar(&o.interfaces, "interfaces", 48, "interfaces per device")
	flag.IntVar(&o.inFlight, "in-flight", sender.DefaultConfig().MaxInFlight, "batches in flight per agent (the agent's stream.max-in-flight default)")
	flag.IntVar(&o.directBatch, "direct-batch", 500_000, "interface samples per insert of the direct load")
	flag.IntVar(&o.directLoaders, "direct-loaders", 2, "concurrent inserts of the direct load")
	flag.BoolVar(&o.skipSmall, "skip-small", false, "skip the second direct load shaped like the writer's largest inserts (its default batch-rows and inserters)")
	flag.BoolVar(&o.skipWriter, "skip-writer", false, "skip the load through history's writer")
	flag.StringVar(&o.collectorBin, "collector", "", "unet-collector binary (default: go build ./cmd/unet-collector)")
	flag.DurationVar(&o.interval, "interval", time.Minute, "poll interval the samples' times and rates assume")
	flag.IntVar(&o.runs, "runs", 1, "repeat the collector and direct measurements this many times (alternating), fresh databases each")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "run the collector inside this program (collector.New, same defaults) and write a CPU profile of the collector phase here")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "ingest-throughput:", err)
		os.Exit(1)
	}
}

type figures struct {
	name      string
	samples   int // interface samples
	rows      int // all rows: interface and device samples, events
	wall      time.Duration
	benchCPU  time.Duration // this process (senders or loaders)
	procCPU   time.Duration // the collector's, for the collector path
	chCPU     time.Duration
	retries   int64 // 429/503 answers waited out
	peakRSS   int64 // the collector's VmHWM, bytes (0: run in this process)
	lat       []time.Duration
	loadStart string
	// From the collector's /metrics: where the writer's time went.
	flushes, flushRows float64
	insertSecs         map[string]float64 // by table
}

func (f *figures) rate() float64 { return float64(f.samples) / f.wall.Seconds() }

// peakNote is "; collector peak RSS N MB", or nothing when not measured.
func (f *figures) peakNote() string {
	if f.peakRSS == 0 {
		return ""
	}
	return fmt.Sprintf("; collector peak RSS %d MB", f.peakRSS>>20)
}

func run(o options) error {
	root, err := benchkit.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "unet-ingest-throughput-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("load average at start: %s\n", benchkit.LoadAvg())
	if o.addr == "" {
		ch, err := benchkit.StartClickHouse(filepath.Join(dir, "clickhouse"))
		if err != nil {
			return err
		}
		defer ch.Stop()
		o.addr, o.pid = ch.Addr, ch.PID
	}
	if o.collectorBin == "" && o.cpuprofile == "" {
		o.collectorBin = filepath.Join(dir, "unet-collector")
		fmt.Println("building cmd/unet-collector...")
		cmd := exec.Command("go", "build", "-o", o.collectorBin, "./cmd/unet-collector")
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build the collector: %w", err)
		}
	}

	perBatch := o.devices * o.interfaces
	g := &generator{o: o, start: time.Now().UTC().Truncate(o.interval).Add(-time.Duration(o.batches+1) * o.interval)}
	fmt.Printf("encoding %d agents × %d batches of %d devices × %d interfaces...\n", o.agents, o.batches, o.devices, o.interfaces)
	t0 := time.Now()
	bodies, err := g.encodeAll()
	if err != nil {
		return err
	}
	size := 0
	for _, a := range bodies {
		for _, b := range a {
			size += len(b)
		}
	}
	fmt.Printf("  %d batches, %s interface samples, %.0f MB on the wire, encoded in %v\n",
		o.agents*o.batches, commas(o.agents*o.batches*perBatch), float64(size)/1e6, time.Since(t0).Round(time.Millisecond))

	var viaCollector, direct, small, writer []*figures
	for r := range o.runs {
		suffix := fmt.Sprintf("%d_%d", time.Now().Unix(), r)
		f, err := collectorRun(o, dir, "ingest_collector_"+suffix, bodies)
		if err != nil {
			return err
		}
		viaCollector = append(viaCollector, f)
		f.print()
		if f, err = directRun(o, g, "ingest_direct_"+suffix, o.directBatch, o.directLoaders); err != nil {
			return err
		}
		direct = append(direct, f)
		f.print()
		if !o.skipSmall {
			// For context: ClickHouse's speed for inserts shaped like the
			// writer's largest (its default batch-rows and inserters).
			hc := history.DefaultConfig()
			if f, err = directRun(o, g, "ingest_small_"+suffix, hc.BatchRows, hc.Inserters); err != nil {
				return err
			}
			small = append(small, f)
			f.print()
		}
		if !o.skipWriter {
			if f, err = writerRun(o, g, "ingest_writer_"+suffix); err != nil {
				return err
			}
			writer = append(writer, f)
			f.print()
		}
	}
	report(o, viaCollector, direct, small, writer, size)
	return nil
}

// generator makes the batches: agent a polls its own devices; batch k
// holds devices [(k%10)·devices, …) of poll cycle k/10, so that each
// agent polls 10 × devices devices every interval; one device in 200
// reports an oper status change. Deterministic: the direct load
// regenerates the same rows.
type generator struct {
	o     options
	start time.Time
}

func (g *generator) agentName(a int) string { return fmt.Sprintf("bench-agent-%02d", a) }

func (g *generator) batch(a, k int) *wire.Batch {
	o := g.o
	cycle, block := k/10, k%10
	ts := g.start.Add(time.Duration(cycle) * o.interval)
	b := &wire.Batch{Agent: g.agentName(a), Seq: uint64(k + 1), Created: ts.Add(2 * time.Second)}
	rates := make([]float64, 8*o.devices*o.interfaces)
	for dv := range o.devices {
		d := a*10*o.devices + block*o.devices + dv
		node := fmt.Sprintf("site%02d-sw%05d", a, d)
		b.Devices = append(b.Devices, model.DeviceSample{Node: node, Time: ts, Reachable: true,
			UptimeSeconds: int64(86400*30 + cycle*60), PollDurationSeconds: 0.05 + float64(d%7)/100, Interfaces: o.interfaces})
		for i := range o.interfaces {
			h := splitmix(uint64(d)<<20 ^ uint64(i)<<8 ^ uint64(cycle))
			speed := uint64(1e9)
			if i < 4 {
				speed = 10e9
			}
			util := (0.02 + 0.5*unit(splitmix(uint64(d*64+i)))) * (0.9 + 0.2*unit(h))
			in := float64(speed) * util
			out := in * (0.4 + 0.5*unit(h>>7))
			r := rates[(dv*o.interfaces+i)*8 : (dv*o.interfaces+i+1)*8 : (dv*o.interfaces+i+1)*8]
			r[0], r[1], r[2], r[3] = in, out, in/6400, out/6400
			if h%1000 == 0 {
				r[4] = 0.5
			}
			if h%300 == 1 {
				r[6] = 3
			}
			oper := model.IfUp
			if splitmix(uint64(d*64+i))%20 == 0 {
				oper = model.IfDown
				r[0], r[1], r[2], r[3] = 0, 0, 0, 0
			}
			secs := uint64(ts.Sub(g.start).Seconds()) + 1e6
			b.Samples = append(b.Samples, model.Sample{Node: node, Time: ts, IfIndex: i + 1, IfName: fmt.Sprintf("xe-0/0/%d", i),
				IntervalSeconds: o.interval.Seconds(), AdminStatus: model.IfUp, OperStatus: oper, SpeedBps: speed, Counter64: true,
				InOctets: uint64(in/8) * secs, OutOctets: uint64(out/8) * secs, InPkts: uint64(in/6400) * secs, OutPkts: uint64(out/6400) * secs,
				Rates: model.Rates{InBps: &r[0], OutBps: &r[1], InPps: &r[2], OutPps: &r[3],
					InErrorsRate: &r[4], OutErrorsRate: &r[5], InDiscardsRate: &r[6], OutDiscardsRate: &r[7]}})
		}
		if splitmix(uint64(d)^uint64(cycle)<<32)%200 == 0 {
			b.Events = append(b.Events, model.Event{Time: ts, Node: node, Kind: model.EventOperStatus, IfIndex: 3, IfName: "xe-0/0/2", From: "up", To: "down"})
		}
	}
	return b
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func (g *generator) encodeAll() ([][][]byte, error) {
	out := make([][][]byte, g.o.agents)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for a := range g.o.agents {
		wg.Go(func() {
			for k := range g.o.batches {
				body, err := wire.Encode(g.batch(a, k))
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				out[a] = append(out[a], body)
			}
		})
	}
	wg.Wait()
	return out, firstErr
}

func cmpErr(have, err error) error {
	if have != nil {
		return have
	}
	return err
}

// collectorRun starts a collector on a database of its own and sends
// every batch through POST /api/v1/ingest.
func collectorRun(o options, dir, database string, bodies [][][]byte) (*figures, error) {
	port := benchkit.FreePort()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	data := filepath.Join(dir, database)
	defer os.RemoveAll(data)
	logs := &bytes.Buffer{}
	pid := 0
	if o.cpuprofile == "" {
		cmd := exec.Command(o.collectorBin, "--data-dir", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
			"--clickhouse", o.addr, "--clickhouse-database", database, "--log-level", "warn", "--log-format", "text")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}()
		pid = cmd.Process.Pid
	} else {
		// In this process, for the profile: the same defaults as the
		// binary's, the senders' (small) cost included in the profile.
		cfg := collector.DefaultConfig()
		cfg.DataDir, cfg.Listen = data, fmt.Sprintf("127.0.0.1:%d", port)
		cfg.ClickHouse.Address, cfg.ClickHouse.Database = o.addr, database
		ctx, cancel := context.WithCancel(context.Background())
		c, err := collector.New(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			cancel()
			return nil, err
		}
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		defer func() { cancel(); <-done }()
	}
	if err := waitIngest(base, 60*time.Second); err != nil {
		return nil, fmt.Errorf("%w\ncollector logs:\n%s", err, logs)
	}
	if o.cpuprofile != "" {
		pf, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); pf.Close() }()
	}
	f := &figures{name: "agents → collector → ClickHouse", loadStart: benchkit.LoadAvg()}
	var retries atomic.Int64
	var mu sync.Mutex
	var firstErr error
	m0, err := scrape(base)
	if err != nil {
		return nil, err
	}
	cpu0, col0, ch0 := benchkit.ProcessCPU(os.Getpid()), benchkit.ProcessCPU(pid), benchkit.ProcessCPU(o.pid)
	start := time.Now()
	var wg sync.WaitGroup
	for a := range o.agents {
		work := make(chan []byte)
		for range o.inFlight {
			wg.Go(func() {
				for body := range work {
					lat, n, err := benchkit.PostBatch(base, agentName(a), body, 0)
					retries.Add(int64(n))
					mu.Lock()
					f.lat = append(f.lat, lat)
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			defer close(work)
			for _, b := range bodies[a] {
				work <- b
			}
		})
	}
	wg.Wait()
	f.wall = time.Since(start)
	f.benchCPU, f.procCPU, f.chCPU = benchkit.ProcessCPU(os.Getpid())-cpu0, benchkit.ProcessCPU(pid)-col0, benchkit.ProcessCPU(o.pid)-ch0
	if pid != 0 {
		_, f.peakRSS, _ = benchkit.Memory(pid)
	}
	f.retries = retries.Load()
	m1, err := scrape(base)
	if err != nil {
		return nil, err
	}
	f.flushes = m1["unet_history_flush_rows_count"] - m0["unet_history_flush_rows_count"]
	f.flushRows = m1["unet_history_flush_rows_sum"] - m0["unet_history_flush_rows_sum"]
	f.insertSecs = map[string]float64{}
	for k, v := range m1 {
		if t, ok := strings.CutPrefix(k, `unet_history_insert_duration_seconds_sum{table="`); ok {
			f.insertSecs[strings.TrimSuffix(t, `"}`)] = v - m0[k]
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("ingest: %w\ncollector logs:\n%s", firstErr, logs)
	}
	// Count what ClickHouse holds: every row acknowledged is in.
	n, err := countRows(o.addr, database)
	if err != nil {
		return nil, err
	}
	f.samples, f.rows = n[0], n[0]+n[1]+n[2]
	if want := o.agents * o.batches * o.devices * o.interfaces; f.samples != want {
		return nil, fmt.Errorf("ClickHouse holds %d interface samples after the collector acknowledged %d", f.samples, want)
	}
	return f, nil
}

func agentName(a int) string { return (&generator{}).agentName(a) }

// scrape reads the collector's /metrics: the value of every sample
// without labels or with a table label (enough for the writer's figures).
func scrape(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, nil
}

// waitIngest waits until the collector answers and has its ClickHouse
// connection (the history routes answer 503 until then).
func waitIngest(base string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/api/v1/history/events?from=-1m")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the collector at %s did not serve history within %v", base, timeout)
}

func open(addr, database string, conns int) (driver.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:         []string{addr},
		Auth:         clickhouse.Auth{Database: database, Username: "default"},
		DialTimeout:  10 * time.Second,
		MaxOpenConns: conns,
		MaxIdleConns: conns,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
}

func countRows(addr, database string) ([3]int, error) {
	var out [3]int
	conn, err := open(addr, database, 1)
	if err != nil {
		return out, err
	}
	defer conn.Close()
	for i, t := range []string{"interface_samples", "device_samples", "events"} {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+t).Scan(&n); err != nil {
			return out, err
		}
		out[i] = int(n)
	}
	return out, nil
}

// newSchema creates a database with the collector's schema (views
// included) through history.New.
func newSchema(o options, database string, tweak func(*history.Config)) (*history.Store, error) {
	cfg := history.DefaultConfig()
	cfg.Address, cfg.Database, cfg.RetentionInterval = o.addr, database, 0
	if tweak != nil {
		tweak(&cfg)
	}
	return history.New(context.Background(), cfg, history.Dependencies{})
}

// directRun loads the same rows with plain clickhouse-go PrepareBatch
// inserts of batch interface samples (and their device samples and
// events), loaders at once. Rows are generated into model types
// before the clock starts and turned into columns inside it: as the
// collector has to.
func directRun(o options, g *generator, database string, batch, loaders int) (*figures, error) {
	s, err := newSchema(o, database, nil)
	if err != nil {
		return nil, err
	}
	s.Close()
	conn, err := open(o.addr, database, loaders+1)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	perInsert := max(1, batch/(o.devices*o.interfaces))
	var groups [][]*wire.Batch
	for k := range o.batches {
		for a := range o.agents {
			if len(groups) == 0 || len(groups[len(groups)-1]) == perInsert {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], g.batch(a, k))
		}
	}
	f := &figures{name: fmt.Sprintf("direct: clickhouse-go PrepareBatch, %s samples per insert, %d at once", commas(perInsert*o.devices*o.interfaces), loaders), loadStart: benchkit.LoadAvg()}
	cpu0, ch0 := benchkit.ProcessCPU(os.Getpid()), benchkit.ProcessCPU(o.pid)
	start := time.Now()
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range loaders {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(groups) {
					return
				}
				if err := insertGroup(conn, groups[i]); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	f.wall = time.Since(start)
	f.benchCPU, f.chCPU = benchkit.ProcessCPU(os.Getpid())-cpu0, benchkit.ProcessCPU(o.pid)-ch0
	if firstErr != nil {
		return nil, firstErr
	}
	n, err := countRows(o.addr, database)
	if err != nil {
		return nil, err
	}
	f.samples, f.rows = n[0], n[0]+n[1]+n[2]
	return f, nil
}

// writerRun loads the same rows through history's writer (Store.Write,
// the collector's defaults: coalesced flushes of up to batch-rows rows,
// two inserters, markers), one call per agent batch with agents × in-flight
// callers: the collector path without HTTP and decoding.
func writerRun(o options, g *generator, database string) (*figures, error) {
	s, err := newSchema(o, database, nil)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	// Generated before the clock starts, as decoded batches would be.
	all := make([][]history.Batch, o.agents)
	for a := range o.agents {
		for k := range o.batches {
			b := g.batch(a, k)
			all[a] = append(all[a], history.Batch{Agent: b.Agent, Seq: b.Seq, Samples: b.Samples, DeviceSamples: b.Devices, Events: b.Events})
		}
	}
	f := &figures{name: "history writer (Store.Write, collector defaults), no HTTP", loadStart: benchkit.LoadAvg()}
	cpu0, ch0 := benchkit.ProcessCPU(os.Getpid()), benchkit.ProcessCPU(o.pid)
	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for a := range o.agents {
		work := make(chan history.Batch)
		for range o.inFlight {
			wg.Go(func() {
				for b := range work {
					for {
						err := s.Write(context.Background(), b)
						if d, ok := history.RetryAfter(err); ok {
							time.Sleep(d)
							continue
						}
						if err != nil {
							mu.Lock()
							firstErr = cmpErr(firstErr, err)
							mu.Unlock()
						}
						break
					}
				}
			})
		}
		wg.Go(func() {
			defer close(work)
			for _, b := range all[a] {
				work <- b
			}
		})
	}
	wg.Wait()
	f.wall = time.Since(start)
	f.benchCPU, f.chCPU = benchkit.ProcessCPU(os.Getpid())-cpu0, benchkit.ProcessCPU(o.pid)-ch0
	if firstErr != nil {
		return nil, firstErr
	}
	n, err := countRows(o.addr, database)
	if err != nil {
		return nil, err
	}
	f.samples, f.rows = n[0], n[0]+n[1]+n[2]
	return f, nil
}

// insertGroup inserts the batches' interface samples, device samples and
// events, one PrepareBatch per table, whole columns at a time.
func insertGroup(conn driver.Conn, batches []*wire.Batch) error {
	ctx := context.Background()
	n := 0
	for _, b := range batches {
		n += len(b.Samples)
	}
	node, ifname, ts := make([]string, 0, n), make([]string, 0, n), make([]time.Time, 0, n)
	ifindex, interval := make([]uint32, 0, n), make([]float32, 0, n)
	admin, oper := make([]string, 0, n), make([]string, 0, n)
	speed, c64, disc := make([]uint64, 0, n), make([]uint8, 0, n), make([]uint8, 0, n)
	var rates [8][]*float64
	for i := range rates {
		rates[i] = make([]*float64, 0, n)
	}
	agent, seq := make([]string, 0, n), make([]uint64, 0, n)
	for _, b := range batches {
		for i := range b.Samples {
			x := &b.Samples[i]
			node, ifname, ts = append(node, x.Node), append(ifname, x.IfName), append(ts, x.Time)
			ifindex, interval = append(ifindex, uint32(x.IfIndex)), append(interval, float32(x.IntervalSeconds))
			admin, oper = append(admin, string(x.AdminStatus)), append(oper, string(x.OperStatus))
			speed, c64, disc = append(speed, x.SpeedBps), append(c64, b2u(x.Counter64)), append(disc, b2u(x.Discontinuity))
			for j, p := range [8]*float64{x.InBps, x.OutBps, x.InPps, x.OutPps, x.InErrorsRate, x.OutErrorsRate, x.InDiscardsRate, x.OutDiscardsRate} {
				rates[j] = append(rates[j], p)
			}
			agent, seq = append(agent, b.Agent), append(seq, b.Seq)
		}
	}
	cols := []any{node, ifname, ts, ifindex, interval, admin, oper, speed, c64, disc}
	for _, r := range rates {
		cols = append(cols, r)
	}
	if err := insert(ctx, conn, "interface_samples", "node, ifname, ts, ifindex, interval_seconds, admin_status, oper_status, speed_bps, counter64, discontinuity, "+
		"in_bps, out_bps, in_pps, out_pps, in_errors, out_errors, in_discards, out_discards, agent, seq", append(cols, agent, seq)); err != nil {
		return err
	}

	var dNode, dErr, dAgent []string
	var dTS []time.Time
	var dReach []uint8
	var dUp, dSeq []uint64
	var dDur []float32
	var dIfs []uint32
	var dNames [][]string
	var dValues [][]float64
	for _, b := range batches {
		for _, x := range b.Devices {
			dNode, dTS, dReach, dErr = append(dNode, x.Node), append(dTS, x.Time), append(dReach, b2u(x.Reachable)), append(dErr, x.Error)
			dUp, dDur, dIfs = append(dUp, uint64(max(0, x.UptimeSeconds))), append(dDur, float32(x.PollDurationSeconds)), append(dIfs, uint32(x.Interfaces))
			dNames, dValues = append(dNames, []string{}), append(dValues, []float64{})
			dAgent, dSeq = append(dAgent, b.Agent), append(dSeq, b.Seq)
		}
	}
	if err := insert(ctx, conn, "device_samples", "node, ts, reachable, error, uptime_seconds, poll_duration_seconds, interfaces, extra_names, extra_values, agent, seq",
		[]any{dNode, dTS, dReach, dErr, dUp, dDur, dIfs, dNames, dValues, dAgent, dSeq}); err != nil {
		return err
	}

	var eNode, eKind, eIfname, eFrom, eTo, eAgent, empty []string
	var eTS []time.Time
	var eIfindex, zeros32 []uint32
	var zeros8 []uint8
	var eSeq []uint64
	for _, b := range batches {
		for _, x := range b.Events {
			eNode, eTS, eKind = append(eNode, x.Node), append(eTS, x.Time), append(eKind, string(x.Kind))
			eIfindex, eIfname, eFrom, eTo = append(eIfindex, uint32(x.IfIndex)), append(eIfname, x.IfName), append(eFrom, x.From), append(eTo, x.To)
			eAgent, eSeq = append(eAgent, b.Agent), append(eSeq, b.Seq)
			empty, zeros32, zeros8 = append(empty, ""), append(zeros32, 0), append(zeros8, 0)
		}
	}
	if len(eNode) == 0 {
		return nil
	}
	return insert(ctx, conn, "events", "node, ts, kind, ifindex, ifname, from_state, to_state, detail, has_neighbor, neighbor_local_port, neighbor_local_ifindex, "+
		"neighbor_chassis_id, neighbor_port_id, neighbor_port_descr, neighbor_sys_name, agent, seq",
		[]any{eNode, eTS, eKind, eIfindex, eIfname, eFrom, eTo, empty, zeros8, empty, zeros32, empty, empty, empty, empty, eAgent, eSeq})
}

func insert(ctx context.Context, conn driver.Conn, table, columns string, cols []any) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
	if err != nil {
		return err
	}
	for i, c := range cols {
		if err := b.Column(i).Append(c); err != nil {
			_ = b.Abort()
			return fmt.Errorf("%s column %d: %w", table, i, err)
		}
	}
	return b.Send()
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (f *figures) print() {
	fmt.Printf("\n%s (load avg %s at its start)\n", f.name, f.loadStart)
	fmt.Printf("  %s interface samples (%s rows with device samples and events) in %v: %s samples/s\n",
		commas(f.samples), commas(f.rows), f.wall.Round(time.Millisecond), commas(int(f.rate())))
	if f.flushes > 0 {
		var tables []string
		total := 0.0
		for t, v := range f.insertSecs {
			tables = append(tables, fmt.Sprintf("%s %.1f s", t, v))
			total += v
		}
		slices.Sort(tables)
		fmt.Printf("  writer: %.0f flushes of %.0f rows on average; inserts took %.1f s of the %.1f s (%s)\n",
			f.flushes, f.flushRows/f.flushes, total, f.wall.Seconds(), strings.Join(tables, ", "))
	}
	if len(f.lat) > 0 {
		fmt.Printf("  acknowledgement: p50 %v, p90 %v, max %v; %d answers 429/503 waited out\n", pct(f.lat, 0.5), pct(f.lat, 0.9), pct(f.lat, 1), f.retries)
	}
	fmt.Printf("  CPU (cores): this program %.2f", f.benchCPU.Seconds()/f.wall.Seconds())
	if f.procCPU > 0 {
		fmt.Printf(", collector %.2f", f.procCPU.Seconds()/f.wall.Seconds())
	}
	if f.chCPU > 0 {
		fmt.Printf(", ClickHouse %.2f", f.chCPU.Seconds()/f.wall.Seconds())
	}
	fmt.Print(f.peakNote())
	fmt.Println()
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Round(p*float64(len(s)-1)))].Round(time.Millisecond)
}

func median(fs []*figures) *figures {
	s := slices.Clone(fs)
	slices.SortFunc(s, func(a, b *figures) int {
		switch {
		case a.rate() < b.rate():
			return -1
		case a.rate() > b.rate():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func report(o options, via, direct, small, writer []*figures, wireBytes int) {
	fmt.Printf("\n### Ingest throughput\n\n```\ngo run ./bench/ingest-throughput %s\n```\n\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("%d agents × %d batches of %d devices × %d interfaces (%s interface samples, %d device samples and ~1 event in 200 devices per batch; %.0f KB per batch on the wire), %d in flight per agent; load average at the end %s.\n\n",
		o.agents, o.batches, o.devices, o.interfaces, commas(o.devices*o.interfaces), o.devices, float64(wireBytes)/float64(o.agents*o.batches)/1e3, o.inFlight, benchkit.LoadAvg())
	fmt.Println("| path | interface samples/s | runs | CPU (cores): collector / ClickHouse / sender or loader | notes |")
	fmt.Println("| --- | ---: | --- | --- | --- |")
	row := func(fs []*figures, notes func(*figures) string) {
		m := median(fs)
		var runs []string
		for _, f := range fs {
			runs = append(runs, commas(int(f.rate())))
		}
		col := "–"
		if m.procCPU > 0 {
			col = fmt.Sprintf("%.2f", m.procCPU.Seconds()/m.wall.Seconds())
		}
		fmt.Printf("| %s | **%s** | %s | %s / %.2f / %.2f | %s |\n", m.name, commas(int(m.rate())), strings.Join(runs, ", "), col,
			m.chCPU.Seconds()/m.wall.Seconds(), m.benchCPU.Seconds()/m.wall.Seconds(), notes(m))
	}
	row(via, func(f *figures) string {
		return fmt.Sprintf("ack p50 %v, p90 %v; %d × 429/503 waited out%s", pct(f.lat, 0.5), pct(f.lat, 0.9), f.retries, f.peakNote())
	})
	row(direct, func(*figures) string {
		return "same rows, fresh database, same schema (views firing): the ratio's reference"
	})
	if len(small) > 0 {
		row(small, func(*figures) string { return "same rows: inserts shaped like the writer's defaults" })
	}
	if len(writer) > 0 {
		row(writer, func(*figures) string { return "same rows, fresh database" })
	}
	var ratios []float64
	for i := range via {
		ratios = append(ratios, via[i].rate()/direct[i].rate())
	}
	slices.Sort(ratios)
	r := ratios[len(ratios)/2]
	verdict := "MET"
	if r < 0.7 {
		verdict = "MISSED"
	}
	fmt.Printf("\nCollector path / direct load (median of %d, each within one run): **%.0f %%** (target ≥ 70 %%: **%s**)\n", len(ratios), 100*r, verdict)
	if len(writer) > 0 {
		var wr []float64
		for i := range writer {
			wr = append(wr, writer[i].rate()/direct[i].rate())
		}
		slices.Sort(wr)
		fmt.Printf("History writer alone / direct load: %.0f %%\n", 100*wr[len(wr)/2])
	}
}

func commas(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
