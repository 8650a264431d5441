package snmpsim

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// column walks one column and returns its values by ifIndex.
func column(t *testing.T, g *gosnmp.GoSNMP, oid string) map[int]any {
	t.Helper()
	out := map[int]any{}
	for _, vb := range walk(t, g, oid) {
		var idx int
		fmt.Sscan(vb.Name[len(oid)+1:], &idx)
		out[idx] = vb.Value
	}
	return out
}

func TestCountersAdvance(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.50.1", 2, model.VendorArista)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	oper := column(t, g, oidIfOperStatus)
	speed := column(t, g, oidIfHighSpeed)
	in1, out1 := column(t, g, oidIfHCInOctets), column(t, g, ".1.3.6.1.2.1.31.1.1.1.10")
	if again := column(t, g, oidIfHCInOctets); fmt.Sprint(again) != fmt.Sprint(in1) {
		t.Errorf("two reads at the same instant disagree")
	}
	clk.Advance(time.Minute)
	in2, out2 := column(t, g, oidIfHCInOctets), column(t, g, ".1.3.6.1.2.1.31.1.1.1.10")
	moving := 0
	for idx, st := range oper {
		for _, c := range []struct {
			name   string
			before any
			after  any
		}{{"in", in1[idx], in2[idx]}, {"out", out1[idx], out2[idx]}} {
			b, a := c.before.(uint64), c.after.(uint64)
			lineRate := uint64(speed[idx].(uint)) * 1_000_000 / 8 * 60
			switch {
			case st == 2 && a != b:
				t.Errorf("ifIndex %d is down but its %s octets moved from %d to %d", idx, c.name, b, a)
			case st == 1 && (a <= b || a-b > lineRate):
				t.Errorf("ifIndex %d %s octets went from %d to %d in a minute (line rate %d)", idx, c.name, b, a, lineRate)
			case st == 1:
				moving++
			}
		}
	}
	if moving < 40 {
		t.Errorf("only %d directions carry traffic", moving)
	}
}

// TestCountersNeverGoBack samples counters of many interfaces at uneven
// instants, across noise buckets, milliseconds apart and hours apart.
func TestCountersNeverGoBack(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.51.1", 64, "")
	cfg.Profile.Traffic.Noise = 1
	cfg.Profile.Traffic.Amplitude = 0.95
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var v view
	for dev := 0; dev < 64; dev += 7 {
		d := s.DeviceAt(dev)
		start := clk.Now()
		prev := make([]ifCounters, 48)
		for step := 0; step < 400; step++ {
			at := start.Add(time.Duration(step*step) * 37 * time.Millisecond)
			if step%50 == 0 {
				at = at.Add(-time.Millisecond) // lands just before a noise bucket edge sometimes
			}
			v.reset(s, d, at)
			for slot := 0; slot < 48; slot++ {
				info := v.interfaceInfo(slot)
				atBoot := v.bootTerms(&info)
				c := v.counters(&info, &atBoot)
				p := prev[slot]
				if c.inOctets < p.inOctets || c.outOctets < p.outOctets || c.inUcast < p.inUcast || c.outErrors < p.outErrors {
					t.Fatalf("device %d slot %d went back at step %d: %+v after %+v", dev, slot, step, c, p)
				}
				prev[slot] = c
			}
		}
	}
}

