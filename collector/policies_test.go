package collector

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/internal/testsupport"
)

// TestPolicies runs the collector with a policy directory: a node created
// through the API gets its verdicts, served and stored under the results
// prefix beside the store's.
func TestPolicies(t *testing.T) {
	srv, cli := testsupport.EtcdServer(t)
	dir := t.TempDir()
	policy := "rule \"has-version\":\nWHEN node.role == \"router\"\nTHEN ASSERT node.version IS \"17.9.4\"\n"
	if err := os.WriteFile(filepath.Join(dir, "core.unet"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir() // the modules' compilation cache
	cfg.Listen = "127.0.0.1:0"
	cfg.Etcd.Endpoints = srv.Endpoints()
	cfg.Store.Prefix = "/p/"
	cfg.Policies.Dir = dir
	cfg.Policies.Debounce = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, testsupport.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	base := "http://" + c.Addr() + "/api/v1"
	for _, p := range []struct{ path, body string }{
		{"/locations", `{"name":"par1","kind":"site"}`},
		{"/nodes", `{"name":"r1","vendor":"cisco","role":"router","location":"par1","version":"17.3.1"}`},
	} {
		resp, err := http.Post(base+p.path, "application/json", strings.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %s", p.path, resp.Status)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/compliance?node=r1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var page struct {
			Items []struct{ Rule, Status, Message string } `json:"items"`
		}
		_ = json.Unmarshal(b, &page)
		if len(page.Items) == 1 && page.Items[0].Status == "violation" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verdict for r1: %d %s", resp.StatusCode, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		got, err := cli.Get(ctx, "/p-compliance/r1/has-version")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			keys, _ := cli.Get(ctx, "/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
			t.Fatalf("the verdict is not stored under /p-compliance/: %v", keys.Kvs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
