package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

// samples makes n interface samples of 100 nodes × 48 interfaces, one
// minute apart per interface, from start.
func benchSamples(n int, start time.Time) []model.Sample {
	out := make([]model.Sample, n)
	for i := range out {
		node, ifc, tick := i%100, (i/100)%48, i/4800
		out[i] = sample(fmt.Sprintf("bench-%03d", node), fmt.Sprintf("xe-0/0/%d", ifc),
			start.Add(time.Duration(tick)*time.Minute), float64(i), float64(2*i), model.IfUp)
	}
	return out
}

// BenchmarkWriteSamples: interface samples per second through Write, in
// one batch of 10k or 100k rows per call (markers and rollup views
// included).
func BenchmarkWriteSamples(b *testing.B) {
	addr := testsupport.ClickHouse(b)
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			// A store (and metrics) of its own, on a database of its own.
			s := newStore(b, addr, func(c *Config) {
				c.BatchRows = 200_000
				c.Database = fmt.Sprintf("bench_%d", size)
			})
			rows := benchSamples(size, time.Now().UTC().Add(-time.Hour))
			seq := uint64(0)
			b.ResetTimer()
			for b.Loop() {
				seq++
				if err := s.Write(ctxT(b), Batch{Agent: fmt.Sprintf("bench-%d", size), Seq: seq, Samples: rows}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			// Where the time goes: the samples insert (with its rollup
			// views) and the two marker inserts of each flush.
			for _, table := range []string{tableInterfaceSamples, tableBatches} {
				var m dto.Metric
				if err := s.metrics.insertDuration.WithLabelValues(table).(prometheus.Metric).Write(&m); err != nil {
					b.Fatal(err)
				}
				h := m.GetHistogram()
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount())*1000, "ms/insert-"+table)
			}
		})
	}
}

// BenchmarkInterfaceHistory: one interface's history over 24 hours of raw
// samples (1,440 points) and over 30 days of the hourly rollup (720
// points), in a table of 48 interfaces × 30 days of one-minute samples
// (2.07M rows).
func BenchmarkInterfaceHistory(b *testing.B) {
	s := newStore(b, "")
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.AddDate(0, 0, -30)
	day := make([]model.Sample, 0, 48*1440)
	setup := time.Now()
	for d := range 30 {
		day = day[:0]
		for m := range 1440 {
			at := start.Add(time.Duration(d*1440+m) * time.Minute)
			for i := range 48 {
				day = append(day, sample("bench-r1", fmt.Sprintf("xe-0/0/%d", i), at, float64(m), float64(i), model.IfUp))
			}
		}
		if err := s.Write(ctxT(b), Batch{Agent: "bench", Seq: uint64(d), Samples: day}); err != nil {
			b.Fatal(err)
		}
	}
	// Let the merges settle as they would in a running system.
	if err := s.conn.Exec(ctxT(b), "OPTIMIZE TABLE interface_samples_1h FINAL"); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: 30 days × 48 interfaces in %v", time.Since(setup).Round(time.Millisecond))
	tests := []struct {
		name   string
		q      HistoryQuery
		res    Resolution
		points int
	}{
		{"raw-24h", HistoryQuery{From: end.Add(-24 * time.Hour), To: end, Step: time.Minute}, ResolutionRaw, 1440},
		{"1h-30d", HistoryQuery{From: start, To: end, Step: time.Hour}, ResolutionHour, 720},
		{"5m-6d", HistoryQuery{From: end.AddDate(0, 0, -6), To: end, Step: 5 * time.Minute}, ResolutionFiveMinutes, 1728},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			tt.q.Node, tt.q.IfName = "bench-r1", "xe-0/0/17"
			for b.Loop() {
				h, err := s.InterfaceHistory(ctxT(b), tt.q)
				if err != nil {
					b.Fatal(err)
				}
				if h.Resolution != tt.res || len(h.Points) != tt.points {
					b.Fatalf("%s with %d points, want %s with %d", h.Resolution, len(h.Points), tt.res, tt.points)
				}
			}
		})
	}
}
