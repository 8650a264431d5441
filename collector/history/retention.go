package history

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// retentionDays maps each table to the days it keeps (0: forever).
func (c *Config) retentionDays() map[string]int {
	r := c.Retention
	return map[string]int{
		tableInterfaceSamples:   r.Raw,
		tableDeviceSamples:      r.Raw,
		tableBatches:            r.Raw,
		tableInterfaceSamples5m: r.FiveMinutes,
		tableInterfaceSamples1h: r.Hourly,
		tableDeviceSamples1h:    r.Hourly,
		tableEvents:             r.Events,
	}
}

// DropExpired drops the partitions that retention no longer keeps as of
// now: with N days, a table keeps today and the N days before (a table
// partitioned by month keeps the month of that day too). It
// returns the partitions dropped, as "table/YYYYMMDD". ClickHouse drops a
// partition at once (its files), unlike a TTL or a DELETE that rewrites.
func (s *Store) DropExpired(ctx context.Context, now time.Time) (dropped []string, err error) {
	start := time.Now()
	defer func() { s.observe("retention", start, err) }()
	for table, days := range s.cfg.retentionDays() {
		if days == 0 {
			continue
		}
		cutoff := now.UTC().AddDate(0, 0, -days)
		rows, err := s.conn.Query(ctx,
			"SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND table = ? AND active",
			s.cfg.Database, table)
		if err != nil {
			return dropped, classify("list partitions of "+table, err, s.cfg.RetryAfter)
		}
		var old []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return dropped, classify("list partitions of "+table, err, s.cfg.RetryAfter)
			}
			if expired(id, cutoff) {
				old = append(old, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dropped, classify("list partitions of "+table, err, s.cfg.RetryAfter)
		}
		for _, id := range old {
			if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION ID '%s'", table, id)); err != nil {
				return dropped, classify("drop partition "+id+" of "+table, err, s.cfg.RetryAfter)
			}
			s.metrics.dropped.WithLabelValues(table).Inc()
			dropped = append(dropped, table+"/"+id)
		}
	}
	return dropped, nil
}

// expired says a partition holds only days before the cutoff's: a daily
// partition (YYYYMMDD) before its day, a monthly one (YYYYMM) before its
// month. Partitions of another form are not ours: they are kept.
func expired(id string, cutoff time.Time) bool {
	n, err := strconv.Atoi(id)
	if err != nil {
		return false
	}
	day := cutoff.Year()*10000 + int(cutoff.Month())*100 + cutoff.Day()
	switch len(id) {
	case 8:
		return n < day
	case 6:
		return n < day/100
	}
	return false
}

// retentionLoop runs DropExpired at start and every RetentionInterval.
func (s *Store) retentionLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	ticker := time.NewTicker(s.cfg.RetentionInterval)
	defer ticker.Stop()
	for {
		dropped, err := s.DropExpired(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention failed; will retry", "error", err, "retry_in", s.cfg.RetentionInterval)
		case len(dropped) > 0:
			s.log.Info("retention dropped old partitions", "partitions", dropped)
		}
		select {
		case <-ticker.C:
		case <-s.stop:
			return
		}
	}
}
