package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/collector/policy"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/record"
	"github.com/unet-project/unet/collector/policy/sandbox"
	"github.com/unet-project/unet/collector/policy/wasmgen"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// The policy commands. validate, compile, eval and fields work on files,
// locally, through the collector's own compiler and sandbox (eval reads
// the node from the collector); list and apply-sets ask the collector.

func (a *app) policyCommand() *cobra.Command {
	cmd := groupCommand("policy", "Write, check and run policies (the μNet DSL, or WASM modules)", "policies")
	cmd.AddCommand(a.policyValidateCommand(), a.policyCompileCommand(), a.policyEvalCommand(),
		a.policyListCommand(), a.policyFieldsCommand(), a.policyApplySetsCommand())
	return cmd
}

// policyFiles completes policy file names.
func policyFiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []cobra.Completion{"unet", "wasm"}, cobra.ShellCompDirectiveFilterFileExt
}

// newSandbox starts a sandbox with the collector's defaults, quiet: its
// log lines are the collector's business, not the operator's.
func newSandbox(ctx context.Context) (*sandbox.Runtime, error) {
	return sandbox.New(ctx, sandbox.DefaultConfig(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// fileReport is one file of `policy validate -o json`.
type fileReport struct {
	File   string   `json:"file"`
	Kind   string   `json:"kind"`
	Rules  int      `json:"rules"`
	Errors []string `json:"errors"`
}

func (a *app) policyValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy files: syntax, fields, types, regexes; WASM modules against the ABI",
		Long: `Check policy files as the collector would load them: *.unet files are parsed,
type-checked and compiled (together, so rule names must be unique over them, as
over a policy directory); *.wasm modules are loaded in the sandbox and their
manifest checked. Each error is printed on stderr as FILE:LINE:COL: message
(with the source line and a caret on a terminal); the exit code is 1 when there
is any.`,
		Example:           `  unetctl policy validate policies-wasm/examples/*.unet`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: policyFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			reports, nerr := a.validate(cmd.Context(), args)
			switch a.conf.output {
			case outputJSON:
				if err := writeJSON(a.out, reports); err != nil {
					return err
				}
			case outputYAML:
				if err := writeYAML(a.out, reports); err != nil {
					return err
				}
			default:
				for _, r := range reports {
					if len(r.Errors) == 0 {
						fmt.Fprintf(a.out, "%s: ok, %d rule%s\n", r.File, r.Rules, pluralS(r.Rules))
					}
				}
			}
			if nerr > 0 {
				bad := 0
				for _, r := range reports {
					if len(r.Errors) > 0 {
						bad++
					}
				}
				return fmt.Errorf("%d error%s in %d file%s", nerr, pluralS(nerr), bad, pluralS(bad))
			}
			return nil
		},
	}
}

// pluralS is the plural ending of a count.
func pluralS(n int) string { return plural(n, "", "s") }

// validate checks the files and prints every error on stderr; it returns
// a report per file, in the order given, and the number of errors.
func (a *app) validate(ctx context.Context, paths []string) ([]fileReport, int) {
	reports := make([]fileReport, len(paths))
	index := map[string]int{}
	var dsl []string
	nerr := 0
	fail := func(i int, msg string) {
		reports[i].Errors = append(reports[i].Errors, msg)
		nerr++
	}
	var rt *sandbox.Runtime
	defer func() {
		if rt != nil {
			rt.Close(context.Background())
		}
	}()
	for i, p := range paths {
		reports[i] = fileReport{File: p, Kind: "dsl", Errors: []string{}}
		index[p] = i
		switch strings.ToLower(filepath.Ext(p)) {
		case ".unet":
			dsl = append(dsl, p)
		case ".wasm":
			reports[i].Kind = "wasm"
			b, err := os.ReadFile(p)
			if err != nil {
				fail(i, err.Error())
				continue
			}
			if rt == nil {
				if rt, err = newSandbox(ctx); err != nil {
					fail(i, err.Error())
					continue
				}
			}
			m, err := rt.Load(ctx, b)
			if err != nil {
				fail(i, p+": "+err.Error())
				continue
			}
			reports[i].Rules = len(m.Manifest().Rules)
		default:
			reports[i].Kind = "other"
			fail(i, p+": not a policy file (*.unet for the DSL, *.wasm for a module)")
		}
	}
	// On a terminal, DSL errors come with their source line and a caret.
	var rendered string
	if len(dsl) > 0 {
		prog, err := lang.CompileFiles(dsl...)
		var diags lang.Diagnostics
		switch {
		case errors.As(err, &diags):
			for _, d := range diags {
				i, ok := index[d.Pos.File]
				if !ok {
					i = index[dsl[0]]
				}
				fail(i, d.String())
			}
			// The files without errors still say how many rules they have.
			for _, p := range dsl {
				if r := &reports[index[p]]; len(r.Errors) == 0 {
					if src, err := os.ReadFile(p); err == nil {
						if f, err := lang.Parse(p, src); err == nil {
							r.Rules = len(f.Rules)
						}
					}
				}
			}
			if a.errTerminal {
				rendered = diags.Render(func(file string) []byte {
					b, _ := os.ReadFile(file)
					return b
				})
			}
		case err != nil:
			fail(index[dsl[0]], err.Error()) // a file that cannot be read
		default:
			for _, r := range prog.Rules {
				reports[index[r.Pos.File]].Rules++
			}
			if _, err := wasmgen.Compile(prog); err != nil {
				fail(index[dsl[0]], "code generation: "+err.Error())
			}
		}
	}
	for _, r := range reports {
		for _, e := range r.Errors {
			if rendered == "" || r.Kind != "dsl" {
				fmt.Fprintln(a.err, e)
			}
		}
	}
	fmt.Fprint(a.err, rendered)
	return reports, nerr
}

