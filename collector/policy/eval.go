package policy

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/unet-project/unet/collector/policy/record"
	"github.com/unet-project/unet/collector/policy/sandbox"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// ErrNotReady is returned by on-demand evaluations before the engine has
// read the desired state.
var ErrNotReady = errors.New("the policy engine is starting: the desired state is not read yet")

// Summary says what an evaluation did.
type Summary struct {
	Nodes    int            `json:"nodes"`
	Rules    int            `json:"rules"`
	Verdicts map[Status]int `json:"verdicts"`
	Changed  int            `json:"changed"`
	Duration string         `json:"duration"`
	At       time.Time      `json:"at"`
}

// Evaluate evaluates the named nodes (every node when names is empty) now
// and returns what it did: the on-demand evaluation of the API.
func (e *Engine) Evaluate(ctx context.Context, names []string) (Summary, error) {
	e.mu.RLock()
	ready := e.ready
	e.mu.RUnlock()
	if !ready {
		return Summary{}, ErrNotReady
	}
	return e.evaluate(ctx, names, "demand"), nil
}

// evaluate runs every active module on the named nodes (nil: all), then
// swaps their verdicts in and writes the changes to etcd. A node that no
// longer exists loses its verdicts.
func (e *Engine) evaluate(ctx context.Context, names []string, trigger string) Summary {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	start := e.now()
	e.metrics.evaluations.WithLabelValues(trigger).Inc()

	// The snapshot: subjects, the modules (each with a Load of its own, so
	// that a reload meanwhile cannot close them under the evaluation).
	e.mu.RLock()
	if names == nil {
		names = slices.Sorted(maps.Keys(e.nodes))
	}
	var subjects []Subject
	var gone []string
	for _, name := range names {
		n := e.nodes[name]
		if n == nil {
			gone = append(gone, name)
			continue
		}
		chain := e.chainLocked(n.Location)
		s := Subject{Subject: record.Subject{Node: *n, LocationPath: chain, Now: start}, Site: siteOf(chain)}
		if len(chain) > 0 {
			s.Location = &chain[len(chain)-1]
		}
		subjects = append(subjects, s)
	}
	type mod struct {
		file string
		m    *sandbox.Module
	}
	var mods []mod
	for _, rel := range slices.Sorted(maps.Keys(e.files)) {
		if l := e.files[rel]; l.module != nil {
			mods = append(mods, mod{rel, l.module})
		}
	}
	e.mu.RUnlock()

	if e.deps.Derived != nil {
		for i := range subjects {
			if d, ok := e.deps.Derived(subjects[i].Node.Name); ok {
				subjects[i].Derived = d
			}
		}
	}

	// Every module over every subject. The sandbox runs the batches of one
	// module in parallel already; a few modules at once keep the cores
	// busy when modules are small.
	perModule := make([][][]Result, len(mods))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	rules := 0
	for i, md := range mods {
		rules += len(md.m.Manifest().Rules)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := EvaluateModule(ctx, md.m, md.file, subjects)
			if err != nil {
				res = errorResults(md.m, md.file, subjects, err)
			}
			perModule[i] = res
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		// Stopping: verdicts of a cancelled evaluation are errors that
		// mean nothing; keep the previous ones.
		return Summary{At: start}
	}

	// Gather each node's applicable verdicts.
	fresh := make(map[string]map[string]*Result, len(subjects))
	for si, s := range subjects {
		m := map[string]*Result{}
		for mi := range mods {
			for ri := range perModule[mi][si] {
				r := &perModule[mi][si][ri]
				if r.Status != StatusNotApplicable {
					r.EvaluatedAt = start
					r.fp = r.fingerprint()
					m[r.Rule] = r
				}
			}
		}
		fresh[s.Node.Name] = m
	}

	// Swap them in, noting what changed.
	var changes []Change
	sum := Summary{Nodes: len(subjects), Rules: rules, Verdicts: map[Status]int{}, At: start}
	e.mu.Lock()
	live := map[string]bool{}
	for _, md := range mods {
		for _, r := range md.m.Manifest().Rules {
			live[r.Name] = true
		}
	}
	for node, m := range fresh {
		old := e.results[node]
		for rule, r := range m {
			sum.Verdicts[r.Status]++
			if o := old[rule]; o != nil && o.fp == r.fp {
				r.Since = o.Since
				continue
			}
			r.Since = start
			ch := Change{Result: *r}
			if o := old[rule]; o != nil {
				ch.From = o.Status
			}
			changes = append(changes, ch)
		}
		for rule, o := range old {
			if m[rule] == nil {
				changes = append(changes, notApplicable(o, live[rule], start))
			}
		}
		e.results[node] = m
	}
	for _, node := range gone {
		for _, o := range e.results[node] {
			changes = append(changes, notApplicable(o, false, start))
		}
		delete(e.results, node)
	}
	// Nodes not evaluated keep their verdicts, except those of rules that
	// are gone (a policy file removed).
	for node, m := range e.results {
		if fresh[node] != nil {
			continue
		}
		for rule, o := range m {
			if !live[rule] {
				changes = append(changes, notApplicable(o, false, start))
				delete(m, rule)
			}
		}
	}
	counts := map[Status]int{}
	for _, m := range e.results {
		for _, r := range m {
			counts[r.Status]++
		}
	}
	e.lastEval = start
	e.mu.Unlock()

	for _, st := range Statuses() {
		if st != StatusNotApplicable {
			e.metrics.verdicts.WithLabelValues(string(st)).Set(float64(counts[st]))
		}
	}
	for _, c := range changes {
		e.metrics.changes.WithLabelValues(string(c.Result.Status)).Inc()
	}
	sum.Changed = len(changes)
	if e.store != nil {
		e.persist(ctx)
	}
	if e.deps.OnChange != nil && len(changes) > 0 {
		e.deps.OnChange(changes)
	}
	d := e.now().Sub(start)
	e.metrics.duration.Observe(d.Seconds())
	sum.Duration = d.Round(time.Microsecond).String()
	e.log.Debug("policies evaluated", "trigger", trigger, "nodes", sum.Nodes, "rules", rules, "changed", len(changes), "duration", d)
	return sum
}

