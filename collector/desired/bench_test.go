package desired_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/unet-project/unet/collector/desired"
)

// The benchmarks run against the embedded etcd of testsupport: fast raft
// timings and no fsync (UnsafeNoFsync), MaxTxnOps 8192 and 16 MiB requests.
// The store is configured to match (8192 operations, 8 MiB per transaction).

// cpuTime is the CPU time (user + system) of the process so far: the
// embedded etcd server's included, which runs in the test process. On a
// shared machine it tells more than the wall time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchStore(b *testing.B) *desired.Store {
	b.Helper()
	s, _ := newStore(b, func(c *desired.Config) {
		c.MaxTxnOps = 8192
		c.MaxTxnBytes = 8 << 20
	})
	return s
}

// BenchmarkImport10kNodes20kLinks imports 162 locations, a profile, 10,000
// nodes and 20,000 links into an empty store.
func BenchmarkImport10kNodes20kLinks(b *testing.B) {
	bundle := genBundle(10000, 20000)
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := benchStore(b)
		ctx := testCtx(b)
		c0 := cpuTime(b)
		b.StartTimer()
		rep, err := s.Import(ctx, bundle, nil)
		cpu += cpuTime(b) - c0
		if err != nil || len(rep.Errors) > 0 || rep.Created["link"] != 20000 {
			b.Fatalf("import: %v %+v", err, rep.Errors)
		}
	}
	b.ReportMetric(float64(bundle.Len()), "objects/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkReimport10kNodes20kLinks imports the same file again: every
// object read, compared, and found unchanged.
func BenchmarkReimport10kNodes20kLinks(b *testing.B) {
	bundle := genBundle(10000, 20000)
	s := benchStore(b)
	ctx := testCtx(b)
	if _, err := s.Import(ctx, bundle, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := s.Import(ctx, bundle, nil)
		if err != nil || rep.Unchanged["node"] != 10000 {
			b.Fatalf("import: %v %+v", err, rep)
		}
	}
}

// BenchmarkListNodesSubtree10k lists the nodes of one region (half of the
// 10,000) in one call, and a 100-node page of it.
func BenchmarkListNodesSubtree10k(b *testing.B) {
	bundle := genBundle(10000, 0)
	s := benchStore(b)
	ctx := testCtx(b)
	if _, err := s.Import(ctx, bundle, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("all", func(b *testing.B) {
		c0 := cpuTime(b)
		for b.Loop() {
			res, err := s.ListNodes(ctx, desired.NodeFilter{Location: "reg0"}, desired.ListOptions{})
			if err != nil || len(res.Items) != 5000 {
				b.Fatalf("list: %v, %d items", err, len(res.Items))
			}
		}
		b.ReportMetric((cpuTime(b)-c0).Seconds()*1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("page100", func(b *testing.B) {
		for b.Loop() {
			res, err := s.ListNodes(ctx, desired.NodeFilter{Location: "reg0"}, desired.ListOptions{Limit: 100})
			if err != nil || len(res.Items) != 100 {
				b.Fatalf("list: %v, %d items", err, len(res.Items))
			}
		}
	})
	b.Run("by-vendor", func(b *testing.B) {
		for b.Loop() {
			res, err := s.ListNodes(ctx, desired.NodeFilter{Location: "reg0"}, desired.ListOptions{Sort: "vendor", Limit: 100})
			if err != nil || len(res.Items) != 100 {
				b.Fatalf("list: %v, %d items", err, len(res.Items))
			}
		}
	})
}
