package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

// SetProposal is a change of custom_data that a SET rule asks for: the
// rule's verdict is a violation until it is applied.
type SetProposal struct {
	Node   string `json:"node"`
	Rule   string `json:"rule"`
	Policy string `json:"policy"`
	// Path is the field, "custom_data.bgp.asn".
	Path     string `json:"path"`
	Current  any    `json:"current"`
	Proposed any    `json:"proposed"`
	// NodeRevision is the revision evaluated: the change is applied to it
	// only (compare-and-swap).
	NodeRevision int64 `json:"node_revision"`
}

// ProposalRef names a proposal to apply, as an operator saw it.
type ProposalRef struct {
	Node     string `json:"node"`
	Path     string `json:"path"`
	Proposed any    `json:"proposed"`
}

// ApplyOutcome is what became of one proposal.
type ApplyOutcome struct {
	SetProposal
	// Status is applied, conflict (the node changed since it was
	// evaluated, or two rules propose different values), or failed.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ApplyReport is the answer of ApplySets.
type ApplyReport struct {
	Applied  int            `json:"applied"`
	Failed   int            `json:"failed"`
	Outcomes []ApplyOutcome `json:"outcomes"`
}

// SetProposals lists the pending SET changes, of one node or (node "")
// of all, by node then rule.
func (e *Engine) SetProposals(node string) []SetProposal {
	var out []SetProposal
	for _, r := range e.Results(Filter{Node: node, Status: StatusViolation}) {
		if r.Action != abi.ActionSet {
			continue
		}
		out = append(out, SetProposal{Node: r.Node, Rule: r.Rule, Policy: r.Policy, Path: r.Target,
			Current: r.Actual, Proposed: r.Expected, NodeRevision: r.NodeRevision})
	}
	return out
}

// Templates returns the templates APPLY rules assign to a node, in policy
// file then rule order (POLICY.md), each once (for the template issue).
func (e *Engine) Templates(node string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	nv := e.results[node]
	if nv == nil {
		return nil
	}
	var out []string
	for _, l := range e.active {
		for _, ri := range l.rules {
			if ri.Action != abi.ActionApply || slices.Contains(out, ri.Template) {
				continue
			}
			if en := nv.find(ri.Name); en != nil && en.status == abi.Compliant {
				out = append(out, ri.Template)
			}
		}
	}
	return out
}

// ApplySets writes pending SET proposals into the nodes' custom_data,
// each node in one compare-and-swap on the revision that was evaluated.
// only selects the proposals to apply (matched by node, path and proposed
// value, so that what is applied is what the operator confirmed); nil
// applies every pending one. Applied nodes are evaluated again.
func (e *Engine) ApplySets(ctx context.Context, only []ProposalRef) (ApplyReport, error) {
	pending := e.SetProposals("")
	if only != nil {
		var sel []SetProposal
		for _, p := range pending {
			for _, o := range only {
				if o.Node == p.Node && o.Path == p.Path && jsonText(o.Proposed) == jsonText(p.Proposed) {
					sel = append(sel, p)
					break
				}
			}
		}
		pending = sel
	}
	rep := ApplyReport{Outcomes: []ApplyOutcome{}}
	byNode := map[string][]SetProposal{}
	for _, p := range pending {
		byNode[p.Node] = append(byNode[p.Node], p)
	}
	var applied []string
	for _, node := range slices.Sorted(maps.Keys(byNode)) {
		outs := e.applyNode(ctx, node, byNode[node])
		for _, o := range outs {
			if o.Status == "applied" {
				rep.Applied++
			} else {
				rep.Failed++
			}
		}
		if len(outs) > 0 && outs[0].Status == "applied" {
			applied = append(applied, node)
		}
		rep.Outcomes = append(rep.Outcomes, outs...)
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if len(applied) > 0 {
		e.log.Info("SET proposals applied", "nodes", len(applied), "changes", rep.Applied)
		e.DerivedChanged(applied...) // evaluated again at once, not after the watch's debounce only
	}
	return rep, nil
}

// applyNode applies the proposals of one node in one update.
func (e *Engine) applyNode(ctx context.Context, node string, props []SetProposal) []ApplyOutcome {
	outs := make([]ApplyOutcome, len(props))
	for i, p := range props {
		outs[i] = ApplyOutcome{SetProposal: p, Status: "applied"}
	}
	failAll := func(status, format string, args ...any) []ApplyOutcome {
		for i := range outs {
			if outs[i].Status == "applied" {
				outs[i].Status, outs[i].Reason = status, fmt.Sprintf(format, args...)
			}
		}
		return outs
	}
	// Two rules that want different values at one path: neither wins.
	for i := range props {
		for j := range props {
			if i != j && props[i].Path == props[j].Path && jsonText(props[i].Proposed) != jsonText(props[j].Proposed) {
				outs[i].Status = "conflict"
				outs[i].Reason = fmt.Sprintf("rule %s proposes %s for the same field; fix the policies", props[j].Rule, jsonText(props[j].Proposed))
			}
		}
	}
	n, err := e.deps.Store.GetNode(ctx, node)
	if err != nil {
		return failAll("failed", "reading the node: %v", err)
	}
	rev := props[0].NodeRevision
	if n.Revision != rev {
		return failAll("conflict", "the node changed since it was evaluated (revision %d, now %d); it is being evaluated again", rev, n.Revision)
	}
	cd := deepCopy(n.CustomData)
	if cd == nil {
		cd = map[string]any{}
	}
	changed := false
	for i, p := range props {
		if outs[i].Status != "applied" {
			continue
		}
		if err := setPath(cd, p.Path, p.Proposed); err != nil {
			outs[i].Status, outs[i].Reason = "failed", err.Error()
			continue
		}
		changed = true
	}
	if !changed {
		return outs
	}
	n.CustomData = cd
	if _, err := e.deps.Store.UpdateNode(ctx, node, n, rev); err != nil {
		if errors.Is(err, desired.ErrConflict) {
			return failAll("conflict", "the node changed since it was evaluated; it is being evaluated again: %v", err)
		}
		return failAll("failed", "%v", err)
	}
	return outs
}

// setPath sets custom_data.a.b to v in cd, making the objects on the way.
func setPath(cd map[string]any, path string, v any) error {
	rest, ok := strings.CutPrefix(path, lang.CustomDataPrefix)
	if !ok || rest == "" {
		return fmt.Errorf("%s: SET writes custom_data fields only", path)
	}
	parts := strings.Split(rest, ".")
	m := cd
	for i, p := range parts[:len(parts)-1] {
		next, ok := m[p]
		if !ok || next == nil {
			nm := map[string]any{}
			m[p] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s%s is %s, not an object: cannot set %s", lang.CustomDataPrefix, strings.Join(parts[:i+1], "."), jsonText(next), path)
		}
		m = nm
	}
	m[parts[len(parts)-1]] = v
	return nil
}

func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopy(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}
