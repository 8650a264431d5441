package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the agent's own Prometheus metrics; the poller registers
// its unet_poller_ ones on the same registry.
type metrics struct {
	fetches     *prometheus.CounterVec
	watchEvents *prometheus.CounterVec
	heartbeats  *prometheus.CounterVec
	revision    prometheus.Gauge
	nodes       prometheus.Gauge
	fromCache   prometheus.Gauge
	lastSuccess prometheus.Gauge
	events      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, a *Agent) (*metrics, error) {
	const ns, sub = "unet", "agent"
	m := &metrics{
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "inventory_fetches_total",
			Help: "Reads of the inventory from the collector, by result (success, failure)."}, []string{"result"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "inventory_watch_events_total",
			Help: "Inventory changes received from the collector's watch, by type (upsert, delete, profile, progress, resync)."}, []string{"type"}),
		heartbeats: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "heartbeats_total",
			Help: "Reports to the collector, by result (ok, failed)."}, []string{"result"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "inventory_revision",
			Help: "Store revision of the inventory in use."}),
		nodes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "inventory_nodes",
			Help: "Nodes in the inventory in use."}),
		fromCache: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "inventory_from_cache",
			Help: "1 while the inventory in use is the cached one, read at start without the collector."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "inventory_last_success_timestamp_seconds",
			Help: "When the inventory was last read from the collector (Unix time); alert on its age."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "events_total",
			Help: "Derived device events by kind (oper_status, admin_status, flap, reachability, reboot, lldp_neighbor_added, lldp_neighbor_removed)."},
			[]string{"kind"}),
	}
	collectors := []prometheus.Collector{m.fetches, m.watchEvents, m.heartbeats, m.revision, m.nodes, m.fromCache, m.lastSuccess, m.events,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "devices",
			Help: "Nodes scheduled for polling."}, func() float64 { n, _ := a.deviceCounts(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "devices_reachable",
			Help: "Scheduled nodes whose last poll succeeded."}, func() float64 { _, n := a.deviceCounts(); return float64(n) }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Zero the series people alert on, so that rate() works from the start.
	m.fetches.WithLabelValues("success")
	m.fetches.WithLabelValues("failure")
	return m, nil
}
