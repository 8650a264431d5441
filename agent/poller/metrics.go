package poller

import (
	"cmp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the poller's Prometheus metrics, registered on the registry
// given in Dependencies (never the default one).
type metrics struct {
	polls       *prometheus.CounterVec
	failures    *prometheus.CounterVec
	timeouts    prometheus.Counter
	retries     prometheus.Counter
	requests    *prometheus.CounterVec
	varbinds    prometheus.Counter
	anomalies   *prometheus.CounterVec
	duration    prometheus.Histogram
	delay       prometheus.Histogram
	inFlight    prometheus.Gauge
	skipped     *prometheus.CounterVec
	late        prometheus.Counter
	breakerOpen prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, p *Poller) (*metrics, error) {
	const ns, sub = "unet", "poller"
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "polls_total",
			Help: "Device polls finished, by result (success, failure)."}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "poll_failures_total",
			Help: "Failed device polls by reason (timeout, auth, refused, malformed, snmp_error, protocol, deadline, error)."}, []string{"reason"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "timeouts_total",
			Help: "Polls that failed because the device did not answer in time, retries included."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "retries_total",
			Help: "SNMP requests sent again after a timeout or an unreadable response."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "pdus_total",
			Help: "SNMP request PDUs sent, by type (get, getbulk), retries excluded."}, []string{"type"}),
		varbinds: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "varbinds_total",
			Help: "Varbinds received."}),
		anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "response_anomalies_total",
			Help: "Responses that were truncated, walked backwards (non_increasing), too big, or held values of the wrong type (bad_value)."}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "poll_duration_seconds",
			Help:    "Time from the first request of a poll to its end.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "schedule_delay_seconds",
			Help:    "Time between a poll's slot and its start (waiting for a worker).",
			Buckets: []float64{.001, .01, .1, .5, 1, 5, 15, 60}}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "polls_in_flight",
			Help: "Polls running now (at most the worker count)."}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "polls_skipped_total",
			Help: "Poll slots skipped: overrun (the previous poll of the device was still queued or running), stale (waited for a worker until the next slot), breaker (device backed off)."}, []string{"reason"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "polls_late_total",
			Help: "Polls that started more than a tenth of their interval after their slot."}),
		breakerOpen: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "breaker_opened_total",
			Help: "Times a device was declared unreachable and backed off."}),
	}
	collectors := []prometheus.Collector{m.polls, m.failures, m.timeouts, m.retries, m.requests, m.varbinds, m.anomalies,
		m.duration, m.delay, m.inFlight, m.skipped, m.late, m.breakerOpen,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "targets",
			Help: "Devices scheduled."}, func() float64 { return float64(p.count(false)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "targets_unreachable",
			Help: "Devices whose breaker is open (reported unreachable, polled less often)."}, func() float64 { return float64(p.count(true)) }),
		&misbehaviourCollector{p: p, desc: prometheus.NewDesc(prometheus.BuildFQName(ns, sub, "device_misbehaviour_total"),
			"Incidents per device and kind, for the devices with the most incidents recently (top-N by Config.MisbehaviourTopN, within MisbehaviourWindow): "+
				"timeout, retry, malformed, truncated, non_increasing, too_big, bad_value, deadline. A device leaving the top-N drops out of the series.",
			[]string{"node", "kind"}, nil)},
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Zero the label values people alert on, so that rate() works from
	// the start.
	m.polls.WithLabelValues("success")
	m.polls.WithLabelValues("failure")
	for _, r := range []string{"overrun", "stale", "breaker"} {
		m.skipped.WithLabelValues(r)
	}
	return m, nil
}

// observe counts a finished poll.
func (m *metrics) observe(r *Result) {
	if r.Reason == "" {
		m.polls.WithLabelValues("success").Inc()
	} else {
		m.polls.WithLabelValues("failure").Inc()
		m.failures.WithLabelValues(r.Reason).Inc()
		if r.Reason == "timeout" {
			m.timeouts.Inc()
		}
	}
	m.varbinds.Add(float64(r.Varbinds))
	m.retries.Add(float64(r.Retries))
	m.requests.WithLabelValues("get").Add(float64(r.gets))
	m.requests.WithLabelValues("getbulk").Add(float64(r.Requests - r.gets))
	for _, a := range []struct {
		kind string
		n    int
	}{{"truncated", r.Truncated}, {"non_increasing", r.NonIncreasing}, {"too_big", r.TooBig}, {"bad_value", r.BadValues}} {
		if a.n > 0 {
			m.anomalies.WithLabelValues(a.kind).Add(float64(a.n))
		}
	}
	m.duration.Observe(r.Poll.Duration.Seconds())
}

// Kinds of device misbehaviour.
const (
	misTimeout = iota
	misRetry
	misMalformed
	misTruncated
	misNonIncreasing
	misTooBig
	misBadValue
	misDeadline
	misKinds
)

func misKindName(k int) string {
	return [...]string{"timeout", "retry", "malformed", "truncated", "non_increasing", "too_big", "bad_value", "deadline"}[k]
}

// misbehaviour counts one device's incidents.
type misbehaviour struct {
	counts [misKinds]uint64
	last   time.Time // the last incident
}

// record adds a poll's incidents.
func (mb *misbehaviour) record(r *Result, now time.Time) {
	add := func(k, n int) {
		if n > 0 {
			mb.counts[k] += uint64(n)
			mb.last = now
		}
	}
	switch r.Reason {
	case "timeout":
		add(misTimeout, 1)
	case "malformed", "protocol":
		add(misMalformed, 1)
	case "deadline":
		add(misDeadline, 1)
	}
	add(misRetry, r.Retries)
	add(misTruncated, r.Truncated)
	add(misNonIncreasing, r.NonIncreasing)
	add(misTooBig, r.TooBig)
	add(misBadValue, r.BadValues)
}

func (mb *misbehaviour) total() uint64 {
	var t uint64
	for _, c := range mb.counts {
		t += c
	}
	return t
}

// misbehaviourCollector exports the misbehaviour of the worst devices
// only: a label per device for 10,000 devices would swamp Prometheus,
// while the handful that misbehave are what users need to see (the
// snmp_exporter question: which device makes my polls slow?).
type misbehaviourCollector struct {
	p    *Poller
	desc *prometheus.Desc
}

func (c *misbehaviourCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *misbehaviourCollector) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		node  string
		mb    misbehaviour
		total uint64
	}
	cutoff := time.Now().Add(-c.p.cfg.MisbehaviourWindow)
	var worst []entry
	c.p.mu.Lock()
	for name, d := range c.p.devices {
		if t := d.mis.total(); t > 0 && d.mis.last.After(cutoff) {
			worst = append(worst, entry{name, d.mis, t})
		}
	}
	c.p.mu.Unlock()
	slices.SortFunc(worst, func(a, b entry) int {
		if c := cmp.Compare(b.total, a.total); c != 0 {
			return c
		}
		return cmp.Compare(a.node, b.node)
	})
	if len(worst) > c.p.cfg.MisbehaviourTopN {
		worst = worst[:c.p.cfg.MisbehaviourTopN]
	}
	for _, e := range worst {
		for k := 0; k < misKinds; k++ {
			if e.mb.counts[k] > 0 {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(e.mb.counts[k]), e.node, misKindName(k))
			}
		}
	}
}
