package history

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
)

// Config of the history store. YAML keys are the collector's file format.
type Config struct {
	// Address is the ClickHouse server's native-protocol address (TCP,
	// default port 9000), not the HTTP one.
	Address  string `yaml:"address"`
	Database string `yaml:"database"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// DialTimeout bounds a connection attempt: it is also how long a write
	// waits before it reports ClickHouse down.
	DialTimeout time.Duration `yaml:"dial-timeout"`
	// MaxOpenConns bounds the connections: two per inserter, the rest for
	// queries.
	MaxOpenConns int `yaml:"max-open-conns"`
	// Settings are ClickHouse settings sent with every query (numbers as
	// ints: the native protocol sends them as strings and 18.16 refuses
	// "true").
	Settings map[string]any `yaml:"settings"`

	// BatchRows: the writer sends what callers gave it in one insert per
	// table once this many rows are waiting (ClickHouse wants few large
	// inserts: each one makes a part on disk).
	BatchRows int `yaml:"batch-rows"`
	// FlushDelay is how long the writer waits for more rows before it
	// inserts fewer than BatchRows: the cost in acknowledgement latency of
	// batching many small agent batches together.
	FlushDelay time.Duration `yaml:"flush-delay"`
	// Inserters is how many inserts run at once. One inserter leaves
	// ClickHouse idle while it is between inserts (decoding, the
	// markers); two keep it busy (bench/ingest-throughput: +15–20 %).
	Inserters int `yaml:"inserters"`
	// MaxPendingRows caps the rows waiting for, or in, an insert: beyond it
	// Write answers ErrUnavailable at once (no unbounded queue; agents
	// keep their spool and retry).
	MaxPendingRows int `yaml:"max-pending-rows"`
	// InsertTimeout bounds one flush (all its inserts).
	InsertTimeout time.Duration `yaml:"insert-timeout"`
	// RetryAfter is the delay UnavailableError suggests to callers (the
	// ingest endpoint's Retry-After) when ClickHouse is down.
	RetryAfter time.Duration `yaml:"retry-after"`

	// PollInterval is the agents' usual polling interval: a history step
	// at or below it is answered with the raw samples.
	PollInterval time.Duration `yaml:"poll-interval"`

	Retention Retention `yaml:"retention"`
	// RetentionInterval is how often old partitions are dropped (and once
	// at start); 0 disables the job (DropExpired can still be called).
	RetentionInterval time.Duration `yaml:"retention-interval"`
}

// Retention is how many days of each kind of history are kept; 0 keeps it
// forever. Whole partitions are dropped: up to one more day stays, one more
// month for the hourly rollups (partitioned by month).
type Retention struct {
	// Raw: interface and device samples and the ingested-batch markers.
	Raw int `yaml:"raw-days"`
	// FiveMinutes: the 5-minute interface rollup.
	FiveMinutes int `yaml:"five-minutes-days"`
	// Hourly: the hourly interface and device rollups.
	Hourly int `yaml:"hourly-days"`
	// Events: interface and device events.
	Events int `yaml:"events-days"`
}

// DefaultConfig returns the defaults: a ClickHouse on this machine.
func DefaultConfig() Config {
	return Config{
		Address:           "127.0.0.1:9000",
		Database:          "unet",
		Username:          "default",
		DialTimeout:       5 * time.Second,
		MaxOpenConns:      8,
		BatchRows:         300_000,
		FlushDelay:        50 * time.Millisecond,
		Inserters:         2,
		MaxPendingRows:    1_000_000,
		InsertTimeout:     60 * time.Second,
		RetryAfter:        5 * time.Second,
		PollInterval:      60 * time.Second,
		Retention:         Retention{Raw: 30, FiveMinutes: 180, Hourly: 730, Events: 365},
		RetentionInterval: time.Hour,
	}
}

// A database name is formatted into DDL: keep it to an identifier.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate refuses a configuration that cannot work, before anything starts.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address must be host:port (the native TCP port, usually 9000), got %q", c.Address))
	}
	if !identifier.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("database must be an identifier (letters, digits, _), got %q", c.Database))
	}
	positive := []struct {
		name string
		v    time.Duration
	}{
		{"dial-timeout", c.DialTimeout}, {"flush-delay", c.FlushDelay},
		{"insert-timeout", c.InsertTimeout}, {"retry-after", c.RetryAfter},
		{"poll-interval", c.PollInterval},
	}
	for _, p := range positive {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", p.name, p.v))
		}
	}
	if c.RetentionInterval < 0 {
		errs = append(errs, fmt.Errorf("retention-interval must be 0 (off) or positive, got %s", c.RetentionInterval))
	}
	if c.Inserters < 1 || c.Inserters > 16 {
		errs = append(errs, fmt.Errorf("inserters must be between 1 and 16, got %d", c.Inserters))
	}
	if c.MaxOpenConns < 2*c.Inserters+1 {
		// Two for each inserter (the interface samples beside the rest),
		// at least one for queries.
		errs = append(errs, fmt.Errorf("max-open-conns must be at least 2 × inserters + 1 = %d, got %d", 2*c.Inserters+1, c.MaxOpenConns))
	}
	if c.BatchRows <= 0 {
		errs = append(errs, fmt.Errorf("batch-rows must be positive, got %d", c.BatchRows))
	}
	if c.MaxPendingRows < c.BatchRows {
		errs = append(errs, fmt.Errorf("max-pending-rows (%d) must be at least batch-rows (%d)", c.MaxPendingRows, c.BatchRows))
	}
	r := c.Retention
	for _, d := range []struct {
		name string
		v    int
	}{{"raw-days", r.Raw}, {"five-minutes-days", r.FiveMinutes}, {"hourly-days", r.Hourly}, {"events-days", r.Events}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("retention %s must be 0 (forever) or positive, got %d", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}
