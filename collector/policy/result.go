package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/record"
	"github.com/unet-project/unet/collector/policy/sandbox"
	"github.com/unet-project/unet/collector/policy/wasmgen"
)

// Status is a verdict as the API and the CLI name it.
type Status string

// The verdicts (POLICY.md §Semantics).
const (
	StatusCompliant     Status = "compliant"
	StatusViolation     Status = "violation"
	StatusNotApplicable Status = "not_applicable"
	StatusError         Status = "error"
)

// Statuses lists every status, in severity order for people.
func Statuses() []Status {
	return []Status{StatusError, StatusViolation, StatusCompliant, StatusNotApplicable}
}

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses() {
		if Status(strings.ToLower(strings.TrimSpace(s))) == st {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown status %q (accepted: error, violation, compliant, not_applicable)", s)
}

func statusOf(v abi.Verdict) Status {
	switch v {
	case abi.Compliant:
		return StatusCompliant
	case abi.Violation:
		return StatusViolation
	case abi.NotApplicable:
		return StatusNotApplicable
	}
	return StatusError
}

// Result is the verdict of one rule on one node.
type Result struct {
	Node string `json:"node"`
	// Site is the node's site (the location of kind site above it), for
	// filtering; empty when it has none.
	Site string `json:"site,omitempty"`
	Rule string `json:"rule"`
	// Policy is the file the rule comes from, relative to the policy
	// directory; Line its line there when the module says.
	Policy string     `json:"policy"`
	Line   int        `json:"line,omitempty"`
	Action abi.Action `json:"action"`
	Status Status     `json:"status"`
	// Target is the field an assert or a set is about.
	Target string `json:"target,omitempty"`
	// Actual and Expected are JSON values (null included) rendered from
	// the node's record; for a set, Expected is the proposed value.
	Actual   any    `json:"actual"`
	Expected any    `json:"expected"`
	Template string `json:"template,omitempty"`
	Message  string `json:"message,omitempty"`
	// NodeRevision is the node's desired-state revision evaluated: a SET
	// proposal is applied only to that revision.
	NodeRevision int64 `json:"node_revision,omitempty"`
	// Since is when the verdict (status, values, message) last changed;
	// EvaluatedAt when it was last found.
	Since       time.Time `json:"since,omitzero"`
	EvaluatedAt time.Time `json:"evaluated_at,omitzero"`
}

// ruleInfo is a rule of a loaded module, with what all its verdicts share.
type ruleInfo struct {
	abi.Rule
	policy string
	// targetSlot is the record slot of Target (-1 for apply); expSlot the
	// slot of Expected.Field (-1 for a literal, whose rendering is expected).
	targetSlot, expSlot int
	expected            any
}

// ruleInfos describes the rules of a module whose manifest is m.
func ruleInfos(m abi.Manifest, policy string) []*ruleInfo {
	slot := func(path string) int {
		for i, f := range m.Fields {
			if f.Path == path {
				return i
			}
		}
		return -1
	}
	out := make([]*ruleInfo, len(m.Rules))
	for i, r := range m.Rules {
		ri := &ruleInfo{Rule: r, policy: policy, targetSlot: -1, expSlot: -1}
		if r.Action != abi.ActionApply {
			ri.targetSlot = slot(r.Target)
			if r.Expected != nil {
				if r.Expected.Field != "" {
					ri.expSlot = slot(r.Expected.Field)
				} else {
					ri.expected = record.Render(abi.FromJSON(r.Expected.Value))
				}
			}
		}
		out[i] = ri
	}
	return out
}

// values are the actual and expected values of the rule on a record.
func (ri *ruleInfo) values(rec []abi.Value) (actual, expected any) {
	if ri.targetSlot >= 0 && ri.targetSlot < len(rec) {
		actual = record.Render(rec[ri.targetSlot])
	}
	expected = ri.expected
	if ri.expSlot >= 0 && ri.expSlot < len(rec) {
		expected = record.Render(rec[ri.expSlot])
	}
	return actual, expected
}

// describe is the message of a verdict, for people.
func (ri *ruleInfo) describe(st Status, actual, expected any, errMsg string) string {
	expectedFrom := ""
	if ri.Expected != nil && ri.Expected.Field != "" {
		expectedFrom = " (" + ri.Expected.Field + ")"
	}
	switch st {
	case StatusError:
		if errMsg == "" {
			return fmt.Sprintf("rule %s: the module returned an error verdict", ri.Name)
		}
		return errMsg
	case StatusViolation:
		switch ri.Action {
		case abi.ActionSet:
			return fmt.Sprintf("%s would be set to %s%s (now %s)", ri.Target, jsonText(expected), expectedFrom, jsonText(actual))
		case abi.ActionApply:
			return fmt.Sprintf("template %s: the module returned a violation for an apply rule", ri.Template)
		}
		return fmt.Sprintf("%s is %s, expected %s%s", ri.Target, jsonText(actual), jsonText(expected), expectedFrom)
	case StatusCompliant:
		if ri.Action == abi.ActionApply {
			return "template " + ri.Template + " applies"
		}
		return fmt.Sprintf("%s is %s", ri.Target, jsonText(actual))
	}
	return ""
}

// result is the Result of the rule on one node (its identity left to the
// caller) for verdict v.
func (ri *ruleInfo) result(v abi.Verdict, actual, expected any, errMsg string) Result {
	st := statusOf(v)
	res := Result{Rule: ri.Name, Policy: ri.policy, Line: ri.Line, Action: ri.Action, Status: st,
		Target: ri.Target, Template: ri.Template, Message: ri.describe(st, actual, expected, errMsg)}
	if ri.Action != abi.ActionApply {
		res.Actual, res.Expected = actual, expected
	}
	return res
}

// jsonText is v as compact JSON, "null" for nil.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// CompileFile turns a policy file into a module: a *.unet file is parsed,
// checked and compiled (its name, as given, is what diagnostics and the
// manifest say); a *.wasm file is a module already and is returned as it is.
// Errors of a *.unet file are lang.Diagnostics.
func CompileFile(name string, src []byte) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".wasm":
		return src, nil
	case ".unet":
		p, err := lang.Compile(map[string][]byte{name: src})
		if err != nil {
			return nil, err
		}
		return wasmgen.Compile(p)
	}
	return nil, fmt.Errorf("%s: not a policy file (*.unet or *.wasm)", name)
}

