// Command policy-eval measures the policy engine on a realistic rule set:
// the cost of compiling the DSL to WASM (parse, check, code generation,
// wazero compilation) and of evaluating every rule on every node through
// the sandbox, against the reference interpreter on the same Program and
// records. It prints a markdown table of medians.
//
//	go run ./bench/policy-eval -nodes 10000 -rules 200 -runs 5
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/interp"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/sandbox"
	"github.com/unet-project/unet/collector/policy/wasmgen"
)

func main() {
	nodes := flag.Int("nodes", 10000, "node records to evaluate")
	rules := flag.Int("rules", 200, "rules to generate")
	runs := flag.Int("runs", 5, "timed runs of each measure (the table shows medians)")
	seed := flag.Uint64("seed", 1, "seed of the generated rules and nodes")
	dump := flag.String("dump", "", "write the generated policy to this file")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the compiled evaluation to this file")
	flag.Parse()
	if err := run(*nodes, *rules, *runs, *seed, *dump, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "policy-eval:", err)
		os.Exit(1)
	}
}

func run(nodes, rules, runs int, seed uint64, dump, cpuprofile string) error {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	src := genPolicy(rng, rules)
	if dump != "" {
		if err := os.WriteFile(dump, []byte(src), 0o644); err != nil {
			return err
		}
	}
	cfg := sandbox.DefaultConfig()
	// A throughput measure: on a shared 2-core machine a call can wait
	// past the production deadline of 100 ms for a core.
	cfg.CallTimeout = time.Minute
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Compilation: each run on a fresh runtime, so wazero compiles anew.
	var tParse, tGen, tLoad, tTotal []time.Duration
	var prog *lang.Program
	var bin []byte
	for range runs {
		rt, err := sandbox.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		t0 := time.Now()
		f, err := lang.Parse("bench.unet", []byte(src))
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		p, err := lang.Check(f)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		t1 := time.Now()
		b, err := wasmgen.Compile(p)
		if err != nil {
			return fmt.Errorf("compile: %w", err)
		}
		t2 := time.Now()
		m, err := rt.Load(ctx, b)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		t3 := time.Now()
		tParse = append(tParse, t1.Sub(t0))
		tGen = append(tGen, t2.Sub(t1))
		tLoad = append(tLoad, t3.Sub(t2))
		tTotal = append(tTotal, t3.Sub(t0))
		prog, bin = p, b
		m.Close(ctx)
		rt.Close(ctx)
	}

	recs := genRecords(rng, prog.Fields, nodes)
	evals := float64(len(prog.Rules) * nodes)

	// Evaluation through the sandbox, with every core and with one.
	sandboxEval := func(par int) ([]sample, [][]abi.Verdict, error) {
		c := cfg
		c.Parallelism = par
		rt, err := sandbox.New(ctx, c, log)
		if err != nil {
			return nil, nil, err
		}
		defer rt.Close(ctx)
		m, err := rt.Load(ctx, bin)
		if err != nil {
			return nil, nil, err
		}
		defer m.Close(ctx)
		var ss []sample
		var verdicts [][]abi.Verdict
		for i := range runs + 1 { // the first run makes the instances
			var res []sandbox.RuleResult
			s, err := measure(func() (err error) {
				res, err = m.Eval(ctx, recs)
				return err
			})
			if err != nil {
				return nil, nil, err
			}
			if i > 0 {
				ss = append(ss, s)
			}
			verdicts = make([][]abi.Verdict, len(res))
			for r, rr := range res {
				if len(rr.Errors) > 0 {
					return nil, nil, fmt.Errorf("rule %d: %v", r, rr.Errors[0].Err)
				}
				verdicts[r] = rr.Verdicts
			}
		}
		return ss, verdicts, nil
	}
	par := runtime.GOMAXPROCS(0)
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	tSandbox, compiled, err := sandboxEval(par)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	tSandbox1, _, err := sandboxEval(1)
	if err != nil {
		return err
	}

	// The interpreter, records split among par goroutines, and on one.
	interpEval := func(par int) ([]sample, [][]abi.Verdict) {
		var ss []sample
		var verdicts [][]abi.Verdict
		for range runs {
			verdicts = make([][]abi.Verdict, len(prog.Rules))
			for r := range verdicts {
				verdicts[r] = make([]abi.Verdict, len(recs))
			}
			s, _ := measure(func() error {
				var wg sync.WaitGroup
				per := (len(recs) + par - 1) / par
				for lo := 0; lo < len(recs); lo += per {
					hi := min(lo+per, len(recs))
					wg.Go(func() {
						for r := range prog.Rules {
							for i := lo; i < hi; i++ {
								verdicts[r][i] = interp.Eval(prog, r, recs[i])
							}
						}
					})
				}
				wg.Wait()
				return nil
			})
			ss = append(ss, s)
		}
		return ss, verdicts
	}
	tInterp, interpreted := interpEval(par)
	tInterp1, _ := interpEval(1)

	counts := map[abi.Verdict]int{}
	for r := range compiled {
		for i, v := range compiled[r] {
			counts[v]++
			if w := interpreted[r][i]; v != w {
				return fmt.Errorf("rule %d (%s), node %d: compiled %s, interpreter %s", r, prog.Rules[r].Name, i, v, w)
			}
		}
	}

	var load [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load[0], &load[1], &load[2])
	}
	fmt.Printf("%d rules (%d fields, %d regexes, module %d bytes) × %d nodes, %d runs, GOMAXPROCS %d, %s, load average %.1f at the end\n",
		len(prog.Rules), len(prog.Fields), len(prog.Regexes), len(bin), nodes, runs, par, runtime.Version(), load[0])
	fmt.Printf("verdicts (identical in both): %d not applicable, %d compliant, %d violation, %d error\n\n",
		counts[abi.NotApplicable], counts[abi.Compliant], counts[abi.Violation], counts[abi.Error])
	fmt.Println("| measure | wall (median) | CPU (median) | wall per rule × node | CPU per rule × node |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: |")
	compileRow := func(name string, ds []time.Duration) {
		fmt.Printf("| %s | %s | | | |\n", name, fmtDur(median(ds)))
	}
	evalRow := func(name string, ss []sample) {
		w, c := median(walls(ss)), median(cpus(ss))
		fmt.Printf("| %s | %s | %s | %.1f ns | %.1f ns |\n", name, fmtDur(w), fmtDur(c),
			float64(w.Nanoseconds())/evals, float64(c.Nanoseconds())/evals)
	}
	compileRow("parse + check", tParse)
	compileRow("code generation", tGen)
	compileRow("wazero compile + load", tLoad)
	compileRow("compile total", tTotal)
	evalRow(fmt.Sprintf("eval, compiled (sandbox, %d workers)", par), tSandbox)
	evalRow(fmt.Sprintf("eval, interpreter (%d goroutines)", par), tInterp)
	evalRow("eval, compiled (sandbox, 1 worker)", tSandbox1)
	evalRow("eval, interpreter (1 goroutine)", tInterp1)
	ratio := func(a, b []sample, f func([]sample) []time.Duration) float64 {
		return float64(median(f(a))) / float64(median(f(b)))
	}
	fmt.Printf("\ninterpreter / compiled, wall: %.1f× (%d workers), %.1f× (1 worker); CPU: %.1f×, %.1f×\n",
		ratio(tInterp, tSandbox, walls), par, ratio(tInterp1, tSandbox1, walls),
		ratio(tInterp, tSandbox, cpus), ratio(tInterp1, tSandbox1, cpus))
	return nil
}

