package snmpsim

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(fds)
}

// TestFiftyThousandDevices runs 50,000 devices in this process: they
// must cost a couple of sockets, not one each (the open-files limit here
// is 20,000), and little memory. Not parallel, so that the other tests'
// sockets do not blur the count.
func TestFiftyThousandDevices(t *testing.T) {
	const n = 50_000
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	fds0 := openFiles(t)

	cfg := testConfig("127.2.0.1", n)
	s := startSim(t, cfg)

	fds1 := openFiles(t)
	if fds1-fds0 > cfg.Sockets+2 {
		t.Errorf("%d devices opened %d files; want about %d sockets", n, fds1-fds0, cfg.Sockets)
	}
	last := s.DeviceAt(n - 1).Info()
	if last.Addr.String() != "127.2.196.216" || last.Name != "sim-50000" {
		t.Errorf("last device: %+v", last)
	}
	// Poll a spread of devices, including both ends and around a .255.
	for _, i := range []int{0, 1, 253, 254, 255, 12_345, 31_337, 49_998, n - 1} {
		g := v2(t, s, i, "public")
		res, err := g.Get([]string{oidSysName, oidIfHCInOctets + ".1"})
		if err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
		if got, want := string(res.Variables[0].Value.([]byte)), fmt.Sprintf("sim-%05d", i+1); got != want {
			t.Errorf("device %d says %q", i, got)
		}
		g.Conn.Close()
	}
	// The cabling is symmetric: device i's uplink k sees device i^2^k,
	// which sees device i back on its uplink k.
	for _, i := range []int{7, 40_000} {
		g := v2(t, s, i, "public")
		rows := walk(t, g, oidLLDPRem+".1.9")
		g.Conn.Close()
		if len(rows) != 4 {
			t.Errorf("device %d has %d LLDP neighbours, want 4", i, len(rows))
		}
		for _, vb := range rows {
			var port, k int
			fmt.Sscanf(vb.Name[len(oidLLDPRem)+5:], "0.%d.1", &port)
			peerName := string(vb.Value.([]byte))
			var j int
			fmt.Sscanf(peerName, "sim-%d", &j)
			j--
			for k = 0; k < 4 && i^(1<<k) != j; k++ {
			}
			if k == 4 {
				t.Errorf("device %d port %d sees %s, not a hypercube neighbour", i, port, peerName)
				continue
			}
			gj := v2(t, s, j, "public")
			back := getOne(t, gj, fmt.Sprintf("%s.1.9.0.%d.1", oidLLDPRem, s.DeviceAt(j).vendor().ifIndexBase+48-4+k+1))
			gj.Conn.Close()
			if string(back.Value.([]byte)) != fmt.Sprintf("sim-%05d", i+1) {
				t.Errorf("device %d uplink %d sees %s, which sees %q", i, k, peerName, back.Value)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	heap := int64(m1.HeapInuse) - int64(m0.HeapInuse)
	t.Logf("%d devices: %d open files for the simulator, heap %+.1f MiB", n, fds1-fds0, float64(heap)/(1<<20))
	if heap > 64<<20 {
		t.Errorf("%d devices take %.0f MiB of heap", n, float64(heap)/(1<<20))
	}
	if fds := openFiles(t); fds-fds0 > cfg.Sockets+2 {
		t.Errorf("open files grew to %d (from %d) while polling", fds, fds0)
	}
}

func TestSocketOptions(t *testing.T) {
	t.Parallel()
	cfg := testConfig("127.2.250.1", 1)
	cfg.Sockets = 3
	s := startSim(t, cfg)
	if s.Sockets() != 3 {
		t.Fatalf("%d sockets, want 3", s.Sockets())
	}
	for i, c := range s.conns {
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var rcvbuf, reuse, pktinfo int
		rc.Control(func(fd uintptr) {
			rcvbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
			reuse, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT)
			pktinfo, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO)
		})
		// Linux reports twice the size asked for (its bookkeeping share).
		if rcvbuf < cfg.ReceiveBuffer || reuse != 1 || pktinfo != 1 {
			t.Errorf("socket %d: SO_RCVBUF %d, SO_REUSEPORT %d, IP_PKTINFO %d", i, rcvbuf, reuse, pktinfo)
		}
	}
}
