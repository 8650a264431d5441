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
// with the reason.
func (a *API) handleReadyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.cfg.ReadyTimeout)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("not ready", "request_id", requestIDOf(c), "error", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "reason": err.Error()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// handleOpenAPI serves the OpenAPI document.
func (a *API) handleOpenAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", a.openapi)
}