// cpuTime is the CPU time the process has used, user and system: unlike
// wall time it does not grow when other processes take the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sample is one timed run: wall and CPU time.
type sample struct{ wall, cpu time.Duration }

func measure(f func() error) (sample, error) {
	c0, t0 := cpuTime(), time.Now()
	err := f()
	return sample{time.Since(t0), cpuTime() - c0}, err
}

func walls(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.wall
	}
	return out
}

func cpus(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.cpu
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000)
}

// The generated inventory: values drawn from these so that rules match
// some nodes and not others.
var (
	vendors    = []string{"cisco", "juniper", "arista", "nokia", "fortinet"}
	models     = map[string][]string{"cisco": {"ASR1002-X", "C9300-48P", "N9K-C93180YC"}, "juniper": {"MX204", "QFX5120", "SRX4200"}, "arista": {"DCS-7050SX3", "DCS-7280CR3"}, "nokia": {"7750-SR1", "7250-IXR"}, "fortinet": {"FG-600E", "FG-1800F"}}
	versions   = map[string][]string{"cisco": {"17.9.4", "17.6.5", "17.3.8"}, "juniper": {"22.4R3", "21.4R3-S5", "23.2R1"}, "arista": {"4.30.2F", "4.28.5M"}, "nokia": {"23.3.R1", "22.10.R4"}, "fortinet": {"7.2.8", "7.4.3"}}
	osNames    = map[string]string{"cisco": "Cisco IOS-XE Software", "juniper": "Juniper Networks, Inc. JUNOS", "arista": "Arista Networks EOS", "nokia": "TiMOS-C Nokia 7750 SR", "fortinet": "FortiGate FortiOS"}
	roles      = []string{"router", "switch", "switch", "switch", "firewall", "load-balancer", "access-point", "server"}
	rolePrefix = map[string]string{"router": "core", "switch": "acc", "firewall": "fw", "load-balancer": "lb", "access-point": "ap", "server": "srv"}
	lifecycles = []string{"live", "live", "live", "live", "live", "planned", "implementing", "decommissioned"}
	regions    = []string{"eu", "us", "apac"}
	tags       = []string{"pci", "core", "edge", "lab", "critical", "mgmt", "dmz", "ipv6"}
	owners     = []string{"neteng", "secops", "dc-ops", "wan"}
)

