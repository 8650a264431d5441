package snmpsim

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

func TestRecordingReplay(t *testing.T) {
	t.Parallel()
	rec, err := LoadRecording("testdata/edge-router.snmprec")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "edge-router" || rec.Len() != 62 || rec.Skipped != 0 {
		t.Fatalf("recording %q: %d instances, %d skipped", rec.Name, rec.Len(), rec.Skipped)
	}
	cfg, clk := vendorConfig("127.1.60.1", 3, model.VendorArista)
	cfg.Customize = func(i int, p *Profile) {
		if i == 1 {
			p.Recording = rec
		}
	}
	s := startSim(t, cfg)
	info := s.DeviceAt(1).Info()
	if info.SysName != "edge-rtr-01.example.net" || info.Vendor != model.VendorJuniper || info.Model != "MX80-48T" ||
		info.Interfaces != 3 || info.Recording != "edge-router" || info.Name != "sim-00002" {
		t.Errorf("info %+v", info)
	}
	g := v2(t, s, 1, "public")

	// The whole walk is the file, in OID order, with the recorded types.
	got := walk(t, g, ".1.3")
	want := recordedOIDs(t, "testdata/edge-router.snmprec")
	if len(got) != len(want) {
		t.Fatalf("walk: %d varbinds, the file has %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Name != "."+want[i] {
			t.Fatalf("walk: varbind %d is %s, want .%s", i, got[i].Name, want[i])
		}
	}
	byName := map[string]gosnmp.SnmpPDU{}
	for _, vb := range got {
		byName[vb.Name] = vb
	}
	for oid, want := range map[string]string{
		".1.3.6.1.2.1.1.2.0":              "ObjectIdentifier .1.3.6.1.4.1.2636.1.1.1.2.57",
		".1.3.6.1.2.1.1.5.0":              "OctetString edge-rtr-01.example.net",
		".1.3.6.1.2.1.2.2.1.5.501":        "Gauge32 1000000000",
		".1.3.6.1.2.1.2.2.1.6.501":        "OctetString \x3c\x61\x04\xaa\x01\x02",
		".1.3.6.1.2.1.2.2.1.10.501":       "Counter32 4294000000",
		".1.3.6.1.2.1.4.20.1.1.10.0.0.1":  "IPAddress 10.0.0.1",
		".1.3.6.1.2.1.4.20.1.1.192.0.2.1": "IPAddress 192.0.2.1",
		".1.3.6.1.2.1.31.1.1.1.6.501":     "Counter64 98765432109876",
		".1.3.6.1.2.1.31.1.1.1.18.502":    "OctetString ",
		".1.3.6.1.4.1.2636.3.1.2.0":       "OctetString Juniper MX80 Internet Router",
		".1.3.6.1.2.1.47.1.1.1.1.11.1":    "OctetString JN11F2E3AAFB",
		".1.3.6.1.2.1.2.2.1.9.501":        "TimeTicks 4250",
		".1.3.6.1.2.1.31.1.1.1.10.502":    "Counter64 0",
		".1.3.6.1.2.1.2.2.1.8.502":        "Integer 2",
	} {
		if vb := byName[oid]; pduString(vb) != want {
			t.Errorf("%s = %q, want %q", oid, pduString(vb), want)
		}
	}
	// sysUpTime is live, not the recorded 1234567.
	up1 := byName[oidSysUpTime].Value.(uint32)
	if up1 == 1234567 {
		t.Errorf("sysUpTime is the recorded value")
	}

	// Numeric variations move with time; Counter32 wraps.
	clk.Advance(10 * time.Second)
	res, err := g.Get([]string{".1.3.6.1.2.1.2.2.1.10.1", ".1.3.6.1.2.1.2.2.1.10.501", ".1.3.6.1.2.1.31.1.1.1.10.501", oidSysUpTime})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"Counter32 111265", "Counter32 24032704", "Counter64 98765457109876"} {
		if got := pduString(res.Variables[i]); got != want {
			t.Errorf("after 10s, %s = %s, want %s", res.Variables[i].Name, got, want)
		}
	}
	if up2 := res.Variables[3].Value.(uint32); up2 != up1+1000 {
		t.Errorf("sysUpTime went from %d to %d in 10s", up1, up2)
	}

	// Lookups of what the recording lacks.
	for oid, want := range map[string]gosnmp.Asn1BER{
		".1.3.6.1.2.1.1.1.1":      gosnmp.NoSuchInstance,
		".1.3.6.1.2.1.2.2.1.2.77": gosnmp.NoSuchInstance,
		".1.3.6.1.2.1.99.1.0":     gosnmp.NoSuchObject,
	} {
		if vb := getOne(t, g, oid); vb.Type != want {
			t.Errorf("get %s = %v, want %v", oid, vb.Type, want)
		}
	}

	// Behaviours apply; interfaces of a recording do not change.
	s.DeviceAt(1).TriggerReboot()
	if up := getOne(t, g, oidSysUpTime).Value.(uint32); up != 0 {
		t.Errorf("sysUpTime after a reboot = %d", up)
	}
	if err := s.DeviceAt(1).Flap(501); err == nil {
		t.Errorf("a recorded interface flapped")
	}
	// Generated neighbours do not cable an uplink to a recording.
	if rows := walk(t, v2(t, s, 0, "public"), oidLLDPRem); len(rows) != 6 {
		t.Errorf("device 0 has %d LLDP varbinds, want one neighbour (device 2), 6 columns", len(rows))
	}
}

