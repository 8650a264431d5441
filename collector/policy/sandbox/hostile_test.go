package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
)

// names builds records with one field, node.name.
func names(ss ...string) [][]abi.Value {
	recs := make([][]abi.Value, len(ss))
	for i, s := range ss {
		recs[i] = []abi.Value{abi.String(s)}
	}
	return recs
}

// TestHostileRules evaluates modules of three rules whose middle one
// misbehaves: the middle rule gets errors that say why, the two others
// their verdicts, each within its deadline.
func TestHostileRules(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"infinite loop", infiniteLoop, "rule bad: deadline of 100ms exceeded"},
		{"trap", unreachable, "rule bad: trapped: unreachable"},
		{"unbounded memory.grow", growForever, "rule bad: trapped: unreachable (memory at 64 of 64 pages: out of memory?)"},
		{"garbage verdicts", garbageVerdicts, "rule bad: returned garbage verdict 0x7f for record 0"},
		{"error code", errorCode, "rule bad: returned error code 7"},
		{"regex_match outside memory", regexOutOfRange, "rule bad: trapped: regex_match: string at 0xffffff00+1000 outside memory (131072 bytes)"},
		{"regex_match unknown regex", regexUnknown, "rule bad: trapped: regex_match: regex 5 unknown, the manifest has 1"},
		{"no verdicts written", cat(i32Const(0), ops(opReturn)), "rule bad: returned garbage verdict 0xff for record 0"},
	}
	for _, tt := range tests {
		// Not in parallel: the busy loops of some would take the CPU the
		// deadlines of others count.
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t, nil)
			m := load(t, rt, policy{
				rules:  []string{"good", "bad", "regex"},
				bodies: map[int][]byte{1: tt.body, 2: regexNames},
			}.wasm())
			res, err := m.Eval(context.Background(), names("core-1", "edge-1", "CORE-2"))
			if err != nil {
				t.Fatal(err)
			}
			want := [][]abi.Verdict{
				{abi.Compliant, abi.Compliant, abi.Compliant},
				{abi.Error, abi.Error, abi.Error},
				{abi.Violation, abi.Compliant, abi.Violation},
			}
			for r := range want {
				for i, v := range want[r] {
					if res[r].Verdicts[i] != v {
						t.Errorf("rule %d record %d: %v, want %v", r, i, res[r].Verdicts[i], v)
					}
				}
			}
			if len(res[0].Errors)+len(res[2].Errors) != 0 {
				t.Errorf("errors of the good rules: %v %v", res[0].Errors, res[2].Errors)
			}
			if len(res[1].Errors) != 1 {
				t.Fatalf("errors of the bad rule: %v", res[1].Errors)
			}
			e := res[1].Errors[0]
			if e.First != 0 || e.Last != 3 || e.Err.Error() != tt.want {
				t.Errorf("error [%d, %d) %q, want [0, 3) %q", e.First, e.Last, e.Err, tt.want)
			}
			// The module is still usable: the poisoned instance was
			// replaced.
			res, err = m.Eval(context.Background(), names("core-9"))
			if err != nil || res[2].Verdicts[0] != abi.Violation || res[0].Verdicts[0] != abi.Compliant {
				t.Errorf("second Eval: %v %+v", err, res)
			}
		})
	}
}

// TestBatches checks that a failure is confined to its batch: only the
// batch holding the record that makes the rule fail gets errors.
func TestBatches(t *testing.T) {
	rt := newRuntime(t, func(c *Config) { c.BatchSize = 2; c.Parallelism = 2 })
	// Rule "bad" traps when the first record of its batch is "boom".
	boom := cat(
		localGet(1), i32Load(8), // ptr of record 0's name
		i32Load(0), i32Const(0x6d6f6f62), ops(opI32Eq, opIf, blockEmpty, opUnreachable, opEnd))
	m := load(t, rt, policy{rules: []string{"good", "bad"}, bodies: map[int][]byte{1: boom}}.wasm())
	res, err := m.Eval(context.Background(), names("a", "b", "boom", "c", "d"))
	if err != nil {
		t.Fatal(err)
	}
	want := []abi.Verdict{abi.Compliant, abi.Compliant, abi.Error, abi.Error, abi.Compliant}
	for i, v := range want {
		if res[1].Verdicts[i] != v || res[0].Verdicts[i] != abi.Compliant {
			t.Errorf("record %d: %v %v, want compliant %v", i, res[0].Verdicts[i], res[1].Verdicts[i], v)
		}
	}
	if len(res[1].Errors) != 1 || res[1].Errors[0].First != 2 || res[1].Errors[0].Last != 4 {
		t.Errorf("errors: %v", res[1].Errors)
	}
}

