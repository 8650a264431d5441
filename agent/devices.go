package agent

import (
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/unet-project/unet/agent/derive"
	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// Devices is what the agent keeps of the nodes it polls: a Deriver per
// node, fed the node's raw polls (the poller does no derivation). A node's
// state is built when asked for (States), from what its Deriver keeps
// anyway, rather than kept beside it: an agent polls tens of thousands of
// devices. Safe for concurrent use: the poller feeds different nodes at
// once, one node's polls in order. The agent has one; bench/poller-scale
// uses one the same way.
type Devices struct {
	mu sync.Mutex
	m  map[string]*device // by node
}

// device is one polled node.
type device struct {
	// endpoint is the address:port the Deriver learned from.
	endpoint string

	mu      sync.Mutex // Update against States and Counts
	deriver *derive.Deriver
	polled  bool // the Deriver had a poll
}

// NewDevices returns an empty set.
func NewDevices() *Devices {
	return &Devices{m: map[string]*device{}}
}

// Set makes ts the polled nodes: a Deriver for each new one, and for each
// one polled at another address or port (it may be another device, whose
// counters and uptime must not be compared with the old one's: bogus
// rates, reboots); the others keep theirs. A result for a node not in ts
// is dropped from then on.
func (s *Devices) Set(ts []poller.Target) {
	next := make(map[string]*device, len(ts))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ts {
		t := &ts[i]
		ep := endpoint(t)
		if d, ok := s.m[t.Node]; ok && d.endpoint == ep {
			next[t.Node] = d
			continue
		}
		next[t.Node] = &device{endpoint: ep, deriver: derive.New(t.Node)}
	}
	s.m = next
}

// Update derives r, a poll of one of Set's nodes (it is the poller's Sink
// in the agent); false when the node is not one (removed while it was
// polled). Output.State is left zero: States builds it.
func (s *Devices) Update(r poller.Result) (derive.Output, bool) {
	s.mu.Lock()
	d := s.m[r.Poll.Node]
	s.mu.Unlock()
	if d == nil {
		return derive.Output{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.deriver.Feed(r.Poll)
	d.polled = true
	return out, true
}

// States returns the newest state of every node polled so far, by node
// name.
func (s *Devices) States() []model.DeviceState {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.m))
	ds := make([]*device, len(names))
	for i, n := range names {
		ds[i] = s.m[n]
	}
	s.mu.Unlock()
	out := make([]model.DeviceState, 0, len(ds))
	for _, d := range ds {
		d.mu.Lock()
		if d.polled {
			out = append(out, d.deriver.State())
		}
		d.mu.Unlock()
	}
	return out
}

// LastPolls returns every node and the time of its last poll (zero: not
// yet), by node name: what a heartbeat reports. Cheap, unlike States,
// which builds every node's state (10 KB for 48 interfaces).
func (s *Devices) LastPolls() []apiclient.NodePoll {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]apiclient.NodePoll, 0, len(s.m))
	for _, name := range slices.Sorted(maps.Keys(s.m)) {
		d := s.m[name]
		d.mu.Lock()
		out = append(out, apiclient.NodePoll{Node: name, LastPoll: d.deriver.LastPoll()})
		d.mu.Unlock()
	}
	return out
}

// Counts returns the number of nodes, and of those whose last poll
// succeeded.
func (s *Devices) Counts() (total, reachable int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.m {
		d.mu.Lock()
		if d.polled && d.deriver.Reachable() {
			reachable++
		}
		d.mu.Unlock()
	}
	return len(s.m), reachable
}

// endpoint is where a target is polled.
func endpoint(t *poller.Target) string {
	port := t.Profile.Port
	if port == 0 {
		port = model.DefaultSNMPPort
	}
	return net.JoinHostPort(t.Address, strconv.Itoa(port))
}

// apply makes inv the inventory in use: derivers for new nodes (see
// Devices.Set), and the poller's targets.
func (a *Agent) apply(inv *apiclient.Inventory, source string) {
	ts, skipped := targets(inv)
	for _, u := range skipped {
		a.log.Warn("node not polled", "node", u.node, "reason", u.reason)
	}
	ts = a.owned(ts)
	// Set before SetTargets: a result that arrives for a node in between
	// finds no device and is dropped, as the poller drops those of
	// removed targets.
	a.devices.Set(ts)
	a.mu.Lock()
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
// logs what changed.
func (a *Agent) handleResult(r poller.Result) {
	if out, ok := a.devices.Update(r); ok {
		a.logPoll(&out, r)
		a.stream.add(&out)
	}
}

// logPoll logs a poll at debug level and its events at info.
func (a *Agent) logPoll(out *derive.Output, r poller.Result) {
	dev := &out.Device
	a.log.Debug("polled", "node", dev.Node, "reachable", dev.Reachable, "interfaces", dev.Interfaces,
		"uptime_seconds", dev.UptimeSeconds, "duration", r.Poll.Duration, "reason", r.Reason, "error", dev.Error)
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
func (a *Agent) States() []model.DeviceState { return a.devices.States() }

// deviceCounts returns the scheduled nodes and the reachable ones.
func (a *Agent) deviceCounts() (total, reachable int) { return a.devices.Counts() }
