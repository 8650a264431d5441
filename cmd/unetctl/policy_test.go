package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tetratelabs/wazero"

	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/policy"
	"github.com/unet-project/unet/internal/testsupport"
)

// The example policy of the demo, evaluated by the tests below.
const examplePolicy = "../../policies-wasm/examples/site-standards.unet"

// startPolicyCollector is startCollector with a policy engine over dir.
func startPolicyCollector(t *testing.T, dir string) *collector {
	t.Helper()
	cli := testsupport.Etcd(t)
	store := desired.New(cli, desired.DefaultConfig(), testsupport.Logger(t))
	cfg := policy.DefaultConfig()
	cfg.Dir = dir
	cfg.PollInterval = 100 * time.Millisecond
	cfg.Debounce = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := policy.New(ctx, cfg, policy.Dependencies{Logger: testsupport.Logger(t), Store: store, Etcd: cli})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	a, err := api.New(api.DefaultConfig(), api.Dependencies{Store: store, Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry(), Policies: eng})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &collector{t: t, url: srv.URL, home: t.TempDir()}
}

func writePolicy(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestE2EPolicyFiles: validate, compile and fields need no collector.
func TestE2EPolicyFiles(t *testing.T) {
	c := &collector{t: t, url: "http://127.0.0.1:1", home: t.TempDir()}
	dir := t.TempDir()
	bad := writePolicy(t, dir, "bad.unet", "rule \"x\":\nWHEN node.rol == \"router\"\nTHEN ASSERT node.version IS 2\n")
	tests := []struct {
		args    []string
		code    int
		stdout  []string
		stderrs []string // each a line of stderr
	}{
		{[]string{"policy", "validate", examplePolicy}, 0, []string{examplePolicy + ": ok, 11 rules"}, nil},
		{[]string{"policy", "validate", bad, examplePolicy}, 1, []string{examplePolicy + ": ok, 11 rules"}, []string{
			bad + ":2:6: unknown field node.rol (did you mean node.role?)",
			bad + ":3:29: ASSERT node.version: node.version is a string, 2 is a number",
			"Error: 2 errors in 1 file",
		}},
		{[]string{"policy", "validate", filepath.Join(dir, "missing.unet")}, 1, nil, []string{"no such file"}},
		{[]string{"policy", "validate", writePolicy(t, dir, "junk.wasm", "junk")}, 1, nil, []string{"junk.wasm: ", "Error: 1 error in 1 file"}},
		{[]string{"policy", "validate"}, 2, nil, []string{"Error: "}},
		{[]string{"policy", "compile", bad, "-o", filepath.Join(dir, "bad.wasm")}, 1, nil, []string{bad + ":2:6: unknown field", "Error: 2 errors: nothing written"}},
		{[]string{"policy", "fields", "-o", "csv"}, 0, []string{"path,type,doc", "node.version,string,"}, nil},
	}
	for _, tt := range tests {
		r := c.run(tt.args...)
		if r.code != tt.code {
			t.Errorf("unetctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), r.code, tt.code, r.out, r.err)
			continue
		}
		for _, w := range tt.stdout {
			if !strings.Contains(r.out, w) {
				t.Errorf("unetctl %s: stdout %q does not have %q", strings.Join(tt.args, " "), r.out, w)
			}
		}
		for _, w := range tt.stderrs {
			if !strings.Contains(r.err, w) {
				t.Errorf("unetctl %s: stderr %q does not have %q", strings.Join(tt.args, " "), r.err, w)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.wasm")); err == nil {
		t.Errorf("compile wrote a module for a broken file")
	}

	// compile: a module that wazero compiles and the sandbox's ABI accepts.
	out := filepath.Join(dir, "site.wasm")
	if r := c.run("policy", "compile", examplePolicy, "-o", out); r.code != 0 || !strings.Contains(r.out, "11 rules") {
		t.Fatalf("compile: %d %s %s", r.code, r.out, r.err)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	if _, err := rt.CompileModule(context.Background(), wasm); err != nil {
		t.Errorf("wazero does not compile the module: %v", err)
	}
	if r := c.run("policy", "validate", out); r.code != 0 || !strings.Contains(r.out, "ok, 11 rules") {
		t.Errorf("validate the module: %d %s %s", r.code, r.out, r.err)
	}
}

func TestE2EPolicyCollector(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	writePolicy(t, dir, "site-standards.unet", string(src))
	writePolicy(t, dir, "broken.unet", "WHEN node.vendor ==\nTHEN APPLY \"x\"\n")
	c := startPolicyCollector(t, dir)
	c.seed()
	c.must("node", "add", "j1", "--location", "par1", "--vendor", "juniper", "--role", "router")

	// eval: locally, on the node as the collector has it.
	var rows []map[string]any
	c.mustJSON(&rows, "policy", "eval", examplePolicy, "--node", "r1")
	got := map[string]map[string]any{}
	for _, r := range rows {
		if len(r) != 5 {
			t.Errorf("eval row %v: want rule, status, actual, expected, message", r)
		}
		got[r["rule"].(string)] = r
	}
	if r := got["live-snmpv3"]; r["status"] != "violation" || r["actual"] != "lab" || r["expected"] != "v3-authpriv" ||
		r["message"] != `node.snmp_profile is "lab", expected "v3-authpriv"` {
		t.Errorf("eval live-snmpv3: %v", r)
	}
	if r := got["live-reachable"]; r["status"] != "violation" || r["actual"] != nil || r["expected"] != true {
		t.Errorf("eval live-reachable: %v", r)
	}
	if _, ok := got["core-version"]; ok || len(rows) != 3 {
		t.Errorf("eval: not-applicable rules listed, or rules missing: %v", rows)
	}
	if r := c.run("policy", "eval", examplePolicy, "--node", "ghost"); r.code != 1 || !strings.Contains(r.err, `node "ghost" does not exist`) {
		t.Errorf("eval on a ghost: %d %s", r.code, r.err)
	}

	// compliance: the collector's verdicts, once it evaluated.
	var failing []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mustJSON(&failing, "compliance", "--failing", "--site", "par1")
		if len(failing) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var names []string
	for _, r := range failing {
		names = append(names, r["node"].(string)+"/"+r["rule"].(string)+"/"+r["status"].(string))
	}
	wantSet := map[string]bool{"j1/juniper-asn/violation": true, "j1/junos-edge-version/violation": true,
		"r1/live-reachable/violation": true, "r1/live-snmpv3/violation": true}
	for _, n := range names {
		delete(wantSet, n)
	}
	if len(wantSet) != 0 || len(names) != 4 {
		t.Errorf("compliance --failing: %v; missing %v", names, wantSet)
	}
	table := c.must("compliance", "--node", "r1")
	if !strings.Contains(table, "template templates/router-base.j2 applies") || !strings.Contains(table, "STATUS") {
		t.Errorf("compliance table:\n%s", table)
	}
	list := c.must("policy", "list")
	if !strings.Contains(list, "site-standards.unet") || !strings.Contains(list, "broken.unet") {
		t.Errorf("policy list:\n%s", list)
	}

	// apply-sets: refused without confirmation, applied with --yes.
	if r := c.run("policy", "apply-sets"); r.code != 1 || !strings.Contains(r.out, "custom_data.bgp.asn") ||
		!strings.Contains(r.err, "without confirmation") {
		t.Errorf("apply-sets without --yes: %d\n%s\n%s", r.code, r.out, r.err)
	}
	var outcomes []map[string]any
	c.mustJSON(&outcomes, "policy", "apply-sets", "--yes")
	if len(outcomes) != 1 || outcomes[0]["status"] != "applied" || outcomes[0]["node"] != "j1" {
		t.Fatalf("apply-sets: %v", outcomes)
	}
	var node map[string]any
	c.mustJSON(&node, "node", "show", "j1")
	if jsonString(node["custom_data"]) != `{"bgp":{"asn":65001}}` {
		t.Errorf("j1 custom_data: %v", node["custom_data"])
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		out := c.must("policy", "apply-sets")
		if strings.Contains(out, "No pending SET proposals.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proposal is still pending:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
