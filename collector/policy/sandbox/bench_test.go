package sandbox

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
)

// BenchmarkEvalGoGuest evaluates the interface-errors Go guest over 10,000
// records: 10 batches, i.e. 10 unet_eval calls, with the default
// parallelism.
func BenchmarkEvalGoGuest(b *testing.B) {
	rt := newRuntime(b, nil)
	m := load(b, rt, goGuest(b, "interface-errors"))
	records := make([][]abi.Value, 10000)
	for i := range records {
		records[i] = []abi.Value{abi.Bool(i%7 != 0), abi.Number(float64(i % 23))}
	}
	benchEval(b, m, records)
}

// BenchmarkEvalHandModule is the same for a hand-assembled module of the
// kind the DSL compiler emits (no Go runtime), whose rule calls
// regex_match on every record's string, over 10,000 records: the cost of
// the host itself (layout, calls, host function).
func BenchmarkEvalHandModule(b *testing.B) {
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			rt := newRuntime(b, func(c *Config) { c.Parallelism = par })
			m := load(b, rt, policy{rules: []string{"regex"}, bodies: map[int][]byte{0: regexNames}}.wasm())
			records := make([][]abi.Value, 10000)
			for i := range records {
				records[i] = []abi.Value{abi.String(fmt.Sprintf("core-%d.dc1.example.net", i))}
			}
			benchEval(b, m, records)
		})
	}
}

// benchEval reports, besides wall time, the process's CPU time per record
// (cpu-ns/record): on the shared test machines wall time says more about
// the neighbours' load than about the code.
func benchEval(b *testing.B, m *Module, records [][]abi.Value) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		res, err := m.Eval(ctx, records)
		if err != nil {
			b.Fatal(err)
		}
		if len(res[0].Errors) > 0 {
			b.Fatal(res[0].Errors[0].Err)
		}
	}
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(records)), "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(len(records)), "cpu-ns/record")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEvalOneRecord is the fixed cost of an Eval of one call: pool,
// layout, the deadline (a locked thread, CPU clock reads, a timer) and
// wazero's call with CloseOnContextDone.
func BenchmarkEvalOneRecord(b *testing.B) {
	rt := newRuntime(b, func(c *Config) { c.Parallelism = 1 })
	m := load(b, rt, policy{rules: []string{"r"}}.wasm())
	benchEval(b, m, names("core-1"))
}
