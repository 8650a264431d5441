// Package policy is the collector's policy engine: it loads the policy
// files of a directory (*.unet compiled by lang and wasmgen, *.wasm modules
// written by hand, both under policies-wasm/ABI.md), evaluates every rule
// on every node in the sandbox, keeps the verdicts in memory and the latest
// of each (node, rule) in etcd, and evaluates again what changes: a node
// or a location of the desired state (watched from etcd, debounced), a
// policy file (polled, or SIGHUP), the derived state (on an interval, or
// when told), or an operator's request.
//
// The subpackages are the pieces: lang (the language), wasmgen (its
// compiler), sandbox (the WASM host), record (a node's values), interp
// (the reference interpreter, for tests and benchmarks).
package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/policy/sandbox"
	"github.com/unet-project/unet/shared/model"
)

// Dependencies are what the engine works with.
type Dependencies struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Store is the desired state: nodes and locations, and their watch.
	Store *desired.Store
	// Etcd, when set, receives the latest verdict of every (node, rule)
	// under Config.ResultsPrefix; without it verdicts live in memory only.
	Etcd *clientv3.Client
	// StorePrefix is the desired state's prefix, from which the default
	// ResultsPrefix is made.
	StorePrefix string
	// Derived returns a node's newest observed state; nil (until the
	// history issue provides it) leaves the derived.* fields null.
	Derived func(node string) (*model.DeviceState, bool)
	// OnChange, when set, receives the verdicts that changed after each
	// evaluation (for the history of changes). It is called by the
	// evaluation itself: queue the changes rather than write them there.
	OnChange func([]Change)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Change is a verdict that changed: From is empty for a first verdict;
// Result is the new one (its Status not_applicable when the rule stopped
// applying, or the node or the rule went away).
type Change struct {
	From   Status `json:"from,omitempty"`
	Result Result `json:"result"`
}

// Engine is the policy engine. Its methods are safe for concurrent use.
type Engine struct {
	cfg     Config
	deps    Dependencies
	log     *slog.Logger
	metrics *metrics
	rt      *sandbox.Runtime
	now     func() time.Time
	store   *resultStore // nil without etcd

	// evalMu makes evaluations and reloads one at a time.
	evalMu sync.Mutex

	mu        sync.RWMutex
	files     map[string]*loaded // by path relative to Dir
	sigs      map[string]fileSig // of the last load
	dirErr    string             // why the directory could not be read
	nodes     map[string]*model.Node
	locations map[string]model.Location
	ready     bool // nodes and locations are loaded
	// active are the files with a module, in path order, and order their
	// rules in name order: what an evaluation runs.
	active []*loaded
	order  []activeRule
	// results holds the applicable verdicts (not not_applicable) of every
	// node.
	results  map[string]*nodeVerdicts
	lastEval time.Time
	// dirty are the verdicts to write to etcd (or delete from it), and
	// deletes raw keys to delete (stored by something else).
	dirty   map[nodeRule]struct{}
	deletes []string
	persist chan struct{}

	reload  chan struct{}
	derived chan []string
}

// New builds the engine and its sandbox. Run loads the policies and
// evaluates.
func New(ctx context.Context, cfg Config, deps Dependencies) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("policy engine: %w", err)
	}
	if cfg.Dir == "" {
		return nil, errors.New("policy engine: no policy directory given")
	}
	if deps.Store == nil {
		return nil, errors.New("policy engine: a desired-state store is required")
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.ResultsPrefix == "" {
		p := deps.StorePrefix
		if p == "" {
			p = desired.DefaultConfig().Prefix
		}
		cfg.ResultsPrefix = strings.TrimSuffix(p, "/") + "-compliance/"
	}
	m, err := newMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("policy engine: %w", err)
	}
	rt, err := sandbox.New(ctx, cfg.Sandbox.sandboxConfig(), deps.Logger.With("part", "sandbox"))
	if err != nil {
		return nil, fmt.Errorf("policy engine: %w", err)
	}
	e := &Engine{
		cfg: cfg, deps: deps, log: deps.Logger, metrics: m, rt: rt, now: deps.Now,
		files: map[string]*loaded{}, nodes: map[string]*model.Node{}, locations: map[string]model.Location{},
		results: map[string]*nodeVerdicts{}, dirty: map[nodeRule]struct{}{}, persist: make(chan struct{}, 1),
		reload: make(chan struct{}, 1), derived: make(chan []string, 16),
	}
	if deps.Etcd != nil {
		e.store = &resultStore{cli: deps.Etcd, prefix: cfg.ResultsPrefix, maxOps: cfg.MaxTxnOps, maxBytes: maxTxnBytes}
	}
	return e, nil
}

