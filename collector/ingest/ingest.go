// Package ingest is the collector's side of the agents' stream: POST
// /api/v1/ingest takes one wire.Batch (the contract is in shared/wire's
// package documentation), drops it when its (agent, seq) is already
// stored, writes it to ClickHouse through the history store's batching
// writer, and answers 200 only once its rows are in ClickHouse. Then the
// latest-state view is updated.
//
// Nothing is queued without bound: at most Config.MaxConcurrentWrites
// batches are read, decoded and written at once; beyond, and whenever
// ClickHouse is down or slow, the agent is told 429/503 with Retry-After
// and keeps the batch in its spool.
//
// Duplicates are known from memory: for each agent, the runs of sequence
// numbers stored (a watermark and what is above it), rebuilt at start from
// ClickHouse's batch markers (history.SeenBatches) over Config.DedupeWindow
// and kept up to date after each write.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/latest"
	"github.com/unet-project/unet/shared/wire"
)

// Config of the ingest endpoint.
type Config struct {
	// MaxBodyBytes bounds a request body (compressed); MaxDecompressedBytes
	// the batch once decompressed. Both at most what wire accepts.
	MaxBodyBytes         int `yaml:"max-body-bytes"`
	MaxDecompressedBytes int `yaml:"max-decompressed-bytes"`
	// MaxBatchRows refuses (413) a batch of more rows: it must stay below
	// the history writer's max-pending-rows, or it could never be written.
	MaxBatchRows int `yaml:"max-batch-rows"`
	// MaxConcurrentWrites bounds the batches being read, decoded or
	// written at once: the memory ingest holds is at most this many
	// batches. It is also the most rows one insert can gather (a batch is
	// acknowledged only once written): 128 batches of 5,000 rows let two
	// inserts of ~300,000 rows run, as 8 agents with 16 batches in flight
	// each would send.
	MaxConcurrentWrites int `yaml:"max-concurrent-writes"`
	// AcquireTimeout is how long a request waits for one of those slots
	// before it is answered 429.
	AcquireTimeout time.Duration `yaml:"acquire-timeout"`
	// ReadTimeout bounds the reading of a body once it has a slot: a slow
	// or stuck sender is answered 408 (agents retry) instead of keeping
	// the slot.
	ReadTimeout time.Duration `yaml:"read-timeout"`
	// WriteTimeout is how long a request waits for its rows to be in
	// ClickHouse before it is answered 503 (the write goes on; the agent's
	// replay then finds it stored).
	WriteTimeout time.Duration `yaml:"write-timeout"`
	// RetryAfter is the delay suggested with 429 (all slots taken) and
	// with 503 after a write timeout; ClickHouse being down suggests the
	// history store's own retry-after.
	RetryAfter time.Duration `yaml:"retry-after"`
	// DedupeWindow is how far back the batches stored are read from
	// ClickHouse at start: longer than an agent's spool can hold data,
	// at most the raw samples' retention.
	DedupeWindow time.Duration `yaml:"dedupe-window"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	limits := wire.DefaultLimits()
	return Config{
		MaxBodyBytes:         limits.MaxCompressed,
		MaxDecompressedBytes: limits.MaxDecompressed,
		MaxBatchRows:         500_000,
		MaxConcurrentWrites:  128,
		AcquireTimeout:       time.Second,
		ReadTimeout:          30 * time.Second,
		WriteTimeout:         20 * time.Second,
		RetryAfter:           2 * time.Second,
		DedupeWindow:         7 * 24 * time.Hour,
	}
}

// Validate refuses a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	limits := wire.DefaultLimits()
	if c.MaxBodyBytes <= 0 || c.MaxBodyBytes > limits.MaxCompressed {
		errs = append(errs, fmt.Errorf("ingest max-body-bytes must be between 1 and %d, got %d", limits.MaxCompressed, c.MaxBodyBytes))
	}
	if c.MaxDecompressedBytes <= 0 || c.MaxDecompressedBytes > limits.MaxDecompressed {
		errs = append(errs, fmt.Errorf("ingest max-decompressed-bytes must be between 1 and %d, got %d", limits.MaxDecompressed, c.MaxDecompressedBytes))
	}
	if c.MaxBatchRows <= 0 {
		errs = append(errs, fmt.Errorf("ingest max-batch-rows must be positive, got %d", c.MaxBatchRows))
	}
	if c.MaxConcurrentWrites <= 0 {
		errs = append(errs, fmt.Errorf("ingest max-concurrent-writes must be positive, got %d", c.MaxConcurrentWrites))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"acquire-timeout", c.AcquireTimeout}, {"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"retry-after", c.RetryAfter}, {"dedupe-window", c.DedupeWindow}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("ingest %s must be positive, got %s", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// Dependencies of the endpoint.
type Dependencies struct {
	History *history.Store
	Logger  *slog.Logger
	// Registry receives the endpoint's metrics; nil registers none.
	Registry prometheus.Registerer
	// Latest, when set, is updated with every batch handed to the writer
	// (not one dropped as a duplicate), before it is in ClickHouse.
	Latest *latest.View
}

// Ingest is the ingest endpoint.
type Ingest struct {
	cfg     Config
	deps    Dependencies
	log     *slog.Logger
	decoder *wire.Decoder
	metrics *metrics
	slots   chan struct{} // semaphore of MaxConcurrentWrites

	// bodies are request body buffers: a batch is a few hundred KB, and
	// nothing decoded from it refers to its bytes.
	bodies sync.Pool

	mu       sync.Mutex
	seen     *history.Seen
	inflight map[batchKey]*write // batches being written
	writes   sync.WaitGroup      // write goroutines, for Close
}

type batchKey struct {
	agent string
	seq   uint64
}

// write is one batch being written; done is closed when err is set.
type write struct {
	done chan struct{}
	err  error
}

// New reads from ClickHouse which batches are stored (over the dedupe
// window) and returns the endpoint. It fails when ClickHouse cannot answer
// (an error wrapping history.ErrUnavailable): try again later.
func New(ctx context.Context, cfg Config, deps Dependencies) (*Ingest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.History == nil {
		return nil, errors.New("ingest: a history store is required")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ingest")
	dec, err := wire.NewDecoder(wire.Limits{MaxCompressed: cfg.MaxBodyBytes, MaxDecompressed: cfg.MaxDecompressedBytes, MaxRows: cfg.MaxBatchRows})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	start := time.Now()
	seen, err := deps.History.SeenBatches(ctx, start.Add(-cfg.DedupeWindow))
	if err != nil {
		return nil, fmt.Errorf("ingest: read the batches already stored: %w", err)
	}
	agents := seen.Agents()
	log.Info("stored batches read from ClickHouse", "agents", len(agents), "window", cfg.DedupeWindow, "duration", time.Since(start).Round(time.Millisecond))
	for _, a := range agents {
		r := seen.Ranges(a)
		if len(r) > 0 {
			log.Debug("agent batches stored", "agent", a, "watermark", r[len(r)-1].Last, "ranges", len(r))
		}
	}
	slots := make(chan struct{}, cfg.MaxConcurrentWrites)
	m, err := newMetrics(deps.Registry, func() float64 { return float64(len(slots)) })
	if err != nil {
		return nil, err
	}
	return &Ingest{
		cfg: cfg, deps: deps, log: log, decoder: dec, metrics: m,
		slots:    slots,
		bodies:   sync.Pool{New: func() any { return new(bytes.Buffer) }},
		seen:     seen,
		inflight: map[batchKey]*write{},
	}, nil
}

// Close waits for the writes in progress to end (each is bounded by the
// history store's insert timeout). Close it before the history store.
func (i *Ingest) Close() {
	i.writes.Wait()
}

// Handle answers POST /api/v1/ingest.
func (i *Ingest) Handle(c *gin.Context) {
	status, err := i.handle(c)
	if err != nil {
		i.refuse(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": status})
}

// refusal is an answer other than 200, with its reason for the metrics.
type refusal struct {
	status     int
	code       string
	reason     string // metric label
	retryAfter time.Duration
	msg        string
}

func (r *refusal) Error() string { return r.msg }

func refused(status int, code, reason, format string, args ...any) *refusal {
	return &refusal{status: status, code: code, reason: reason, msg: fmt.Sprintf(format, args...)}
}

// handle does the work of Handle: it returns "stored" or "duplicate", or
// the refusal.
func (i *Ingest) handle(c *gin.Context) (string, error) {
	r := c.Request
	if err := checkHeaders(r); err != nil {
		return "", err
	}
	agent := r.Header.Get(wire.HeaderAgent)
	if agent == "" {
		return "", refused(http.StatusBadRequest, "bad_request", "no_agent", "the %s header is missing: it names the sending agent", wire.HeaderAgent)
	}
	if r.ContentLength > int64(i.cfg.MaxBodyBytes) {
		return "", i.tooLarge()
	}

	// A slot before reading the body: bodies in memory are bounded too.
	// A write started here takes the slot over and frees it when it ends,
	// even after this request was answered.
	if err := i.acquire(r.Context()); err != nil {
		return "", err
	}
	ownSlot := true
	defer func() {
		if ownSlot {
			<-i.slots
		}
	}()

	b, err := i.readBatch(c)
	if err != nil {
		return "", err
	}
	if b.Agent != agent {
		return "", refused(http.StatusBadRequest, "bad_request", "agent_mismatch",
			"batch %d is from agent %q but the %s header says %q", b.Seq, b.Agent, wire.HeaderAgent, agent)
	}
	// The decoder refused a batch over MaxBatchRows already.
	hb := history.Batch{Agent: b.Agent, Seq: b.Seq, Samples: b.Samples, DeviceSamples: b.Devices, Events: b.Events}
	if err := hb.Validate(); err != nil {
		return "", refused(http.StatusBadRequest, "bad_request", "invalid", "%v", err)
	}

	// Past here the handler refers to the batch by name only: the
	// decoded batch (~2 MB for 5,000 samples) is not kept while the write
	// waits for ClickHouse; the writer keeps a packed copy.
	seq, rows := b.Seq, hb.Rows()
	w, started, dup, err := i.begin(r.Context(), hb)
	if err != nil {
		return "", err
	}
	if started {
		ownSlot = false
	}
	if dup {
		i.metrics.batches.WithLabelValues("duplicate").Inc()
		return "duplicate", nil
	}
	// The handler waits for the write at most WriteTimeout; the write
	// itself goes on (bounded by the store's insert timeout), so that its
	// rows are marked stored even when the agent was answered 503.
	timer := time.NewTimer(i.cfg.WriteTimeout)
	defer timer.Stop()
	select {
	case <-w.done:
	case <-timer.C:
		return "", &refusal{status: http.StatusServiceUnavailable, code: "unavailable", reason: "timeout", retryAfter: i.cfg.RetryAfter,
			msg: fmt.Sprintf("batch %s/%d is not in ClickHouse after %s (ClickHouse slow): send it again later", agent, seq, i.cfg.WriteTimeout)}
	case <-r.Context().Done():
		return "", refused(499, "cancelled", "cancelled", "the request was cancelled")
	}
	if w.err != nil {
		return "", i.writeError(agent, seq, rows, w.err)
	}
	return "stored", nil
}

// readBatch reads the request body into a pooled buffer and decodes it.
// The buffer goes back to the pool at once, not when the request ends:
// nothing decoded refers to it, and the write the request then waits for
// takes seconds under load (128 waiting requests held 67 MB of bodies
// for nothing).
func (i *Ingest) readBatch(c *gin.Context) (*wire.Batch, error) {
	r := c.Request
	// The server has no read timeout (long requests elsewhere): this one
	// gets its own.
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(i.cfg.ReadTimeout))
	buf := i.bodies.Get().(*bytes.Buffer)
	defer i.bodies.Put(buf)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead free to not grow
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, r.Body, int64(i.cfg.MaxBodyBytes)))
	body := buf.Bytes()
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, i.tooLarge()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, refused(http.StatusRequestTimeout, "timeout", "read_timeout",
			"the request body did not arrive within %s: send the batch again", i.cfg.ReadTimeout)
	case err != nil:
		return nil, refused(http.StatusBadRequest, "bad_request", "read", "reading the request body: %v", err)
	}
	b, err := i.decoder.Decode(body)
	switch {
	case errors.Is(err, wire.ErrTooManyRows):
		return nil, refused(http.StatusRequestEntityTooLarge, "payload_too_large", "too_many_rows", "%v", err)
	case errors.Is(err, wire.ErrTooLarge):
		return nil, refused(http.StatusRequestEntityTooLarge, "payload_too_large", "too_large", "%v", err)
	case err != nil:
		return nil, refused(http.StatusBadRequest, "bad_request", "malformed", "%v", err)
	}
	return b, nil
}

// checkHeaders refuses another Content-Type or Content-Encoding (415).
func checkHeaders(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	want, wantParams, _ := mime.ParseMediaType(wire.ContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != want || params["proto"] != wantParams["proto"] {
		if ct == "" {
			ct = "none"
		}
		return refused(http.StatusUnsupportedMediaType, "unsupported_media_type", "content_type",
			"Content-Type must be %s, got %s", wire.ContentType, ct)
	}
	if ce := r.Header.Get("Content-Encoding"); !strings.EqualFold(strings.TrimSpace(ce), wire.ContentEncoding) {
		if ce == "" {
			ce = "none"
		}
		return refused(http.StatusUnsupportedMediaType, "unsupported_media_type", "content_encoding",
			"Content-Encoding must be %s, got %s", wire.ContentEncoding, ce)
	}
	return nil
}

func (i *Ingest) tooLarge() error {
	return refused(http.StatusRequestEntityTooLarge, "payload_too_large", "too_large",
		"the request body is larger than the %d bytes allowed", i.cfg.MaxBodyBytes)
}

// acquire takes a write slot, waiting at most AcquireTimeout.
func (i *Ingest) acquire(ctx context.Context) error {
	select {
	case i.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(i.cfg.AcquireTimeout)
	defer t.Stop()
	select {
	case i.slots <- struct{}{}:
		return nil
	case <-t.C:
		return &refusal{status: http.StatusTooManyRequests, code: "too_many_requests", reason: "busy", retryAfter: i.cfg.RetryAfter,
			msg: fmt.Sprintf("the collector is writing %d batches already: send this one again later", i.cfg.MaxConcurrentWrites)}
	case <-ctx.Done():
		return refused(499, "cancelled", "cancelled", "the request was cancelled")
	}
}

// begin returns the write of the batch, started here (the write then
// owns the caller's slot) or already in progress for an earlier request of
// the same batch, or dup when the batch is stored.
func (i *Ingest) begin(ctx context.Context, b history.Batch) (w *write, started, dup bool, err error) {
	k := batchKey{b.Agent, b.Seq}
	for {
		i.mu.Lock()
		if i.seen.Done(b.Agent, b.Seq) {
			i.mu.Unlock()
			return nil, false, true, nil
		}
		w := i.inflight[k]
		if w == nil {
			// What a crash left of the batch in ClickHouse is not written
			// twice (the store also remembers what its own failed flushes
			// wrote).
			b.Skip = i.seen.Written(b.Agent, b.Seq)
			w = &write{done: make(chan struct{})}
			i.inflight[k] = w
			i.writes.Add(1)
			i.mu.Unlock()
			go i.write(k, w, b)
			return w, true, false, nil
		}
		i.mu.Unlock()
		// The same batch is being written (an agent's retry overtook its
		// first attempt): wait for that write, then look again.
		select {
		case <-w.done:
			if w.err != nil {
				// Its error is this request's too; a new attempt is the
				// agent's to make, after its back-off.
				return w, false, false, nil
			}
		case <-ctx.Done():
			return nil, false, false, refused(499, "cancelled", "cancelled", "the request was cancelled")
		}
	}
}

// write writes one batch and records the outcome.
func (i *Ingest) write(k batchKey, w *write, b history.Batch) {
	defer i.writes.Done()
	defer func() { <-i.slots }()
	// The latest state takes the batch before ClickHouse does: it neither
	// waits for history nor stops with it, and applying a batch again
	// (its retry) changes nothing. Then b is not used past Write, which
	// keeps a packed copy of the samples: the decoded batch can go while
	// the write waits for ClickHouse.
	if i.deps.Latest != nil {
		i.deps.Latest.Apply(b.DeviceSamples, b.Samples, b.Events)
	}
	samples, devices, events := len(b.Samples), len(b.DeviceSamples), len(b.Events)
	start := time.Now()
	// Not the request's context: a write that outlives its request is
	// still marked when it succeeds. The store bounds it.
	err := i.deps.History.Write(context.Background(), b)
	i.metrics.writeDuration.Observe(time.Since(start).Seconds())
	i.mu.Lock()
	if err == nil {
		i.seen.MarkDone(k.agent, k.seq)
	}
	delete(i.inflight, k)
	i.mu.Unlock()
	if err == nil {
		i.metrics.batches.WithLabelValues("stored").Inc()
		i.metrics.rows.WithLabelValues("interface_samples").Add(float64(samples))
		i.metrics.rows.WithLabelValues("device_samples").Add(float64(devices))
		i.metrics.rows.WithLabelValues("events").Add(float64(events))
	}
	w.err = err
	close(w.done)
}

// writeError maps a failed write to its answer.
func (i *Ingest) writeError(agent string, seq uint64, rows int, err error) error {
	if after, ok := history.RetryAfter(err); ok || errors.Is(err, history.ErrUnavailable) {
		if after <= 0 {
			after = i.cfg.RetryAfter
		}
		return &refusal{status: http.StatusServiceUnavailable, code: "unavailable", reason: "clickhouse_unavailable", retryAfter: after,
			msg: fmt.Sprintf("batch %s/%d not stored: %v", agent, seq, err)}
	}
	if errors.Is(err, history.ErrClosed) {
		return &refusal{status: http.StatusServiceUnavailable, code: "unavailable", reason: "closing", retryAfter: i.cfg.RetryAfter,
			msg: "the collector is shutting down: send the batch again later"}
	}
	// ClickHouse refused the rows (a schema mismatch, a bug): a 500, which
	// agents retry with back-off, keeping the batch.
	i.log.Error("batch not stored", "agent", agent, "seq", seq, "rows", rows, "error", err)
	return &refusal{status: http.StatusInternalServerError, code: "internal", reason: "write_failed",
		msg: fmt.Sprintf("batch %s/%d not stored: %v", agent, seq, err)}
}

// refuse answers with the refusal as the API's JSON error, with
// Retry-After when it has one.
func (i *Ingest) refuse(c *gin.Context, err error) {
	var r *refusal
	if !errors.As(err, &r) {
		r = &refusal{status: http.StatusInternalServerError, code: "internal", reason: "internal", msg: err.Error()}
	}
	i.metrics.refused.WithLabelValues(r.reason).Inc()
	if r.status >= 500 || r.status == http.StatusTooManyRequests {
		i.log.Warn("batch refused", "agent", c.GetHeader(wire.HeaderAgent), "status", r.status, "error", r.msg)
	} else if r.status != 499 {
		// The agent dead-letters these: say so loudly here too.
		i.log.Error("batch refused", "agent", c.GetHeader(wire.HeaderAgent), "status", r.status, "error", r.msg)
	}
	WriteError(c, r.status, r.code, r.msg, r.retryAfter)
}

// WriteError answers with the API's JSON error shape, and Retry-After (in
// whole seconds, at least 1) when retryAfter is positive. The collector
// uses it to answer for an endpoint that is not ready yet.
func WriteError(c *gin.Context, status int, code, msg string, retryAfter time.Duration) {
	if retryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	c.AbortWithStatusJSON(status, gin.H{"error": gin.H{"code": code, "message": msg}})
}

type metrics struct {
	batches       *prometheus.CounterVec
	rows          *prometheus.CounterVec
	refused       *prometheus.CounterVec
	writeDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, slotsInUse func() float64) (*metrics, error) {
	m := &metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "ingest", Name: "batches_total",
			Help: "Agent batches acknowledged, by result: stored (written now) or duplicate (already stored).",
		}, []string{"result"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "ingest", Name: "rows_total",
			Help: "Rows of the batches stored, by table.",
		}, []string{"table"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "ingest", Name: "refused_total",
			Help: "Requests not acknowledged, by reason (content_type, content_encoding, malformed, too_large, agent_mismatch, busy, clickhouse_unavailable, timeout, ...).",
		}, []string{"reason"}),
		writeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "ingest", Name: "write_duration_seconds",
			Help:    "Time from handing a batch to the history writer until its rows are in ClickHouse (or the write failed).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	if reg == nil {
		return m, nil
	}
	slots := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "unet", Subsystem: "ingest", Name: "slots_in_use",
		Help: "Write slots taken (batches being read, decoded or written), of max-concurrent-writes.",
	}, slotsInUse)
	for _, c := range []prometheus.Collector{m.batches, m.rows, m.refused, m.writeDuration, slots} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest metrics: %w", err)
		}
	}
	return m, nil
}
