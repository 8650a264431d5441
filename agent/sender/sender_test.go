package sender

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/agent/spool"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// collector is a fake ingest endpoint: it decodes every body with
// wire.Decode, answers what answer says for it, and remembers what it
// stored (2xx) and what it was sent.
type collector struct {
	t      *testing.T
	answer func(n int, b *wire.Batch, w http.ResponseWriter) bool // false: answered, do not store
	mu     sync.Mutex
	seen   []uint64            // every attempt, in arrival order
	stored map[uint64]struct{} // answered 2xx
	srv    *httptest.Server
}

func newCollector(t *testing.T, answer func(n int, b *wire.Batch, w http.ResponseWriter) bool) *collector {
	t.Helper()
	c := &collector{t: t, answer: answer, stored: map[uint64]struct{}{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.ingest))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) ingest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != wire.IngestPath {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Header.Get("Content-Type") != wire.ContentType || r.Header.Get("Content-Encoding") != wire.ContentEncoding {
		http.Error(w, "bad content type", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	b, err := wire.Decode(body, wire.DefaultLimits())
	if err != nil {
		c.t.Errorf("the sender sent a body that does not decode: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if got := r.Header.Get(wire.HeaderAgent); got != b.Agent {
		c.t.Errorf("header %s %q, batch agent %q", wire.HeaderAgent, got, b.Agent)
	}
	c.mu.Lock()
	n := len(c.seen)
	c.seen = append(c.seen, b.Seq)
	c.mu.Unlock()
	if c.answer != nil && !c.answer(n, b, w) {
		return
	}
	// Stored before answering: an acknowledgement must never precede it.
	c.mu.Lock()
	c.stored[b.Seq] = struct{}{}
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (c *collector) isStored(seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.stored[seq]
	return ok
}

func (c *collector) attempts() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// checkedSpool is the spool, with a check that nothing is acknowledged
// before the collector stored it.
type checkedSpool struct {
	*spool.Spool
	t *testing.T
	c *collector
}

func (s checkedSpool) Ack(seq uint64) error {
	if !s.c.isStored(seq) {
		s.t.Errorf("batch %d acknowledged before the collector answered 2xx", seq)
	}
	return s.Spool.Ack(seq)
}

// recorder is the client's transport, remembering the batches in the
// order the sender started their requests. (The order in which requests
// on several connections reach the server is not the order they were
// sent in: the server's goroutines race.)
type recorder struct {
	mu   sync.Mutex
	seqs []uint64
}

func (rt *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	data, _ := io.ReadAll(body)
	b, err := wire.Decode(data, wire.DefaultLimits())
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	rt.seqs = append(rt.seqs, b.Seq)
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (rt *recorder) order() []uint64 {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.seqs)
}

// rig is a spool with batches, a sender and a fake collector.
type rig struct {
	sent *recorder
	sp   *spool.Spool
	s    *Sender
	c    *collector
	logs *logBuffer
	reg  *prometheus.Registry
}

func newRig(t *testing.T, batches int, edit func(*Config), answer func(n int, b *wire.Batch, w http.ResponseWriter) bool) *rig {
	t.Helper()
	c := newCollector(t, answer)
	scfg := spool.DefaultConfig()
	scfg.Dir = filepath.Join(t.TempDir(), "spool")
	scfg.SyncInterval = 10 * time.Millisecond // quicker tests; the mode does not matter here
	sp, err := spool.New(scfg, spool.Dependencies{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	for range batches {
		appendBatch(t, sp)
	}
	cfg := DefaultConfig()
	cfg.URL, cfg.Agent = c.srv.URL, "par1-a"
	cfg.BackoffMin, cfg.BackoffMax = 5*time.Millisecond, 40*time.Millisecond
	cfg.Timeout = 5 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	sent := &recorder{}
	s, err := New(cfg, Dependencies{
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: reg, Source: checkedSpool{sp, t, c},
		Client: &http.Client{Transport: sent, Timeout: cfg.Timeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{sent: sent, sp: sp, s: s, c: c, logs: logs, reg: reg}
}

func appendBatch(t *testing.T, sp *spool.Spool) uint64 {
	t.Helper()
	seq, err := sp.Append(func(seq uint64) ([]byte, error) {
		return wire.Encode(&wire.Batch{Agent: "par1-a", Seq: seq, Created: time.Now(),
			Events: []model.Event{{Node: "core-1", Kind: model.EventReboot, Time: time.Now()}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// run runs the sender until the spool has nothing pending, or fails the
// test after a generous bound.
func (r *rig) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.s.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for r.sp.Stats().Pending > 0 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("batches still pending: %+v; collector saw %v\n%s", r.sp.Stats(), r.c.attempts(), r.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func (r *rig) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// firstSends returns the sequence numbers in the order of their first
// attempt.
func firstSends(seen []uint64) []uint64 {
	var out []uint64
	done := map[uint64]bool{}
	for _, q := range seen {
		if !done[q] {
			done[q] = true
			out = append(out, q)
		}
	}
	return out
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for q := from; q <= to; q++ {
		out = append(out, q)
	}
	return out
}

func TestDelivers(t *testing.T) {
	r := newRig(t, 30, nil, nil)
	r.run(t)
	for _, q := range seqs(1, 30) {
		if !r.c.isStored(q) {
			t.Errorf("batch %d never stored", q)
		}
	}
	if got := r.counter(t, "unet_sender_acked_total"); got != 30 {
		t.Errorf("acked_total %v, want 30", got)
	}
	if got := r.counter(t, "unet_sender_in_flight_batches"); got != 0 {
		t.Errorf("in_flight_batches %v after the end", got)
	}
}

// TestFailsThrottlesRecovers: a collector that fails (500, dropped
// connections), then throttles (429 and 503 with Retry-After in both
// forms), then recovers: every batch ends stored, none acknowledged
// before, first sends in sequence order.
func TestFailsThrottlesRecovers(t *testing.T) {
	const maxRA = 150 * time.Millisecond
	var mu sync.Mutex
	var throttledAt time.Time
	var throttledSeq uint64
	var afterThrottle time.Duration
	r := newRig(t, 25, func(c *Config) { c.MaxRetryAfter = maxRA }, func(n int, b *wire.Batch, w http.ResponseWriter) bool {
		mu.Lock()
		defer mu.Unlock()
		if b.Seq == throttledSeq && afterThrottle == 0 {
			afterThrottle = time.Since(throttledAt)
		}
		switch {
		case n < 6:
			http.Error(w, "clickhouse is down", http.StatusInternalServerError)
		case n < 9:
			// The connection dies before any answer.
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		case n == 9:
			w.Header().Set("Retry-After", "1") // capped at maxRA
			throttledAt, throttledSeq = time.Now(), b.Seq
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case n == 10:
			w.Header().Set("Retry-After", time.Now().Add(time.Second).UTC().Format(http.TimeFormat))
			http.Error(w, "queue full", http.StatusServiceUnavailable)
		case n%4 == 0 && n < 30:
			http.Error(w, "busy", http.StatusServiceUnavailable) // no Retry-After: back-off
		default:
			return true
		}
		return false
	})
	// Appended while the sender runs too.
	go func() {
		for range 5 {
			appendBatch(t, r.sp)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(60 * time.Millisecond)
	r.run(t)
	for _, q := range seqs(1, 30) {
		if !r.c.isStored(q) {
			t.Errorf("batch %d lost", q)
		}
	}
	if got := firstSends(r.sent.order()); !slices.Equal(got, seqs(1, 30)) {
		t.Errorf("first sends in the order %v", got)
	}
	mu.Lock()
	if afterThrottle < maxRA {
		t.Errorf("batch %d came again %s after a 429 with Retry-After, want at least %s", throttledSeq, afterThrottle, maxRA)
	}
	mu.Unlock()
	if got := r.counter(t, "unet_sender_retries_total", "reason", "throttled"); got < 2 {
		t.Errorf("retries_total{reason=throttled} %v", got)
	}
	if got := r.counter(t, "unet_sender_retries_total", "reason", "network"); got < 3 {
		t.Errorf("retries_total{reason=network} %v", got)
	}
	if got := r.counter(t, "unet_sender_backoff_seconds_total"); got <= 0 {
		t.Errorf("backoff_seconds_total %v", got)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "clickhouse is down") ||
		!strings.Contains(logs, "takes batches again") {
		t.Errorf("the failures and the recovery are not logged:\n%s", logs)
	}
}

// TestPoisonBatch: a batch the collector refuses is set aside once,
// loudly, and the others go on.
func TestPoisonBatch(t *testing.T) {
	r := newRig(t, 5, nil, func(_ int, b *wire.Batch, w http.ResponseWriter) bool {
		if b.Seq == 3 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"malformed_batch","message":"interface status 9 is none of IF-MIB's"}}`)
			return false
		}
		return true
	})
	r.run(t)
	var threes int
	for _, q := range r.c.attempts() {
		if q == 3 {
			threes++
		}
	}
	if threes != 1 {
		t.Errorf("the refused batch was sent %d times, want once", threes)
	}
	for _, q := range []uint64{1, 2, 4, 5} {
		if !r.c.isStored(q) {
			t.Errorf("batch %d not stored", q)
		}
	}
	if got := r.counter(t, "unet_sender_dead_letters_total"); got != 1 {
		t.Errorf("dead_letters_total %v", got)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "level=ERROR") ||
		!strings.Contains(logs, "malformed_batch: interface status 9 is none of IF-MIB's") || !strings.Contains(logs, "seq=3") {
		t.Errorf("the refusal is not logged with the collector's message:\n%s", logs)
	}
}

// TestMisconfiguredIsRetried: a 404 (a collector without ingest) or a
// 401 says nothing about the batch: it is kept and retried, not thrown
// away.
func TestMisconfiguredIsRetried(t *testing.T) {
	r := newRig(t, 2, nil, func(n int, _ *wire.Batch, w http.ResponseWriter) bool {
		switch n {
		case 0:
			http.Error(w, "404 page not found", http.StatusNotFound)
			return false
		case 1:
			http.Error(w, "no token", http.StatusUnauthorized)
			return false
		}
		return true
	})
	r.run(t)
	if got := r.counter(t, "unet_sender_dead_letters_total"); got != 0 {
		t.Errorf("dead_letters_total %v: a misconfiguration threw batches away", got)
	}
	if got := r.counter(t, "unet_sender_retries_total", "reason", "misconfigured"); got != 2 {
		t.Errorf("retries_total{reason=misconfigured} %v, want 2", got)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "check the collector URL") {
		t.Errorf("no error log about the configuration:\n%s", logs)
	}
}

// TestStopKeepsInFlight: batches in flight when the sender stops are not
// acknowledged, so a restart sends them again.
func TestStopKeepsInFlight(t *testing.T) {
	release := make(chan struct{})
	r := newRig(t, 6, func(c *Config) { c.MaxInFlight = 2 }, func(_ int, b *wire.Batch, _ http.ResponseWriter) bool {
		if b.Seq > 2 {
			<-release
			return false
		}
		return true
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.s.Run(ctx) }()
	for len(r.c.attempts()) < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if st := r.sp.Stats(); st.Pending != 4 || st.Acked != 2 {
		t.Errorf("spool %+v after stopping, want 4 pending and 2 acknowledged", st)
	}
}

// TestPauseHoldsEveryone: a Retry-After holds every worker's next
// attempt, not only the one that was told.
func TestPauseHoldsEveryone(t *testing.T) {
	s := &Sender{}
	s.pause(80 * time.Millisecond)
	s.pause(10 * time.Millisecond) // a shorter one does not shorten it
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if !s.waitPause(context.Background()) {
				t.Error("waitPause gave up")
			}
			if d := time.Since(start); d < 70*time.Millisecond {
				t.Errorf("a worker went on after %s of an 80ms pause", d)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.pause(time.Hour)
	if s.waitPause(ctx) {
		t.Error("waitPause did not stop with its context")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Thu, 26 Nov 2026 10:00:30 GMT", 30 * time.Second},
		{"99999999999999", time.Duration(1<<31) * time.Second},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	s := &Sender{cfg: Config{BackoffMin: 100 * time.Millisecond, BackoffMax: 2 * time.Second}}
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{5, time.Second, 2 * time.Second},
		{80, time.Second, 2 * time.Second},
	} {
		for range 50 {
			if d := s.backoff(tc.attempt); d < tc.lo || d > tc.hi {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]", tc.attempt, d, tc.lo, tc.hi)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		says string
	}{
		{func(c *Config) { c.URL = "ftp://x" }, "want http(s)://host:port"},
		{func(c *Config) { c.Agent = "" }, "name is required"},
		{func(c *Config) { c.MaxInFlight = 0 }, "max-in-flight must be at least 1"},
		{func(c *Config) { c.BackoffMax = time.Millisecond }, "below backoff-min"},
		{func(c *Config) { c.Timeout = 0 }, "timeout must be positive"},
	} {
		c := DefaultConfig()
		c.URL, c.Agent = "http://127.0.0.1:8080", "a"
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Validate() = %v, want it to say %q", err, tc.says)
		}
	}
}