func (a *app) policyCompileCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "compile FILE... [-o OUT.wasm]",
		Short: "Compile DSL policy files into one WASM module",
		Long: `Compile *.unet files (rules in the order of the files given) into one WASM
module that follows the policy ABI (policies-wasm/ABI.md), and check that the
sandbox loads it. Without -o the module is written beside the first file, with
the .wasm extension.`,
		Example:           `  unetctl policy compile site-standards.unet -o site-standards.wasm`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: policyFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, p := range args {
				if !strings.EqualFold(filepath.Ext(p), ".unet") {
					return usageErrorf("%s: compile takes *.unet files (a .wasm file is a module already)", p)
				}
			}
			prog, err := lang.CompileFiles(args...)
			var diags lang.Diagnostics
			if errors.As(err, &diags) {
				fmt.Fprint(a.err, diags.Error()+"\n")
				return fmt.Errorf("%d error%s: nothing written", len(diags), pluralS(len(diags)))
			}
			if err != nil {
				return err
			}
			wasm, err := wasmgen.Compile(prog)
			if err != nil {
				return fmt.Errorf("code generation: %w", err)
			}
			rt, err := newSandbox(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close(context.Background())
			if _, err := rt.Load(cmd.Context(), wasm); err != nil {
				return fmt.Errorf("the compiled module does not load (a compiler bug; please report it): %w", err)
			}
			if out == "" {
				out = strings.TrimSuffix(args[0], filepath.Ext(args[0])) + ".wasm"
			}
			if err := os.WriteFile(out, wasm, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s: %d rule%s, %d bytes\n", out, len(prog.Rules), pluralS(len(prog.Rules)), len(wasm))
			return nil
		},
	}
	// -o names the module here: it shadows the global output format, which
	// compile has no use for.
	cmd.Flags().StringVarP(&out, "output", "o", "", "the module to write (default: FILE with .wasm)")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"wasm"}, cobra.ShellCompDirectiveFilterFileExt
	})
	return cmd
}

// evalRow is one line of `policy eval -o json`.
type evalRow struct {
	Rule     string `json:"rule"`
	Status   string `json:"status"`
	Actual   any    `json:"actual"`
	Expected any    `json:"expected"`
	Message  string `json:"message"`
}

func evalColumns() []column[evalRow] {
	return []column[evalRow]{
		{header: "RULE", key: "rule", get: func(r evalRow) string { return r.Rule }},
		{header: "STATUS", key: "status", get: func(r evalRow) string { return r.Status }},
		{header: "ACTUAL", key: "actual", get: func(r evalRow) string { return valueText(r.Actual, r.Status) }},
		{header: "EXPECTED", key: "expected", get: func(r evalRow) string { return valueText(r.Expected, r.Status) }},
		{header: "MESSAGE", key: "message", get: func(r evalRow) string { return r.Message }},
	}
}

// valueText shows a verdict's value; null is shown for asserts and sets
// (where it means "missing"), nothing where the rule did not apply.
func valueText(v any, status string) string {
	if v == nil {
		if status == "violation" {
			return "null"
		}
		return ""
	}
	return jsonText(v)
}

