package spool

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	appends, appendedBytes, acks, rejected prometheus.Counter
	droppedBatches, droppedBytes, corrupt  *prometheus.CounterVec
	fsync                                  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Spool) (*metrics, error) {
	const ns, sub = "unet", "spool"
	m := &metrics{
		appends: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "appends_total",
			Help: "Batches written to the spool."}),
		appendedBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "appended_bytes_total",
			Help: "Bytes written to the spool (records with their headers)."}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "acks_total",
			Help: "Batches acknowledged by the collector and released."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dead_letters_total",
			Help: "Batches the collector refused, moved to the spool's dead/ directory."}),
		droppedBatches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_batches_total",
			Help: "Batches lost: dropped at the size or age cap, or unreadable (corrupt). Alert on any increase."}, []string{"reason"}),
		droppedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_bytes_total",
			Help: "Bytes of the batches lost, by reason (size, age, corrupt)."}, []string{"reason"}),
		corrupt: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "corruptions_total",
			Help: "Damage found on disk: a torn tail cut (tail), the rest of a segment skipped (segment), a record unreadable (read), the ack watermark (ack)."},
			[]string{"where"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "fsync_duration_seconds",
			Help: "Time of one fsync of a segment or of the ack watermark.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	collectors := []prometheus.Collector{m.appends, m.appendedBytes, m.acks, m.rejected, m.droppedBatches, m.droppedBytes,
		m.corrupt, m.fsync,
		gauge("pending_batches", "Batches in the spool not yet acknowledged.", func() float64 { return float64(s.Stats().Pending) }),
		gauge("pending_bytes", "Bytes of the batches not yet acknowledged.", func() float64 { return float64(s.Stats().PendingBytes) }),
		gauge("disk_bytes", "Size of the spool's segment files (what the size cap applies to).", func() float64 { return float64(s.Stats().DiskBytes) }),
		gauge("oldest_pending_age_seconds", "Age of the oldest batch not yet acknowledged; 0 when none.", s.oldestAge),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"size", "age", "corrupt"} {
		m.droppedBatches.WithLabelValues(r)
		m.droppedBytes.WithLabelValues(r)
	}
	return m, nil
}

// oldestAge is the age of the oldest record not done, in seconds.
func (s *Spool) oldestAge() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.recs {
		if !s.recs[i].done {
			return s.now().Sub(time.Unix(0, s.recs[i].created)).Seconds()
		}
	}
	return 0
}
