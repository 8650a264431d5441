package main

import (
	"context"
	"fmt"
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
