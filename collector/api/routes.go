package api

import (
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiPrefix is the base of every versioned route.
const apiPrefix = "/api/v1"

// routes registers every route; the OpenAPI document lists the same set
// (a test holds them together).
func (a *API) routes() {
	e := a.engine
	e.GET("/healthz", a.handleHealthz)
	e.GET("/readyz", a.handleReadyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})))

	g := a.v1
	g.GET("/openapi.json", a.handleOpenAPI)
	a.locations().register(g)
	g.GET("/locations/:ref/tree", a.handleSubtree)
	g.GET("/location-tree", a.handleTree)
	a.snmpProfiles().register(g)
	a.nodes().register(g)
	a.links().register(g)
	g.POST("/import", a.handleImport)
	g.GET("/export", a.handleExport)
	g.GET("/agent/inventory", a.handleAgentInventory)       // the agent channel: carries SNMP secrets (agent.go)
	g.GET("/agent/inventory/watch", a.handleInventoryWatch) // same, as changes (agentwatch.go)
	g.POST("/agent/heartbeat", a.handleHeartbeat)
	g.GET("/agents", a.handleAgents)
	g.GET("/nodes/:ref/status", a.handleNodeStatus)
	a.policyRoutes(g)  // compliance and policies (policies.go, compliance.go)
	a.historyRoutes(g) // ingest, history, node interfaces (history.go)
}
