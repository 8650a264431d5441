package agent

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// Following the inventory. After the first full read the agent watches the
// collector's changes from the inventory's revision (server-sent events)
// instead of reading the whole list again: an import of thousands of nodes
// reaches the poller within a second, and an idle site costs nothing. When
// the watch cannot go on (the collector asks for a resync, or is away) the
// agent reads the whole inventory again, then watches from its revision;
// while the collector is away it polls on with what it has, cached on
// disk, and tries again every InventoryRefresh at most.

// Changes are applied in batches: at most every followFlush, so that an
// import of 10,000 nodes does not reschedule the poller 10,000 times.
const followFlush = 500 * time.Millisecond

// pendingInventory is the inventory as the watch's events change it,
// applied by flush.
type pendingInventory struct {
	mu       sync.Mutex
	nodes    map[string]model.Node
	profiles map[string]model.SNMPProfile
	inv      *apiclient.Inventory // the base: sites, counts
	revision int64
	dirty    bool // nodes or profiles changed since the last flush
	moved    bool // only the revision moved
}

func newPending(inv *apiclient.Inventory) *pendingInventory {
	p := &pendingInventory{
		nodes:    make(map[string]model.Node, len(inv.Nodes)),
		profiles: maps.Clone(inv.SNMPProfiles),
		inv:      inv,
		revision: inv.Revision,
	}
	if p.profiles == nil {
		p.profiles = map[string]model.SNMPProfile{}
	}
	for _, n := range inv.Nodes {
		p.nodes[n.Name] = n
	}
	return p
}

// apply takes one event.
func (p *pendingInventory) apply(ev apiclient.InventoryEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Revision > p.revision {
		p.revision = ev.Revision
		p.moved = true
	}
	switch ev.Type {
	case "upsert":
		p.nodes[ev.Node.Name] = *ev.Node
		p.profiles[ev.SNMPProfile.Name] = *ev.SNMPProfile
		p.dirty = true
	case "delete":
		if _, ok := p.nodes[ev.NodeName]; ok {
			delete(p.nodes, ev.NodeName)
			p.dirty = true
		}
	case "profile":
		p.profiles[ev.SNMPProfile.Name] = *ev.SNMPProfile
		p.dirty = true
	}
}

// take returns the inventory to apply when something changed, nil
// otherwise; revisionOnly says that only the revision moved.
func (p *pendingInventory) take() (inv *apiclient.Inventory, revisionOnly bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dirty && !p.moved {
		return nil, false
	}
	dirty := p.dirty
	p.dirty, p.moved = false, false
	if !dirty {
		return &apiclient.Inventory{Revision: p.revision}, true
	}
	next := &apiclient.Inventory{
		Revision: p.revision, Sites: p.inv.Sites, NotPollable: p.inv.NotPollable,
		Nodes:        slices.SortedFunc(maps.Values(p.nodes), func(x, y model.Node) int { return cmp.Compare(x.Name, y.Name) }),
		SNMPProfiles: map[string]model.SNMPProfile{},
	}
	// Keep the profiles the nodes use, and no other (secrets).
	for _, n := range next.Nodes {
		if pr, ok := p.profiles[n.SNMPProfile]; ok {
			next.SNMPProfiles[pr.Name] = pr
		}
	}
	return next, false
}

// follow keeps the inventory current until ctx ends.
func (a *Agent) follow(ctx context.Context) {
	retry := time.Second
	full := false // read the whole inventory before watching
	for ctx.Err() == nil {
		a.mu.Lock()
		inv, source := a.inv, a.source
		a.mu.Unlock()
		if full || source == sourceCache {
			if !a.refresh(ctx) {
				a.sleep(ctx, retry)
				retry = min(2*retry, a.cfg.InventoryRefresh)
				continue
			}
			full = false
			a.mu.Lock()
			inv = a.inv
			a.mu.Unlock()
		}
		err := a.watch(ctx, inv)
		if ctx.Err() != nil {
			return
		}
		full = true
		if errors.Is(err, apiclient.ErrResync) {
			a.log.Info("the collector asks for a full inventory", "reason", err)
			retry = time.Second
			continue
		}
		a.log.Warn("inventory watch interrupted: reading the inventory again", "error", err)
		a.sleep(ctx, retry)
		retry = min(2*retry, a.cfg.InventoryRefresh)
	}
}

// watch applies the collector's changes to inv until the stream ends.
func (a *Agent) watch(ctx context.Context, inv *apiclient.Inventory) error {
	p := newPending(inv)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(followFlush)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				a.flushPending(p)
				return
			case <-t.C:
				a.flushPending(p)
			}
		}
	}()
	err := a.client.WatchInventory(wctx, a.cfg.Sites, inv.Revision, func(ev apiclient.InventoryEvent) error {
		a.m.watchEvents.WithLabelValues(ev.Type).Inc()
		p.apply(ev)
		return nil
	})
	cancel()
	<-done
	return err
}

// flushPending applies what the watch changed.
func (a *Agent) flushPending(p *pendingInventory) {
	next, revisionOnly := p.take()
	if next == nil {
		return
	}
	if revisionOnly {
		a.mu.Lock()
		if a.inv != nil {
			cur := *a.inv
			cur.Revision = next.Revision
			a.inv = &cur
		}
		a.mu.Unlock()
		a.m.revision.Set(float64(next.Revision))
		return
	}
	a.log.Info("inventory changed", "inventory_revision", next.Revision, "nodes", len(next.Nodes))
	a.apply(next, sourceCollector)
	if err := a.saveCache(next); err != nil {
		a.log.Warn("cannot cache the inventory", "error", err)
	}
}

// sleep waits d or until ctx ends.
func (a *Agent) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
