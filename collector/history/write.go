package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unet-project/unet/shared/model"
)

// Tables is a set of the data tables a batch writes to.
type Tables uint8

const (
	TableInterfaceSamples Tables = 1 << iota
	TableDeviceSamples
	TableEvents
)

// AllTables is every data table.
const AllTables = TableInterfaceSamples | TableDeviceSamples | TableEvents

// Batch is one agent batch: what the agent derived, numbered per agent.
type Batch struct {
	Agent string
	Seq   uint64

	Samples       []model.Sample
	DeviceSamples []model.DeviceSample
	Events        []model.Event

	// Skip lists tables that already hold all of this batch's rows: a
	// replay of a batch interrupted by a crash (Seen.Written).
	Skip Tables

	// packed are Samples as Write keeps them until they are inserted
	// (Samples is then nil).
	packed []packedSample
}

// packedSample is an interface sample as the writer keeps it from Write to
// its insert: the columns of interface_samples and nothing else, 176
// bytes against 368 for a model.Sample and its rates. Under load the
// writer holds hundreds of thousands of them.
type packedSample struct {
	node, ifname, descr, alias, typ string
	ts                              int64 // Unix seconds, clamped to DateTime
	speed                           uint64
	rates                           [8]float64 // NaN: NULL
	ifindex                         uint32
	interval                        float32
	admin, oper                     int8  // statusEnum's numbers
	flags                           uint8 // 1: counter64, 2: discontinuity
}

// pack moves b's samples into b.packed.
func (b *Batch) pack() {
	if len(b.Samples) == 0 {
		return
	}
	b.packed = make([]packedSample, len(b.Samples))
	for i := range b.Samples {
		x, p := &b.Samples[i], &b.packed[i]
		p.node, p.ifname, p.descr, p.alias, p.typ = x.Node, x.IfName, x.Descr, x.Alias, x.Type
		p.ts, p.speed = clampTime(x.Time).Unix(), x.SpeedBps
		r := &x.Rates
		for j, v := range [8]*float64{r.InBps, r.OutBps, r.InPps, r.OutPps, r.InErrorsRate, r.OutErrorsRate, r.InDiscardsRate, r.OutDiscardsRate} {
			p.rates[j] = math.NaN()
			if v != nil {
				p.rates[j] = *v
			}
		}
		p.ifindex, p.interval = uint32(x.IfIndex), float32(x.IntervalSeconds)
		// statusEnum's numbers are IF-MIB's; a name it lacks is unknown
		// rather than a failed insert.
		p.admin, p.oper = int8(x.AdminStatus.SNMP()), int8(x.OperStatus.SNMP())
		p.flags = boolU8(x.Counter64) | boolU8(x.Discontinuity)<<1
	}
	b.Samples = nil
}

// samples is the number of b's interface samples, packed or not.
func (b *Batch) samples() int { return len(b.Samples) + len(b.packed) }

// Rows counts the rows the batch writes.
func (b *Batch) Rows() int {
	n := 0
	if b.Skip&TableInterfaceSamples == 0 {
		n += b.samples()
	}
	if b.Skip&TableDeviceSamples == 0 {
		n += len(b.DeviceSamples)
	}
	if b.Skip&TableEvents == 0 {
		n += len(b.Events)
	}
	return n
}

// Validate refuses a batch the store cannot write: rows without their
// keys. Write checks it too; ingest calls it first to answer 400.
func (b *Batch) Validate() error {
	if b.Agent == "" {
		return errors.New("batch without agent name")
	}
	for i := range b.Samples {
		if b.Samples[i].Node == "" || b.Samples[i].IfName == "" {
			return fmt.Errorf("batch %s/%d: interface sample %d has no node or interface name", b.Agent, b.Seq, i)
		}
	}
	for i := range b.DeviceSamples {
		if b.DeviceSamples[i].Node == "" {
			return fmt.Errorf("batch %s/%d: device sample %d has no node", b.Agent, b.Seq, i)
		}
	}
	for i := range b.Events {
		if b.Events[i].Node == "" || b.Events[i].Kind == "" {
			return fmt.Errorf("batch %s/%d: event %d has no node or kind", b.Agent, b.Seq, i)
		}
	}
	return nil
}

