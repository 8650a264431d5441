// Package history keeps what the agents observed in ClickHouse: interface
// samples, device samples and events, with 5-minute and hourly rollups,
// retention by dropping daily partitions, a batching writer that
// acknowledges only rows that are in ClickHouse, what is needed to drop
// replayed agent batches (SeenBatches), and the queries the API and the
// policies run (history of an interface, events, top-N, availability,
// latest state).
//
// The schema is kept to what clickhouse-server 18.16 (the OS packages)
// accepts, and clickhouse-go must stay at v2.26.0: later versions cannot
// insert into 18.16 (see FIELD-NOTES.md). Inserts use PrepareBatch only.
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Dependencies of the store.
type Dependencies struct {
	Logger *slog.Logger
	// Registry receives the store's metrics; nil registers none.
	Registry prometheus.Registerer
}

// Store is the history component: its writer, its queries and its
// retention job share one ClickHouse connection pool.
type Store struct {
	cfg     Config
	log     *slog.Logger
	conn    driver.Conn
	metrics *metrics

	requests    chan *writeRequest
	pendingRows atomic.Int64
	stop        chan struct{} // closed by Close: the flusher and retention end
	stopped     chan struct{} // closed when every inserter (flusher) has ended
	closeOnce   sync.Once
	closeErr    error
	wg          sync.WaitGroup

	// partial holds the tables that failed flushes did write, by batch.
	partialMu sync.Mutex
	partial   map[batchKey]Tables
}

// New connects to ClickHouse, creates the database when missing, migrates
// the schema to the newest version and starts the writer and the retention
// job. It fails when ClickHouse cannot be reached within cfg.DialTimeout
// (an *UnavailableError) or refuses the schema.
func New(ctx context.Context, cfg Config, deps Dependencies) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("history configuration: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "history")

	// The database must exist before a connection can use it as default.
	boot, err := open(cfg, "default")
	if err != nil {
		return nil, err
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database)
	boot.Close()
	if err != nil {
		return nil, classify(fmt.Sprintf("create database %s on %s", cfg.Database, cfg.Address), err, cfg.RetryAfter)
	}
	conn, err := open(cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	version, err := migrate(ctx, conn, migrations(), func(v uint32, d string) {
		log.Info("schema migrated", "version", v, "migration", d)
	})
	if err != nil {
		conn.Close()
		return nil, classify("migrate the history schema", err, cfg.RetryAfter)
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &Store{
		cfg:      cfg,
		log:      log,
		conn:     conn,
		metrics:  m,
		requests: make(chan *writeRequest, 1024),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		partial:  map[batchKey]Tables{},
	}
	// Inserters: stopped is closed once the last one has ended.
	var inserters sync.WaitGroup
	for range cfg.Inserters {
		inserters.Add(1)
		go func() { defer inserters.Done(); s.flusher() }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); inserters.Wait(); close(s.stopped) }()
	if cfg.RetentionInterval > 0 {
		s.wg.Add(1)
		go s.retentionLoop()
	}
	log.Info("history store ready", "address", cfg.Address, "database", cfg.Database, "schema_version", version)
	return s, nil
}

func open(cfg Config, database string) (driver.Conn, error) {
	settings := clickhouse.Settings{}
	for k, v := range cfg.Settings {
		settings[k] = v
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{cfg.Address},
		Auth: clickhouse.Auth{
			Database: database,
			Username: cfg.Username,
			Password: cfg.Password,
		},
		Settings:     settings,
		DialTimeout:  cfg.DialTimeout,
		MaxOpenConns: cfg.MaxOpenConns,
		MaxIdleConns: cfg.MaxOpenConns,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	if err != nil {
		return nil, fmt.Errorf("ClickHouse %s: %w", cfg.Address, err)
	}
	return conn, nil
}

// Close stops the retention job, writes what the writer holds, and closes
// the connections. Writes after Close fail with ErrClosed.
// Closing again does nothing (clickhouse-go's Close blocks when called
// twice).
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.closeErr = s.conn.Close()
	})
	return s.closeErr
}

// Ping checks that ClickHouse answers (for /readyz): an *UnavailableError
// when it does not.
func (s *Store) Ping(ctx context.Context) error {
	return classify("ping ClickHouse "+s.cfg.Address, s.conn.Ping(ctx), s.cfg.RetryAfter)
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("history store closed")

// metrics of the store.
type metrics struct {
	rows           *prometheus.CounterVec
	insertDuration *prometheus.HistogramVec
	errors         *prometheus.CounterVec
	pendingRows    prometheus.Gauge
	flushRows      prometheus.Histogram
	queryDuration  *prometheus.HistogramVec
	dropped        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "history", Name: "rows_written_total",
			Help: "Rows inserted into ClickHouse, by table.",
		}, []string{"table"}),
		insertDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "history", Name: "insert_duration_seconds",
			Help:    "Time of one insert into ClickHouse, by table.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "history", Name: "errors_total",
			Help: "Failed ClickHouse operations, by operation (insert table, query, retention) and kind (unavailable: ClickHouse down or overloaded; rejected: ClickHouse refused it).",
		}, []string{"op", "kind"}),
		pendingRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "unet", Subsystem: "history", Name: "pending_rows",
			Help: "Rows waiting for, or in, an insert.",
		}),
		flushRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "history", Name: "flush_rows",
			Help:    "Rows per flush of the writer (all tables).",
			Buckets: prometheus.ExponentialBuckets(10, 4, 9),
		}),
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "unet", Subsystem: "history", Name: "query_duration_seconds",
			Help:    "Time of a history query, by query.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"query"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "unet", Subsystem: "history", Name: "partitions_dropped_total",
			Help: "Daily partitions dropped by retention, by table.",
		}, []string{"table"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rows, m.insertDuration, m.errors, m.pendingRows, m.flushRows, m.queryDuration, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("history metrics: %w", err)
		}
	}
	return m, nil
}

// observe records a query's duration and, on failure, its error kind.
func (s *Store) observe(query string, start time.Time, err error) {
	s.metrics.queryDuration.WithLabelValues(query).Observe(time.Since(start).Seconds())
	if err != nil {
		s.metrics.errors.WithLabelValues(query, errorKind(err)).Inc()
	}
}
