// Package cluster makes the agents of a site a memberlist (SWIM gossip)
// cluster and tells each agent which members share the site's nodes, so it
// can compute the nodes it owns (Ownership, with shared/ring) without a
// coordinator.
//
//	c, err := cluster.New(cfg, cluster.Dependencies{Logger: log, Registry: reg})
//	err = c.Start(ctx)            // binds, joins cfg.Join in the background
//	c.SetHealthy(true)            // once the inventory is loaded
//	for members := range c.Changes() {
//		mine := cluster.Ownership{Ring: cfg.Ring}.Owned(cfg.Name, members, nodeIDs)
//		...                       // poll mine, stop the rest
//	}
//	// On SIGTERM: c.Leave(5*time.Second); stop polling; c.Stop()
//
// Every member advertises its site, version, API address and health in its
// memberlist metadata. The member set that matters is the live members of
// this site that are healthy: a newcomer takes its share only once it says
// it is ready, and an agent that loses its health (SetHealthy(false))
// hands its share over without leaving.
//
// Changes are not applied as they come: the set must stay the same for
// SettleTime first (at most SettleTimeMax in all), so a member that leaves
// and comes back, or whose health flaps, within that time moves nothing.
// Every agent sees the same gossip within a few hundred milliseconds and
// waits the same time, so all apply the same set at about the same time.
//
// Timings: a graceful Leave reaches the others in one gossip round (about
// GossipInterval); a member that dies without leaving is declared dead by
// failure detection (see Config.ProbeInterval: about 3 s for a small
// cluster with the defaults, at most about 10 s). Either way its nodes move
// SettleTime later.
//
// Metrics (prefix unet_cluster_): members (the applied set), members_live
// (every live member seen, any site or health), changes_applied_total,
// flaps_suppressed_total, join_attempts_total{result}, health_score
// (memberlist's awareness: 0 is healthy, higher means this member misses
// its probes' deadlines), healthy (what this member advertises).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
)

// Dependencies are what a Cluster needs from its surroundings.
type Dependencies struct {
	// Logger for membership events (never the secret key). Nil discards.
	Logger *slog.Logger
	// Registry receives the metrics. Nil keeps them private.
	Registry prometheus.Registerer
}

// Cluster is this agent's membership in its site's cluster.
type Cluster struct {
	cfg    Config
	key    []byte
	ringID string
	// ringWarned: the members already warned about for a ring
	// configuration of theirs (the loop's alone).
	ringWarned map[string]string
	log        *slog.Logger
	m          *metrics
	healthy    atomic.Bool
	left       atomic.Bool
	notify     chan struct{} // wakes the loop; capacity 1
	changes    chan []Member // capacity 1, the newest set replaces an unread one

	// nodes are the live members as memberlist's events describe them,
	// copied in the event callbacks: the *Node that Members returns
	// change under memberlist's lock, so reading them later is a data
	// race. Their own lock, since memberlist calls the events with its
	// lock held, also from within Start (when mu is held).
	nodesMu sync.Mutex
	nodes   map[string]memberlist.Node

	// leaveMu keeps Stop's shutdown from running under a Leave in
	// progress: memberlist panics on a Leave after Shutdown.
	leaveMu sync.Mutex

	mu      sync.Mutex
	ml      *memberlist.Memberlist // set by Start; the goroutines read it freely
	addr    string                 // where this member gossips, set by Start
	applied []Member               // the settled set, sorted by name
	live    []Member               // every live member with readable metadata, sorted
	started bool
	stopped bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New checks the configuration and builds a cluster member; nothing
// listens before Start.
func New(cfg Config, deps Dependencies) (*Cluster, error) {
	if err := cfg.normalize(); err != nil {
		return nil, fmt.Errorf("invalid cluster configuration: %w", err)
	}
	key, _ := cfg.secretKey()
	c := &Cluster{
		cfg:        cfg,
		key:        key,
		ringID:     ringID(cfg),
		ringWarned: map[string]string{},
		log:        deps.Logger,
		notify:     make(chan struct{}, 1),
		changes:    make(chan []Member, 1),
		nodes:      map[string]memberlist.Node{},
		stop:       make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg, c)
	if err != nil {
		return nil, fmt.Errorf("registering the cluster's metrics: %w", err)
	}
	c.m = m
	return c, nil
}

// ringID sums up the ring configuration for the metadata.
func ringID(cfg Config) string {
	r := cfg.Ring
	d := DefaultConfig().Ring
	if r.LoadFactor == 0 {
		r.LoadFactor = d.LoadFactor
	}
	if r.VirtualNodes == 0 {
		r.VirtualNodes = d.VirtualNodes
	}
	return fmt.Sprintf("%g/%d", r.LoadFactor, r.VirtualNodes)
}

// memberlistConfig translates the configuration.
func (c *Cluster) memberlistConfig() *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.cfg.Name
	mc.BindAddr = c.cfg.BindAddr
	mc.BindPort = c.cfg.BindPort
	mc.AdvertiseAddr = c.cfg.AdvertiseAddr
	mc.AdvertisePort = c.cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		// memberlist fills it in itself only for BindPort 0.
		mc.AdvertisePort = c.cfg.BindPort
	}
	mc.ProbeInterval = c.cfg.ProbeInterval
	mc.ProbeTimeout = c.cfg.ProbeTimeout
	mc.SuspicionMult = c.cfg.SuspicionMult
	mc.SuspicionMaxTimeoutMult = c.cfg.SuspicionMaxTimeoutMult
	mc.GossipInterval = c.cfg.GossipInterval
	mc.SecretKey = c.key
	d := delegate{c}
	mc.Delegate = d
	mc.Events = d
	mc.Conflict = d
	mc.Logger = log.New(logWriter{c.log.With("component", "memberlist")}, "", 0)
	return mc
}

