package policy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the engine.
type metrics struct {
	evaluations   *prometheus.CounterVec
	duration      prometheus.Histogram
	verdicts      *prometheus.GaugeVec
	changes       *prometheus.CounterVec
	loadErrors    prometheus.Gauge
	loadFailures  prometheus.Counter
	rules         prometheus.Gauge
	writes        prometheus.Counter
	writeFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "policy", Name: "evaluations_total",
			Help: "Policy evaluations, by trigger (start, change, policies, interval, demand).",
		}, []string{"trigger"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "policy", Name: "evaluation_duration_seconds",
			Help:    "Time of one evaluation (every module on the nodes concerned).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		verdicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "unet", Subsystem: "policy", Name: "verdicts",
			Help: "Current verdicts, by status (not_applicable ones are not counted).",
		}, []string{"status"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "policy", Name: "verdict_changes_total",
			Help: "Verdicts that changed, by new status.",
		}, []string{"status"}),
		loadErrors: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "unet", Subsystem: "policy", Name: "files_with_errors",
			Help: "Policy files whose last load failed.",
		}),
		loadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "policy", Name: "load_errors_total",
			Help: "Failed loads of policy files.",
		}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "unet", Subsystem: "policy", Name: "rules",
			Help: "Rules loaded, over every policy file.",
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "policy", Name: "result_writes_total",
			Help: "Verdicts written to (or deleted from) etcd.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "policy", Name: "result_write_errors_total",
			Help: "Failed etcd transactions of verdicts (retried at the next evaluation).",
		}),
	}
	for _, c := range []prometheus.Collector{m.evaluations, m.duration, m.verdicts, m.changes,
		m.loadErrors, m.loadFailures, m.rules, m.writes, m.writeFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
