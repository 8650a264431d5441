// Package spool is the agent's durable outbound queue: every batch is
// written to disk, and made durable (fsync), before it is handed out for
// sending, and it stays there until the collector acknowledges it. The
// spool is what makes "the collector, the network or ClickHouse is down"
// lose nothing: the agent spools, then replays.
//
//	s, err := spool.New(cfg, spool.Dependencies{Logger: log, Registry: reg})
//	seq, err := s.Append(func(seq uint64) ([]byte, error) { b.Seq = seq; return enc.Encode(b) })
//	rec, err := s.Next(ctx)      // the sender: records in sequence order, each once
//	err = s.Ack(rec.Seq)         // after the collector's 2xx: the record may go
//	err = s.Reject(rec, reason)  // a batch the collector refuses: moved aside
//	err = s.Close()
//
// # On disk
//
// Config.Dir holds segment files, NNNNNNNNNNNNNNNNNNNN.seg (20 digits: the
// sequence number the segment started at), an 8-byte header "UNETSPL1"
// followed by records:
//
//	length  uint32  payload bytes
//	crc     uint32  CRC-32C (Castagnoli) of the 16 bytes below and the payload
//	seq     uint64
//	created int64   Unix nanoseconds, for the age cap
//	payload
//
// all little-endian. Appends go to the newest segment, which is rotated
// once it reaches Config.SegmentBytes. A segment is deleted once all its
// records are acknowledged (or dropped). The file "acked" holds the ack
// watermark (every sequence number up to it is done: acknowledged,
// rejected or dropped) and its CRC, so that a restart does not send
// acknowledged batches again; acknowledgements above the watermark (they
// arrive out of order) are kept in memory only, and those batches may be
// sent again after a restart, which the collector's dedupe by (agent,
// seq) absorbs. dead/ holds the batches the collector refused.
//
// # Sequence numbers
//
// Append assigns them, from 1, and they are never reused, even across
// restarts and crashes: at start the next one is above the watermark, every
// record found, and every segment's name. When a torn tail is cut, the
// next number also skips as many as the cut bytes could have held, since
// records there may have been sent. So numbers may have gaps; the
// collector must not expect them to be contiguous. Deleting the spool
// directory restarts them at 1, and a collector that remembers the agent
// would drop the new batches as duplicates: do not, or rename the agent.
//
// # Failures
//
// At start the spool replays what is left. A torn or corrupt tail (power
// loss while writing: a truncated record, a bad CRC) is cut at the last
// good record, with a warning. Corruption inside an older segment skips
// the rest of that segment, with a warning and a count. Neither stops the
// agent. The size and age caps (Config.MaxBytes, Config.MaxAge) are the
// only way data is lost otherwise: the oldest batches are dropped, counted
// (unet_spool_dropped_batches_total, unet_spool_dropped_bytes_total by
// reason) and logged at warn level with what was dropped.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config of the spool. Sizes are in bytes.
type Config struct {
	// Dir is where the spool lives; the agent sets it (DATA/spool).
	Dir string `yaml:"-"`
	// SegmentBytes is the size at which a segment file is closed and a new
	// one started: the unit in which the size cap frees space.
	SegmentBytes int64 `yaml:"segment-bytes"`
	// MaxBytes caps the segment files' total size; past it the oldest
	// segment is dropped.
	MaxBytes int64 `yaml:"max-bytes"`
	// MaxAge caps how long a batch waits for its acknowledgement; older
	// ones are dropped (checked at each Append).
	MaxAge time.Duration `yaml:"max-age"`
	// SyncInterval is how often appended batches are made durable (fsync)
	// and handed out; 0 makes each Append durable before it returns.
	SyncInterval time.Duration `yaml:"sync-interval"`
	// MaxDeadLetters caps the refused batches kept in dir/dead (oldest
	// deleted first).
	MaxDeadLetters int `yaml:"max-dead-letters"`
}

// DefaultConfig returns the defaults: 64 MiB segments, 1 GiB and 7 days at
// most, fsync per batch, 1,000 dead letters.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:   64 << 20,
		MaxBytes:       1 << 30,
		MaxAge:         7 * 24 * time.Hour,
		MaxDeadLetters: 1000,
	}
}

