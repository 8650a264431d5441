package agent

import (
	"context"
	"time"

	"github.com/unet-project/unet/shared/apiclient"
)

// Heartbeats tell the collector that the agent lives, where it is, which
// nodes it polls and when it last polled each: the collector lists agents
// (unetctl agents), answers who polls a node (unetctl node status), and
// reports the nodes of a site that no live agent polls.

// heartbeat reports the agent every HeartbeatInterval until ctx ends. A
// failed report is logged once per outage; the next one tries again.
func (a *Agent) heartbeat(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	failing := false
	for {
		hctx, cancel := context.WithTimeout(ctx, a.cfg.InventoryTimeout)
		err := a.client.Heartbeat(hctx, a.heartbeatReport())
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			a.log.Warn("cannot report to the collector (it will not list this agent until it can)", "error", err)
			failing = true
		case err == nil && failing:
			a.log.Info("reporting to the collector again")
			failing = false
		}
		if err == nil {
			a.m.heartbeats.WithLabelValues("ok").Inc()
		} else {
			a.m.heartbeats.WithLabelValues("failed").Inc()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heartbeatReport is what the agent reports now.
func (a *Agent) heartbeatReport() apiclient.Heartbeat {
	a.mu.Lock()
	healthy := a.polling
	addr := a.addr
	a.mu.Unlock()
	hb := apiclient.Heartbeat{
		Name: a.cfg.Name, Sites: a.cfg.Sites, Address: addr, Version: version,
		Healthy: healthy, Members: a.memberList(),
	}
	hb.Nodes = a.devices.LastPolls()
	return hb
}

// members are the agents of the site this one sees alive, itself included.
func (a *Agent) memberList() []string {
	if a.cluster == nil {
		return []string{a.cfg.Name}
	}
	return memberNames(a.cluster.All())
}
