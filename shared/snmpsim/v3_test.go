package snmpsim

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

var (
	userSHA    = V3User{Name: "poller", AuthProtocol: model.AuthSHA, AuthKey: "authpass1", PrivProtocol: model.PrivAES, PrivKey: "privpass1"}
	userSHA256 = V3User{Name: "poller256", AuthProtocol: model.AuthSHA256, AuthKey: "authpass256", PrivProtocol: model.PrivAES, PrivKey: "privpass256"}
)

var gosnmpAuth = map[model.AuthProtocol]gosnmp.SnmpV3AuthProtocol{
	model.AuthMD5: gosnmp.MD5, model.AuthSHA: gosnmp.SHA, model.AuthSHA224: gosnmp.SHA224,
	model.AuthSHA256: gosnmp.SHA256, model.AuthSHA384: gosnmp.SHA384, model.AuthSHA512: gosnmp.SHA512,
}

// v3 returns a connected SNMPv3 client for device i with user u's
// credentials (level follows u: authPriv when it has a priv key).
func v3(t testing.TB, s *Simulator, i int, u V3User) *gosnmp.GoSNMP {
	t.Helper()
	sp := &gosnmp.UsmSecurityParameters{
		UserName:                 u.Name,
		AuthenticationProtocol:   gosnmpAuth[u.AuthProtocol],
		AuthenticationPassphrase: u.AuthKey,
	}
	flags := gosnmp.AuthNoPriv
	if u.PrivProtocol != "" {
		flags = gosnmp.AuthPriv
		sp.PrivacyProtocol = gosnmp.AES
		sp.PrivacyPassphrase = u.PrivKey
	}
	g := &gosnmp.GoSNMP{
		Target:             s.DeviceAt(i).Info().Addr.String(),
		Port:               uint16(s.Port()),
		Version:            gosnmp.Version3,
		Timeout:            2 * time.Second,
		MaxRepetitions:     25,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           flags,
		SecurityParameters: sp,
	}
	connect(t, g)
	return g
}

func TestV3AuthPriv(t *testing.T) {
	t.Parallel()
	for i, u := range []V3User{userSHA, userSHA256} {
		t.Run(string(u.AuthProtocol), func(t *testing.T) {
			t.Parallel()
			cfg, _ := vendorConfig(fmt.Sprintf("127.1.%d.1", 40+i), 2, model.VendorCisco)
			user := u
			cfg.Profile.V3 = &user
			s := startSim(t, cfg)
			g := v3(t, s, 1, u)
			v := getOne(t, g, oidSysName)
			if string(v.Value.([]byte)) != "sim-00002" {
				t.Fatalf("sysName over v3 = %v", v.Value)
			}
			eid := s.DeviceAt(1).engineID()
			if got := g.SecurityParameters.(*gosnmp.UsmSecurityParameters).AuthoritativeEngineID; got != string(eid[:]) {
				t.Errorf("discovered engine ID % x, want % x", got, eid)
			}
			// A whole table, over many encrypted GetBulks, equals the v2c walk.
			got := walk(t, g, oidIfXTable)
			want := walk(t, v2(t, s, 1, "public"), oidIfXTable)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("ifXTable over v3 differs from v2c:\n%v\n%v", got, want)
			}
			if n := s.usmStats[usmUnknownEngineIDs].Load(); n != 1 {
				t.Errorf("usmStatsUnknownEngineIDs = %d, want 1 (one discovery)", n)
			}
			if st := s.Stats(); st.AuthFailures != 0 || st.Reports != 1 {
				t.Errorf("stats %+v, want no auth failure and one report", st)
			}
		})
	}
}

