package sandbox

import (
	"context"
	"slices"
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
