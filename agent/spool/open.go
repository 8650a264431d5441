package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// open reads the watermark and the segments, cuts a torn tail, deletes
// what is done, and makes the newest segment the active one.
func (s *Spool) open() error {
	if err := s.openAck(); err != nil {
		return err
	}
	segs, err := s.listSegments()
	if err != nil {
		return err
	}
	var maxSeq uint64 // the highest sequence number known to be used
	if s.acked > maxSeq {
		maxSeq = s.acked
	}
	var skip uint64 // numbers a cut tail may have used
	for i, g := range segs {
		last := i == len(segs)-1
		if g.first > 0 && g.first-1 > maxSeq {
			maxSeq = g.first - 1
		}
		recs, lost, err := s.scan(g, last)
		if err != nil {
			return err
		}
		skip += lost
		for _, r := range recs {
			maxSeq = max(maxSeq, r.seq)
			if r.seq <= s.acked {
				continue // acknowledged before the restart
			}
			if n := len(s.recs); n > 0 && r.seq <= s.recs[n-1].seq {
				// Sequence numbers only grow, across segments too: a
				// record that goes back is a copy or damage; the first
				// one stands.
				s.log.Warn("spool: a batch number goes back; skipped", "segment", g.path, "seq", r.seq)
				s.m.corrupt.WithLabelValues("segment").Inc()
				continue
			}
			g.live++
			s.pending += int64(headerSize + r.size)
			s.recs = append(s.recs, r)
		}
		s.disk += g.size
	}
	s.segs = segs
	s.next = maxSeq + skip + 1
	if len(s.segs) == 0 {
		g, err := s.createSegment(s.next)
		if err != nil {
			return err
		}
		s.segs = []*segment{g}
		s.disk += g.size
	} else {
		// What a crashed process wrote may still be only in the page
		// cache: make it durable before sending it, or a power loss after
		// the send could make its numbers used twice.
		if err := s.fsync(s.segs[len(s.segs)-1].f); err != nil {
			return fmt.Errorf("spool: fsync of %s: %w", s.segs[len(s.segs)-1].path, err)
		}
	}
	s.written, s.visible = s.next-1, s.next-1
	if len(s.recs) > 0 {
		var bytes int64
		for _, r := range s.recs {
			bytes += int64(headerSize + r.size)
		}
		s.log.Info("spool: replaying batches not acknowledged", "batches", len(s.recs), "bytes", bytes,
			"first_seq", s.recs[0].seq, "last_seq", s.recs[len(s.recs)-1].seq,
			"oldest", time.Unix(0, s.recs[0].created).UTC())
	}
	s.enforceCaps(s.now())
	return s.collect()
}

// openAck reads the watermark file, creating it when missing. A damaged
// one counts as 0: acknowledged batches are sent again (duplicates), none
// is lost.
func (s *Spool) openAck() error {
	path := filepath.Join(s.cfg.Dir, ackFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: ack watermark: %w", err)
	}
	s.ackFile = f
	var b [ackFileBytes]byte
	n, err := f.ReadAt(b[:], 0)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil // new spool
	case n < ackFileBytes:
		s.log.Warn("spool: the ack watermark file is short; batches acknowledged before may be sent again", "path", path, "bytes", n)
		s.m.corrupt.WithLabelValues("ack").Inc()
	case crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]):
		s.log.Warn("spool: the ack watermark file is damaged (CRC); batches acknowledged before may be sent again", "path", path)
		s.m.corrupt.WithLabelValues("ack").Inc()
	default:
		s.acked = binary.LittleEndian.Uint64(b[:8])
	}
	return nil
}

