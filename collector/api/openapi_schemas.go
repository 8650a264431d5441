package api

import "github.com/unet-project/unet/shared/model"

func locationKinds() []string { return openAPIEnum(model.LocationKinds()) }
func roles() []string         { return openAPIEnum(model.Roles()) }
func vendors() []string       { return openAPIEnum(model.Vendors()) }
func lifecycles() []string    { return openAPIEnum(model.Lifecycles()) }
func objectKinds() []string   { return openAPIEnum(model.ObjectKinds()) }

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func readOnly(s obj) obj  { s["readOnly"] = true; return s }
func writeOnly(s obj) obj { s["writeOnly"] = true; return s }

func enumOf(desc string, values []string) obj {
	return obj{"type": "string", "description": desc, "enum": values}
}

func arrayOf(items obj) obj { return obj{"type": "array", "items": items} }

// withMeta adds the fields every stored object carries.
func withMeta(props obj) obj {
	props["id"] = readOnly(obj{"type": "string", "format": "uuid", "description": "Stable id, set by the server."})
	props["revision"] = obj{"type": "integer", "format": "int64",
		"description": "The object's version (its ETag). Set by the server; a non-zero value in a PUT or PATCH body makes it conditional."}
	props["created_at"] = readOnly(obj{"type": "string", "format": "date-time"})
	props["updated_at"] = readOnly(obj{"type": "string", "format": "date-time"})
	return props
}

