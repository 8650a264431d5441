package embedded_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/desired/embedded"
	"github.com/unet-project/unet/internal/testsupport"
)

// TestStartServeClose: the server serves a client, stops quietly (no
// error lines for its own closed listeners) and tolerates a second Close.
func TestStartServeClose(t *testing.T) {
	var logs testsupport.SyncBuffer
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.ClientURL = fmt.Sprintf("http://127.0.0.1:%d", testsupport.FreePort(t))
	cfg.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", testsupport.FreePort(t))
	cfg.Fast = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/k", "v"); err != nil {
		t.Fatalf("put: %v", err)
	}
	cli.Close()
	before := len(logs.String())
	srv.Close()
	srv.Close()
	time.Sleep(100 * time.Millisecond) // etcd's goroutines log their way out after Close
	if stop := logs.String()[before:]; strings.Contains(stop, "level=ERROR") || strings.Contains(stop, "level=WARN") {
		t.Errorf("a clean stop logged warnings or errors:\n%s", stop)
	}
	if strings.Contains(logs.String(), "check file permission") {
		t.Errorf("the data directory is not private:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "embedded etcd stopped") {
		t.Errorf("no stop line:\n%s", logs.String())
	}
}

func TestStartRefusesMissingDir(t *testing.T) {
	_, err := embedded.Start(context.Background(), embedded.Config{}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("error = %v, want one about the data directory", err)
	}
}
