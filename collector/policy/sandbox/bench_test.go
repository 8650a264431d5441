package sandbox

import (
	"context"
	"fmt"
	"testing"

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

func benchEval(b *testing.B, m *Module, records [][]abi.Value) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := m.Eval(ctx, records)
		if err != nil {
			b.Fatal(err)
		}
		if len(res[0].Errors) > 0 {
			b.Fatal(res[0].Errors[0].Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(records)), "ns/record")
}

// BenchmarkEvalOneRecord is the fixed cost of an Eval of one call: pool,
// layout, the deadline (a locked thread, CPU clock reads, a timer) and
// wazero's call with CloseOnContextDone.
func BenchmarkEvalOneRecord(b *testing.B) {
	rt := newRuntime(b, func(c *Config) { c.Parallelism = 1 })
	m := load(b, rt, policy{rules: []string{"r"}}.wasm())
	benchEval(b, m, names("core-1"))
}