func TestCounter32Wraps(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.52.1", 1, model.VendorJuniper)
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	// Uplink et-0/0/0 (ifIndex 545) runs at 100 Gb/s.
	hc1, c1 := getOne(t, g, oidIfHCInOctets+".545").Value.(uint64), getOne(t, g, oidIfInOctets+".545").Value.(uint)
	clk.Advance(30 * time.Second)
	hc2, c2 := getOne(t, g, oidIfHCInOctets+".545").Value.(uint64), getOne(t, g, oidIfInOctets+".545").Value.(uint)
	if hc2-hc1 <= 1<<32 {
		t.Fatalf("the uplink carried %d bytes in 30s, not enough to wrap", hc2-hc1)
	}
	if uint64(c1) != hc1&0xffffffff || uint64(c2) != hc2&0xffffffff {
		t.Errorf("ifInOctets %d, %d are not the low bits of ifHCInOctets %d, %d", c1, c2, hc1, hc2)
	}
	if uint64(uint32(c2-c1)) != (hc2-hc1)&0xffffffff {
		t.Errorf("32-bit delta %d disagrees with the 64-bit one %d", uint32(c2-c1), hc2-hc1)
	}
}

func TestReboot(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.53.1", 2, model.VendorCisco)
	cfg.Customize = func(i int, p *Profile) {
		if i == 1 {
			p.RebootAfter = time.Hour
			p.RebootEvery = 2 * time.Hour
		}
	}
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	up1 := getOne(t, g, oidSysUpTime).Value.(uint32)
	hc1 := getOne(t, g, oidIfHCInOctets+".45").Value.(uint64)
	_, boots1 := s.DeviceAt(0).boot(clk.Now().UnixMilli())
	s.DeviceAt(0).TriggerReboot()
	if up := getOne(t, g, oidSysUpTime).Value.(uint32); up != 0 {
		t.Errorf("sysUpTime right after a reboot = %d, want 0 (was %d)", up, up1)
	}
	clk.Advance(10 * time.Second)
	up2 := getOne(t, g, oidSysUpTime).Value.(uint32)
	hc2 := getOne(t, g, oidIfHCInOctets+".45").Value.(uint64)
	if up2 != 1000 || hc2 >= hc1 || hc2 == 0 {
		t.Errorf("10s after a reboot: sysUpTime %d (want 1000), ifHCInOctets %d (was %d)", up2, hc2, hc1)
	}
	if _, boots2 := s.DeviceAt(0).boot(clk.Now().UnixMilli()); boots2 != boots1+1 {
		t.Errorf("engine boots %d after a reboot, was %d", boots2, boots1)
	}

	// Scheduled: an hour after start, then every two hours.
	g1 := v2(t, s, 1, "public")
	clk.Advance(time.Hour - 10*time.Second)
	if up := getOne(t, g1, oidSysUpTime).Value.(uint32); up != 0 {
		t.Errorf("sysUpTime at the scheduled reboot = %d", up)
	}
	clk.Advance(90 * time.Minute)
	if up := getOne(t, g1, oidSysUpTime).Value.(uint32); up != 90*60*100 {
		t.Errorf("sysUpTime 90 minutes after the scheduled reboot = %d", up)
	}
	clk.Advance(31 * time.Minute)
	if up := getOne(t, g1, oidSysUpTime).Value.(uint32); up != 60*100 {
		t.Errorf("sysUpTime a minute after the second scheduled reboot = %d", up)
	}
}

func TestFlap(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.54.1", 1, model.VendorCisco)
	s := startSim(t, cfg)
	d := s.DeviceAt(0)
	g := v2(t, s, 0, "public")
	const idx = 46 // an uplink: always cabled
	status := func() (int, uint32, uint32) {
		t.Helper()
		res, err := g.Get([]string{fmt.Sprintf("%s.%d", oidIfOperStatus, idx), fmt.Sprintf("%s.%d", oidIfLastChange, idx), oidSysUpTime})
		if err != nil {
			t.Fatal(err)
		}
		return res.Variables[0].Value.(int), res.Variables[1].Value.(uint32), res.Variables[2].Value.(uint32)
	}
	if st, _, _ := status(); st != 1 {
		t.Fatalf("uplink %d is not up", idx)
	}
	clk.Advance(time.Minute)
	if err := d.Flap(idx); err != nil {
		t.Fatal(err)
	}
	st, changed, up := status()
	if st != 2 || changed != up {
		t.Errorf("after a flap: status %d, ifLastChange %d, sysUpTime %d; want down, changed now", st, changed, up)
	}
	clk.Advance(5 * time.Second)
	if err := d.Flap(idx); err != nil {
		t.Fatal(err)
	}
	st, changed2, up2 := status()
	if st != 1 || changed2 != up2 || changed2 != changed+500 {
		t.Errorf("after the second flap: status %d, ifLastChange %d (before %d), sysUpTime %d", st, changed2, changed, up2)
	}
	if err := d.SetOperStatus(idx, false); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := status(); st != 2 {
		t.Errorf("SetOperStatus(false) left it up")
	}
	if err := d.Flap(4242); err == nil || !strings.Contains(err.Error(), "no ifIndex 4242") {
		t.Errorf("Flap of a missing ifIndex: %v", err)
	}
}

