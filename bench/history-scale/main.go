// Command history-scale measures one interface's history query
// (collector/history's InterfaceHistory) over 24 hours and 30 days with
// 100 million interface samples in the table (issue 5: p50 under 100 ms).
//
//	go run ./bench/history-scale                 # 100 M rows, 60 s polls, 31 days
//	go run ./bench/history-scale -quick          # 3 M rows, 5-minute polls: a check in a minute
//	go run ./bench/history-scale -addr 127.0.0.1:9000 -database hs -load=false   # query a loaded one again
//
// Without -addr it starts a ClickHouse of its own (deploy/clickhouse/run.sh)
// in a temp directory and removes it at the end (-keep leaves it running).
// The schema comes from history.New; rows are loaded with large PrepareBatch
// inserts straight into the raw table, so the rollups' materialized views
// fire on every insert exactly as they do behind the collector's writer.
// -mvcheck loads the first rows into a copy of the raw table without views
// too: what the views cost at insert time.
//
// The shape: devices × 48 interfaces polled every -interval, as many
// devices as fit -rows over -days, the newest samples loaded first (if the
// load runs out of -budget, the newest days are there and the report says
// how many rows and days were loaded).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
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

	"github.com/unet-project/unet/bench/internal/benchkit"
	"github.com/unet-project/unet/collector/history"
)

