package sandbox

import (
	"context"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"zero is the defaults", Config{}, ""},
		{"memory above 4 GiB", Config{MemoryLimitPages: 65537}, "memory limit of 65537 pages"},
		{"negative timeout", Config{CallTimeout: -1}, "negative call timeout"},
		{"negative batch", Config{BatchSize: -1}, "negative batch size"},
		{"negative parallelism", Config{Parallelism: -1}, "negative parallelism"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := New(context.Background(), tt.cfg, testLogger(t))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rt.cfg != DefaultConfig() {
					t.Errorf("config %+v, want %+v", rt.cfg, DefaultConfig())
				}
				rt.Close(context.Background())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestLoadCache checks that Load returns the module already loaded from the
// same bytes, and that it closes with its last Close.
func TestLoadCache(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, nil)
	wasm := policy{rules: []string{"r"}}.wasm()
	m1 := load(t, rt, wasm)
	m2 := load(t, rt, wasm)
	if m1 != m2 {
		t.Fatal("second Load of the same bytes made another module")
	}
	if m3 := load(t, rt, policy{rules: []string{"other"}}.wasm()); m3 == m1 || m3.Hash() == m1.Hash() {
		t.Fatal("Load of other bytes returned the same module")
	}
	if err := m1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Eval(ctx, names("a")); err != nil {
		t.Fatalf("Eval after the first of two Closes: %v", err)
	}
	m2.Close(ctx)
	if _, err := m2.Eval(ctx, names("a")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Eval after the last Close: %v", err)
	}
	m4 := load(t, rt, wasm)
	if m4 == m1 {
		t.Fatal("Load after Close returned the closed module")
	}
	if res, err := m4.Eval(ctx, names("a")); err != nil || res[0].Verdicts[0] != abi.Compliant {
		t.Fatalf("Eval of the module loaded again: %v %+v", err, res)
	}
}

func TestEvalBadRecords(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, policy{rules: []string{"r"}}.wasm())
	_, err := m.Eval(context.Background(), [][]abi.Value{{abi.String("a")}, {abi.String("a"), abi.Null()}})
	if err == nil || !strings.Contains(err.Error(), "record 1 has 2 values, the manifest has 1 fields") {
		t.Errorf("Eval: %v", err)
	}
	res, err := m.Eval(context.Background(), nil)
	if err != nil || len(res) != 1 || len(res[0].Verdicts) != 0 {
		t.Errorf("Eval of no records: %v %+v", err, res)
	}
}

func TestEvalCanceled(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, policy{rules: []string{"r"}, bodies: map[int][]byte{0: infiniteLoop}}.wasm())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Eval(ctx, names("a")); err != context.Canceled {
		t.Errorf("Eval: %v, want %v", err, context.Canceled)
	}
}
