package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

type sample struct {
	Listen  string        `yaml:"listen"`
	DataDir string        `yaml:"data-dir"`
	Timeout time.Duration `yaml:"timeout"`
	Etcd    struct {
		Endpoints []string `yaml:"endpoints"`
		MaxOps    int      `yaml:"max-ops"`
	} `yaml:"etcd"`
	Debug bool `yaml:"debug"`
}

func TestLoadOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("listen: 127.0.0.1:9000\ntimeout: 5s\netcd:\n  endpoints: [a, b]\n  max-ops: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sample{Listen: "default", DataDir: "/var/lib/unet"}
	env := map[string]string{"UNET_ETCD_MAX_OPS": "7", "UNET_DEBUG": "true", "UNET_ETCD_ENDPOINTS": "x, y"}
	if err := Load(path, &cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9000" || cfg.DataDir != "/var/lib/unet" || cfg.Timeout != 5*time.Second {
		t.Errorf("file values not applied over defaults: %+v", cfg)
	}
	if cfg.Etcd.MaxOps != 7 || !cfg.Debug || !reflect.DeepEqual(cfg.Etcd.Endpoints, []string{"x", "y"}) {
		t.Errorf("environment did not override the file: %+v", cfg)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("lisen: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg sample
	if err := Load(typo, &cfg, os.Getenv); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Errorf("unknown key error = %v, want it named", err)
	}
	env := map[string]string{"UNET_TIMEOUT": "soon"}
	if err := Load("", &cfg, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "UNET_TIMEOUT") {
		t.Errorf("bad env error = %v, want the variable named", err)
	}
	if err := Load(filepath.Join(dir, "missing.yaml"), &cfg, os.Getenv); err == nil {
		t.Error("a missing file loaded without error")
	}
}

func TestEnvNames(t *testing.T) {
	got := strings.Join(EnvNames(&sample{}), " ")
	want := "UNET_LISTEN UNET_DATA_DIR UNET_TIMEOUT UNET_ETCD_ENDPOINTS UNET_ETCD_MAX_OPS UNET_DEBUG"
	if got != want {
		t.Errorf("EnvNames = %s, want %s", got, want)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sample{Listen: "default"}
	if err := Load(path, &cfg, os.Getenv); err != nil || cfg.Listen != "default" {
		t.Errorf("empty file: err=%v listen=%q, want defaults kept", err, cfg.Listen)
	}
}

func TestResolveUsesUNETCONFIGAndFlagsLast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("listen: from-file\ndata-dir: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"UNET_CONFIG": path, "UNET_DATA_DIR": "from-env", "UNET_DEBUG": "true"}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	debug := fs.Bool("debug", false, "")
	dataDir := fs.String("data-dir", "from-flag-default", "")
	if err := fs.Parse([]string{"--data-dir", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	var cfg sample
	err := Resolve("", &cfg, func(k string) string { return env[k] }, func() {
		ApplyChanged(fs, map[string]func(){
			"data-dir": func() { cfg.DataDir = *dataDir },
			"debug":    func() { cfg.Debug = *debug }, // not set: must not reset the environment's true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "from-file" || cfg.DataDir != "from-flag" || !cfg.Debug {
		t.Errorf("got %+v, want listen from $UNET_CONFIG's file, data-dir from the flag, debug kept from the environment", cfg)
	}
}
