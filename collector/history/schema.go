package history

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The schema is written for the clickhouse-server 18.16 of the OS packages
// and is accepted by current releases: no DateTime64, Map, TTL, CODEC,
// LowCardinality (experimental in 18.16) or SimpleAggregateFunction.
//
// Tables are partitioned by day, so that retention drops whole partitions,
// and ordered for the queries NOCs run: one interface or one device over a
// time range. The hourly rollups, kept for two years and read over months,
// are partitioned by month: a query reads one part per partition at least,
// and 30 daily parts made a 30-day history 3-4 times slower (measured on
// 18.16: 17-24 ms against 5-7 ms). Rollups are fed by materialized views from the
// raw samples at insert time; they cover what was inserted after they were
// created.
//
// A view's aliases shadow the source's columns in ClickHouse (an alias
// in_bps for avgState(in_bps) is "an aggregate inside an aggregate"), so
// rollup columns have names of their own: bucket, in_bps_avg, ...

// statusEnum is ifAdminStatus/ifOperStatus with IF-MIB's numbers.
const statusEnum = "Enum8('up' = 1, 'down' = 2, 'testing' = 3, 'unknown' = 4, 'dormant' = 5, 'notPresent' = 6, 'lowerLayerDown' = 7)"

// Table names.
const (
	tableInterfaceSamples   = "interface_samples"
	tableInterfaceSamples5m = "interface_samples_5m"
	tableInterfaceSamples1h = "interface_samples_1h"
	tableDeviceSamples      = "device_samples"
	tableDeviceSamples1h    = "device_samples_1h"
	tableEvents             = "events"
	tableBatches            = "ingested_batches"
	tableSchemaVersion      = "schema_version"
)

// rateColumns are the interface rates, in the raw table as Nullable: NULL
// is "no rate" (first poll, discontinuity), not zero.
var rateColumns = []string{
	"in_bps", "out_bps", "in_pps", "out_pps",
	"in_errors", "out_errors", "in_discards", "out_discards",
}

// rollupRates are the rates the rollups average: those the queries use
// beyond the raw retention. Every aggregate state costs at insert time
// (the views run on every inserted block): with all eight rates, the
// views tripled the cost of an insert on 18.16.
var rollupRates = []string{"in_bps", "out_bps", "in_errors", "out_errors"}

// A migration moves the schema from version-1 to version. Its statements
// are idempotent (IF NOT EXISTS), and so are its columns, so a migration
// interrupted half-way is simply applied again.
type migration struct {
	version     uint32
	description string
	statements  []string
	// columns are added to existing tables after the statements, each
	// only when the table lacks it: 18.16 has no ADD COLUMN IF NOT EXISTS
	// (a syntax error there).
	columns []column
}

// column is a column a migration adds to a table.
type column struct {
	table, name, def string // def: the type, and a default if any
}

