package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

func TestSeenBatchesRebuildsFromClickHouse(t *testing.T) {
	s := newStore(t, "")
	now := time.Now().UTC()
	b := func(agent string, seq uint64) Batch {
		return Batch{Agent: agent, Seq: seq,
			Samples:       []model.Sample{sample("r", "e0", now, 1, 1, model.IfUp)},
			DeviceSamples: []model.DeviceSample{{Node: "r", Time: now, Reachable: true}},
		}
	}
	for _, seq := range []uint64{1, 2, 3, 5, 7, 8} {
		if err := s.Write(ctxT(t), b("a", seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctxT(t), b("o'brien", 1), Batch{Agent: "empty", Seq: 4}); err != nil {
		t.Fatal(err)
	}
	// An empty batch has only a 'done' marker, written after the flush.
	deadline := time.Now().Add(doneMarkerDelay + 10*time.Second)
	for count(t, s, "ingested_batches", "agent = 'empty' AND state = 'done'") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no 'done' marker for the empty batch")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A crash after the samples of a:9 and before its device samples: its
	// 'begin' marker and its samples are in, nothing else.
	crashed := b("a", 9)
	if err := s.insertMarkers(ctxT(t), []marker{newMarker(&crashed, "begin", now)}); err != nil {
		t.Fatal(err)
	}
	if err := s.insertTable(ctxT(t), tableInterfaceSamples, 1, func(db driver.Batch) error { return appendSamples(db, []*Batch{&crashed}) }); err != nil {
		t.Fatal(err)
	}
	// A crash after all the data of a:10, before its 'done' marker.
	crashedLate := b("a", 10)
	crashedLate.Events = []model.Event{{Time: now, Node: "r", Kind: model.EventReboot}}
	if err := s.insertMarkers(ctxT(t), []marker{newMarker(&crashedLate, "begin", now)}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		table string
		fill  func(driver.Batch, []*Batch) error
	}{{tableInterfaceSamples, appendSamples}, {tableDeviceSamples, appendDeviceSamples}, {tableEvents, appendEvents}} {
		if err := s.insertTable(ctxT(t), st.table, 1, func(db driver.Batch) error { return st.fill(db, []*Batch{&crashedLate}) }); err != nil {
			t.Fatal(err)
		}
	}

	seen, err := s.SeenBatches(ctxT(t), now.Add(-time.Hour))
	if err != nil {
		t.Fatalf("SeenBatches: %v", err)
	}
	if diff := cmp.Diff([]string{"a", "empty", "o'brien"}, seen.Agents()); diff != "" {
		t.Errorf("agents (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]SeqRange{{1, 3}, {5, 5}, {7, 8}, {10, 10}}, seen.Ranges("a")); diff != "" {
		t.Errorf("ranges of a (-want +got):\n%s", diff)
	}
	tests := []struct {
		agent   string
		seq     uint64
		done    bool
		written Tables
	}{
		{"a", 2, true, 0},
		{"a", 4, false, 0},
		{"a", 8, true, 0},
		{"a", 9, false, TableInterfaceSamples | TableEvents}, // it has no events
		{"a", 10, true, 0}, // all its rows are in: done, its marker repaired
		{"a", 11, false, 0},
		{"o'brien", 1, true, 0},
		{"empty", 4, true, 0},
		{"nobody", 1, false, 0},
	}
	for _, tt := range tests {
		if d, w := seen.Done(tt.agent, tt.seq), seen.Written(tt.agent, tt.seq); d != tt.done || w != tt.written {
			t.Errorf("%s/%d: done %v written %03b, want %v %03b", tt.agent, tt.seq, d, w, tt.done, tt.written)
		}
	}

	if n := count(t, s, "ingested_batches", "agent = 'a' AND seq = 10 AND state = 'done'"); n != 1 {
		t.Errorf("a/10 has %d 'done' markers after SeenBatches found it whole, want 1", n)
	}

	// Replaying the interrupted batch with Skip writes only what is
	// missing: one device sample for a:9.
	crashed.Skip = seen.Written("a", 9)
	if err := s.Write(ctxT(t), crashed); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table, seq string
		want       uint64
	}{
		{"interface_samples", "9", 1}, {"device_samples", "9", 1}, {"events", "9", 0},
		{"interface_samples", "10", 1}, {"device_samples", "10", 1}, {"events", "10", 1},
	} {
		if n := count(t, s, c.table, "agent = 'a' AND seq = "+c.seq); n != c.want {
			t.Errorf("%s has %d rows of a/%s, want %d", c.table, n, c.seq, c.want)
		}
	}
	seen, err = s.SeenBatches(ctxT(t), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]SeqRange{{1, 3}, {5, 5}, {7, 10}}, seen.Ranges("a")); diff != "" {
		t.Errorf("ranges of a after the replay (-want +got):\n%s", diff)
	}
}

func TestSeenMarkDone(t *testing.T) {
	var seen Seen
	for _, seq := range []uint64{5, 1, 3, 2, 9, 4, 4, 7} {
		seen.MarkDone("a", seq)
	}
	if diff := cmp.Diff([]SeqRange{{1, 5}, {7, 7}, {9, 9}}, seen.Ranges("a")); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	seen.MarkDone("a", 8)
	if diff := cmp.Diff([]SeqRange{{1, 5}, {7, 9}}, seen.Ranges("a")); diff != "" {
		t.Fatalf("after 8 (-want +got):\n%s", diff)
	}
}

func TestRetentionDropsOldPartitions(t *testing.T) {
	s := newStore(t, "", func(c *Config) {
		c.Retention = Retention{Raw: 3, FiveMinutes: 10, Hourly: 0, Events: 5}
	})
	now := today().Add(12 * time.Hour)
	for _, age := range []int{0, 3, 4, 8, 20} {
		at := now.AddDate(0, 0, -age)
		if err := s.Write(ctxT(t), Batch{Agent: "a", Seq: uint64(age),
			Samples:       []model.Sample{sample("r", "e0", at, 1, 1, model.IfUp)},
			DeviceSamples: []model.DeviceSample{{Node: "r", Time: at}},
			Events:        []model.Event{{Node: "r", Time: at, Kind: model.EventReboot}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	dropped, err := s.DropExpired(ctxT(t), now)
	if err != nil {
		t.Fatalf("DropExpired: %v", err)
	}
	// Days kept: today and the N before.
	for table, want := range map[string]uint64{
		"interface_samples": 2, "device_samples": 2, // ages 0, 3
		"interface_samples_5m": 4, // 0, 3, 4, 8
		"interface_samples_1h": 5, // forever
		"device_samples_1h":    5,
		"events":               3, // 0, 3, 4
		"ingested_batches":     5, // written today ('begin'; 'done' may follow late)
	} {
		cond := ""
		if table == "ingested_batches" {
			cond = "state = 'begin'"
		}
		if n := count(t, s, table, cond); n != want {
			t.Errorf("%s: %d rows left, want %d", table, n, want)
		}
	}
	// Raw: ages 4, 8, 20 of two tables; 5m: 20; events: 8, 20.
	if len(dropped) != 3+3+1+2 {
		t.Errorf("dropped %d partitions (%v), want 9", len(dropped), dropped)
	}
	// Again: nothing left to drop.
	if dropped, err := s.DropExpired(ctxT(t), now); err != nil || len(dropped) != 0 {
		t.Fatalf("second DropExpired: %v, %v", dropped, err)
	}
}

func TestClickHouseDownAndBack(t *testing.T) {
	server := testsupport.StartClickHouse(t)
	s := newStore(t, server.Addr)
	now := time.Now().UTC()
	batch := func(seq uint64) Batch {
		return Batch{Agent: "a", Seq: seq, Samples: []model.Sample{sample("r", "e0", now.Add(time.Duration(seq)*time.Second), 1, 1, model.IfUp)}}
	}
	if err := s.Write(ctxT(t), batch(1)); err != nil {
		t.Fatal(err)
	}

	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	server.Stop()
	if err := s.Ping(ctxT(t)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping with ClickHouse down = %v, want ErrUnavailable", err)
	}
	start := time.Now()
	err := s.Write(ctxT(t), batch(2))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Write with ClickHouse down = %v, want ErrUnavailable", err)
	}
	if after, ok := RetryAfter(err); !ok || after != s.cfg.RetryAfter {
		t.Fatalf("RetryAfter = %v, %v; want %v", after, ok, s.cfg.RetryAfter)
	}
	t.Logf("down: %v after %v", err, time.Since(start).Round(time.Millisecond))
	if _, err := s.SeenBatches(ctxT(t), now.Add(-time.Hour)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("SeenBatches with ClickHouse down = %v, want ErrUnavailable", err)
	}
	if _, err := s.Events(ctxT(t), EventQuery{From: now.Add(-time.Hour), To: now}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Events with ClickHouse down = %v, want ErrUnavailable", err)
	}

	server.Start()
	// The pool reconnects: the same batch goes in, once.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err = s.Write(ctx, batch(2))
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Write after restart: %v", err)
	}
	if n := count(t, s, "interface_samples", ""); n != 2 {
		t.Fatalf("%d samples, want 2", n)
	}
	seen, err := s.SeenBatches(ctxT(t), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]SeqRange{{1, 2}}, seen.Ranges("a")); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestNewFailsClearlyWithoutClickHouse(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	cfg.DialTimeout = 500 * time.Millisecond
	_, err := New(ctxT(t), cfg, Dependencies{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("New = %v, want ErrUnavailable", err)
	}
	cfg.Database = "no-dashes"
	if _, err := New(ctxT(t), cfg, Dependencies{}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("New with a bad database name = %v, want a configuration error", err)
	}
}

func TestReplayAfterAFailedFlushWritesOnlyWhatIsMissing(t *testing.T) {
	s := newStore(t, "")
	now := time.Now().UTC()
	b := Batch{Agent: "a", Seq: 1,
		Samples:       []model.Sample{sample("r", "e0", now, 1, 1, model.IfUp)},
		DeviceSamples: []model.DeviceSample{{Node: "r", Time: now}},
		Events:        []model.Event{{Node: "r", Time: now, Kind: model.EventReboot}},
	}
	// The events insert fails after the samples went in.
	if err := s.conn.Exec(ctxT(t), "RENAME TABLE events TO events_away"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctxT(t), b); err == nil {
		t.Fatal("Write without an events table succeeded")
	}
	if err := s.conn.Exec(ctxT(t), "RENAME TABLE events_away TO events"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatalf("replay: %v", err)
	}
	for table, want := range map[string]uint64{"interface_samples": 1, "device_samples": 1, "events": 1} {
		if n := count(t, s, table, ""); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
}

func TestExpired(t *testing.T) {
	cutoff := time.Date(2026, 11, 16, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		id   string
		want bool
	}{
		{"20261115", true},
		{"20261116", false}, // the cutoff's day is kept
		{"20261201", false},
		{"20251231", true},
		{"202610", true},
		{"202611", false}, // the cutoff's month is kept
		{"202612", false},
		{"all", false}, // unpartitioned (tuple())
		{"2026", false},
	}
	for _, tt := range tests {
		if got := expired(tt.id, cutoff); got != tt.want {
			t.Errorf("expired(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