type options struct {
	addr, database    string
	pid               int
	rows              int
	days              int
	interval          time.Duration
	ifPerDevice       int
	batch, loaders    int
	budget, settle    time.Duration
	mvcheck           int
	queries           int
	load, keep, quick bool
	seed              uint64
	cpuprofile        string
	granularity5m     int
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "", "ClickHouse native address; empty: start one with deploy/clickhouse/run.sh in a temp dir")
	flag.IntVar(&o.pid, "pid", 0, "ClickHouse server pid, to report its CPU when -addr is given")
	flag.StringVar(&o.database, "database", "", "database (default history_scale_<unix time>)")
	flag.IntVar(&o.rows, "rows", 100_000_000, "interface samples to load")
	flag.IntVar(&o.days, "days", 31, "days the samples span at least (sets the number of devices)")
	flag.DurationVar(&o.interval, "interval", time.Minute, "poll interval of every interface (also the history store's poll-interval)")
	flag.IntVar(&o.ifPerDevice, "interfaces", 48, "interfaces per device")
	flag.IntVar(&o.batch, "batch", 1_000_000, "rows per insert")
	flag.IntVar(&o.loaders, "loaders", 2, "concurrent inserts (each generates its next batch while the other sends)")
	flag.DurationVar(&o.budget, "budget", 15*time.Minute, "stop starting inserts after this long, and report what was loaded")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute, "after the load, wait at most this long for ClickHouse's merges to finish before querying")
	flag.IntVar(&o.mvcheck, "mvcheck", 5_000_000, "also load this many of the first rows into a copy of the raw table without the rollup views (0: skip)")
	flag.IntVar(&o.queries, "queries", 100, "runs of each query (random interfaces)")
	flag.BoolVar(&o.load, "load", true, "load the rows (false: query what -database already holds)")
	flag.BoolVar(&o.keep, "keep", false, "keep the ClickHouse this program started (and its data) running")
	flag.BoolVar(&o.quick, "quick", false, "a quick check: -rows 3000000 -interval 5m -mvcheck 500000 -queries 30 -settle 20s (flags given explicitly win)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the interfaces picked for queries")
	flag.IntVar(&o.granularity5m, "granularity-5m", 0, "recreate the 5-minute rollup with this index_granularity before loading (0: as history.New makes it): to try a schema change")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write this program's CPU profile here")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"rows": "3000000", "interval": "5m", "mvcheck": "500000", "queries": "30", "settle": "20s"} {
			if !set[name] {
				_ = flag.Set(name, v)
			}
		}
	}
	if o.database == "" {
		o.database = fmt.Sprintf("history_scale_%d", time.Now().Unix())
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "history-scale:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// shape is the simulated fleet: nIf interfaces, polls samples each
// (the oldest poll may be partial so that the total is exactly rows).
type shape struct {
	devices, nIf, polls, rows int
	interval                  time.Duration
	end                       time.Time // the newest poll
	nodes, ifnames, agents    []string  // per interface
}

func newShape(o options, end time.Time) *shape {
	perIf := int(time.Duration(o.days) * 24 * time.Hour / o.interval)
	// Floor, so that the samples span at least -days.
	devices := max(1, o.rows/(o.ifPerDevice*perIf))
	s := &shape{devices: devices, nIf: devices * o.ifPerDevice, rows: o.rows, interval: o.interval, end: end}
	s.polls = (o.rows + s.nIf - 1) / s.nIf
	for i := range s.nIf {
		d := i / o.ifPerDevice
		s.nodes = append(s.nodes, fmt.Sprintf("site%d-sw%04d", d%10, d))
		s.ifnames = append(s.ifnames, fmt.Sprintf("xe-0/0/%d", i%o.ifPerDevice))
		s.agents = append(s.agents, fmt.Sprintf("agent-site%d", d%10))
	}
	return s
}

func run(o options) error {
	fmt.Printf("load average at start: %s\n", benchkit.LoadAvg())
	ctx := context.Background()
	if o.addr == "" {
		dir, err := os.MkdirTemp("", "unet-history-scale-")
		if err != nil {
			return err
		}
		ch, err := benchkit.StartClickHouse(dir)
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		o.addr, o.pid = ch.Addr, ch.PID
		if o.keep {
			fmt.Printf("keeping ClickHouse (-keep): stop it with deploy/clickhouse/run.sh --stop %s\n", dir)
		} else {
			defer os.RemoveAll(dir)
			defer ch.Stop()
		}
	}

	cfg := history.DefaultConfig()
	cfg.Address, cfg.Database = o.addr, o.database
	cfg.PollInterval = o.interval
	// Retention would drop the oldest day partitions of a 31-day load
	// (raw is kept 30 days): the figure is about a table of -rows rows.
	cfg.RetentionInterval = 0
	cfg.Retention.Raw = 0
	store, err := history.New(ctx, cfg, history.Dependencies{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer store.Close()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{o.addr},
		Auth:         clickhouse.Auth{Database: o.database, Username: "default"},
		DialTimeout:  10 * time.Second,
		MaxOpenConns: o.loaders + 2,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	if o.load && o.granularity5m > 0 {
		if err := regranulate(ctx, conn, o.database, o.granularity5m); err != nil {
			return err
		}
	}

	end := time.Now().UTC().Truncate(o.interval)
	if !o.load {
		// The data's newest poll, to query the same ranges again.
		var t time.Time
		if err := conn.QueryRow(ctx, "SELECT max(ts) FROM interface_samples").Scan(&t); err != nil {
			return err
		}
		end = t.UTC()
	}
	sh := newShape(o, end)
	fmt.Printf("shape: %d devices × %d interfaces = %d interfaces, one sample every %v, %d polls (%.1f days) ending %s: %d rows\n",
		sh.devices, o.ifPerDevice, sh.nIf, o.interval, sh.polls, float64(sh.polls)*o.interval.Hours()/24, end.Format(time.RFC3339), sh.rows)

	rep := &report{o: o, sh: sh}
	if o.load {
		if err := checkDisk(o); err != nil {
			return err
		}
		if o.mvcheck > 0 {
			if err := mvCheck(ctx, conn, o, sh, rep); err != nil {
				return err
			}
		}
		if err := load(ctx, conn, o, sh, rep); err != nil {
			return err
		}
		if err := settle(ctx, conn, o, rep); err != nil {
			return err
		}
	} else {
		if err := conn.QueryRow(ctx, "SELECT count() FROM interface_samples").Scan(&rep.loaded); err != nil {
			return err
		}
		rep.loaded64 = int(rep.loaded)
	}
	if err := parts(ctx, conn, o.database, &rep.partsAtQuery); err != nil {
		return err
	}
	if err := rollupCheck(ctx, conn, rep); err != nil {
		return err
	}
	if err := runQueries(ctx, store, o, sh, rep); err != nil {
		return err
	}
	rep.loadEnd = benchkit.LoadAvg()
	rep.print()
	return nil
}

// columns are one insert's column slices, reused from batch to batch.
type columns struct {
	node, ifname, agent []string
	ts                  []time.Time
	ifindex             []uint32
	interval            []float32
	admin, oper         []int8
	speed               []uint64
	c64, disc           []uint8
	rates               [8][]*float64
	rateVals            [8][]float64
	seq                 []uint64
}

func newColumns(n int) *columns {
	c := &columns{}
	for i := range c.rates {
		c.rateVals[i] = make([]float64, n)
		c.rates[i] = make([]*float64, 0, n)
	}
	return c
}

func (c *columns) reset() {
	c.node, c.ifname, c.agent, c.ts = c.node[:0], c.ifname[:0], c.agent[:0], c.ts[:0]
	c.ifindex, c.interval, c.admin, c.oper = c.ifindex[:0], c.interval[:0], c.admin[:0], c.oper[:0]
	c.speed, c.c64, c.disc, c.seq = c.speed[:0], c.c64[:0], c.disc[:0], c.seq[:0]
	for i := range c.rates {
		c.rates[i] = c.rates[i][:0]
	}
}

func (c *columns) all() []any {
	cols := []any{c.node, c.ifname, c.ts, c.ifindex, c.interval, c.admin, c.oper, c.speed, c.c64, c.disc}
	for _, r := range c.rates {
		cols = append(cols, r)
	}
	return append(cols, c.agent, c.seq)
}

const insertColumns = "node, ifname, ts, ifindex, interval_seconds, admin_status, oper_status, speed_bps, counter64, discontinuity, " +
	"in_bps, out_bps, in_pps, out_pps, in_errors, out_errors, in_discards, out_discards, agent, seq"

// IF-MIB status numbers, as the schema's Enum8.
const (
	statusUp   int8 = 1
	statusDown int8 = 2
)

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// fill generates the rows [first, first+n) of the newest-first order (row
// r is poll r/nIf from the newest, interface r%nIf), in ascending time as
// agents would send them. Values look like a network's: a daily cycle
// around each interface's own utilisation, noise, out a share of in, rare
// errors and discards, one interface in 20 down for good, rare flaps, and
// now and then a counter discontinuity with no rates (NULL).
func (sh *shape) fill(c *columns, first, n int) {
	c.reset()
	iv := float32(sh.interval.Seconds())
	for r := first + n - 1; r >= first; r-- {
		j, i := r/sh.nIf, r%sh.nIf
		t := sh.end.Add(-time.Duration(j) * sh.interval)
		hi := splitmix(uint64(i) + 0x5bd1e995)
		h := splitmix(uint64(i)<<32 ^ uint64(j))
		speed := uint64(1e9)
		if i%sh.ifPerDev() < 4 {
			speed = 10e9 // uplinks
		}
		admin, oper := statusUp, statusUp
		deadIf := hi%20 == 0
		if deadIf {
			oper = statusDown
			if hi%40 == 0 {
				admin = statusDown
			}
		} else if h%20_000 == 7 {
			oper = statusDown // a flap
		}
		disc := h%50_000 == 3
		c.node, c.ifname, c.agent = append(c.node, sh.nodes[i]), append(c.ifname, sh.ifnames[i]), append(c.agent, sh.agents[i])
		c.ts = append(c.ts, t)
		c.ifindex, c.interval = append(c.ifindex, uint32(i%sh.ifPerDev()+1)), append(c.interval, iv)
		c.admin, c.oper, c.speed = append(c.admin, admin), append(c.oper, oper), append(c.speed, speed)
		c.c64, c.disc = append(c.c64, 1), append(c.disc, b2u(disc))
		c.seq = append(c.seq, uint64(sh.polls-j))
		k := len(c.ts) - 1
		if disc {
			for m := range c.rates {
				c.rates[m] = append(c.rates[m], nil)
			}
			continue
		}
		var in, out float64
		if oper == statusUp {
			base := 0.02 + 0.58*unit(hi>>7)
			day := float64(t.Unix()%86400) / 86400
			f := 0.6 + 0.4*math.Sin(2*math.Pi*(day-0.375)) // peaks at 15:00
			in = float64(speed) * base * f * (0.9 + 0.2*unit(h))
			out = in * (0.3 + 0.7*unit(hi>>17)) * (0.9 + 0.2*unit(h>>9))
		}
		pkt := 8 * (400 + 800*unit(hi>>23))
		var inErr, outErr, inDisc, outDisc float64
		if h%1000 == 0 {
			inErr = 0.1 + 5*unit(h>>3)
		}
		if h%3000 == 1 {
			outErr = 0.1 + 2*unit(h>>5)
		}
		if h%300 == 2 {
			inDisc = 10 * unit(h>>13)
		}
		if h%500 == 4 {
			outDisc = 50 * unit(h>>15)
		}
		for m, v := range [8]float64{in, out, in / pkt, out / pkt, inErr, outErr, inDisc, outDisc} {
			c.rateVals[m][k] = v
			c.rates[m] = append(c.rates[m], &c.rateVals[m][k])
		}
	}
}

func (sh *shape) ifPerDev() int { return sh.nIf / sh.devices }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func insert(ctx context.Context, conn driver.Conn, table string, c *columns) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+insertColumns+")")
	if err != nil {
		return err
	}
	for i, col := range c.all() {
		if err := b.Column(i).Append(col); err != nil {
			_ = b.Abort()
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return b.Send()
}

// loadStats are one load's figures.
type loadStats struct {
	rows          int
	wall          time.Duration
	chCPU         time.Duration
	genTime       time.Duration // generating rows (the loaders' own work)
	sendTime      time.Duration // PrepareBatch to Send returned, summed over loaders
	stoppedByTime bool
}

// loadRows inserts the first `rows` rows of the newest-first order into
// table with o.loaders concurrent inserts of o.batch rows; it stops
// starting inserts once budget is spent.
func loadRows(ctx context.Context, conn driver.Conn, o options, sh *shape, table string, rows int, budget time.Duration, progress bool) (*loadStats, error) {
	// Whole polls per insert: one insert holds a time slice of every
	// interface, as the writer's coalesced agent batches do.
	per := max(sh.nIf, o.batch/sh.nIf*sh.nIf)
	chunks := (rows + per - 1) / per
	st := &loadStats{}
	var next, done atomic.Int64
	var genNs, sendNs atomic.Int64
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	cpu0 := benchkit.ProcessCPU(o.pid)
	var wg sync.WaitGroup
	for range o.loaders {
		wg.Go(func() {
			c := newColumns(per)
			for {
				k := int(next.Add(1) - 1)
				if k >= chunks {
					return
				}
				if time.Since(start) > budget {
					mu.Lock()
					st.stoppedByTime = true
					mu.Unlock()
					return
				}
				first := k * per
				n := min(per, rows-first)
				t0 := time.Now()
				sh.fill(c, first, n)
				t1 := time.Now()
				err := insert(ctx, conn, table, c)
				genNs.Add(int64(t1.Sub(t0)))
				sendNs.Add(int64(time.Since(t1)))
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("insert rows %d-%d: %w", first, first+n, err)
					}
					mu.Unlock()
					return
				}
				mu.Unlock()
				d := int(done.Add(int64(n)))
				if progress && (k+1)%10 == 0 {
					el := time.Since(start)
					fmt.Printf("  %6.1f M rows in %v: %.0f rows/s (load avg %s)\n", float64(d)/1e6, el.Round(time.Second), float64(d)/el.Seconds(), benchkit.LoadAvg())
				}
			}
		})
	}
	wg.Wait()
	st.rows, st.wall, st.chCPU = int(done.Load()), time.Since(start), benchkit.ProcessCPU(o.pid)-cpu0
	st.genTime, st.sendTime = time.Duration(genNs.Load()), time.Duration(sendNs.Load())
	return st, firstErr
}

// mvCheck measures what the rollup views cost at insert time: the first
// -mvcheck rows loaded into a copy of the raw table without views, then
// into a schema of its own with them (history.New), the same way; both
// databases are dropped afterwards.
func mvCheck(ctx context.Context, conn driver.Conn, o options, sh *shape, rep *report) error {
	n := min(o.mvcheck, o.rows)
	bare, full := o.database+"_noviews", o.database+"_views"
	defer conn.Exec(ctx, "DROP DATABASE IF EXISTS "+bare)
	defer conn.Exec(ctx, "DROP DATABASE IF EXISTS "+full)
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+bare); err != nil {
		return err
	}
	if err := conn.Exec(ctx, "CREATE TABLE "+bare+".interface_samples AS "+o.database+".interface_samples"); err != nil {
		return err
	}
	cfg := history.DefaultConfig()
	cfg.Address, cfg.Database, cfg.RetentionInterval = o.addr, full, 0
	s, err := history.New(ctx, cfg, history.Dependencies{})
	if err != nil {
		return err
	}
	s.Close()
	if o.granularity5m > 0 {
		if err := regranulate(ctx, conn, full, o.granularity5m); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		table string
		out   **loadStats
	}{{bare + ".interface_samples", &rep.noViews}, {full + ".interface_samples", &rep.views}} {
		fmt.Printf("loading the first %d rows into %s...\n", n, c.table)
		st, err := loadRows(ctx, conn, o, sh, c.table, n, time.Hour, false)
		if err != nil {
			return err
		}
		*c.out = st
		fmt.Printf("  %d rows in %v: %.0f rows/s\n", st.rows, st.wall.Round(time.Millisecond), float64(st.rows)/st.wall.Seconds())
	}
	return nil
}

