package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/unet-project/unet/agent/poller"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// Where an inventory came from.
const (
	sourceCollector = "collector"
	sourceCache     = "cache"
)

// cacheFormat is the version of the cache file's layout.
const cacheFormat = 1

// cacheFile is the inventory as kept on disk. It holds SNMP secrets: 0600,
// in a directory of the agent's own.
type cacheFile struct {
	Format    int                  `json:"format"`
	Collector string               `json:"collector"`
	Agent     string               `json:"agent"`
	SavedAt   time.Time            `json:"saved_at"`
	Inventory *apiclient.Inventory `json:"inventory"`
}

func cachePath(dataDir string) string { return filepath.Join(dataDir, "inventory.json") }

// fetch reads the inventory from the collector.
func (a *Agent) fetch(ctx context.Context) (*apiclient.Inventory, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.InventoryTimeout)
	defer cancel()
	inv, err := a.client.AgentInventory(ctx, a.cfg.Sites)
	if err != nil {
		a.m.fetches.WithLabelValues("failure").Inc()
		return nil, err
	}
	a.m.fetches.WithLabelValues("success").Inc()
	a.m.lastSuccess.SetToCurrentTime()
	return inv, nil
}

// initialInventory gets the inventory to start from: the collector's, saved
// to the cache, or the cached one when the collector cannot be reached. An
// answer of the collector that refuses the sites (404, 422) is final: the
// configuration is wrong, and polling an old list of them would hide it.
func (a *Agent) initialInventory(ctx context.Context) (*apiclient.Inventory, string, error) {
	inv, err := a.fetch(ctx)
	if err == nil {
		if serr := a.saveCache(inv); serr != nil {
			a.log.Warn("cannot cache the inventory; the agent will need the collector at its next start", "error", serr)
		}
		return inv, sourceCollector, nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 {
		return nil, "", fmt.Errorf("the collector refuses the inventory of sites %v: %w", a.cfg.Sites, err)
	}
	cached, saved, cerr := a.loadCache()
	if cerr != nil {
		return nil, "", fmt.Errorf("no inventory: %v; and %w", err, cerr)
	}
	a.log.Warn("collector unreachable: starting from the cached inventory", "error", err,
		"cache", a.cachePath, "saved_at", saved, "inventory_revision", cached.Revision, "nodes", len(cached.Nodes))
	return cached, sourceCache, nil
}

// refresh reads the inventory again and applies it when it changed; a
// failure keeps the current one and returns false.
func (a *Agent) refresh(ctx context.Context) bool {
	inv, err := a.fetch(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		a.mu.Lock()
		rev := a.inv.Revision
		a.mu.Unlock()
		// The collector away is what the cache is for; the collector
		// refusing the sites is a configuration to fix.
		level := slog.LevelWarn
		var apiErr *apiclient.Error
		if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 {
			level = slog.LevelError
		}
		a.log.Log(ctx, level, "cannot refresh the inventory: polling on with the last one", "error", err, "inventory_revision", rev)
		return false
	}
	a.mu.Lock()
	same := sameInventory(a.inv, inv)
	fromCache := a.source == sourceCache
	if same {
		a.inv.Revision, a.source = inv.Revision, sourceCollector
		a.m.revision.Set(float64(inv.Revision))
		a.m.fromCache.Set(0)
	}
	a.mu.Unlock()
	if same && !fromCache {
		return true
	}
	if err := a.saveCache(inv); err != nil {
		a.log.Warn("cannot cache the inventory", "error", err)
	}
	if !same {
		a.log.Info("inventory changed", "inventory_revision", inv.Revision, "nodes", len(inv.Nodes), "not_pollable", inv.NotPollable)
		a.apply(inv, sourceCollector)
	} else {
		a.log.Info("collector reachable again: the cached inventory is current", "inventory_revision", inv.Revision)
	}
	return true
}

// sameInventory compares what is polled, not the revision: any write to the
// store moves the revision on.
func sameInventory(a, b *apiclient.Inventory) bool {
	return a != nil && b != nil && slices.Equal(a.Sites, b.Sites) &&
		reflect.DeepEqual(a.Nodes, b.Nodes) && reflect.DeepEqual(a.SNMPProfiles, b.SNMPProfiles)
}

// unpollable is a node of the inventory that cannot be polled, and why.
type unpollable struct {
	node, reason string
}

// targets turns the inventory into poller targets: the node's management
// address, and its profile (credentials, port, interval, timeout). The
// collector sends pollable nodes only; what cannot be polled anyway (a
// profile missing from the inventory) is reported, not guessed.
func targets(inv *apiclient.Inventory) (ts []poller.Target, skipped []unpollable) {
	for _, n := range inv.Nodes {
		p, ok := inv.SNMPProfiles[n.SNMPProfile]
		switch {
		case n.ManagementAddress == "":
			skipped = append(skipped, unpollable{n.Name, "no management address"})
		case !ok:
			skipped = append(skipped, unpollable{n.Name, fmt.Sprintf("SNMP profile %q is not in the inventory", n.SNMPProfile)})
		default:
			ts = append(ts, poller.Target{Node: n.Name, Address: n.ManagementAddress, Profile: p})
		}
	}
	return ts, skipped
}

// saveCache writes the inventory to the data directory atomically (a
// temporary file renamed over the old one, both synced), readable by the
// agent's user only.
func (a *Agent) saveCache(inv *apiclient.Inventory) error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	b, err := json.Marshal(cacheFile{Format: cacheFormat, Collector: a.client.BaseURL(), Agent: a.cfg.Name,
		SavedAt: time.Now().UTC(), Inventory: inv})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(a.cfg.DataDir, ".inventory-*.tmp") // created 0600
	if err != nil {
		return fmt.Errorf("caching the inventory: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename, there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a.cachePath)
	}
	if err != nil {
		return fmt.Errorf("caching the inventory in %s: %w", a.cachePath, err)
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(a.cfg.DataDir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// loadCache reads the cached inventory. It must be for the configured
// sites: another site's nodes are not this agent's to poll.
func (a *Agent) loadCache() (*apiclient.Inventory, time.Time, error) {
	b, err := os.ReadFile(a.cachePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, time.Time{}, fmt.Errorf("there is no cached inventory in %s (the agent must reach the collector once)", a.cfg.DataDir)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading the cached inventory: %w", err)
	}
	var c cacheFile
	if err := json.Unmarshal(b, &c); err != nil || c.Inventory == nil {
		return nil, time.Time{}, fmt.Errorf("the cached inventory %s is unreadable (delete it, then start with the collector reachable)", a.cachePath)
	}
	if c.Format != cacheFormat {
		return nil, time.Time{}, fmt.Errorf("the cached inventory %s has format %d, not %d", a.cachePath, c.Format, cacheFormat)
	}
	want, have := slices.Sorted(slices.Values(a.cfg.Sites)), slices.Sorted(slices.Values(c.Inventory.Sites))
	if !slices.Equal(want, have) {
		return nil, time.Time{}, fmt.Errorf("the cached inventory %s is for sites %v, not %v", a.cachePath, have, want)
	}
	if st, err := os.Stat(a.cachePath); err == nil && st.Mode().Perm()&0o077 != 0 {
		a.log.Warn("the cached inventory holds SNMP secrets but others may read it: chmod 600", "cache", a.cachePath, "mode", st.Mode().Perm().String())
	}
	if c.Inventory.SNMPProfiles == nil {
		c.Inventory.SNMPProfiles = map[string]model.SNMPProfile{}
	}
	return c.Inventory, c.SavedAt, nil
}