type writeRequest struct {
	batches []Batch
	rows    int
	done    chan error // buffered: the flusher never blocks on it
}

// Write stores the batches and returns once every row of them, and their
// 'begin' markers, are in ClickHouse: acknowledge a batch to its agent
// only after Write returned nil. (Their 'done' markers follow with the
// next flush; see inserter.) Write keeps the samples in a packed copy of
// its own, not the caller's slices: a caller that lets go of its batch
// while Write waits frees its memory.
//
// Concurrent calls are coalesced into one insert per table (up to
// BatchRows rows, waiting at most FlushDelay for more). When ClickHouse is
// down, slow or the writer holds MaxPendingRows already, Write fails with
// an *UnavailableError (errors.Is(err, ErrUnavailable)): answer 503 with
// its RetryAfter. When ctx ends first, Write returns ctx's error and the
// rows may still be written: a replay is then a duplicate that
// SeenBatches reports.
func (s *Store) Write(ctx context.Context, batches ...Batch) error {
	if len(batches) == 0 {
		return nil
	}
	for i := range batches {
		if err := batches[i].Validate(); err != nil {
			return err
		}
	}
	// A copy: Skip is updated for batches a failed flush wrote in part,
	// and the samples are packed (the caller's stay as they are).
	batches = append([]Batch(nil), batches...)
	for i := range batches {
		batches[i].pack()
	}
	s.skipWritten(batches)
	rows := 0
	for i := range batches {
		rows += batches[i].Rows()
	}
	if rows > s.cfg.MaxPendingRows {
		return fmt.Errorf("batches of %d rows exceed the writer's max-pending-rows (%d): send smaller batches", rows, s.cfg.MaxPendingRows)
	}
	if n := s.pendingRows.Add(int64(rows)); n > int64(s.cfg.MaxPendingRows) {
		s.pendingRows.Add(-int64(rows))
		s.metrics.errors.WithLabelValues("write", "unavailable").Inc()
		return &UnavailableError{Op: "write", RetryAfter: time.Second,
			Err: fmt.Errorf("writer full (%d rows pending, max-pending-rows %d)", n-int64(rows), s.cfg.MaxPendingRows)}
	}
	s.metrics.pendingRows.Set(float64(s.pendingRows.Load()))
	r := &writeRequest{batches: batches, rows: rows, done: make(chan error, 1)}
	select {
	case s.requests <- r:
	case <-s.stop:
		s.release(r)
		return ErrClosed
	case <-ctx.Done():
		s.release(r)
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-s.stopped:
		// The flusher may have answered just before it ended.
		select {
		case err := <-r.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) release(r *writeRequest) {
	s.metrics.pendingRows.Set(float64(s.pendingRows.Add(-int64(r.rows))))
}

// doneMarkerDelay is how long an idle inserter keeps the 'done' markers
// of its last flush before writing them alone: under load they ride with
// the next flush's 'begin' markers.
const doneMarkerDelay = time.Second

// inserter is one of Config.Inserters. It owns the column buffers of its
// interface sample blocks, reused flush after flush, and the 'done'
// markers of its last flush.
//
// A flush makes one marker insert, not one on each side of the data: it
// writes the last flush's 'done' markers together with this flush's
// 'begin' markers, then come the data tables. A batch is acknowledged once
// its rows are in; until its 'done' marker is, a restart finds it through
// its 'begin' marker and its rows in the data tables (SeenBatches), which
// is what the marker would have said.
type inserter struct {
	s       *Store
	samples sampleColumns
	done    []marker // 'done' markers not yet written
	markers []marker // the next marker insert, reused
}

// flusher takes every request waiting, up to BatchRows rows (or what
// arrives within FlushDelay), inserts them together and answers each.
// Requests arriving during inserts wait for the next one, so batches grow
// with the load. Ingest never hands one batch to two writes at once, so
// two inserters never write the same rows.
func (s *Store) flusher() {
	in := &inserter{s: s}
	defer in.writeDone()
	for {
		var group []*writeRequest
		var idle <-chan time.Time
		if len(in.done) > 0 {
			idle = time.After(doneMarkerDelay)
		}
		select {
		case r := <-s.requests:
			group = append(group, r)
		case <-idle:
			in.writeDone()
			continue
		case <-s.stop:
			// Write what was handed over before Close.
			for {
				select {
				case r := <-s.requests:
					group = append(group, r)
					continue
				default:
				}
				break
			}
			if len(group) > 0 {
				in.flush(group)
			}
			return
		}
		rows := group[0].rows
		timer := time.NewTimer(s.cfg.FlushDelay)
	collect:
		for rows < s.cfg.BatchRows {
			select {
			case r := <-s.requests:
				group = append(group, r)
				rows += r.rows
			case <-timer.C:
				break collect
			case <-s.stop:
				break collect
			}
		}
		timer.Stop()
		in.flush(group)
	}
}

func (in *inserter) flush(group []*writeRequest) {
	s := in.s
	var batches []*Batch
	rows := 0
	for _, r := range group {
		for i := range r.batches {
			batches = append(batches, &r.batches[i])
		}
		rows += r.rows
	}
	s.metrics.flushRows.Observe(float64(rows))
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.InsertTimeout)
	err := in.insert(ctx, batches)
	cancel()
	if err != nil {
		s.log.Warn("insert failed", "batches", len(batches), "rows", rows, "error", err)
	} else {
		s.forgetPartial(batches)
	}
	for _, r := range group {
		s.release(r)
		r.done <- err
	}
}

// insert writes the batches' rows, after their 'begin' markers (and the
// last flush's 'done' markers), and keeps their 'done' markers for the
// next marker insert. A crash in between leaves 'begin' markers without
// 'done', and SeenBatches then asks the data tables which of them hold
// the batch.
func (in *inserter) insert(ctx context.Context, batches []*Batch) error {
	s := in.s
	now := time.Now().UTC()
	in.markers = append(in.markers[:0], in.done...)
	mine := make([]marker, len(batches)) // 'done' markers, once the rows are in
	for i, b := range batches {
		mine[i] = newMarker(b, "done", now)
		// A batch with nothing left to write needs no 'begin'.
		if b.Rows() > 0 {
			begin := mine[i]
			begin.state = "begin"
			in.markers = append(in.markers, begin)
		}
	}
	if err := s.insertMarkers(ctx, in.markers); err != nil {
		return err // in.done stays for the next try
	}
	in.done = in.done[:0]
	// The interface samples, by far the largest, go beside the device
	// samples and events (one insert after the other, on a second
	// connection): the flush, and the acknowledgements waiting for it,
	// take the time of the largest insert rather than of all three.
	small := make(chan tableResult, 1)
	go func() {
		small <- s.insertSteps(ctx, batches,
			tableStep{tableDeviceSamples, TableDeviceSamples, func(b *Batch) int { return len(b.DeviceSamples) }, appendDeviceSamples},
			tableStep{tableEvents, TableEvents, func(b *Batch) int { return len(b.Events) }, appendEvents})
	}()
	r := s.insertSteps(ctx, batches,
		tableStep{tableInterfaceSamples, TableInterfaceSamples, func(b *Batch) int { return b.samples() }, in.samples.append})
	other := <-small
	written, err := r.written|other.written, cmp.Or(r.err, other.err)
	if err != nil {
		if written != 0 {
			s.rememberPartial(batches, written)
		}
		return err
	}
	in.done = append(in.done, mine...)
	return nil
}

// tableStep is the insert of one data table.
type tableStep struct {
	table string
	bit   Tables
	count func(*Batch) int
	fill  func(driver.Batch, []*Batch) error
}

// tableResult is what some of a flush's inserts did: the tables they
// wrote, and the error that stopped them.
type tableResult struct {
	written Tables
	err     error
}

// insertSteps runs the steps' inserts one after the other, each for the
// batches whose rows its table still needs, and stops at the first
// error.
func (s *Store) insertSteps(ctx context.Context, batches []*Batch, steps ...tableStep) tableResult {
	var r tableResult
	for _, st := range steps {
		var these []*Batch
		n := 0
		for _, b := range batches {
			if b.Skip&st.bit == 0 && st.count(b) > 0 {
				these = append(these, b)
				n += st.count(b)
			}
		}
		if n > 0 {
			if r.err = s.insertTable(ctx, st.table, n, func(db driver.Batch) error { return st.fill(db, these) }); r.err != nil {
				return r
			}
		}
		r.written |= st.bit
	}
	return r
}

// writeDone writes the 'done' markers kept from the last flush. A failure
// keeps them for the next try: until then a restart would find those
// batches through their 'begin' markers.
func (in *inserter) writeDone() {
	if len(in.done) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), in.s.cfg.InsertTimeout)
	defer cancel()
	if err := in.s.insertMarkers(ctx, in.done); err != nil {
		in.s.log.Warn("writing 'done' markers failed; will retry", "batches", len(in.done), "error", err)
		return
	}
	in.done = in.done[:0]
}

