package agent

import (
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// device is what the agent keeps of one scheduled node. The poller does no
// derivation: it hands raw polls to the sink, which feeds them to the
// node's Deriver.
type device struct {
	// endpoint is the address:port the Deriver learned from.
	endpoint string
	deriver  *derive.Deriver
	state    model.DeviceState
	polled   bool // state holds a poll's result
}

// endpoint is where a target is polled.
func endpoint(t *poller.Target) string {
	port := t.Profile.Port
	if port == 0 {
		port = model.DefaultSNMPPort
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(port))
}

// apply makes inv the inventory in use: derivers for new nodes, and the
// poller's targets. A node polled at another address or port gets a fresh
// Deriver: it may be another device, whose counters and uptime must not
// be compared with the old one's (bogus rates, reboots).
func (a *Agent) apply(inv *apiclient.Inventory, source string) {
	ts, skipped := targets(inv)
	for _, u := range skipped {
		a.log.Warn("node not polled", "node", u.node, "reason", u.reason)
	}
	a.mu.Lock()
	next := make(map[string]*device, len(ts))
	for i := range ts {
		t := &ts[i]
		ep := endpoint(t)
		if d, ok := a.devices[t.Node]; ok && d.endpoint == ep {
			next[t.Node] = d
			continue
		}
		next[t.Node] = &device{endpoint: ep, deriver: derive.New(t.Node)}
	}
	// Swapped before SetTargets: a result that arrives for a node in
	// between finds no device and is dropped, as the poller drops those of
	// removed targets.
	a.devices = next
	a.inv, a.source = inv, source
	a.mu.Unlock()

	a.m.revision.Set(float64(inv.Revision))
	a.m.nodes.Set(float64(len(inv.Nodes)))
	if source == sourceCache {
		a.m.fromCache.Set(1)
	} else {
		a.m.fromCache.Set(0)
	}
	if err := a.poller.SetTargets(ts); err != nil {
		a.log.Warn("some nodes cannot be polled", "error", err)
	}
}

// handleResult is the poller's sink: it derives the node's new state and
// logs what changed. The poller calls it concurrently for different nodes,
// never for one node twice at once, so the Deriver is used without the lock.
func (a *Agent) handleResult(r poller.Result) {
	a.mu.Lock()
	d := a.devices[r.Poll.Node]
	a.mu.Unlock()
	if d == nil {
		return // removed from the inventory while it was polled
	}
	out := d.deriver.Update(r.Poll)
	a.mu.Lock()
	d.state, d.polled = out.State, true
	a.mu.Unlock()
	a.logPoll(&out, r)
}

// logPoll logs a poll's state at debug level and its events at info.
func (a *Agent) logPoll(out *derive.Output, r poller.Result) {
	st := &out.State
	a.log.Debug("polled", "node", st.Node, "reachable", st.Reachable, "interfaces", len(st.Interfaces),
		"uptime_seconds", st.UptimeSeconds, "duration", r.Poll.Duration, "reason", r.Reason, "error", st.Error)
	for _, e := range out.Events {
		a.m.events.WithLabelValues(string(e.Kind)).Inc()
		attrs := []any{"node", e.Node, "kind", string(e.Kind), "at", e.Time}
		if e.IfName != "" || e.IfIndex != 0 {
			attrs = append(attrs, "interface", e.IfName, "if_index", e.IfIndex)
		}
		if e.From != "" || e.To != "" {
			attrs = append(attrs, "from", e.From, "to", e.To)
		}
		if e.Detail != "" {
			attrs = append(attrs, "detail", e.Detail)
		}
		if n := e.Neighbor; n != nil {
			attrs = append(attrs, slog.Group("neighbor", "local_port", n.LocalPort, "sys_name", n.SysName,
				"port_id", n.PortID, "chassis_id", n.ChassisID))
		}
		a.log.Info("device event", attrs...)
	}
}

// States returns the newest state of every scheduled node polled so far,
// by node name.
func (a *Agent) States() []model.DeviceState {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]model.DeviceState, 0, len(a.devices))
	for _, name := range slices.Sorted(maps.Keys(a.devices)) {
		if d := a.devices[name]; d.polled {
			out = append(out, d.state)
		}
	}
	return out
}

// deviceCounts returns the scheduled nodes and the reachable ones.
func (a *Agent) deviceCounts() (total, reachable int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.devices {
		if d.polled && d.state.Reachable {
			reachable++
		}
	}
	return len(a.devices), reachable
}