// notApplicable is the change of a verdict that went away.
func notApplicable(o *Result, ruleLive bool, at time.Time) Change {
	r := *o
	r.Status, r.Actual, r.Expected, r.Since, r.EvaluatedAt = StatusNotApplicable, nil, nil, at, at
	r.Message = ""
	if !ruleLive {
		r.Message = "the rule or the node is gone"
	}
	return Change{From: o.Status, Result: r}
}

// errorResults are the verdicts of a module whose Eval failed as a whole
// (a closed module, a record it refused): every rule an error.
func errorResults(m *sandbox.Module, file string, subjects []Subject, err error) [][]Result {
	man := m.Manifest()
	out := make([][]Result, len(subjects))
	for i, s := range subjects {
		out[i] = make([]Result, len(man.Rules))
		for ri, r := range man.Rules {
			out[i][ri] = Result{Node: s.Node.Name, Site: s.Site, Rule: r.Name, Policy: file, Line: r.Line,
				Action: r.Action, Status: StatusError, Target: r.Target, Template: r.Template,
				NodeRevision: s.Node.Revision, Message: "evaluation failed: " + err.Error()}
		}
	}
	return out
}

// Filter selects results; empty fields match everything.
type Filter struct {
	Node   string
	Rule   string
	Site   string
	Status Status
	// Policy selects the results of one policy file.
	Policy string
}

// Results returns the verdicts that match f, sorted by node then rule.
// Not-applicable verdicts are not kept: asking for Status
// not_applicable lists them from the rules loaded.
func (e *Engine) Results(f Filter) []Result {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Result
	nodes := slices.Sorted(maps.Keys(e.results))
	if f.Node != "" {
		nodes = []string{f.Node}
	}
	if f.Status == StatusNotApplicable {
		return e.notApplicableLocked(f, nodes)
	}
	for _, node := range nodes {
		m := e.results[node]
		for _, rule := range slices.Sorted(maps.Keys(m)) {
			r := m[rule]
			if f.match(r) {
				out = append(out, *r)
			}
		}
	}
	return out
}