// maxPartial bounds the batches remembered as partly written: beyond it a
// replay may duplicate some rows (ClickHouse has been failing for long).
const maxPartial = 100_000

// rememberPartial notes that the batches' rows in the written tables are
// in ClickHouse although the flush failed, so that their replay while this
// process runs skips them (after a restart, SeenBatches finds them).
func (s *Store) rememberPartial(batches []*Batch, written Tables) {
	s.partialMu.Lock()
	defer s.partialMu.Unlock()
	for _, b := range batches {
		if len(s.partial) >= maxPartial {
			return
		}
		k := batchKey{b.Agent, b.Seq}
		s.partial[k] |= written | b.Skip
	}
}

// skipWritten adds to each batch the tables a failed flush wrote.
func (s *Store) skipWritten(batches []Batch) {
	s.partialMu.Lock()
	defer s.partialMu.Unlock()
	if len(s.partial) == 0 {
		return
	}
	for i := range batches {
		k := batchKey{batches[i].Agent, batches[i].Seq}
		if w, ok := s.partial[k]; ok {
			batches[i].Skip |= w
		}
	}
}

// forgetPartial drops the batches that are now completely written.
func (s *Store) forgetPartial(batches []*Batch) {
	s.partialMu.Lock()
	defer s.partialMu.Unlock()
	if len(s.partial) == 0 {
		return
	}
	for _, b := range batches {
		delete(s.partial, batchKey{b.Agent, b.Seq})
	}
}