// listSegments returns the segment files by first sequence number, open.
func (s *Spool) listSegments() ([]*segment, error) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var segs []*segment
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, segExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil {
			s.log.Warn("spool: ignoring a file that is not a segment", "path", filepath.Join(s.cfg.Dir, name))
			continue
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(s.cfg.Dir, name)})
	}
	slices.SortFunc(segs, func(a, b *segment) int { return cmpSeq(a.first, b.first) })
	for _, g := range segs {
		if g.f, err = os.OpenFile(g.path, os.O_RDWR, 0o600); err != nil {
			for _, o := range segs {
				if o.f != nil {
					o.f.Close()
				}
			}
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	return segs, nil
}

// scan reads g's records. In the last segment a bad record is a torn
// write: the file is cut there, and lost bounds the numbers the cut bytes
// could have held. In an older segment the rest of the file is skipped.
// Only I/O errors that leave the spool unusable are returned.
func (s *Spool) scan(g *segment, last bool) (recs []record, lost uint64, err error) {
	st, err := g.f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	fileSize := st.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(g.f, 0, fileSize), 256<<10)
	var magic [len(segMagic)]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != segMagic {
		why := "no segment header"
		if err == nil {
			why = "not a segment header"
		}
		err := s.badSegment(g, last, 0, fileSize, why)
		if last && fileSize > int64(len(segMagic)) {
			lost = uint64(fileSize)/(headerSize+1) + 1
		}
		return nil, lost, err
	}
	off := int64(len(segMagic))
	var hdr [headerSize]byte
	prev := uint64(0)
	for off < fileSize {
		why := ""
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			why = "truncated record header"
		} else {
			n := binary.LittleEndian.Uint32(hdr[0:])
			crc := binary.LittleEndian.Uint32(hdr[4:])
			seq := binary.LittleEndian.Uint64(hdr[8:])
			created := int64(binary.LittleEndian.Uint64(hdr[16:]))
			switch {
			case n == 0 || n > maxPayload:
				why = fmt.Sprintf("record length %d", n)
			case off+headerSize+int64(n) > fileSize:
				why = "truncated record"
			default:
				payload := make([]byte, n)
				if _, err := io.ReadFull(r, payload); err != nil {
					return nil, 0, fmt.Errorf("spool: reading %s: %w", g.path, err)
				}
				h := crc32.New(castagnoli)
				h.Write(hdr[8:])
				h.Write(payload)
				switch {
				case h.Sum32() != crc:
					why = "CRC mismatch"
				case seq < g.first || seq <= prev:
					why = fmt.Sprintf("batch number %d out of order", seq)
				default:
					recs = append(recs, record{seq: seq, seg: g, off: off, size: int(n), created: created})
					prev = seq
					off += headerSize + int64(n)
					continue
				}
			}
		}
		err := s.badSegment(g, last, off, fileSize, why)
		if last {
			// Each record takes at least headerSize+1 bytes.
			lost = uint64(fileSize-off)/(headerSize+1) + 1
		}
		return recs, lost, err
	}
	g.size = off
	return recs, 0, nil
}

// badSegment handles damage at off in g: the tail of the last segment is
// cut (a power loss while appending); an older segment's rest is skipped.
func (s *Spool) badSegment(g *segment, last bool, off, fileSize int64, why string) error {
	if !last {
		s.log.Warn("spool: damaged segment; its remaining batches are skipped", "segment", g.path, "offset", off,
			"skipped_bytes", fileSize-off, "reason", why)
		s.m.corrupt.WithLabelValues("segment").Inc()
		g.size = fileSize // what it takes on disk until it is deleted
		return nil
	}
	s.log.Warn("spool: torn or damaged tail cut at the last good batch (an interrupted write)", "segment", g.path,
		"offset", off, "cut_bytes", fileSize-off, "reason", why)
	s.m.corrupt.WithLabelValues("tail").Inc()
	if off == 0 {
		// Not even a header: rewrite it, the file is the new active one.
		if _, err := g.f.WriteAt([]byte(segMagic), 0); err != nil {
			return fmt.Errorf("spool: repairing %s: %w", g.path, err)
		}
		off = int64(len(segMagic))
	}
	if err := g.f.Truncate(off); err != nil {
		return fmt.Errorf("spool: cutting the tail of %s: %w", g.path, err)
	}
	g.size = off
	return nil
}
