package poller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"workers", func(c *Config) { c.Workers = -1 }, "workers must be between"},
		{"label cadence", func(c *Config) { c.LabelEvery = -2 }, "label-every"},
		{"unknown profile", func(c *Config) { c.ExtraOIDs = map[string][]OIDSpec{"hp": {{Name: "x", OID: "1.2.0"}}} }, `unknown profile "hp"`},
		{"bad OID", func(c *Config) { c.ExtraOIDs = map[string][]OIDSpec{"all": {{Name: "x", OID: "1.2.x"}}} }, "not a dotted OID"},
		{"scalar without .0", func(c *Config) {
			c.ExtraOIDs = map[string][]OIDSpec{"cisco": {{Name: "load", OID: "1.3.6.1.4.1.2021.10.1.3.1"}}}
		}, "does not end in .0"},
		{"negative backoff", func(c *Config) { c.BreakerBackoff = -time.Second }, "cannot be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			_, err := New(cfg, Dependencies{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := New(Config{}, Dependencies{}); err != nil {
		t.Errorf("the zero Config: %v", err)
	}
}

func TestTargetSettings(t *testing.T) {
	three, zero := 3, 0
	prof := model.SNMPProfile{Name: "p", Version: model.SNMPv2c, Community: "c", Timeout: model.Duration(5 * time.Second),
		Retries: &three, MaxRepetitions: 40, Interval: model.Duration(time.Minute)}
	tests := []struct {
		name string
		t    Target
		want settings
	}{
		{"defaults", Target{Profile: model.SNMPProfile{Version: model.SNMPv2c}},
			settings{port: 161, timeout: 2 * time.Second, retries: 1, interval: time.Minute, maxRepetitions: 25}},
		{"profile", Target{Profile: prof},
			settings{port: 161, timeout: 5 * time.Second, retries: 3, interval: time.Minute, maxRepetitions: 40}},
		{"overrides win", Target{Profile: prof, Overrides: Overrides{MaxRepetitions: 5, Timeout: time.Second, Retries: &zero, Interval: 5 * time.Minute}},
			settings{port: 161, timeout: time.Second, retries: 0, interval: 5 * time.Minute, maxRepetitions: 5}},
	}
	for _, tc := range tests {
		if got := tc.t.settings(); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestTargetValidate(t *testing.T) {
	v3 := model.SNMPProfile{Version: model.SNMPv3, User: "u", AuthProtocol: model.AuthSHA256, AuthKey: "12345678", PrivProtocol: model.PrivAES256, PrivKey: "12345678"}
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Node: "a", Address: "192.0.2.1", Profile: v3}, ""},
		{Target{Node: "a", Address: "192.0.2.1", Profile: model.SNMPProfile{Version: model.SNMPv2c}}, "needs a community"},
		{Target{Node: "a", Address: "0.0.0.0", Profile: v3}, "cannot be polled"},
		{Target{Node: "a", Profile: v3}, "address is empty"},
		{Target{Node: "a", Address: "x", Profile: model.SNMPProfile{Version: "1"}}, "not supported"},
		{Target{Node: "a", Address: "x", Profile: model.SNMPProfile{Version: model.SNMPv3, User: "u", AuthProtocol: "sha3"}}, `auth protocol "sha3"`},
	}
	for _, tc := range tests {
		err := tc.t.validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("validate(%+v) = %v, want %q", tc.t, err, tc.want)
		}
	}
}

func TestVendorOf(t *testing.T) {
	for oid, want := range map[string]model.Vendor{
		".1.3.6.1.4.1.9.1.2494":               model.VendorCisco,
		".1.3.6.1.4.1.2636.1.1.1.2.151":       model.VendorJuniper,
		".1.3.6.1.4.1.30065.1.3011.7280.1848": model.VendorArista,
		".1.3.6.1.4.1.8072.3.2.10":            model.VendorGeneric,
		".1.3.6.1.4.1.99":                     model.VendorGeneric,
		"":                                    model.VendorGeneric,
		".1.3.6.1.4.1.90":                     model.VendorGeneric,
	} {
		if got := vendorOf(oid); got != want {
			t.Errorf("vendorOf(%q) = %s, want %s", oid, got, want)
		}
	}
}

// TestExtraOIDs reads custom OIDs per vendor profile: a scalar for every
// profile, a column for Cisco only.
func TestExtraOIDs(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.ExtraOIDs = map[string][]OIDSpec{
		"all":   {{Name: "services", OID: "1.3.6.1.2.1.1.7.0"}, {Name: "missing", OID: "1.3.6.1.2.1.1.99.0"}},
		"cisco": {{Name: "mtu", OID: ".1.3.6.1.2.1.2.2.1.4", Column: true}},
	}
	p, _ := newTestPoller(t, cfg, nil)
	for _, tc := range []struct {
		vendor model.Vendor
		base   string
	}{{model.VendorCisco, "127.15.1.1"}, {model.VendorLinux, "127.15.2.1"}} {
		s := startSim(t, simConfig(tc.base, 1, func(p *snmpsim.Profile) { p.Vendor = tc.vendor; p.Interfaces = 8 }))
		tgt := targets(s, v2cProfile(s.Port()))[0]
		mem := newMemory()
		for i := 0; i < 2; i++ { // the second poll uses what the first learned
			r := p.poll(context.Background(), &tgt, mem, false)
			if r.Poll.Err != nil {
				t.Fatal(r.Poll.Err)
			}
			st := derive.New(tgt.Node).Update(r.Poll).State
			_, hasMTU := st.Extra["mtu.1"]
			if tc.vendor == model.VendorCisco && (st.Extra["mtu.1"] != 1500 || len(st.Extra) != 9) {
				t.Errorf("cisco poll %d: extra %v", i, st.Extra)
			}
			if tc.vendor == model.VendorLinux && (hasMTU || len(st.Extra) != 1) {
				t.Errorf("linux poll %d: extra %v", i, st.Extra)
			}
			if st.Extra["services"] == 0 {
				t.Errorf("%s poll %d: no sysServices in %v", tc.vendor, i, st.Extra)
			}
		}
	}
}
