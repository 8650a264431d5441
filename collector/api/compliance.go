package api

// Compliance: the verdicts of the policy engine (collector/policy), per
// node and rule, and the SET proposals waiting for an operator.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/policy"
)

// compliancePage is the answer of GET /compliance.
type compliancePage struct {
	Items    []policy.Result `json:"items"`
	Continue string          `json:"continue"`
	// EvaluatedAt is the time of the engine's last evaluation.
	EvaluatedAt time.Time `json:"evaluated_at,omitzero"`
}

// nodeCompliance is the answer of GET /nodes/{ref}/compliance.
type nodeCompliance struct {
	Node string `json:"node"`
	// Items has one verdict per rule loaded, not_applicable included.
	Items     []policy.Result `json:"items"`
	Templates []string        `json:"templates"`
}

// setsAnswer is the answer of GET /compliance/sets.
type setsAnswer struct {
	Items []policy.SetProposal `json:"items"`
}

// applySetsRequest is the body of POST /compliance/sets/apply.
type applySetsRequest struct {
	// Proposals, when given, are the proposals to apply (as listed by GET
	// /compliance/sets); absent applies every pending one.
	Proposals *[]policy.ProposalRef `json:"proposals"`
}

// complianceToken is the continue token of a compliance list: the last
// (node, rule) of the page, opaque to clients. A cursor rather than an
// offset: a page costs the same wherever it starts, and verdicts that
// appear or go between two pages move nothing.
func complianceToken(c policy.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte("compliance\x00" + c.Node + "\x00" + c.Rule))
}

func parseComplianceToken(tok string) (policy.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if parts := strings.Split(string(b), "\x00"); len(parts) == 3 && parts[0] == "compliance" && parts[1] != "" {
			return policy.Cursor{Node: parts[1], Rule: parts[2]}, nil
		}
	}
	return policy.Cursor{}, badRequest("query parameter continue=%q is not a token of this list", tok).withDetails(map[string]any{"param": "continue"})
}

func (a *API) handleCompliance(c *gin.Context, e *policy.Engine) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "limit", "continue", "rule", "node", "site", "status", "policy"); err != nil {
		a.writeError(c, err)
		return
	}
	o, err := a.listOptions(q, nil)
	if err != nil {
		a.writeError(c, err)
		return
	}
	var after policy.Cursor
	if o.Continue != "" {
		if after, err = parseComplianceToken(o.Continue); err != nil {
			a.writeError(c, err)
			return
		}
	}
	f := policy.Filter{Rule: q.Get("rule"), Site: q.Get("site"), Policy: q.Get("policy")}
	if s := q.Get("status"); s != "" {
		if f.Status, err = policy.ParseStatus(s); err != nil {
			a.writeError(c, badRequest("query parameter status: %v", err).
				withDetails(map[string]any{"param": "status", "accepted": policy.Statuses()}))
			return
		}
	}
	if ref := q.Get("node"); ref != "" {
		name, err := a.policyNode(c, e, ref)
		if err != nil {
			a.writeError(c, err)
			return
		}
		f.Node = name
	}
	items, more := e.ResultsPage(f, after, o.Limit)
	page := compliancePage{Items: items, EvaluatedAt: e.State().LastEval}
	if more && len(items) > 0 {
		last := items[len(items)-1]
		page.Continue = complianceToken(policy.Cursor{Node: last.Node, Rule: last.Rule})
	}
	c.JSON(http.StatusOK, page)
}

// policyNode resolves a node reference: the engine's snapshot first, then
// the store (a node created a moment ago, not yet evaluated). Unknown is a
// 404.
func (a *API) policyNode(c *gin.Context, e *policy.Engine, ref string) (string, error) {
	if name, ok := e.NodeName(ref); ok {
		return name, nil
	}
	n, err := a.store.GetNode(c.Request.Context(), ref)
	if err != nil {
		return "", err
	}
	return n.Name, nil
}

func (a *API) handleNodeCompliance(c *gin.Context, e *policy.Engine) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	name, err := a.policyNode(c, e, c.Param("ref"))
	if err != nil {
		a.writeError(c, err)
		return
	}
	items, _ := e.NodeResults(name)
	if items == nil {
		items = []policy.Result{} // created since the last evaluation
	}
	tpl := e.Templates(name)
	if tpl == nil {
		tpl = []string{}
	}
	c.JSON(http.StatusOK, nodeCompliance{Node: name, Items: items, Templates: tpl})
}

func (a *API) handleSets(c *gin.Context, e *policy.Engine) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "node"); err != nil {
		a.writeError(c, err)
		return
	}
	node := ""
	if ref := q.Get("node"); ref != "" {
		var err error
		if node, err = a.policyNode(c, e, ref); err != nil {
			a.writeError(c, err)
			return
		}
	}
	items := e.SetProposals(node)
	if items == nil {
		items = []policy.SetProposal{}
	}
	c.JSON(http.StatusOK, setsAnswer{Items: items})
}

// readOptionalJSON decodes a small optional JSON body into v strictly: an
// empty body leaves v as it is.
func (a *API) readOptionalJSON(c *gin.Context, v any) error {
	if c.Request.ContentLength == 0 && c.GetHeader("Content-Type") == "" {
		return nil
	}
	body, err := readBody(c, a.cfg.MaxBodyBytes, mimeJSON)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return jsonSyntaxError(err)
		}
		return badRequest("invalid request body: %v", err)
	}
	if dec.More() {
		return badRequest("the request body must be one JSON object, and nothing after it")
	}
	return nil
}

func (a *API) handleApplySets(c *gin.Context, e *policy.Engine) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	var req applySetsRequest
	if err := a.readOptionalJSON(c, &req); err != nil {
		a.writeError(c, err)
		return
	}
	var only []policy.ProposalRef
	if req.Proposals != nil {
		only = *req.Proposals
		if only == nil {
			only = []policy.ProposalRef{} // "proposals": [] applies nothing
		}
		for i, p := range only {
			if p.Node == "" || p.Path == "" {
				a.writeError(c, newError(http.StatusUnprocessableEntity, codeInvalid,
					"proposals[%d]: node and path are required", i).withDetails(map[string]any{"index": i}))
				return
			}
		}
	}
	rep, err := e.ApplySets(c.Request.Context(), only)
	if err != nil {
		a.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
