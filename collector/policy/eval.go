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

	"github.com/unet-project/unet/collector/policy/abi"
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

// activeRule is one rule of the active modules, in rule-name order.
type activeRule struct {
	mod, idx int // index in Engine.active, in the module's manifest
	info     *ruleInfo
}

// nodeRule identifies a verdict.
type nodeRule struct{ node, rule string }

// evaluate runs every active module on the named nodes (nil: all), swaps
// their verdicts in, and marks those that changed for etcd. A node that no
// longer exists loses its verdicts.
func (e *Engine) evaluate(ctx context.Context, names []string, trigger string) Summary {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	start := e.now()
	e.metrics.evaluations.WithLabelValues(trigger).Inc()

	// The snapshot. A reload takes evalMu too, so the modules stay open
	// for the whole evaluation.
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
	mods, order := e.active, e.order
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
	type modOut struct {
		records [][]abi.Value
		res     []sandbox.RuleResult
		err     error
	}
	outs := make([]modOut, len(mods))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))
	for i, l := range mods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			man := l.module.Manifest()
			recs := make([][]abi.Value, len(subjects))
			for j := range subjects {
				recs[j] = record.Build(man.Fields, subjects[j].Subject)
			}
			res, err := l.module.Eval(ctx, recs)
			outs[i] = modOut{records: recs, res: res, err: err}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		// Stopping: verdicts of a cancelled evaluation mean nothing; keep
		// the previous ones.
		return Summary{At: start}
	}

	// Each node's applicable verdicts, in rule-name order.
	now := start.UnixNano()
	fresh := make([]*nodeVerdicts, len(subjects))
	for si, s := range subjects {
		nv := &nodeVerdicts{site: s.Site, revision: s.Node.Revision, evaluated: now}
		for _, ar := range order {
			out := &outs[ar.mod]
			if out.err != nil {
				// The module failed as a whole (closed, a record refused):
				// every rule an error.
				nv.entries = append(nv.entries, entry{rule: ar.info, status: abi.Error, errMsg: "evaluation failed: " + out.err.Error()})
				continue
			}
			rr := &out.res[ar.idx]
			v := rr.Verdicts[si]
			if v == abi.NotApplicable {
				continue
			}
			en := entry{rule: ar.info, status: v}
			if v > abi.Error {
				en.status = abi.Error // the sandbox reports garbage as errors; be sure
			}
			en.actual, en.expected = ar.info.values(out.records[si])
			if ar.info.expSlot < 0 {
				en.expected = nil // the rule's literal
			}
			if en.status == abi.Error {
				en.errMsg = batchError(rr.Errors, si)
			}
			nv.entries = append(nv.entries, en)
		}
		fresh[si] = nv
	}

	// Swap them in, noting what changed.
	var changed []nodeRule
	var changes []Change
	sum := Summary{Nodes: len(subjects), Rules: len(order), Verdicts: map[Status]int{}, At: start}
	note := func(node string, old, cur *entry, nvOld, nvCur *nodeVerdicts) {
		rule := ""
		if cur != nil {
			rule = cur.rule.Name
		} else {
			rule = old.rule.Name
		}
		changed = append(changed, nodeRule{node, rule})
		if e.deps.OnChange == nil {
			return
		}
		var ch Change
		if old != nil {
			ch.From = statusOf(old.status)
		}
		if cur != nil {
			ch.Result = cur.result(node, nvCur)
		} else {
			ch.Result = old.result(node, nvOld)
			ch.Result.Status, ch.Result.Actual, ch.Result.Expected, ch.Result.Message = StatusNotApplicable, nil, nil, ""
			ch.Result.Since, ch.Result.EvaluatedAt = start, start
		}
		changes = append(changes, ch)
	}
	e.mu.Lock()
	for si, s := range subjects {
		node := s.Node.Name
		cur := fresh[si]
		old := e.results[node]
		var oldEntries []entry
		if old != nil {
			oldEntries = old.entries
		}
		// Both lists are sorted by rule name: merge them.
		i, j := 0, 0
		for i < len(oldEntries) || j < len(cur.entries) {
			switch {
			case j == len(cur.entries) || (i < len(oldEntries) && oldEntries[i].rule.Name < cur.entries[j].rule.Name):
				note(node, &oldEntries[i], nil, old, cur)
				i++
			case i == len(oldEntries) || cur.entries[j].rule.Name < oldEntries[i].rule.Name:
				cur.entries[j].since = now
				note(node, nil, &cur.entries[j], old, cur)
				j++
			default:
				o, c := &oldEntries[i], &cur.entries[j]
				if sameVerdict(o, c) {
					c.since = o.since
				} else {
					c.since = now
					note(node, o, c, old, cur)
				}
				i++
				j++
			}
		}
		if old != nil && old.site != cur.site {
			// The stored results carry the site: rewrite them all.
			for _, c := range cur.entries {
				changed = append(changed, nodeRule{node, c.rule.Name})
			}
		}
		e.results[node] = cur
	}
	for _, node := range gone {
		if old := e.results[node]; old != nil {
			for k := range old.entries {
				note(node, &old.entries[k], nil, old, nil)
			}
			delete(e.results, node)
		}
	}
	counts := map[abi.Verdict]int{}
	for _, nv := range e.results {
		for k := range nv.entries {
			counts[nv.entries[k].status]++
		}
	}
	for _, nv := range fresh {
		for k := range nv.entries {
			sum.Verdicts[statusOf(nv.entries[k].status)]++
		}
	}
	for _, c := range changed {
		e.dirty[c] = struct{}{}
	}
	e.lastEval = start
	e.mu.Unlock()

	for _, v := range []abi.Verdict{abi.Compliant, abi.Violation, abi.Error} {
		e.metrics.verdicts.WithLabelValues(string(statusOf(v))).Set(float64(counts[v]))
	}
	for _, c := range changes {
		e.metrics.changes.WithLabelValues(string(c.Result.Status)).Inc()
	}
	sum.Changed = len(changed)
	if len(changed) > 0 {
		e.persistSoon()
	}
	if e.deps.OnChange != nil && len(changes) > 0 {
		e.deps.OnChange(changes)
	}
	d := e.now().Sub(start)
	e.metrics.duration.Observe(d.Seconds())
	sum.Duration = d.Round(time.Microsecond).String()
	e.log.Debug("policies evaluated", "trigger", trigger, "nodes", sum.Nodes, "rules", sum.Rules, "changed", len(changed), "duration", d)
	return sum
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

