package collector

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/policy"
)

// newPolicies builds the policy engine when a policy directory is
// configured; nil otherwise (the API's policy routes then answer 503).
func (c *Collector) newPolicies(ctx context.Context, store *desired.Store) (*policy.Engine, error) {
	cfg := c.cfg.Policies
	if cfg.Dir == "" {
		return nil, nil
	}
	if cfg.Sandbox.CacheDir == "" && c.cfg.DataDir != "" {
		// Compiled modules survive restarts: a Go guest compiles in ~1 s,
		// ~25 ms from the cache.
		cfg.Sandbox.CacheDir = filepath.Join(c.cfg.DataDir, "policy-cache")
	}
	deps := policy.Dependencies{
		Logger: c.log.With("component", "policy"), Registry: c.registry,
		Store: store, Etcd: c.client, StorePrefix: c.cfg.Store.Prefix,
	}
	if c.latest != nil {
		deps.Derived = c.latest.Derived // derived.* from the latest-state view
	}
	return policy.New(ctx, cfg, deps)
}

// startPolicies runs the policy engine, which reloads its directory on
// SIGHUP, and returns the function that stops it and waits: the engine
// must be done before etcd closes.
func (c *Collector) startPolicies(ctx context.Context) (stop func()) {
	if c.policies == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.policies.Run(ctx)
	}()
	go func() {
		for {
			select {
			case <-hup:
				c.log.Info("SIGHUP: reloading the policy directory", "dir", c.policies.Dir())
				c.policies.Reload()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
