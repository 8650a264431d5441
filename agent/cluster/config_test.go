package cluster

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/ring"
)

func TestConfigDefaults(t *testing.T) {
	cfg := Config{Name: "a", Site: "s"}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if cfg.BindAddr != d.BindAddr || cfg.SettleTime != d.SettleTime || cfg.ProbeInterval != d.ProbeInterval ||
		cfg.SuspicionMult != d.SuspicionMult || cfg.JoinRetry != d.JoinRetry {
		t.Errorf("zero fields not defaulted: %+v", cfg)
	}
	if cfg.BindPort != 0 {
		t.Errorf("BindPort %d: 0 means any free port and must stay", cfg.BindPort)
	}
	noName := Config{Site: "s"}
	if err := noName.normalize(); err != nil || noName.Name == "" {
		t.Errorf("no name: %v, name %q; want the host name", err, noName.Name)
	}
}

func TestConfigValidation(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	cases := []struct {
		name   string
		modify func(*Config)
		want   string // in the error; "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"secret key of 32 bytes", func(c *Config) { c.SecretKey = secret }, ""},
		{"join by names and addresses", func(c *Config) { c.Join = []string{"agents.lyon.example", "10.0.0.1:7946", "[::1]:7946"} }, ""},
		{"no site", func(c *Config) { c.Site = "" }, "site is required"},
		{"long site", func(c *Config) { c.Site = strings.Repeat("s", 200) }, "at most 128"},
		{"bind address not an IP", func(c *Config) { c.BindAddr = "eth0" }, "bind-addr"},
		{"bind port", func(c *Config) { c.BindPort = 70000 }, "bind-port"},
		{"advertise address", func(c *Config) { c.AdvertiseAddr = "host" }, "advertise-addr"},
		{"empty join address", func(c *Config) { c.Join = []string{""} }, "empty"},
		{"join port", func(c *Config) { c.Join = []string{"host:0"} }, "host:port"},
		{"key not base64", func(c *Config) { c.SecretKey = "not base64!" }, "not valid base64"},
		{"key of 10 bytes", func(c *Config) { c.SecretKey = base64.StdEncoding.EncodeToString(make([]byte, 10)) }, "10 bytes"},
		{"settle max below settle", func(c *Config) { c.SettleTime, c.SettleTimeMax = 5*time.Second, time.Second }, "settle-time-max"},
		{"probe timeout above interval", func(c *Config) { c.ProbeTimeout = 2 * time.Second }, "probe-timeout"},
		{"negative suspicion", func(c *Config) { c.SuspicionMult = -1 }, "suspicion-mult"},
		{"ring load factor", func(c *Config) { c.Ring = ring.Config{LoadFactor: 0.5} }, "load factor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Name, cfg.Site = "a", "s"
			tc.modify(&cfg)
			_, err := New(cfg, Dependencies{})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New succeeded, want an error about %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want it to mention %q", err, tc.want)
			}
			if err != nil && cfg.SecretKey != "" && strings.Contains(err.Error(), cfg.SecretKey) {
				t.Errorf("the error quotes the secret key: %v", err)
			}
		})
	}
}

func TestLogWriter(t *testing.T) {
	var buf strings.Builder
	w := logWriter{log: newTextLogger(&buf)}
	w.Write([]byte("[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n"))
	w.Write([]byte("[ERR] memberlist: failed to receive: No installed keys could decrypt the message from=127.0.0.1:2\n"))
	out := buf.String()
	if !strings.Contains(out, `level=DEBUG msg="Stream connection from=127.0.0.1:1" memberlist_level=DEBUG`) {
		t.Errorf("debug line not routed as such:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "secret-key") {
		t.Errorf("key mismatch not a warning that names the fix:\n%s", out)
	}
}