func (f Filter) match(node string, site string, ri *ruleInfo, st Status) bool {
	return (f.Node == "" || node == f.Node) && (f.Rule == "" || ri.Name == f.Rule) && (f.Site == "" || site == f.Site) &&
		(f.Status == "" || st == f.Status) && (f.Policy == "" || ri.policy == f.Policy)
}

// Results returns the verdicts that match f, sorted by node then rule.
// Not-applicable verdicts are not kept: asking for Status not_applicable
// lists them from the rules loaded.
func (e *Engine) Results(f Filter) []Result {
	out, _ := e.ResultsPage(f, Cursor{}, 0)
	return out
}

// Cursor is where a page of results starts: after (Node, Rule); the zero
// Cursor starts at the beginning.
type Cursor struct {
	Node, Rule string
}

// ResultsPage returns limit (0: all) of the verdicts that match f after
// the cursor, sorted by node then rule, and whether more follow. Only the
// page is materialized: a million verdicts are cheap to skip, not to print.
func (e *Engine) ResultsPage(f Filter, after Cursor, limit int) ([]Result, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	nodes := []string{f.Node}
	if f.Node == "" {
		if f.Status == StatusNotApplicable {
			nodes = slices.Sorted(maps.Keys(e.nodes))
		} else {
			nodes = slices.Sorted(maps.Keys(e.results))
		}
	}
	if after.Node != "" {
		i, _ := slices.BinarySearch(nodes, after.Node)
		nodes = nodes[i:]
	}
	out := []Result{}
	// skip says whether (node, rule) is at or before the cursor.
	skip := func(node, rule string) bool {
		return after.Node != "" && (node < after.Node || (node == after.Node && rule <= after.Rule))
	}
	for _, node := range nodes {
		nv := e.results[node]
		if f.Status == StatusNotApplicable {
			n := e.nodes[node]
			if n == nil {
				continue
			}
			site := siteOf(e.chainLocked(n.Location))
			for _, ar := range e.order {
				if skip(node, ar.info.Name) || (nv != nil && nv.find(ar.info.Name) != nil) ||
					!f.match(node, site, ar.info, StatusNotApplicable) {
					continue
				}
				if limit > 0 && len(out) == limit {
					return out, true
				}
				r := ar.info.result(abi.NotApplicable, nil, nil, "")
				r.Node, r.Site, r.NodeRevision, r.EvaluatedAt = node, site, n.Revision, e.lastEval
				out = append(out, r)
			}
			continue
		}
		if nv == nil {
			continue
		}
		for k := range nv.entries {
			en := &nv.entries[k]
			if skip(node, en.rule.Name) || !f.match(node, nv.site, en.rule, statusOf(en.status)) {
				continue
			}
			if limit > 0 && len(out) == limit {
				return out, true
			}
			out = append(out, en.result(node, nv))
		}
	}
	return out, false
}

// NodeResults returns every rule's verdict on one node, not-applicable
// ones included, in rule-name order; false when the node is unknown.
func (e *Engine) NodeResults(node string) ([]Result, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := e.nodes[node]
	if n == nil {
		return nil, false
	}
	nv := e.results[node]
	site := siteOf(e.chainLocked(n.Location))
	out := []Result{}
	for _, ar := range e.order {
		if nv != nil {
			if en := nv.find(ar.info.Name); en != nil {
				out = append(out, en.result(node, nv))
				continue
			}
		}
		r := ar.info.result(abi.NotApplicable, nil, nil, "")
		r.Node, r.Site, r.NodeRevision, r.EvaluatedAt = node, site, n.Revision, e.lastEval
		out = append(out, r)
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

// EngineStatus is the engine's state for the API.
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
