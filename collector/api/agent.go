package api

// The agent channel: what agents read to know what to poll.
//
// GET /api/v1/agent/inventory is the ONE answer of the API that carries
// SNMP secrets (communities, v3 keys): agents need them to poll, and they
// never hold etcd credentials. Everything else returns profiles redacted.
// The request log records the route and path only (never the query or the
// body), and nothing here logs a profile. Agent authentication comes with
// the tokens issue; until then, reach the collector over a trusted network.

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// maxAgentSites bounds the sites of one inventory request: each costs a
// scan of the node keys, and an agent serves a handful of sites.
const maxAgentSites = 100

// agentInventory is the answer of GET /agent/inventory. shared/apiclient
// decodes it as apiclient.Inventory; its tests hold the two together.
type agentInventory struct {
	// Revision is the etcd revision the inventory reflects at least: every
	// change after it is still to come (the incremental updates of a later
	// issue start from Revision+1).
	Revision int64 `json:"revision"`
	// Sites are the sites asked for, in the order given, duplicates dropped.
	Sites []string `json:"sites"`
	// Nodes are the pollable nodes under the sites, by name.
	Nodes []model.Node `json:"nodes"`
	// SNMPProfiles holds, by name, the profile of every node in Nodes, and
	// no other: SECRETS INCLUDED.
	SNMPProfiles map[string]model.SNMPProfile `json:"snmp_profiles"`
	// NotPollable counts the nodes under the sites left out (see pollable).
	NotPollable int `json:"not_pollable"`
}

// pollable says whether agents should poll a node: it is live or being
// implemented, and has a management address and an SNMP profile. Planned
// and decommissioned nodes are not expected to answer, and polling them
// would only raise alarms. The collector decides rather than the agent, so
// that the secrets of profiles used only by unpolled nodes never leave it.
func pollable(n *model.Node) bool {
	return (n.Lifecycle == model.LifecycleLive || n.Lifecycle == model.LifecycleImplementing) &&
		n.ManagementAddress != "" && n.SNMPProfile != ""
}

// handleAgentInventory answers GET /agent/inventory?site=A[&site=B…]: the
// pollable nodes of the sites' location subtrees, their SNMP profiles with
// secrets, and the revision. A name that is no location is a 404, a
// location that is not a site a 422.
func (a *API) handleAgentInventory(c *gin.Context) {
	sites, err := agentSites(c.Request.URL.Query())
	if err != nil {
		a.writeError(c, err)
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

	inv := agentInventory{Sites: sites, Nodes: []model.Node{}, SNMPProfiles: map[string]model.SNMPProfile{}}
	// The store offers no read of several lists at one revision: each list
	// is consistent on its own, and the answer claims the oldest revision
	// read, so that whatever changed after it is replayed, never missed.
	seen := map[string]bool{}
	for _, site := range sites {
		res, err := a.store.ListNodes(ctx, desired.NodeFilter{Location: site}, desired.ListOptions{})
		if _, invalid := model.AsValidationError(err); invalid {
			// The site was deleted since the tree was read.
			a.writeError(c, newError(http.StatusNotFound, codeNotFound, "site %q: not found", site))
			return
		}
		if err != nil {
			a.writeError(c, err)
			return
		}
		inv.Revision = minRevision(inv.Revision, res.Revision)
		for _, n := range res.Items {
			if seen[n.Name] {
				continue
			}
			seen[n.Name] = true
			if !pollable(&n) {
				inv.NotPollable++
				continue
			}
			inv.Nodes = append(inv.Nodes, n)
		}
	}
	profiles, err := a.store.ListSNMPProfiles(ctx, desired.ListOptions{})
	if err != nil {
		a.writeError(c, err)
		return
	}
	inv.Revision = minRevision(inv.Revision, profiles.Revision)
	byName := make(map[string]model.SNMPProfile, len(profiles.Items))
	for _, p := range profiles.Items {
		byName[p.Name] = p
	}
	// Only the profiles the nodes use leave the collector.
	kept := inv.Nodes[:0]
	for _, n := range inv.Nodes {
		p, ok := byName[n.SNMPProfile]
		if !ok {
			// Moved to another profile and the old one deleted between the
			// two reads: the next inventory has the node right.
			inv.NotPollable++
			continue
		}
		inv.SNMPProfiles[p.Name] = p
		kept = append(kept, n)
	}
	inv.Nodes = kept
	slices.SortFunc(inv.Nodes, func(x, y model.Node) int { return strings.Compare(x.Name, y.Name) })

	// Secrets must not sit in caches on the way.
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, inv)
}

// minRevision is the smaller non-zero revision.
func minRevision(have, rev int64) int64 {
	if have == 0 {
		return rev
	}
	return min(have, rev)
}

