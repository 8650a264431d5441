package snmpsim

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

// fuzzConfig is the simulator the fuzz target feeds: the seed corpus in
// testdata/fuzz was captured from it (same seed, clock and addresses), so
// that the recorded SNMPv3 requests pass authentication and reach the
// decryption and PDU paths.
func fuzzConfig() Config {
	cfg := testConfig("127.1.70.1", 2)
	cfg.Profile.Vendor = model.VendorCisco
	cfg.Profile.V3 = &userSHA
	cfg.Clock = newFakeClock().Now
	cfg.RequestLog = -1
	return cfg
}

// FuzzDecodeRequest feeds garbage to the request decoder and to the whole
// datagram handler: nothing may panic, and whatever the handler answers
// must decode.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01})
	s, err := New(fuzzConfig(), nil)
	if err != nil {
		f.Fatal(err)
	}
	w := newWorker(s, 0)
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	devices := []netip.Addr{s.DeviceAt(0).Info().Addr, s.DeviceAt(1).Info().Addr}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var r request
		_ = r.decodeMessage(pkt)
		_ = r.decodeScoped(pkt) // garbage as if it were a decrypted scopedPDU
		for _, dst := range devices {
			_, resp, _ := w.handle(pkt, src, dst)
			if resp == nil {
				continue
			}
			var out request
			if err := out.decodeMessage(resp); err != nil {
				t.Fatalf("response % x to % x does not decode: %v", resp, pkt, err)
			}
		}
	})
}

// TestWriteFuzzCorpus records requests from gosnmp (v2c, and v3 discovery
// and authPriv) into testdata/fuzz/FuzzDecodeRequest. It only runs when
// SNMPSIM_WRITE_FUZZ_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SNMPSIM_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set SNMPSIM_WRITE_FUZZ_CORPUS=1 to rewrite the seed corpus")
	}
	s := startSim(t, fuzzConfig())
	// A relay between gosnmp and the device records each request.
	relay, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	upstream, err := net.Dial("udp4", netip.AddrPortFrom(s.DeviceAt(0).Info().Addr, uint16(s.Port())).String())
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	var mu sync.Mutex
	var captured [][]byte
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := relay.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			captured = append(captured, append([]byte(nil), buf[:n]...))
			mu.Unlock()
			upstream.Write(buf[:n])
			m, err := upstream.Read(buf)
			if err != nil {
				return
			}
			relay.WriteTo(buf[:m], from)
		}
	}()
	port := relay.LocalAddr().(*net.UDPAddr).Port
	g2 := v2(t, s, 0, "public")
	g2.Target, g2.Port = "127.0.0.1", uint16(port)
	connect(t, g2)
	g2.Get([]string{oidSysDescr, oidSysName})
	g2.GetNext([]string{oidIfDescr})
	g2.GetBulk([]string{oidSysUpTime, oidIfDescr, oidIfHCInOctets}, 1, 10)
	g3 := v3(t, s, 0, userSHA)
	g3.Target, g3.Port = "127.0.0.1", uint16(port)
	connect(t, g3)
	g3.Get([]string{oidSysName})
	g3.GetBulk([]string{oidIfName}, 0, 5)
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, pkt := range captured {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", pkt)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("gosnmp-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d requests to %s", len(captured), dir)
}

// TestFuzzCorpusIsAnswered checks that the recorded seeds still go all the
// way through: they are worth little to the fuzzer if they bounce off an
// early check.
func TestFuzzCorpusIsAnswered(t *testing.T) {
	t.Parallel()
	s, err := New(fuzzConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(s, 0)
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeRequest", "gosnmp-*"))
	if len(files) < 5 {
		t.Fatalf("%d recorded seeds", len(files))
	}
	answered := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		quoted := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[1], "[]byte("), ")\n")
		pkt, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var rec Request
		s.cfg.OnRequest = func(r Request) { rec = r }
		if _, resp, _ := w.handle([]byte(pkt), netip.MustParseAddrPort("127.0.0.1:40000"), s.DeviceAt(0).Info().Addr); resp == nil ||
			rec.Outcome != OutcomeAnswered && rec.Outcome != OutcomeReport {
			t.Errorf("%s: %+v", file, rec)
		}
		if rec.Outcome == OutcomeAnswered {
			answered++
		}
	}
	if answered != len(files)-1 {
		t.Errorf("%d of %d seeds answered; all but the engine discovery should be", answered, len(files))
	}
}
