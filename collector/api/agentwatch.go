package api

// GET /api/v1/agent/inventory/watch: what changed in an agent's inventory
// since the revision of the inventory it holds, as server-sent events, so
// that agents follow changes without fetching the whole list again. Like
// the inventory itself, the events carry SNMP secrets: agent channel only.
//
// Events (each `data:` one JSON object):
//   upsert   {revision, node, snmp_profile}  a pollable node of the sites, new or changed
//   delete   {revision, node}                a node to stop polling (gone, moved, not pollable)
//   profile  {revision, snmp_profile}        a profile used by nodes of the sites changed
//   progress {revision}                      nothing relevant up to revision (every KeepAlive)
//   resync   {reason}                        fetch the inventory again; the stream ends
// A resync comes when the revision asked for is compacted, when locations
// change (a subtree may have gained or lost nodes wholesale), or when the
// watch fails.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// watchKeepAlive is the interval of progress events: they keep proxies
// from closing an idle stream and let the agent's revision move on, so a
// reconnection does not start from a compacted one.
const watchKeepAlive = 15 * time.Second

// Inventory watch events, as sent.
type (
	watchUpsert struct {
		Revision    int64             `json:"revision"`
		Node        model.Node        `json:"node"`
		SNMPProfile model.SNMPProfile `json:"snmp_profile"`
	}
	watchDelete struct {
		Revision int64  `json:"revision"`
		Node     string `json:"node"`
	}
	watchProfile struct {
		Revision    int64             `json:"revision"`
		SNMPProfile model.SNMPProfile `json:"snmp_profile"`
	}
	watchProgress struct {
		Revision int64 `json:"revision"`
	}
	watchResync struct {
		Reason string `json:"reason"`
	}
)

// inventoryWatch is one watch stream's view of the sites.
type inventoryWatch struct {
	a     *API
	c     *gin.Context
	sites []string
	// within is every location under the sites.
	within map[string]bool
	// known are the pollable nodes under the sites, as of listRev and
	// then as the stream goes: a node leaving the sites gets a delete
	// only if the agent may hold it.
	known   map[string]bool
	listRev int64
}

func (a *API) handleInventoryWatch(c *gin.Context) {
	q := c.Request.URL.Query()
	sites, err := agentSites(q, "revision")
	if err != nil {
		a.writeError(c, err)
		return
	}
	rev, err := strconv.ParseInt(q.Get("revision"), 10, 64)
	if err != nil || rev < 1 {
		a.writeError(c, badRequest("query parameter revision is required: the revision of the inventory held (a positive integer)").
			withDetails(map[string]any{"param": "revision"}))
		return
	}
	ctx := c.Request.Context()
	tree, err := a.store.LocationTree(ctx)
	if err != nil {
		a.writeError(c, err)
		return
	}
	if err := checkSites(tree, sites); err != nil {
		a.writeError(c, err)
		return
	}
	w := &inventoryWatch{a: a, c: c, sites: sites, within: subtrees(tree, sites), known: map[string]bool{}}
	for _, site := range sites {
		res, err := a.store.ListNodes(ctx, desired.NodeFilter{Location: site}, desired.ListOptions{})
		if err != nil {
			a.writeError(c, err)
			return
		}
		w.listRev = max(w.listRev, res.Revision)
		for _, n := range res.Items {
			if pollable(&n) {
				w.known[n.Name] = true
			}
		}
	}

	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-store")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.Flush()

	events := a.store.Watch(ctx, rev+1)
	tick := time.NewTicker(watchKeepAlive)
	defer tick.Stop()
	last := rev
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.closing:
			// The collector stops: the agent reads the inventory again
			// (from this collector once it is back, or from another).
			w.send("resync", watchResync{Reason: "the collector is shutting down"})
			return
		case <-tick.C:
			if !w.send("progress", watchProgress{Revision: last}) {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Err != nil {
				w.send("resync", watchResync{Reason: ev.Err.Error()})
				return
			}
			last = ev.Revision
			if !w.handle(ev) {
				return
			}
		}
	}
}

// handle turns one change into the events the agent needs; false ends the
// stream.
func (w *inventoryWatch) handle(ev desired.Event) bool {
	ctx := w.c.Request.Context()
	switch ev.Kind {
	case model.ObjectNode:
		if ev.Type == desired.EventDelete {
			return w.drop(ev.Revision, ev.Name)
		}
		var n model.Node
		if err := json.Unmarshal(ev.Value, &n); err != nil {
			w.send("resync", watchResync{Reason: fmt.Sprintf("node %s: unreadable change: %v", ev.Name, err)})
			return false
		}
		if !w.within[n.Location] || !pollable(&n) {
			return w.drop(ev.Revision, n.Name)
		}
		p, err := w.a.store.GetSNMPProfile(ctx, n.SNMPProfile)
		if err != nil {
			// Deleted since: the node cannot be polled.
			return w.drop(ev.Revision, n.Name)
		}
		w.known[n.Name] = true
		return w.send("upsert", watchUpsert{Revision: ev.Revision, Node: n, SNMPProfile: p})
	case model.ObjectSNMPProfile:
		if ev.Type == desired.EventDelete {
			return true // a profile in use cannot be deleted
		}
		var p model.SNMPProfile
		if err := json.Unmarshal(ev.Value, &p); err != nil {
			w.send("resync", watchResync{Reason: fmt.Sprintf("SNMP profile %s: unreadable change: %v", ev.Name, err)})
			return false
		}
		// Secrets leave the collector only for the agents whose nodes use
		// the profile.
		for _, site := range w.sites {
			res, err := w.a.store.ListNodes(ctx, desired.NodeFilter{Location: site, SNMPProfile: p.Name}, desired.ListOptions{})
			if err != nil {
				w.send("resync", watchResync{Reason: err.Error()})
				return false
			}
			if slices.ContainsFunc(res.Items, func(n model.Node) bool { return pollable(&n) }) {
				return w.send("profile", watchProfile{Revision: ev.Revision, SNMPProfile: p})
			}
		}
		return true
	case model.ObjectLocation:
		tree, err := w.a.store.LocationTree(ctx)
		if err != nil {
			w.send("resync", watchResync{Reason: err.Error()})
			return false
		}
		if checkSites(tree, w.sites) != nil || !sameSet(subtrees(tree, w.sites), w.within) {
			w.send("resync", watchResync{Reason: "the locations under the sites changed"})
			return false
		}
	}
	return true
}

// drop sends a delete for a node the agent may hold.
func (w *inventoryWatch) drop(rev int64, node string) bool {
	if !w.known[node] && rev > w.listRev {
		return true
	}
	delete(w.known, node)
	return w.send("delete", watchDelete{Revision: rev, Node: node})
}

// send writes one event; false when the client is gone.
func (w *inventoryWatch) send(event string, data any) bool {
	b, err := json.Marshal(data)
	if err != nil {
		return false
	}
	if _, err := fmt.Fprintf(w.c.Writer, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return false
	}
	w.c.Writer.Flush()
	return true
}

// subtrees is every location name under the sites.
func subtrees(tree *model.LocationTree, sites []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range sites {
		for name := range tree.Subtree(s) {
			out[name] = true
		}
	}
	return out
}

func sameSet(x, y map[string]bool) bool {
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}
