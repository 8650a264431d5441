package apiclient

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// The policy engine's routes: verdicts (compliance), SET proposals, the
// policy files loaded, evaluation on demand. The types mirror the JSON of
// collector/policy (which this package does not import: agents use it too,
// and need no WASM runtime).

// ComplianceResult is the verdict of one rule on one node.
type ComplianceResult struct {
	Node   string `json:"node"`
	Site   string `json:"site,omitempty"`
	Rule   string `json:"rule"`
	Policy string `json:"policy"`
	Line   int    `json:"line,omitempty"`
	// Action is assert, set or apply.
	Action string `json:"action"`
	// Status is compliant, violation, not_applicable or error.
	Status       string    `json:"status"`
	Target       string    `json:"target,omitempty"`
	Actual       any       `json:"actual"`
	Expected     any       `json:"expected"`
	Template     string    `json:"template,omitempty"`
	Message      string    `json:"message,omitempty"`
	NodeRevision int64     `json:"node_revision,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	EvaluatedAt  time.Time `json:"evaluated_at,omitzero"`
}

// ComplianceFilter selects verdicts; empty fields match everything.
type ComplianceFilter struct {
	Rule   string
	Node   string
	Site   string
	Status string
	Policy string
}

func (f ComplianceFilter) query() url.Values {
	q := url.Values{}
	setIf(q, "rule", f.Rule)
	setIf(q, "node", f.Node)
	setIf(q, "site", f.Site)
	setIf(q, "status", f.Status)
	setIf(q, "policy", f.Policy)
	return q
}

// CompliancePage is one page of GET /compliance.
type CompliancePage struct {
	Items       []ComplianceResult `json:"items"`
	Continue    string             `json:"continue"`
	EvaluatedAt time.Time          `json:"evaluated_at,omitzero"`
}

// ListCompliance fetches one page of verdicts.
func (c *Client) ListCompliance(ctx context.Context, f ComplianceFilter, o ListOptions) (CompliancePage, error) {
	var p CompliancePage
	err := c.do(ctx, request{method: "GET", path: "/compliance", query: o.query(f.query())}, &p)
	return p, err
}

// AllCompliance fetches every verdict that matches f, page after page.
func (c *Client) AllCompliance(ctx context.Context, f ComplianceFilter) ([]ComplianceResult, error) {
	o := ListOptions{Limit: DefaultPageSize}
	out := []ComplianceResult{}
	seen := map[string]bool{}
	for {
		p, err := c.ListCompliance(ctx, f, o)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Continue == "" {
			return out, nil
		}
		if seen[p.Continue] {
			return nil, fmt.Errorf("listing compliance: the collector returned continue token %q twice", p.Continue)
		}
		seen[p.Continue] = true
		o.Continue = p.Continue
	}
}

// NodeCompliance is GET /nodes/{ref}/compliance: every rule's verdict on
// the node, not_applicable included, and its templates.
type NodeCompliance struct {
	Node      string             `json:"node"`
	Items     []ComplianceResult `json:"items"`
	Templates []string           `json:"templates"`
}

// NodeCompliance reads one node's verdicts.
func (c *Client) NodeCompliance(ctx context.Context, ref string) (*NodeCompliance, error) {
	out := &NodeCompliance{}
	if err := c.do(ctx, request{method: "GET", path: objectPath("nodes", ref) + "/compliance"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// PolicyRule is one rule of a loaded policy file.
type PolicyRule struct {
	Name     string `json:"name"`
	Line     int    `json:"line,omitempty"`
	Action   string `json:"action"`
	Target   string `json:"target,omitempty"`
	Expected any    `json:"expected,omitempty"`
	Template string `json:"template,omitempty"`
}

// PolicyFile is a file of the collector's policy directory.
type PolicyFile struct {
	File        string       `json:"file"`
	Kind        string       `json:"kind"`
	Hash        string       `json:"hash,omitempty"`
	Rules       []PolicyRule `json:"rules"`
	Error       string       `json:"error,omitempty"`
	Diagnostics []string     `json:"diagnostics,omitempty"`
	Active      bool         `json:"active"`
	Stale       bool         `json:"stale,omitempty"`
	LoadedAt    time.Time    `json:"loaded_at,omitzero"`
}

// Policies is GET /policies: the engine's state and its files.
type Policies struct {
	Dir            string       `json:"dir"`
	Ready          bool         `json:"ready"`
	Nodes          int          `json:"nodes"`
	LastEvaluation time.Time    `json:"last_evaluation,omitzero"`
	DirError       string       `json:"dir_error,omitempty"`
	Rules          int          `json:"rules"`
	Files          int          `json:"files"`
	FilesWithErrs  int          `json:"files_with_errors"`
	ResultsPrefix  string       `json:"results_prefix,omitempty"`
	Policies       []PolicyFile `json:"policies"`
}

// Policies reads the policy files the collector loaded.
func (c *Client) Policies(ctx context.Context) (*Policies, error) {
	out := &Policies{}
	if err := c.do(ctx, request{method: "GET", path: "/policies"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// EvaluationSummary says what an evaluation did.
type EvaluationSummary struct {
	Nodes    int            `json:"nodes"`
	Rules    int            `json:"rules"`
	Verdicts map[string]int `json:"verdicts"`
	Changed  int            `json:"changed"`
	Duration string         `json:"duration"`
	At       time.Time      `json:"at"`
}

// EvaluatePolicies evaluates the named nodes (every node when none) now.
func (c *Client) EvaluatePolicies(ctx context.Context, nodes []string) (*EvaluationSummary, error) {
	body, err := jsonBody(map[string]any{"nodes": nodes})
	if err != nil {
		return nil, err
	}
	out := &EvaluationSummary{}
	if err := c.do(ctx, request{method: "POST", path: "/policies/evaluate", body: body, ctype: "application/json"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// SetProposal is a custom_data change a SET rule asks for.
type SetProposal struct {
	Node         string `json:"node"`
	Rule         string `json:"rule"`
	Policy       string `json:"policy"`
	Path         string `json:"path"`
	Current      any    `json:"current"`
	Proposed     any    `json:"proposed"`
	NodeRevision int64  `json:"node_revision"`
}

// ProposalRef names a proposal to apply: node, path and the value seen.
type ProposalRef struct {
	Node     string `json:"node"`
	Path     string `json:"path"`
	Proposed any    `json:"proposed"`
}

// ApplyOutcome is what became of one proposal: Status applied, conflict
// or failed.
type ApplyOutcome struct {
	SetProposal
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ApplyReport is the answer of POST /compliance/sets/apply.
type ApplyReport struct {
	Applied  int            `json:"applied"`
	Failed   int            `json:"failed"`
	Outcomes []ApplyOutcome `json:"outcomes"`
}

// SetProposals lists the pending SET proposals, of one node or (node "")
// of all.
func (c *Client) SetProposals(ctx context.Context, node string) ([]SetProposal, error) {
	q := url.Values{}
	setIf(q, "node", node)
	var out struct {
		Items []SetProposal `json:"items"`
	}
	if err := c.do(ctx, request{method: "GET", path: "/compliance/sets", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// ApplySetProposals applies the proposals named (nil: every pending one).
func (c *Client) ApplySetProposals(ctx context.Context, refs []ProposalRef) (*ApplyReport, error) {
	req := map[string]any{}
	if refs != nil {
		req["proposals"] = refs
	}
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	out := &ApplyReport{}
	if err := c.do(ctx, request{method: "POST", path: "/compliance/sets/apply", body: body, ctype: "application/json"}, out); err != nil {
		return nil, err
	}
	return out, nil
}