func (f Filter) match(r *Result) bool {
	return (f.Rule == "" || r.Rule == f.Rule) && (f.Site == "" || r.Site == f.Site) &&
		(f.Status == "" || r.Status == f.Status) && (f.Policy == "" || r.Policy == f.Policy)
}

// notApplicableLocked lists the (node, rule) pairs of the rules loaded that
// have no verdict.
func (e *Engine) notApplicableLocked(f Filter, nodes []string) []Result {
	if f.Node == "" {
		nodes = slices.Sorted(maps.Keys(e.nodes))
	}
	var out []Result
	for _, node := range nodes {
		n := e.nodes[node]
		if n == nil {
			continue
		}
		site := siteOf(e.chainLocked(n.Location))
		for _, rel := range slices.Sorted(maps.Keys(e.files)) {
			l := e.files[rel]
			if l.module == nil {
				continue
			}
			for _, r := range l.module.Manifest().Rules {
				if e.results[node][r.Name] != nil {
					continue
				}
				res := Result{Node: node, Site: site, Rule: r.Name, Policy: rel, Line: r.Line, Action: r.Action,
					Status: StatusNotApplicable, Target: r.Target, Template: r.Template, NodeRevision: n.Revision, EvaluatedAt: e.lastEval}
				if f.match(&res) {
					out = append(out, res)
				}
			}
		}
	}
	return out
}

// NodeResults returns every rule's verdict on one node, not-applicable
// ones included, in policy file then rule order; false when the node is
// unknown.
func (e *Engine) NodeResults(node string) ([]Result, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := e.nodes[node]
	if n == nil {
		return nil, false
	}
	var out []Result
	site := siteOf(e.chainLocked(n.Location))
	for _, rel := range slices.Sorted(maps.Keys(e.files)) {
		l := e.files[rel]
		if l.module == nil {
			continue
		}
		for _, r := range l.module.Manifest().Rules {
			if res := e.results[node][r.Name]; res != nil {
				out = append(out, *res)
				continue
			}
			out = append(out, Result{Node: node, Site: site, Rule: r.Name, Policy: rel, Line: r.Line, Action: r.Action,
				Status: StatusNotApplicable, Target: r.Target, Template: r.Template, NodeRevision: n.Revision, EvaluatedAt: e.lastEval})
		}
	}
	return out, true
}

// NodeName resolves a node reference (name or id) against the snapshot.
func (e *Engine) NodeName(ref string) (string, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.nodes[ref] != nil {
		return ref, true
	}
	for name, n := range e.nodes {
		if strings.EqualFold(n.ID, ref) {
			return name, true
		}
	}
	return "", false
}

// Status is the engine's state for the API.
type EngineStatus struct {
	Dir       string    `json:"dir"`
	Ready     bool      `json:"ready"`
	Nodes     int       `json:"nodes"`
	LastEval  time.Time `json:"last_evaluation,omitzero"`
	DirError  string    `json:"dir_error,omitempty"`
	Rules     int       `json:"rules"`
	Files     int       `json:"files"`
	Broken    int       `json:"files_with_errors"`
	ResultsAt string    `json:"results_prefix,omitempty"`
}

// State returns the engine's state.
func (e *Engine) State() EngineStatus {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := EngineStatus{Dir: e.cfg.Dir, Ready: e.ready, Nodes: len(e.nodes), LastEval: e.lastEval, DirError: e.dirErr, Files: len(e.files)}
	for _, l := range e.files {
		s.Rules += len(l.info.Rules)
		if l.info.Error != "" {
			s.Broken++
		}
	}
	if e.store != nil {
		s.ResultsAt = e.store.prefix
	}
	return s
}
