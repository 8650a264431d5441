package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveHTTP binds Config.Listen and serves /metrics, /healthz and /readyz
// in the background; nil when Listen is empty.
func (a *Agent) serveHTTP() (*http.Server, error) {
	if a.cfg.Listen == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.handleReadyz)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.mu.Lock()
	a.addr = l.Addr().String()
	a.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("HTTP server stopped", "error", err)
		}
	}()
	return srv, nil
}

// stopHTTP drains the server within ShutdownTimeout.
func (a *Agent) stopHTTP(srv *http.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		a.log.Warn("HTTP server did not stop in time", "error", err)
		srv.Close()
	}
}

// handleReadyz answers 200 while the agent polls with an inventory, from
// the collector or from the cache: a collector away is no reason to take
// the agent out of service, it is what the cache is for.
func (a *Agent) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	polling, inv, source := a.polling, a.inv, a.source
	a.mu.Unlock()
	if !polling || inv == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "no inventory yet"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "inventory_revision": inv.Revision, "inventory_source": source, "nodes": len(inv.Nodes),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