// pduString formats a varbind's type and value for comparisons.
func pduString(vb gosnmp.SnmpPDU) string {
	switch v := vb.Value.(type) {
	case []byte:
		return vb.Type.String() + " " + string(v)
	case nil:
		return vb.Type.String()
	}
	return vb.Type.String() + " " + strings.TrimSpace(strings.Trim(strings.ReplaceAll(fmtAny(vb.Value), "\n", ""), " "))
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint:
		return itoa(uint64(x))
	case uint32:
		return itoa(uint64(x))
	case uint64:
		return itoa(x)
	case int:
		if x < 0 {
			return "-" + itoa(uint64(-x))
		}
		return itoa(uint64(x))
	}
	return "?"
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// recordedOIDs lists the OIDs of a .snmprec file, sorted as a walk returns
// them.
func recordedOIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var oids [][]uint32
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && line[0] != '#' {
			oids = append(oids, mustOID(strings.SplitN(line, "|", 2)[0]))
		}
	}
	for i := 1; i < len(oids); i++ {
		for j := i; j > 0 && compareOID(oids[j-1], oids[j]) > 0; j-- {
			oids[j-1], oids[j] = oids[j], oids[j-1]
		}
	}
	out := make([]string, len(oids))
	for i, o := range oids {
		out[i] = oidString(o)
	}
	return out
}