func TestV3Failures(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.42.1", 8, model.VendorJuniper)
	cfg.Profile.V3 = &userSHA
	s := startSim(t, cfg)

	fail := func(i int, u V3User, wantStat int, wantTimeout bool) {
		t.Helper()
		g := v3(t, s, i, u)
		g.Timeout = 300 * time.Millisecond
		before := s.usmStats[wantStat].Load()
		_, err := g.Get([]string{oidSysName})
		if err == nil {
			t.Fatalf("device %d answered user %s with wrong credentials", i, u.Name)
		}
		if isTimeout := strings.Contains(err.Error(), "timeout"); isTimeout != wantTimeout {
			t.Errorf("user %s: %v; want timeout %v", u.Name, err, wantTimeout)
		}
		if s.usmStats[wantStat].Load() != before+1 {
			t.Errorf("user %s: usmStats counter %d did not move", u.Name, wantStat)
		}
		if st := s.DeviceAt(i).Stats(); st.AuthFailures != 1 {
			t.Errorf("user %s: device stats %+v, want one auth failure", u.Name, st)
		}
	}
	// A Report comes back (gosnmp then refuses it as unauthenticated:
	// not a timeout); the counter tells which.
	unknown := userSHA
	unknown.Name = "intruder"
	fail(0, unknown, usmUnknownUserNames, false)
	wrongAuth := userSHA
	wrongAuth.AuthKey = "not-the-key"
	fail(1, wrongAuth, usmWrongDigests, false)
	authOnly := userSHA
	authOnly.PrivProtocol, authOnly.PrivKey = "", ""
	fail(2, authOnly, usmUnsupportedSecLevels, false)
	// A wrong privacy key decrypts to garbage: silence, as Net-SNMP does.
	wrongPriv := userSHA
	wrongPriv.PrivKey = "not-the-priv-key"
	g := v3(t, s, 3, wrongPriv)
	g.Timeout = 300 * time.Millisecond
	if _, err := g.Get([]string{oidSysName}); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("wrong priv key: %v, want a timeout", err)
	}
	if st := s.DeviceAt(3).Stats(); st.AuthFailures != 1 {
		t.Errorf("wrong priv key: device stats %+v, want one auth failure", st)
	}
	for _, r := range s.Recent() {
		if r.Version != 3 {
			t.Errorf("request log: %+v is not v3", r)
		}
	}

	// Out of the time window (the engine rebooted, or the manager waited
	// too long): an authenticated report with the new boots and time,
	// after which gosnmp resends and succeeds.
	g = v3(t, s, 4, userSHA)
	getOne(t, g, oidSysName)
	s.DeviceAt(4).TriggerReboot()
	getOne(t, g, oidSysName)
	clk.Advance(10 * time.Minute)
	getOne(t, g, oidSysName)
	if n := s.usmStats[usmNotInTimeWindows].Load(); n != 2 {
		t.Errorf("usmStatsNotInTimeWindows = %d, want 2", n)
	}
	if st := s.DeviceAt(4).Stats(); st.AuthFailures != 0 {
		t.Errorf("time window reports are not auth failures: %+v", st)
	}
}

// TestV3NetSNMP checks the agent against Net-SNMP's snmpget, an
// implementation independent of gosnmp (make test installs it).
func TestV3NetSNMP(t *testing.T) {
	t.Parallel()
	snmpget, err := exec.LookPath("snmpget")
	if err != nil {
		t.Fatal("snmpget is not installed: apt-get install snmp (make test installs it)")
	}
	cfg, _ := vendorConfig("127.1.43.1", 1, model.VendorArista)
	cfg.Profile.V3 = &userSHA256
	s := startSim(t, cfg)
	target := fmt.Sprintf("udp:%s:%d", s.DeviceAt(0).Info().Addr, s.Port())
	run := func(user, auth, priv string) (string, error) {
		cmd := exec.Command(snmpget, "-v3", "-l", "authPriv", "-u", user, "-a", "SHA-256", "-A", auth, "-x", "AES", "-X", priv,
			"-r", "0", "-t", "1", "-On", "-Oq", target, "1.3.6.1.2.1.1.5.0")
		dir := t.TempDir()
		cmd.Env = []string{"MIBS=", "HOME=" + dir, "SNMP_PERSISTENT_DIR=" + dir, "SNMPCONFPATH=" + dir}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}
	if out, err := run(userSHA256.Name, userSHA256.AuthKey, userSHA256.PrivKey); err != nil || !strings.HasSuffix(out, `.1.3.6.1.2.1.1.5.0 "sim-00001"`) {
		t.Errorf("snmpget: %v: %s", err, out)
	}
	if out, _ := run("intruder", userSHA256.AuthKey, userSHA256.PrivKey); !strings.Contains(out, "Unknown user name") {
		t.Errorf("snmpget with an unknown user: %s", out)
	}
	if out, _ := run(userSHA256.Name, "wrongwrongwrong", userSHA256.PrivKey); !strings.Contains(out, "Authentication failure") {
		t.Errorf("snmpget with a wrong auth key: %s", out)
	}
}