// regranulate recreates db's (empty) 5-minute rollup with another
// index_granularity: a query reads at least one granule per part, so for
// one interface's few rows per daily part a smaller granule reads less.
// The view names its target table, so it feeds the new one.
func regranulate(ctx context.Context, conn driver.Conn, db string, n int) error {
	var ddl string
	if err := conn.QueryRow(ctx, "SHOW CREATE TABLE "+db+".interface_samples_5m").Scan(&ddl); err != nil {
		return err
	}
	if !strings.Contains(ddl, "index_granularity = 8192") {
		return fmt.Errorf("unexpected DDL of %s.interface_samples_5m: %s", db, ddl)
	}
	if err := conn.Exec(ctx, "DROP TABLE "+db+".interface_samples_5m"); err != nil {
		return err
	}
	fmt.Printf("%s.interface_samples_5m recreated with index_granularity = %d\n", db, n)
	return conn.Exec(ctx, strings.Replace(ddl, "index_granularity = 8192", fmt.Sprintf("index_granularity = %d", n), 1))
}

func load(ctx context.Context, conn driver.Conn, o options, sh *shape, rep *report) error {
	fmt.Printf("loading %d rows into %s.interface_samples (rollup views firing), %d rows per insert, %d loaders, budget %v...\n",
		o.rows, o.database, max(sh.nIf, o.batch/sh.nIf*sh.nIf), o.loaders, o.budget)
	rep.loadStart = benchkit.LoadAvg()
	st, err := loadRows(ctx, conn, o, sh, "interface_samples", o.rows, o.budget, true)
	rep.load = st
	if err != nil {
		return err
	}
	rep.loaded64 = st.rows
	fmt.Printf("loaded %d rows in %v: %.0f rows/s\n", st.rows, st.wall.Round(time.Millisecond), float64(st.rows)/st.wall.Seconds())
	return parts(ctx, conn, o.database, &rep.partsAfterLoad)
}