// Validate names every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("spool directory is required"))
	}
	if c.SegmentBytes < 4096 {
		errs = append(errs, fmt.Errorf("spool segment-bytes must be at least 4096 (got %d)", c.SegmentBytes))
	}
	if c.MaxBytes < 2*c.SegmentBytes {
		errs = append(errs, fmt.Errorf("spool max-bytes (%d) must be at least twice segment-bytes (%d): space is freed a segment at a time",
			c.MaxBytes, c.SegmentBytes))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("spool max-age must be positive (got %s)", c.MaxAge))
	}
	if c.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("spool sync-interval must be 0 (fsync per batch) or positive (got %s)", c.SyncInterval))
	}
	if c.MaxDeadLetters < 0 {
		errs = append(errs, fmt.Errorf("spool max-dead-letters must not be negative (got %d)", c.MaxDeadLetters))
	}
	return errors.Join(errs...)
}

// Dependencies of the spool.
type Dependencies struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Registry receives the unet_spool_ metrics; nil: a private one.
	Registry prometheus.Registerer
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Record is a batch handed out for sending.
type Record struct {
	Seq     uint64
	Created time.Time
	Data    []byte
}

// ErrClosed is returned by the methods of a closed spool.
var ErrClosed = errors.New("spool closed")

const (
	segMagic     = "UNETSPL1"
	headerSize   = 24
	maxPayload   = 64 << 20 // the wire format's decompressed cap: nothing bigger is a batch
	ackFileName  = "acked"
	deadDirName  = "dead"
	segExt       = ".seg"
	ackFileBytes = 12
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segment is one segment file.
type segment struct {
	first uint64 // from its name: no record in it is below
	path  string
	f     *os.File
	size  int64 // bytes written and kept
	live  int   // records not done
}

// record is the index entry of one record not yet below the watermark.
type record struct {
	seq     uint64
	seg     *segment
	off     int64 // of the record's header
	size    int   // payload bytes
	created int64 // Unix nanoseconds
	done    bool
}

// Spool is the durable queue. Its methods are safe for concurrent use.
type Spool struct {
	cfg Config
	log *slog.Logger
	m   *metrics
	now func() time.Time

	// appendMu serialises Append (and the syncer's fsync of the active
	// segment): records go to the files in sequence order, and the active
	// segment is only rotated or dropped by its holder.
	appendMu sync.Mutex

	mu       sync.Mutex
	recs     []record // by seq; recs[0] is the first not done
	segs     []*segment
	next     uint64 // the sequence number Append assigns next
	acked    uint64 // watermark: every seq <= acked is done
	ackDirty bool   // acked was written but not fsync'd
	ackFile  *os.File
	written  uint64 // highest seq written
	visible  uint64 // highest seq durable: Next hands out up to it
	cursor   uint64 // highest seq Next handed out
	pending  int64  // bytes (headers and payloads) of records not done
	disk     int64  // segment files' total size
	wake     chan struct{}
	closed   bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// New opens the spool in cfg.Dir (created 0700 when missing) and replays
// what is left there: the records not acknowledged before are handed out
// again by Next.
func New(cfg Config, deps Dependencies) (*Spool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Spool{cfg: cfg, log: log, now: now, wake: make(chan struct{}), stop: make(chan struct{})}
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, fmt.Errorf("registering the spool's metrics: %w", err)
	}
	s.m = m
	if err := os.MkdirAll(filepath.Join(cfg.Dir, deadDirName), 0o700); err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	if err := s.open(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if cfg.SyncInterval > 0 {
		s.wg.Add(1)
		go s.syncLoop()
	}
	return s, nil
}

// Append writes the batch that build returns for the sequence number it is
// given, and returns that number. Build runs under the spool's append lock:
// a failed build uses no number. With SyncInterval 0 the batch is durable
// when Append returns; otherwise within SyncInterval. An error means the
// batch is not in the spool (the disk is full, or failing).
func (s *Spool) Append(build func(seq uint64) ([]byte, error)) (uint64, error) {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	seq := s.next
	active := s.segs[len(s.segs)-1]
	s.mu.Unlock()

	data, err := build(seq)
	if err != nil {
		return 0, err
	}
	if len(data) == 0 || len(data) > maxPayload {
		return 0, fmt.Errorf("spool: batch %d is %d bytes; want 1 to %d", seq, len(data), maxPayload)
	}
	now := s.now()
	recLen := int64(headerSize + len(data))
	if active.size > int64(len(segMagic)) && active.size+recLen > s.cfg.SegmentBytes {
		if active, err = s.rotate(seq); err != nil {
			return 0, err
		}
	}
	buf := make([]byte, headerSize, recLen)
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(buf[8:], seq)
	binary.LittleEndian.PutUint64(buf[16:], uint64(now.UnixNano()))
	buf = append(buf, data...)
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(buf[8:], castagnoli))
	off := active.size
	if _, err := active.f.WriteAt(buf, off); err != nil {
		// Cut what part of the record made it, so that the next record
		// follows the last good one.
		_ = active.f.Truncate(off)
		return 0, fmt.Errorf("spool: writing batch %d to %s: %w", seq, active.path, err)
	}
	if s.cfg.SyncInterval == 0 {
		if err := s.fsync(active.f); err != nil {
			_ = active.f.Truncate(off)
			return 0, fmt.Errorf("spool: fsync of batch %d in %s: %w", seq, active.path, err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	active.size += recLen
	active.live++
	s.disk += recLen
	s.pending += recLen
	s.recs = append(s.recs, record{seq: seq, seg: active, off: off, size: len(data), created: now.UnixNano()})
	s.next = seq + 1
	s.written = seq
	s.m.appends.Inc()
	s.m.appendedBytes.Add(float64(recLen))
	if s.cfg.SyncInterval == 0 {
		s.setVisible(seq)
	}
	s.enforceCaps(now)
	return seq, nil
}

// Next returns the next record to send: records come in sequence order,
// each once per process (after a restart, every record not acknowledged
// comes again), and only once durable. It waits for one until ctx ends.
func (s *Spool) Next(ctx context.Context) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
search:
	for {
		if s.closed {
			return Record{}, ErrClosed
		}
		i, _ := slices.BinarySearchFunc(s.recs, s.cursor+1, func(r record, seq uint64) int { return cmpSeq(r.seq, seq) })
		for ; i < len(s.recs) && s.recs[i].seq <= s.visible; i++ {
			r := &s.recs[i]
			s.cursor = r.seq
			if r.done {
				continue
			}
			data, err := s.read(r)
			if err != nil {
				// The disk changed under us (bit rot, a hand edit): this
				// record is lost, the others are not.
				s.log.Error("spool: a batch cannot be read back; it is lost", "seq", r.seq, "segment", r.seg.path,
					"offset", r.off, "error", err)
				s.m.corrupt.WithLabelValues("read").Inc()
				s.drop(r, "corrupt")
				if err := s.collect(); err != nil {
					s.log.Warn("spool: cleaning up after a lost batch", "error", err)
				}
				continue search // the index moved
			}
			return Record{Seq: r.seq, Created: time.Unix(0, r.created).UTC(), Data: data}, nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			s.mu.Lock()
			return Record{}, ctx.Err()
		case <-wake:
		}
		s.mu.Lock()
	}
}

// Ack marks the record seq as received by the collector: it is not sent
// again, and its segment is deleted once all the segment's records are.
// Acknowledging an unknown or already acknowledged record does nothing.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	r := s.find(seq)
	if r == nil || r.done {
		return nil
	}
	s.markDone(r)
	s.m.acks.Inc()
	return s.collect()
}

// Reject moves a record the collector refused into dir/dead
// (SEQ.batch, the body as sent, and SEQ.reason) and marks it done: a
// poison batch must not be sent forever. Beyond MaxDeadLetters the oldest
// dead letters are deleted.
func (s *Spool) Reject(rec Record, reason string) error {
	dir := filepath.Join(s.cfg.Dir, deadDirName)
	base := filepath.Join(dir, fmt.Sprintf("%020d", rec.Seq))
	werr := errors.Join(
		os.WriteFile(base+".batch", rec.Data, 0o600),
		os.WriteFile(base+".reason", []byte(reason+"\n"), 0o600))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if r := s.find(rec.Seq); r != nil && !r.done {
		s.markDone(r)
		s.m.rejected.Inc()
	}
	s.pruneDead(dir)
	if werr != nil {
		return fmt.Errorf("spool: keeping refused batch %d in %s: %w", rec.Seq, dir, werr)
	}
	return s.collect()
}

// Stats are the spool's counts, for tests and logs.
type Stats struct {
	Pending      int    // records not done
	PendingBytes int64  // their size on disk
	DiskBytes    int64  // the segment files' size
	Segments     int    // segment files
	NextSeq      uint64 // what Append assigns next
	Acked        uint64 // the watermark
}

// Stats returns the current counts.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.recs {
		if !s.recs[i].done {
			n++
		}
	}
	return Stats{Pending: n, PendingBytes: s.pending, DiskBytes: s.disk, Segments: len(s.segs), NextSeq: s.next, Acked: s.acked}
}

