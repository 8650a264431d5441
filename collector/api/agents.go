package api

// Agents: their heartbeats, the list of live agents, and which agent polls
// a node (node status). The registry itself is collector/agents.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/agents"
	"github.com/unet-project/unet/shared/model"
)

// maxHeartbeatBytes bounds a heartbeat: ~60 bytes per owned node.
const maxHeartbeatBytes = 16 << 20

// NodeStatus is the answer of GET /nodes/{ref}/status: the newest observed
// state of the node (empty fields until history is configured), who polls
// it and when it last did. shared/apiclient decodes it as
// apiclient.NodeStatus.
type NodeStatus struct {
	model.DeviceState
	// PolledBy is the agent that owns the node; empty when no live agent
	// does (Unpolled).
	PolledBy string `json:"polled_by"`
	// Unpolled: no live agent of the node's site polls it.
	Unpolled bool `json:"unpolled"`
	// Pollable: the node is live or implementing, with an address and an
	// SNMP profile (agents poll only those).
	Pollable bool   `json:"pollable"`
	Site     string `json:"site,omitempty"`
}

func (a *API) agentsConfigured(c *gin.Context) bool {
	if a.agents == nil {
		a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable, "this collector keeps no agent registry"))
		return false
	}
	return true
}

// handleHeartbeat answers POST /agent/heartbeat.
func (a *API) handleHeartbeat(c *gin.Context) {
	if !a.agentsConfigured(c) {
		return
	}
	body, err := readBody(c, maxHeartbeatBytes, mimeJSON)
	if err != nil {
		a.writeError(c, err)
		return
	}
	var hb agents.Heartbeat
	if err := decodeStrict(body, &hb); err != nil {
		a.writeError(c, err)
		return
	}
	if err := a.agents.Report(c.Request.Context(), hb); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || hb.Validate() != nil {
			a.writeError(c, newError(http.StatusUnprocessableEntity, codeInvalid, "heartbeat: %v", err))
			return
		}
		a.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// handleAgents answers GET /agents.
func (a *API) handleAgents(c *gin.Context) {
	if !a.agentsConfigured(c) {
		return
	}
	c.JSON(http.StatusOK, a.agents.Agents())
}

// handleNodeStatus answers GET /nodes/{ref}/status.
func (a *API) handleNodeStatus(c *gin.Context) {
	ctx := c.Request.Context()
	n, err := a.store.GetNode(ctx, c.Param("ref"))
	if err != nil {
		a.writeError(c, err)
		return
	}
	st := NodeStatus{Pollable: pollable(&n)}
	if a.latest != nil {
		if s, ok := a.latest(n.Name); ok {
			st.DeviceState = s
		}
	}
	st.Node = n.Name
	if tree, err := a.store.LocationTree(ctx); err == nil {
		if site, ok := tree.Site(n.Location); ok {
			st.Site = site.Name
		}
	}
	if a.agents != nil {
		agent, last, ok := a.agents.NodeStatus(n.Name)
		st.PolledBy, st.Unpolled = agent, !ok
		if last.After(st.LastPoll) {
			st.LastPoll = last
		}
	} else {
		st.Unpolled = true
	}
	if st.Interfaces == nil {
		st.Interfaces = []model.InterfaceState{}
	}
	c.JSON(http.StatusOK, st)
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func decodeStrict(body []byte, v any) error {
	doc, err := parseDocument(body)
	if err != nil {
		return err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return badRequest("field %q: expected %s", ute.Field, typeName(ute)).withDetails(map[string]any{"field": ute.Field})
		}
		return badRequest("%v", err)
	}
	return nil
}

// agentsOpenAPIPaths documents heartbeats, the agent list, node status
// and the inventory watch.
func agentsOpenAPIPaths() obj {
	sites := obj{
		"name": "site", "in": "query", "required": true, "style": "form", "explode": true,
		"description": "Name of a location of kind site; repeat for several sites.",
		"schema":      arrayOf(obj{"type": "string"}),
	}
	return obj{
		apiPrefix + "/agent/inventory/watch": obj{"get": obj{
			"tags": []string{"agent"}, "operationId": "agent-inventory-watch",
			"summary": "Changes of an agent's inventory since a revision, as server-sent events (SNMP secrets included).",
			"description": "Events: upsert {revision, node, snmp_profile}, delete {revision, node}, profile {revision, " +
				"snmp_profile}, progress {revision} every 15 s, resync {reason} (fetch the inventory again; the stream ends: " +
				"compacted revision, changed locations, failed watch).",
			"parameters": []any{sites, queryParam("revision", "The revision of the inventory held.", obj{"type": "integer", "format": "int64", "minimum": 1})},
			"responses": errorResponses(obj{"200": obj{"description": "The event stream.",
				"content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}}}, "BadRequest", "NotFound", "Invalid"),
		}},
		apiPrefix + "/agent/heartbeat": obj{"post": obj{
			"tags": []string{"agent"}, "operationId": "agent-heartbeat",
			"summary":     "An agent reports itself: sites, address, version, owned nodes and their last polls. Listed for 30 s.",
			"requestBody": obj{"required": true, "content": jsonContent(schemaRef("Heartbeat"))},
			"responses": errorResponses(obj{"204": obj{"description": "Recorded."},
				"503": obj{"description": "No agent registry.", "content": jsonContent(schemaRef("Error"))}},
				"BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Invalid"),
		}},
		apiPrefix + "/agents": obj{"get": obj{
			"tags": []string{"agent"}, "operationId": "list-agents", "summary": "The live agents (a heartbeat within 30 s).",
			"responses": obj{"200": obj{"description": "The agents, by name.", "content": jsonContent(arrayOf(schemaRef("Agent")))},
				"503": obj{"description": "No agent registry.", "content": jsonContent(schemaRef("Error"))}},
		}},
		apiPrefix + "/nodes/{ref}/status": obj{"get": obj{
			"tags": []string{"nodes"}, "operationId": "node-status",
			"summary":    "The node's newest observed state, the agent that polls it and its last poll.",
			"parameters": []any{obj{"name": "ref", "in": "path", "required": true, "description": "The node's name or id", "schema": obj{"type": "string"}}},
			"responses":  errorResponses(obj{"200": obj{"description": "The status.", "content": jsonContent(schemaRef("NodeStatus"))}}, "NotFound"),
		}},
	}
}

func agentsOpenAPISchemas() obj {
	ts := obj{"type": "string", "format": "date-time"}
	return obj{
		"Heartbeat": object([]string{"name", "sites", "healthy", "nodes"}, obj{
			"name": str("The agent's name."), "sites": arrayOf(obj{"type": "string"}),
			"address": str("host:port of its /metrics and /healthz."), "version": str("Its version."),
			"healthy": obj{"type": "boolean", "description": "It has its inventory and takes part in polling."},
			"members": arrayOf(obj{"type": "string"}),
			"nodes": arrayOf(object([]string{"node"}, obj{"node": str("A node it owns."),
				"last_poll": obj{"type": "string", "format": "date-time", "description": "Its last poll; absent before the first."}})),
		}),
		"Agent": object([]string{"name", "site", "sites", "healthy", "last_seen", "owned"}, obj{
			"name": str("The agent's name."), "site": str("Its first site."), "sites": arrayOf(obj{"type": "string"}),
			"address": str("host:port of its /metrics and /healthz."), "version": str("Its version."),
			"healthy": obj{"type": "boolean"}, "last_seen": ts,
			"owned":   obj{"type": "integer", "description": "Nodes it polls."},
			"members": arrayOf(obj{"type": "string"}),
		}),
		"NodeStatus": obj{"type": "object", "required": []string{"node", "polled_by", "unpolled", "pollable", "last_poll", "interfaces"},
			"description": "The newest observed state (the fields of unet-agent --once) with who polls the node.",
			"properties": obj{
				"node": str("The node's name."), "polled_by": str("The agent that polls it; empty when none does."),
				"unpolled": obj{"type": "boolean", "description": "No live agent polls the node."},
				"pollable": obj{"type": "boolean", "description": "Live or implementing, with an address and an SNMP profile."},
				"site":     str("The node's site."), "last_poll": ts,
				"reachable": obj{"type": "boolean"}, "error": str("Why the last poll failed."),
				"sys_name": str(""), "sys_descr": str(""), "sys_object_id": str(""), "vendor": str(""),
				"uptime_seconds": obj{"type": "integer"},
				"interfaces":     arrayOf(obj{"type": "object"}),
				"lldp_neighbors": arrayOf(obj{"type": "object"}),
				"extra":          obj{"type": "object", "additionalProperties": obj{"type": "number"}},
			}},
	}
}