type partCount struct {
	table        string
	parts, rows  uint64
	bytes        uint64
	partitions   uint64
	maxPerPartit uint64
}

func parts(ctx context.Context, conn driver.Conn, db string, out *[]partCount) error {
	rows, err := conn.Query(ctx, `SELECT table, sum(n), sum(r), sum(b), count(), max(n) FROM (
			SELECT table, partition, count() AS n, sum(rows) AS r, sum(bytes) AS b
			FROM system.parts WHERE database = '`+db+`' AND active AND table LIKE 'interface_samples%'
			GROUP BY table, partition)
		GROUP BY table ORDER BY table`)
	if err != nil {
		return err
	}
	defer rows.Close()
	*out = nil
	for rows.Next() {
		var p partCount
		if err := rows.Scan(&p.table, &p.parts, &p.rows, &p.bytes, &p.partitions, &p.maxPerPartit); err != nil {
			return err
		}
		*out = append(*out, p)
	}
	return rows.Err()
}

// settle waits for the merges the load started, up to -settle: a table
// that has been filling for a month has had its parts merged.
func settle(ctx context.Context, conn driver.Conn, o options, rep *report) error {
	start := time.Now()
	for {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = '"+o.database+"'").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			rep.settled, rep.settleTime = true, time.Since(start)
			return nil
		}
		if time.Since(start) > o.settle {
			rep.settleTime, rep.mergesLeft = time.Since(start), n
			return nil
		}
		time.Sleep(time.Second)
	}
}