func migrations() []migration {
	return []migration{
		{version: 1, description: "raw samples, events and ingested-batch markers", statements: []string{
			`CREATE TABLE IF NOT EXISTS interface_samples (
				node String,
				ifname String,
				ts DateTime,
				ifindex UInt32,
				interval_seconds Float32,
				admin_status ` + statusEnum + `,
				oper_status ` + statusEnum + `,
				speed_bps UInt64,
				counter64 UInt8,
				discontinuity UInt8,
				` + rateColumnsDDL() + `,
				agent String,
				seq UInt64
			) ENGINE = MergeTree()
			PARTITION BY toYYYYMMDD(ts)
			ORDER BY (node, ifname, ts)`,
			`CREATE TABLE IF NOT EXISTS device_samples (
				node String,
				ts DateTime,
				reachable UInt8,
				error String,
				uptime_seconds UInt64,
				poll_duration_seconds Float32,
				interfaces UInt32,
				extra_names Array(String),
				extra_values Array(Float64),
				agent String,
				seq UInt64
			) ENGINE = MergeTree()
			PARTITION BY toYYYYMMDD(ts)
			ORDER BY (node, ts)`,
			`CREATE TABLE IF NOT EXISTS events (
				node String,
				ts DateTime,
				kind String,
				ifindex UInt32,
				ifname String,
				from_state String,
				to_state String,
				detail String,
				has_neighbor UInt8,
				neighbor_local_port String,
				neighbor_local_ifindex UInt32,
				neighbor_chassis_id String,
				neighbor_port_id String,
				neighbor_port_descr String,
				neighbor_sys_name String,
				agent String,
				seq UInt64
			) ENGINE = MergeTree()
			PARTITION BY toYYYYMMDD(ts)
			ORDER BY (node, ts)`,
			// One 'begin' row before a batch's data, one 'done' row after
			// it: a begin without done is a batch interrupted by a crash,
			// whose data tables say what got in (see SeenBatches).
			`CREATE TABLE IF NOT EXISTS ingested_batches (
				agent String,
				seq UInt64,
				state Enum8('begin' = 1, 'done' = 2),
				ts DateTime,
				min_ts DateTime,
				max_ts DateTime,
				samples UInt32,
				device_samples UInt32,
				events UInt32
			) ENGINE = MergeTree()
			PARTITION BY toYYYYMMDD(ts)
			ORDER BY (agent, seq)`,
		}},
		{version: 2, description: "5-minute and hourly interface rollups", statements: []string{
			interfaceRollupDDL(tableInterfaceSamples5m),
			interfaceRollupView(tableInterfaceSamples5m, "toStartOfFiveMinute"),
			interfaceRollupDDL(tableInterfaceSamples1h),
			interfaceRollupView(tableInterfaceSamples1h, "toStartOfHour"),
		}},
		{version: 3, description: "hourly device availability rollup", statements: []string{
			`CREATE TABLE IF NOT EXISTS device_samples_1h (
				node String,
				bucket DateTime,
				polls UInt64,
				reachable_polls UInt64
			) ENGINE = SummingMergeTree((polls, reachable_polls))
			PARTITION BY toYYYYMM(bucket)
			ORDER BY (node, bucket)`,
			`CREATE MATERIALIZED VIEW IF NOT EXISTS device_samples_1h_mv TO device_samples_1h AS
			SELECT node, toStartOfHour(ts) AS bucket, count() AS polls, sum(toUInt64(reachable)) AS reachable_polls
			FROM device_samples
			GROUP BY node, bucket`,
		}},
		// What the agent's state has and the samples did not carry, so
		// that the latest state rebuilt at start has it (issue 5). Rows
		// written before read empty strings: the type's default. Not
		// DEFAULT '': 18.16 then fails to read two of them at once from
		// older parts ("Column '''' already exists": their identical
		// default expressions collide). The rollup views name their
		// columns: new columns leave them as they are.
		{version: 4, description: "system group and vendor in device samples; descr, alias and type in interface samples",
			columns: []column{
				{tableDeviceSamples, "sys_name", "String"},
				{tableDeviceSamples, "sys_descr", "String"},
				{tableDeviceSamples, "sys_object_id", "String"},
				{tableDeviceSamples, "vendor", "String"},
				{tableInterfaceSamples, "ifdescr", "String"},
				{tableInterfaceSamples, "ifalias", "String"},
				{tableInterfaceSamples, "iftype", "String"},
			}},
	}
}

func rateColumnsDDL() string {
	cols := make([]string, len(rateColumns))
	for i, c := range rateColumns {
		cols[i] = c + " Nullable(Float64)"
	}
	return strings.Join(cols, ",\n\t\t\t\t")
}