// IsPolicyFile says whether name is a file the engine loads.
func IsPolicyFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".unet", ".wasm":
		return true
	}
	return false
}

// Subject is one node to evaluate: what the record is built from, and
// the identity its results carry.
type Subject struct {
	record.Subject
	Site string
}

// EvaluateModule runs every rule of m on the subjects and returns, for
// each subject in order, one Result per rule of the manifest (not
// applicable ones included). policy names the module in the results. This
// is the path of the engine and of `unetctl policy eval` alike.
func EvaluateModule(ctx context.Context, m *sandbox.Module, policy string, subjects []Subject) ([][]Result, error) {
	man := m.Manifest()
	records := make([][]abi.Value, len(subjects))
	for i := range subjects {
		records[i] = record.Build(man.Fields, subjects[i].Subject)
	}
	rr, err := m.Eval(ctx, records)
	if err != nil {
		return nil, err
	}
	infos := ruleInfos(man, policy)
	out := make([][]Result, len(subjects))
	for i := range out {
		out[i] = make([]Result, len(man.Rules))
	}
	for ri, info := range infos {
		for i, s := range subjects {
			actual, expected := info.values(records[i])
			res := info.result(rr[ri].Verdicts[i], actual, expected, batchError(rr[ri].Errors, i))
			res.Node, res.Site, res.NodeRevision = s.Node.Name, s.Site, s.Node.Revision
			out[i][ri] = res
		}
	}
	return out, nil
}

// batchError is the sandbox's reason for the error verdict of record i.
func batchError(errs []sandbox.BatchError, i int) string {
	for _, be := range errs {
		if i >= be.First && i < be.Last {
			return be.Err.Error()
		}
	}
	return ""
}
