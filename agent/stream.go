package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/agent/sender"
	"github.com/unet-project/unet/agent/spool"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire"
)

// Streaming (Run only): every poll's derived output (its device sample,
// interface samples and events) goes into the current batch; a batch is
// cut every Stream.FlushInterval or at Stream.MaxRows rows, encoded
// (shared/wire), written to the spool in DATA/spool (agent/spool), and
// sent from there to the collector (agent/sender), which acknowledges it.
// When the spool cannot take a batch (a full or failing disk) the batch is
// lost, counted in unet_agent_stream_lost_rows_total and logged at error
// level. Interface samples without an interface name (an interface seen
// between two reads of the names) are not sent, counted in
// unet_agent_stream_skipped_samples_total: the collector cannot key them,
// and refuses a batch that holds one.

// StreamConfig configures how derived samples and events reach the
// collector.
type StreamConfig struct {
	// FlushInterval is the longest a poll's output waits in the agent
	// before it is written to the spool as part of a batch.
	FlushInterval time.Duration `yaml:"flush-interval"`
	// MaxRows cuts a batch early once it holds this many rows (interface
	// samples, device samples and events).
	MaxRows int `yaml:"max-rows"`
	// Spool: the durable queue in DATA/spool.
	Spool spool.Config `yaml:"spool"`
	// Sender: delivery to the collector's /api/v1/ingest.
	Sender sender.Config `yaml:"sender"`
}

// DefaultStreamConfig returns the defaults: a batch a second or every
// 5,000 rows.
func DefaultStreamConfig() StreamConfig {
	return StreamConfig{
		FlushInterval: time.Second,
		MaxRows:       5000,
		Spool:         spool.DefaultConfig(),
		Sender:        sender.DefaultConfig(),
	}
}

// resolve fills what the stream takes from the rest of the configuration:
// the spool's directory, the collector's URL and the agent's name.
func (c StreamConfig) resolve(cfg *Config) StreamConfig {
	c.Spool.Dir = filepath.Join(cfg.DataDir, "spool")
	c.Sender.URL = cfg.Collector
	c.Sender.Agent = cfg.Name
	return c
}

// validate checks the stream's settings; errors name their keys.
func (c StreamConfig) validate(cfg *Config) error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("stream flush-interval must be positive (got %s)", c.FlushInterval))
	}
	if c.MaxRows < 1 {
		errs = append(errs, fmt.Errorf("stream max-rows must be at least 1 (got %d)", c.MaxRows))
	}
	r := c.resolve(cfg)
	if r.Sender.Agent == "" {
		r.Sender.Agent = "unset" // defaulted by New
	}
	if r.Sender.URL == "" || r.Spool.Dir == "spool" {
		return errors.Join(errs...) // reported by the collector and data-dir checks
	}
	errs = append(errs, r.Spool.Validate(), r.Sender.Validate())
	return errors.Join(errs...)
}

// stream batches derived output into the spool and runs the sender.
type stream struct {
	cfg   StreamConfig
	agent string
	log   *slog.Logger
	enc   *wire.Encoder
	spool *spool.Spool
	send  *sender.Sender
	m     streamMetrics

	mu   sync.Mutex
	cur  pendingBatch
	full chan pendingBatch // cut at MaxRows, for the writer

	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
}

// pendingBatch is a batch being filled. Rates are copied into blocks of
// its own: derive's rate pointers are read-only and their lifetime is
// derive's business.
type pendingBatch struct {
	devices []model.DeviceSample
	samples []model.Sample
	events  []model.Event
	rates   []float64 // the current block
}

func (b *pendingBatch) rows() int { return len(b.devices) + len(b.samples) + len(b.events) }

type streamMetrics struct {
	batches prometheus.Counter
	rows    *prometheus.CounterVec
	lost    prometheus.Counter
	skipped prometheus.Counter
}

// startStream opens the spool (replaying what it holds), starts the
// sender and the batch writer.
func (a *Agent) startStream() (*stream, error) {
	cfg := a.cfg.Stream.resolve(&a.cfg)
	s := &stream{cfg: cfg, agent: a.cfg.Name, log: a.log.With("component", "stream"),
		full: make(chan pendingBatch, 1), stop: make(chan struct{})}
	const ns, sub = "unet", "agent_stream"
	s.m = streamMetrics{
		batches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "batches_total",
			Help: "Batches cut and written to the spool."}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rows_total",
			Help: "Rows written to the spool, by kind (device, interface, event)."}, []string{"kind"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "lost_rows_total",
			Help: "Rows lost because the spool could not take their batch (disk full or failing). Alert on any."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "skipped_samples_total",
			Help: "Interface samples not sent because the interface has no name yet (the collector keys samples by it)."}),
	}
	for _, c := range []prometheus.Collector{s.m.batches, s.m.rows, s.m.lost, s.m.skipped} {
		if err := a.reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the stream's metrics: %w", err)
		}
	}
	var err error
	if s.enc, err = wire.NewEncoder(wire.Limits{}); err != nil {
		return nil, err
	}
	if s.spool, err = spool.New(cfg.Spool, spool.Dependencies{Logger: a.log.With("component", "spool"), Registry: a.reg}); err != nil {
		return nil, fmt.Errorf("opening the spool: %w", err)
	}
	if s.send, err = sender.New(cfg.Sender, sender.Dependencies{
		Logger: a.log.With("component", "sender"), Registry: a.reg, Source: s.spool,
	}); err != nil {
		s.spool.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() { defer s.wg.Done(); _ = s.send.Run(ctx) }()
	go func() { defer s.wg.Done(); s.writeLoop() }()
	return s, nil
}