type batchKey struct {
	agent string
	seq   uint64
}

// insertTable runs one PrepareBatch insert and records its metrics.
func (s *Store) insertTable(ctx context.Context, table string, rows int, fill func(driver.Batch) error) error {
	start := time.Now()
	err := func() error {
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+insertColumns(table)+")")
		if err != nil {
			return err
		}
		if err := fill(b); err != nil {
			_ = b.Abort()
			return err
		}
		return b.Send()
	}()
	s.metrics.insertDuration.WithLabelValues(table).Observe(time.Since(start).Seconds())
	if err != nil {
		err = classify(fmt.Sprintf("insert %d rows into %s", rows, table), err, s.cfg.RetryAfter)
		s.metrics.errors.WithLabelValues("insert "+table, errorKind(err)).Inc()
		return err
	}
	s.metrics.rows.WithLabelValues(table).Add(float64(rows))
	return nil
}

// insertColumns are the columns each insert names, in the order the
// append functions fill them.
func insertColumns(table string) string {
	switch table {
	case tableInterfaceSamples:
		return "node, ifname, ts, ifindex, interval_seconds, admin_status, oper_status, speed_bps, counter64, discontinuity, " +
			"in_bps, out_bps, in_pps, out_pps, in_errors, out_errors, in_discards, out_discards, ifdescr, ifalias, iftype, agent, seq"
	case tableDeviceSamples:
		return "node, ts, reachable, error, uptime_seconds, poll_duration_seconds, interfaces, extra_names, extra_values, " +
			"sys_name, sys_descr, sys_object_id, vendor, agent, seq"
	case tableEvents:
		return "node, ts, kind, ifindex, ifname, from_state, to_state, detail, has_neighbor, neighbor_local_port, neighbor_local_ifindex, " +
			"neighbor_chassis_id, neighbor_port_id, neighbor_port_descr, neighbor_sys_name, agent, seq"
	case tableBatches:
		return "agent, seq, state, ts, min_ts, max_ts, samples, device_samples, events"
	}
	panic("history: no insert columns for table " + table)
}

