package policy

import (
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
)

// The engine keeps every applicable verdict of every node: at 10,000 nodes
// and 200 rules that can be a million of them, so each is an entry of a
// few words that points at what its rule's verdicts share (ruleInfo); the
// Result with its message is made only when someone reads it.

// entry is one applicable verdict (not_applicable ones are not kept).
type entry struct {
	rule   *ruleInfo
	status abi.Verdict
	actual any
	// expected is the value of the rule's expected field; a literal is in
	// the rule.
	expected any
	errMsg   string
	since    int64 // unix nanoseconds
}

func (en *entry) expectedValue() any {
	if en.rule.expSlot >= 0 {
		return en.expected
	}
	return en.rule.expected
}

// nodeVerdicts are a node's applicable verdicts, sorted by rule name.
type nodeVerdicts struct {
	site      string
	revision  int64
	evaluated int64 // unix nanoseconds
	entries   []entry
}

func (nv *nodeVerdicts) find(rule string) *entry {
	lo, hi := 0, len(nv.entries)
	for lo < hi {
		m := (lo + hi) / 2
		if nv.entries[m].rule.Name < rule {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(nv.entries) && nv.entries[lo].rule.Name == rule {
		return &nv.entries[lo]
	}
	return nil
}

// result materializes an entry.
func (en *entry) result(node string, nv *nodeVerdicts) Result {
	r := en.rule.result(en.status, en.actual, en.expectedValue(), en.errMsg)
	r.Node, r.Site, r.NodeRevision = node, nv.site, nv.revision
	r.Since, r.EvaluatedAt = unixTime(en.since), unixTime(nv.evaluated)
	return r
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// sameVerdict says whether two entries of the same rule name are the same
// verdict: nothing to write, and the older one's since stays.
func sameVerdict(a, b *entry) bool {
	if a.status != b.status || a.errMsg != b.errMsg ||
		!equalRendered(a.actual, b.actual) || !equalRendered(a.expectedValue(), b.expectedValue()) {
		return false
	}
	ra, rb := a.rule, b.rule
	return ra == rb || (ra.policy == rb.policy && ra.Line == rb.Line && ra.Action == rb.Action &&
		ra.Target == rb.Target && ra.Template == rb.Template)
}

// equalRendered compares values made by record.Render (or decoded from
// JSON): nil, bool, float64, string, []any.
func equalRendered(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalRendered(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil, bool, float64, string:
		return a == b
	}
	return false
}
