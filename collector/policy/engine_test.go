package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

const goodPolicy = `// Policies of the engine's tests.
rule "core-version":
WHEN node.role == "router" AND node.vendor == "cisco" AND location.path CONTAINS "dc1"
THEN ASSERT node.version IS "17.9.4"

rule "juniper-asn":
WHEN node.vendor == "juniper" AND custom_data.bgp.asn IS NULL
THEN SET custom_data.bgp.asn TO 65001

rule "switch-template":
WHEN node.role == "switch"
THEN APPLY "templates/access-ports.j2"

rule "serial-is-name":
WHEN node.serial IS NOT NULL
THEN ASSERT node.serial IS node.name
`

// brokenPolicy has an unknown field and a syntax error.
const brokenPolicy = `rule "broken":
WHEN node.rol == "router"
THEN ASSERT node.version IS "1"

WHEN node.vendor ==
THEN APPLY "x.j2"
`

// testEnv is a store on a fresh etcd, with a location tree and nodes, and a
// policy directory.
type testEnv struct {
	t     *testing.T
	ctx   context.Context
	cli   *clientv3.Client
	store *desired.Store
	dir   string
	reg   *prometheus.Registry
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cli := testsupport.Etcd(t)
	env := &testEnv{t: t, ctx: ctx, cli: cli, store: desired.New(cli, desired.DefaultConfig(), testsupport.Logger(t)),
		dir: t.TempDir(), reg: prometheus.NewRegistry()}
	for _, l := range []model.Location{
		{Name: "eu", Kind: model.KindRegion},
		{Name: "dc1", Kind: model.KindSite, Parent: "eu"},
		{Name: "dc1-r01", Kind: model.KindRack, Parent: "dc1"},
		{Name: "par1", Kind: model.KindSite, Parent: "eu"},
	} {
		if _, err := env.store.CreateLocation(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []model.Node{
		{Name: "r1", Vendor: "cisco", Role: "router", Location: "dc1-r01", Version: "17.3.1"},
		{Name: "r2", Vendor: "cisco", Role: "router", Location: "par1", Version: "17.3.1"},
		{Name: "j1", Vendor: "juniper", Role: "router", Location: "dc1", Serial: "j1", CustomData: map[string]any{"bgp": map[string]any{"peers": 2.0}}},
		{Name: "sw1", Vendor: "arista", Role: "switch", Location: "par1", Serial: "XYZ"},
	} {
		if _, err := env.store.CreateNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func (env *testEnv) write(name, content string) {
	env.t.Helper()
	if err := os.WriteFile(filepath.Join(env.dir, name), []byte(content), 0o644); err != nil {
		env.t.Fatal(err)
	}
}

// start runs an engine on the environment until the test ends.
func (env *testEnv) start(tune func(*Config)) *Engine {
	env.t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = env.dir
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Debounce = 20 * time.Millisecond
	cfg.Sandbox.MemoryLimitPages = 16
	cfg.Sandbox.CallTimeout = 50 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	e, err := New(env.ctx, cfg, Dependencies{Logger: testsupport.Logger(env.t), Registry: env.reg, Store: env.store, Etcd: env.cli})
	if err != nil {
		env.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(env.ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	env.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			env.t.Errorf("Run: %v", err)
		}
	})
	return e
}

// eventually polls cond until it holds, or fails with what last says.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30 s; last: %s", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resultOf finds the result of (node, rule).
func resultOf(e *Engine, node, rule string) (Result, bool) {
	res, _ := e.NodeResults(node)
	for _, r := range res {
		if r.Rule == rule {
			return r, true
		}
	}
	return Result{}, false
}

func wantStatus(e *Engine, node, rule string, st Status) func() (bool, string) {
	return func() (bool, string) {
		r, ok := resultOf(e, node, rule)
		return ok && r.Status == st, fmt.Sprintf("%+v", r)
	}
}

// storedResults reads the verdicts in etcd, by "node/rule".
func (env *testEnv) storedResults() map[string]Result {
	env.t.Helper()
	resp, err := env.cli.Get(env.ctx, "/unet-compliance/", clientv3.WithPrefix())
	if err != nil {
		env.t.Fatal(err)
	}
	out := map[string]Result{}
	for _, kv := range resp.Kvs {
		var r Result
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			env.t.Fatalf("%s: %v", kv.Key, err)
		}
		out[r.Node+"/"+r.Rule] = r
	}
	return out
}

func TestEngine(t *testing.T) {
	env := newTestEnv(t)
	env.write("good.unet", goodPolicy)
	env.write("broken.unet", brokenPolicy)
	env.write("garbage.wasm", "not a module")
	env.write("hostile.wasm", string(hostileModule()))
	e := env.start(nil)

	eventually(t, "first verdicts", wantStatus(e, "r1", "core-version", StatusViolation))

	// Verdicts, actual and expected values, messages.
	tests := []struct {
		node, rule string
		status     Status
		actual     any
		expected   any
		message    string
	}{
		{"r1", "core-version", StatusViolation, "17.3.1", "17.9.4", `node.version is "17.3.1", expected "17.9.4"`},
		{"r2", "core-version", StatusNotApplicable, nil, nil, ""},
		{"j1", "juniper-asn", StatusViolation, nil, 65001.0, "custom_data.bgp.asn would be set to 65001 (now null)"},
		{"sw1", "switch-template", StatusCompliant, nil, nil, "template templates/access-ports.j2 applies"},
		{"j1", "serial-is-name", StatusCompliant, "j1", "j1", `node.serial is "j1"`},
		{"sw1", "serial-is-name", StatusViolation, "XYZ", "sw1", `node.serial is "XYZ", expected "sw1" (node.name)`},
		{"r1", "hostile-ok", StatusCompliant, nil, nil, "template ok.j2 applies"},
	}
	for _, tt := range tests {
		r, ok := resultOf(e, tt.node, tt.rule)
		if !ok {
			t.Errorf("%s/%s: no verdict", tt.node, tt.rule)
			continue
		}
		if r.Status != tt.status || fmt.Sprint(r.Actual) != fmt.Sprint(tt.actual) ||
			fmt.Sprint(r.Expected) != fmt.Sprint(tt.expected) || r.Message != tt.message {
			t.Errorf("%s/%s: %s actual=%v expected=%v %q, want %s actual=%v expected=%v %q", tt.node, tt.rule,
				r.Status, r.Actual, r.Expected, r.Message, tt.status, tt.actual, tt.expected, tt.message)
		}
		if tt.status != StatusNotApplicable && r.Site == "" {
			t.Errorf("%s/%s: no site", tt.node, tt.rule)
		}
	}

	// The hostile guest: its two bad rules are errors that say why, on
	// every node; its good rule and every other file work.
	for _, rule := range []string{"hostile-loop", "hostile-grow"} {
		r, _ := resultOf(e, "sw1", rule)
		if r.Status != StatusError || !strings.Contains(r.Message, "rule "+rule) {
			t.Errorf("%s: %s %q, want an error naming the rule", rule, r.Status, r.Message)
		}
	}

	// The broken files are reported, the others loaded.
	files, dirErr := e.Policies()
	if dirErr != "" {
		t.Errorf("directory error %q", dirErr)
	}
	byFile := map[string]PolicyFile{}
	for _, f := range files {
		byFile[f.File] = f
	}
	if f := byFile["broken.unet"]; f.Active || len(f.Diagnostics) != 2 ||
		!strings.HasPrefix(f.Diagnostics[0], "broken.unet:2:") || !strings.HasPrefix(f.Diagnostics[1], "broken.unet:6:") {
		t.Errorf("broken.unet: %+v", f)
	}
	if f := byFile["garbage.wasm"]; f.Active || f.Error == "" {
		t.Errorf("garbage.wasm: %+v", f)
	}
	if f := byFile["good.unet"]; !f.Active || len(f.Rules) != 4 || f.Error != "" {
		t.Errorf("good.unet: %+v", f)
	}
	if f := byFile["hostile.wasm"]; !f.Active || f.Kind != "wasm" {
		t.Errorf("hostile.wasm: %+v", f)
	}
	if got := e.State().Broken; got != 2 {
		t.Errorf("files with errors %v, want 2", got)
	}
	if mfs, err := env.reg.Gather(); err != nil || !strings.Contains(fmt.Sprint(mfs), "unet_policy_files_with_errors") {
		t.Errorf("metrics: %v", err)
	}

	// The verdicts are in etcd; not-applicable ones are not.
	eventually(t, "verdicts in etcd", func() (bool, string) {
		st := env.storedResults()
		r, ok := st["r1/core-version"]
		_, na := st["r2/core-version"]
		return ok && r.Status == StatusViolation && r.Actual == "17.3.1" && !na, fmt.Sprint(len(st), r)
	})

	// A node update is evaluated again (watch, debounce), and etcd follows.
	n, err := env.store.GetNode(env.ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	n.Version = "17.9.4"
	if _, err := env.store.UpdateNode(env.ctx, "r1", n, n.Revision); err != nil {
		t.Fatal(err)
	}
	eventually(t, "r1 compliant after the update", wantStatus(e, "r1", "core-version", StatusCompliant))
	eventually(t, "r1 compliant in etcd", func() (bool, string) {
		r := env.storedResults()["r1/core-version"]
		return r.Status == StatusCompliant, fmt.Sprint(r)
	})

	// A location move: r2's site becomes dc1's subtree.
	n2, _ := env.store.GetNode(env.ctx, "r2")
	n2.Location = "dc1"
	if _, err := env.store.UpdateNode(env.ctx, "r2", n2, n2.Revision); err != nil {
		t.Fatal(err)
	}
	eventually(t, "r2 now applicable", wantStatus(e, "r2", "core-version", StatusViolation))

	// SET proposals, applied with compare-and-swap.
	props := e.SetProposals("")
	if len(props) != 1 || props[0].Node != "j1" || props[0].Path != "custom_data.bgp.asn" || props[0].Proposed != 65001.0 {
		t.Fatalf("proposals %+v", props)
	}
	if tpl := e.Templates("sw1"); len(tpl) != 2 || tpl[0] != "templates/access-ports.j2" {
		t.Errorf("templates of sw1: %v", tpl)
	}
	rep, err := e.ApplySets(env.ctx, []ProposalRef{{Node: "j1", Path: "custom_data.bgp.asn", Proposed: 65001}})
	if err != nil || rep.Applied != 1 || rep.Failed != 0 {
		t.Fatalf("ApplySets: %+v %v", rep, err)
	}
	j1, _ := env.store.GetNode(env.ctx, "j1")
	if got, _ := json.Marshal(j1.CustomData); string(got) != `{"bgp":{"asn":65001,"peers":2}}` {
		t.Errorf("j1 custom_data %s", got)
	}
	eventually(t, "j1 compliant after the SET", wantStatus(e, "j1", "juniper-asn", StatusNotApplicable))
	if props := e.SetProposals(""); len(props) != 0 {
		t.Errorf("proposals left: %+v", props)
	}

	// A node deleted loses its verdicts, in etcd too.
	if err := env.store.DeleteNode(env.ctx, "sw1", desired.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sw1's verdicts gone", func() (bool, string) {
		st := env.storedResults()
		_, ok := st["sw1/switch-template"]
		_, known := e.NodeResults("sw1")
		return !ok && !known && len(e.Results(Filter{Node: "sw1"})) == 0, ""
	})

	// Fixing the broken file loads it; removing the hostile one drops its
	// rules and verdicts.
	env.write("broken.unet", "rule \"fixed\":\nWHEN node.vendor == \"cisco\"\nTHEN ASSERT node.vendor IS \"cisco\"\n")
	if err := os.Remove(filepath.Join(env.dir, "hostile.wasm")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reload", wantStatus(e, "r1", "fixed", StatusCompliant))
	eventually(t, "hostile verdicts gone", func() (bool, string) {
		got := e.Results(Filter{Rule: "hostile-ok"})
		_, stored := env.storedResults()["r1/hostile-ok"]
		return len(got) == 0 && !stored, fmt.Sprint(got)
	})
}

// TestEngineRestart: a second engine serves the stored verdicts before it
// evaluates, and writes nothing that did not change.
func TestEngineRestart(t *testing.T) {
	env := newTestEnv(t)
	env.write("good.unet", goodPolicy)
	ctx, cancel := context.WithCancel(env.ctx)
	cfg := DefaultConfig()
	cfg.Dir = env.dir
	e1, err := New(ctx, cfg, Dependencies{Logger: testsupport.Logger(t), Store: env.store, Etcd: env.cli})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e1.Run(ctx) }()
	eventually(t, "stored", func() (bool, string) {
		_, ok := env.storedResults()["r1/core-version"]
		return ok, ""
	})
	cancel()
	<-done
	before, err := env.cli.Get(env.ctx, "/unet-compliance/r1/core-version")
	if err != nil {
		t.Fatal(err)
	}

	e2 := env.start(nil)
	eventually(t, "evaluated again", func() (bool, string) {
		return !e2.State().LastEval.IsZero(), ""
	})
	after, err := env.cli.Get(env.ctx, "/unet-compliance/r1/core-version")
	if err != nil {
		t.Fatal(err)
	}
	if before.Kvs[0].ModRevision != after.Kvs[0].ModRevision {
		t.Errorf("an unchanged verdict was written again (revision %d → %d)", before.Kvs[0].ModRevision, after.Kvs[0].ModRevision)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, tc := range map[string]func(*Config){
		"zero poll":       func(c *Config) { c.PollInterval = 0 },
		"negative wait":   func(c *Config) { c.Debounce = -1 },
		"no txn ops":      func(c *Config) { c.MaxTxnOps = 0 },
		"prefix no slash": func(c *Config) { c.ResultsPrefix = "/x" },
		"tiny memory":     func(c *Config) { c.Sandbox.MemoryLimitPages = 1 },
	} {
		c := DefaultConfig()
		tc(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestSetPath(t *testing.T) {
	tests := []struct {
		in, path string
		v        any
		want     string
	}{
		{`{}`, "custom_data.a", 1.0, `{"a":1}`},
		{`{"a":{"b":1}}`, "custom_data.a.c.d", "x", `{"a":{"b":1,"c":{"d":"x"}}}`},
		{`{"a":"s"}`, "custom_data.a.b", 1.0, `error`},
		{`{}`, "node.version", 1.0, `error`},
	}
	for _, tt := range tests {
		var m map[string]any
		_ = json.Unmarshal([]byte(tt.in), &m)
		got := "error"
		if err := setPath(m, tt.path, tt.v); err == nil {
			b, _ := json.Marshal(m)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("setPath(%s, %s) = %s, want %s", tt.in, tt.path, got, tt.want)
		}
	}
}
