package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/agent"
	"github.com/unet-project/unet/shared/model"
)

// parse runs the command with a run function that records what it gets.
func parse(t *testing.T, env map[string]string, args ...string) (agent.Config, mode, error) {
	t.Helper()
	var (
		cfg agent.Config
		m   mode
	)
	cmd := newCommand(func(k string) string { return env[k] }, io.Discard, io.Discard,
		func(_ context.Context, c agent.Config, md mode, _, _ io.Writer) error {
			cfg, m = c, md
			return nil
		})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return cfg, m, err
}

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "agent.yaml")
	yaml := `collector: http://file:8080
sites: [file-site]
data-dir: /file/dir
name: file-agent
inventory-refresh: 45s
poller:
  workers: 7
log:
  level: warn
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"UNET_CONFIG": file, "UNET_SITES": "env-a,env-b", "UNET_NAME": "env-agent", "UNET_POLLER_WORKERS": "9"}
	cfg, m, err := parse(t, env, "--name", "flag-agent", "--workers", "11", "--listen", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collector != "http://file:8080" || cfg.DataDir != "/file/dir" || cfg.InventoryRefresh != 45*time.Second || cfg.Log.Level != "warn" {
		t.Errorf("from the file: %+v", cfg)
	}
	if !slices.Equal(cfg.Sites, []string{"env-a", "env-b"}) {
		t.Errorf("sites from the environment: %v", cfg.Sites)
	}
	if cfg.Name != "flag-agent" || cfg.Poller.Workers != 11 || cfg.Listen != "" {
		t.Errorf("from the flags: name %q workers %d listen %q", cfg.Name, cfg.Poller.Workers, cfg.Listen)
	}
	if cfg.OnceWait != 2*time.Second || cfg.Poller.LabelEvery != 10 || m.once {
		t.Errorf("defaults: %+v %+v", cfg, m)
	}

	cfg, _, err = parse(t, nil, "--collector", "http://127.0.0.1:1", "--site", "a", "--site", "b,c", "--data-dir", "d")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Sites, []string{"a", "b", "c"}) || cfg.Listen != "127.0.0.1:9180" {
		t.Errorf("flags only: sites %v listen %q", cfg.Sites, cfg.Listen)
	}
}

func TestOutputAndErrors(t *testing.T) {
	base := []string{"--collector", "http://127.0.0.1:1", "--site", "a", "--data-dir", "d"}
	for args, want := range map[string]string{
		"--once":          "json", // not a terminal
		"--once -o table": "table",
		"--once -o json":  "json",
	} {
		_, m, err := parse(t, nil, append(base, strings.Fields(args)...)...)
		if err != nil || !m.once || m.output != want {
			t.Errorf("%s: %+v %v", args, m, err)
		}
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{append(base, "-o", "json"), "goes with --once"},
		{append(base, "--once", "-o", "yaml"), `-o "yaml"`},
		{[]string{"--site", "a"}, "collector is required"},
		{[]string{"--collector", "http://h:1"}, "at least one site"},
		{append(base, "--log-format", "xml"), ""}, // checked when the logger is built
		{append(base, "--gossip", "x"), `gossip "x"`},
		{append(base, "--bogus", "x"), "unknown flag"},
		{append(base, "extra"), "unknown command"},
	} {
		_, _, err := parse(t, nil, tc.args...)
		if tc.says == "" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.says)
		}
	}
	// A bad log format stops the real run before anything starts.
	var stderr bytes.Buffer
	cfg := agent.DefaultConfig()
	cfg.Collector, cfg.Sites, cfg.Log.Format = "http://127.0.0.1:1", []string{"a"}, "xml"
	if err := runAgent(context.Background(), cfg, mode{once: true}, io.Discard, &stderr); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("bad log format: %v", err)
	}
}

func TestTable(t *testing.T) {
	in, out := 1.5e9, 812.4e3
	states := []model.DeviceState{
		{Node: "r1", Reachable: true, SysName: "r1.example", Vendor: model.VendorCisco, UptimeSeconds: 3*86400 + 4*3600 + 5*60,
			Interfaces: []model.InterfaceState{
				{Index: 1, Name: "Gi0/0/0", AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 10e9, Alias: "uplink",
					Rates: model.Rates{InBps: &in, OutBps: &out}},
				{Index: 2, Name: "Gi0/0/1", AdminStatus: model.IfDown, OperStatus: model.IfDown, SpeedBps: 1e9},
			}},
		{Node: "r2", Error: "timeout", Interfaces: []model.InterfaceState{}},
	}
	var b bytes.Buffer
	if err := writeTable(&b, states); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"r1  reachable  sys_name r1.example  vendor cisco  up 3d4h5m  2 interfaces, 1 up",
		"INDEX  NAME", "Gi0/0/0  up     up    10G    1.5Gb/s  812kb/s  uplink", "Gi0/0/1  down   down  1G     -", "r2  UNREACHABLE  timeout"} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	b.Reset()
	if err := writeJSON(&b, nil); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no states: %q %v", b.String(), err)
	}
}