func (a *app) policyEvalCommand() *cobra.Command {
	var node string
	var all bool
	cmd := &cobra.Command{
		Use:   "eval FILE... --node NAME",
		Short: "Evaluate policy files on one node, here, before deploying them",
		Long: `Evaluate policy files (*.unet, *.wasm) on one node, locally, through the same
compiler and sandbox as the collector: the node, its locations and its newest
observed state come from the collector; nothing is stored. Not-applicable rules
are left out unless --all is given.`,
		Example: `  unetctl policy eval site-standards.unet --node r1
  unetctl policy eval site-standards.unet version-by-model.wasm --node r1 -o json`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: policyFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if node == "" {
				return usageErrorf("--node is required: the node to evaluate on")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			subject, err := fetchSubject(ctx, c, node)
			if err != nil {
				return err
			}
			rows, err := evalLocally(ctx, args, subject)
			if err != nil {
				return err
			}
			if !all {
				rows = slices.DeleteFunc(rows, func(r evalRow) bool { return r.Status == string(policy.StatusNotApplicable) })
			}
			return printList(a, rows, evalColumns(), "applicable rules")
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "the node to evaluate the policies on (name or id)")
	cmd.Flags().BoolVar(&all, "all", false, "also list the rules that do not apply to the node")
	_ = cmd.RegisterFlagCompletionFunc("node", a.completeNodes())
	return cmd
}

// fetchSubject reads what a policy may read about a node: the node, its
// location chain, its newest observed state (none when it was never
// polled, or the collector does not say).
func fetchSubject(ctx context.Context, c *apiclient.Client, ref string) (policy.Subject, error) {
	n, err := c.GetNode(ctx, ref)
	if err != nil {
		return policy.Subject{}, err
	}
	var chain []model.Location
	for name := n.Location; name != "" && len(chain) < 64; {
		l, err := c.GetLocation(ctx, name)
		if err != nil {
			return policy.Subject{}, fmt.Errorf("location %s of node %s: %w", name, n.Name, err)
		}
		chain = append(chain, l)
		name = l.Parent
	}
	slices.Reverse(chain)
	s := policy.Subject{Subject: record.Subject{Node: n, LocationPath: chain}}
	if len(chain) > 0 {
		s.Location = &chain[len(chain)-1]
		for i := len(chain) - 1; i >= 0; i-- {
			if chain[i].Kind == model.KindSite {
				s.Site = chain[i].Name
				break
			}
		}
	}
	if st, err := c.NodeStatus(ctx, n.Name); err == nil && !st.LastPoll.IsZero() {
		d := st.DeviceState
		s.Derived = &d
	}
	return s, nil
}

// evalLocally compiles (or loads) each file and evaluates it on s.
func evalLocally(ctx context.Context, paths []string, s policy.Subject) ([]evalRow, error) {
	rt, err := newSandbox(ctx)
	if err != nil {
		return nil, err
	}
	defer rt.Close(context.Background())
	s.Now = time.Now()
	var rows []evalRow
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		wasm, err := policy.CompileFile(p, src)
		if err != nil {
			var diags lang.Diagnostics
			if errors.As(err, &diags) {
				return nil, fmt.Errorf("%s (unetctl policy validate %s shows them all)", diags[0].String(), p)
			}
			return nil, err
		}
		m, err := rt.Load(ctx, wasm)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		res, err := policy.EvaluateModule(ctx, m, p, []policy.Subject{s})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range res[0] {
			rows = append(rows, evalRow{Rule: r.Rule, Status: string(r.Status), Actual: r.Actual, Expected: r.Expected, Message: r.Message})
		}
	}
	return rows, nil
}

func (a *app) policyListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the policy files the collector loaded, and their errors",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			p, err := c.Policies(ctx)
			if err != nil {
				return err
			}
			if p.DirError != "" && a.conf.output == outputTable {
				fmt.Fprintf(a.err, "The policy directory %s cannot be read: %s\n", p.Dir, p.DirError)
			}
			if err := printList(a, p.Policies, policyFileColumns(), "policy files in "+p.Dir); err != nil {
				return err
			}
			if a.conf.output == outputTable {
				for _, f := range p.Policies {
					for _, d := range f.Diagnostics {
						fmt.Fprintln(a.err, d)
					}
				}
			}
			return nil
		},
	}
	return cmd
}

func policyFileColumns() []column[apiclient.PolicyFile] {
	return []column[apiclient.PolicyFile]{
		{header: "FILE", key: "file", get: func(f apiclient.PolicyFile) string { return f.File }},
		{header: "KIND", key: "kind", get: func(f apiclient.PolicyFile) string { return f.Kind }},
		{header: "RULES", key: "rules", get: func(f apiclient.PolicyFile) string { return fmt.Sprint(len(f.Rules)) }},
		{header: "STATE", key: "state", get: func(f apiclient.PolicyFile) string {
			switch {
			case f.Stale:
				return "error (last good version active)"
			case f.Error != "":
				return "error"
			}
			return "loaded"
		}},
		{header: "LOADED", key: "loaded_at", wide: true, get: func(f apiclient.PolicyFile) string { return timeText(f.LoadedAt) }},
		{header: "HASH", key: "hash", wide: true, get: func(f apiclient.PolicyFile) string { return f.Hash }},
		{header: "ERROR", key: "error", get: func(f apiclient.PolicyFile) string { return f.Error }},
	}
}