func TestScheduledFlaps(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.55.1", 1, model.VendorArista)
	cfg.Profile.FlapEvery = 10 * time.Minute
	cfg.Profile.FlapDuration = time.Minute
	cfg.Profile.FlapFraction = 1
	cfg.Profile.AdminDownFraction, cfg.Profile.DownFraction = 0, 0
	s := startSim(t, cfg)
	g := v2(t, s, 0, "public")
	downs := map[int]int{}
	lastChange := column(t, g, oidIfLastChange)
	changes := 0
	for step := 0; step < 40; step++ { // 20 minutes in 30 s steps: two periods
		for idx, st := range column(t, g, oidIfOperStatus) {
			if st == 2 {
				downs[idx]++
			}
		}
		lc := column(t, g, oidIfLastChange)
		for idx := range lc {
			if lc[idx] != lastChange[idx] {
				changes++
			}
		}
		lastChange = lc
		clk.Advance(30 * time.Second)
	}
	for idx := 1; idx <= 48; idx++ {
		// Down one minute per ten: two samples per period, give or take.
		if n := downs[idx]; n < 2 || n > 6 {
			t.Errorf("ifIndex %d was seen down %d times in two flap periods", idx, n)
		}
	}
	if changes < 48*3 {
		t.Errorf("ifLastChange moved %d times, want about four per interface", changes)
	}
}

