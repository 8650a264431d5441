// Package agent wires the μNet agent: it reads its inventory (the pollable
// nodes of its sites and their SNMP profiles) from the collector's agent
// channel, keeps it on disk for when the collector is away, polls the nodes
// with agent/poller, derives their state with agent/derive (one Deriver per
// node), logs the events, and serves /metrics, /healthz and /readyz.
//
//	a, err := agent.New(cfg, agent.Dependencies{Logger: log, Registry: reg})
//	err = a.Run(ctx)             // until ctx ends
//	states, err := a.Once(ctx)   // or: poll every node twice, return the states
//
// The inventory is then followed: the collector's changes are watched from
// its revision and applied as they come (follow.go); when the collector is
// away the agent polls on with the last inventory and reads it again every
// Config.InventoryRefresh at most. At start, when the collector cannot be reached, the
// agent starts from the inventory cached in Config.DataDir (inventory.json,
// mode 0600: it holds SNMP secrets); with neither, it stops with an error.
// Which nodes are pollable is the collector's call (see the agent channel
// in collector/api/agent.go).
//
// Run streams every poll's derived output (device sample, interface
// samples, events) to the collector's ingest endpoint, in batches written
// first to a durable spool in Config.DataDir/spool (stream.go, agent/spool,
// agent/sender); Once does not.
//
// Metrics (prefix unet_agent_, besides the poller's unet_poller_ and the
// stream's unet_agent_stream_, unet_spool_ and unet_sender_):
// inventory_fetches_total{result}, inventory_revision, inventory_nodes,
// inventory_from_cache, inventory_last_success_timestamp_seconds,
// events_total{kind}, devices, devices_reachable.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/agent/cluster"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/internal/logging"
	"github.com/unet-project/unet/shared/apiclient"
)

