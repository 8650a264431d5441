package snmpsim

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// pollerColumns is what a poller reads from every interface each interval.
var pollerColumns = []string{
	oidIfName, ".1.3.6.1.2.1.2.2.1.7", oidIfOperStatus, oidIfLastChange, oidIfHighSpeed,
	oidIfHCInOctets, ".1.3.6.1.2.1.31.1.1.1.10", ".1.3.6.1.2.1.31.1.1.1.7", ".1.3.6.1.2.1.31.1.1.1.11",
	".1.3.6.1.2.1.2.2.1.13", ".1.3.6.1.2.1.2.2.1.14", ".1.3.6.1.2.1.2.2.1.19", ".1.3.6.1.2.1.2.2.1.20",
	".1.3.6.1.2.1.31.1.1.1.19",
}

// allColumns are every column of ifTable and ifXTable.
var allColumns = func() []string {
	var cols []string
	for _, c := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 16, 17, 19, 20} {
		cols = append(cols, oidIfTable+".1."+itoa(uint64(c)))
	}
	for _, c := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 18, 19} {
		cols = append(cols, oidIfXTable+".1."+itoa(uint64(c)))
	}
	return cols
}()

// BenchmarkHandleGetBulk measures the simulator's own work for one GetBulk
// of 48 interfaces (decode, compute, encode; no socket): one column as
// gosnmp's BulkWalk asks, the 14 columns a poller needs, all 33 columns;
// on one device (as in a walk: per-interface parameters stay cached) and
// round-robin over 1,000 devices (nothing cached, as when polling many).
// responses/s is what one core can answer.
func BenchmarkHandleGetBulk(b *testing.B) {
	for _, c := range []struct {
		name    string
		cols    []string
		devices int
	}{
		{"48x1", []string{oidIfHCInOctets}, 1},
		{"48x14", pollerColumns, 1},
		{"48x33", allColumns, 1},
		{"48x14-1000devices", pollerColumns, 1000},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig("127.3.1.1", c.devices)
			cfg.Profile.Vendor = model.VendorCisco
			cfg.RequestLog = -1
			s, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			w := newWorker(s, 0)
			pkt := benchRequest(b, c.cols)
			src := netip.MustParseAddrPort("127.0.0.1:40000")
			dsts := make([]netip.Addr, c.devices)
			for i := range dsts {
				dsts[i] = s.DeviceAt(i).Info().Addr
			}
			_, resp, _ := w.handle(pkt, src, dsts[0])
			varbinds := len(decodeResponse(b, resp).Variables)
			if varbinds != 48*len(c.cols) {
				b.Fatalf("%d varbinds, want %d", varbinds, 48*len(c.cols))
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(resp)))
			start, i := time.Now(), 0
			for b.Loop() {
				w.handle(pkt, src, dsts[i])
				if i++; i == len(dsts) {
					i = 0
				}
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(varbinds), "varbinds/op")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "responses/s")
		})
	}
}

// BenchmarkHandleGetBulkV3 is the poller's GetBulk at authPriv
// (SHA-256, AES-128): HMAC and AES on top of the v2c work.
func BenchmarkHandleGetBulkV3(b *testing.B) {
	cfg := fuzzConfig()
	cfg.Profile.V3 = &userSHA256
	s, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	// Build the request with gosnmp once, through the simulator (engine
	// discovery included), then replay it.
	srv := startSim(b, cfg)
	g := v3(b, srv, 0, userSHA256)
	getOne(b, g, oidSysName)
	var pdus []gosnmp.SnmpPDU
	for _, o := range pollerColumns {
		pdus = append(pdus, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
	}
	pkt, err := g.SnmpEncodePacket(gosnmp.GetBulkRequest, pdus, 0, 48)
	if err != nil {
		b.Fatal(err)
	}
	w := newWorker(s, 0)
	src, dst := netip.MustParseAddrPort("127.0.0.1:40000"), s.DeviceAt(0).Info().Addr
	var rec Request
	s.cfg.OnRequest = func(r Request) { rec = r }
	if _, resp, _ := w.handle(pkt, src, dst); resp == nil || rec.Outcome != OutcomeAnswered {
		b.Fatalf("the v3 request was not answered: %+v", rec)
	}
	s.cfg.OnRequest = nil
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		w.handle(pkt, src, dst)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "responses/s")
}

// BenchmarkServeGetBulkUDP measures whole round trips over loopback: a
// client keeps 16 poller GetBulks in flight against one simulated device.
// The client's own syscalls share the machine, as in the real benchmark.
func BenchmarkServeGetBulkUDP(b *testing.B) {
	cfg := testConfig("127.3.2.1", 16)
	cfg.Profile.Vendor = model.VendorArista
	cfg.RequestLog = -1
	s := startSim(b, cfg)
	pkt := benchRequest(b, pollerColumns)
	c, err := net.Dial("udp4", netip.AddrPortFrom(s.DeviceAt(3).Info().Addr, uint16(s.Port())).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// 16 responses of 25 KB overflow the default receive buffer.
	if err := c.(*net.UDPConn).SetReadBuffer(4 << 20); err != nil {
		b.Fatal(err)
	}
	const window = 16
	buf := make([]byte, 65536)
	b.ReportAllocs()
	start := time.Now()
	sent, received, lost := 0, 0, 0
	for ; sent < window && sent < b.N; sent++ {
		c.Write(pkt)
	}
	for received < b.N {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			// Lost in a full socket buffer: send another.
			lost++
			c.Write(pkt)
			continue
		}
		received++
		if sent < b.N {
			c.Write(pkt)
			sent++
		}
	}
	b.ReportMetric(float64(received)/time.Since(start).Seconds(), "responses/s")
	if lost > 0 {
		b.Logf("%d responses lost", lost)
	}
}

func benchRequest(b *testing.B, cols []string) []byte {
	b.Helper()
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "public", Logger: gosnmp.NewLogger(nil)}
	var pdus []gosnmp.SnmpPDU
	for _, o := range cols {
		pdus = append(pdus, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
	}
	pkt, err := g.SnmpEncodePacket(gosnmp.GetBulkRequest, pdus, 0, 48)
	if err != nil {
		b.Fatal(err)
	}
	return pkt
}
