package agent

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unet-project/unet/agent/cluster"
	"github.com/unet-project/unet/agent/poller"
)

// Sharding. With Config.Gossip set, the agents of a site form a memberlist
// cluster (agent/cluster) and each polls the nodes that consistent hashing
// with bounded loads gives it among the healthy members (shared/ring):
// every agent computes the same map from the same member set, so no node
// is left out and none is polled twice once the set has settled. On a
// change of members each agent recomputes its share, starts the nodes it
// gained at their next slot (a node's slot depends on its name only, so
// the new owner polls it when the old one would have) and stops the nodes
// it lost. Without Gossip the agent polls every node of its sites.

// drainMargin is added to the others' settle time before a leaving agent
// stops polling: they must have taken its nodes over.
const drainMargin = time.Second

// newCluster builds the cluster member when gossip is configured.
func newCluster(cfg *Config, deps Dependencies) (*cluster.Cluster, error) {
	if cfg.Gossip == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(cfg.Gossip)
	if err != nil {
		return nil, fmt.Errorf("gossip %q: %w (give host:port)", cfg.Gossip, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("gossip %q: bad port", cfg.Gossip)
	}
	cc := cfg.Cluster
	cc.Name = cfg.Name
	cc.Site = strings.Join(slices.Sorted(slices.Values(cfg.Sites)), ",")
	cc.BindAddr, cc.BindPort = host, p
	cc.Version = version
	return cluster.New(cc, cluster.Dependencies{Logger: deps.Logger.With("component", "cluster"), Registry: deps.Registry})
}

// owned filters the targets to the nodes this agent owns, with the
// members applied last; all of them without a cluster.
func (a *Agent) owned(ts []poller.Target) []poller.Target {
	if a.cluster == nil {
		return ts
	}
	a.mu.Lock()
	members := a.members
	a.mu.Unlock()
	names := make([]string, len(ts))
	for i := range ts {
		names[i] = ts[i].Node
	}
	mine := cluster.Ownership{Ring: a.cfg.Cluster.Ring}.Owned(a.cfg.Name, members, names)
	out := make([]poller.Target, 0, len(mine))
	for _, t := range ts {
		if _, ok := slices.BinarySearch(mine, t.Node); ok {
			out = append(out, t)
		}
	}
	return out
}

// followMembers applies every settled member set until the cluster
// stops.
func (a *Agent) followMembers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case members, ok := <-a.cluster.Changes():
			if !ok {
				return
			}
			a.mu.Lock()
			a.members = members
			inv, source := a.inv, a.source
			a.mu.Unlock()
			a.log.Info("cluster members changed: recomputing this agent's share", "members", memberNames(members))
			if inv != nil {
				a.apply(inv, source)
			}
			select {
			case a.sharded <- struct{}{}:
			default:
			}
		}
	}
}

// waitFirstShare waits for the first settled member set, so that agents
// starting together do not all poll everything for a moment; after
// timeout the agent polls what it owns with what it knows.
func (a *Agent) waitFirstShare(ctx context.Context, timeout time.Duration) {
	select {
	case <-ctx.Done():
	case <-a.sharded:
	case <-time.After(timeout):
		a.log.Warn("no settled cluster membership yet: polling with what is known", "waited", timeout)
	}
}

// drain hands this agent's nodes over before it stops: it announces its
// leave, keeps polling while the others settle and take the nodes over,
// so that no node misses an interval.
func (a *Agent) drain() {
	if a.cluster == nil {
		return
	}
	if err := a.cluster.Leave(5 * time.Second); err != nil {
		a.log.Warn("leaving the cluster", "error", err)
		return
	}
	wait := a.settleTime() + drainMargin
	a.log.Info("left the cluster: polling on while the others take over", "for", wait)
	time.Sleep(wait)
}

func memberNames(ms []cluster.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// settleTime is the cluster's settle time, default included.
func (a *Agent) settleTime() time.Duration {
	if d := a.cfg.Cluster.SettleTime; d > 0 {
		return d
	}
	return cluster.DefaultConfig().SettleTime
}

// clusterDefaults are the cluster's defaults without the bind address,
// which Gossip gives.
func clusterDefaults() cluster.Config {
	c := cluster.DefaultConfig()
	c.BindAddr, c.BindPort = "", 0
	return c
}