// Config of the agent. YAML keys are the file format; every key is also an
// UNET_* environment variable (see internal/config).
type Config struct {
	// Collector is the collector's URL (http://host:port).
	Collector string `yaml:"collector"`
	// Sites are the names of the sites (locations of kind site) whose nodes
	// this agent polls.
	Sites []string `yaml:"sites"`
	// DataDir holds the cached inventory.
	DataDir string `yaml:"data-dir"`
	// Name identifies the agent to the collector and in logs. Default: the
	// host name.
	Name string `yaml:"name"`
	// Listen is the address of /metrics, /healthz and /readyz; empty
	// serves none. Not used by Once.
	Listen string `yaml:"listen"`
	// InventoryRefresh is the longest wait between two attempts to read
	// the inventory while the collector is away (changes are followed as
	// they come otherwise).
	InventoryRefresh time.Duration `yaml:"inventory-refresh"`
	// HeartbeatInterval is how often the agent reports itself to the
	// collector (its nodes and their last polls); the collector forgets an
	// agent silent for three intervals.
	HeartbeatInterval time.Duration `yaml:"heartbeat-interval"`
	// InventoryTimeout bounds one read of the inventory.
	InventoryTimeout time.Duration `yaml:"inventory-timeout"`
	// OnceWait is Once's pause between its two polls: rates need two.
	OnceWait time.Duration `yaml:"once-wait"`
	// ShutdownTimeout bounds the stop of the HTTP server.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
	// Poller configures the polling engine (workers, breaker, extra OIDs).
	Poller poller.Config `yaml:"poller"`
	// Stream configures how Run sends the derived samples and events to
	// the collector: batches, the spool in DataDir/spool, the sender.
	Stream StreamConfig `yaml:"stream"`
	// Gossip is host:port where the agent joins the other agents of its
	// sites (memberlist): they share the nodes by consistent hashing
	// (sharding.go). Empty: the agent polls every node of its sites alone.
	Gossip string `yaml:"gossip"`
	// Cluster tunes the gossip cluster: members to join, encryption key,
	// settle time, failure detection (its name, site and bind address come
	// from Name, Sites and Gossip).
	Cluster cluster.Config `yaml:"cluster"`
	// Log is for main, which builds the logger (Dependencies.Logger).
	Log logging.Config `yaml:"log"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		DataDir:           "/var/lib/unet-agent",
		Listen:            "127.0.0.1:9180",
		InventoryRefresh:  30 * time.Second,
		HeartbeatInterval: 10 * time.Second,
		InventoryTimeout:  10 * time.Second,
		OnceWait:          2 * time.Second,
		ShutdownTimeout:   5 * time.Second,
		Poller:            poller.DefaultConfig(),
		Stream:            DefaultStreamConfig(),
		Cluster:           clusterDefaults(),
		Log:               logging.DefaultConfig(),
	}
}

// namePattern is what an agent name looks like: it goes into headers and
// log lines as it is.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Validate refuses a configuration the agent cannot work with, naming every
// problem at once. The poller's settings are checked by New.
func (c *Config) Validate() error {
	var errs []error
	if c.Collector == "" {
		errs = append(errs, errors.New("collector is required: the collector's URL, e.g. http://127.0.0.1:8080"))
	} else if _, err := apiclient.New(c.Collector); err != nil {
		errs = append(errs, err)
	}
	if len(c.Sites) == 0 {
		errs = append(errs, errors.New("at least one site is required"))
	}
	for _, s := range c.Sites {
		if s == "" {
			errs = append(errs, errors.New("a site name is empty"))
		}
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir is required: the inventory is cached there"))
	}
	if c.Name != "" && !namePattern.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name %q may only hold letters, digits, '.', '_' and '-' (at most 128)", c.Name))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
		}
	}
	if c.Gossip != "" {
		if _, _, err := net.SplitHostPort(c.Gossip); err != nil {
			errs = append(errs, fmt.Errorf("gossip %q: %w (give host:port)", c.Gossip, err))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"inventory-refresh", c.InventoryRefresh}, {"heartbeat-interval", c.HeartbeatInterval}, {"inventory-timeout", c.InventoryTimeout},
		{"once-wait", c.OnceWait}, {"shutdown-timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive (got %s)", d.name, d.v))
		}
	}
	errs = append(errs, c.Stream.validate(c))
	return errors.Join(errs...)
}

// Dependencies are what the agent needs from its surroundings.
type Dependencies struct {
	// Logger for everything the agent and its poller log (never secrets).
	// Nil discards.
	Logger *slog.Logger
	// Registry receives the agent's and the poller's metrics and is what
	// /metrics serves. Nil: a private one.
	Registry *prometheus.Registry
}

// Agent polls the nodes of its sites.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	reg       *prometheus.Registry
	client    *apiclient.Client
	poller    *poller.Poller
	m         *metrics
	cachePath string
	devices   *Devices         // the scheduled nodes' derived state (its own lock)
	stream    *stream          // Run's batches to the collector; nil in Once
	cluster   *cluster.Cluster // nil without Gossip
	sharded   chan struct{}    // a member set was applied (capacity 1)

	mu      sync.Mutex
	inv     *apiclient.Inventory // the inventory in use, nil before the first
	source  string               // where inv came from: "collector" or "cache"
	polling bool                 // the poller runs (readiness)
	started bool                 // Run or Once was called
	addr    string               // where the HTTP server listens
	ready   chan struct{}        // closed once Run polls
	members []cluster.Member     // the cluster's applied member set
}

// New builds an agent; nothing runs before Run or Once.
func New(cfg Config, deps Dependencies) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid agent configuration: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = defaultName()
	}
	cfg.Sites = dedupe(cfg.Sites)
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	client, err := apiclient.New(cfg.Collector, apiclient.WithUserAgent("unet-agent/1 ("+cfg.Name+")"))
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg: cfg, log: log, reg: reg, client: client,
		cachePath: cachePath(cfg.DataDir),
		devices:   NewDevices(),
		ready:     make(chan struct{}),
		sharded:   make(chan struct{}, 1),
	}
	if a.cluster, err = newCluster(&cfg, Dependencies{Logger: log, Registry: reg}); err != nil {
		return nil, err
	}
	if a.m, err = newMetrics(reg, a); err != nil {
		return nil, fmt.Errorf("registering the agent's metrics: %w", err)
	}
	a.poller, err = poller.New(cfg.Poller, poller.Dependencies{
		Logger: log.With("component", "poller"), Registry: reg, Sink: a.handleResult,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// defaultName is the host name, or "unet-agent" when it has none that fits.
func defaultName() string {
	if h, err := os.Hostname(); err == nil && namePattern.MatchString(h) {
		return h
	}
	return "unet-agent"
}

// dedupe drops repeated names, keeping the first order.
func dedupe(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Name is the agent's name (the host name unless configured).
func (a *Agent) Name() string { return a.cfg.Name }

// start claims the agent for one Run or Once.
func (a *Agent) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return errors.New("agent already started: Run and Once may be called once")
	}
	a.started = true
	return nil
}

// Run polls until ctx ends: it binds the listener, gets the inventory (from
// the collector, else from the cache), polls, and reads the inventory again
// every InventoryRefresh. A clean stop returns nil.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.start(); err != nil {
		return err
	}
	srv, err := a.serveHTTP()
	if err != nil {
		return err
	}
	defer a.stopHTTP(srv)

	inv, source, err := a.initialInventory(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop all the same
		}
		return err
	}
	a.apply(inv, source)
	if a.cluster != nil {
		// Take a share only once the inventory is in: members that
		// cannot poll get none.
		a.cluster.SetHealthy(true)
		// Like the poller, the cluster outlives ctx by the drain: the
		// leave is announced after ctx ends.
		if err := a.cluster.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		defer a.cluster.Stop()
		go a.followMembers(ctx)
		a.waitFirstShare(ctx, 5*a.settleTime())
	}
	// Before the poller: every poll's output goes to the stream. Closed
	// after the poller stopped (defers run last): what it holds goes to
	// the spool.
	if a.stream, err = a.startStream(); err != nil {
		return err
	}
	defer a.stream.close()
	// The poller outlives ctx by the drain (sharding.go): it is stopped
	// explicitly.
	if err := a.poller.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.mu.Lock()
	a.polling = true
	a.mu.Unlock()
	close(a.ready)
	a.log.Info("agent polling", "agent", a.cfg.Name, "sites", a.cfg.Sites, "nodes", len(inv.Nodes),
		"inventory_revision", inv.Revision, "inventory_source", source, "listen", a.Addr())

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.follow(ctx) }()
	go func() { defer wg.Done(); a.heartbeat(ctx) }()
	<-ctx.Done()
	a.log.Info("agent stopping")
	a.drain()
	a.poller.Stop()
	wg.Wait()
	a.mu.Lock()
	a.polling = false
	a.mu.Unlock()
	return nil
}

// Ready is closed once Run polls (tests and main wait on it).
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Addr is where the HTTP server listens, "" when it does not (yet).
func (a *Agent) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}
