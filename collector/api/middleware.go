package api

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

const (
	headerRequestID = "X-Request-Id"
	// ctxRequestID is the gin context key of the request id.
	ctxRequestID = "unet.request_id"
	// maxRequestIDLen bounds a client-chosen request id.
	maxRequestIDLen = 128
	// routeUnmatched labels requests that matched no route, so that random
	// URLs cannot blow up the metrics' cardinality.
	routeUnmatched = "unmatched"
)

// requestID takes the client's X-Request-Id when it is sane, or makes one,
// and echoes it.
func (a *API) requestID(c *gin.Context) {
	id := c.GetHeader(headerRequestID)
	if !validRequestID(id) {
		id = uuid.NewString()
	}
	c.Set(ctxRequestID, id)
	c.Header(headerRequestID, id)
	c.Next()
}

// validRequestID accepts printable ASCII without spaces or quotes, so the id
// is safe in headers and logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b >= 0x7f || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

func requestIDOf(c *gin.Context) string { return c.GetString(ctxRequestID) }

// observe logs every request and records its metrics once it is answered.
func (a *API) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	route := c.FullPath()
	if route == "" {
		route = routeUnmatched
	}
	status := c.Writer.Status()
	method := methodLabel(c.Request.Method)
	a.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	a.metrics.duration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(elapsed.Seconds())

	level := slog.LevelInfo
	switch {
	case status >= 500 && status != statusClientClosed:
		level = slog.LevelWarn
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		level = slog.LevelDebug
	}
	a.log.LogAttrs(c.Request.Context(), level, "request",
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.String("client", c.ClientIP()),
		slog.String("request_id", requestIDOf(c)),
	)
}

// methodLabel keeps the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// recoverPanic turns a panic in a handler into a logged 500, so that one bad
// request never takes the collector down. http.ErrAbortHandler is the
// deliberate way to cut a connection and is passed on.
func (a *API) recoverPanic(c *gin.Context) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if r == http.ErrAbortHandler {
			panic(r)
		}
		a.log.Error("panic in handler", "request_id", requestIDOf(c), "method", c.Request.Method,
			"route", c.FullPath(), "panic", r, "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		id := requestIDOf(c)
		c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: newError(http.StatusInternalServerError, codeInternal,
			"internal error; the collector log has the cause under request id %s", id).withDetails(map[string]any{"request_id": id})})
	}()
	c.Next()
}
