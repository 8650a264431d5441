package api

import "github.com/unet-project/unet/shared/wire"

// historyOpenAPIPaths documents the routes of history.go: ingest, the
// history queries and the node's interfaces.
func historyOpenAPIPaths() obj {
	unavailable := obj{"description": "unavailable: no history store is configured (start the collector with --clickhouse), " +
		"or ClickHouse cannot answer now (Retry-After).",
		"headers": obj{"Retry-After": obj{"description": "Seconds to wait.", "schema": obj{"type": "integer"}}},
		"content": jsonContent(schemaRef("Error"))}
	with503 := func(r obj) obj {
		r["503"] = unavailable
		return r
	}
	timeParam := func(name, desc string) obj {
		return queryParam(name, desc+` An RFC 3339 time, "now", or relative to now: -24h, -7d, now-90m.`, obj{"type": "string"})
	}
	from := timeParam("from", "Start of the range, included (default: a day before to).")
	to := timeParam("to", "End of the range, excluded (default: now). Ranges are at most 800 days.")
	nodeParam := func(required bool, desc string) obj {
		p := queryParam("node", desc, obj{"type": "string"})
		p["required"] = required
		return p
	}
	site := queryParam("site", "Only the nodes of this location's subtree.", obj{"type": "string"})
	return obj{
		apiPrefix + "/ingest": obj{"post": obj{
			"tags": []string{"agent"}, "operationId": "ingest",
			"summary": "An agent's batch of samples and events (shared/wire), acknowledged once it is in ClickHouse.",
			"description": "200 once the batch is stored, or when its (agent, seq) was stored already (a duplicate, not stored again). " +
				"400, 413 and 415 refuse the batch itself (the agent moves it aside); 429 and 503 (Retry-After) ask for it again later: " +
				"all write slots busy, ClickHouse down or slow, or no history store.",
			"parameters": []any{obj{"name": wire.HeaderAgent, "in": "header", "required": true,
				"description": "The sending agent: the batch's agent.", "schema": obj{"type": "string"}},
				obj{"name": "Content-Encoding", "in": "header", "required": true, "schema": enumSchema([]string{wire.ContentEncoding})}},
			"requestBody": obj{"required": true, "content": obj{wire.ContentType: obj{"schema": obj{"type": "string", "format": "binary"}}}},
			"responses": with503(errorResponses(obj{
				"200": obj{"description": "Stored, or already stored.", "content": jsonContent(schemaRef("IngestAck"))},
				"429": obj{"description": "All write slots are busy (Retry-After).", "content": jsonContent(schemaRef("Error"))},
			}, "BadRequest", "PayloadTooLarge", "UnsupportedMediaType")),
		}},
		apiPrefix + "/history/interfaces": obj{"get": obj{
			"tags": []string{"history"}, "operationId": "interface-history",
			"summary": "An interface's in/out bit rates (average and peak per step) and oper status over a range.",
			"description": "Steps at or below the poll interval give the raw samples; longer steps read the raw samples, " +
				"the 5-minute or the hourly rollup, by step and by how far back the range starts (resolution says which).",
			"parameters": []any{nodeParam(true, "The node's name or id."),
				obj{"name": "ifname", "in": "query", "required": true, "description": "The interface's name.", "schema": obj{"type": "string"}},
				from, to,
				queryParam("step", "Width of a point: 30s, 5m, 1h, 1d (1 s to 31 days). Default: the range over 2000 points.", obj{"type": "string"})},
			"responses": with503(errorResponses(obj{"200": obj{"description": "The points, oldest first.",
				"content": jsonContent(schemaRef("InterfaceHistory"))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/history/events": obj{"get": obj{
			"tags": []string{"history"}, "operationId": "list-events",
			"summary": "Events of a range, newest first: status changes, flaps, reboots, reachability, LLDP neighbours.",
			"parameters": []any{nodeParam(false, "Only this node (name or id)."),
				queryParam("interface", "Only this interface.", obj{"type": "string"}),
				obj{"name": "type", "in": "query", "required": false, "style": "form", "explode": true,
					"description": "Only these types; repeat it or separate with commas.", "schema": arrayOf(enumSchema(openAPIEnum(eventKinds())))},
				from, to,
				queryParam("limit", "At most this many (default 1000).", obj{"type": "integer", "minimum": 1, "maximum": maxEventLimit})},
			"responses": with503(errorResponses(obj{"200": obj{"description": "The events.",
				"content": jsonContent(object([]string{"from", "to", "events"}, obj{
					"from": obj{"type": "string", "format": "date-time"}, "to": obj{"type": "string", "format": "date-time"},
					"events": arrayOf(schemaRef("HistoryEvent"))}))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/history/top": obj{"get": obj{
			"tags": []string{"history"}, "operationId": "top-interfaces",
			"summary": "The N interfaces with the highest average of a metric over a range (a site's, or every node's).",
			"parameters": []any{
				queryParam("metric", "in_bps, out_bps, utilisation (percent of speed) or errors (per second); default in_bps.",
					enumSchema(openAPIEnum(topMetrics()))),
				site, from, to,
				queryParam("n", "How many (default 10).", obj{"type": "integer", "minimum": 1, "maximum": maxTopN})},
			"responses": with503(errorResponses(obj{"200": obj{"description": "Highest first.",
				"content": jsonContent(object([]string{"metric", "from", "to", "items"}, obj{
					"metric": str(""), "resolution": enumSchema([]string{"raw", "5m", "1h"}),
					"from": obj{"type": "string", "format": "date-time"}, "to": obj{"type": "string", "format": "date-time"},
					"items": arrayOf(schemaRef("TopInterface"))}))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/history/availability": obj{"get": obj{
			"tags": []string{"history"}, "operationId": "availability",
			"summary":    "Availability of devices over a range: the share of polls they answered (one node, a site's, or every node with samples).",
			"parameters": []any{nodeParam(false, "Only this node (name or id)."), site, from, to},
			"responses": with503(errorResponses(obj{"200": obj{"description": "By node.",
				"content": jsonContent(object([]string{"from", "to", "items"}, obj{
					"resolution": enumSchema([]string{"raw", "1h"}),
					"from":       obj{"type": "string", "format": "date-time"}, "to": obj{"type": "string", "format": "date-time"},
					"items": arrayOf(schemaRef("Availability"))}))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/nodes/{ref}/interfaces": obj{"get": obj{
			"tags": []string{"nodes"}, "operationId": "node-interfaces",
			"summary":    "The newest observed state of the node's interfaces, by ifIndex; empty until the node is polled.",
			"parameters": []any{obj{"name": "ref", "in": "path", "required": true, "description": "The node's name or id", "schema": obj{"type": "string"}}},
			"responses": errorResponses(obj{"200": obj{"description": "The interfaces.",
				"content": jsonContent(object([]string{"node", "interfaces"}, obj{"node": str(""),
					"interfaces": arrayOf(schemaRef("InterfaceState"))}))}}, "BadRequest", "NotFound"),
		}},
	}
}

func historyOpenAPISchemas() obj {
	ts := obj{"type": "string", "format": "date-time"}
	num := func(desc string) obj { return obj{"type": "number", "nullable": true, "description": desc} }
	statuses := []string{"up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"}
	return obj{
		"IngestAck": object([]string{"status"}, obj{"status": enumOf("stored: written now; duplicate: stored before.", []string{"stored", "duplicate"})}),
		"InterfaceHistory": object([]string{"node", "ifname", "from", "to", "resolution", "step", "points"}, obj{
			"node": str(""), "ifname": str(""), "from": ts, "to": ts,
			"resolution": enumOf("The table read: raw samples, 5-minute or hourly rollup.", []string{"raw", "5m", "1h"}),
			"step":       str(`Width of a point as a Go duration ("5m0s"); "0s" for raw samples, one point each.`),
			"points": arrayOf(object([]string{"ts", "in_bps", "out_bps", "oper_status"}, obj{
				"ts": ts, "in_bps": num("Average inbound bit rate; null without a rate."), "out_bps": num("Average outbound bit rate."),
				"in_bps_max": num("Peak inbound rate of the step."), "out_bps_max": num("Peak outbound rate of the step."),
				"oper_status": enumOf("The last oper status of the step.", statuses),
				"oper_up":     obj{"type": "number", "description": "Share of the step's samples with oper status up (0 to 1)."},
			})),
		}),
		"HistoryEvent": object([]string{"ts", "node", "type"}, obj{
			"ts": ts, "node": str(""), "type": enumOf("", openAPIEnum(eventKinds())),
			"interface": str("The interface, for interface events."), "if_index": obj{"type": "integer"},
			"from": str("State before (status events)."), "to": str("State after."), "detail": str(""),
			"neighbor": obj{"type": "object", "description": "The LLDP neighbour (LLDP events)."},
		}),
		"TopInterface": object([]string{"node", "interface", "value", "speed_bps"}, obj{
			"node": str(""), "interface": str(""), "value": obj{"type": "number"}, "speed_bps": obj{"type": "integer"},
		}),
		"Availability": object([]string{"node", "polls", "reachable_polls", "percent"}, obj{
			"node": str(""), "polls": obj{"type": "integer"}, "reachable_polls": obj{"type": "integer"},
			"percent": obj{"type": "number", "description": "reachable_polls / polls, in percent."},
		}),
		"InterfaceState": obj{"type": "object", "required": []string{"index", "name", "admin_status", "oper_status", "speed_bps"},
			"properties": obj{
				"index": obj{"type": "integer"}, "name": str(""), "descr": str(""), "alias": str(""), "type": str(""),
				"admin_status": enumOf("", statuses), "oper_status": enumOf("", statuses), "speed_bps": obj{"type": "integer"},
				"last_change": ts,
				"in_bps":      obj{"type": "number"}, "out_bps": obj{"type": "number"}, "in_pps": obj{"type": "number"}, "out_pps": obj{"type": "number"},
				"in_errors_rate": obj{"type": "number"}, "out_errors_rate": obj{"type": "number"},
				"in_discards_rate": obj{"type": "number"}, "out_discards_rate": obj{"type": "number"},
			}},
	}
}
