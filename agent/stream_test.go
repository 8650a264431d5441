package agent

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent/derive"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

// ingest stands in for the collector's ingest endpoint, in front of the
// real collector API: it decodes every body with wire.Decode and answers
// status (200 stores the batch; duplicates are answered 200 and counted).
type ingest struct {
	t      *testing.T
	status atomic.Int32
	mu     sync.Mutex
	stored map[uint64]*wire.Batch
	dups   int
}

// withIngest serves the ingest endpoint in front of c, passing every other
// request through; the agent is given its URL as the collector's.
func withIngest(t *testing.T, c *collector) (*ingest, string) {
	t.Helper()
	in := &ingest{t: t, stored: map[uint64]*wire.Batch{}}
	in.status.Store(http.StatusOK)
	target, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == wire.IngestPath {
			in.serve(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return in, front.URL
}

func (in *ingest) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	b, err := wire.Decode(body, wire.DefaultLimits())
	if err != nil {
		in.t.Errorf("the agent sent a batch that does not decode: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if h := r.Header.Get(wire.HeaderAgent); h != b.Agent {
		in.t.Errorf("agent header %q, batch of %q", h, b.Agent)
	}
	if st := int(in.status.Load()); st != http.StatusOK {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "ClickHouse is away", st)
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.stored[b.Seq]; ok {
		in.dups++
	} else {
		in.stored[b.Seq] = b
	}
	w.WriteHeader(http.StatusOK)
}

// seqs returns the stored batches' numbers, sorted.
func (in *ingest) seqs() []uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []uint64
	for q := range in.stored {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// rows counts what the stored batches hold for node: device samples,
// interface samples with rates.
func (in *ingest) rows(node string) (devices, withRates int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, b := range in.stored {
		for _, d := range b.Devices {
			if d.Node == node && d.Reachable {
				devices++
			}
		}
		for _, s := range b.Samples {
			if s.Node == node && s.InBps != nil {
				withRates++
			}
		}
	}
	return devices, withRates
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestStream: a running agent streams its polls' samples to the
// collector; while the collector cannot take them they wait in the
// spool, across a restart of the agent, and then all arrive, numbered
// without gaps or reuse.
func TestStream(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	in, front := withIngest(t, c)
	sim := startSim(t, "127.21.3.1", 2, nil)
	seed(t, c, sim, seedOptions{site: "ams1", interval: time.Second})
	devs := sim.Devices()

	cfg := testConfig(t, c, "ams1")
	cfg.Collector = front
	cfg.Stream.FlushInterval = 200 * time.Millisecond
	cfg.Stream.Sender.BackoffMin, cfg.Stream.Sender.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	cfg.Stream.Sender.MaxRetryAfter = 200 * time.Millisecond
	a, reg, _ := newAgent(t, cfg)
	stop := run(t, a)
	eventually(t, "device and interface samples with rates of both devices", func() bool {
		for _, d := range devs {
			if n, r := in.rows(d.Name); n < 2 || r < d.Interfaces {
				return false
			}
		}
		return true
	})
	// The collector's ClickHouse goes away: batches pile up in the spool.
	in.status.Store(http.StatusServiceUnavailable)
	eventually(t, "batches waiting in the spool", func() bool { return gauge(t, reg, "unet_spool_pending_batches") >= 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before := in.seqs()
	last := before[len(before)-1]
	if got := gauge(t, reg, "unet_agent_stream_batches_total"); int(got) <= len(before) {
		t.Fatalf("%v batches written, %d stored: nothing waits in the spool", got, len(before))
	}
	written := uint64(gauge(t, reg, "unet_agent_stream_batches_total"))

	// Back, and the agent restarted on the same data directory: what was
	// spooled arrives, then the new batches, numbered after.
	in.status.Store(http.StatusOK)
	a2, reg2, logs := newAgent(t, cfg)
	run(t, a2)
	eventually(t, "every spooled batch and new ones stored", func() bool {
		s := in.seqs()
		return len(s) > 0 && s[len(s)-1] > written+2
	})
	got := in.seqs()
	for i, q := range got {
		if q != uint64(i+1) {
			t.Fatalf("stored batches %v: a gap at %d (after %d stored before the restart, %d written)", got, i+1, last, written)
		}
	}
	if gauge(t, reg2, "unet_sender_dead_letters_total") != 0 || gauge(t, reg2, "unet_agent_stream_lost_rows_total") != 0 {
		t.Errorf("batches lost or refused:\n%s", logs)
	}
	in.mu.Lock()
	for q, b := range in.stored {
		if b.Agent != cfg.Name || b.Seq != q || b.Created.IsZero() {
			t.Errorf("batch %d: agent %q seq %d created %v", q, b.Agent, b.Seq, b.Created)
		}
	}
	in.mu.Unlock()
}

// TestStreamBatches: rows of polls collect into one batch until MaxRows,
// each poll's interface samples kept together, rates copied.
func TestStreamBatches(t *testing.T) {
	cfg := DefaultStreamConfig()
	cfg.MaxRows = 10
	s := &stream{cfg: cfg, full: make(chan pendingBatch, 4), stop: make(chan struct{}),
		m: streamMetrics{skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "skipped"})}}
	rate := 5.0
	poll := func(node string, ifaces int) {
		out := outputOf(node, ifaces, &rate)
		s.add(&out)
	}
	poll("a", 3) // 4 rows
	poll("b", 3) // 8
	if len(s.full) != 0 {
		t.Fatal("cut before MaxRows")
	}
	poll("c", 3) // 12: cut
	if len(s.full) != 1 {
		t.Fatalf("%d batches cut, want 1", len(s.full))
	}
	b := <-s.full
	if b.rows() != 12 || len(b.devices) != 3 || len(b.samples) != 9 {
		t.Errorf("batch of %d rows (%d devices, %d samples)", b.rows(), len(b.devices), len(b.samples))
	}
	rate = 7 // the deriver's value changes: the batch keeps its copy
	for _, smp := range b.samples {
		if *smp.InBps != 5 {
			t.Fatalf("rate %v in the batch, want the copy 5", *smp.InBps)
		}
	}
	halves := b.split()
	if halves[0].rows()+halves[1].rows() != 12 || halves[0].rows() == 0 {
		t.Errorf("split into %d and %d rows", halves[0].rows(), halves[1].rows())
	}
	unnamed := outputOf("d", 2, &rate)
	unnamed.Samples[1].IfName = ""
	s.add(&unnamed)
	if cur := s.take(); len(cur.samples) != 1 || cur.samples[0].IfName != "eth0" {
		t.Errorf("samples %+v: the one without a name must be left out", cur.samples)
	}
	var nilStream *stream
	out := outputOf("x", 1, &rate)
	nilStream.add(&out) // Once: nothing, no panic
}

func outputOf(node string, ifaces int, rate *float64) (out derive.Output) {
	now := time.Now()
	out.Device = model.DeviceSample{Node: node, Time: now, Reachable: true, Interfaces: ifaces}
	for i := range ifaces {
		out.Samples = append(out.Samples, model.Sample{Node: node, Time: now, IfIndex: i + 1,
			IfName: fmt.Sprint("eth", i), Rates: model.Rates{InBps: rate}})
	}
	return out
}
