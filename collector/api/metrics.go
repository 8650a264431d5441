package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the API, registered on the daemon's own registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"route", "method", "status"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "api", Name: "requests_total",
			Help: "HTTP requests answered, by route template, method and status.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "api", Name: "request_duration_seconds",
			Help: "Time to answer an HTTP request, by route template, method and status.",
			// From a cached GET to a bulk import.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, labels),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
