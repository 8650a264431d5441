// Package sender delivers the agent's spooled batches to the collector:
// it reads them from the spool in order, POSTs each to the collector's
// ingest endpoint (the contract is in shared/wire's documentation), and
// acknowledges it in the spool on the collector's 2xx, and only then.
//
//	s, err := sender.New(cfg, sender.Dependencies{Logger: log, Registry: reg, Source: spool})
//	err = s.Run(ctx) // until ctx ends
//
// Up to Config.MaxInFlight batches are in flight; their first attempts
// start in sequence order (each request is written before the next one
// starts), and retries may then overtake one another: the collector does
// not need order, only (agent, seq).
//
// What the collector answers decides a batch's fate:
//
//   - 2xx: acknowledged, released from the spool.
//   - 429 and 503: backpressure. With Retry-After (seconds or an HTTP
//     date, at most Config.MaxRetryAfter) every worker pauses that long,
//     not only the one that was told; without it, back-off.
//   - 408, 5xx, network errors: retried with exponential back-off and
//     jitter, between Config.BackoffMin and Config.BackoffMax.
//   - 400, 413, 415, 422: the batch itself is refused; sending it again
//     would be refused again. It is a dead letter: moved to the spool's
//     dead/ directory (spool.Reject), logged at error level with the
//     collector's message, and counted (unet_sender_dead_letters_total).
//     Nothing else stops behind it.
//   - any other status (401, 403, 404…): the agent or the collector is
//     misconfigured (a token, a URL, a collector too old for ingest), not
//     the batch. Dead-lettering would throw away every batch until someone
//     notices, so these are retried with back-off and logged at error
//     level: the spool holds the data meanwhile.
//
// Batches stay in the spool until acknowledged: when the agent stops, the
// ones in flight are sent again at the next start.
package sender

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent/spool"
	"github.com/unet-project/unet/shared/wire"
)