func TestAllocFailure(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, policy{rules: []string{"a", "b"}}.wasm())
	// 2 pages minus allocAddr leave 120 KiB: a batch of 200 KiB does not
	// fit, and unet_alloc says so.
	res, err := m.Eval(context.Background(), names(strings.Repeat("x", 200<<10)))
	if err != nil {
		t.Fatal(err)
	}
	for r := range res {
		if res[r].Verdicts[0] != abi.Error || len(res[r].Errors) != 1 ||
			!strings.Contains(res[r].Errors[0].Err.Error(), "unet_alloc(204817) returned 0: out of memory") {
			t.Errorf("rule %d: %v %v", r, res[r].Verdicts, res[r].Errors)
		}
	}
	res, err = m.Eval(context.Background(), names("small"))
	if err != nil || res[0].Verdicts[0] != abi.Compliant {
		t.Errorf("small batch: %v %+v", err, res)
	}
}

func TestLoadRefuses(t *testing.T) {
	huge := int64(manifestAddr)<<32 | 2<<20
	outside := int64(0x7fff0000)<<32 | 100
	tests := []struct {
		name string
		p    policy
		want string
	}{
		{"garbage manifest", policy{manifest: []byte("\x00\x01garbage")}, "manifest is not valid JSON"},
		{"huge manifest", policy{manifestRef: &huge}, "manifest of 2097152 bytes, more than the limit of 1048576"},
		{"manifest outside memory", policy{manifestRef: &outside}, "manifest at 0x7fff0000+100 is outside memory"},
		{"wrong ABI version", policy{abiVersion: 2}, "unet_abi_version returned 2, this host implements ABI version 1"},
		{"manifest of another ABI", policy{manifest: []byte(`{"abi": 2, "fields": [], "rules": []}`)}, "manifest is for ABI version 2"},
		{"bad regex", policy{manifest: []byte(`{"abi": 1, "fields": [], "regexes": [{"pattern": "(("}], "rules": []}`)}, "manifest regex 0: error parsing regexp"},
		{"forbidden import", policy{imports: []wasmImport{{"env", "abort", nil, nil}}}, "imports env.abort: a policy module may import only unet.regex_match"},
		{"WASI outside Go", policy{imports: []wasmImport{{"wasi_snapshot_preview1", "fd_write", []byte{i32, i32, i32, i32}, []byte{i32}}}},
			"imports wasi_snapshot_preview1.fd_write, which only Go wasip1 modules (those exporting _initialize) may import"},
		{"regex_match of another type", policy{imports: []wasmImport{{"unet", "regex_match", []byte{i32}, []byte{i32}}}},
			"imports unet.regex_match as (i32) -> (i32), want (i32, i32, i32) -> (i32)"},
		{"unet import of another name", policy{imports: []wasmImport{{"unet", "now", nil, []byte{i64}}}}, "imports unet.now"},
		// "deadline of 200ms exceeded", or on a busy machine that of the
		// wall-clock backstop: either way, contained.
		{"initialize that never returns", policy{initialize: infiniteLoop}, "instantiation failed: deadline of "},
		{"start function that never returns", policy{start: infiniteLoop}, "instantiation failed: deadline of "},
		{"start function that traps", policy{start: unreachable}, "instantiation failed: trapped: start function[5] failed: unreachable"},
		{"memory above the cap", policy{pages: 65}, "does not compile"},
		{"WASI command", policy{command: true}, "exports _start: it is a WASI command, not a reactor (build Go policies with -buildmode=c-shared)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 20 ms per call, hence 200 ms to instantiate.
			rt := newRuntime(t, func(c *Config) { c.CallTimeout = 20 * time.Millisecond })
			tt.p.rules = []string{"r"}
			_, err := rt.Load(context.Background(), tt.p.wasm())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want an error with %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "policy module ") {
				t.Errorf("error does not name the module: %v", err)
			}
		})
	}
}

func TestLoadAllowsWASIForGoGuests(t *testing.T) {
	rt := newRuntime(t, nil)
	m := load(t, rt, policy{
		rules:      []string{"r"},
		imports:    []wasmImport{{"wasi_snapshot_preview1", "fd_write", []byte{i32, i32, i32, i32}, []byte{i32}}},
		initialize: []byte{},
	}.wasm())
	res, err := m.Eval(context.Background(), names("x"))
	if err != nil || res[0].Verdicts[0] != abi.Compliant {
		t.Errorf("Eval: %v %+v", err, res)
	}
}