// add puts a poll's output in the current batch. It blocks while a full
// batch waits for the writer: memory stays bounded when the disk is slow.
func (s *stream) add(out *derive.Output) {
	if s == nil {
		return // Once: no streaming
	}
	s.mu.Lock()
	b := &s.cur
	b.devices = append(b.devices, out.Device)
	skipped := 0
	for i := range out.Samples {
		if out.Samples[i].IfName == "" {
			// The collector refuses a batch with a sample it cannot key
			// (a new interface seen between two reads of the names): one
			// such row must not cost the whole batch.
			skipped++
			continue
		}
		b.samples = append(b.samples, out.Samples[i])
		b.copyRates(&b.samples[len(b.samples)-1].Rates)
	}
	b.events = append(b.events, out.Events...)
	var cut pendingBatch
	if b.rows() >= s.cfg.MaxRows {
		cut, s.cur = s.cur, pendingBatch{}
	}
	s.mu.Unlock()
	if skipped > 0 {
		s.m.skipped.Add(float64(skipped))
	}
	if cut.rows() > 0 {
		select {
		case s.full <- cut:
		case <-s.stop:
			s.write(cut) // stopping: the writer is gone
		}
	}
}

// copyRates points r's rates into b's own blocks.
func (b *pendingBatch) copyRates(r *model.Rates) {
	for _, p := range []**float64{&r.InBps, &r.OutBps, &r.InPps, &r.OutPps,
		&r.InErrorsRate, &r.OutErrorsRate, &r.InDiscardsRate, &r.OutDiscardsRate} {
		if *p == nil {
			continue
		}
		if len(b.rates) == cap(b.rates) {
			b.rates = make([]float64, 0, 4096)
		}
		b.rates = append(b.rates, **p)
		*p = &b.rates[len(b.rates)-1]
	}
}

// take cuts the current batch.
func (s *stream) take() pendingBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.cur
	s.cur = pendingBatch{}
	return b
}

// writeLoop writes the batches cut at MaxRows, and the current one every
// FlushInterval; at stop, everything left.
func (s *stream) writeLoop() {
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case b := <-s.full:
			s.write(b)
		case <-t.C:
			s.write(s.take())
		case <-s.stop:
			for {
				select {
				case b := <-s.full:
					s.write(b)
				default:
					s.write(s.take())
					return
				}
			}
		}
	}
}

// write encodes b and appends it to the spool. A batch over the wire
// format's limits is split in two.
func (s *stream) write(b pendingBatch) {
	if b.rows() == 0 {
		return
	}
	wb := wire.Batch{Agent: s.agent, Created: time.Now().UTC(), Devices: b.devices, Samples: b.samples, Events: b.events}
	_, err := s.spool.Append(func(seq uint64) ([]byte, error) {
		wb.Seq = seq
		return s.enc.Encode(&wb)
	})
	if errors.Is(err, wire.ErrTooLarge) && b.rows() > 1 {
		for _, half := range b.split() {
			s.write(half)
		}
		return
	}
	if err != nil {
		s.m.lost.Add(float64(b.rows()))
		s.log.Error("a batch could not be written to the spool and is lost", "devices", len(b.devices),
			"interface_samples", len(b.samples), "events", len(b.events), "error", err)
		return
	}
	s.m.batches.Inc()
	s.m.rows.WithLabelValues("device").Add(float64(len(b.devices)))
	s.m.rows.WithLabelValues("interface").Add(float64(len(b.samples)))
	s.m.rows.WithLabelValues("event").Add(float64(len(b.events)))
}

// split halves b, each kind of row on its own.
func (b pendingBatch) split() []pendingBatch {
	h := func(n int) int { return n / 2 }
	return []pendingBatch{
		{devices: b.devices[:h(len(b.devices))], samples: b.samples[:h(len(b.samples))], events: b.events[:h(len(b.events))]},
		{devices: b.devices[h(len(b.devices)):], samples: b.samples[h(len(b.samples)):], events: b.events[h(len(b.events)):]},
	}
}

// close writes what is pending to the spool, stops the sender (batches in
// flight stay in the spool, sent again at the next start) and closes the
// spool. Call it once polling stopped.
func (s *stream) close() {
	close(s.stop)
	s.cancel()
	s.wg.Wait()
	if err := s.spool.Close(); err != nil {
		s.log.Error("closing the spool", "error", err)
	}
}
