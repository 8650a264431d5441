package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkTakeover measures, with the default timings (settle time
// included), the time from a member's crash (Stop without Leave) and from
// its graceful Leave to the change applied by every other member: the
// figures of "time from kill -9 to takeover" for bench/RESULTS.md. Each
// iteration starts a fresh cluster; run with -benchtime=5x or so.
func BenchmarkTakeover(b *testing.B) {
	for _, n := range []int{3, 5} {
		for _, graceful := range []bool{false, true} {
			name := fmt.Sprintf("%dmembers/crash", n)
			if graceful {
				name = fmt.Sprintf("%dmembers/leave", n)
			}
			b.Run(name, func(b *testing.B) {
				var detect, takeover time.Duration
				for b.Loop() {
					d, t := takeoverOnce(b, n, graceful)
					detect += d
					takeover += t
				}
				b.ReportMetric(detect.Seconds()/float64(b.N), "detect-s")
				b.ReportMetric(takeover.Seconds()/float64(b.N), "takeover-s")
			})
		}
	}
}

// takeoverOnce starts n members, takes the last one away and returns when
// all the others had seen it gone and had applied the change.
func takeoverOnce(b *testing.B, n int, graceful bool) (detect, takeover time.Duration) {
	b.Helper()
	var cs []*Cluster
	defer func() {
		for _, c := range cs {
			c.Stop()
		}
	}()
	var want []string
	for i := range n {
		cfg := DefaultConfig()
		cfg.Name, cfg.Site = fmt.Sprintf("m%d", i), "bench"
		cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
		if i > 0 {
			cfg.Join = []string{cs[0].Address()}
		}
		c, err := New(cfg, Dependencies{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		c.SetHealthy(true)
		cs = append(cs, c)
		want = append(want, cfg.Name)
	}
	waitAll := func(want []string, seen bool) {
		deadline := time.Now().Add(60 * time.Second)
		for _, c := range cs[:len(want)] {
			for {
				ms := c.Members()
				if seen {
					ms = c.All()
				}
				if fmt.Sprint(memberNames(ms)) == fmt.Sprint(want) {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%s: members %v, want %v", c.cfg.Name, memberNames(ms), want)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitAll(want, false)
	gone := cs[n-1]
	start := time.Now()
	if graceful {
		if err := gone.Leave(5 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	gone.Stop()
	waitAll(want[:n-1], true)
	detect = time.Since(start)
	waitAll(want[:n-1], false)
	return detect, time.Since(start)
}