// agentSites reads the site parameters: at least one, each given by name,
// duplicates dropped. `site` is the one parameter that may repeat; others
// lists the other parameters the route accepts.
func agentSites(q map[string][]string, others ...string) ([]string, error) {
	accepted := append([]string{"site"}, others...)
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(accepted, k) {
			return nil, badRequest("unknown query parameter %q (accepted: %s; site repeated for several sites)", k, strings.Join(accepted, ", ")).
				withDetails(map[string]any{"param": k, "accepted": accepted})
		}
	}
	var sites []string
	for _, s := range q["site"] {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, badRequest("query parameter site is empty: give a site name").withDetails(map[string]any{"param": "site"})
		}
		if !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
	}
	switch {
	case len(sites) == 0:
		return nil, badRequest("query parameter site is required (repeat it for several sites)").withDetails(map[string]any{"param": "site"})
	case len(sites) > maxAgentSites:
		return nil, badRequest("%d sites asked for; at most %d per request", len(sites), maxAgentSites).
			withDetails(map[string]any{"param": "site", "max": maxAgentSites})
	}
	return sites, nil
}

// checkSites answers 404 for names that are no location, then 422 for
// locations that are not sites, naming every offender at once.
func checkSites(tree *model.LocationTree, sites []string) error {
	var missing []string
	var notSites []model.FieldError
	for _, s := range sites {
		l, ok := tree.Get(s)
		switch {
		case !ok:
			missing = append(missing, s)
		case l.Kind != model.KindSite:
			notSites = append(notSites, model.FieldError{Field: "site",
				Reason: fmt.Sprintf("%q is a %s, not a site (agents poll the nodes of sites)", s, l.Kind)})
		}
	}
	if len(missing) > 0 {
		quoted := make([]string, len(missing))
		for i, s := range missing {
			quoted[i] = fmt.Sprintf("%q", s)
		}
		return newError(http.StatusNotFound, codeNotFound, "no such site: %s", strings.Join(quoted, ", ")).
			withDetails(map[string]any{"sites": missing})
	}
	if len(notSites) > 0 {
		reasons := make([]string, len(notSites))
		for i, f := range notSites {
			reasons[i] = f.Reason
		}
		return newError(http.StatusUnprocessableEntity, codeInvalid, "%s", strings.Join(reasons, "; ")).
			withDetails(map[string]any{"fields": notSites})
	}
	return nil
}

// agentOpenAPIPaths documents the agent channel.
func agentOpenAPIPaths() obj {
	return obj{apiPrefix + "/agent/inventory": obj{"get": obj{
		"tags": []string{"agent"}, "operationId": "agent-inventory",
		"summary": "What agents poll: the pollable nodes of sites, with their SNMP profiles SECRETS INCLUDED.",
		"description": "The agent channel, and the only answer of this API that carries SNMP secrets (communities, " +
			"v3 keys): keep it between the collector and its agents. Pollable nodes are live or implementing, with a " +
			"management address and an SNMP profile; the others under the sites are only counted (not_pollable). " +
			"snmp_profiles holds the profiles of the nodes returned and no other. The answer reflects every change up " +
			"to revision at least.",
		"parameters": []any{obj{
			"name": "site", "in": "query", "required": true, "style": "form", "explode": true,
			"description": "Name of a location of kind site; repeat for several sites (at most " + fmt.Sprint(maxAgentSites) + ").",
			"schema":      arrayOf(obj{"type": "string"}),
		}},
		"responses": errorResponses(obj{"200": obj{
			"description": "The inventory. Cache-Control: no-store.",
			"content":     jsonContent(schemaRef("AgentInventory")),
		}}, "BadRequest", "NotFound", "Invalid"),
	}}}
}

// agentOpenAPISchemas are the schemas of the agent channel: the inventory,
// and the SNMP profile as agents get it, secrets readable.
func agentOpenAPISchemas() obj {
	profile := openAPISchemas()["SNMPProfile"].(obj)
	props := maps.Clone(profile["properties"].(obj))
	props["community"] = str("v2c community (SECRET).")
	props["auth_key"] = str("v3 authentication key (SECRET).")
	props["priv_key"] = str("v3 privacy key (SECRET).")
	agentProfile := maps.Clone(profile)
	agentProfile["properties"] = props
	agentProfile["description"] = "An SNMP profile with its secrets: only in the agent inventory."
	return obj{
		"AgentSNMPProfile": agentProfile,
		"AgentInventory": object([]string{"revision", "sites", "nodes", "snmp_profiles", "not_pollable"}, obj{
			"revision": obj{"type": "integer", "format": "int64",
				"description": "The store revision the inventory reflects at least; later changes are not in it."},
			"sites":         arrayOf(obj{"type": "string"}),
			"nodes":         arrayOf(schemaRef("Node")),
			"snmp_profiles": obj{"type": "object", "additionalProperties": schemaRef("AgentSNMPProfile"), "description": "By name; SECRETS INCLUDED."},
			"not_pollable":  obj{"type": "integer", "description": "Nodes under the sites left out: not live or implementing, or without a management address or SNMP profile."},
		}),
	}
}