// rollupCheck compares the samples the rollups counted with the raw rows:
// the views saw every insert.
func rollupCheck(ctx context.Context, conn driver.Conn, rep *report) error {
	for _, t := range []string{"interface_samples_5m", "interface_samples_1h"} {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT countMerge(samples) FROM "+t).Scan(&n); err != nil {
			return err
		}
		rep.rollupSamples = append(rep.rollupSamples, n)
	}
	return nil
}

type querySpec struct {
	name string
	span time.Duration
	step time.Duration
}

type queryResult struct {
	spec       querySpec
	lat        []time.Duration
	rowsRead   []uint64
	bytesRead  []uint64
	points     []int
	resolution map[history.Resolution]int
	empty      int
}

func runQueries(ctx context.Context, store *history.Store, o options, sh *shape, rep *report) error {
	specs := []querySpec{
		{"24 h, no step (the store picks)", 24 * time.Hour, 0},
		{"24 h, 5-minute steps", 24 * time.Hour, 5 * time.Minute},
		{"30 d, no step (the store picks)", 30 * 24 * time.Hour, 0},
		{"30 d, hourly steps", 30 * 24 * time.Hour, time.Hour},
	}
	to := sh.end.Add(sh.interval) // excluded: the newest poll is in
	rng := rand.New(rand.NewPCG(o.seed, 7))
	results := make([]*queryResult, len(specs))
	for i, s := range specs {
		results[i] = &queryResult{spec: s, resolution: map[history.Resolution]int{}}
	}
	one := func(s querySpec, r *queryResult, record bool) error {
		i := rng.IntN(sh.nIf)
		var rowsRead, bytesRead atomic.Uint64
		qctx := clickhouse.Context(ctx, clickhouse.WithProgress(func(p *clickhouse.Progress) {
			rowsRead.Add(p.Rows)
			bytesRead.Add(p.Bytes)
		}))
		start := time.Now()
		h, err := store.InterfaceHistory(qctx, history.HistoryQuery{Node: sh.nodes[i], IfName: sh.ifnames[i], From: to.Add(-s.span), To: to, Step: s.step})
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s on %s %s: %w", s.name, sh.nodes[i], sh.ifnames[i], err)
		}
		if record {
			r.lat = append(r.lat, d)
			r.rowsRead, r.bytesRead = append(r.rowsRead, rowsRead.Load()), append(r.bytesRead, bytesRead.Load())
			r.points = append(r.points, len(h.Points))
			r.resolution[h.Resolution]++
			if len(h.Points) == 0 {
				r.empty++
			}
		}
		return nil
	}
	// A few unrecorded runs open the pool's connections.
	for _, s := range specs {
		if err := one(s, nil, false); err != nil {
			return err
		}
	}
	fmt.Printf("querying: %d runs of each of %d queries, interleaved, a random interface each...\n", o.queries, len(specs))
	rep.queryStart = benchkit.LoadAvg()
	order := make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	for range o.queries {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, k := range order {
			if err := one(specs[k], results[k], true); err != nil {
				return err
			}
		}
	}
	rep.queries = results
	return nil
}

