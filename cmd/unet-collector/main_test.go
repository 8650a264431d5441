package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/collector"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "collector.yaml")
	yaml := "listen: 127.0.0.1:7001\ndata-dir: /from/file\nlog:\n  level: warn\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"UNET_DATA_DIR": "/from/env", "UNET_LOG_LEVEL": "debug"}
	var cfg collector.Config
	cmd := newCommand(func(k string) string { return env[k] }, func(_ context.Context, c collector.Config) error {
		cfg = c
		return nil
	})
	cmd.SetArgs([]string{"--config", file, "--log-level", "error"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7001" {
		t.Errorf("listen = %q, want the file's value", cfg.Listen)
	}
	if cfg.DataDir != "/from/env" {
		t.Errorf("data-dir = %q, want the environment to win over the file", cfg.DataDir)
	}
	if cfg.Log.Level != "error" {
		t.Errorf("log level = %q, want the flag to win over the environment", cfg.Log.Level)
	}
}

func TestInvalidConfigStopsStartup(t *testing.T) {
	cmd := newCommand(func(string) string { return "" }, func(context.Context, collector.Config) error {
		t.Fatal("started with an invalid configuration")
		return nil
	})
	cmd.SetArgs([]string{"--listen", "no-port", "--data-dir", t.TempDir()})
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("error = %v, want one naming listen", err)
	}
}

// TestBinaryServesAndStopsOnSIGTERM runs the real binary as the README
// says, waits for /healthz and /readyz, then checks a clean SIGTERM stop.
func TestBinaryServesAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "unet-collector")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
	cmd := exec.Command(bin, "--data-dir", t.TempDir(), "--listen", addr)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	base := "http://" + addr
	waitStatus(t, base+"/healthz", http.StatusOK, &logs)
	waitStatus(t, base+"/readyz", http.StatusOK, &logs)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

func waitStatus(t *testing.T, url string, want int, logs *strings.Builder) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d (last: %v)\n%s", url, want, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClickHouseFlagsAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		address  string
		database string
	}{
		{"default: no history", nil, nil, "", "unet"},
		{"flags", []string{"--clickhouse", "127.0.0.1:9000", "--clickhouse-database", "lab"}, nil, "127.0.0.1:9000", "lab"},
		{"environment", nil, map[string]string{"UNET_CLICKHOUSE_ADDRESS": "ch:9000", "UNET_CLICKHOUSE_DATABASE": "env"}, "ch:9000", "env"},
		{"flag over environment", []string{"--clickhouse", "flag:9000"}, map[string]string{"UNET_CLICKHOUSE_ADDRESS": "ch:9000"}, "flag:9000", "unet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg collector.Config
			cmd := newCommand(func(k string) string { return tc.env[k] }, func(_ context.Context, c collector.Config) error {
				cfg = c
				return nil
			})
			cmd.SetArgs(append([]string{"--data-dir", t.TempDir()}, tc.args...))
			if err := cmd.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if cfg.ClickHouse.Address != tc.address || cfg.ClickHouse.Database != tc.database {
				t.Errorf("clickhouse %q database %q, want %q %q", cfg.ClickHouse.Address, cfg.ClickHouse.Database, tc.address, tc.database)
			}
		})
	}
	cmd := newCommand(func(string) string { return "" }, func(context.Context, collector.Config) error {
		t.Fatal("started with an invalid ClickHouse address")
		return nil
	})
	cmd.SetArgs([]string{"--data-dir", t.TempDir(), "--clickhouse", "no-port"})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "clickhouse") {
		t.Fatalf("error = %v, want one naming clickhouse", err)
	}
}

// TestBinaryHistory runs the built binary without and with --clickhouse:
// without, the history routes say how to get them; with, a batch posted
// to the ingest endpoint comes back from the history routes.
func TestBinaryHistory(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "unet-collector")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	start := func(t *testing.T, args ...string) (base string, logs *testsupport.SyncBuffer) {
		t.Helper()
		addr := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
		cmd := exec.Command(bin, append([]string{"--data-dir", t.TempDir(), "--listen", addr, "--log-format", "text"}, args...)...)
		logs = &testsupport.SyncBuffer{}
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("still running 30 s after SIGTERM\n%s", logs.String())
			}
		})
		base = "http://" + addr
		waitReady(t, base+"/readyz", logs)
		return base, logs
	}

	t.Run("without --clickhouse", func(t *testing.T) {
		base, _ := start(t)
		resp, body := httpGet(t, base+"/api/v1/history/events")
		want := `{"error":{"code":"unavailable","message":"no history store is configured: start the collector with --clickhouse"}}`
		if resp.StatusCode != http.StatusServiceUnavailable || body != want {
			t.Fatalf("history: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("with --clickhouse", func(t *testing.T) {
		ch := testsupport.ClickHouse(t)
		base, logs := start(t, "--clickhouse", ch, "--clickhouse-database", "unet_bin")
		now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
		in := 123.0
		body, err := wire.Encode(&wire.Batch{Agent: "a1", Seq: 1, Created: now,
			Devices: []model.DeviceSample{{Node: "r1", Time: now, Reachable: true}},
			Samples: []model.Sample{{Node: "r1", Time: now, IfIndex: 1, IfName: "e0", AdminStatus: model.IfUp, OperStatus: model.IfUp, Rates: model.Rates{InBps: &in}}}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			req, _ := http.NewRequest("POST", base+wire.IngestPath, bytes.NewReader(body))
			req.Header.Set("Content-Type", wire.ContentType)
			req.Header.Set("Content-Encoding", wire.ContentEncoding)
			req.Header.Set(wire.HeaderAgent, "a1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("ingest: %s\n%s", resp.Status, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, path := range []string{"/api/v1/locations", "/api/v1/nodes"} {
			b := `{"name":"par1","kind":"site"}`
			if path == "/api/v1/nodes" {
				b = `{"name":"r1","vendor":"cisco","role":"router","location":"par1"}`
			}
			resp, err := http.Post(base+path, "application/json", strings.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		resp, got := httpGet(t, base+"/api/v1/history/interfaces?node=r1&ifname=e0&from=-1h")
		if resp.StatusCode != http.StatusOK || !strings.Contains(got, `"in_bps":123`) {
			t.Fatalf("history: %d %s", resp.StatusCode, got)
		}
		resp, got = httpGet(t, base+"/api/v1/nodes/r1/status")
		if resp.StatusCode != http.StatusOK || !strings.Contains(got, `"reachable":true`) || !strings.Contains(got, `"name":"e0"`) {
			t.Fatalf("status: %d %s", resp.StatusCode, got)
		}
	})
}

func waitReady(t *testing.T, url string, logs *testsupport.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200 (last: %v)\n%s", url, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
