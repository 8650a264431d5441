// Package api is the collector's REST API: CRUD over the desired state
// (locations, SNMP profiles, nodes, links), the location tree, bulk import
// and export, health and readiness probes, Prometheus metrics and the
// OpenAPI document. It builds an http.Handler; the collector owns the HTTP
// server, its timeouts and its graceful shutdown.
package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/agents"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/policy"
	"github.com/unet-project/unet/shared/model"
)

// Config of the API.
type Config struct {
	// MaxBodyBytes bounds the body of an object write (POST, PUT, PATCH).
	MaxBodyBytes int64 `yaml:"max-body-bytes"`
	// MaxImportBytes bounds the file of a bulk import.
	MaxImportBytes int64 `yaml:"max-import-bytes"`
	// DefaultListLimit is the page size of a list request without a limit.
	DefaultListLimit int `yaml:"default-list-limit"`
	// MaxListLimit is the largest page size a client may ask for.
	MaxListLimit int `yaml:"max-list-limit"`
	// ReadyTimeout bounds the etcd round trip of /readyz.
	ReadyTimeout time.Duration `yaml:"ready-timeout"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:     1 << 20,
		MaxImportBytes:   64 << 20,
		DefaultListLimit: 500,
		MaxListLimit:     5000,
		ReadyTimeout:     2 * time.Second,
	}
}

// Validate refuses settings the API cannot work with.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("max-body-bytes must be positive (got %d)", c.MaxBodyBytes))
	}
	if c.MaxImportBytes <= 0 {
		errs = append(errs, fmt.Errorf("max-import-bytes must be positive (got %d)", c.MaxImportBytes))
	}
	if c.MaxListLimit <= 0 {
		errs = append(errs, fmt.Errorf("max-list-limit must be positive (got %d)", c.MaxListLimit))
	}
	if c.DefaultListLimit <= 0 || c.DefaultListLimit > c.MaxListLimit {
		errs = append(errs, fmt.Errorf("default-list-limit must be between 1 and max-list-limit %d (got %d)", c.MaxListLimit, c.DefaultListLimit))
	}
	if c.ReadyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ready-timeout must be positive (got %s)", c.ReadyTimeout))
	}
	return errors.Join(errs...)
}

// Dependencies are what the API works with.
type Dependencies struct {
	Store *desired.Store
	// Logger receives request logs and internal errors (never bodies).
	Logger *slog.Logger
	// Registry receives the API's metrics and is what /metrics serves.
	Registry *prometheus.Registry
	// Agents is the registry of live agents; nil answers the agent
	// endpoints with 503.
	Agents *agents.Registry
	// Latest returns the newest observed state of a node, for its status;
	// nil leaves the state empty.
	Latest func(node string) (model.DeviceState, bool)
	// Policies is the policy engine; nil answers the policy and
	// compliance endpoints with 503.
	Policies *policy.Engine
	// History returns the history store, or why there is none now (an
	// error answered 503, with Retry-After when it is a
	// history.UnavailableError); nil answers the history routes 503: no
	// history store is configured (history.go).
	History func() (*history.Store, error)
	// Ingest handles POST /ingest (collector/ingest); nil answers 503.
	Ingest gin.HandlerFunc
}

// API is the collector's REST API.
type API struct {
	cfg     Config
	store   *desired.Store
	agents  *agents.Registry
	latest  func(node string) (model.DeviceState, bool)
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	engine  *gin.Engine
	// closing is closed by Shutdown: long-lived answers (the agents'
	// inventory streams) end.
	closing   chan struct{}
	closeOnce sync.Once
	v1        *gin.RouterGroup
	openapi   []byte

	policies *policy.Engine // nil: no policy engine

	history func() (*history.Store, error) // nil: no history store
	ingest  gin.HandlerFunc                // nil: no history store
}

// New builds the API and registers its metrics.
func New(cfg Config, deps Dependencies) (*API, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if deps.Store == nil {
		return nil, errors.New("api: a desired-state store is required")
	}
	if deps.Registry == nil {
		return nil, errors.New("api: a Prometheus registry is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	doc, err := openAPIDocument()
	if err != nil {
		return nil, fmt.Errorf("api: OpenAPI document: %w", err)
	}
	a := &API{cfg: cfg, store: deps.Store, agents: deps.Agents, latest: deps.Latest, log: deps.Logger, reg: deps.Registry, metrics: m, openapi: doc,
		policies: deps.Policies, history: deps.History, ingest: deps.Ingest}
	a.closing = make(chan struct{})
	a.engine = a.newEngine()
	a.v1 = a.engine.Group(apiPrefix)
	a.routes()
	return a, nil
}

// Shutdown ends the long-lived answers (server-sent event streams) so that
// the HTTP server's graceful shutdown does not wait for their clients.
func (a *API) Shutdown() { a.closeOnce.Do(func() { close(a.closing) }) }

// Handler is the API's HTTP handler.
func (a *API) Handler() http.Handler { return a.engine }

// Group is the /api/v1 route group, for components that add their own
// routes (they inherit request ids, logs, metrics and the JSON 404/405).
// Add routes before serving, and add them to the OpenAPI document too.
func (a *API) Group() *gin.RouterGroup { return a.v1 }

// newEngine builds the gin engine with the middleware every route shares.
func (a *API) newEngine() *gin.Engine {
	e := gin.New()
	// An API answers exactly the paths it documents: no redirects.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// Client addresses in logs come from the connection, not from headers
	// anyone can set.
	e.ForwardedByClientIP = false
	_ = e.SetTrustedProxies(nil)
	e.Use(a.requestID, a.observe, a.recoverPanic)
	e.NoRoute(func(c *gin.Context) {
		a.writeError(c, newError(http.StatusNotFound, codeNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		a.writeError(c, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"method %s is not allowed on %s (allowed: %s)", c.Request.Method, c.Request.URL.Path, c.Writer.Header().Get("Allow")))
	})
	return e
}
