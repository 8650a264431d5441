package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

// start runs the command with args until the test ends, and returns the
// simulator once it serves.
func start(t *testing.T, env map[string]string, args ...string) (*snmpsim.Simulator, *testsupport.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *snmpsim.Simulator, 1)
	var stdout, stderr testsupport.SyncBuffer
	cmd := newCommand(func(k string) string { return env[k] }, &stdout, &stderr, func(s *snmpsim.Simulator) { ready <- s })
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("unet-snmpsim: %v", err)
		}
	})
	select {
	case s := <-ready:
		if !strings.Contains(stderr.String(), "serving") {
			t.Errorf("stderr does not say what it serves: %s", stderr.String())
		}
		return s, &stdout
	case err := <-done:
		t.Fatalf("unet-snmpsim %v: %v\n%s", args, err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("unet-snmpsim did not start")
	}
	return nil, nil
}

func TestServesAndWritesTheInventory(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "devices.csv")
	s, _ := start(t, map[string]string{envCommunity: "s3cret"},
		"--devices", "300", "--base", "127.4.0.200", "--port", "0", "--csv", csv, "--site", "lab-1", "--region", "emea",
		"--vendor", "juniper", "--interfaces", "8", "--seed", "7", "--dead-fraction", "0.1", "--log-format", "text")
	f, err := os.Open(csv)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("the CSV holds a secret but has mode %v", st.Mode().Perm())
	}
	b, rowErrs, err := bundle.DecodeCSV(f, "")
	if err != nil || len(rowErrs) != 0 {
		t.Fatalf("the CSV does not import: %v %v", err, rowErrs)
	}
	if len(b.Locations) != 2 || b.Locations[1].Name != "lab-1" || b.Locations[1].Parent != "emea" || b.Locations[1].Kind != model.KindSite {
		t.Errorf("locations %+v", b.Locations)
	}
	p := b.SNMPProfiles
	if len(p) != 1 || p[0].Version != model.SNMPv2c || p[0].Community != "s3cret" || p[0].Port != s.Port() {
		t.Fatalf("profiles %+v", p)
	}
	if len(b.Nodes) != 300 {
		t.Fatalf("%d nodes", len(b.Nodes))
	}
	n := b.Nodes[56]
	if n.Name != "sim-00057" || n.ManagementAddress != "127.4.1.2" || n.Vendor != model.VendorJuniper || n.Role != model.RoleRouter ||
		n.Lifecycle != model.LifecycleLive || n.Location != "lab-1" || n.SNMPProfile != p[0].Name || n.Model != "MX204" || n.Serial == "" {
		t.Errorf("node %+v", n)
	}
	// The nodes answer with the community of the profile, at the address of
	// the CSV; about a tenth are dead.
	dead := 0
	for i := range 40 {
		n := b.Nodes[i]
		g := &gosnmp.GoSNMP{Target: n.ManagementAddress, Port: uint16(p[0].Port), Community: p[0].Community,
			Version: gosnmp.Version2c, Timeout: 100 * time.Millisecond, Retries: 0}
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		res, err := g.Get([]string{".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.6.0"})
		g.Conn.Close()
		if err != nil {
			dead++
			continue
		}
		if string(res.Variables[0].Value.([]byte)) != n.Name || string(res.Variables[1].Value.([]byte)) != "lab-1" {
			t.Errorf("%s answers %v", n.Name, res.Variables)
		}
	}
	if dead < 2 || dead > 6 {
		t.Errorf("%d of 40 devices are dead, want about 4", dead)
	}
}

func TestV3AndStdout(t *testing.T) {
	s, stdout := start(t, map[string]string{envPrivKey: "privpass1"},
		"--devices", "2", "--base", "127.4.10.1", "--port", "0", "--csv", "-", "--v3-user", "poller",
		"--v3-auth-proto", "sha256", "--v3-auth-key", "authpass1", "--csv-snmp-version", "3", "--vendor", "arista")
	b, rowErrs, err := bundle.DecodeCSV(strings.NewReader(stdout.String()), "")
	if err != nil || len(rowErrs) != 0 {
		t.Fatalf("the CSV on stdout does not import: %v %v\n%s", err, rowErrs, stdout.String())
	}
	p := b.SNMPProfiles[0]
	if p.Version != model.SNMPv3 || p.User != "poller" || p.AuthProtocol != model.AuthSHA256 || p.AuthKey != "authpass1" ||
		p.PrivProtocol != model.PrivAES || p.PrivKey != "privpass1" {
		t.Fatalf("profile %+v", p)
	}
	g := &gosnmp.GoSNMP{
		Target: b.Nodes[1].ManagementAddress, Port: uint16(s.Port()), Version: gosnmp.Version3, Timeout: 2 * time.Second,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: p.User, AuthenticationProtocol: gosnmp.SHA256,
			AuthenticationPassphrase: p.AuthKey, PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: p.PrivKey},
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	res, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"})
	if err != nil || string(res.Variables[0].Value.([]byte)) != "sim-00002" {
		t.Fatalf("v3 get: %v %v", err, res)
	}
}

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--base", "10.0.0.1"}, "not in 127.0.0.0/8"},
		{[]string{"--base", "nope"}, `--base "nope"`},
		{[]string{"--devices", "0"}, "--devices"},
		{[]string{"--vendor", "acme"}, "--vendor"},
		{[]string{"--v3-user", "u", "--v3-auth-key", "authpass1"}, "--v3-priv-key"},
		{[]string{"--csv", "-", "--csv-snmp-version", "3", "--port", "0", "--base", "127.4.20.1"}, "needs --v3-user"},
		{[]string{"--snmprec", "/nonexistent.snmprec"}, "--snmprec"},
		{[]string{"extra"}, "unknown command"},
	} {
		var out bytes.Buffer
		cmd := newCommand(func(string) string { return "" }, &out, &out, nil)
		cmd.SetArgs(c.args)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := cmd.ExecuteContext(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error about %q", c.args, err, c.want)
		}
	}
}