// Start binds the gossip port and starts joining (Config.Join) and
// tracking the members, until Stop or until ctx ends. It fails when the
// port cannot be bound; unreachable join addresses are retried in the
// background.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("cluster already started")
	}
	ml, err := memberlist.Create(c.memberlistConfig())
	if err != nil {
		return fmt.Errorf("starting the cluster member on %s:%d: %w", c.cfg.BindAddr, c.cfg.BindPort, err)
	}
	c.started = true
	c.ml = ml
	// LocalNode's fields change under memberlist's lock later on (health
	// updates): read the address once, now that nothing else runs.
	c.addr = ml.LocalNode().Address()
	c.log.Info("cluster member started", "name", c.cfg.Name, "site", c.cfg.Site, "address", c.addr,
		"encrypted", c.key != nil, "join", c.cfg.Join)
	ctx, cancel := context.WithCancel(ctx)
	c.wg.Add(3)
	go func() {
		defer c.wg.Done()
		select {
		case <-ctx.Done():
			// Stop waits for the goroutines: leave it its own.
			go c.Stop()
		case <-c.stop:
		}
		cancel()
	}()
	go func() {
		defer c.wg.Done()
		c.loop(ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.joinLoop(ctx)
	}()
	c.wake()
	return nil
}

// Address returns where this member gossips (host:port), for the others'
// Join; empty before Start.
func (c *Cluster) Address() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// list returns the memberlist, nil before Start.
func (c *Cluster) list() *memberlist.Memberlist {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ml
}

// Join joins the cluster through the given members now (host:port or DNS
// names) and returns how many answered. Start joins Config.Join by itself;
// this is for joining elsewhere, and for tests.
func (c *Cluster) Join(addresses []string) (int, error) {
	ml := c.list()
	if ml == nil {
		return 0, errors.New("cluster not started")
	}
	n, err := ml.Join(addresses)
	if err != nil {
		msg := flatten(err)
		hint := "check the addresses and that the agents there run"
		switch {
		case isKeyMismatch(msg):
			hint = "the gossip encryption differs: every agent of the site needs the same cluster secret-key"
		case c.key != nil:
			hint += ", with the same cluster secret-key as this one"
		default:
			hint += "; if they use a cluster secret-key, this agent needs it too"
		}
		return n, fmt.Errorf("joining the cluster through %s: %s (%s)", strings.Join(addresses, ", "), msg, hint)
	}
	return n, nil
}