// marker is a row of ingested_batches: a batch about to be written
// ('begin') or written ('done').
type marker struct {
	agent                    string
	seq                      uint64
	state                    string
	ts, minTS, maxTS         time.Time
	samples, devices, events uint32
}

func newMarker(b *Batch, state string, now time.Time) marker {
	m := marker{agent: b.Agent, seq: b.Seq, state: state, ts: now,
		samples: uint32(b.samples()), devices: uint32(len(b.DeviceSamples)), events: uint32(len(b.Events))}
	m.minTS, m.maxTS = b.timeRange(now)
	return m
}

func (s *Store) insertMarkers(ctx context.Context, markers []marker) error {
	if len(markers) == 0 {
		return nil
	}
	return s.insertTable(ctx, tableBatches, len(markers), func(db driver.Batch) error {
		n := len(markers)
		agents, seqs, states := make([]string, n), make([]uint64, n), make([]string, n)
		ts, minTS, maxTS := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		samples, devices, events := make([]uint32, n), make([]uint32, n), make([]uint32, n)
		for i, m := range markers {
			agents[i], seqs[i], states[i] = m.agent, m.seq, m.state
			ts[i], minTS[i], maxTS[i] = m.ts, m.minTS, m.maxTS
			samples[i], devices[i], events[i] = m.samples, m.devices, m.events
		}
		return appendColumns(db, agents, seqs, states, ts, minTS, maxTS, samples, devices, events)
	})
}

// timeRange is the range of the batch's row times (to find its rows
// again); now when it has none.
func (b *Batch) timeRange(now time.Time) (lo, hi time.Time) {
	first := true
	see := func(t time.Time) {
		if first || t.Before(lo) {
			lo = t
		}
		if first || t.After(hi) {
			hi = t
		}
		first = false
	}
	for i := range b.Samples {
		see(b.Samples[i].Time)
	}
	for i := range b.packed {
		see(time.Unix(b.packed[i].ts, 0))
	}
	for i := range b.DeviceSamples {
		see(b.DeviceSamples[i].Time)
	}
	for i := range b.Events {
		see(b.Events[i].Time)
	}
	if first {
		return now, now
	}
	return clampTime(lo), clampTime(hi)
}

// DateTime is unsigned seconds since 1970 up to 2106: a time outside
// (a device clock at zero, garbage) is clamped rather than failing the
// whole insert.
func clampTime(t time.Time) time.Time {
	switch {
	case t.Unix() < 1:
		return time.Unix(1, 0).UTC()
	case t.Unix() > math.MaxUint32:
		return time.Unix(math.MaxUint32, 0).UTC()
	}
	return t.UTC()
}

