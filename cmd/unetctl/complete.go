package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
)

// Dynamic completion of object names: the shell asks `unetctl __complete
// …`, which lands here with the flags already parsed (so --server and the
// config file apply). Failures complete nothing rather than print errors.

// completionLimit caps how many names one completion fetches.
const completionLimit = 200

type nameLister func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error)

func (a *app) complete(list nameLister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c, err := a.client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		parent := cmd.Context()
		if parent == nil {
			parent = context.Background()
		}
		ctx, cancel := context.WithTimeout(parent, completionTimeout)
		defer cancel()
		names, err := list(ctx, c, toComplete)
		if err != nil {
			cobra.CompDebugln("unetctl completion: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg completes only the first positional argument.
func firstArg(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f(cmd, args, toComplete)
	}
}

func (a *app) completeNodes() cobra.CompletionFunc {
	return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
		p, err := c.ListNodes(ctx, apiclient.NodeFilter{NamePrefix: prefix}, apiclient.ListOptions{Limit: completionLimit})
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, len(p.Items))
		for i, n := range p.Items {
			out[i] = cobra.CompletionWithDesc(n.Name, string(n.Vendor)+" "+string(n.Role)+" in "+n.Location)
		}
		return out, nil
	})
}

func (a *app) completeLocations() cobra.CompletionFunc {
	return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
		p, err := c.ListLocations(ctx, apiclient.LocationFilter{NamePrefix: prefix}, apiclient.ListOptions{Limit: completionLimit})
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, len(p.Items))
		for i, l := range p.Items {
			out[i] = cobra.CompletionWithDesc(l.Name, string(l.Kind))
		}
		return out, nil
	})
}

func (a *app) completeSNMPProfiles() cobra.CompletionFunc {
	return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
		// The API has no name filter for profiles; there are few of them.
		all, err := c.ListAllSNMPProfiles(ctx, apiclient.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, p := range all {
			if strings.HasPrefix(p.Name, prefix) {
				out = append(out, cobra.CompletionWithDesc(p.Name, "SNMP v"+string(p.Version)))
			}
		}
		return out, nil
	})
}

// completeLinks offers link ids, described by their ends.
func (a *app) completeLinks() cobra.CompletionFunc {
	return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
		p, err := c.ListLinks(ctx, apiclient.LinkFilter{}, apiclient.ListOptions{Limit: completionLimit})
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, l := range p.Items {
			if strings.HasPrefix(l.ID, prefix) {
				out = append(out, cobra.CompletionWithDesc(l.ID, linkSummary(l)))
			}
		}
		return out, nil
	})
}

// completeEndpoint completes the NODE part of NODE:INTERFACE; interface
// names are not in the desired state, so there is nothing to offer after ':'.
func (a *app) completeEndpoint() cobra.CompletionFunc {
	nodes := a.completeNodes()
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if strings.Contains(toComplete, ":") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, dir := nodes(cmd, args, toComplete)
		names = slices.Clone(names)
		for i, n := range names {
			name, desc, _ := strings.Cut(n, "\t")
			names[i] = cobra.CompletionWithDesc(name+":", desc)
		}
		return names, dir | cobra.ShellCompDirectiveNoSpace
	}
}
