package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/collector/ingest"
	"github.com/unet-project/unet/collector/latest"
)

// historyService runs the ClickHouse side of the collector: the history
// store, the ingest endpoint and the rebuild of the latest-state view.
//
// The collector starts even when ClickHouse is down: it connects in the
// background, retrying with back-off, and meanwhile the ingest endpoint
// and the history routes answer 503 with Retry-After (agents keep their
// spool and replay; the desired state, the API and the policies work).
// Refusing to start would turn a ClickHouse outage into a collector
// outage, and a restart loop under systemd or Kubernetes.
type historyService struct {
	cfg      history.Config
	ingest   ingest.Config
	log      *slog.Logger // component=history
	base     *slog.Logger // for the components, which name themselves
	registry prometheus.Registerer
	latest   *latest.View

	ready   atomic.Pointer[historyParts] // nil until connected
	lastErr atomic.Pointer[string]       // why not connected yet
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// historyParts is what exists once ClickHouse answered.
type historyParts struct {
	store  *history.Store
	ingest *ingest.Ingest
}

// Back-off of the connection attempts.
const (
	historyRetryMin = time.Second
	historyRetryMax = 30 * time.Second
)

func newHistoryService(cfg Config, log *slog.Logger, reg prometheus.Registerer, view *latest.View) *historyService {
	h := &historyService{cfg: cfg.ClickHouse, ingest: cfg.Ingest, log: log.With("component", "history"), base: log, registry: reg, latest: view,
		done: make(chan struct{})}
	msg := fmt.Sprintf("connecting to ClickHouse at %s", cfg.ClickHouse.Address)
	h.lastErr.Store(&msg)
	return h
}

// start connects in the background until ctx ends or stop is called.
func (h *historyService) start(ctx context.Context) {
	ctx, h.cancel = context.WithCancel(ctx)
	go func() {
		defer close(h.done)
		h.run(ctx)
	}()
}

// stop ends the connection attempts, waits for the writes in progress
// and closes the store. Call it after the HTTP server stopped.
func (h *historyService) stop() {
	h.once.Do(func() {
		if h.cancel == nil {
			return
		}
		h.cancel()
		<-h.done
		if p := h.ready.Load(); p != nil {
			p.ingest.Close()
			if err := p.store.Close(); err != nil {
				h.log.Warn("closing the history store", "error", err)
			}
		}
	})
}

func (h *historyService) run(ctx context.Context) {
	var store *history.Store
	delay := historyRetryMin
	for attempt := 1; ; attempt++ {
		err := func() (err error) {
			if store == nil {
				if store, err = history.New(ctx, h.cfg, history.Dependencies{Logger: h.base, Registry: h.registry}); err != nil {
					return err
				}
			}
			if err := h.latest.Rebuild(ctx, store); err != nil {
				if !errors.Is(err, history.ErrUnavailable) {
					// The view fills with the next polls: not worth
					// keeping ingest down for.
					h.log.Error("latest state not rebuilt; it fills as agents report", "error", err)
				} else {
					return err
				}
			}
			in, err := ingest.New(ctx, h.ingest, ingest.Dependencies{History: store, Logger: h.base, Registry: h.registry, Latest: h.latest})
			if err != nil {
				return err
			}
			h.ready.Store(&historyParts{store: store, ingest: in})
			return nil
		}()
		if err == nil {
			h.log.Info("history and ingest ready", "clickhouse", h.cfg.Address, "database", h.cfg.Database, "attempts", attempt)
			return
		}
		if ctx.Err() != nil {
			if store != nil {
				_ = store.Close()
			}
			return
		}
		msg := fmt.Sprintf("ClickHouse at %s is not ready (attempt %d, next in %s): %v", h.cfg.Address, attempt, delay, err)
		h.lastErr.Store(&msg)
		if errors.Is(err, history.ErrUnavailable) {
			h.log.Warn("ClickHouse not reachable; ingest and history answer 503 meanwhile", "address", h.cfg.Address, "attempt", attempt, "retry_in", delay, "error", err)
		} else {
			h.log.Error("ClickHouse refused the history store; ingest and history answer 503 meanwhile", "address", h.cfg.Address, "attempt", attempt, "retry_in", delay, "error", err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			if store != nil {
				_ = store.Close()
			}
			return
		}
		delay = min(2*delay, historyRetryMax)
	}
}

// notReady is the API's answer while ClickHouse is not connected.
func (h *historyService) notReady() error {
	return &history.UnavailableError{Op: "history", RetryAfter: h.cfg.RetryAfter, Err: errors.New(*h.lastErr.Load())}
}

// store returns the history store, or why there is none yet.
func (h *historyService) store() (*history.Store, error) {
	if p := h.ready.Load(); p != nil {
		return p.store, nil
	}
	return nil, h.notReady()
}

// handleIngest is POST /api/v1/ingest: 503 until ClickHouse is connected.
func (h *historyService) handleIngest(c *gin.Context) {
	if p := h.ready.Load(); p != nil {
		p.ingest.Handle(c)
		return
	}
	ingest.WriteError(c, http.StatusServiceUnavailable, "unavailable", *h.lastErr.Load()+": send the batch again later", h.cfg.RetryAfter)
}
