package api

import (
	"github.com/unet-project/unet/collector/policy"
)

// policyOpenAPIPaths documents the routes of policies.go and compliance.go.
func policyOpenAPIPaths() obj {
	unavailable := obj{"description": "unavailable: the collector runs without a policy engine (--policies DIR), or it is starting.",
		"content": jsonContent(schemaRef("Error"))}
	with503 := func(r obj) obj {
		r["503"] = unavailable
		return r
	}
	statuses := make([]string, 0, 4)
	for _, s := range policy.Statuses() {
		statuses = append(statuses, string(s))
	}
	nodeRef := obj{"name": "ref", "in": "path", "required": true, "description": "The node's name or id", "schema": obj{"type": "string"}}
	return obj{
		apiPrefix + "/compliance": obj{"get": obj{
			"tags": []string{"compliance"}, "operationId": "list-compliance",
			"summary": "The latest verdict of every (node, rule), a page at a time, by node then rule.",
			"description": "Not-applicable verdicts are listed only when asked for with status=not_applicable. " +
				"Verdicts change when a node or a location changes, when a policy file changes, on the engine's " +
				"interval and on POST /policies/evaluate.",
			"parameters": []any{paramRef("limit"), paramRef("continue"),
				queryParam("rule", "Only this rule.", obj{"type": "string"}),
				queryParam("node", "Only this node (name or id).", obj{"type": "string"}),
				queryParam("site", "Only nodes of this site.", obj{"type": "string"}),
				queryParam("status", "Only this verdict.", enumSchema(statuses)),
				queryParam("policy", "Only the rules of this policy file.", obj{"type": "string"}),
			},
			"responses": with503(errorResponses(obj{"200": obj{"description": "A page.",
				"content": jsonContent(schemaRef("CompliancePage"))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/nodes/{ref}/compliance": obj{"get": obj{
			"tags": []string{"compliance"}, "operationId": "node-compliance",
			"summary":    "Every rule's verdict on one node (not_applicable included), and the templates its APPLY rules assign.",
			"parameters": []any{nodeRef},
			"responses": with503(errorResponses(obj{"200": obj{"description": "The verdicts.",
				"content": jsonContent(schemaRef("NodeCompliance"))}}, "BadRequest", "NotFound")),
		}},
		apiPrefix + "/compliance/sets": obj{"get": obj{
			"tags": []string{"compliance"}, "operationId": "list-set-proposals",
			"summary":    "The pending SET proposals: custom_data changes that SET rules ask for.",
			"parameters": []any{queryParam("node", "Only this node (name or id).", obj{"type": "string"})},
			"responses": with503(errorResponses(obj{"200": obj{"description": "The proposals.",
				"content": jsonContent(object([]string{"items"}, obj{"items": arrayOf(schemaRef("SetProposal"))}))}},
				"BadRequest", "NotFound")),
		}},
		apiPrefix + "/compliance/sets/apply": obj{"post": obj{
			"tags": []string{"compliance"}, "operationId": "apply-set-proposals",
			"summary": "Write SET proposals into the nodes' custom_data.",
			"description": "Each node is updated in one compare-and-swap on the revision that was evaluated: a node " +
				"changed since is not written (status conflict) and is evaluated again. Two rules proposing different " +
				"values for one field are both refused (conflict).",
			"requestBody": obj{"required": false, "content": jsonContent(object(nil, obj{
				"proposals": obj{"type": "array", "items": schemaRef("ProposalRef"),
					"description": "The proposals to apply, as GET /compliance/sets lists them; absent: every pending one."},
			}))},
			"responses": with503(errorResponses(obj{"200": obj{"description": "What became of each proposal.",
				"content": jsonContent(schemaRef("ApplyReport"))}}, "BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Invalid")),
		}},
		apiPrefix + "/policies": obj{"get": obj{
			"tags": []string{"policies"}, "operationId": "list-policies",
			"summary": "The policy files loaded, their rules, and the errors of those that did not load.",
			"responses": with503(errorResponses(obj{"200": obj{"description": "The engine's state and its files.",
				"content": jsonContent(schemaRef("Policies"))}}, "BadRequest")),
		}},
		apiPrefix + "/policies/evaluate": obj{"post": obj{
			"tags": []string{"policies"}, "operationId": "evaluate-policies",
			"summary": "Evaluate now, every node or the ones named; answers when done.",
			"requestBody": obj{"required": false, "content": jsonContent(object(nil, obj{
				"nodes": obj{"type": "array", "items": obj{"type": "string"}, "description": "Names or ids; absent or empty: every node."},
			}))},
			"responses": with503(errorResponses(obj{"200": obj{"description": "What the evaluation did.",
				"content": jsonContent(schemaRef("EvaluationSummary"))}}, "BadRequest", "NotFound", "PayloadTooLarge", "UnsupportedMediaType")),
		}},
	}
}

// policyOpenAPISchemas are the schemas of the policy routes.
func policyOpenAPISchemas() obj {
	statuses := make([]string, 0, 4)
	for _, s := range policy.Statuses() {
		statuses = append(statuses, string(s))
	}
	anyValue := func(desc string) obj { return obj{"description": desc, "nullable": true} }
	actions := []string{"assert", "set", "apply"}
	return obj{
		"ComplianceResult": object([]string{"node", "rule", "policy", "action", "status", "actual", "expected"}, obj{
			"node":   str(""),
			"site":   str("The node's site, if it has one."),
			"rule":   str("The rule's name (an unnamed DSL rule is FILE:LINE)."),
			"policy": str("The policy file, relative to the policy directory."),
			"line":   obj{"type": "integer"},
			"action": enumOf("", actions),
			"status": enumOf("compliant, violation (actual differs from expected; for a SET, a pending change), "+
				"not_applicable (the condition is false), error (the rule could not run: the message says why).", statuses),
			"target":        str("The field of an assert or a set."),
			"actual":        anyValue("The field's value on the node (JSON, null when missing)."),
			"expected":      anyValue("The value the rule wants (for a set: the proposed value)."),
			"template":      str("The template of an apply rule."),
			"message":       str("For people: the violation, the proposed change, the template, or the error."),
			"node_revision": obj{"type": "integer", "format": "int64", "description": "The node's revision evaluated."},
			"since":         obj{"type": "string", "format": "date-time", "description": "When the verdict last changed."},
			"evaluated_at":  obj{"type": "string", "format": "date-time", "description": "When it was last found."},
		}),
		"CompliancePage": object([]string{"items", "continue"}, obj{
			"items":        arrayOf(schemaRef("ComplianceResult")),
			"continue":     str("Token of the next page; empty on the last page."),
			"evaluated_at": obj{"type": "string", "format": "date-time", "description": "The engine's last evaluation."},
		}),
		"NodeCompliance": object([]string{"node", "items", "templates"}, obj{
			"node":      str(""),
			"items":     arrayOf(schemaRef("ComplianceResult")),
			"templates": obj{"type": "array", "items": obj{"type": "string"}, "description": "Templates of the APPLY rules that hold, in rule order."},
		}),
		"SetProposal": object([]string{"node", "rule", "policy", "path", "current", "proposed", "node_revision"}, obj{
			"node":          str(""),
			"rule":          str(""),
			"policy":        str(""),
			"path":          str("The custom_data field, e.g. custom_data.bgp.asn."),
			"current":       anyValue("Its value now."),
			"proposed":      anyValue("The value the rule sets."),
			"node_revision": obj{"type": "integer", "format": "int64", "description": "The revision the change applies to."},
		}),
		"ProposalRef": object([]string{"node", "path"}, obj{
			"node":     str(""),
			"path":     str(""),
			"proposed": anyValue("The proposed value seen: a proposal whose value changed since is not applied."),
		}),
		"ApplyReport": object([]string{"applied", "failed", "outcomes"}, obj{
			"applied": obj{"type": "integer"},
			"failed":  obj{"type": "integer"},
			"outcomes": arrayOf(obj{"allOf": []any{schemaRef("SetProposal"), obj{"type": "object", "properties": obj{
				"status": enumOf("", []string{"applied", "conflict", "failed"}),
				"reason": str(""),
			}}}}),
		}),
		"EvaluationSummary": object([]string{"nodes", "rules", "verdicts", "changed", "duration", "at"}, obj{
			"nodes":    obj{"type": "integer"},
			"rules":    obj{"type": "integer"},
			"verdicts": obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "Applicable verdicts by status."},
			"changed":  obj{"type": "integer", "description": "Verdicts that changed."},
			"duration": str("Go duration."),
			"at":       obj{"type": "string", "format": "date-time"},
		}),
		"PolicyRule": object([]string{"name", "action"}, obj{
			"name":     str(""),
			"line":     obj{"type": "integer"},
			"action":   enumOf("", actions),
			"target":   str(""),
			"expected": obj{"type": "object", "description": `{"value": JSON} or {"field": "path"}.`},
			"template": str(""),
		}),
		"PolicyFile": object([]string{"file", "kind", "rules", "active"}, obj{
			"file":        str("Relative to the policy directory."),
			"kind":        enumOf("", []string{"dsl", "wasm"}),
			"hash":        str("SHA-256 of the active module."),
			"rules":       arrayOf(schemaRef("PolicyRule")),
			"error":       str("Why the file's current content did not load."),
			"diagnostics": obj{"type": "array", "items": obj{"type": "string"}, "description": "FILE:LINE:COL: message, one per error."},
			"active":      obj{"type": "boolean", "description": "Its rules are evaluated."},
			"stale":       obj{"type": "boolean", "description": "The active rules are those of the last version that loaded."},
			"loaded_at":   obj{"type": "string", "format": "date-time"},
		}),
		"Policies": object([]string{"dir", "ready", "nodes", "rules", "files", "files_with_errors", "policies"}, obj{
			"dir":               str("The policy directory."),
			"ready":             obj{"type": "boolean", "description": "The desired state is read."},
			"nodes":             obj{"type": "integer"},
			"last_evaluation":   obj{"type": "string", "format": "date-time"},
			"dir_error":         str("Why the directory could not be read (the policies loaded before stay)."),
			"rules":             obj{"type": "integer"},
			"files":             obj{"type": "integer"},
			"files_with_errors": obj{"type": "integer"},
			"results_prefix":    str("Where the latest verdicts are kept in etcd."),
			"policies":          arrayOf(schemaRef("PolicyFile")),
		}),
	}
}
