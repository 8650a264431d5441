package api

// Policies: the policy files the engine loaded, and evaluation on demand.
// The routes of this file and of compliance.go need the engine; without
// it they answer 503.

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/policy"
)

// policyRoutes registers the routes of the policy engine.
func (a *API) policyRoutes(g *gin.RouterGroup) {
	g.GET("/compliance", a.withPolicies(a.handleCompliance))
	g.GET("/compliance/sets", a.withPolicies(a.handleSets))
	g.POST("/compliance/sets/apply", a.withPolicies(a.handleApplySets))
	g.GET("/nodes/:ref/compliance", a.withPolicies(a.handleNodeCompliance))
	g.GET("/policies", a.withPolicies(a.handlePolicies))
	g.POST("/policies/evaluate", a.withPolicies(a.handleEvaluate))
}

// withPolicies answers 503 when the collector runs without a policy engine.
func (a *API) withPolicies(h func(*gin.Context, *policy.Engine)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a.policies == nil {
			a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable,
				"the policy engine is not configured: start the collector with --policies DIR "+
					"(or policies.dir in its configuration file, or UNET_POLICIES_DIR)"))
			return
		}
		h(c, a.policies)
	}
}

// evaluateRequest is the body of POST /policies/evaluate.
type evaluateRequest struct {
	// Nodes to evaluate (names or ids); absent or empty: every node.
	Nodes []string `json:"nodes"`
}

// policiesAnswer is the answer of GET /policies.
type policiesAnswer struct {
	policy.EngineStatus
	Policies []policy.PolicyFile `json:"policies"`
}

func (a *API) handlePolicies(c *gin.Context, e *policy.Engine) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	files, _ := e.Policies()
	c.JSON(http.StatusOK, policiesAnswer{EngineStatus: e.State(), Policies: files})
}

func (a *API) handleEvaluate(c *gin.Context, e *policy.Engine) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	var req evaluateRequest
	if err := a.readOptionalJSON(c, &req); err != nil {
		a.writeError(c, err)
		return
	}
	names := make([]string, 0, len(req.Nodes))
	for _, ref := range req.Nodes {
		name, err := a.policyNode(c, e, ref)
		if err != nil {
			a.writeError(c, err)
			return
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		names = nil // every node
	}
	sum, err := e.Evaluate(c.Request.Context(), names)
	if errors.Is(err, policy.ErrNotReady) {
		a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable, "%v; try again in a moment", err))
		return
	}
	if err != nil {
		a.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}
