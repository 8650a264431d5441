package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are the cluster's Prometheus metrics, registered on the registry
// given in Dependencies (never the default one).
type metrics struct {
	changes prometheus.Counter
	flaps   prometheus.Counter
	joins   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, c *Cluster) (*metrics, error) {
	const ns, sub = "unet", "cluster"
	m := &metrics{
		changes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "changes_applied_total",
			Help: "Settled membership changes applied (each one may move nodes between agents)."}),
		flaps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "flaps_suppressed_total",
			Help: "Membership changes undone within the settle time, so that no node moved."}),
		joins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "join_attempts_total",
			Help: "Attempts to join the cluster through the configured addresses while no other member was known, by result (success: another member is known after it; failure)."}, []string{"result"}),
	}
	collectors := []prometheus.Collector{m.changes, m.flaps, m.joins,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "members",
			Help: "Members sharing the site's nodes: the applied set (this site's, healthy, settled)."},
			func() float64 { return float64(len(c.Members())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "members_live",
			Help: "Live members seen, of any site and health, before settling."},
			func() float64 { return float64(len(c.All())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "health_score",
			Help: "memberlist's awareness score: 0 when this member meets its probe deadlines, higher when it lags (overloaded host or network)."},
			func() float64 {
				if ml := c.list(); ml != nil {
					return float64(ml.GetHealthScore())
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "healthy",
			Help: "1 when this member advertises itself healthy (ready to take a share of the nodes)."},
			func() float64 {
				if c.healthy.Load() {
					return 1
				}
				return 0
			}),
	}
	for _, col := range collectors {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	m.joins.WithLabelValues("success")
	m.joins.WithLabelValues("failure")
	return m, nil
}