// fieldRow is one field of the catalogue.
type fieldRow struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Doc  string `json:"doc"`
}

func (a *app) policyFieldsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fields",
		Short: "List the fields a policy can read (node.*, custom_data.*, location.*, derived.*)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			var rows []fieldRow
			for _, f := range lang.Fields() {
				rows = append(rows, fieldRow{Path: f.Path, Type: string(f.Type), Doc: f.Doc})
			}
			return printList(a, rows, []column[fieldRow]{
				{header: "FIELD", key: "path", get: func(r fieldRow) string { return r.Path }},
				{header: "TYPE", key: "type", get: func(r fieldRow) string { return r.Type }},
				{header: "DESCRIPTION", key: "doc", get: func(r fieldRow) string { return r.Doc }},
			}, "fields")
		},
	}
}

func setColumns() []column[apiclient.SetProposal] {
	return []column[apiclient.SetProposal]{
		{header: "NODE", key: "node", get: func(p apiclient.SetProposal) string { return p.Node }},
		{header: "RULE", key: "rule", get: func(p apiclient.SetProposal) string { return p.Rule }},
		{header: "FIELD", key: "path", get: func(p apiclient.SetProposal) string { return p.Path }},
		{header: "NOW", key: "current", get: func(p apiclient.SetProposal) string { return jsonOrNull(p.Current) }},
		{header: "PROPOSED", key: "proposed", get: func(p apiclient.SetProposal) string { return jsonOrNull(p.Proposed) }},
		{header: "POLICY", key: "policy", wide: true, get: func(p apiclient.SetProposal) string { return p.Policy }},
	}
}

func jsonOrNull(v any) string {
	if v == nil {
		return "null"
	}
	return jsonText(v)
}

func (a *app) policyApplySetsCommand() *cobra.Command {
	var yes bool
	var node string
	cmd := &cobra.Command{
		Use:   "apply-sets [--node NAME] [--yes]",
		Short: "Show the custom_data changes SET rules propose, and apply them on confirmation",
		Long: `Show the pending SET proposals (a SET rule's verdict is a violation until its
value is in the node's custom_data), ask for confirmation, and apply exactly the
proposals shown. Each node is written in one compare-and-swap on the revision
that was evaluated: a node changed since is left alone (conflict) and evaluated
again. The exit code is 1 when any proposal was not applied.`,
		Example: `  unetctl policy apply-sets
  unetctl policy apply-sets --node j1 --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			props, err := c.SetProposals(ctx, node)
			if err != nil {
				return err
			}
			if len(props) == 0 {
				if a.conf.output == outputTable {
					fmt.Fprintln(a.out, "No pending SET proposals.")
					return nil
				}
				return printList(a, []apiclient.ApplyOutcome{}, nil, "")
			}
			if a.conf.output == outputTable || !yes {
				// People see what they confirm; with -o json and --yes the
				// answer is the report alone.
				w := a.out
				if a.conf.output != outputTable {
					w = a.err
				}
				if err := writeTable(w, props, setColumns()); err != nil {
					return err
				}
			}
			if !yes {
				if !a.inTerminal {
					return fmt.Errorf("refusing to apply %d change%s without confirmation: stdin is not a terminal (pass --yes)", len(props), pluralS(len(props)))
				}
				fmt.Fprintf(a.err, "Apply %d change%s to custom_data? [y/N] ", len(props), pluralS(len(props)))
				answer, _ := bufio.NewReader(a.in).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return errors.New("nothing applied")
				}
			}
			refs := make([]apiclient.ProposalRef, len(props))
			for i, p := range props {
				refs[i] = apiclient.ProposalRef{Node: p.Node, Path: p.Path, Proposed: p.Proposed}
			}
			rep, err := c.ApplySetProposals(ctx, refs)
			if err != nil {
				return err
			}
			switch a.conf.output {
			case outputTable:
				for _, o := range rep.Outcomes {
					line := fmt.Sprintf("%s %s: %s", o.Node, o.Path, o.Status)
					if o.Reason != "" {
						line += " (" + o.Reason + ")"
					}
					fmt.Fprintln(a.out, line)
				}
				fmt.Fprintf(a.out, "%d applied, %d not applied\n", rep.Applied, rep.Failed)
			default:
				if err := printList(a, rep.Outcomes, nil, ""); err != nil {
					return err
				}
			}
			if rep.Failed > 0 {
				return fmt.Errorf("%d of %d proposals not applied (see above)", rep.Failed, rep.Applied+rep.Failed)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().StringVar(&node, "node", "", "only the proposals of this node")
	_ = cmd.RegisterFlagCompletionFunc("node", a.completeNodes())
	return cmd
}
