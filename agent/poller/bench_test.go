package poller

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// The benchmarks measure the poller's CPU per device poll. The simulator
// runs in a child process (this test binary, re-executed), so that the
// process's CPU time is the poller's alone; ns/op is the wall time of one
// poll, round trips included.
//
//	go test -run '^$' -bench . -benchtime 2000x ./agent/poller/
//
// cpu-ns/op is the figure to compare: user+system CPU of the poller per
// poll.

const simChildEnv = "UNET_POLLER_SIM_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(simChildEnv) != "" {
		runSimChild()
		return
	}
	os.Exit(m.Run())
}

// runSimChild serves simulated devices until stdin closes (the parent is
// gone): "base devices" from the environment, the port on stdout.
func runSimChild() {
	base, n, _ := strings.Cut(os.Getenv(simChildEnv), " ")
	devices, _ := strconv.Atoi(n)
	cfg := simConfig(base, devices, func(p *snmpsim.Profile) {
		p.Vendor = model.VendorLinux
		p.Interfaces = 48
		p.V3 = &v3User
	})
	sim, err := snmpsim.New(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		err = sim.Start(context.Background())
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(sim.Port())
	io.Copy(io.Discard, os.Stdin)
	sim.Close()
}

// simChild starts the simulator in a child process and returns its port.
func simChild(b *testing.B, base string, devices int) int {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", simChildEnv, base, devices))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		b.Fatalf("simulator child: %q %v", line, err)
	}
	return port
}

// cpuTime is the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs poll b.N times and reports CPU per poll.
func measure(b *testing.B, poll func(i int) int) {
	b.Helper()
	b.ReportAllocs()
	var varbinds int
	b.ResetTimer()
	start := cpuTime(b)
	for i := 0; i < b.N; i++ {
		varbinds += poll(i)
	}
	cpu := cpuTime(b) - start
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(varbinds)/float64(b.N), "varbinds/op")
}

// benchDevices is how many simulated devices the benchmarks spread their
// polls over (one session per poll, as in production).
const benchDevices = 16

func benchTargets(b *testing.B, base string, prof func(int) model.SNMPProfile) []Target {
	port := simChild(b, base, benchDevices)
	var ts []Target
	addr := netip.MustParseAddr(base)
	for i := 0; i < benchDevices; i++ {
		ts = append(ts, Target{Node: fmt.Sprintf("sim-%05d", i+1), Address: addr.String(), Profile: prof(port)})
		addr = addr.Next()
	}
	return ts
}

// benchCases are the protocol and max-repetitions combinations measured:
// both sides use the same max-repetitions (25 is snmp_exporter's default,
// 50 gosnmp's).
var benchCases = []struct {
	name   string
	base   string
	prof   func(int) model.SNMPProfile
	maxRep int
}{
	{"v2c/maxrep=25", "127.60.0.1", v2cProfile, 25},
	{"v2c/maxrep=50", "127.60.1.1", v2cProfile, 50},
	{"v3-authPriv/maxrep=25", "127.60.2.1", v3Profile, 25},
	{"v3-authPriv/maxrep=50", "127.60.3.1", v3Profile, 50},
}

// BenchmarkPoll is the poller's steady state: counters and statuses at
// every poll, labels and LLDP every tenth.
func BenchmarkPoll(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			ts := benchTargets(b, bc.base, func(port int) model.SNMPProfile {
				p := bc.prof(port)
				p.MaxRepetitions = bc.maxRep
				return p
			})
			p, _ := newTestPoller(b, DefaultConfig(), nil)
			mems := make([]*memory, len(ts))
			for i := range mems {
				mems[i] = newMemory()
				// The first poll of a device reads everything once.
				if r := p.poll(context.Background(), &ts[i], mems[i], false); r.Poll.Err != nil {
					b.Fatal(r.Poll.Err)
				}
			}
			measure(b, func(i int) int {
				k := i % len(ts)
				r := p.poll(context.Background(), &ts[k], mems[k], false)
				if r.Poll.Err != nil {
					b.Fatal(r.Poll.Err)
				}
				return r.Varbinds
			})
		})
	}
}

// BenchmarkBaselineBulkWalk is what exporters do: a session per poll and
// gosnmp's BulkWalkAll of the system group, ifTable and ifXTable.
func BenchmarkBaselineBulkWalk(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			ts := benchTargets(b, strings.Replace(bc.base, "127.60.", "127.61.", 1), bc.prof)
			measure(b, func(i int) int {
				t := &ts[i%len(ts)]
				g := newSession(context.Background(), t, t.settings(), nil, "")
				g.MaxRepetitions = uint32(bc.maxRep)
				if err := g.Connect(); err != nil {
					b.Fatal(err)
				}
				defer g.Close()
				n := 0
				for _, root := range []string{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2.2", ".1.3.6.1.2.1.31.1.1"} {
					vs, err := g.BulkWalkAll(root)
					if err != nil {
						b.Fatal(err)
					}
					n += len(vs)
				}
				return n
			})
		})
	}
}
