package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// logBuffer collects log lines for assertions.
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

// value reads a counter.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// harness is one spool directory, opened and reopened by a test.
type harness struct {
	t    *testing.T
	cfg  Config
	logs *logBuffer
	now  time.Time
	reg  *prometheus.Registry
}

func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = filepath.Join(t.TempDir(), "spool")
	if edit != nil {
		edit(&cfg)
	}
	return &harness{t: t, cfg: cfg, logs: &logBuffer{}, now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
}

// open opens the spool; it is closed when the test ends if not before.
func (h *harness) open() *Spool {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	s, err := New(h.cfg, Dependencies{
		Logger:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: h.reg,
		Now:      func() time.Time { return h.now },
	})
	if err != nil {
		h.t.Fatalf("open spool: %v", err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

// payload is the body of batch seq in these tests.
func payload(seq uint64, size int) []byte {
	p := bytes.Repeat([]byte{byte(seq)}, size)
	copy(p, fmt.Sprintf("batch %d;", seq))
	return p
}

func appendN(t *testing.T, s *Spool, n, size int) []uint64 {
	t.Helper()
	var seqs []uint64
	for range n {
		seq, err := s.Append(func(seq uint64) ([]byte, error) { return payload(seq, size), nil })
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// drain returns the sequence numbers Next hands out until none is ready,
// checking each record's data.
func drain(t *testing.T, s *Spool, size int) []uint64 {
	t.Helper()
	var seqs []uint64
	for s.ready() {
		rec, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if want := payload(rec.Seq, size); !bytes.Equal(rec.Data, want) {
			t.Fatalf("batch %d: data %q…, want %q…", rec.Seq, rec.Data[:min(16, len(rec.Data))], want[:16])
		}
		seqs = append(seqs, rec.Seq)
	}
	return seqs
}

// ready says whether Next has a record to hand out without waiting.
func (s *Spool) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.seq > s.cursor && r.seq <= s.visible {
			return true // done or not: Next may skip it, and drain asks again
		}
	}
	return false
}

func ack(t *testing.T, s *Spool, seqs ...uint64) {
	t.Helper()
	for _, q := range seqs {
		if err := s.Ack(q); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendNextAck(t *testing.T) {
	h := newHarness(t, nil)
	s := h.open()
	if got := appendN(t, s, 3, 100); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("Append numbered %v, want 1 2 3", got)
	}
	if got := drain(t, s, 100); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("Next handed out %v, want 1 2 3", got)
	}
	ack(t, s, 2, 1)
	st := s.Stats()
	if st.Pending != 1 || st.Acked != 2 || st.NextSeq != 4 {
		t.Errorf("stats %+v, want 1 pending, acked 2, next 4", st)
	}
	ack(t, s, 2, 99) // again, and unknown: nothing happens
	if got := value(t, s.m.acks); got != 2 {
		t.Errorf("acks_total %v, want 2", got)
	}
	// A failed build uses no number.
	if _, err := s.Append(func(uint64) ([]byte, error) { return nil, errors.New("boom") }); err == nil {
		t.Error("a failed build was appended")
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 4 {
		t.Errorf("after a failed build the number is %d, want 4", seq)
	}
}

func TestReplayAfterReopen(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SegmentBytes = 4200; c.MaxBytes = 1 << 20 })
	s := h.open()
	appendN(t, s, 20, 1000) // ~4 records per segment: several segments
	drain(t, s, 1000)
	ack(t, s, 1, 2, 3, 4, 5, 6, 7, 8, 10) // 10 out of order
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}

	s = h.open()
	got := drain(t, s, 1000)
	// 10 comes again: acknowledgements above the watermark are not kept.
	want := []uint64{9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if !slices.Equal(got, want) {
		t.Fatalf("after reopening, Next handed out %v, want %v", got, want)
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 21 {
		t.Errorf("after reopening, Append numbered %d, want 21", seq)
	}
	if !strings.Contains(h.logs.String(), "replaying batches not acknowledged") {
		t.Errorf("no replay log line:\n%s", h.logs)
	}
	// Segments whose records were all acknowledged are gone.
	segs, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.seg"))
	if len(segs) != s.Stats().Segments || len(segs) > 4 {
		t.Errorf("%d segment files (stats say %d): acknowledged segments were not deleted", len(segs), s.Stats().Segments)
	}
}

// TestNumbersNeverReused: with every batch acknowledged and its segments
// deleted, a restart continues the numbering.
func TestNumbersNeverReused(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SegmentBytes = 4200; c.MaxBytes = 1 << 20 })
	s := h.open()
	appendN(t, s, 10, 1000)
	ack(t, s, drain(t, s, 1000)...)
	if st := s.Stats(); st.Pending != 0 || st.Acked != 10 {
		t.Fatalf("stats %+v after acknowledging all", st)
	}
	s.Close()
	s = h.open()
	if got := drain(t, s, 1000); len(got) != 0 {
		t.Errorf("acknowledged batches handed out again: %v", got)
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 11 {
		t.Errorf("numbering restarted at %d, want 11", seq)
	}
}

// TestCrashBeforeSync: batches written but not yet synced (sync-interval
// mode) when the process dies are found, made durable and handed out by
// the next process.
func TestCrashBeforeSync(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SyncInterval = time.Hour })
	crashed := h.open()
	appendN(t, crashed, 5, 100)
	if crashed.ready() {
		t.Fatal("batches handed out before they were synced")
	}
	// The process dies: no Close. (The cleanup closes it at the end.)
	s := h.open()
	if got := drain(t, s, 100); !slices.Equal(got, []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("after the crash, handed out %v, want 1 to 5", got)
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 6 {
		t.Errorf("next number %d, want 6", seq)
	}
}

// TestDamagedAckFile: a watermark that cannot be trusted costs duplicates
// (everything in the segments is sent again), never data nor a reused
// number.
func TestDamagedAckFile(t *testing.T) {
	h := newHarness(t, nil)
	s := h.open()
	appendN(t, s, 4, 10)
	ack(t, s, drain(t, s, 10)[:2]...)
	s.Close()
	if err := os.WriteFile(filepath.Join(h.cfg.Dir, ackFileName), []byte("garbage-garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = h.open()
	if got := drain(t, s, 10); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Errorf("handed out %v, want 1 to 4 again", got)
	}
	if !strings.Contains(h.logs.String(), "ack watermark file is damaged") {
		t.Errorf("no warning:\n%s", h.logs)
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 5 {
		t.Errorf("next number %d, want 5", seq)
	}
}

// segmentFile returns the only (or last) segment file.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment in %s (%v)", dir, err)
	}
	slices.Sort(segs)
	return segs[len(segs)-1]
}

// TestTornTail cuts the last record at every byte offset, as a power loss
// while writing it would, and at offsets past a zero-filled tail: the
// spool opens, keeps the records before, cuts the file, says so, and
// never gives the cut record's number to another batch.
func TestTornTail(t *testing.T) {
	const size = 40
	h := newHarness(t, nil)
	s := h.open()
	appendN(t, s, 3, size)
	s.Close()
	path := lastSegment(t, h.cfg.Dir)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recLen := headerSize + size
	lastStart := len(whole) - recLen

	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	for cut := lastStart + 1; cut < len(whole); cut++ {
		cases = append(cases, tc{fmt.Sprintf("cut at %d of %d", cut-lastStart, recLen), whole[:cut]})
	}
	cases = append(cases,
		tc{"zeros after the last record", append(slices.Clone(whole[:lastStart]), make([]byte, recLen)...)},
		tc{"bad CRC in the last record", func() []byte {
			b := slices.Clone(whole)
			b[len(b)-1] ^= 0xff
			return b
		}()},
		tc{"huge length", func() []byte {
			b := slices.Clone(whole)
			b[lastStart+3] = 0xff
			return b
		}()},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h2 := newHarness(t, nil)
			if err := os.MkdirAll(h2.cfg.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			seg := filepath.Join(h2.cfg.Dir, filepath.Base(path))
			if err := os.WriteFile(seg, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s := h2.open()
			if got := drain(t, s, size); !slices.Equal(got, []uint64{1, 2}) {
				t.Errorf("handed out %v, want 1 2", got)
			}
			if !strings.Contains(h2.logs.String(), "torn or damaged tail cut") {
				t.Errorf("no log line about the cut:\n%s", h2.logs)
			}
			if got := value(t, s.m.corrupt.WithLabelValues("tail")); got != 1 {
				t.Errorf("corruptions_total{where=tail} = %v, want 1", got)
			}
			if st, _ := os.Stat(seg); st.Size() != int64(lastStart) {
				t.Errorf("segment is %d bytes after the cut, want %d", st.Size(), lastStart)
			}
			seq := appendN(t, s, 1, size)[0]
			if seq <= 3 {
				t.Errorf("the next batch got number %d: the cut one (3) may have been sent", seq)
			}
			s.Close()
			s = h2.open()
			if got := drain(t, s, size); !slices.Equal(got, []uint64{1, 2, seq}) {
				t.Errorf("after appending past the cut and reopening: %v, want 1 2 %d", got, seq)
			}
		})
	}
}

// TestCorruptOlderSegment: damage inside an older segment skips the rest
// of that segment, counted, and the later segments are read.
func TestCorruptOlderSegment(t *testing.T) {
	const size = 1000
	h := newHarness(t, func(c *Config) { c.SegmentBytes = 4200; c.MaxBytes = 1 << 20 })
	s := h.open()
	appendN(t, s, 8, size) // segments of 4 records: 1-4, 5-8
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.seg"))
	slices.Sort(segs)
	if len(segs) != 2 {
		t.Fatalf("%d segments, want 2", len(segs))
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	// A bit flipped in the payload of the second record.
	b[len(segMagic)+headerSize+size+headerSize+10] ^= 1
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = h.open()
	if got := drain(t, s, size); !slices.Equal(got, []uint64{1, 5, 6, 7, 8}) {
		t.Errorf("handed out %v, want 1 5 6 7 8", got)
	}
	if got := value(t, s.m.corrupt.WithLabelValues("segment")); got != 1 {
		t.Errorf("corruptions_total{where=segment} = %v, want 1", got)
	}
	if !strings.Contains(h.logs.String(), "damaged segment") {
		t.Errorf("no log line about the damage:\n%s", h.logs)
	}
	if seq := appendN(t, s, 1, 10)[0]; seq != 9 {
		t.Errorf("next number %d, want 9", seq)
	}
}

// TestCorruptAfterOpen: a record damaged on disk after it was indexed is
// lost alone, loudly; the others are handed out.
func TestCorruptAfterOpen(t *testing.T) {
	const size = 100
	h := newHarness(t, nil)
	s := h.open()
	appendN(t, s, 3, size)
	f, err := os.OpenFile(lastSegment(t, h.cfg.Dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), int64(len(segMagic)+headerSize+size+headerSize+5)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := drain(t, s, size); !slices.Equal(got, []uint64{1, 3}) {
		t.Errorf("handed out %v, want 1 3", got)
	}
	if got := value(t, s.m.droppedBatches.WithLabelValues("corrupt")); got != 1 {
		t.Errorf("dropped_batches_total{reason=corrupt} = %v, want 1", got)
	}
}

func TestSizeCap(t *testing.T) {
	const size = 1000
	h := newHarness(t, func(c *Config) { c.SegmentBytes = 4096; c.MaxBytes = 3 * 4096 })
	s := h.open()
	appendN(t, s, 30, size)
	st := s.Stats()
	if st.DiskBytes > h.cfg.MaxBytes {
		t.Errorf("the spool takes %d bytes, over its cap %d", st.DiskBytes, h.cfg.MaxBytes)
	}
	got := drain(t, s, size)
	if len(got) == 0 || got[len(got)-1] != 30 || got[0] == 1 {
		t.Fatalf("handed out %v: want the newest batches, up to 30, without the oldest", got)
	}
	dropped := value(t, s.m.droppedBatches.WithLabelValues("size"))
	if int(dropped) != 30-len(got) {
		t.Errorf("dropped_batches_total{reason=size} = %v, want %d", dropped, 30-len(got))
	}
	if b := value(t, s.m.droppedBytes.WithLabelValues("size")); int(b) != int(dropped)*(headerSize+size) {
		t.Errorf("dropped_bytes_total{reason=size} = %v", b)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "over its size cap") ||
		!strings.Contains(logs, "first_seq=1 ") {
		t.Errorf("no warning saying what was dropped:\n%s", logs)
	}
}

func TestAgeCap(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxAge = 24 * time.Hour })
	s := h.open()
	appendN(t, s, 2, 10)
	h.now = h.now.Add(20 * time.Hour)
	appendN(t, s, 1, 10)
	h.now = h.now.Add(5 * time.Hour) // 1 and 2 are 25 hours old
	appendN(t, s, 1, 10)
	if got := drain(t, s, 10); !slices.Equal(got, []uint64{3, 4}) {
		t.Errorf("handed out %v, want 3 4", got)
	}
	if got := value(t, s.m.droppedBatches.WithLabelValues("age")); got != 2 {
		t.Errorf("dropped_batches_total{reason=age} = %v, want 2", got)
	}
	if !strings.Contains(h.logs.String(), "older than its age cap") {
		t.Errorf("no warning:\n%s", h.logs)
	}
	// At the next start too.
	s.Close()
	h.now = h.now.Add(48 * time.Hour)
	s = h.open()
	if got := drain(t, s, 10); len(got) != 0 {
		t.Errorf("after 2 days away, handed out %v, want none", got)
	}
}

func TestReject(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxDeadLetters = 2 })
	s := h.open()
	appendN(t, s, 4, 10)
	for range 3 {
		rec, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Reject(rec, "400: unknown interface status 9"); err != nil {
			t.Fatal(err)
		}
	}
	dead, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "dead", "*.batch"))
	if len(dead) != 2 || !strings.HasSuffix(dead[0], "00000000000000000002.batch") {
		t.Errorf("dead letters %v, want the two newest", dead)
	}
	reason, _ := os.ReadFile(filepath.Join(h.cfg.Dir, "dead", "00000000000000000003.reason"))
	if !strings.Contains(string(reason), "unknown interface status") {
		t.Errorf("reason file says %q", reason)
	}
	if st := s.Stats(); st.Pending != 1 || st.Acked != 3 {
		t.Errorf("stats %+v: rejected batches must be done", st)
	}
}