// interfaceRollupDDL: averages of the bit and error rates over the samples that have
// one (avgIf: a NULL rate is skipped, an empty bucket averages to nan),
// peaks of the bit rates, the speed, the share of samples oper up and the
// last oper status. The -If form, rather than avg over Nullable, because
// 18.16 and current releases disagree on the state type of the latter.
func interfaceRollupDDL(table string) string {
	partition := "toYYYYMMDD(bucket)"
	if table == tableInterfaceSamples1h {
		partition = "toYYYYMM(bucket)"
	}
	cols := []string{
		"node String", "ifname String", "bucket DateTime",
		"samples AggregateFunction(count)",
		"speed_bps_max AggregateFunction(max, UInt64)",
	}
	for _, c := range rollupRates {
		cols = append(cols, c+"_avg AggregateFunction(avgIf, Float64, UInt8)")
	}
	cols = append(cols,
		"in_bps_max AggregateFunction(maxIf, Float64, UInt8)",
		"out_bps_max AggregateFunction(maxIf, Float64, UInt8)",
		"oper_up AggregateFunction(avg, UInt8)",
		"last_oper_status AggregateFunction(argMax, "+statusEnum+", DateTime)",
	)
	// The 5-minute table keeps daily partitions (retention drops days),
	// so a 30-day history reads ~30 parts of it and at least a granule of
	// each: granules of 1,024 rows instead of 8,192 cut that read tenfold
	// (bench/history-scale: p50 147–217 ms → 52 ms over 100 M rows).
	settings := ""
	if table == tableInterfaceSamples5m {
		settings = "\n\t\t\tSETTINGS index_granularity = 1024"
	}
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
				%s
			) ENGINE = AggregatingMergeTree()
			PARTITION BY %s
			ORDER BY (node, ifname, bucket)%s`, table, strings.Join(cols, ",\n\t\t\t\t"), partition, settings)
}

func interfaceRollupView(table, truncate string) string {
	exprs := []string{
		"node", "ifname", truncate + "(ts) AS bucket",
		"countState() AS samples",
		"maxState(speed_bps) AS speed_bps_max",
	}
	for _, c := range rollupRates {
		exprs = append(exprs, fmt.Sprintf("avgIfState(ifNull(%[1]s, 0), isNotNull(%[1]s)) AS %[1]s_avg", c))
	}
	exprs = append(exprs,
		"maxIfState(ifNull(in_bps, 0), isNotNull(in_bps)) AS in_bps_max",
		"maxIfState(ifNull(out_bps, 0), isNotNull(out_bps)) AS out_bps_max",
		"avgState(toUInt8(oper_status = 'up')) AS oper_up",
		"argMaxState(oper_status, ts) AS last_oper_status",
	)
	return fmt.Sprintf(`CREATE MATERIALIZED VIEW IF NOT EXISTS %s_mv TO %s AS
			SELECT %s
			FROM interface_samples
			GROUP BY node, ifname, bucket`, table, table, strings.Join(exprs, ", "))
}

// SchemaVersion is the version the newest migration brings the schema to.
func SchemaVersion() uint32 {
	m := migrations()
	return m[len(m)-1].version
}

// migrate applies, in order, the migrations above the database's version.
// Running it again is a no-op; two collectors running it at once apply the
// same idempotent statements and record the version twice, which is
// harmless (the version is the maximum).
func migrate(ctx context.Context, conn driver.Conn, ms []migration, log func(version uint32, description string)) (uint32, error) {
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version UInt32,
			description String,
			applied_at DateTime
		) ENGINE = MergeTree() ORDER BY version`); err != nil {
		return 0, fmt.Errorf("create schema_version: %w", err)
	}
	current, err := schemaVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.statements {
			if err := conn.Exec(ctx, stmt); err != nil {
				return current, fmt.Errorf("migration %d (%s): %w\nstatement: %s", m.version, m.description, err, stmt)
			}
		}
		for _, c := range m.columns {
			if err := addColumn(ctx, conn, c); err != nil {
				return current, fmt.Errorf("migration %d (%s): %w", m.version, m.description, err)
			}
		}
		// Inserts go through PrepareBatch only: INSERT ... VALUES over the
		// native protocol hangs on 18.16.
		b, err := conn.PrepareBatch(ctx, "INSERT INTO schema_version (version, description, applied_at)")
		if err != nil {
			return current, fmt.Errorf("migration %d: record version: %w", m.version, err)
		}
		if err := b.Append(m.version, m.description, time.Now().UTC()); err != nil {
			return current, fmt.Errorf("migration %d: record version: %w", m.version, err)
		}
		if err := b.Send(); err != nil {
			return current, fmt.Errorf("migration %d: record version: %w", m.version, err)
		}
		current = m.version
		if log != nil {
			log(m.version, m.description)
		}
	}
	return current, nil
}

// addColumn adds c to its table unless the table has it already.
func addColumn(ctx context.Context, conn driver.Conn, c column) error {
	has := func() (bool, error) {
		var n uint64
		err := conn.QueryRow(ctx, fmt.Sprintf(
			"SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = '%s' AND name = '%s'",
			c.table, c.name)).Scan(&n)
		if err != nil {
			return false, fmt.Errorf("look for column %s.%s: %w", c.table, c.name, err)
		}
		return n > 0, nil
	}
	if ok, err := has(); err != nil || ok {
		return err
	}
	stmt := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, c.name, c.def)
	if err := conn.Exec(ctx, stmt); err != nil {
		// Another collector migrating at the same time added it first.
		if ok, herr := has(); herr == nil && ok {
			return nil
		}
		return fmt.Errorf("%w\nstatement: %s", err, stmt)
	}
	return nil
}

func schemaVersion(ctx context.Context, conn driver.Conn) (uint32, error) {
	var v uint32
	if err := conn.QueryRow(ctx, "SELECT max(version) FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
