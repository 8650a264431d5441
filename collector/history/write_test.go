package history

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"

	"github.com/unet-project/unet/shared/model"
)

func TestMigrations(t *testing.T) {
	s := newStore(t, "")
	want := []string{
		"device_samples", "device_samples_1h", "device_samples_1h_mv", "events", "ingested_batches",
		"interface_samples", "interface_samples_1h", "interface_samples_1h_mv",
		"interface_samples_5m", "interface_samples_5m_mv", "schema_version",
	}
	if diff := cmp.Diff(want, tables(t, s.conn, s.cfg.Database)); diff != "" {
		t.Fatalf("tables (-want +got):\n%s", diff)
	}
	tests := []struct {
		name  string
		apply []migration
	}{
		{"again: a no-op", migrations()},
		{"from version 0 on existing tables: statements are idempotent", migrations()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := migrate(ctxT(t), s.conn, tt.apply, nil)
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if v != SchemaVersion() {
				t.Fatalf("version %d, want %d", v, SchemaVersion())
			}
		})
		if tt.name == "again: a no-op" {
			// Forget the versions: every migration runs again.
			if err := s.conn.Exec(ctxT(t), "TRUNCATE TABLE schema_version"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One row per migration per real application: the first ones were
	// truncated, the no-op adds none, the run after the truncation one each.
	if n := count(t, s, "schema_version", ""); n != uint64(len(migrations())) {
		t.Fatalf("schema_version has %d rows, want %d", n, len(migrations()))
	}
}

func TestMigrateFromAnOlderVersion(t *testing.T) {
	s := newStore(t, "", func(c *Config) { c.Database = "older" })
	// An older collector: version 1 only, in another database.
	if err := s.conn.Exec(ctxT(t), "CREATE DATABASE v1"); err != nil {
		t.Fatal(err)
	}
	conn, err := open(s.cfg, "v1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if v, err := migrate(ctxT(t), conn, migrations()[:1], nil); err != nil || v != 1 {
		t.Fatalf("migrate to 1: %d, %v", v, err)
	}
	if got := tables(t, conn, "v1"); len(got) != 5 {
		t.Fatalf("version 1 tables: %v", got)
	}
	// Rows an older collector wrote, with the columns it knew.
	now := time.Now().UTC().Truncate(time.Second)
	for _, ins := range []struct {
		table, columns string
		values         []any
	}{
		{"device_samples", "node, ts, reachable", []any{"old", now, uint8(1)}},
		{"interface_samples", "node, ifname, ts, admin_status, oper_status", []any{"old", "e1", now, "up", "up"}},
	} {
		b, err := conn.PrepareBatch(ctxT(t), "INSERT INTO "+ins.table+" ("+ins.columns+")")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Append(ins.values...); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(); err != nil {
			t.Fatalf("insert into %s: %v", ins.table, err)
		}
	}
	var applied []uint32
	v, err := migrate(ctxT(t), conn, migrations(), func(v uint32, _ string) { applied = append(applied, v) })
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if v != SchemaVersion() || !cmp.Equal(applied, []uint32{2, 3, 4}) {
		t.Fatalf("migrated to %d applying %v, want %d applying [2 3 4]", v, applied, SchemaVersion())
	}
	if diff := cmp.Diff(tables(t, s.conn, "older"), tables(t, conn, "v1")); diff != "" {
		t.Fatalf("upgraded schema differs from a fresh one (-fresh +upgraded):\n%s", diff)
	}
	if diff := cmp.Diff(columns(t, s.conn, "older"), columns(t, conn, "v1")); diff != "" {
		t.Fatalf("upgraded columns differ from fresh ones (-fresh +upgraded):\n%s", diff)
	}
	// The older rows read empty system group and labels.
	for table, cond := range map[string]string{
		"device_samples":    "node = 'old' AND sys_name = '' AND sys_descr = '' AND sys_object_id = '' AND vendor = ''",
		"interface_samples": "node = 'old' AND ifdescr = '' AND ifalias = '' AND iftype = ''",
	} {
		var n uint64
		if err := conn.QueryRow(ctxT(t), "SELECT count() FROM "+table+" WHERE "+cond).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: %d older rows with empty new columns, want 1 (%v)", table, n, err)
		}
	}
}

func TestWriteStoresEveryRow(t *testing.T) {
	s := newStore(t, "")
	now := time.Now().UTC().Truncate(time.Second)
	nb := &model.LLDPNeighbor{LocalPort: "xe-0/0/1", ChassisID: "aa:bb:cc:dd:ee:ff", PortID: "Gi1/0/1", SysName: "peer"}
	b := Batch{
		Agent: "agent-1", Seq: 7,
		Samples: []model.Sample{
			withLabels(sample("r1", "xe-0/0/1", now, 1e6, 2e6, model.IfUp), "xe-0/0/1", "to r2 'core' link", "ethernetCsmacd"),
			{Node: "r1", IfName: "xe-0/0/2", Time: now, OperStatus: "bogus", AdminStatus: model.IfDown}, // no rates
		},
		DeviceSamples: []model.DeviceSample{
			{Node: "r1", Time: now, Reachable: true, UptimeSeconds: 3600, PollDurationSeconds: 0.25, Interfaces: 2,
				Extra: map[string]float64{"cpu_5min": 12, "mem": 40}, SysName: "r1.example.net", SysDescr: "Juniper Networks MX204",
				SysObjectID: "1.3.6.1.4.1.2636.1.1.1.2.150", Vendor: model.VendorJuniper},
			{Node: "r2", Time: now, Error: "timeout"},
		},
		Events: []model.Event{
			{Time: now, Node: "r1", Kind: model.EventOperStatus, IfIndex: 1, IfName: "xe-0/0/1", From: "down", To: "up"},
			{Time: now, Node: "r1", Kind: model.EventLLDPAdded, IfName: "xe-0/0/1", Neighbor: nb},
		},
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for table, want := range map[string]uint64{
		"interface_samples": 2, "device_samples": 2, "events": 2, "ingested_batches": 1, // its 'begin' marker
		"interface_samples_5m": 2, "interface_samples_1h": 2, "device_samples_1h": 2,
	} {
		if n := count(t, s, table, ""); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	var m dto.Metric
	if err := s.metrics.rows.WithLabelValues("interface_samples").Write(&m); err != nil || m.GetCounter().GetValue() != 2 {
		got := m.GetCounter().GetValue()
		t.Errorf("rows_written_total{table=interface_samples} = %v, want 2", got)
	}
	// The unknown status was stored as unknown, the missing rates as NULL.
	if n := count(t, s, "interface_samples", "ifname = 'xe-0/0/2' AND oper_status = 'unknown' AND in_bps IS NULL AND out_pps IS NULL"); n != 1 {
		t.Errorf("sample without rates stored wrong")
	}
	if n := count(t, s, "device_samples", "node = 'r1' AND extra_names = ['cpu_5min', 'mem'] AND extra_values = [12., 40.]"); n != 1 {
		t.Errorf("device extras stored wrong")
	}
	if n := count(t, s, "device_samples", "node = 'r1' AND sys_name = 'r1.example.net' AND sys_descr = 'Juniper Networks MX204' AND "+
		"sys_object_id = '1.3.6.1.4.1.2636.1.1.1.2.150' AND vendor = 'juniper'"); n != 1 {
		t.Errorf("device system group stored wrong")
	}
	if n := count(t, s, "interface_samples", `ifname = 'xe-0/0/1' AND ifdescr = 'xe-0/0/1' AND ifalias = 'to r2 \'core\' link' AND iftype = 'ethernetCsmacd'`); n != 1 {
		t.Errorf("interface labels stored wrong")
	}
	if n := count(t, s, "events", "has_neighbor = 1 AND neighbor_chassis_id = 'aa:bb:cc:dd:ee:ff' AND neighbor_sys_name = 'peer'"); n != 1 {
		t.Errorf("LLDP neighbour stored wrong")
	}
}

func TestWriteCoalescesConcurrentCallers(t *testing.T) {
	s := newStore(t, "", func(c *Config) { c.FlushDelay = 200 * time.Millisecond })
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for a := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := Batch{Agent: "agent", Seq: uint64(a)}
			for i := range 100 {
				b.Samples = append(b.Samples, sample("r", "if"+string(rune('a'+i%26)), now, 1, 1, model.IfUp))
			}
			errs <- s.Write(ctxT(t), b)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if n := count(t, s, "interface_samples", ""); n != 2000 {
		t.Fatalf("%d samples, want 2000", n)
	}
	// 20 callers within one flush delay: far fewer inserts than callers.
	var parts uint64
	if err := s.conn.QueryRow(ctxT(t), "SELECT count() FROM system.parts WHERE database = 'unet' AND table = 'interface_samples'").Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts > 5 {
		t.Errorf("%d parts for 20 concurrent writes: not coalesced", parts)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	s := newStore(t, "", func(c *Config) { c.BatchRows = 10; c.MaxPendingRows = 10 })
	now := time.Now()
	tests := []struct {
		name  string
		batch Batch
	}{
		{"no agent", Batch{Seq: 1}},
		{"sample without node", Batch{Agent: "a", Samples: []model.Sample{{IfName: "x", Time: now}}}},
		{"event without kind", Batch{Agent: "a", Events: []model.Event{{Node: "n", Time: now}}}},
		{"larger than the writer", Batch{Agent: "a", DeviceSamples: make([]model.DeviceSample, 11)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.batch.DeviceSamples {
				tt.batch.DeviceSamples[i].Node = "n"
			}
			err := s.Write(ctxT(t), tt.batch)
			if err == nil || errors.Is(err, ErrUnavailable) {
				t.Fatalf("Write = %v, want a plain error", err)
			}
		})
	}
}

// A flush larger than a block goes as several blocks of one insert, which
// ClickHouse squashes into one part.
func TestWriteInBlocks(t *testing.T) {
	s := newStore(t, "")
	now := time.Now().UTC().Truncate(time.Second)
	const n = 3*sampleChunkRows + 100
	b := Batch{Agent: "a", Seq: 1, Samples: make([]model.Sample, 0, n)}
	for i := range n {
		b.Samples = append(b.Samples, sample(fmt.Sprintf("r%d", i/48), fmt.Sprintf("xe-0/0/%d", i%48), now, float64(i), 1, model.IfUp))
	}
	if err := s.Write(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]uint64{"interface_samples": n, "interface_samples_5m": n} {
		if got := count(t, s, table, ""); got != want {
			t.Errorf("%s: %d rows, want %d", table, got, want)
		}
	}
	if got := count(t, s, "interface_samples", fmt.Sprintf("node = 'r%d' AND ifname = 'xe-0/0/%d' AND in_bps = %d", (n-1)/48, (n-1)%48, n-1)); got != 1 {
		t.Errorf("the last sample is not stored as written")
	}
	var parts, level uint64
	if err := s.conn.QueryRow(ctxT(t), "SELECT count(), toUInt64(max(level)) FROM system.parts WHERE database = 'unet' AND table = 'interface_samples' AND active").Scan(&parts, &level); err != nil {
		t.Fatal(err)
	}
	if parts != 1 || level != 0 {
		t.Errorf("%d parts (max level %d) for one insert of %d blocks, want 1 part of level 0", parts, level, (n+sampleChunkRows-1)/sampleChunkRows)
	}
}

// The 'done' marker of a flush is written with the next flush's 'begin'
// markers, by an idle inserter after doneMarkerDelay, or at Close.
func TestDoneMarkers(t *testing.T) {
	s := newStore(t, "")
	now := time.Now().UTC()
	batch := func(seq uint64) Batch {
		return Batch{Agent: "a", Seq: seq, Samples: []model.Sample{sample("r", "e0", now, 1, 1, model.IfUp)}}
	}
	markers := func(state string) uint64 { return count(t, s, "ingested_batches", "state = '"+state+"'") }

	if err := s.Write(ctxT(t), batch(1)); err != nil {
		t.Fatal(err)
	}
	if n := markers("begin"); n != 1 {
		t.Fatalf("%d 'begin' markers once Write returned, want 1", n)
	}
	// Idle: the marker follows alone.
	deadline := time.Now().Add(doneMarkerDelay + 10*time.Second)
	for markers("done") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no 'done' marker %v after an idle flush", doneMarkerDelay+10*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Busy: the next flushes carry the markers; Close writes the last.
	for seq := uint64(2); seq <= 4; seq++ {
		if err := s.Write(ctxT(t), batch(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	conn, err := open(s.cfg, s.cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, state := range []string{"begin", "done"} {
		var n uint64
		if err := conn.QueryRow(ctxT(t), "SELECT uniqExact(seq) FROM ingested_batches WHERE state = '"+state+"'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("%d batches with a %q marker after Close, want 4", n, state)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := newStore(t, "")
	if err := s.Write(ctxT(t), Batch{Agent: "a", Seq: 1, DeviceSamples: []model.DeviceSample{{Node: "n", Time: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Write(ctxT(t), Batch{Agent: "a", Seq: 2}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}
