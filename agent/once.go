package agent

import (
	"context"
	"time"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/model"
)

// Once polls every node of the inventory twice, OnceWait apart, and
// returns their states by node name: the second poll gives the rates
// (in_bps, out_bps…), which need two. A node that did not answer the first
// poll is not polled again (it would only add its timeouts); a node that
// cannot be polled at all (no profile in the inventory) is in the result,
// unreachable, with the reason. The inventory comes from the collector, or
// from the cache when the collector cannot be reached, as in Run. Once
// serves no HTTP and does not touch the schedule.
func (a *Agent) Once(ctx context.Context) ([]model.DeviceState, error) {
	if err := a.start(); err != nil {
		return nil, err
	}
	inv, source, err := a.initialInventory(ctx)
	if err != nil {
		return nil, err
	}
	ts, skipped := targets(inv)
	a.log.Info("polling every node twice", "nodes", len(ts), "wait", a.cfg.OnceWait,
		"inventory_revision", inv.Revision, "inventory_source", source)

	derivers := make(map[string]*derive.Deriver, len(ts))
	update := func(polled []poller.Target, results []poller.Result) {
		for i, r := range results {
			node := polled[i].Node
			d := derivers[node]
			if d == nil {
				d = derive.New(node)
				derivers[node] = d
			}
			out := d.Feed(r.Poll)
			a.logPoll(&out, r)
		}
	}
	update(ts, a.poller.PollOnce(ctx, ts))

	var again []poller.Target
	for _, t := range ts {
		if d := derivers[t.Node]; d != nil && d.Reachable() {
			again = append(again, t)
		}
	}
	if len(again) > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(a.cfg.OnceWait):
		}
		update(again, a.poller.PollOnce(ctx, again))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	states := make(map[string]model.DeviceState, len(inv.Nodes))
	for node, d := range derivers {
		states[node] = d.State()
	}
	for _, u := range skipped {
		states[u.node] = model.DeviceState{Node: u.node, Error: u.reason, Interfaces: []model.InterfaceState{}}
	}
	out := make([]model.DeviceState, 0, len(inv.Nodes))
	for _, n := range inv.Nodes {
		out = append(out, states[n.Name])
	}
	return out, nil
}
