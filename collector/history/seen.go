package history

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SeqRange is a run of consecutive batch numbers, First to Last included.
type SeqRange struct{ First, Last uint64 }

// Seen is what ClickHouse holds of the agents' batches: which are
// completely in (drop a replay: acknowledge it without writing), and which
// were interrupted by a crash after some of their tables were written
// (replay them with Batch.Skip = Written). A batch whose rows are all in
// is done, whether or not its 'done' marker was written.
type Seen struct {
	agents map[string]*agentSeen
}

type agentSeen struct {
	done    []SeqRange // sorted, disjoint, not adjacent
	partial map[uint64]Tables
}

// Done says the batch is completely in ClickHouse.
func (s *Seen) Done(agent string, seq uint64) bool {
	a := s.agents[agent]
	if a == nil {
		return false
	}
	i := sort.Search(len(a.done), func(i int) bool { return a.done[i].Last >= seq })
	return i < len(a.done) && a.done[i].First <= seq
}

// Written returns, for a batch that is not Done, the tables that already
// hold all of its rows (to put in Batch.Skip when it is replayed).
func (s *Seen) Written(agent string, seq uint64) Tables {
	if a := s.agents[agent]; a != nil {
		return a.partial[seq]
	}
	return 0
}

// Agents lists the agents with batches seen, sorted.
func (s *Seen) Agents() []string {
	names := make([]string, 0, len(s.agents))
	for n := range s.agents {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Done ranges of one agent, sorted: its highest Last is the agent's
// watermark, and gaps are batches still to come (in its spool).
func (s *Seen) Ranges(agent string) []SeqRange {
	if a := s.agents[agent]; a != nil {
		return append([]SeqRange(nil), a.done...)
	}
	return nil
}

// MarkDone records a batch written since SeenBatches, so one Seen can be
// kept up to date by the ingest endpoint.
func (s *Seen) MarkDone(agent string, seq uint64) {
	if s.agents == nil {
		s.agents = map[string]*agentSeen{}
	}
	a := s.agents[agent]
	if a == nil {
		a = &agentSeen{}
		s.agents[agent] = a
	}
	delete(a.partial, seq)
	i := sort.Search(len(a.done), func(i int) bool { return a.done[i].Last >= seq })
	if i < len(a.done) && a.done[i].First <= seq {
		return // already in
	}
	// Extend a neighbour when adjacent, else insert a new range at i.
	switch {
	case i > 0 && a.done[i-1].Last+1 == seq && i < len(a.done) && a.done[i].First == seq+1:
		a.done[i-1].Last = a.done[i].Last
		a.done = append(a.done[:i], a.done[i+1:]...)
	case i > 0 && a.done[i-1].Last+1 == seq:
		a.done[i-1].Last = seq
	case i < len(a.done) && a.done[i].First == seq+1:
		a.done[i].First = seq
	default:
		a.done = append(a.done, SeqRange{})
		copy(a.done[i+1:], a.done[i:])
		a.done[i] = SeqRange{seq, seq}
	}
}

// SeenBatches rebuilds, from ClickHouse, what is known of the batches
// ingested since the given time: from the markers, and for the batches
// whose 'done' marker is missing (a crash, or ClickHouse failing, between
// their inserts, or a stop before the marker that follows a flush) from
// their rows in the data tables, so a replay writes only what is missing.
// It writes the missing 'done' markers of the batches found whole.
//
// The markers are kept as long as raw samples (Retention.Raw): since
// must not be older than that, nor than the agents' spool can hold.
func (s *Store) SeenBatches(ctx context.Context, since time.Time) (seen *Seen, err error) {
	start := time.Now()
	defer func() { s.observe("seen_batches", start, err) }()
	seen = &Seen{agents: map[string]*agentSeen{}}
	sinceSQL := dateTime(since)

	rows, err := s.conn.Query(ctx, "SELECT agent, seq FROM ingested_batches WHERE ts >= "+sinceSQL+
		" AND state = 'done' ORDER BY agent, seq")
	if err != nil {
		return nil, classify("read ingested batches", err, s.cfg.RetryAfter)
	}
	for rows.Next() {
		var agent string
		var seq uint64
		if err := rows.Scan(&agent, &seq); err != nil {
			rows.Close()
			return nil, classify("read ingested batches", err, s.cfg.RetryAfter)
		}
		a := seen.agents[agent]
		if a == nil {
			a = &agentSeen{}
			seen.agents[agent] = a
		}
		// Sorted input: extend the last range or start one.
		if n := len(a.done); n > 0 && seq <= a.done[n-1].Last+1 {
			a.done[n-1].Last = max(a.done[n-1].Last, seq)
		} else {
			a.done = append(a.done, SeqRange{seq, seq})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify("read ingested batches", err, s.cfg.RetryAfter)
	}

	unfinished, err := s.unfinishedBatches(ctx, sinceSQL)
	if err != nil || len(unfinished) == 0 {
		return seen, err
	}
	var repairs []marker
	now := time.Now().UTC()
	for _, u := range unfinished {
		if u.written == AllTables {
			// All its rows are in: the batch is done, only its 'done'
			// marker was not written yet (they follow a flush late, see
			// inserter). Write it now, so the next start need not look.
			seen.MarkDone(u.agent, u.seq)
			repairs = append(repairs, marker{agent: u.agent, seq: u.seq, state: "done", ts: now,
				minTS: time.Unix(int64(u.minTS), 0).UTC(), maxTS: time.Unix(int64(u.maxTS), 0).UTC(),
				samples: uint32(u.want[0]), devices: uint32(u.want[1]), events: uint32(u.want[2])})
			continue
		}
		a := seen.agents[u.agent]
		if a == nil {
			a = &agentSeen{}
			seen.agents[u.agent] = a
		}
		if a.partial == nil {
			a.partial = map[uint64]Tables{}
		}
		a.partial[u.seq] = u.written
	}
	if err := s.insertMarkers(ctx, repairs); err != nil {
		// Not fatal: the batches are known done all the same, and the
		// next start looks for them again.
		s.log.Warn("writing the 'done' markers of batches found whole failed", "batches", len(repairs), "error", err)
	}
	return seen, nil
}

type unfinishedBatch struct {
	agent        string
	seq          uint64
	minTS, maxTS uint32
	want         [3]uint64 // rows expected per data table
	written      Tables
}

// unfinishedBatches finds the batches with a 'begin' marker and no 'done'
// one, and which data tables hold all their rows. There are few: only the
// last flushes before a crash or an outage.
func (s *Store) unfinishedBatches(ctx context.Context, sinceSQL string) ([]*unfinishedBatch, error) {
	rows, err := s.conn.Query(ctx, `SELECT agent, seq, toUInt32(min(min_ts)), toUInt32(max(max_ts)),
			toUInt64(max(samples)), toUInt64(max(device_samples)), toUInt64(max(events))
		FROM ingested_batches WHERE ts >= `+sinceSQL+`
		GROUP BY agent, seq HAVING countIf(state = 'done') = 0
		ORDER BY agent, seq`)
	if err != nil {
		return nil, classify("read unfinished batches", err, s.cfg.RetryAfter)
	}
	var list []*unfinishedBatch
	for rows.Next() {
		u := &unfinishedBatch{}
		if err := rows.Scan(&u.agent, &u.seq, &u.minTS, &u.maxTS, &u.want[0], &u.want[1], &u.want[2]); err != nil {
			rows.Close()
			return nil, classify("read unfinished batches", err, s.cfg.RetryAfter)
		}
		list = append(list, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify("read unfinished batches", err, s.cfg.RetryAfter)
	}
	if len(list) == 0 {
		return nil, nil
	}
	byKey := map[string]*unfinishedBatch{}
	key := func(agent string, seq uint64) string { return fmt.Sprintf("%s\x00%d", agent, seq) }
	lo, hi := list[0].minTS, list[0].maxTS
	tuples := make([]string, len(list))
	for i, u := range list {
		byKey[key(u.agent, u.seq)] = u
		lo, hi = min(lo, u.minTS), max(hi, u.maxTS)
		tuples[i] = fmt.Sprintf("(%s, %d)", quote(u.agent), u.seq)
	}
	for i, t := range []struct {
		table string
		bit   Tables
	}{{tableInterfaceSamples, TableInterfaceSamples}, {tableDeviceSamples, TableDeviceSamples}, {tableEvents, TableEvents}} {
		// The time range keeps the scan to the batches' partitions.
		q := fmt.Sprintf("SELECT agent, seq, count() FROM %s WHERE ts >= toDateTime(%d) AND ts <= toDateTime(%d) AND (agent, seq) IN (%s) GROUP BY agent, seq",
			t.table, lo, hi, strings.Join(tuples, ", "))
		rows, err := s.conn.Query(ctx, q)
		if err != nil {
			return nil, classify("look for unfinished batches in "+t.table, err, s.cfg.RetryAfter)
		}
		for rows.Next() {
			var agent string
			var seq, n uint64
			if err := rows.Scan(&agent, &seq, &n); err != nil {
				rows.Close()
				return nil, classify("look for unfinished batches in "+t.table, err, s.cfg.RetryAfter)
			}
			// All rows or none: a batch inserted in part (its rows split
			// over two days' parts, a crash between them) is written again
			// whole: a few duplicates rather than a gap.
			if u := byKey[key(agent, seq)]; u != nil && n >= u.want[i] {
				u.written |= t.bit
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify("look for unfinished batches in "+t.table, err, s.cfg.RetryAfter)
		}
	}
	// A table the batch has no rows for is trivially written.
	for _, u := range list {
		for i, bit := range []Tables{TableInterfaceSamples, TableDeviceSamples, TableEvents} {
			if u.want[i] == 0 {
				u.written |= bit
			}
		}
	}
	return list, nil
}

// quote makes a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// dateTime makes a DateTime literal of t (second precision, clamped to
// what DateTime holds).
func dateTime(t time.Time) string {
	return fmt.Sprintf("toDateTime(%d)", clampTime(t).Unix())
}
