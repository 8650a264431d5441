package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleHealthz answers while the process serves.
func (a *API) handleHealthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleReadyz answers 200 when etcd answers within ReadyTimeout, else 503
// with the reason. With a history store it also says whether ClickHouse
// answers ("history"), without changing the status: a collector whose
// ClickHouse is away still serves the desired state and the agents'
// inventory, and answers ingest with 503 itself.
func (a *API) handleReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.cfg.ReadyTimeout)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("not ready", "request_id", requestIDOf(c), "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": err.Error()})
		return
	}
	body := gin.H{"status": "ok"}
	if a.history != nil {
		s, err := a.history()
		if err == nil {
			err = s.Ping(ctx)
		}
		body["history"] = "ok"
		if err != nil {
			body["history"] = err.Error()
		}
	}
	c.JSON(http.StatusOK, body)
}

// handleOpenAPI serves the OpenAPI document.
func (a *API) handleOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", a.openapi)
}