func object(required []string, props obj) obj {
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func pageOf(schema string) obj {
	return object([]string{"items", "continue", "revision"}, obj{
		"items":    arrayOf(schemaRef(schema)),
		"continue": str("Token of the next page; empty on the last page."),
		"revision": obj{"type": "integer", "format": "int64", "description": "Store revision every page is read at."},
	})
}

func openAPISchemas() obj {
	location := withMeta(obj{
		"name":        str("Unique name: letters, digits, '.', '_' and '-'."),
		"kind":        enumOf("Level in the hierarchy.", locationKinds()),
		"parent":      str("Name of the parent location; empty for a root."),
		"description": str(""),
	})
	treeProps := withMeta(obj{
		"name":        str(""),
		"kind":        enumOf("", locationKinds()),
		"parent":      str(""),
		"description": str(""),
		"path":        str("Names from the root down, joined by /."),
		"children":    arrayOf(schemaRef("TreeNode")),
	})
	duration := func(desc string) obj {
		return obj{"type": "string", "description": desc + " A Go duration: 2s, 500ms, 1m."}
	}
	return obj{
		"Location": object([]string{"name", "kind"}, location),
		"TreeNode": object([]string{"name", "kind", "path"}, treeProps),
		"SNMPProfile": object([]string{"name", "version"}, withMeta(obj{
			"name":            str("Unique name."),
			"version":         enumOf("SNMP version.", openAPIEnum(model.SNMPVersions())),
			"community":       writeOnly(str("v2c community; never returned. Left out of an update, the stored one is kept.")),
			"user":            str("v3 user name."),
			"auth_protocol":   enumOf("v3 authentication protocol.", openAPIEnum(model.AuthProtocols())),
			"auth_key":        writeOnly(str("v3 authentication key; never returned.")),
			"priv_protocol":   enumOf("v3 privacy protocol.", openAPIEnum(model.PrivProtocols())),
			"priv_key":        writeOnly(str("v3 privacy key; never returned.")),
			"port":            obj{"type": "integer", "minimum": 0, "maximum": 65535, "default": model.DefaultSNMPPort},
			"timeout":         duration("Per-request timeout."),
			"retries":         obj{"type": "integer", "minimum": 0, "maximum": 10, "nullable": true},
			"interval":        duration("Polling interval."),
			"max_repetitions": obj{"type": "integer", "minimum": 0, "maximum": 1000},
			"secrets_set":     readOnly(arrayOf(enumOf("", []string{"community", "auth_key", "priv_key"}))),
		})),
		"Node": object([]string{"name", "vendor", "role", "location"}, withMeta(obj{
			"name":               str("Unique name."),
			"domain":             str("DNS domain."),
			"fqdn":               readOnly(str("name.domain")),
			"vendor":             enumOf("", vendors()),
			"model":              str(""),
			"role":               enumOf("", roles()),
			"lifecycle":          enumOf("Defaults to planned.", lifecycles()),
			"management_address": str("IPv4 or IPv6 address; required for a live node."),
			"location":           str("Name of a location of kind site or below."),
			"snmp_profile":       str("Name of an SNMP profile."),
			"version":            str("Software version."),
			"serial":             str(""),
			"tags":               arrayOf(obj{"type": "string"}),
			"custom_data":        obj{"type": "object", "additionalProperties": true},
		})),
		"Endpoint": object([]string{"node", "interface"}, obj{"node": str("Node name."), "interface": str("Interface name.")}),
		"Circuit":  object([]string{"id"}, obj{"id": str("Circuit id."), "provider": str("")}),
		"Link": object([]string{"a"}, withMeta(obj{
			"a":             schemaRef("Endpoint"),
			"z":             schemaRef("Endpoint"),
			"circuit":       schemaRef("Circuit"),
			"bandwidth_bps": obj{"type": "integer", "format": "int64", "minimum": 0},
			"description":   str(""),
		})),
		"LocationPage":    pageOf("Location"),
		"SNMPProfilePage": pageOf("SNMPProfile"),
		"NodePage":        pageOf("Node"),
		"LinkPage":        pageOf("Link"),
		"Bundle": object(nil, obj{
			"locations":     arrayOf(schemaRef("Location")),
			"snmp_profiles": arrayOf(schemaRef("SNMPProfile")),
			"nodes":         arrayOf(schemaRef("Node")),
			"links":         arrayOf(schemaRef("Link")),
		}),
		"RowError": object([]string{"reason"}, obj{
			"line":   obj{"type": "integer", "description": "CSV line."},
			"path":   str("JSON path, e.g. nodes[3]."),
			"kind":   enumOf("", objectKinds()),
			"name":   str(""),
			"field":  str(""),
			"reason": str(""),
		}),
		"ImportReport": object([]string{"created", "updated"}, obj{
			"created":  obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "Objects created, by kind."},
			"updated":  obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "Objects updated, by kind."},
			"errors":   arrayOf(schemaRef("RowError")),
			"revision": obj{"type": "integer", "format": "int64"},
		}),
		"ImportStreamLine": obj{"type": "object", "description": "One line of an NDJSON import answer: exactly one member is set.",
			"properties": obj{
				"progress": object([]string{"done", "total"}, obj{"done": obj{"type": "integer"}, "total": obj{"type": "integer"}}),
				"report":   schemaRef("ImportReport"),
				"error":    schemaRef("ErrorObject"),
			}},
		"FieldError": object([]string{"field", "reason"}, obj{"field": str(""), "reason": str("")}),
		"Ref":        object([]string{"kind", "name"}, obj{"kind": enumOf("", objectKinds()), "name": str("Name (a link's id).")}),
		"ErrorObject": object([]string{"code", "message"}, obj{
			"code": enumOf("", []string{codeBadRequest, codeNotFound, codeMethodNotAllowed, codeConflict, codeInUse,
				codeTooLarge, codeUnsupportedMedia, codeInvalid, codeInternal}),
			"message": str("One line for a human."),
			"details": obj{"type": "object", "description": "By code: fields [FieldError] (invalid), errors [RowError] (invalid import), " +
				"referenced_by [Ref] (in_use), field / param / accepted (bad_request), request_id (internal)."},
		}),
		"Error":  object([]string{"error"}, obj{"error": schemaRef("ErrorObject")}),
		"Health": object([]string{"status"}, obj{"status": enumOf("", []string{"ok", "unavailable"}), "reason": str("Why not ready.")}),
	}
}
