package poller

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/shared/model"
)

// Net-SNMP's snmpd is an independent peer: a v3 authPriv poll of a real
// agent checks the session handling that the simulator (written with the
// same understanding of the RFCs as the poller) might share mistakes with.

// findSnmpd returns the snmpd binary or fails the test: `make test`
// installs it (apt-get install -y snmpd).
func findSnmpd(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"snmpd", "/usr/sbin/snmpd"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Net-SNMP snmpd is not installed: run `apt-get update && apt-get install -y snmpd` (make test installs it)")
	return ""
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSnmpd runs snmpd with a configuration of its own (nothing from
// /etc/snmp: -C) on a free loopback port, stopped when the test ends.
func startSnmpd(t *testing.T, user, authKey, privKey string) int {
	t.Helper()
	bin := findSnmpd(t)
	dir := t.TempDir()
	port := freeUDPPort(t)
	conf := filepath.Join(dir, "snmpd.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`agentAddress udp:127.0.0.1:%d
rocommunity public 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
master no
`, port, user, authKey, privKey, user)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "snmpd.log")
	cmd := exec.Command(bin, "-f", "-C", "-c", conf, "-p", filepath.Join(dir, "snmpd.pid"), "-Lf", log)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "MIBS=")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting snmpd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			if b, err := os.ReadFile(log); err == nil {
				t.Logf("snmpd log:\n%s", b)
			}
		}
	})
	// Ready when it answers a v2c Get.
	tgt := Target{Node: "snmpd", Address: "127.0.0.1", Profile: v2cProfile(port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("snmpd exited: %v", err)
		default:
		}
		g := newSession(context.Background(), &tgt, tgt.settings(), nil, "")
		g.Timeout = 200 * time.Millisecond
		if g.Connect() == nil {
			_, err := g.Get([]string{oidSysUpTime})
			g.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("snmpd did not answer within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return port
}

func TestNetSNMPv3(t *testing.T) {
	t.Parallel()
	const user, authKey, privKey = "unetv3", "authpass123", "privpass123"
	port := startSnmpd(t, user, authKey, privKey)
	retries := 1
	tgt := Target{Node: "netsnmp", Address: "127.0.0.1", Profile: model.SNMPProfile{
		Name: "v3", Version: model.SNMPv3, User: user,
		AuthProtocol: model.AuthSHA, AuthKey: authKey, PrivProtocol: model.PrivAES, PrivKey: privKey,
		Port: port, Timeout: model.Duration(2 * time.Second), Retries: &retries,
	}}
	p, _ := newTestPoller(t, DefaultConfig(), nil)
	mem := newMemory()
	d := derive.New(tgt.Node)
	var out derive.Output
	for i := 0; i < 2; i++ {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		r := p.poll(context.Background(), &tgt, mem, false)
		if r.Poll.Err != nil {
			t.Fatalf("v3 authPriv poll %d of snmpd: %v (%s)", i, r.Poll.Err, r.Reason)
		}
		if i == 0 && (!r.Poll.Labels || r.Poll.System == nil) {
			t.Fatalf("the first poll read no system group or labels")
		}
		if r.Poll.EngineBoots == 0 {
			t.Errorf("poll %d: no SNMPv3 engine boots", i)
		}
		out = d.Update(r.Poll)
	}
	st := out.State
	if !st.Reachable || !strings.Contains(st.SysDescr, "Linux") || st.SysObjectID != "1.3.6.1.4.1.8072.3.2.10" || st.Vendor != model.VendorGeneric {
		t.Errorf("system group: %+v", st)
	}
	var lo *model.InterfaceState
	for i := range st.Interfaces {
		ifc := &st.Interfaces[i]
		if ifc.Name == "" || ifc.Index <= 0 || ifc.OperStatus == "" {
			t.Errorf("interface %+v", ifc)
		}
		if ifc.Name == "lo" {
			lo = ifc
		}
	}
	if lo == nil {
		t.Fatalf("no lo among %d interfaces: %+v", len(st.Interfaces), st.Interfaces)
	}
	if lo.Type != "softwareLoopback" || lo.OperStatus != model.IfUp || lo.InBps == nil {
		t.Errorf("lo = %+v (in_bps %v)", lo, val(lo.InBps))
	}

	// Wrong keys: a clear failure, not a hang.
	bad := tgt
	bad.Profile.PrivKey = "wrongpriv123"
	bad.Overrides.Timeout = 300 * time.Millisecond
	r := p.poll(context.Background(), &bad, newMemory(), false)
	if r.Reason != "timeout" || r.Poll.Err == nil || !strings.Contains(r.Poll.Err.Error(), "wrong v3 keys?") {
		t.Errorf("wrong privacy key: %q %v", r.Reason, r.Poll.Err)
	}
	bad = tgt
	bad.Profile.AuthKey = "wrongauth123"
	r = p.poll(context.Background(), &bad, newMemory(), false)
	if r.Reason != "auth" {
		t.Errorf("wrong auth key: %q %v", r.Reason, r.Poll.Err)
	}
}
