// Package collector wires the collector's components: the desired-state
// store on etcd (embedded or external), the REST API and the HTTP server,
// the agent registry, the policy engine, and with ClickHouse configured the
// history store, the ingest endpoint and the latest-state view.
package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/unet-project/unet/collector/agents"
	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/desired/embedded"
	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/ingest"
	"github.com/unet-project/unet/collector/latest"
	"github.com/unet-project/unet/collector/policy"
	"github.com/unet-project/unet/internal/logging"
)

// Config of the collector. YAML keys are the documented file format; every
// key is also an UNET_* environment variable (see internal/config).
type Config struct {
	// DataDir holds the embedded etcd data (and later the collector's own state).
	DataDir string `yaml:"data-dir"`
	// Listen is the address of the HTTP API.
	Listen string `yaml:"listen"`
	// ShutdownTimeout bounds the graceful stop of in-flight requests.
	ShutdownTimeout time.Duration  `yaml:"shutdown-timeout"`
	Log             logging.Config `yaml:"log"`
	Etcd            EtcdConfig     `yaml:"etcd"`
	Store           desired.Config `yaml:"store"`
	API             api.Config     `yaml:"api"`
	Agents          agents.Config  `yaml:"agents"`
	Policies        policy.Config  `yaml:"policies"`
	// ClickHouse is the history store; an empty address runs the
	// collector without history and ingest (their routes answer 503).
	ClickHouse history.Config `yaml:"clickhouse"`
	Ingest     ingest.Config  `yaml:"ingest"`
	Latest     latest.Config  `yaml:"latest"`
}