// Reload asks Run to read the policy directory again (SIGHUP).
func (e *Engine) Reload() {
	select {
	case e.reload <- struct{}{}:
	default: // one is pending already
	}
}

// DerivedChanged asks Run to evaluate these nodes again: their observed
// state changed.
func (e *Engine) DerivedChanged(nodes ...string) {
	select {
	case e.derived <- slices.Clone(nodes):
	default:
		// Run is behind: the interval evaluation catches up.
	}
}

// Run loads the stored verdicts and the policies, evaluates every node,
// then follows the changes until ctx ends. It returns nil when ctx ends;
// etcd failures are retried, policy failures are reported per file.
func (e *Engine) Run(ctx context.Context) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.rt.Close(cctx)
	}()
	if e.store != nil {
		for {
			err := e.loadStored(ctx)
			if err == nil {
				break
			}
			e.log.Warn("reading the stored verdicts failed; retrying", "error", err)
			if !sleep(ctx, 2*time.Second) {
				return nil
			}
		}
	}
	if e.store != nil {
		// Run returns when ctx ends: the persister has flushed by then.
		done := make(chan struct{})
		go func() { defer close(done); e.persister(ctx) }()
		defer func() { <-done }()
	}
	e.reloadPolicies(ctx)

	poll := time.NewTicker(e.cfg.PollInterval)
	defer poll.Stop()
	var interval <-chan time.Time
	if e.cfg.EvalInterval > 0 {
		t := time.NewTicker(e.cfg.EvalInterval)
		defer t.Stop()
		interval = t.C
	}
	for ctx.Err() == nil {
		rev, err := e.loadDesired(ctx)
		if err != nil {
			e.log.Warn("reading the desired state failed; retrying", "error", err)
			if !sleep(ctx, 2*time.Second) {
				break
			}
			continue
		}
		e.evaluate(ctx, nil, "start")
		e.follow(ctx, rev, poll.C, interval)
	}
	return nil
}

// follow handles changes until the watch fails (a resync follows) or ctx
// ends.
func (e *Engine) follow(ctx context.Context, rev int64, poll, interval <-chan time.Time) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := e.deps.Store.Watch(wctx, rev+1)
	dirty := map[string]bool{}
	var debounce *time.Timer
	var fire <-chan time.Time
	mark := func(names ...string) {
		for _, n := range names {
			dirty[n] = true
		}
		if debounce == nil {
			debounce = time.NewTimer(e.cfg.Debounce)
			fire = debounce.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Err != nil {
				e.log.Warn("desired-state watch ended; reading everything again", "error", ev.Err)
				return
			}
			mark(e.applyEvent(ev)...)
		case <-fire:
			debounce, fire = nil, nil
			names := slices.Sorted(maps.Keys(dirty))
			clear(dirty)
			e.evaluate(ctx, names, "change")
		case names := <-e.derived:
			mark(names...)
		case <-poll:
			if e.dirChanged() {
				e.reloadPolicies(ctx)
			}
		case <-e.reload:
			e.reloadPolicies(ctx)
		case <-interval:
			e.evaluate(ctx, nil, "interval")
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// loadDesired reads every location and node, and returns the revision to
// watch from.
func (e *Engine) loadDesired(ctx context.Context) (int64, error) {
	locs, err := e.deps.Store.ListLocations(ctx, desired.LocationFilter{}, desired.ListOptions{})
	if err != nil {
		return 0, err
	}
	nodes, err := e.deps.Store.ListNodes(ctx, desired.NodeFilter{}, desired.ListOptions{})
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.locations = make(map[string]model.Location, len(locs.Items))
	for _, l := range locs.Items {
		e.locations[l.Name] = l
	}
	e.nodes = make(map[string]*model.Node, len(nodes.Items))
	for i := range nodes.Items {
		e.nodes[nodes.Items[i].Name] = &nodes.Items[i]
	}
	// Nodes deleted while nobody watched (or since the verdicts were
	// stored): their verdicts go, from etcd too.
	gone := 0
	for name, nv := range e.results {
		if e.nodes[name] == nil {
			for k := range nv.entries {
				e.dirty[nodeRule{name, nv.entries[k].rule.Name}] = struct{}{}
			}
			delete(e.results, name)
			gone++
		}
	}
	if gone > 0 {
		e.persistSoon()
	}
	e.ready = true
	// The two lists are read at two revisions: watching from the older
	// replays what changed in between rather than missing it.
	return min(locs.Revision, nodes.Revision), nil
}

// applyEvent updates the snapshot and returns the nodes to evaluate again.
func (e *Engine) applyEvent(ev desired.Event) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev.Kind {
	case model.ObjectNode:
		if ev.Type == desired.EventDelete {
			delete(e.nodes, ev.Name)
			return []string{ev.Name} // the evaluation drops its verdicts
		}
		var n model.Node
		if err := jsonUnmarshal(ev.Value, &n); err != nil {
			e.log.Error("undecodable node in the watch", "node", ev.Name, "error", err)
			return nil
		}
		e.nodes[n.Name] = &n
		return []string{n.Name}
	case model.ObjectLocation:
		if ev.Type == desired.EventDelete {
			delete(e.locations, ev.Name)
		} else {
			var l model.Location
			if err := jsonUnmarshal(ev.Value, &l); err != nil {
				e.log.Error("undecodable location in the watch", "location", ev.Name, "error", err)
				return nil
			}
			e.locations[l.Name] = l
		}
		// Every node below the location reads it (location.path, site).
		var names []string
		for name, n := range e.nodes {
			for _, l := range e.chainLocked(n.Location) {
				if l.Name == ev.Name {
					names = append(names, name)
					break
				}
			}
		}
		return names
	}
	return nil
}

// chainLocked is the location path from the root down to loc.
func (e *Engine) chainLocked(loc string) []model.Location {
	var rev []model.Location
	for name := loc; name != "" && len(rev) < 64; {
		l, ok := e.locations[name]
		if !ok {
			break
		}
		rev = append(rev, l)
		name = l.Parent
	}
	slices.Reverse(rev)
	return rev
}

func siteOf(chain []model.Location) string {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Kind == model.KindSite {
			return chain[i].Name
		}
	}
	return ""
}

