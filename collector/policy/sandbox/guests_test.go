package sandbox

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

func TestInterfaceErrorsGuest(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, goGuest(t, "interface-errors"))
	man := m.Manifest()
	if len(man.Rules) != 1 || man.Rules[0].Name != "interface-errors" || len(man.Fields) != 2 {
		t.Fatalf("manifest: %+v", man)
	}
	tests := []struct {
		name      string
		reachable abi.Value
		errors    abi.Value
		want      abi.Verdict
	}{
		{"quiet", abi.Bool(true), abi.Number(0), abi.Compliant},
		{"at threshold", abi.Bool(true), abi.Number(10), abi.Compliant},
		{"above threshold", abi.Bool(true), abi.Number(10.5), abi.Violation},
		{"unreachable", abi.Bool(false), abi.Number(500), abi.NotApplicable},
		{"reachability unknown", abi.Null(), abi.Number(500), abi.NotApplicable},
		{"no rate yet", abi.Bool(true), abi.Null(), abi.NotApplicable},
		{"rate of the wrong kind", abi.Bool(true), abi.String("12"), abi.NotApplicable},
	}
	var records [][]abi.Value
	for _, tt := range tests {
		records = append(records, []abi.Value{tt.reachable, tt.errors})
	}
	res, err := m.Eval(context.Background(), records)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Errors) != 0 {
		t.Fatalf("results: %+v", res)
	}
	for i, tt := range tests {
		if got := res[0].Verdicts[i]; got != tt.want {
			t.Errorf("%s: verdict %v, want %v", tt.name, got, tt.want)
		}
	}
	// Many batches, in parallel, on pooled instances.
	var many [][]abi.Value
	var want []abi.Verdict
	for i := range 2500 {
		tt := tests[i%len(tests)]
		many = append(many, []abi.Value{tt.reachable, tt.errors})
		want = append(want, tt.want)
	}
	res, err = m.Eval(context.Background(), many)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Verdicts, want) || len(res[0].Errors) != 0 {
		t.Errorf("2500 records: errors %v, verdicts differ: %v", res[0].Errors, !slices.Equal(res[0].Verdicts, want))
	}
}

func TestVersionByModelGuest(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, goGuest(t, "version-by-model"))
	rules := m.Manifest().Rules
	if len(rules) != 3 {
		t.Fatalf("rules: %+v", rules)
	}
	// Each rule is "version-by-model/MODEL" asserting node.version IS the
	// approved release: the verdicts must agree with what the manifest
	// says, which is what the host shows operators.
	var records [][]abi.Value
	type want struct {
		rule    int // -1: no rule applies
		verdict abi.Verdict
	}
	var wants []want
	for i, r := range rules {
		model, ok := strings.CutPrefix(r.Name, "version-by-model/")
		release, _ := r.Expected.Value.(string)
		if !ok || r.Target != "node.version" || release == "" {
			t.Fatalf("rule %d: %+v", i, r)
		}
		records = append(records,
			[]abi.Value{abi.String(model), abi.String(release)},
			[]abi.Value{abi.String(model), abi.String(release + ".1")},
			[]abi.Value{abi.String(model), abi.Null()})
		wants = append(wants, want{i, abi.Compliant}, want{i, abi.Violation}, want{i, abi.Violation})
	}
	records = append(records,
		[]abi.Value{abi.String("WS-C2960"), abi.String("15.2")},
		[]abi.Value{abi.Null(), abi.String("17.9.4")},
		[]abi.Value{abi.Other(), abi.String("17.9.4")})
	wants = append(wants, want{-1, 0}, want{-1, 0}, want{-1, 0})

	res, err := m.Eval(context.Background(), records)
	if err != nil {
		t.Fatal(err)
	}
	for r := range rules {
		if len(res[r].Errors) != 0 {
			t.Errorf("rule %d: errors %v", r, res[r].Errors)
		}
		for i, w := range wants {
			v := abi.NotApplicable
			if w.rule == r {
				v = w.verdict
			}
			if got := res[r].Verdicts[i]; got != v {
				t.Errorf("rule %s, record %d %v: %v, want %v", rules[r].Name, i, records[i], got, v)
			}
		}
	}
}

// TestGoGuestLargeBatches sends records whose strings fill the memory cap
// many times over: the host cuts batches by size, and the Go guest, its
// runtime included, fits each in 4 MiB.
func TestGoGuestLargeBatches(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, goGuest(t, "version-by-model"))
	long := strings.Repeat("x", 2000)
	var records [][]abi.Value
	for i := range 5000 {
		model := "MX204"
		if i%2 == 1 {
			model = long
		}
		records = append(records, []abi.Value{abi.String(model), abi.String(long)})
	}
	res, err := m.Eval(context.Background(), records)
	if err != nil {
		t.Fatal(err)
	}
	for r := range res {
		if len(res[r].Errors) != 0 {
			t.Fatalf("rule %d: %v", r, res[r].Errors[0])
		}
	}
	for i, v := range res[1].Verdicts { // version-by-model/MX204
		if want := []abi.Verdict{abi.Violation, abi.NotApplicable}[i%2]; v != want {
			t.Fatalf("record %d: %v, want %v", i, v, want)
		}
	}
}

// TestConcurrentEval runs Evals of one module from several goroutines.
func TestConcurrentEval(t *testing.T) {
	rt := newRuntime(t, func(c *Config) { c.BatchSize = 100; c.Parallelism = 3 })
	m := load(t, rt, goGuest(t, "interface-errors"))
	records := make([][]abi.Value, 1000)
	for i := range records {
		records[i] = []abi.Value{abi.Bool(true), abi.Number(float64(i % 20))}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				res, err := m.Eval(context.Background(), records)
				if err != nil {
					t.Error(err)
					return
				}
				for i, v := range res[0].Verdicts {
					want := abi.Compliant
					if i%20 > 10 {
						want = abi.Violation
					}
					if v != want {
						t.Errorf("record %d: %v, want %v", i, v, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestGoGuestOutOfMemory sends a Go guest a record larger than its memory:
// its runtime dies, that batch's verdicts are errors that say why, and the
// next Eval runs on a fresh instance.
func TestGoGuestOutOfMemory(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, goGuest(t, "version-by-model"))
	huge := strings.Repeat("x", 3<<20) // the cap is 4 MiB, the runtime holds 2.3
	res, err := m.Eval(context.Background(), [][]abi.Value{
		{abi.String("MX204"), abi.String("22.4R3")},
		{abi.String("MX204"), abi.String(huge)},
		{abi.String("MX204"), abi.String("22.4R3")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The huge record is a batch of its own.
	want := "rule version-by-model/MX204: unet_alloc(3145766): trapped: unreachable (fatal error: out of memory)"
	if e := res[1].Errors; len(e) != 1 || e[0].First != 1 || e[0].Last != 2 || e[0].Err.Error() != want {
		t.Errorf("errors %v, want [1, 2) %q", e, want)
	}
	if v := res[1].Verdicts; v[0] != abi.Compliant || v[1] != abi.Error || v[2] != abi.Compliant {
		t.Errorf("verdicts %v", v)
	}
	res, err = m.Eval(context.Background(), [][]abi.Value{{abi.String("MX204"), abi.String("22.4R3")}})
	if err != nil || res[1].Verdicts[0] != abi.Compliant || len(res[1].Errors) != 0 {
		t.Errorf("small Eval after: %v %+v", err, res)
	}
}