func site(i int) string { return fmt.Sprintf("dc%d", i) }

// genPolicy writes n rules from templates that NOC policies use: equality,
// IN, CONTAINS, MATCHES, IS NULL, numeric thresholds on derived.*, and
// ASSERT, SET and APPLY actions.
func genPolicy(rng *rand.Rand, n int) string {
	one := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	vendor := func() string { return one(vendors) }
	var b strings.Builder
	b.WriteString("// Generated by bench/policy-eval.\n\n")
	for i := range n {
		v := vendor()
		var when, then string
		switch i % 20 {
		case 0:
			when = fmt.Sprintf(`node.role == "router" AND node.vendor == %q`, v)
			then = fmt.Sprintf(`ASSERT node.version IS %q`, one(versions[v]))
		case 1:
			when = fmt.Sprintf(`node.role IN ["switch", "router"] AND location.site == %q`, site(1+rng.IntN(12)))
			then = fmt.Sprintf(`APPLY "templates/%s/base.j2"`, site(1+rng.IntN(12)))
		case 2:
			when = fmt.Sprintf(`location.path CONTAINS %q AND derived.reachable == true`, site(1+rng.IntN(12)))
			then = `ASSERT derived.interfaces.errors_in_rate IS 0`
		case 3:
			when = fmt.Sprintf(`node.name MATCHES /^%s-[a-z]+[0-9]+\./`, rolePrefix[one(roles)])
			then = fmt.Sprintf(`SET custom_data.bgp.asn TO %d`, 64512+rng.IntN(1000))
		case 4:
			when = fmt.Sprintf(`node.vendor == %q AND custom_data.bgp.asn IS NULL`, v)
			then = fmt.Sprintf(`SET custom_data.bgp.asn TO %d`, 65000+rng.IntN(100))
		case 5:
			when = fmt.Sprintf(`derived.uptime < %d AND node.lifecycle == "live"`, 3600*(1+rng.IntN(48)))
			then = `ASSERT derived.reachable IS true`
		case 6:
			when = fmt.Sprintf(`node.tags CONTAINS %q`, one(tags))
			then = fmt.Sprintf(`ASSERT custom_data.compliance.%s IS true`, one(tags))
		case 7:
			th := 50 + rng.IntN(45)
			when = fmt.Sprintf(`derived.interfaces.max_in_utilization > %d OR derived.interfaces.max_out_utilization > %d`, th, th)
			then = `ASSERT custom_data.capacity.ok IS true`
		case 8:
			when = fmt.Sprintf(`NOT (node.lifecycle IN ["decommissioned", "planned"]) AND derived.last_poll_age > %d`, 60*(1+rng.IntN(10)))
			then = `ASSERT derived.reachable IS true`
		case 9:
			when = `node.model MATCHES /^(MX|PTX|QFX)/i`
			then = `ASSERT node.vendor IS "juniper"`
		case 10:
			when = fmt.Sprintf(`derived.sys_descr CONTAINS %q`, strings.Fields(osNames[v])[0])
			then = `ASSERT derived.vendor IS node.vendor`
		case 11:
			when = fmt.Sprintf(`node.role == "switch" AND node.lifecycle == "live" AND location.site IN [%q, %q, %q]`, site(1+rng.IntN(12)), site(1+rng.IntN(12)), site(1+rng.IntN(12)))
			then = `APPLY "templates/access-ports.j2"`
		case 12:
			when = fmt.Sprintf(`derived.reachable == true AND derived.interfaces.errors_in_rate > %d`, rng.IntN(20))
			then = `ASSERT derived.interfaces.errors_in_rate IS 0`
		case 13:
			when = fmt.Sprintf(`node.vendor NOT IN [%q, %q] AND node.role != "server"`, vendor(), vendor())
			then = fmt.Sprintf(`ASSERT custom_data.owner IS %q`, one(owners))
		case 14:
			when = fmt.Sprintf(`derived.extra.cpu_5min >= %d`, 60+rng.IntN(35))
			then = `ASSERT custom_data.capacity.ok IS true`
		case 15:
			when = fmt.Sprintf(`node.management_address MATCHES /^10\.%d\./ AND node.snmp_profile IS NOT NULL`, rng.IntN(4))
			then = fmt.Sprintf(`SET custom_data.snmp.profile TO %q`, "v3-"+one(regions))
		case 16:
			when = fmt.Sprintf(`derived.lldp.neighbors < %d AND node.role IN ["router", "switch"]`, 1+rng.IntN(3))
			then = fmt.Sprintf(`ASSERT derived.lldp.neighbor_names IS ["core-%s01.%s"]`, one(regions), site(1+rng.IntN(12)))
		case 17:
			when = fmt.Sprintf(`location.path CONTAINS %q AND (node.tags CONTAINS "critical" OR node.tags CONTAINS "core")`, one(regions)+"/")
			then = fmt.Sprintf(`APPLY "templates/%s/critical.j2"`, one(regions))
		case 18:
			when = fmt.Sprintf(`custom_data.owner == %q AND custom_data.ntp.servers IS NULL`, one(owners))
			then = `SET custom_data.ntp.servers TO ["10.0.0.1", "10.0.0.2"]`
		case 19:
			when = fmt.Sprintf(`node.serial IS NULL OR node.version < %q`, one(versions[v]))
			then = fmt.Sprintf(`SET custom_data.upgrade.target TO %q`, one(versions[v]))
		}
		fmt.Fprintf(&b, "rule \"r%03d\":\nWHEN %s\nTHEN %s\n\n", i, when, then)
	}
	return b.String()
}