// EtcdConfig chooses the desired-state backend: an external cluster when
// Endpoints is set, an embedded single-member etcd in DataDir otherwise.
type EtcdConfig struct {
	Endpoints   []string      `yaml:"endpoints"`
	DialTimeout time.Duration `yaml:"dial-timeout"`
	Username    string        `yaml:"username"`
	Password    string        `yaml:"password"`
	CACert      string        `yaml:"ca-cert"`
	Cert        string        `yaml:"cert"`
	Key         string        `yaml:"key"`
	// EmbeddedClientURL and EmbeddedPeerURL are where the embedded server
	// listens; empty picks free loopback ports at start, so that several
	// collectors (tests, demos) can share a machine.
	EmbeddedClientURL string `yaml:"embedded-client-url"`
	EmbeddedPeerURL   string `yaml:"embedded-peer-url"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		DataDir:         "/var/lib/unet-collector",
		Listen:          "127.0.0.1:8080",
		ShutdownTimeout: 15 * time.Second,
		Log:             logging.DefaultConfig(),
		Etcd:            EtcdConfig{DialTimeout: 5 * time.Second},
		Store:           desired.DefaultConfig(),
		API:             api.DefaultConfig(),
		Agents:          agents.DefaultConfig(),
		Policies:        policy.DefaultConfig(),
		ClickHouse:      defaultClickHouse(),
		Ingest:          ingest.DefaultConfig(),
		Latest:          latest.DefaultConfig(),
	}
}

// defaultClickHouse is history's defaults without an address: history is
// off until one is given (--clickhouse).
func defaultClickHouse() history.Config {
	c := history.DefaultConfig()
	c.Address = ""
	return c
}

// Validate refuses a configuration that cannot work, before anything starts.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Etcd.Endpoints) == 0 && c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is required for the embedded etcd (or give etcd endpoints)"))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if (c.Etcd.Cert == "") != (c.Etcd.Key == "") {
		errs = append(errs, errors.New("etcd cert and key go together"))
	}
	if err := c.API.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Store.Prefix == "" || c.Store.Prefix[len(c.Store.Prefix)-1] != '/' {
		errs = append(errs, fmt.Errorf("store prefix %q must end with '/'", c.Store.Prefix))
	}
	if err := c.Policies.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ClickHouse.Address != "" {
		if err := c.ClickHouse.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse: %w", err))
		}
		if err := c.Ingest.Validate(); err != nil {
			errs = append(errs, err)
		}
		if err := c.Latest.Validate(); err != nil {
			errs = append(errs, err)
		}
		if raw := c.ClickHouse.Retention.Raw; raw > 0 && c.Ingest.DedupeWindow > time.Duration(raw)*24*time.Hour {
			errs = append(errs, fmt.Errorf("ingest dedupe-window (%s) must not exceed the raw retention (%d days): the batch markers are gone beyond it",
				c.Ingest.DedupeWindow, raw))
		}
		if c.Ingest.MaxBatchRows > c.ClickHouse.MaxPendingRows {
			errs = append(errs, fmt.Errorf("ingest max-batch-rows (%d) must not exceed clickhouse max-pending-rows (%d): such a batch could never be written",
				c.Ingest.MaxBatchRows, c.ClickHouse.MaxPendingRows))
		}
	}
	return errors.Join(errs...)
}

// Collector is a running collector.
type Collector struct {
	cfg      Config
	log      *slog.Logger
	registry *prometheus.Registry
	etcd     *embedded.Server // nil with an external cluster
	client   *clientv3.Client
	agents   *agents.Registry
	policies *policy.Engine  // nil without a policy directory
	latest   *latest.View    // nil without ClickHouse
	history  *historyService // nil without ClickHouse
	server   *http.Server
	listener net.Listener
}

// New starts the backends (embedded etcd or a client to the cluster) and
// binds the listener; Run serves. Binding here lets a caller learn the
// address (Listen "127.0.0.1:0") before serving.
func New(ctx context.Context, cfg Config, log *slog.Logger) (c *Collector, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	c = &Collector{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	c.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if c.client, err = c.connectEtcd(ctx); err != nil {
		return nil, err
	}
	store := desired.New(c.client, c.cfg.Store, log.With("component", "desired"))
	// gin's debug mode prints a banner and every route at start: not for a daemon.
	gin.SetMode(gin.ReleaseMode)
	c.agents, err = agents.New(cfg.Agents, agents.Dependencies{Client: c.client, Logger: log.With("component", "agents"), Registry: c.registry})
	if err != nil {
		return nil, err
	}
	deps := api.Dependencies{Store: store, Logger: log.With("component", "api"), Registry: c.registry, Agents: c.agents}
	if cfg.ClickHouse.Address != "" {
		if c.latest, err = latest.New(cfg.Latest, latest.Dependencies{Logger: log, Registry: c.registry,
			// A device that appears, goes up or down, or has events is
			// checked against the policies at once (c.policies is set
			// below, before anything is ingested).
			OnChange: func(nodes []string) {
				if c.policies != nil {
					c.policies.DerivedChanged(nodes...)
				}
			}}); err != nil {
			return nil, err
		}
		c.history = newHistoryService(cfg, log, c.registry, c.latest)
		deps.Latest, deps.History, deps.Ingest = c.latest.Get, c.history.store, c.history.handleIngest
	}
	if c.policies, err = c.newPolicies(ctx, store); err != nil {
		return nil, err
	}
	deps.Policies = c.policies
	a, err := api.New(cfg.API, deps)
	if err != nil {
		return nil, err
	}
	if c.listener, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	c.server = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for handlers to return; the agents' inventory
	// streams would only at their client's will.
	c.server.RegisterOnShutdown(a.Shutdown)
	return c, nil
}

// Addr is the address the API listens on.
func (c *Collector) Addr() string { return c.listener.Addr().String() }

// connectEtcd starts the embedded server or dials the external cluster.
func (c *Collector) connectEtcd(ctx context.Context) (*clientv3.Client, error) {
	e := c.cfg.Etcd
	if len(e.Endpoints) == 0 {
		ecfg := embedded.DefaultConfig(filepath.Join(c.cfg.DataDir, "etcd"))
		var err error
		if ecfg.ClientURL, err = urlOrFreePort(e.EmbeddedClientURL); err != nil {
			return nil, err
		}
		if ecfg.PeerURL, err = urlOrFreePort(e.EmbeddedPeerURL); err != nil {
			return nil, err
		}
		srv, err := embedded.Start(ctx, ecfg, c.log.With("component", "etcd"))
		if err != nil {
			return nil, err
		}
		c.etcd = srv
		// The embedded server accepts large transactions: let bulk imports use them.
		c.cfg.Store.MaxTxnOps = max(c.cfg.Store.MaxTxnOps, int(ecfg.MaxTxnOps))
		c.cfg.Store.MaxTxnBytes = max(c.cfg.Store.MaxTxnBytes, int(ecfg.MaxRequestBytes)/2)
		return srv.Client()
	}
	tlsCfg, err := e.tls()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: e.Endpoints, DialTimeout: e.DialTimeout, TLS: tlsCfg,
		Username: e.Username, Password: e.Password, Logger: zap.NewNop(), Context: ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", e.Endpoints, err)
	}
	c.log.Info("using external etcd", "endpoints", e.Endpoints)
	return cli, nil
}

// urlOrFreePort returns url, or an http URL on a free loopback port.
func urlOrFreePort(url string) (string, error) {
	if url != "" {
		return url, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("embedded etcd: no free port: %w", err)
	}
	defer l.Close()
	return "http://" + l.Addr().String(), nil
}

// tls builds the client TLS configuration, nil when no file is given.
func (e EtcdConfig) tls() (*tls.Config, error) {
	if e.CACert == "" && e.Cert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CACert != "" {
		pem, err := os.ReadFile(e.CACert)
		if err != nil {
			return nil, fmt.Errorf("etcd CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA %s: no certificate found", e.CACert)
		}
	}
	if e.Cert != "" {
		cert, err := tls.LoadX509KeyPair(e.Cert, e.Key)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Run serves until ctx is cancelled (SIGTERM in main), then drains
// in-flight requests and stops the backends.
func (c *Collector) Run(ctx context.Context) error {
	defer c.close()
	errc := make(chan error, 1)
	go func() { errc <- c.server.Serve(c.listener) }()
	// The agent registry follows etcd until ctx ends.
	rctx, stopRegistry := context.WithCancel(ctx)
	defer stopRegistry()
	go func() { _ = c.agents.Run(rctx) }()
	defer c.startPolicies(ctx)() // stopped before etcd closes
	if c.history != nil {
		// Connects in the background; stopped after the server drained
		// the ingest requests (defers run last in, first out).
		c.history.start(ctx)
		defer c.history.stop()
	}
	c.log.Info("collector serving", "listen", c.Addr())
	var etcdErr <-chan error
	if c.etcd != nil {
		etcdErr = c.etcd.Err()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case err := <-etcdErr:
		return fmt.Errorf("embedded etcd failed: %w", err)
	case <-ctx.Done():
	}
	c.log.Info("shutting down", "timeout", c.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	if err := c.server.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

func (c *Collector) close() {
	if c.client != nil {
		c.client.Close()
	}
	if c.etcd != nil {
		c.etcd.Close()
	}
	if c.listener != nil && c.server == nil {
		c.listener.Close()
	}
}
