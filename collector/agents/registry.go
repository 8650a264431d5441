// Package agents is the collector's registry of live agents: what each
// agent reported in its last heartbeat (site, address, version, the nodes
// it owns and when it last polled each), kept in etcd under a lease so
// that an agent that stops reporting disappears by itself, and so that
// every collector replica sees the same agents whichever one an agent
// reports to. Each replica follows the registry with a watch and answers
// from memory.
//
// The registry lives outside the desired state's key prefix: heartbeats
// change every few seconds, and the consumers of desired-state watches
// (agents' inventories, policy evaluation) must not receive them.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Config of the registry.
type Config struct {
	// Prefix of the registry's keys in etcd.
	Prefix string `yaml:"prefix"`
	// TTL is how long an agent stays listed after its last heartbeat.
	// Agents report every few seconds; three missed heartbeats drop it.
	TTL time.Duration `yaml:"ttl"`
	// RequestTimeout bounds each etcd request.
	RequestTimeout time.Duration `yaml:"request-timeout"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Prefix: "/unet-runtime/agents/", TTL: 30 * time.Second, RequestTimeout: 5 * time.Second}
}

// Limits of one heartbeat: an agent owns at most MaxNodes nodes.
const (
	MaxNodes      = 100_000
	maxNameLength = 253
)

// Heartbeat is what an agent reports, every few seconds.
type Heartbeat struct {
	Name    string   `json:"name"`
	Sites   []string `json:"sites"`
	Address string   `json:"address,omitempty"` // where its /metrics and /healthz are
	Version string   `json:"version,omitempty"`
	// Healthy: the agent has its inventory and takes part in polling.
	Healthy bool `json:"healthy"`
	// Members are the agents of its sites it sees alive (gossip), itself
	// included.
	Members []string `json:"members,omitempty"`
	// Nodes are the nodes it owns, with their last poll (zero: not yet).
	Nodes []NodePoll `json:"nodes"`
}

// NodePoll is one owned node and its last poll.
type NodePoll struct {
	Node     string    `json:"node"`
	LastPoll time.Time `json:"last_poll,omitzero"`
}

// Validate refuses a heartbeat that cannot be stored or trusted.
func (h *Heartbeat) Validate() error {
	var errs []error
	if h.Name == "" || len(h.Name) > maxNameLength || strings.ContainsAny(h.Name, "/ \t\n") {
		errs = append(errs, fmt.Errorf("name %q: give the agent's name (1 to %d characters, no slash or space)", h.Name, maxNameLength))
	}
	if len(h.Sites) == 0 {
		errs = append(errs, errors.New("sites: at least one"))
	}
	if len(h.Nodes) > MaxNodes {
		errs = append(errs, fmt.Errorf("nodes: %d, at most %d", len(h.Nodes), MaxNodes))
	}
	for i, n := range h.Nodes {
		if n.Node == "" {
			errs = append(errs, fmt.Errorf("nodes[%d]: empty node name", i))
			break
		}
	}
	return errors.Join(errs...)
}

// Agent is an agent as the registry lists it.
type Agent struct {
	Name     string    `json:"name"`
	Site     string    `json:"site"` // the first of Sites
	Sites    []string  `json:"sites"`
	Address  string    `json:"address,omitempty"`
	Version  string    `json:"version,omitempty"`
	Healthy  bool      `json:"healthy"`
	LastSeen time.Time `json:"last_seen"`
	Owned    int       `json:"owned"`
	Members  []string  `json:"members,omitempty"`
}

// record is the stored value: the heartbeat and when the collector got it.
type record struct {
	Heartbeat
	LastSeen time.Time `json:"last_seen"`
}

// Registry records heartbeats and answers from its in-memory copy.
type Registry struct {
	cfg Config
	cli *clientv3.Client
	log *slog.Logger
	now func() time.Time

	mu     sync.RWMutex
	agents map[string]*record
	owner  map[string]string // node → agent owning it
	synced chan struct{}     // closed once the first listing is in

	reports *prometheus.CounterVec
}

// Dependencies of the registry.
type Dependencies struct {
	Client   *clientv3.Client
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// New creates a registry; Run follows etcd.
func New(cfg Config, deps Dependencies) (*Registry, error) {
	d := DefaultConfig()
	if cfg.Prefix == "" {
		cfg.Prefix = d.Prefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = d.TTL
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = d.RequestTimeout
	}
	if deps.Client == nil {
		return nil, errors.New("agents registry: no etcd client")
	}
	r := &Registry{
		cfg: cfg, cli: deps.Client, log: deps.Logger, now: time.Now,
		agents: map[string]*record{}, owner: map[string]string{}, synced: make(chan struct{}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "unet_collector_agent_heartbeats_total", Help: "Agent heartbeats received, by result.",
		}, []string{"result"}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if deps.Registry != nil {
		live := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "unet_collector_agents", Help: "Agents listed (heartbeat within the TTL).",
		}, func() float64 { return float64(len(r.Agents())) })
		for _, c := range []prometheus.Collector{r.reports, live} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("agents registry metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Report stores a heartbeat under a fresh lease of TTL. A lease per
// heartbeat (rather than one kept alive) works whichever replica the next
// heartbeat reaches: the key moves to the newest lease, and the older ones
// expire with nothing attached.
func (r *Registry) Report(ctx context.Context, hb Heartbeat) error {
	if err := hb.Validate(); err != nil {
		r.reports.WithLabelValues("invalid").Inc()
		return err
	}
	hb.Sites = slices.Compact(slices.Sorted(slices.Values(hb.Sites)))
	rec := record{Heartbeat: hb, LastSeen: r.now().UTC()}
	value, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	lease, err := r.cli.Grant(ctx, int64((r.cfg.TTL+time.Second-1)/time.Second))
	if err != nil {
		r.reports.WithLabelValues("error").Inc()
		return fmt.Errorf("agents registry: lease: %w", err)
	}
	if _, err := r.cli.Put(ctx, r.cfg.Prefix+hb.Name, string(value), clientv3.WithLease(lease.ID)); err != nil {
		r.reports.WithLabelValues("error").Inc()
		return fmt.Errorf("agents registry: %w", err)
	}
	r.reports.WithLabelValues("ok").Inc()
	r.apply(hb.Name, &rec) // read-your-writes on this replica
	return nil
}

// Run lists the registry and follows it until ctx ends, listing again
// after a watch failure.
func (r *Registry) Run(ctx context.Context) error {
	for {
		rev, err := r.list(ctx)
		if err == nil {
			err = r.watch(ctx, rev+1)
		}
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("agents registry: following etcd failed; listing again", "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// Synced is closed once the registry has been listed.
func (r *Registry) Synced() <-chan struct{} { return r.synced }

func (r *Registry) list(ctx context.Context) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	resp, err := r.cli.Get(lctx, r.cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	agents := map[string]*record{}
	for _, kv := range resp.Kvs {
		name := strings.TrimPrefix(string(kv.Key), r.cfg.Prefix)
		if rec, ok := r.decode(name, kv.Value); ok {
			agents[name] = rec
		}
	}
	r.mu.Lock()
	r.agents = agents
	r.reindex()
	r.mu.Unlock()
	select {
	case <-r.synced:
	default:
		close(r.synced)
	}
	return resp.Header.Revision, nil
}

func (r *Registry) watch(ctx context.Context, from int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range r.cli.Watch(wctx, r.cfg.Prefix, clientv3.WithPrefix(), clientv3.WithRev(from)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, e := range resp.Events {
			name := strings.TrimPrefix(string(e.Kv.Key), r.cfg.Prefix)
			if e.Type == clientv3.EventTypeDelete {
				r.apply(name, nil)
				continue
			}
			if rec, ok := r.decode(name, e.Kv.Value); ok {
				r.apply(name, rec)
			}
		}
	}
	return errors.New("watch closed")
}

func (r *Registry) decode(name string, value []byte) (*record, bool) {
	var rec record
	if err := json.Unmarshal(value, &rec); err != nil {
		r.log.Warn("agents registry: unreadable record skipped", "agent", name, "error", err)
		return nil, false
	}
	return &rec, true
}

// apply sets (rec != nil) or removes an agent.
func (r *Registry) apply(name string, rec *record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec == nil {
		delete(r.agents, name)
	} else if old, ok := r.agents[name]; !ok || !rec.LastSeen.Before(old.LastSeen) {
		r.agents[name] = rec
	}
	r.reindex()
}

// reindex rebuilds node → owner. Two agents may claim a node for a moment
// during a handover; the one that reported last wins.
func (r *Registry) reindex() {
	r.owner = make(map[string]string, len(r.owner))
	names := slices.SortedFunc(maps.Keys(r.agents), func(a, b string) int {
		return r.agents[a].LastSeen.Compare(r.agents[b].LastSeen)
	})
	for _, name := range names {
		for _, n := range r.agents[name].Nodes {
			r.owner[n.Node] = name
		}
	}
}

// live says whether a record is within its TTL: etcd removes the key when
// the lease expires, this hides it between the expiry and the deletion
// event reaching this replica.
func (r *Registry) live(rec *record) bool {
	return r.now().Sub(rec.LastSeen) <= r.cfg.TTL
}

// Agents lists the live agents by name.
func (r *Registry) Agents() []Agent {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Agent, 0, len(r.agents))
	for _, name := range slices.Sorted(maps.Keys(r.agents)) {
		rec := r.agents[name]
		if !r.live(rec) {
			continue
		}
		a := Agent{
			Name: name, Sites: rec.Sites, Address: rec.Address, Version: rec.Version,
			Healthy: rec.Healthy, LastSeen: rec.LastSeen, Owned: len(rec.Nodes), Members: rec.Members,
		}
		if len(rec.Sites) > 0 {
			a.Site = rec.Sites[0]
		}
		out = append(out, a)
	}
	return out
}

// NodeStatus says which live agent polls node and when it last did; ok is
// false when no live agent claims the node (unpolled).
func (r *Registry) NodeStatus(node string) (agent string, lastPoll time.Time, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	name, found := r.owner[node]
	if !found {
		return "", time.Time{}, false
	}
	rec := r.agents[name]
	if rec == nil || !r.live(rec) {
		return "", time.Time{}, false
	}
	for _, n := range rec.Nodes {
		if n.Node == node {
			return name, n.LastPoll, true
		}
	}
	return name, time.Time{}, true
}

// SiteCovered says whether a live agent serves site.
func (r *Registry) SiteCovered(site string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rec := range r.agents {
		if r.live(rec) && slices.Contains(rec.Sites, site) {
			return true
		}
	}
	return false
}