// flatten writes memberlist's multi-errors (one per address, on several
// lines) on one line.
func flatten(err error) string {
	if m, ok := err.(interface{ WrappedErrors() []error }); ok {
		var parts []string
		for _, e := range m.WrappedErrors() {
			parts = append(parts, e.Error())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// joinLoop joins Config.Join whenever no other member is known: at start
// until it works, and later if this member ends up alone (the others were
// all declared dead during a partition: memberlist would not look for
// them again).
func (c *Cluster) joinLoop(ctx context.Context) {
	if len(c.cfg.Join) == 0 {
		return
	}
	const aloneCheck = 5 * time.Second
	backoff := c.cfg.JoinRetry
	failures := 0
	for {
		wait := aloneCheck
		if c.alone() && !c.left.Load() {
			_, err := c.Join(c.cfg.Join)
			// Success is knowing someone else: a join address may well be
			// our own.
			if err == nil && !c.alone() {
				c.m.joins.WithLabelValues("success").Inc()
				if failures > 0 {
					c.log.Info("joined the cluster", "after_attempts", failures+1, "members", c.ml.NumMembers())
				} else {
					c.log.Info("joined the cluster", "members", c.ml.NumMembers())
				}
				failures, backoff = 0, c.cfg.JoinRetry
			} else {
				failures++
				c.m.joins.WithLabelValues("failure").Inc()
				if err == nil {
					err = errors.New("no other member answered")
				}
				// The first failure and then one in ten at warning: peers
				// starting later is normal, a lasting failure is not.
				level := slog.LevelDebug
				if failures == 1 || failures%10 == 0 {
					level = slog.LevelWarn
				}
				c.log.Log(ctx, level, "cannot join the cluster yet, retrying", "error", err, "attempts", failures, "retry_in", backoff)
				wait = backoff
				backoff = min(2*backoff, maxJoinRetry)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// alone reports whether no other live member is known.
func (c *Cluster) alone() bool {
	return c.ml.NumMembers() <= 1
}

// nodeEvent records what memberlist says of a member: alive (joined or
// updated) or gone (dead or left).
func (c *Cluster) nodeEvent(n *memberlist.Node, alive bool) {
	c.nodesMu.Lock()
	if alive {
		cp := *n
		cp.Meta = slices.Clone(n.Meta)
		c.nodes[n.Name] = cp
	} else {
		delete(c.nodes, n.Name)
	}
	c.nodesMu.Unlock()
	c.wake()
}

// wake tells the loop that the membership may have changed.
func (c *Cluster) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// loop applies membership changes once they have settled.
func (c *Cluster) loop(ctx context.Context) {
	defer close(c.changes)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		pending        bool      // the eligible set differs from the applied one
		pendingSince   time.Time // since when it differs
		candidate      []string  // the last eligible set seen
		candidateSince time.Time // since when it has been that
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.notify:
		case <-timer.C:
		}
		if c.left.Load() {
			// A leaving member hands its nodes over; what it would
			// compute now does not matter.
			continue
		}
		eligible := c.observe()
		names := memberNames(eligible)
		c.mu.Lock()
		appliedNames := memberNames(c.applied)
		if slices.Equal(names, appliedNames) {
			// Same members: keep their newest metadata, nothing to move.
			c.applied = eligible
		}
		c.mu.Unlock()
		now := time.Now()
		if slices.Equal(names, appliedNames) {
			if pending {
				pending = false
				timer.Stop()
				c.m.flaps.Inc()
				c.log.Info("membership came back to the applied set before settling: nothing moves", "members", names)
			}
			continue
		}
		if !pending || !slices.Equal(names, candidate) {
			if !pending {
				pending, pendingSince = true, now
			}
			candidate, candidateSince = names, now
			c.log.Debug("membership changing, waiting for it to settle", "members", names, "settle_time", c.cfg.SettleTime)
		}
		wait := min(candidateSince.Add(c.cfg.SettleTime).Sub(now), pendingSince.Add(c.cfg.SettleTimeMax).Sub(now))
		if wait > 0 {
			timer.Reset(wait)
			continue
		}
		pending = false
		c.apply(eligible, appliedNames, now.Sub(pendingSince))
	}
}

// apply makes eligible the applied set and delivers it.
func (c *Cluster) apply(eligible []Member, before []string, waited time.Duration) {
	c.mu.Lock()
	c.applied = eligible
	c.mu.Unlock()
	c.m.changes.Inc()
	names := memberNames(eligible)
	joined, gone := diff(before, names)
	c.log.Info("membership change applied", "members", names, "joined", joined, "gone", gone, "waited", waited.Round(time.Millisecond))
	out := slices.Clone(eligible)
	// The loop is the only sender: after draining, the send cannot block.
	select {
	case c.changes <- out:
	default:
		select {
		case <-c.changes:
		default:
		}
		c.changes <- out
	}
}

// observe reads the live members, keeps them for All, and returns those
// that share the nodes: this site's, healthy.
func (c *Cluster) observe() []Member {
	c.nodesMu.Lock()
	nodes := make([]memberlist.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	c.nodesMu.Unlock()
	live := make([]Member, 0, len(nodes))
	var eligible []Member
	for _, n := range nodes {
		m, err := memberOf(&n)
		if err != nil {
			c.log.Debug("ignoring a member", "error", err)
			continue
		}
		live = append(live, m)
		if m.Site != c.cfg.Site || !m.Healthy {
			continue
		}
		if m.Ring != c.ringID && c.ringWarned[m.Name] != m.Ring {
			c.ringWarned[m.Name] = m.Ring
			c.log.Warn("a member of the site hashes nodes with another ring configuration: nodes may be polled twice or not at all",
				"member", m.Name, "its_ring", m.Ring, "our_ring", c.ringID)
		}
		eligible = append(eligible, m)
	}
	byName := func(a, b Member) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(live, byName)
	slices.SortFunc(eligible, byName)
	c.mu.Lock()
	c.live = live
	c.mu.Unlock()
	return eligible
}

// Members returns the applied member set: this site's healthy live
// members as of the last settled change, sorted by name.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.applied)
}

// All returns every live member seen, of any site and health, sorted by
// name: what memberlist knows now, before settling (for status pages).
func (c *Cluster) All() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.live)
}

// Changes delivers the applied member set each time it changes. The set
// starts empty (this member owns nothing before the first delivery, which
// comes SettleTime after it or another member turns healthy). A slow
// reader gets the newest set only. The channel is closed when the cluster
// stops.
func (c *Cluster) Changes() <-chan []Member {
	return c.changes
}

// SetHealthy sets what this member advertises: healthy members take a
// share of the nodes. Call it with true once the agent can poll (its
// inventory is loaded); false hands its share to the others without
// leaving. It may be called before Start.
func (c *Cluster) SetHealthy(healthy bool) {
	if c.healthy.Swap(healthy) == healthy {
		return
	}
	c.log.Info("cluster health advertised", "healthy", healthy)
	c.mu.Lock()
	started, stopped := c.ml != nil, c.stopped
	c.mu.Unlock()
	if !started || stopped || c.left.Load() {
		return
	}
	// UpdateNode waits for the broadcast to go out; gossip retransmits it
	// anyway, so a timeout is not an error worth more than a debug line.
	if err := c.ml.UpdateNode(c.cfg.GossipInterval * 5); err != nil {
		c.log.Debug("health update not yet broadcast", "error", err)
	}
	c.wake()
}

// Leave tells the others that this member goes, so they take its nodes
// over at once (after SettleTime) instead of after failure detection, and
// waits up to timeout for the message to go out. The member keeps
// gossiping until Stop, but applies no more changes: stop polling, then
// Stop.
func (c *Cluster) Leave(timeout time.Duration) error {
	c.leaveMu.Lock()
	defer c.leaveMu.Unlock()
	c.mu.Lock()
	started, stopped := c.ml != nil, c.stopped
	c.mu.Unlock()
	if !started || stopped {
		return errors.New("cluster not running")
	}
	if c.left.Swap(true) {
		return nil
	}
	start := time.Now()
	if err := c.ml.Leave(timeout); err != nil {
		return fmt.Errorf("leaving the cluster: %w (the others will notice by failure detection)", err)
	}
	c.log.Info("left the cluster", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop stops gossiping, without a Leave: to the others it looks like a
// crash until they hear otherwise. Call Leave first to hand the nodes over
// at once. Changes is closed.
func (c *Cluster) Stop() {
	c.mu.Lock()
	if !c.started || c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	close(c.stop)
	c.mu.Unlock()
	c.leaveMu.Lock()
	err := c.ml.Shutdown()
	c.leaveMu.Unlock()
	if err != nil {
		c.log.Debug("memberlist shutdown", "error", err)
	}
	c.wg.Wait()
}

func memberNames(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// diff returns the names in b but not a, and in a but not b; both sorted.
func diff(a, b []string) (added, removed []string) {
	for _, n := range b {
		if _, found := slices.BinarySearch(a, n); !found {
			added = append(added, n)
		}
	}
	for _, n := range a {
		if _, found := slices.BinarySearch(b, n); !found {
			removed = append(removed, n)
		}
	}
	return added, removed
}
