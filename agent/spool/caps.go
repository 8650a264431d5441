package spool

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// enforceCaps drops the oldest batches while the spool is over
// Config.MaxBytes (whole segments, but never the active one) or holds
// batches older than Config.MaxAge (batch by batch). It is the one way the
// spool loses data on purpose, so it says what it dropped. Callers hold mu.
func (s *Spool) enforceCaps(now time.Time) {
	for s.disk > s.cfg.MaxBytes && len(s.segs) > 1 {
		g := s.segs[0]
		n, bytes, first, last, oldest := 0, int64(0), uint64(0), uint64(0), int64(0)
		for i := range s.recs {
			r := &s.recs[i]
			if r.seg != g || r.done {
				continue
			}
			if n == 0 {
				first, oldest = r.seq, r.created
			}
			n, bytes, last = n+1, bytes+int64(headerSize+r.size), r.seq
			s.drop(r, "size")
		}
		if n > 0 {
			s.log.Warn("spool: over its size cap; the oldest batches were dropped and are lost",
				"max_bytes", s.cfg.MaxBytes, "segment", g.path, "batches", n, "bytes", bytes,
				"first_seq", first, "last_seq", last, "oldest", time.Unix(0, oldest).UTC())
		}
		before := len(s.segs)
		if err := s.collect(); err != nil {
			s.log.Error("spool: freeing space", "error", err)
		}
		if len(s.segs) == before {
			break // the segment could not be deleted: do not spin
		}
	}

	limit := now.Add(-s.cfg.MaxAge).UnixNano()
	n, bytes, first, last, oldest := 0, int64(0), uint64(0), uint64(0), int64(0)
	for i := range s.recs {
		r := &s.recs[i]
		if r.created >= limit {
			break // records are appended in time order
		}
		if r.done {
			continue
		}
		if n == 0 {
			first, oldest = r.seq, r.created
		}
		n, bytes, last = n+1, bytes+int64(headerSize+r.size), r.seq
		s.drop(r, "age")
	}
	if n > 0 {
		s.log.Warn("spool: batches older than its age cap were dropped and are lost",
			"max_age", s.cfg.MaxAge, "batches", n, "bytes", bytes, "first_seq", first, "last_seq", last,
			"oldest", time.Unix(0, oldest).UTC())
		if err := s.collect(); err != nil {
			s.log.Error("spool: freeing space", "error", err)
		}
	}
}

// pruneDead keeps the newest MaxDeadLetters refused batches in dir.
// Callers hold mu.
func (s *Spool) pruneDead(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		s.log.Warn("spool: listing dead letters", "dir", dir, "error", err)
		return
	}
	var seqs []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".batch"); ok {
			seqs = append(seqs, name)
		}
	}
	if len(seqs) <= s.cfg.MaxDeadLetters {
		return
	}
	slices.Sort(seqs) // zero-padded: by sequence number
	drop := seqs[:len(seqs)-s.cfg.MaxDeadLetters]
	for _, name := range drop {
		os.Remove(filepath.Join(dir, name+".batch"))
		os.Remove(filepath.Join(dir, name+".reason"))
	}
	s.log.Warn("spool: too many dead letters; the oldest were deleted", "dir", dir, "deleted", len(drop),
		"max_dead_letters", s.cfg.MaxDeadLetters)
}
