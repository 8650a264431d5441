package api

import (
	"encoding/json"
	"maps"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// openAPIDocument builds the OpenAPI 3.0 document of every route. Enums
// come from the model, so the document cannot drift from what is accepted;
// a test checks that the paths match the router's.
func openAPIDocument() ([]byte, error) {
	paths, schemas := openAPIPaths(), openAPISchemas()
	maps.Copy(paths, agentOpenAPIPaths())
	maps.Copy(schemas, agentOpenAPISchemas())
	maps.Copy(paths, policyOpenAPIPaths())
	maps.Copy(schemas, policyOpenAPISchemas())
	maps.Copy(paths, agentsOpenAPIPaths())
	maps.Copy(schemas, agentsOpenAPISchemas())
	maps.Copy(paths, historyOpenAPIPaths())
	maps.Copy(schemas, historyOpenAPISchemas())
	doc := obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "μNet collector API",
			"version": "1",
			"description": "Desired state of the network (locations, SNMP profiles, nodes, links), bulk import and export. " +
				"Writes are compare-and-swap on the object's revision (ETag / If-Match). Errors are " +
				`{"error":{"code","message","details"}}. SNMP secrets are write-only, except on the agent channel ` +
				`(GET /api/v1/agent/inventory), the one answer that carries them.`,
		},
		"servers":    []obj{{"url": "/"}},
		"paths":      paths,
		"components": obj{"schemas": schemas, "parameters": openAPIParameters(), "responses": openAPIResponses()},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func ref(kind, name string) obj { return obj{"$ref": "#/components/" + kind + "/" + name} }
func schemaRef(name string) obj { return ref("schemas", name) }
func paramRef(name string) obj  { return ref("parameters", name) }
func respRef(name string) obj   { return ref("responses", name) }

func jsonContent(schema obj) obj { return obj{mimeJSON: obj{"schema": schema}} }

// collection describes one CRUD collection for the document.
type collection struct {
	path, schema, tag string
	sorts             []string
	filters           []obj
	// byName says the {ref} may be a name (all but links).
	byName bool
}

func openAPICollections() []collection {
	return []collection{
		{path: "locations", schema: "Location", tag: "locations", byName: true,
			sorts: locationSorts(),
			filters: []obj{
				queryParam("within", "Only this location and its subtree.", obj{"type": "string"}),
				queryParam("kind", "Only locations of this kind.", enumSchema(locationKinds())),
				queryParam("name_prefix", "Only names starting with this.", obj{"type": "string"}),
			}},
		{path: "snmp-profiles", schema: "SNMPProfile", tag: "snmp-profiles", byName: true,
			sorts: profileSorts()},
		{path: "nodes", schema: "Node", tag: "nodes", byName: true,
			sorts: nodeSorts(),
			filters: []obj{
				queryParam("location", "Only nodes in this location's subtree.", obj{"type": "string"}),
				queryParam("role", "Only nodes with this role.", enumSchema(roles())),
				queryParam("vendor", "Only nodes of this vendor.", enumSchema(vendors())),
				queryParam("lifecycle", "Only nodes at this lifecycle stage.", enumSchema(lifecycles())),
				queryParam("tag", "Only nodes carrying this tag.", obj{"type": "string"}),
				queryParam("name_prefix", "Only names starting with this.", obj{"type": "string"}),
				queryParam("snmp_profile", "Only nodes polled with this SNMP profile.", obj{"type": "string"}),
			}},
		{path: "links", schema: "Link", tag: "links",
			sorts: linkSorts(),
			filters: []obj{
				queryParam("node", "Only links with an end on this node.", obj{"type": "string"}),
			}},
	}
}

func queryParam(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

func enumSchema(values []string) obj { return obj{"type": "string", "enum": values} }

func sortParam(sorts []string) obj {
	values := make([]string, 0, 2*len(sorts))
	for _, s := range sorts {
		values = append(values, s, "-"+s)
	}
	return queryParam("sort", "Sort key; a leading - sorts in descending order.", enumSchema(values))
}

// errors lists the error responses of an operation.
func errorResponses(r obj, names ...string) obj {
	codes := map[string]string{
		"BadRequest": "400", "NotFound": "404", "Conflict": "409", "PayloadTooLarge": "413",
		"UnsupportedMediaType": "415", "Invalid": "422",
	}
	for _, n := range names {
		r[codes[n]] = respRef(n)
	}
	r["500"] = respRef("Internal")
	return r
}

func objectResponse(desc, schema string, status string) obj {
	return obj{status: obj{
		"description": desc,
		"headers":     obj{"ETag": obj{"description": `The object's revision, quoted ("42").`, "schema": obj{"type": "string"}}},
		"content":     jsonContent(schemaRef(schema)),
	}}
}

func openAPIPaths() obj {
	paths := obj{}
	for _, c := range openAPICollections() {
		base := apiPrefix + "/" + c.path
		refDesc := "The object's id"
		if c.byName {
			refDesc = "The object's name or id"
		}
		refParam := obj{"name": "ref", "in": "path", "required": true, "description": refDesc, "schema": obj{"type": "string"}}
		listParams := []any{paramRef("limit"), paramRef("continue"), sortParam(c.sorts)}
		for _, f := range c.filters {
			listParams = append(listParams, f)
		}
		created := objectResponse("Created.", c.schema, "201")
		created["201"].(obj)["headers"].(obj)["Location"] = obj{"description": "The new object's URL.", "schema": obj{"type": "string"}}
		paths[base] = obj{
			"get": obj{
				"tags": []string{c.tag}, "operationId": "list-" + c.path, "summary": "List " + c.path + ", a page at a time.",
				"parameters": listParams,
				"responses": errorResponses(obj{"200": obj{"description": "A page.",
					"content": jsonContent(schemaRef(c.schema + "Page"))}}, "BadRequest"),
			},
			"post": obj{
				"tags": []string{c.tag}, "operationId": "create-" + c.path, "summary": "Create an object.",
				"requestBody": obj{"required": true, "content": jsonContent(schemaRef(c.schema))},
				"responses":   errorResponses(created, "BadRequest", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "Invalid"),
			},
		}
		paths[base+"/{ref}"] = obj{
			"parameters": []any{refParam},
			"get": obj{
				"tags": []string{c.tag}, "operationId": "get-" + c.path, "summary": "Get an object.",
				"responses": errorResponses(objectResponse("The object.", c.schema, "200"), "NotFound"),
			},
			"put": obj{
				"tags": []string{c.tag}, "operationId": "replace-" + c.path,
				"summary":     "Replace an object; conditional with If-Match or a non-zero revision in the body.",
				"parameters":  []any{paramRef("IfMatch")},
				"requestBody": obj{"required": true, "content": jsonContent(schemaRef(c.schema))},
				"responses": errorResponses(objectResponse("The updated object.", c.schema, "200"),
					"BadRequest", "NotFound", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "Invalid"),
			},
			"patch": obj{
				"tags": []string{c.tag}, "operationId": "patch-" + c.path,
				"summary":    "Change an object with a JSON merge patch (RFC 7396); fields left out keep their values, secrets included.",
				"parameters": []any{paramRef("IfMatch")},
				"requestBody": obj{"required": true, "content": obj{
					mimeMergePatch: obj{"schema": obj{"type": "object"}},
					mimeJSON:       obj{"schema": obj{"type": "object"}},
				}},
				"responses": errorResponses(objectResponse("The updated object.", c.schema, "200"),
					"BadRequest", "NotFound", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "Invalid"),
			},
			"delete": obj{
				"tags": []string{c.tag}, "operationId": "delete-" + c.path, "summary": "Delete an object.",
				"parameters": []any{paramRef("IfMatch"), queryParam("cascade",
					"Also delete what refers to the object (child locations, nodes, links) instead of refusing with 409 in_use.",
					obj{"type": "boolean", "default": false})},
				"responses": errorResponses(obj{"204": obj{"description": "Deleted."}}, "BadRequest", "NotFound", "Conflict"),
			},
		}
	}
	refParam := obj{"name": "ref", "in": "path", "required": true, "description": "The location's name or id", "schema": obj{"type": "string"}}
	paths[apiPrefix+"/locations/{ref}/tree"] = obj{"get": obj{
		"tags": []string{"locations"}, "operationId": "location-subtree", "summary": "A location and everything below it.",
		"parameters": []any{refParam},
		"responses": errorResponses(obj{"200": obj{"description": "The subtree.", "content": jsonContent(schemaRef("TreeNode"))}},
			"NotFound"),
	}}
	paths[apiPrefix+"/location-tree"] = obj{"get": obj{
		"tags": []string{"locations"}, "operationId": "location-tree", "summary": "Every root location with its subtree.",
		"responses": errorResponses(obj{"200": obj{"description": "The roots.",
			"content": jsonContent(obj{"type": "array", "items": schemaRef("TreeNode")})}}),
	}}
	paths[apiPrefix+"/import"] = obj{"post": importOperation()}
	paths[apiPrefix+"/export"] = obj{"get": obj{
		"tags": []string{"bulk"}, "operationId": "export", "summary": "Every object, in the format import reads; secrets are never included.",
		"parameters": []any{queryParam("format", "File format.", obj{"type": "string", "enum": []string{"json", "csv"}, "default": "json"})},
		"responses": errorResponses(obj{"200": obj{"description": "The file.", "content": obj{
			mimeJSON: obj{"schema": schemaRef("Bundle")},
			mimeCSV:  obj{"schema": obj{"type": "string"}},
		}}}, "BadRequest"),
	}}
	paths[apiPrefix+"/openapi.json"] = obj{"get": obj{
		"tags": []string{"meta"}, "operationId": "openapi", "summary": "This document.",
		"responses": obj{"200": obj{"description": "The OpenAPI document.", "content": jsonContent(obj{"type": "object"})}},
	}}
	paths["/healthz"] = obj{"get": obj{
		"tags": []string{"meta"}, "operationId": "healthz", "summary": "200 while the process serves.",
		"responses": obj{"200": obj{"description": "Serving.", "content": jsonContent(schemaRef("Health"))}},
	}}
	paths["/readyz"] = obj{"get": obj{
		"tags": []string{"meta"}, "operationId": "readyz", "summary": "200 when etcd answers, else 503 with the reason.",
		"responses": obj{
			"200": obj{"description": "Ready.", "content": jsonContent(schemaRef("Health"))},
			"503": obj{"description": "Not ready.", "content": jsonContent(schemaRef("Health"))},
		},
	}}
	paths["/metrics"] = obj{"get": obj{
		"tags": []string{"meta"}, "operationId": "metrics", "summary": "Prometheus metrics.",
		"responses": obj{"200": obj{"description": "Prometheus text exposition format.",
			"content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}},
	}}
	return paths
}

func importOperation() obj {
	return obj{
		"tags": []string{"bulk"}, "operationId": "import",
		"summary": "Create or update every object of a file, all or nothing.",
		"description": "The format comes from ?format, else from the Content-Type. With Accept: application/x-ndjson " +
			"the answer streams ImportStreamLine objects, one per line: progress, then a report or an error.",
		"parameters": []any{
			queryParam("format", "File format; overrides the Content-Type.", enumSchema([]string{"json", "csv"})),
			queryParam("kind", "Kind of every row of a CSV file without a kind column.", enumSchema(objectKinds())),
			queryParam("dry_run", "Check the file against the store without writing.", obj{"type": "boolean", "default": false}),
		},
		"requestBody": obj{"required": true, "content": obj{
			mimeJSON: obj{"schema": schemaRef("Bundle")},
			mimeCSV:  obj{"schema": obj{"type": "string"}},
		}},
		"responses": errorResponses(obj{"200": obj{"description": "What the import did (or would do).", "content": obj{
			mimeJSON:   obj{"schema": schemaRef("ImportReport")},
			mimeNDJSON: obj{"schema": schemaRef("ImportStreamLine")},
		}}}, "BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Invalid"),
	}
}

func openAPIParameters() obj {
	return obj{
		"limit":    queryParam("limit", "Page size (absent or 0: the server's default).", obj{"type": "integer", "minimum": 0}),
		"continue": queryParam("continue", "The continue token of the previous page.", obj{"type": "string"}),
		"IfMatch": obj{"name": "If-Match", "in": "header", "required": false,
			"description": `Make the write conditional on the object's revision, as its ETag ("42").`, "schema": obj{"type": "string"}},
	}
}

func openAPIResponses() obj {
	resp := func(desc string) obj {
		return obj{"description": desc, "content": jsonContent(schemaRef("Error"))}
	}
	return obj{
		"BadRequest":           resp("bad_request: malformed JSON, unknown field, bad query parameter or header."),
		"NotFound":             resp("not_found: no such object."),
		"Conflict":             resp("conflict (stale revision, name taken, interface already linked) or in_use (details.referenced_by)."),
		"PayloadTooLarge":      resp("payload_too_large: the body is over the limit."),
		"UnsupportedMediaType": resp("unsupported_media_type: wrong Content-Type (details.accepted)."),
		"Invalid":              resp("invalid: details.fields (objects) or details.errors (import rows)."),
		"Internal":             resp("internal: the log has the cause under details.request_id."),
	}
}

// openAPIEnum lists a model enum's values as strings.
func openAPIEnum[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