// Config of the sender.
type Config struct {
	// URL is the collector's base URL (the agent sets it from its
	// collector setting); batches go to URL + /api/v1/ingest.
	URL string `yaml:"-"`
	// Agent is the agent's name, sent in the X-Unet-Agent header.
	Agent string `yaml:"-"`
	// MaxInFlight bounds the batches sent and not yet answered. The
	// collector answers once a batch is in ClickHouse and writes the
	// batches in flight together, so this window sets both how fast an
	// agent catches up after an outage and how large the collector's
	// inserts can grow (ClickHouse wants few large ones).
	MaxInFlight int `yaml:"max-in-flight"`
	// Timeout bounds one request, answer included: the collector answers
	// once the batch is durable in ClickHouse.
	Timeout time.Duration `yaml:"timeout"`
	// BackoffMin and BackoffMax bound the pause between two attempts of a
	// batch; it doubles from one to the other, with jitter.
	BackoffMin time.Duration `yaml:"backoff-min"`
	BackoffMax time.Duration `yaml:"backoff-max"`
	// MaxRetryAfter caps the pause a collector's Retry-After asks for.
	MaxRetryAfter time.Duration `yaml:"max-retry-after"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxInFlight:   16,
		Timeout:       30 * time.Second,
		BackoffMin:    500 * time.Millisecond,
		BackoffMax:    time.Minute,
		MaxRetryAfter: 5 * time.Minute,
	}
}

// Validate names every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("sender: collector URL %q: want http(s)://host:port", c.URL))
	}
	if c.Agent == "" {
		errs = append(errs, errors.New("sender: the agent's name is required"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, fmt.Errorf("stream max-in-flight must be at least 1 (got %d)", c.MaxInFlight))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", c.Timeout}, {"backoff-min", c.BackoffMin}, {"backoff-max", c.BackoffMax}, {"max-retry-after", c.MaxRetryAfter}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("stream %s must be positive (got %s)", d.name, d.v))
		}
	}
	if c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("stream backoff-max (%s) is below backoff-min (%s)", c.BackoffMax, c.BackoffMin))
	}
	return errors.Join(errs...)
}

// Source is where batches come from and go back to: the spool.
type Source interface {
	// Next returns the next batch to send, waiting for one.
	Next(ctx context.Context) (spool.Record, error)
	// Ack releases a batch the collector accepted.
	Ack(seq uint64) error
	// Reject sets aside a batch the collector refused.
	Reject(rec spool.Record, reason string) error
}

// Dependencies of the sender.
type Dependencies struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Registry receives the unet_sender_ metrics; nil: a private one.
	Registry prometheus.Registerer
	// Source of the batches; required.
	Source Source
	// Client for the requests; nil: one with Config.Timeout and enough
	// idle connections for MaxInFlight.
	Client *http.Client
}

// Sender delivers batches; Run does the work.
type Sender struct {
	cfg    Config
	log    *slog.Logger
	src    Source
	client *http.Client
	url    string
	m      *metrics

	mu         sync.Mutex
	pauseUntil time.Time // backpressure: no attempt starts before
	failing    int       // attempts failed in a row, for the log
}

// New checks cfg and builds a sender.
func New(cfg Config, deps Dependencies) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Source == nil {
		return nil, errors.New("sender: no source of batches")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	client := deps.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.MaxInFlight
		client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering the sender's metrics: %w", err)
	}
	return &Sender{
		cfg: cfg, log: log, src: deps.Source, client: client, m: m,
		url: strings.TrimRight(cfg.URL, "/") + wire.IngestPath,
	}, nil
}

// Run sends batches until ctx ends or the source is closed; it returns
// nil then, after the requests in flight were abandoned (their batches stay
// in the spool).
func (s *Sender) Run(ctx context.Context) error {
	slots := make(chan struct{}, s.cfg.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		rec, err := s.src.Next(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return nil
			}
			// The spool says why (and counts it); do not spin on it.
			s.log.Error("reading the spool", "error", err)
			if !sleep(ctx, s.cfg.BackoffMin) {
				return nil
			}
			continue
		}
		started := make(chan struct{})
		s.m.inFlight.Inc()
		wg.Go(func() {
			defer func() { s.m.inFlight.Dec(); <-slots }()
			s.deliver(ctx, rec, started)
		})
		// The next batch's first attempt starts once this one's request
		// is written (or failed): first sends go out in sequence order.
		select {
		case <-started:
		case <-ctx.Done():
		}
	}
}

// outcome is what one attempt gave.
type outcome int

const (
	accepted outcome = iota
	refused          // the batch is bad: dead letter
	retry            // try again later
)

// deliver sends rec until the collector accepts or refuses it, or ctx
// ends. started is closed when the first attempt's request is written.
func (s *Sender) deliver(ctx context.Context, rec spool.Record, started chan struct{}) {
	var once sync.Once
	first := func() { once.Do(func() { close(started) }) }
	defer first()
	for attempt := 0; ; attempt++ {
		if !s.waitPause(ctx) {
			return
		}
		res := s.attempt(ctx, rec, first)
		first()
		if ctx.Err() != nil {
			return // stopping: the batch stays in the spool
		}
		switch res.outcome {
		case accepted:
			s.recovered(rec.Seq, attempt)
			s.m.acked.Inc()
			if err := s.src.Ack(rec.Seq); err != nil {
				s.log.Error("acknowledging a batch in the spool; it will be sent again", "seq", rec.Seq, "error", err)
			}
			return
		case refused:
			s.recovered(rec.Seq, attempt)
			s.m.deadLetters.Inc()
			reason := fmt.Sprintf("HTTP %d: %s", res.status, res.message)
			s.log.Error("the collector refused a batch; it is set aside in the spool's dead/ directory and not sent again",
				"seq", rec.Seq, "status", res.status, "collector_message", res.message, "bytes", len(rec.Data),
				"created", rec.Created)
			if err := s.src.Reject(rec, reason); err != nil {
				s.log.Error("setting a refused batch aside", "seq", rec.Seq, "error", err)
			}
			return
		}
		d := s.backoff(attempt)
		if res.retryAfter > 0 {
			d = min(res.retryAfter, s.cfg.MaxRetryAfter)
			s.pause(d)
		}
		s.failed(rec.Seq, attempt, res, d)
		s.m.retries.WithLabelValues(res.reason).Inc()
		s.m.backoff.Add(d.Seconds())
		if !sleep(ctx, d) {
			return
		}
	}
}

// result is one attempt's outcome and why.
type result struct {
	outcome    outcome
	status     int           // 0 for a network error
	reason     string        // retry reason label
	message    string        // the collector's message, or the error
	retryAfter time.Duration // asked by the collector; 0 when not
}

// attempt POSTs rec once. written is called once the request is written.
func (s *Sender) attempt(ctx context.Context, rec spool.Record, written func()) result {
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { written() },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(rec.Data))
	if err != nil {
		return result{outcome: retry, reason: "network", message: err.Error()}
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("Content-Encoding", wire.ContentEncoding)
	req.Header.Set(wire.HeaderAgent, s.cfg.Agent)
	req.Header.Set("User-Agent", "unet-agent/1 ("+s.cfg.Agent+")")
	s.m.sent.Inc()
	s.m.sentBytes.Add(float64(len(rec.Data)))
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{outcome: retry, reason: "network", message: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	s.m.duration.WithLabelValues(strconv.Itoa(resp.StatusCode)).Observe(time.Since(start).Seconds())
	res := result{status: resp.StatusCode, message: collectorMessage(body)}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		res.outcome = accepted
	case code == http.StatusBadRequest, code == http.StatusRequestEntityTooLarge,
		code == http.StatusUnsupportedMediaType, code == http.StatusUnprocessableEntity:
		res.outcome = refused
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		res.outcome, res.reason = retry, "throttled"
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusRequestTimeout || code >= 500:
		res.outcome, res.reason = retry, "server"
	default:
		res.outcome, res.reason = retry, "misconfigured"
	}
	return res
}

// collectorMessage is the message of an API error body
// ({"error": {"code", "message"}}), else the body's text, shortened.
func collectorMessage(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		if e.Error.Code != "" {
			return e.Error.Code + ": " + e.Error.Message
		}
		return e.Error.Message
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date. 0 when absent, unreadable or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 1<<31 {
			n = 1 << 31 // no overflow; MaxRetryAfter caps it anyway
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the pause after the attempt-th failed attempt (from 0):
// BackoffMin doubled per attempt up to BackoffMax, then between half
// and all of it at random, so that agents that failed together do not
// retry together.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.BackoffMax
	if attempt < 30 {
		d = min(s.cfg.BackoffMin<<attempt, s.cfg.BackoffMax)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// pause holds every attempt for d: the collector asked for it.
func (s *Sender) pause(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until := time.Now().Add(d); until.After(s.pauseUntil) {
		s.pauseUntil = until
	}
}

// waitPause waits out the collector's Retry-After; false if ctx ended.
func (s *Sender) waitPause(ctx context.Context) bool {
	for {
		s.mu.Lock()
		d := time.Until(s.pauseUntil)
		s.mu.Unlock()
		if d <= 0 {
			return true
		}
		if !sleep(ctx, d) {
			return false
		}
	}
}

// failed logs a failed attempt: the first of a run of failures at warn
// level, then each at debug; a misconfiguration always at error level.
func (s *Sender) failed(seq uint64, attempt int, res result, wait time.Duration) {
	s.mu.Lock()
	s.failing++
	n := s.failing
	s.mu.Unlock()
	attrs := []any{"seq", seq, "attempt", attempt + 1, "retry_in", wait.Round(time.Millisecond), "reason", res.reason}
	if res.status != 0 {
		attrs = append(attrs, "status", res.status)
	}
	attrs = append(attrs, "error", res.message)
	switch {
	case res.reason == "misconfigured":
		s.log.Error("the collector does not take batches (check the collector URL, its version and the agent's access); batches are kept in the spool",
			attrs...)
	case n == 1:
		s.log.Warn("sending a batch to the collector failed; batches are kept in the spool and retried", attrs...)
	default:
		s.log.Debug("sending a batch failed again", attrs...)
	}
}

// recovered logs the end of a run of failures.
func (s *Sender) recovered(seq uint64, attempt int) {
	s.mu.Lock()
	n := s.failing
	s.failing = 0
	s.mu.Unlock()
	if n > 0 {
		s.log.Info("the collector takes batches again", "seq", seq, "failed_attempts", n, "attempts_of_this_batch", attempt+1)
	}
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type metrics struct {
	sent, sentBytes, acked, deadLetters, backoff prometheus.Counter
	retries                                      *prometheus.CounterVec
	inFlight                                     prometheus.Gauge
	duration                                     *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "unet", "sender"
	m := &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Batches sent to the collector, every attempt counted."}),
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sent_bytes_total",
			Help: "Bytes of the batches sent, every attempt counted."}),
		acked: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "acked_total",
			Help: "Batches the collector accepted (2xx)."}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dead_letters_total",
			Help: "Batches the collector refused (400, 413, 415, 422), set aside in the spool's dead/ directory. Alert on any."}),
		backoff: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "backoff_seconds_total",
			Help: "Time batches waited before being sent again (back-off and the collector's Retry-After)."}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "retries_total",
			Help: "Failed attempts to be retried, by reason: network, server (408, 5xx), throttled (429, 503), misconfigured (other 4xx)."},
			[]string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "in_flight_batches",
			Help: "Batches taken from the spool and not yet accepted or refused."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help: "Time until the collector answered, by status code.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)},
			[]string{"code"}),
	}
	for _, c := range []prometheus.Collector{m.sent, m.sentBytes, m.acked, m.deadLetters, m.backoff, m.retries, m.inFlight, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, r := range []string{"network", "server", "throttled", "misconfigured"} {
		m.retries.WithLabelValues(r)
	}
	return m, nil
}