// Close makes everything durable and closes the files; Next callers get
// ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.broadcast() // Next's waiters see closed
	s.mu.Unlock()
	// The syncer takes appendMu: stop it before taking it. An Append
	// already under way finishes first.
	s.wg.Wait()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if active := s.segs[len(s.segs)-1]; active.f != nil {
		errs = append(errs, s.fsync(active.f))
	}
	errs = append(errs, s.syncAck())
	errs = append(errs, s.closeFiles())
	return errors.Join(errs...)
}

// closeFiles closes every open file.
func (s *Spool) closeFiles() error {
	var errs []error
	for _, g := range s.segs {
		if g.f != nil {
			errs = append(errs, g.f.Close())
			g.f = nil
		}
	}
	if s.ackFile != nil {
		errs = append(errs, s.ackFile.Close())
		s.ackFile = nil
	}
	return errors.Join(errs...)
}

// syncLoop makes appends and the watermark durable every SyncInterval.
func (s *Spool) syncLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.syncNow()
		}
	}
}

// syncNow fsyncs the active segment and hands out what it held.
func (s *Spool) syncNow() {
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	s.mu.Lock()
	written, visible, active := s.written, s.visible, s.segs[len(s.segs)-1]
	s.mu.Unlock()
	if written > visible {
		if err := s.fsync(active.f); err != nil {
			s.log.Error("spool: fsync failed; batches are held until it works", "segment", active.path, "error", err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if written > visible {
		s.setVisible(written)
	}
	if err := s.syncAck(); err != nil {
		s.log.Error("spool: fsync of the ack watermark failed", "error", err)
	}
}

// fsync syncs f, timing it.
func (s *Spool) fsync(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	s.m.fsync.Observe(time.Since(start).Seconds())
	return err
}

// setVisible hands out records up to seq. Callers hold mu.
func (s *Spool) setVisible(seq uint64) {
	s.visible = seq
	s.broadcast()
}

// broadcast wakes Next's waiters. Callers hold mu.
func (s *Spool) broadcast() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// rotate makes a new active segment for records from seq on. The caller
// holds appendMu and not mu.
func (s *Spool) rotate(seq uint64) (*segment, error) {
	s.mu.Lock()
	old := s.segs[len(s.segs)-1]
	s.mu.Unlock()
	// With SyncInterval > 0 the old segment may hold records not yet
	// durable: sync them before leaving it (the syncer only syncs the
	// active segment).
	if s.cfg.SyncInterval > 0 {
		if err := s.fsync(old.f); err != nil {
			return nil, fmt.Errorf("spool: fsync of %s: %w", old.path, err)
		}
	}
	g, err := s.createSegment(seq)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.segs = append(s.segs, g)
	s.disk += g.size
	if s.cfg.SyncInterval > 0 && s.written > s.visible {
		s.setVisible(s.written)
	}
	// The old segment may be entirely done already.
	s.collect()
	return g, nil
}

// createSegment creates, syncs and returns a segment starting at seq.
func (s *Spool) createSegment(seq uint64) (*segment, error) {
	path := filepath.Join(s.cfg.Dir, fmt.Sprintf("%020d%s", seq, segExt))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: creating segment: %w", err)
	}
	if _, err := f.WriteAt([]byte(segMagic), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: writing %s: %w", path, err)
	}
	if err := errors.Join(s.fsync(f), syncDir(s.cfg.Dir)); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: fsync of %s: %w", path, err)
	}
	return &segment{first: seq, path: path, f: f, size: int64(len(segMagic))}, nil
}

// syncDir makes a directory's entries (new or deleted files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// read returns r's payload, checking its CRC. Callers hold mu.
func (s *Spool) read(r *record) ([]byte, error) {
	if r.seg.f == nil {
		return nil, fmt.Errorf("segment %s is closed", r.seg.path)
	}
	buf := make([]byte, headerSize+r.size)
	if _, err := r.seg.f.ReadAt(buf, r.off); err != nil {
		return nil, err
	}
	n, crc, seq := binary.LittleEndian.Uint32(buf[0:]), binary.LittleEndian.Uint32(buf[4:]), binary.LittleEndian.Uint64(buf[8:])
	if int(n) != r.size || seq != r.seq {
		return nil, fmt.Errorf("header says %d bytes of batch %d, the index %d of batch %d", n, seq, r.size, r.seq)
	}
	if crc32.Checksum(buf[8:], castagnoli) != crc {
		return nil, errors.New("CRC mismatch")
	}
	return buf[headerSize:], nil
}

// find returns the record seq, nil when it is not in the index. Callers
// hold mu.
func (s *Spool) find(seq uint64) *record {
	i, ok := slices.BinarySearchFunc(s.recs, seq, func(r record, seq uint64) int { return cmpSeq(r.seq, seq) })
	if !ok {
		return nil
	}
	return &s.recs[i]
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// markDone marks r done (acknowledged, rejected or dropped). Callers hold
// mu and call collect after.
func (s *Spool) markDone(r *record) {
	r.done = true
	r.seg.live--
	s.pending -= int64(headerSize + r.size)
}

// drop marks r done as lost, counting it. Callers hold mu.
func (s *Spool) drop(r *record, reason string) {
	s.markDone(r)
	s.m.droppedBatches.WithLabelValues(reason).Inc()
	s.m.droppedBytes.WithLabelValues(reason).Add(float64(headerSize + r.size))
}

// collect advances the watermark past the done records at the head of the
// index, writes it, and deletes the segments (but the active one) whose
// records are all done. Callers hold mu.
func (s *Spool) collect() error {
	n := 0
	for n < len(s.recs) && s.recs[n].done {
		n++
	}
	var errs []error
	if n > 0 {
		s.acked = s.recs[n-1].seq
		// Reslice rather than shift: acknowledging a long backlog must not
		// copy the index once per record. Append's growth drops the head.
		s.recs = s.recs[n:]
		errs = append(errs, s.writeAck())
	}
	if len(s.recs) == 0 && s.next > 1 && s.acked < s.next-1 {
		s.acked = s.next - 1
		errs = append(errs, s.writeAck())
	}
	var keep []*segment
	for i, g := range s.segs {
		if g.live > 0 || i == len(s.segs)-1 {
			keep = append(keep, g)
			continue
		}
		// The watermark goes to disk before the segment goes: otherwise
		// a restart could find neither the records nor a watermark past
		// them, and reuse their sequence numbers.
		if err := s.syncAck(); err != nil {
			errs = append(errs, err)
			keep = append(keep, g)
			continue
		}
		if g.f != nil {
			g.f.Close()
			g.f = nil
		}
		if err := os.Remove(g.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("spool: deleting %s: %w", g.path, err))
		}
		s.disk -= g.size
	}
	if len(keep) != len(s.segs) {
		s.segs = keep
		errs = append(errs, syncDir(s.cfg.Dir))
	}
	return errors.Join(errs...)
}

// writeAck writes the watermark in place (12 bytes: within one sector, so
// a crash leaves the old value or the new one, and the CRC tells). It is
// made durable by syncAck. Callers hold mu.
func (s *Spool) writeAck() error {
	var b [ackFileBytes]byte
	binary.LittleEndian.PutUint64(b[:], s.acked)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if _, err := s.ackFile.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("spool: writing the ack watermark: %w", err)
	}
	s.ackDirty = true
	return nil
}

// syncAck makes the written watermark durable. A watermark written but not
// synced is lost on power loss only, and then acknowledged batches are
// sent again: duplicates, which the collector drops. Callers hold mu.
func (s *Spool) syncAck() error {
	if !s.ackDirty || s.ackFile == nil {
		return nil
	}
	if err := s.fsync(s.ackFile); err != nil {
		return fmt.Errorf("spool: fsync of the ack watermark: %w", err)
	}
	s.ackDirty = false
	return nil
}