func TestSlowDeadDroppedDevices(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.56.1", 4, model.VendorLinux)
	cfg.Customize = func(i int, p *Profile) {
		switch i {
		case 1:
			p.Dead = true
		case 2:
			p.DropRate = 0.5
		}
	}
	s := startSim(t, cfg)
	quick := func(i int) *gosnmp.GoSNMP {
		g := v2(t, s, i, "public")
		g.Timeout = 150 * time.Millisecond
		return g
	}
	timesOut := func(g *gosnmp.GoSNMP) bool {
		_, err := g.Get([]string{oidSysName})
		return err != nil && strings.Contains(err.Error(), "timeout")
	}

	// Slow: a 400 ms delay beats a 150 ms timeout but not a 2 s one.
	s.DeviceAt(0).SetDelay(400 * time.Millisecond)
	if !timesOut(quick(0)) {
		t.Errorf("a slow device answered within 150 ms")
	}
	getOne(t, v2(t, s, 0, "public"), oidSysName)
	s.DeviceAt(0).SetDelay(0)
	if timesOut(quick(0)) {
		t.Errorf("the device stayed slow")
	}

	// Dead from its profile, revived and killed at run time.
	if !timesOut(quick(1)) {
		t.Errorf("a dead device answered")
	}
	s.DeviceAt(1).SetDead(false)
	getOne(t, v2(t, s, 1, "public"), oidSysName)
	s.DeviceAt(1).SetDead(true)
	if !timesOut(quick(1)) {
		t.Errorf("a device killed at run time answered")
	}
	if st := s.DeviceAt(1).Stats(); st.Requests != 3 || st.Dropped != 2 || st.Responses != 1 {
		t.Errorf("dead device stats %+v", st)
	}

	// Dropping half: fire 200 requests at once and count the answers.
	c, err := net.Dial("udp4", netip.AddrPortFrom(s.DeviceAt(2).Info().Addr, uint16(s.Port())).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pkt := encodeRequest(t, gosnmp.GetRequest, []string{oidSysName}, 0, 0)
	for i := 0; i < 200; i++ {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	answers := 0
	buf := make([]byte, 65536)
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := c.Read(buf); err != nil {
			break
		}
		answers++
	}
	st := s.DeviceAt(2).Stats()
	if answers < 60 || answers > 140 || st.Dropped+st.Responses != 200 || uint64(answers) != st.Responses {
		t.Errorf("drop rate 0.5: %d answers of 200, stats %+v", answers, st)
	}
	s.DeviceAt(2).SetDropRate(1)
	if !timesOut(quick(2)) {
		t.Errorf("a device dropping everything answered")
	}

	outcomes := map[Outcome]int{}
	for _, r := range s.Recent() {
		outcomes[r.Outcome]++
	}
	if outcomes[OutcomeDead] != 2 || outcomes[OutcomeDropped] != int(st.Dropped)+1 {
		t.Errorf("request log outcomes %v", outcomes)
	}
}

func TestMalformedResponses(t *testing.T) {
	t.Parallel()
	cfg, _ := vendorConfig("127.1.57.1", 1, model.VendorCisco)
	s := startSim(t, cfg)
	d := s.DeviceAt(0)
	pkt := encodeRequest(t, gosnmp.GetRequest, []string{oidSysDescr, oidSysName}, 0, 0)
	good := exchange(t, s, 0, pkt)
	decodeResponse(t, good)
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	for _, m := range []Malformation{MalformTruncated, MalformCorrupt} {
		d.SetMalformed(m)
		bad := exchange(t, s, 0, pkt)
		if _, err := g.SnmpDecodePacket(bad); err == nil {
			t.Errorf("%s response decodes: % x", m, bad)
		}
		c := v2(t, s, 0, "public")
		c.Timeout = 300 * time.Millisecond
		if _, err := c.Get([]string{oidSysName}); err == nil {
			t.Errorf("gosnmp accepted a %s response", m)
		}
	}
	d.SetMalformed(MalformNone)
	decodeResponse(t, exchange(t, s, 0, pkt))
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	cfg, clk := vendorConfig("127.1.58.1", 3, model.VendorCisco)
	var mu sync.Mutex
	var seen []Request
	cfg.OnRequest = func(r Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
	}
	cfg.RequestLog = 2
	s := startSim(t, cfg)
	g := v2(t, s, 2, "public")
	getOne(t, g, oidSysName)
	g.GetNext([]string{oidSysName})
	g.GetBulk([]string{oidIfDescr}, 0, 3)
	local := netip.MustParseAddrPort(g.Conn.LocalAddr().String())
	recent := s.Recent()
	if len(recent) != 2 || recent[0].PDU != PDUGetNext || recent[1].PDU != PDUGetBulk {
		t.Fatalf("recent = %+v, want the last two: getnext, getbulk", recent)
	}
	for _, r := range recent {
		if r.Device != 2 || r.Addr != s.DeviceAt(2).Info().Addr || r.Source != local || r.Version != 2 ||
			r.Outcome != OutcomeAnswered || !r.Time.Equal(clk.Now()) || r.RequestID == 0 {
			t.Errorf("log entry %+v", r)
		}
	}
	mu.Lock()
	if len(seen) != 3 || seen[0].PDU != PDUGet {
		t.Errorf("OnRequest saw %+v", seen)
	}
	mu.Unlock()
	st := s.DeviceAt(2).Stats()
	if st.Requests != 3 || st.Responses != 3 || st.LastSource != local || !st.LastRequest.Equal(clk.Now().Truncate(time.Millisecond)) {
		t.Errorf("device stats %+v", st)
	}
	if all := s.Stats(); all.Requests != 3 || all.Responses != 3 || all.Dropped != 0 {
		t.Errorf("simulator stats %+v", all)
	}
	if st := s.DeviceAt(0).Stats(); st.Requests != 0 || !st.LastRequest.IsZero() {
		t.Errorf("an unpolled device has stats %+v", st)
	}
}

func TestAddressing(t *testing.T) {
	t.Parallel()
	cfg := testConfig("127.1.59.250", 10)
	s := startSim(t, cfg)
	var addrs []string
	for _, info := range s.Devices() {
		addrs = append(addrs, info.Addr.String())
		if s.Device(info.Addr) != s.DeviceAt(info.Index) {
			t.Errorf("Device(%s) is not device %d", info.Addr, info.Index)
		}
	}
	want := "127.1.59.250 127.1.59.251 127.1.59.252 127.1.59.253 127.1.59.254 127.1.60.1 127.1.60.2 127.1.60.3 127.1.60.4 127.1.60.5"
	if strings.Join(addrs, " ") != want {
		t.Errorf("addresses %v", addrs)
	}
	for _, a := range []string{"127.1.59.249", "127.1.59.255", "127.1.60.0", "127.1.60.6", "10.1.60.1"} {
		if s.Device(netip.MustParseAddr(a)) != nil {
			t.Errorf("%s is a device", a)
		}
	}
	// Every device answers from its own address (gosnmp's connected
	// socket would drop anything else).
	for _, i := range []int{4, 5, 9} {
		if v := getOne(t, v2(t, s, i, "public"), oidSysName); string(v.Value.([]byte)) != fmt.Sprintf("sim-%05d", i+1) {
			t.Errorf("device %d says it is %s", i, v.Value)
		}
	}
	// Nobody answers at the addresses around them.
	pkt := encodeRequest(t, gosnmp.GetRequest, []string{oidSysName}, 0, 0)
	if _, ok := tryExchangeAddr(t, netip.AddrPortFrom(netip.MustParseAddr("127.1.59.249"), uint16(s.Port())), pkt, 100*time.Millisecond); ok {
		t.Errorf("127.1.59.249 answered")
	}
	if st := s.Stats(); st.UnknownDevice != 1 {
		t.Errorf("stats %+v, want one datagram for an unknown device", st)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Base = netip.MustParseAddr("10.0.0.1") }, "not in 127.0.0.0/8"},
		{func(c *Config) { c.Base = netip.MustParseAddr("127.1.0.0") }, "ends in .0"},
		{func(c *Config) { c.Base = netip.MustParseAddr("127.255.255.200"); c.Devices = 100 }, "run past 127.255.255.254"},
		{func(c *Config) { c.Profile.Vendor = model.VendorNokia }, `vendor "nokia" is not simulated`},
		{func(c *Config) { c.NamePrefix = "sim lab" }, `name prefix "sim lab"`},
		{func(c *Config) { c.Profile.MaxResponseSize = 100 }, "max response size"},
		{func(c *Config) { c.Profile.DropRate = 2 }, "drop rate"},
		{func(c *Config) { c.Profile.V3 = &V3User{Name: "u", AuthProtocol: model.AuthSHA, AuthKey: "short"} }, "at least 8"},
		{func(c *Config) {
			c.Profile.V3 = &V3User{Name: "u", AuthProtocol: model.AuthSHA, AuthKey: "longenough", PrivProtocol: model.PrivDES, PrivKey: "longenough"}
		}, `priv protocol "des" is not supported`},
		{func(c *Config) {
			c.Customize = func(i int, p *Profile) {
				if i == 3 {
					p.Interfaces = -1
				}
			}
		}, "device 3 (127.1.0.4)"},
	} {
		cfg := DefaultConfig()
		cfg.Devices = 5
		c.change(&cfg)
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: %v, want an error about %q", err, c.want)
		}
	}
}
