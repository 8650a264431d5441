package history

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

// testConfig is the defaults pointed at addr, with the background
// retention off (tests insert old rows on purpose) and a short flush delay.
func testConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Address = addr
	cfg.RetentionInterval = 0
	cfg.FlushDelay = 5 * time.Millisecond
	cfg.DialTimeout = 2 * time.Second
	cfg.RetryAfter = 3 * time.Second
	return cfg
}

// newStore opens a store on addr (a fresh server when empty), closed when
// the test ends.
func newStore(t testing.TB, addr string, edit ...func(*Config)) *Store {
	t.Helper()
	if addr == "" {
		addr = testsupport.ClickHouse(t)
	}
	cfg := testConfig(addr)
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, Dependencies{Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func f(v float64) *float64 { return &v }

// sample is an interface sample with every rate set from bps.
func sample(node, ifname string, ts time.Time, inBps, outBps float64, oper model.IfStatus) model.Sample {
	return model.Sample{
		Node: node, Time: ts, IfIndex: 1, IfName: ifname, IntervalSeconds: 60,
		AdminStatus: model.IfUp, OperStatus: oper, SpeedBps: 1_000_000_000, Counter64: true,
		Rates: model.Rates{
			InBps: f(inBps), OutBps: f(outBps), InPps: f(inBps / 8000), OutPps: f(outBps / 8000),
			InErrorsRate: f(0), OutErrorsRate: f(0), InDiscardsRate: f(0), OutDiscardsRate: f(0),
		},
	}
}

// withLabels is s with the given descr, alias and type.
func withLabels(s model.Sample, descr, alias, typ string) model.Sample {
	s.Descr, s.Alias, s.Type = descr, alias, typ
	return s
}

// count runs a SELECT count() FROM table WHERE cond.
func count(t testing.TB, s *Store, table, cond string) uint64 {
	t.Helper()
	q := "SELECT count() FROM " + table
	if cond != "" {
		q += " WHERE " + cond
	}
	var n uint64
	if err := s.conn.QueryRow(ctxT(t), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// tables lists the tables of the store's database.
func tables(t testing.TB, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(ctxT(t), fmt.Sprintf("SELECT name FROM system.tables WHERE database = '%s' ORDER BY name", db))
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// columns lists "table.name type default" for every column of the
// database's tables.
func columns(t testing.TB, conn driver.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(ctxT(t), fmt.Sprintf(
		"SELECT table, name, type, default_expression FROM system.columns WHERE database = '%s' ORDER BY table, name", db))
	if err != nil {
		t.Fatalf("list columns: %v", err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var table, name, typ, def string
		if err := rows.Scan(&table, &name, &typ, &def); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, table+"."+name+" "+typ+" "+def)
	}
	return cols
}

// appendSamples fills db with the batches' samples as an inserter does,
// through buffers of its own, without changing the batches.
func appendSamples(db driver.Batch, batches []*Batch) error {
	packed := make([]*Batch, len(batches))
	for i, b := range batches {
		p := *b
		p.pack()
		packed[i] = &p
	}
	var c sampleColumns
	return c.append(db, packed)
}
