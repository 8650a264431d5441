// Package latest is the collector's in-memory view of the newest observed
// state of every device and interface: what GET /nodes/{ref}/status and
// /nodes/{ref}/interfaces serve and what policies read as derived.*.
//
// Ingest applies every batch once it is in ClickHouse; at start the view
// is rebuilt from ClickHouse (history's latest-state query), so that a
// restarted collector answers at once instead of after the next poll of
// every device. Batches may arrive out of order (agents replay their
// spool, retries overtake each other): each device and interface keeps
// the time of what it shows, and older data never overwrites newer.
package latest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/shared/model"
)

// Config of the view.
type Config struct {
	// RebuildWindow is how far back the start-up rebuild looks: a device
	// not polled within it is not in the view until it is polled again.
	RebuildWindow time.Duration `yaml:"rebuild-window"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{RebuildWindow: 24 * time.Hour}
}

// Validate refuses a configuration that cannot work.
func (c Config) Validate() error {
	if c.RebuildWindow <= 0 {
		return fmt.Errorf("latest rebuild-window must be positive, got %s", c.RebuildWindow)
	}
	return nil
}

// Dependencies of the view.
type Dependencies struct {
	Logger *slog.Logger
	// Registry receives the view's gauges; nil registers none.
	Registry prometheus.Registerer
	// OnChange, when set, is called after Apply with the nodes whose state
	// changed in a way that policies check at once: new in the view,
	// reachability changed, or events (status changes, reboots, LLDP).
	// Rates move at every poll and are left to periodic evaluation.
	OnChange func(nodes []string)
}

// View is the newest state of every device seen. It is safe for
// concurrent use.
type View struct {
	cfg Config
	log *slog.Logger

	onChange func(nodes []string)

	mu    sync.RWMutex
	nodes map[string]*node
}

type node struct {
	state model.DeviceState // Interfaces unused: ifaces holds them
	ts    time.Time         // time of the newest device sample applied
	// reachTS is the time of the newest reachability information (device
	// sample or reachability event).
	reachTS time.Time
	ifaces  map[string]*iface // by interface name
	lldp    []model.LLDPNeighbor
}

type iface struct {
	state model.InterfaceState
	ts    time.Time // time of the newest sample applied
	// statusTS is the time of the newest oper status (sample or event);
	// adminTS the same for the admin status.
	statusTS, adminTS time.Time
}

// New returns an empty view.
func New(cfg Config, deps Dependencies) (*View, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &View{cfg: cfg, log: log.With("component", "latest"), nodes: map[string]*node{}, onChange: deps.OnChange}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "unet", Subsystem: "latest", Name: "nodes",
				Help: "Devices in the latest-state view.",
			}, func() float64 { n, _ := v.Len(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "unet", Subsystem: "latest", Name: "interfaces",
				Help: "Interfaces in the latest-state view.",
			}, func() float64 { _, n := v.Len(); return float64(n) }),
		} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("latest metrics: %w", err)
			}
		}
	}
	return v, nil
}

// Rebuild loads the newest state of every device polled within the
// rebuild window from ClickHouse, keeping what the view already holds when
// it is newer. Call it before ingest starts, so that no batch is missed.
func (v *View) Rebuild(ctx context.Context, store *history.Store) error {
	start := time.Now()
	states, err := store.Latest(ctx, start.Add(-v.cfg.RebuildWindow))
	if err != nil {
		return fmt.Errorf("rebuild the latest state from ClickHouse: %w", err)
	}
	v.Load(states)
	nodes, ifaces := v.Len()
	v.log.Info("latest state rebuilt from ClickHouse", "nodes", nodes, "interfaces", ifaces, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// Load merges states (history's latest-state answer) into the view. An
// interface's state counts as of its device's last poll.
func (v *View) Load(states []model.DeviceState) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range states {
		s := &states[i]
		n := v.get(s.Node)
		if s.LastPoll.After(n.ts) {
			ifs := n.state.Interfaces
			n.state = *s
			n.state.Interfaces = ifs
			n.ts, n.reachTS = s.LastPoll, s.LastPoll
			if s.LLDPNeighbors != nil {
				n.lldp = slices.Clone(s.LLDPNeighbors)
			}
		}
		for _, is := range s.Interfaces {
			f := n.iface(is.Name)
			if f.ts.IsZero() || s.LastPoll.After(f.ts) {
				f.state, f.ts, f.statusTS, f.adminTS = is, s.LastPoll, s.LastPoll, s.LastPoll
			}
		}
	}
}

// Apply updates the view with an ingested batch's contents: device
// samples set reachability, uptime, the system group, the vendor and the
// last poll; interface samples set labels, statuses, speed and rates; events set status changes (with their
// time as the interface's last change), reachability and LLDP neighbours.
// Older data than what the view shows is ignored.
//
// The view keeps the batch's rate pointers: callers must not modify the
// samples afterwards.
func (v *View) Apply(devices []model.DeviceSample, samples []model.Sample, events []model.Event) {
	changed := v.apply(devices, samples, events)
	if v.onChange != nil && len(changed) > 0 {
		v.onChange(changed)
	}
}

// apply is Apply under the lock; it returns the nodes OnChange is told of.
func (v *View) apply(devices []model.DeviceSample, samples []model.Sample, events []model.Event) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var changed []string
	for i := range devices {
		d := &devices[i]
		prev, known := v.nodes[d.Node]
		wasReachable := known && prev.state.Reachable
		v.applyDevice(d)
		if n := v.nodes[d.Node]; n != nil && (!known || n.state.Reachable != wasReachable) {
			changed = append(changed, d.Node)
		}
	}
	// A poll's samples come together: look their node up once.
	var n *node
	for i := range samples {
		s := &samples[i]
		if s.Node == "" || s.IfName == "" {
			continue
		}
		if n == nil || n.state.Node != s.Node {
			n = v.get(s.Node)
		}
		n.applySample(s)
	}
	// Events in time order, so that of two changes of one batch the later
	// one wins.
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return events[order[a]].Time.Before(events[order[b]].Time) })
	for _, i := range order {
		v.applyEvent(&events[i])
		changed = append(changed, events[i].Node)
	}
	slices.Sort(changed)
	return slices.Compact(changed)
}

func (v *View) applyDevice(d *model.DeviceSample) {
	if d.Node == "" {
		return
	}
	n := v.get(d.Node)
	if d.Time.Before(n.ts) {
		return
	}
	n.ts = d.Time
	n.state.LastPoll = d.Time
	if !d.Time.Before(n.reachTS) {
		n.reachTS = d.Time
		n.state.Reachable = d.Reachable
	}
	if d.Reachable {
		n.state.Error = ""
		n.state.UptimeSeconds = d.UptimeSeconds
		// Only a reachable sample has the system group (a failed poll
		// read nothing): it keeps the last values seen, as the agent's
		// state does.
		n.state.SysName, n.state.SysDescr, n.state.SysObjectID = d.SysName, d.SysDescr, d.SysObjectID
		n.state.Vendor = d.Vendor
		if d.Extra != nil {
			n.state.Extra = maps.Clone(d.Extra)
		}
		return
	}
	// Unreachable: the last values seen stay, the rates go (they would
	// describe a past that the device no longer confirms).
	n.state.Error = d.Error
	for _, f := range n.ifaces {
		if f.ts.Before(d.Time) {
			f.state.Rates = model.Rates{}
		}
	}
}

func (n *node) applySample(s *model.Sample) {
	f := n.iface(s.IfName)
	if s.Time.Before(f.ts) {
		return
	}
	f.ts = s.Time
	f.state.Name = s.IfName
	f.state.Index = s.IfIndex
	f.state.Descr, f.state.Alias, f.state.Type = s.Descr, s.Alias, s.Type
	f.state.SpeedBps = s.SpeedBps
	f.state.Rates = s.Rates
	if !s.Time.Before(f.statusTS) {
		f.statusTS = s.Time
		f.state.OperStatus = s.OperStatus
	}
	if !s.Time.Before(f.adminTS) {
		f.adminTS = s.Time
		f.state.AdminStatus = s.AdminStatus
	}
}

func (v *View) applyEvent(e *model.Event) {
	if e.Node == "" {
		return
	}
	n := v.get(e.Node)
	switch e.Kind {
	case model.EventOperStatus, model.EventFlap, model.EventAdminStatus:
		f := n.findIface(e.IfName, e.IfIndex)
		if f == nil {
			return
		}
		if e.Kind != model.EventAdminStatus && e.Time.After(f.state.LastChange) {
			f.state.LastChange = e.Time
		}
		switch {
		case e.Kind == model.EventOperStatus && !e.Time.Before(f.statusTS) && e.To != "":
			f.statusTS = e.Time
			f.state.OperStatus = model.IfStatus(e.To)
		case e.Kind == model.EventAdminStatus && !e.Time.Before(f.adminTS) && e.To != "":
			f.adminTS = e.Time
			f.state.AdminStatus = model.IfStatus(e.To)
		}
	case model.EventReachability:
		if !e.Time.Before(n.reachTS) {
			n.reachTS = e.Time
			n.state.Reachable = e.To == "reachable"
		}
	case model.EventLLDPAdded, model.EventLLDPRemoved:
		if e.Neighbor == nil {
			return
		}
		nb := *e.Neighbor
		n.lldp = slices.DeleteFunc(n.lldp, func(x model.LLDPNeighbor) bool {
			return x.LocalPort == nb.LocalPort && x.ChassisID == nb.ChassisID && x.PortID == nb.PortID
		})
		if e.Kind == model.EventLLDPAdded {
			n.lldp = append(n.lldp, nb)
		}
	}
}

// get returns the node's entry, made when missing. v.mu is held.
func (v *View) get(name string) *node {
	n := v.nodes[name]
	if n == nil {
		n = &node{state: model.DeviceState{Node: name}, ifaces: map[string]*iface{}}
		v.nodes[name] = n
	}
	return n
}

func (n *node) iface(name string) *iface {
	f := n.ifaces[name]
	if f == nil {
		f = &iface{state: model.InterfaceState{Name: name}}
		n.ifaces[name] = f
	}
	return f
}

// findIface finds an interface by name, or by index for events that lack
// the name; nil when the view has no such interface.
func (n *node) findIface(name string, index int) *iface {
	if name != "" {
		return n.ifaces[name]
	}
	for _, f := range n.ifaces {
		if index != 0 && f.state.Index == index {
			return f
		}
	}
	return nil
}

// Get returns the newest state of a node, its interfaces sorted by
// ifIndex, and false when the view has nothing of it. The rates are
// shared with the view: read them, do not modify them.
func (v *View) Get(name string) (model.DeviceState, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n := v.nodes[name]
	if n == nil {
		return model.DeviceState{}, false
	}
	s := n.state
	s.Node = name
	s.Interfaces = make([]model.InterfaceState, 0, len(n.ifaces))
	for _, f := range n.ifaces {
		s.Interfaces = append(s.Interfaces, f.state)
	}
	sort.Slice(s.Interfaces, func(i, j int) bool {
		a, b := &s.Interfaces[i], &s.Interfaces[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return a.Name < b.Name
	})
	s.LLDPNeighbors = slices.Clone(n.lldp)
	s.Extra = maps.Clone(n.state.Extra)
	return s, true
}

// Derived is Get in the form the policy engine takes.
func (v *View) Derived(name string) (*model.DeviceState, bool) {
	s, ok := v.Get(name)
	if !ok {
		return nil, false
	}
	return &s, true
}

// Len returns the number of nodes and of interfaces in the view.
func (v *View) Len() (nodes, interfaces int) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, n := range v.nodes {
		interfaces += len(n.ifaces)
	}
	return len(v.nodes), interfaces
}
