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

	fp string // fingerprint, computed once by the engine
}

// fingerprint is what makes two results the same verdict: what is written
// to etcd again only when it changes.
func (r *Result) fingerprint() string {
	b, _ := json.Marshal([]any{r.Site, r.Policy, r.Line, r.Action, r.Status, r.Target, r.Actual, r.Expected, r.Template, r.Message})
	return string(b)
}

// verdict is the Result of rule number rule of m on one record: everything
// but the node's identity. errMsg is the sandbox's reason for an error.
func verdict(m *abi.Manifest, rule int, rec []abi.Value, v abi.Verdict, errMsg string) Result {
	r := m.Rules[rule]
	res := Result{Rule: r.Name, Line: r.Line, Action: r.Action, Status: statusOf(v), Target: r.Target, Template: r.Template}
	slot := func(path string) (abi.Value, bool) {
		for i, f := range m.Fields {
			if f.Path == path && i < len(rec) {
				return rec[i], true
			}
		}
		return abi.Null(), false
	}
	var expected abi.Value
	expectedFrom := ""
	if r.Action != abi.ActionApply {
		actual, _ := slot(r.Target)
		res.Actual = record.Render(actual)
		if r.Expected != nil {
			if r.Expected.Field != "" {
				expected, _ = slot(r.Expected.Field)
				expectedFrom = " (" + r.Expected.Field + ")"
			} else {
				expected = abi.FromJSON(r.Expected.Value)
			}
		}
		res.Expected = record.Render(expected)
	}
	switch res.Status {
	case StatusError:
		res.Message = errMsg
		if res.Message == "" {
			res.Message = fmt.Sprintf("rule %s: the module returned an error verdict", r.Name)
		}
	case StatusNotApplicable:
	case StatusViolation:
		switch r.Action {
		case abi.ActionSet:
			res.Message = fmt.Sprintf("%s would be set to %s%s (now %s)", r.Target, jsonText(res.Expected), expectedFrom, jsonText(res.Actual))
		case abi.ActionApply:
			res.Message = fmt.Sprintf("template %s: the module returned a violation for an apply rule", r.Template)
		default:
			res.Message = fmt.Sprintf("%s is %s, expected %s%s", r.Target, jsonText(res.Actual), jsonText(res.Expected), expectedFrom)
		}
	case StatusCompliant:
		switch r.Action {
		case abi.ActionApply:
			res.Message = "template " + r.Template + " applies"
		default:
			res.Message = fmt.Sprintf("%s is %s", r.Target, jsonText(res.Actual))
		}
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
	out := make([][]Result, len(subjects))
	for i := range out {
		out[i] = make([]Result, len(man.Rules))
	}
	for ri := range man.Rules {
		errs := rr[ri].Errors
		for i, s := range subjects {
			msg := ""
			for _, be := range errs {
				if i >= be.First && i < be.Last {
					msg = be.Err.Error()
					break
				}
			}
			res := verdict(&man, ri, records[i], rr[ri].Verdicts[i], msg)
			res.Node, res.Site, res.Policy = s.Node.Name, s.Site, policy
			res.NodeRevision = s.Node.Revision
			out[i][ri] = res
		}
	}
	return out, nil
}