// TestSyncInterval: with a sync interval, a batch is handed out only once
// the syncer made it durable.
func TestSyncInterval(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SyncInterval = 200 * time.Millisecond })
	s := h.open()
	appendN(t, s, 1, 10)
	start := time.Now()
	rec, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 1 {
		t.Errorf("seq %d", rec.Seq)
	}
	// Not a timing assertion: that it did wait at all is what matters.
	if time.Since(start) == 0 {
		t.Error("handed out before any sync")
	}
	var m dto.Metric
	if err := s.m.fsync.Write(&m); err != nil || m.GetHistogram().GetSampleCount() == 0 {
		t.Errorf("no fsync timed (%v)", err)
	}
}

func TestNextWaitsAndStops(t *testing.T) {
	h := newHarness(t, nil)
	s := h.open()
	got := make(chan uint64)
	go func() {
		rec, err := s.Next(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- rec.Seq
	}()
	appendN(t, s, 1, 10)
	if seq := <-got; seq != 1 {
		t.Errorf("waiting Next got %d", seq)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: %v", err)
	}
	errc := make(chan error)
	go func() { _, err := s.Next(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Next waiting across Close: %v, want ErrClosed", err)
	}
}

// TestConcurrent: appenders and a sender that acknowledges out of order,
// at once (run with -race): every batch is handed out once, in order, and
// all end acknowledged.
func TestConcurrent(t *testing.T) {
	for _, interval := range []time.Duration{0, 5 * time.Millisecond} {
		t.Run(fmt.Sprint("sync every ", interval), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.SegmentBytes = 8192; c.MaxBytes = 1 << 30; c.SyncInterval = interval })
			s := h.open()
			const writers, each = 4, 50
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() { appendN(t, s, each, 500) })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var seen []uint64
			acks := make(chan uint64, 8)
			var ackers sync.WaitGroup
			for range 3 {
				ackers.Go(func() {
					for q := range acks {
						if err := s.Ack(q); err != nil {
							t.Error(err)
						}
					}
				})
			}
			for len(seen) < writers*each {
				rec, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("after %d batches: %v", len(seen), err)
				}
				if !bytes.Equal(rec.Data, payload(rec.Seq, 500)) {
					t.Fatalf("batch %d: wrong data", rec.Seq)
				}
				seen = append(seen, rec.Seq)
				acks <- rec.Seq
			}
			close(acks)
			ackers.Wait()
			wg.Wait()
			if !slices.IsSorted(seen) || seen[0] != 1 || seen[len(seen)-1] != writers*each {
				t.Errorf("handed out out of order or not all: first %d last %d sorted %v", seen[0], seen[len(seen)-1], slices.IsSorted(seen))
			}
			st := s.Stats()
			if st.Pending != 0 || st.Acked != writers*each || st.Segments != 1 {
				t.Errorf("stats %+v: want all acknowledged and one segment left", st)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		says string
	}{
		{func(c *Config) { c.Dir = "" }, "directory is required"},
		{func(c *Config) { c.SegmentBytes = 10 }, "segment-bytes must be at least 4096"},
		{func(c *Config) { c.MaxBytes = c.SegmentBytes }, "at least twice segment-bytes"},
		{func(c *Config) { c.MaxAge = 0 }, "max-age must be positive"},
		{func(c *Config) { c.SyncInterval = -1 }, "sync-interval"},
	} {
		c := DefaultConfig()
		c.Dir = "x"
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Validate() = %v, want it to say %q", err, tc.says)
		}
	}
}

// BenchmarkAppend: appends per second with fsync per batch and per 100
// ms, of 8 KB batches (a few devices' polls) and of 280 KB ones (an
// agent's batch of 100 devices × 48 interfaces, compressed). The spool
// lives under the test's temp dir: its disk is the figure.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{8 << 10, 280 << 10} {
		for _, interval := range []time.Duration{0, 100 * time.Millisecond} {
			mode := "fsync-per-batch"
			if interval > 0 {
				mode = "fsync-per-100ms"
			}
			b.Run(fmt.Sprintf("%s/%dKB", mode, size>>10), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Dir = b.TempDir()
				cfg.SyncInterval = interval
				s, err := New(cfg, Dependencies{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				data := bytes.Repeat([]byte("x"), size)
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					seq, err := s.Append(func(uint64) ([]byte, error) { return data, nil })
					if err != nil {
						b.Fatal(err)
					}
					if err := s.Ack(seq); err != nil { // keep the spool small, as a healthy agent's is
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
			})
		}
	}
}