func TestParseRecording(t *testing.T) {
	t.Parallel()
	rec, err := ParseRecording("t", strings.NewReader(strings.Join([]string{
		"# comment",
		"",
		"1.3.6.1.2.1.1.5.0|4e|a\\nb\\x41\\\\",
		"1.3.6.1.2.1.1.5.0|4|duplicate: the last line wins",
		"1.3.6.1.2.1.1.6.0|4:writecache|value=Paris",
		"1.3.6.1.2.1.1.7.0|2:delay|wait=100",
		"1.3.6.1.2.1.1.8.0|67|0",
		"1.3.6.1.4.1.1|68x|0102",
		"1.3.6.1.4.1.2|5|",
		"  1.3.6.1.4.1.3|2|-5  ",
		"1.3.6.1.4.1.4|70:numeric|rate=fast",
		"1.3.6.1.4.1.5|66:numeric|initial=10,rate=2,scale=3,offset=1,max=50",
		"1.3.6.1.4.1.6|2:numeric|function=cos,initial=100,scale=10",
		"1.3.6.1.4.1.7|65:numeric|initial=4294967000,rate=100",
		"1.3.6.1.4.1.8|65:numeric|initial=4294967000,rate=100,wrap=0",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Len() != 10 || rec.Skipped != 2 || rec.sysName != "duplicate: the last line wins" {
		t.Errorf("%d instances, %d skipped, sysName %q", rec.Len(), rec.Skipped, rec.sysName)
	}
	if v, err := unescape(`a\nb\x41\\\'`); err != nil || v != "a\nbA\\'" {
		t.Errorf("unescape = %q, %v", v, err)
	}
	// Numeric values at 0 s and 10 s after the start.
	s, err := New(testConfig("127.1.62.1", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	var v view
	v.s, v.nowMs, v.bootMs = s, s.startMs, s.startMs-1000
	at := func(oid string) string {
		i, ok := rec.layout.search(mustOID(oid))
		if !ok {
			t.Fatalf("%s is not in the recording", oid)
		}
		return fmt.Sprintf("% x", rec.layout.entries[i].rec.appendValue(nil, &v))
	}
	if got := at("1.3.6.1.4.1.5"); got != "42 01 0b" { // 10 + 3×0 + 1
		t.Errorf("numeric at 0s = %s", got)
	}
	if got := at("1.3.6.1.4.1.6"); got != "02 01 6e" { // 100 + 10×cos(0)
		t.Errorf("numeric cos at 0s = %s", got)
	}
	v.nowMs += 10_000
	if got := at("1.3.6.1.4.1.5"); got != "42 01 32" { // 10 + 3×20 + 1 = 71, clamped to 50
		t.Errorf("numeric at 10s = %s", got)
	}
	if got := at("1.3.6.1.4.1.7"); got != "41 02 02 c0" { // a counter wraps: 4294967000 + 1000 - 2^32 = 704
		t.Errorf("numeric counter at 10s = %s", got)
	}
	if got := at("1.3.6.1.4.1.8"); got != "41 05 00 ff ff ff ff" { // unless told not to
		t.Errorf("numeric counter with wrap=0 at 10s = %s", got)
	}
	for _, c := range []struct{ in, want string }{
		{"", "holds no instance"},
		{"1.3.6.1", "line 1: want OID|TAG|VALUE"},
		{"x.y|4|v", "line 1: OID"},
		{"1.3.6.1|4|ok\n1.3.6.1.2|99|x", "line 2 (1.3.6.1.2): tag 99 is not an SNMP type"},
		{"1.3.6.1|2|seven", `integer "seven"`},
		{"1.3.6.1|4x|zz", "not hexadecimal"},
		{"1.3.6.1|64|1.2.3", "not an IPv4 address"},
		{"1.3.6.1|65|-1", "not a 32-bit unsigned number"},
		{"1.3.6.1|4e|bad\\q", "unknown escape"},
		{"1.3.6.1|6|1.3.6.x", "OID"},
	} {
		if _, err := ParseRecording("t", strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRecording(%q): %v, want %q", c.in, err, c.want)
		}
	}
}

// TestDebianExamples replays the recordings Debian's snmpsim package
// ships (make test installs it): real devices' walks, thousands of lines.
func TestDebianExamples(t *testing.T) {
	t.Parallel()
	const dir = "/usr/share/doc/snmpsim/examples/data/"
	if _, err := os.Stat(dir + "public.snmprec.gz"); err != nil {
		t.Fatal("snmpsim's example recordings are not installed: apt-get install snmpsim (make test installs it)")
	}
	public, err := LoadRecording(dir + "public.snmprec.gz")
	if err != nil {
		t.Fatal(err)
	}
	cisco, err := LoadRecording(dir + "cisco_16_switch.snmprec.gz")
	if err != nil {
		t.Fatal(err)
	}
	if public.Len() < 3000 || cisco.Len() < 50000 || cisco.vendor != model.VendorCisco {
		t.Errorf("public: %d instances; cisco: %d, vendor %s", public.Len(), cisco.Len(), cisco.vendor)
	}
	cfg := testConfig("127.1.61.1", 2)
	cfg.Customize = func(i int, p *Profile) { p.Recording = []*Recording{public, cisco}[i] }
	s := startSim(t, cfg)
	if got := string(getOne(t, v2(t, s, 0, "public"), oidSysName).Value.([]byte)); got != "zeus.snmplabs.com (you can change this!)" {
		t.Errorf("public sysName = %q", got)
	}
	g := v2(t, s, 1, "public")
	rows := walk(t, g, oidIfDescr)
	if len(rows) != s.DeviceAt(1).Info().Interfaces || len(rows) < 16 {
		t.Errorf("cisco: %d ifDescr rows, info says %d", len(rows), s.DeviceAt(1).Info().Interfaces)
	}
}
