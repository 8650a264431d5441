// Package embedded runs a single-member etcd server inside the collector
// process: the default desired-state backend when no external cluster is
// configured. After start, everything talks to it through a normal etcd
// client, exactly as to an external cluster.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config of the embedded server.
type Config struct {
	// Dir holds the etcd data (WAL and snapshots).
	Dir string
	// ClientURL and PeerURL are where it listens, e.g. http://127.0.0.1:2379.
	ClientURL string
	PeerURL   string
	// Fast shortens raft timings and skips fsync: for tests only.
	Fast bool
	// MaxTxnOps and MaxRequestBytes raise etcd's limits so bulk imports
	// can write large transactions (0 keeps etcd's defaults).
	MaxTxnOps       uint
	MaxRequestBytes uint
	// StartTimeout bounds the wait for the server to become ready.
	StartTimeout time.Duration
}

// DefaultConfig returns the defaults for a data directory.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:             dir,
		ClientURL:       "http://127.0.0.1:2379",
		PeerURL:         "http://127.0.0.1:2380",
		MaxTxnOps:       8192,
		MaxRequestBytes: 10 << 20, // etcd warns above 10 MiB
		StartTimeout:    60 * time.Second,
	}
}

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	log       *slog.Logger
	cfg       Config
	closeOnce sync.Once
	// closing quiets etcd's logs while it stops: it reports every closed
	// listener as an error, which would alarm whoever reads the logs.
	closing *atomic.Bool
}

// Start starts the server and waits until it serves clients.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded etcd: a data directory is required")
	}
	curl, err := url.Parse(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: client URL %q: %w", cfg.ClientURL, err)
	}
	purl, err := url.Parse(cfg.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: peer URL %q: %w", cfg.PeerURL, err)
	}
	// etcd wants its data private (it holds SNMP secrets too).
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	ec := embed.NewConfig()
	ec.Dir = cfg.Dir
	ec.Name = "unet"
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{*curl}, []url.URL{*curl}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{*purl}, []url.URL{*purl}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	closing := new(atomic.Bool)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger(log, closing))
	// Desired state is small; keep the default backend quota but compact
	// history automatically so watches from old revisions resync.
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = "1h"
	if cfg.MaxTxnOps > 0 {
		ec.MaxTxnOps = cfg.MaxTxnOps
	}
	if cfg.MaxRequestBytes > 0 {
		ec.MaxRequestBytes = cfg.MaxRequestBytes
	}
	if cfg.Fast {
		ec.TickMs, ec.ElectionMs, ec.UnsafeNoFsync = 10, 100, true
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", cfg.Dir, err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	log.Info("embedded etcd ready", "dir", cfg.Dir, "client_url", cfg.ClientURL)
	return &Server{etcd: e, log: log, cfg: cfg, closing: closing}, nil
}

// Endpoints are the client URLs to give an etcd client.
func (s *Server) Endpoints() []string { return []string{s.cfg.ClientURL} }

// Client returns a new client connected to the server; the caller closes it.
func (s *Server) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:          s.Endpoints(),
		DialTimeout:        5 * time.Second,
		Logger:             zap.NewNop(),
		MaxCallSendMsgSize: int(max(s.cfg.MaxRequestBytes, 2<<20)) + 1<<20,
	})
}

// Err reports a fatal server error (the collector stops on it).
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the server; later calls do nothing (etcd's own Close panics
// when called twice, and tests stop servers that a cleanup also closes).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.etcd.Close()
		s.log.Info("embedded etcd stopped")
	})
}

// zapLogger bridges etcd's zap logs to slog, keeping only warnings and
// errors: etcd logs dozens of lines per start at info level.
func zapLogger(log *slog.Logger, closing *atomic.Bool) *zap.Logger {
	return zap.New(&slogCore{log: log, closing: closing})
}

// slogCore is a zapcore.Core that forwards entries at warn level and above
// to an slog logger.
type slogCore struct {
	log     *slog.Logger
	closing *atomic.Bool
	fields  []zapcore.Field
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= zapcore.WarnLevel && !c.closing.Load() }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{log: c.log, closing: c.closing, fields: append(append([]zapcore.Field(nil), c.fields...), fields...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(append([]zapcore.Field(nil), c.fields...), fields...) {
		f.AddTo(enc)
	}
	attrs := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		attrs = append(attrs, k, v)
	}
	level := slog.LevelWarn
	if e.Level >= zapcore.ErrorLevel {
		level = slog.LevelError
	}
	c.log.Log(context.Background(), level, e.Message, attrs...)
	return nil
}

func (c *slogCore) Sync() error { return nil }