// genRecords makes n node records for the fields of a program.
func genRecords(rng *rand.Rand, fields []abi.Field, n int) [][]abi.Value {
	recs := make([][]abi.Value, n)
	for i := range recs {
		node := genNode(rng, i)
		rec := make([]abi.Value, len(fields))
		for j, f := range fields {
			rec[j] = node[f.Path] // absent: null
		}
		recs[i] = rec
	}
	return recs
}

// genNode returns the values of one node by field path.
func genNode(rng *rand.Rand, i int) map[string]abi.Value {
	one := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	s, num, b := abi.String, abi.Number, abi.Bool
	vendor := one(vendors)
	role := one(roles)
	region := one(regions)
	st := site(1 + rng.IntN(12))
	name := fmt.Sprintf("%s-%s%02d", rolePrefix[role], st, i%100)
	var ts []abi.Value
	for _, t := range tags {
		if rng.IntN(4) == 0 {
			ts = append(ts, s(t))
		}
	}
	reachable := rng.IntN(20) != 0
	v := map[string]abi.Value{
		"node.name":               s(name),
		"node.fqdn":               s(name + ".net.example.com"),
		"node.domain":             s("net.example.com"),
		"node.vendor":             s(vendor),
		"node.model":              s(one(models[vendor])),
		"node.role":               s(role),
		"node.lifecycle":          s(one(lifecycles)),
		"node.version":            s(one(versions[vendor])),
		"node.management_address": s(fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), 1+rng.IntN(254))),
		"node.snmp_profile":       s("v3-" + region),
		"node.tags":               abi.List(ts...),
		"location.name":           s(fmt.Sprintf("r%d", rng.IntN(40))),
		"location.kind":           s("rack"),
		"location.path":           s(fmt.Sprintf("%s/%s/room-%d/r%d", region, st, 1+rng.IntN(4), rng.IntN(40))),
		"location.site":           s(st),
		"derived.reachable":       b(reachable),
		"derived.last_poll_age":   num(float64(rng.IntN(900))),
		"custom_data.owner":       s(one(owners)),
	}
	if rng.IntN(10) != 0 {
		v["node.serial"] = s(fmt.Sprintf("SN%08d", rng.IntN(1e8)))
	}
	if reachable {
		v["derived.uptime"] = num(float64(rng.IntN(90 * 86400)))
		v["derived.sys_name"] = s(name)
		v["derived.sys_descr"] = s(osNames[vendor] + ", Version " + one(versions[vendor]))
		v["derived.vendor"] = s(vendor)
		if rng.IntN(50) == 0 {
			v["derived.vendor"] = s(one(vendors))
		}
		count := 8 + rng.IntN(48)
		down := rng.IntN(4)
		v["derived.interfaces.count"] = num(float64(count))
		v["derived.interfaces.up"] = num(float64(count - down))
		v["derived.interfaces.down"] = num(float64(down))
		v["derived.interfaces.admin_down"] = num(0)
		errs := 0.0
		if rng.IntN(10) == 0 {
			errs = float64(rng.IntN(50)) + rng.Float64()
		}
		v["derived.interfaces.errors_in_rate"] = num(errs)
		v["derived.interfaces.errors_out_rate"] = num(0)
		v["derived.interfaces.max_in_utilization"] = num(100 * rng.Float64())
		v["derived.interfaces.max_out_utilization"] = num(100 * rng.Float64())
		nb := rng.IntN(4)
		var names []abi.Value
		for k := range nb {
			names = append(names, s(fmt.Sprintf("core-%s%02d.%s", region, k+1, st)))
		}
		v["derived.lldp.neighbors"] = num(float64(nb))
		v["derived.lldp.neighbor_names"] = abi.List(names...)
		v["derived.extra.cpu_5min"] = num(float64(rng.IntN(100)))
	}
	if rng.IntN(3) != 0 {
		v["custom_data.bgp.asn"] = num(float64(64512 + rng.IntN(1000)))
	}
	for _, t := range tags {
		if rng.IntN(2) == 0 {
			v["custom_data.compliance."+t] = b(rng.IntN(5) != 0)
		}
	}
	v["custom_data.capacity.ok"] = b(rng.IntN(4) != 0)
	if rng.IntN(2) == 0 {
		v["custom_data.ntp.servers"] = abi.List(s("10.0.0.1"), s("10.0.0.2"))
	}
	if rng.IntN(3) == 0 {
		v["custom_data.snmp.profile"] = s("v3-" + region)
	}
	return v
}
