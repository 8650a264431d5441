package collector

import (
	"context"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/internal/config"
	"github.com/unet-project/unet/internal/testsupport"
)

// TestExampleConfigLoads keeps deploy/collector.yaml in step with Config.
func TestExampleConfigLoads(t *testing.T) {
	cfg := DefaultConfig()
	if err := config.Load(filepath.Join("..", "deploy", "collector.yaml"), &cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("the example file differs from the defaults it documents:\nfile     %+v\ndefaults %+v", cfg, DefaultConfig())
	}
}

// TestExternalEtcd runs the collector against an etcd it did not start, as
// with a production cluster, and checks objects land under the prefix.
func TestExternalEtcd(t *testing.T) {
	srv, cli := testsupport.EtcdServer(t)
	cfg := DefaultConfig()
	cfg.DataDir = ""
	cfg.Listen = "127.0.0.1:0"
	cfg.Etcd.Endpoints = srv.Endpoints()
	cfg.Store.Prefix = "/test-prefix/"
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

	resp, err := http.Post("http://"+c.Addr()+"/api/v1/locations", "application/json",
		strings.NewReader(`{"name":"par1","kind":"site"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create location: %s", resp.Status)
	}
	gctx, gcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer gcancel()
	got, err := cli.Get(gctx, "/test-prefix/location/par1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 {
		t.Fatalf("location not stored under the configured prefix in the external etcd")
	}
}