// dirChanged says whether the directory's files differ from the last load.
func (e *Engine) dirChanged() bool {
	sigs, err := scanDir(e.cfg.Dir)
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err != nil {
		return e.dirErr != err.Error()
	}
	return e.dirErr != "" || !maps.Equal(sigs, e.sigs)
}

// reloadPolicies reads the directory and, when the active modules changed,
// evaluates every node.
func (e *Engine) reloadPolicies(ctx context.Context) {
	e.evalMu.Lock()
	sigs, _ := scanDir(e.cfg.Dir)
	e.mu.RLock()
	prev := e.files
	e.mu.RUnlock()
	next, unused, err := e.loadDir(ctx, prev)
	if err != nil {
		e.log.Error("policy directory not read; keeping the policies loaded", "error", err)
		e.metrics.loadFailures.Inc()
		e.mu.Lock()
		e.dirErr, e.sigs = err.Error(), nil
		e.mu.Unlock()
		e.evalMu.Unlock()
		return
	}
	changed := activeSet(prev) != activeSet(next)
	var active []*loaded
	var order []activeRule
	for _, rel := range slices.Sorted(maps.Keys(next)) {
		if l := next[rel]; l.module != nil {
			for i, ri := range l.rules {
				order = append(order, activeRule{mod: len(active), idx: i, info: ri})
			}
			active = append(active, l)
		}
	}
	slices.SortFunc(order, func(a, b activeRule) int { return strings.Compare(a.info.Name, b.info.Name) })
	e.mu.Lock()
	e.files, e.sigs, e.dirErr = next, sigs, ""
	e.active, e.order = active, order
	broken, rules := 0, 0
	for _, l := range next {
		if l.info.Error != "" {
			broken++
		}
		rules += len(l.info.Rules)
	}
	e.mu.Unlock()
	e.metrics.loadErrors.Set(float64(broken))
	e.metrics.rules.Set(float64(rules))
	e.evalMu.Unlock()
	// Close waits for evaluations that still use a module; none runs now.
	for _, m := range unused {
		m.Close(ctx)
	}
	e.log.Info("policies loaded", "files", len(next), "with_errors", broken, "rules", rules)
	e.mu.RLock()
	ready := e.ready
	e.mu.RUnlock()
	if changed && ready { // before the desired state is read, Run's first evaluation follows
		e.evaluate(ctx, nil, "policies")
	}
}

// activeSet identifies the active modules, to tell whether a reload
// changed what is evaluated.
func activeSet(files map[string]*loaded) string {
	var b strings.Builder
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if l := files[rel]; l.module != nil {
			b.WriteString(rel + "=" + l.module.Hash() + ";")
		}
	}
	return b.String()
}

// Policies lists the policy files, in path order, and the directory's
// error, if it could not be read.
func (e *Engine) Policies() ([]PolicyFile, string) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]PolicyFile, 0, len(e.files))
	for _, rel := range slices.Sorted(maps.Keys(e.files)) {
		info := e.files[rel].info
		info.Rules = slices.Clone(info.Rules)
		out = append(out, info)
	}
	return out, e.dirErr
}

// Dir is the policy directory.
func (e *Engine) Dir() string { return e.cfg.Dir }