// appendColumns appends whole columns, in order: much faster than row by
// row.
func appendColumns(db driver.Batch, cols ...any) error {
	for i, c := range cols {
		if err := db.Column(i).Append(c); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// rate keeps "no rate" (nil) and drops what ClickHouse would store but
// every average would choke on (NaN, ±Inf).
func rate(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

// sampleColumns are the columns of an interface_samples insert, in
// insertColumns' order. Times are Unix seconds. Rates stay pointers to
// the samples' own: clickhouse-go v2.26 ignores the Valid of
// []sql.NullFloat64 in a Nullable column (every row would be non-NULL).
type sampleColumns struct {
	node, ifname, descr, alias, typ, agent []string
	ts                                     []int64
	ifindex                                []uint32
	interval                               []float32
	admin, oper                            []int8
	speed, seq                             []uint64
	c64, disc                              []uint8
	rates                                  [8][]*float64
}

// sampleChunkRows is how many samples go to ClickHouse in one block. The
// blocks of one insert are squashed into one part by the server
// (min_insert_block_size_rows, a million rows by default), so chunks cost
// no extra part, and they keep both c's buffers and clickhouse-go's
// columns (reset, not reallocated, by Flush) at a fixed size instead of
// growing, copying and zeroing ~100 MB per flush.
const sampleChunkRows = 32 << 10

// append fills db with the batches' packed samples, through c's buffers,
// in blocks of sampleChunkRows.
func (c *sampleColumns) append(db driver.Batch, batches []*Batch) error {
	c.reset()
	defer c.reset() // drop the references to the batches' strings
	for _, b := range batches {
		for i := range b.packed {
			if len(c.node) == sampleChunkRows {
				if err := c.appendTo(db); err != nil {
					return err
				}
				if err := db.Flush(); err != nil {
					return err
				}
			}
			x := &b.packed[i]
			c.node, c.ifname, c.ts = append(c.node, x.node), append(c.ifname, x.ifname), append(c.ts, x.ts)
			c.ifindex, c.interval = append(c.ifindex, x.ifindex), append(c.interval, x.interval)
			c.admin, c.oper = append(c.admin, x.admin), append(c.oper, x.oper)
			c.speed, c.c64, c.disc = append(c.speed, x.speed), append(c.c64, x.flags&1), append(c.disc, x.flags>>1&1)
			for j := range x.rates {
				// Pointers into b.packed, which outlives the insert.
				c.rates[j] = append(c.rates[j], rate(&x.rates[j]))
			}
			c.descr, c.alias, c.typ = append(c.descr, x.descr), append(c.alias, x.alias), append(c.typ, x.typ)
			c.agent, c.seq = append(c.agent, b.Agent), append(c.seq, b.Seq)
		}
	}
	return c.appendTo(db)
}

// appendTo appends the buffered rows to db's columns and empties c.
func (c *sampleColumns) appendTo(db driver.Batch) error {
	cols := []any{c.node, c.ifname, c.ts, c.ifindex, c.interval, c.admin, c.oper, c.speed, c.c64, c.disc}
	for _, r := range c.rates {
		cols = append(cols, r)
	}
	err := appendColumns(db, append(cols, c.descr, c.alias, c.typ, c.agent, c.seq)...)
	c.reset()
	return err
}

// reset empties the buffers, keeping their capacity; the string columns
// are cleared so they hold no batch's memory between flushes.
func (c *sampleColumns) reset() {
	for _, col := range []*[]string{&c.node, &c.ifname, &c.descr, &c.alias, &c.typ, &c.agent} {
		clear(*col)
		*col = (*col)[:0]
	}
	c.ts, c.ifindex, c.interval, c.admin, c.oper = c.ts[:0], c.ifindex[:0], c.interval[:0], c.admin[:0], c.oper[:0]
	c.speed, c.seq, c.c64, c.disc = c.speed[:0], c.seq[:0], c.c64[:0], c.disc[:0]
	for i := range c.rates {
		clear(c.rates[i])
		c.rates[i] = c.rates[i][:0]
	}
}

func appendDeviceSamples(db driver.Batch, batches []*Batch) error {
	n := 0
	for _, b := range batches {
		n += len(b.DeviceSamples)
	}
	node, ts, reachable, errs := make([]string, 0, n), make([]time.Time, 0, n), make([]uint8, 0, n), make([]string, 0, n)
	uptime, duration, ifs := make([]uint64, 0, n), make([]float32, 0, n), make([]uint32, 0, n)
	names, values := make([][]string, 0, n), make([][]float64, 0, n)
	sysName, sysDescr, sysOID, vendor := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	agent, seq := make([]string, 0, n), make([]uint64, 0, n)
	for _, b := range batches {
		for i := range b.DeviceSamples {
			x := &b.DeviceSamples[i]
			node, ts = append(node, x.Node), append(ts, clampTime(x.Time))
			reachable, errs = append(reachable, boolU8(x.Reachable)), append(errs, x.Error)
			up := x.UptimeSeconds
			if up < 0 {
				up = 0
			}
			uptime, duration, ifs = append(uptime, uint64(up)), append(duration, float32(x.PollDurationSeconds)), append(ifs, uint32(x.Interfaces))
			// Sorted, so equal maps give equal arrays.
			keys := make([]string, 0, len(x.Extra))
			for k := range x.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			vals := make([]float64, len(keys))
			for j, k := range keys {
				vals[j] = x.Extra[k]
			}
			names, values = append(names, keys), append(values, vals)
			sysName, sysDescr = append(sysName, x.SysName), append(sysDescr, x.SysDescr)
			sysOID, vendor = append(sysOID, x.SysObjectID), append(vendor, string(x.Vendor))
			agent, seq = append(agent, b.Agent), append(seq, b.Seq)
		}
	}
	return appendColumns(db, node, ts, reachable, errs, uptime, duration, ifs, names, values,
		sysName, sysDescr, sysOID, vendor, agent, seq)
}

func appendEvents(db driver.Batch, batches []*Batch) error {
	n := 0
	for _, b := range batches {
		n += len(b.Events)
	}
	var (
		node, kind, ifname, from, to, detail = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		ts                                   = make([]time.Time, 0, n)
		ifindex, nbIfindex                   = make([]uint32, 0, n), make([]uint32, 0, n)
		hasNb                                = make([]uint8, 0, n)
		nbPort, nbChassis, nbPortID          = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		nbDescr, nbSys                       = make([]string, 0, n), make([]string, 0, n)
		agent, seq                           = make([]string, 0, n), make([]uint64, 0, n)
	)
	for _, b := range batches {
		for i := range b.Events {
			x := &b.Events[i]
			node, ts, kind = append(node, x.Node), append(ts, clampTime(x.Time)), append(kind, string(x.Kind))
			ifindex, ifname = append(ifindex, uint32(x.IfIndex)), append(ifname, x.IfName)
			from, to, detail = append(from, x.From), append(to, x.To), append(detail, x.Detail)
			nb := x.Neighbor
			if nb == nil {
				nb = &model.LLDPNeighbor{}
			}
			hasNb = append(hasNb, boolU8(x.Neighbor != nil))
			nbPort, nbIfindex = append(nbPort, nb.LocalPort), append(nbIfindex, uint32(nb.LocalIfIndex))
			nbChassis, nbPortID = append(nbChassis, nb.ChassisID), append(nbPortID, nb.PortID)
			nbDescr, nbSys = append(nbDescr, nb.PortDescr), append(nbSys, nb.SysName)
			agent, seq = append(agent, b.Agent), append(seq, b.Seq)
		}
	}
	return appendColumns(db, node, ts, kind, ifindex, ifname, from, to, detail, hasNb, nbPort, nbIfindex,
		nbChassis, nbPortID, nbDescr, nbSys, agent, seq)
}
