package main

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
)

// `unetctl compliance`: the latest verdicts of the collector's policy
// engine.

func complianceColumns() []column[apiclient.ComplianceResult] {
	return []column[apiclient.ComplianceResult]{
		{header: "NODE", key: "node", get: func(r apiclient.ComplianceResult) string { return r.Node }},
		{header: "SITE", key: "site", wide: true, get: func(r apiclient.ComplianceResult) string { return r.Site }},
		{header: "RULE", key: "rule", get: func(r apiclient.ComplianceResult) string { return r.Rule }},
		{header: "STATUS", key: "status", get: func(r apiclient.ComplianceResult) string { return r.Status }},
		{header: "ACTUAL", key: "actual", get: func(r apiclient.ComplianceResult) string { return valueText(r.Actual, r.Status) }},
		{header: "EXPECTED", key: "expected", get: func(r apiclient.ComplianceResult) string { return valueText(r.Expected, r.Status) }},
		{header: "MESSAGE", key: "message", get: func(r apiclient.ComplianceResult) string { return r.Message }},
		{header: "POLICY", key: "policy", wide: true, get: func(r apiclient.ComplianceResult) string { return r.Policy }},
		{header: "SINCE", key: "since", wide: true, get: func(r apiclient.ComplianceResult) string { return timeText(r.Since) }},
	}
}

func (a *app) complianceCommand() *cobra.Command {
	var f apiclient.ComplianceFilter
	var failing bool
	cmd := &cobra.Command{
		Use:   "compliance [--site SITE] [--node NAME] [--rule RULE] [--failing]",
		Short: "Show the latest policy verdicts per node and rule",
		Long: `Show the latest verdicts of the collector's policy engine: compliant, violation
(with the actual and expected values), error (the rule could not run), and with
--status not_applicable the rules that do not apply. The engine evaluates again
when a node, a location or a policy file changes; 'unetctl policy list' shows
the files it loaded.`,
		Example: `  unetctl compliance --failing
  unetctl compliance --site par1 --rule core-version -o json
  unetctl compliance --node r1`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if failing && f.Status != "" {
				return usageErrorf("--failing and --status go separately: --failing is --status violation plus --status error")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			items, err := fetchCompliance(ctx, c, f, failing)
			if err != nil {
				return err
			}
			noun := "verdicts"
			if failing {
				noun = "failing verdicts"
			}
			return printList(a, items, complianceColumns(), noun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Site, "site", "", "only nodes of this site")
	fl.StringVar(&f.Node, "node", "", "only this node")
	fl.StringVar(&f.Rule, "rule", "", "only this rule")
	fl.StringVar(&f.Policy, "policy", "", "only the rules of this policy file")
	fl.StringVar(&f.Status, "status", "", "only this verdict (compliant, violation, error, not_applicable)")
	fl.BoolVar(&failing, "failing", false, "only violations and errors")
	_ = cmd.RegisterFlagCompletionFunc("node", a.completeNodes())
	_ = cmd.RegisterFlagCompletionFunc("site", a.completeLocations())
	_ = cmd.RegisterFlagCompletionFunc("rule", a.completeRules())
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(
		[]cobra.Completion{"compliant", "violation", "error", "not_applicable"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// fetchCompliance lists the verdicts; failing asks for violations and
// errors (the API filters on one status) and merges them in node, rule
// order.
func fetchCompliance(ctx context.Context, c *apiclient.Client, f apiclient.ComplianceFilter, failing bool) ([]apiclient.ComplianceResult, error) {
	if !failing {
		return c.AllCompliance(ctx, f)
	}
	var out []apiclient.ComplianceResult
	for _, st := range []string{"violation", "error"} {
		f.Status = st
		items, err := c.AllCompliance(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	slices.SortFunc(out, func(x, y apiclient.ComplianceResult) int {
		return cmp.Or(strings.Compare(x.Node, y.Node), strings.Compare(x.Rule, y.Rule))
	})
	return out, nil
}

// completeRules offers the rule names of the policies loaded.
func (a *app) completeRules() cobra.CompletionFunc {
	return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
		p, err := c.Policies(ctx)
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, f := range p.Policies {
			for _, r := range f.Rules {
				if strings.HasPrefix(r.Name, prefix) {
					out = append(out, cobra.CompletionWithDesc(r.Name, r.Action+" in "+f.File))
				}
			}
		}
		return out, nil
	})
}