type report struct {
	o                     options
	sh                    *shape
	noViews, views, load  *loadStats
	loaded                uint64
	loaded64              int
	partsAfterLoad        []partCount
	partsAtQuery          []partCount
	settled               bool
	settleTime            time.Duration
	mergesLeft            uint64
	rollupSamples         []uint64
	queries               []*queryResult
	loadStart, queryStart string
	loadEnd               string
}

func pct[T cmp.Ordered](xs []T, p float64) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Round(p*float64(len(s)-1)))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func (r *report) print() {
	o, sh := r.o, r.sh
	fmt.Printf("\n### History query latency, %s rows\n\n", commas(uint64(r.loaded64)))
	fmt.Printf("```\ngo run ./bench/history-scale %s\n```\n\n", strings.Join(os.Args[1:], " "))
	days := float64((r.loaded64+sh.nIf-1)/sh.nIf) * sh.interval.Hours() / 24
	fmt.Printf("Shape: %d devices × %d interfaces (%s interfaces), one sample every %v; %s rows loaded (of %s asked) spanning %.1f days up to the run's start.\n",
		sh.devices, sh.ifPerDev(), commas(uint64(sh.nIf)), sh.interval, commas(uint64(r.loaded64)), commas(uint64(o.rows)), days)
	if o.granularity5m > 0 {
		fmt.Printf("Schema change tried: the 5-minute rollup with index_granularity = %d (history.New makes it 8192).\n", o.granularity5m)
	}
	fmt.Printf("Load average: %s at load start, %s at query start, %s at the end.\n\n", r.loadStart, r.queryStart, r.loadEnd)

	if r.load != nil {
		l := r.load
		fmt.Println("| load | figure |")
		fmt.Println("| --- | --- |")
		fmt.Printf("| rows loaded into interface_samples (views firing) | %s in %v: **%s rows/s**%s |\n", commas(uint64(l.rows)), l.wall.Round(time.Second),
			commas(uint64(float64(l.rows)/l.wall.Seconds())), map[bool]string{true: " (stopped by -budget)", false: ""}[l.stoppedByTime])
		fmt.Printf("| inserts | %d rows each (whole polls), %d at once |\n", max(sh.nIf, o.batch/sh.nIf*sh.nIf), o.loaders)
		fmt.Printf("| time in generation / in PrepareBatch…Send (summed over loaders) | %v / %v |\n", l.genTime.Round(time.Second), l.sendTime.Round(time.Second))
		if l.chCPU > 0 {
			fmt.Printf("| ClickHouse CPU | %.1f s (%.2f cores; %.2f CPU-s per million rows) |\n", l.chCPU.Seconds(), l.chCPU.Seconds()/l.wall.Seconds(), l.chCPU.Seconds()/float64(l.rows)*1e6)
		}
		if nv, v := r.noViews, r.views; nv != nil && v != nil {
			for _, c := range []struct {
				name string
				st   *loadStats
			}{{"without views (a copy of the raw table)", nv}, {"with the views (a schema of its own)", v}} {
				fmt.Printf("| the first %s rows %s | %v: %s rows/s", commas(uint64(c.st.rows)), c.name, c.st.wall.Round(time.Millisecond), commas(uint64(float64(c.st.rows)/c.st.wall.Seconds())))
				if c.st.chCPU > 0 {
					fmt.Printf(", ClickHouse %.2f CPU-s per million rows", c.st.chCPU.Seconds()/float64(c.st.rows)*1e6)
				}
				fmt.Println(" |")
			}
			fmt.Printf("| cost of the rollup views at insert | **%.2f× the wall time**", v.wall.Seconds()/nv.wall.Seconds())
			if nv.chCPU > 0 && v.chCPU > 0 {
				fmt.Printf(", %.2f× ClickHouse's CPU", v.chCPU.Seconds()/nv.chCPU.Seconds())
			}
			fmt.Println(" |")
		}
		if len(r.rollupSamples) == 2 {
			fmt.Printf("| samples counted by the 5-minute / hourly rollups | %s / %s (raw rows: %s) |\n", commas(r.rollupSamples[0]), commas(r.rollupSamples[1]), commas(uint64(r.loaded64)))
		}
		fmt.Printf("| merges after the load | %s |\n", map[bool]string{true: fmt.Sprintf("done %v after the last insert", r.settleTime.Round(time.Second)),
			false: fmt.Sprintf("%d still running after -settle %v: queried anyway", r.mergesLeft, r.settleTime.Round(time.Second))}[r.settled])
		fmt.Println()
	}
	fmt.Println("| table at query time | rows | on disk | partitions | active parts (most in one partition) |")
	fmt.Println("| --- | ---: | ---: | ---: | --- |")
	for _, p := range r.partsAtQuery {
		fmt.Printf("| %s | %s | %.0f MB | %d | %d (%d) |\n", p.table, commas(p.rows), float64(p.bytes)/1e6, p.partitions, p.parts, p.maxPerPartit)
	}
	fmt.Println()
	fmt.Printf("InterfaceHistory, %d runs of each (interleaved; a random interface each; ranges end at the newest poll):\n\n", o.queries)
	fmt.Println("| query | target | resolution read | points | p50 | p90 | p99 | rows read (median) | bytes read (median) |")
	fmt.Println("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, q := range r.queries {
		var res []string
		for k, v := range q.resolution {
			res = append(res, fmt.Sprintf("%s ×%d", k, v))
		}
		slices.Sort(res)
		p50 := pct(q.lat, 0.5)
		verdict := "MET"
		if p50 >= 100*time.Millisecond {
			verdict = "MISSED"
		}
		fmt.Printf("| %s | p50 < 100 ms: **%s** | %s | %d | **%s** | %s | %s | %s | %.1f MB |\n", q.spec.name, verdict, strings.Join(res, ", "), pct(q.points, 0.5),
			ms(p50), ms(pct(q.lat, 0.9)), ms(pct(q.lat, 0.99)), commas(pct(q.rowsRead, 0.5)), float64(pct(q.bytesRead, 0.5))/1e6)
		if q.empty > 0 {
			fmt.Printf("|   (%d of the runs returned no points) | | | | | | | | |\n", q.empty)
		}
	}
}

func commas(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// checkDisk refuses a load that cannot fit where this program starts
// ClickHouse: ~80 bytes per row leaves room for merges, which hold old and
// new parts at once (the table itself takes less: see the report's sizes).
func checkDisk(o options) error {
	if o.addr != "" && o.pid == 0 {
		return nil // someone else's server: its disk is not ours to judge
	}
	dir := os.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // not knowing is no reason to refuse
	}
	free := st.Bavail * uint64(st.Bsize)
	need := uint64(o.rows) * 80
	if free < need {
		return fmt.Errorf("%s has %.1f GB free; %d rows want up to ~%.1f GB while merging: use -rows", dir, float64(free)/1e9, o.rows, float64(need)/1e9)
	}
	fmt.Printf("disk: %.1f GB free in %s (~%.1f GB wanted at most)\n", float64(free)/1e9, dir, float64(need)/1e9)
	return nil
}
