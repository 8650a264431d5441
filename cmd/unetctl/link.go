package main

import (
	"context"
	"fmt"
	"iter"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

func (a *app) linkCommand() *cobra.Command {
	cmd := groupCommand("link", "Manage links (cables between node interfaces, internet circuits)", "links")
	cmd.AddCommand(a.linkAddCommand(), a.linkListCommand(), a.linkShowCommand(), a.linkDeleteCommand())
	return cmd
}

// linkFieldAliases maps API field names to the flags that set them.
func linkFieldAliases() map[string]string {
	return map[string]string{"bandwidth_bps": "bandwidth", "circuit.id": "circuit", "circuit.provider": "provider"}
}

func (a *app) linkAddCommand() *cobra.Command {
	var (
		l                 model.Link
		aEnd              *model.Endpoint // --a is required, so set when RunE runs
		circuit, provider string
	)
	cmd := &cobra.Command{
		Use:   "add --a NODE:IFNAME (--z NODE:IFNAME | --circuit ID [--provider P]) [flags]",
		Short: "Add a link between two node interfaces, or an internet circuit",
		Example: `  unetctl link add --a r1:Gi0/0/1 --z sw1:Ethernet1 --bandwidth 10G
  unetctl link add --a r1:Gi0/0/0 --circuit TRANSIT-42 --provider ExampleNet`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if changed(cmd, "provider") && !changed(cmd, "circuit") {
				return usageErrorf("--provider needs --circuit")
			}
			l.A = *aEnd
			if changed(cmd, "circuit") {
				l.Circuit = &model.Circuit{ID: circuit, Provider: provider}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			created, err := c.CreateLink(ctx, l)
			if err != nil {
				return withFlagHints(cmd, err, linkFieldAliases())
			}
			return printDone(a, created, linkColumns(), "link %s created (%s)", created.ID, linkSummary(created))
		},
	}
	fl := cmd.Flags()
	a.endpointFlag(cmd, &aEnd, "a", "the A end")
	a.endpointFlag(cmd, &l.Z, "z", "the Z end")
	fl.StringVar(&circuit, "circuit", "", "circuit id of an internet link (instead of --z)")
	fl.StringVar(&provider, "provider", "", "provider of the circuit")
	fl.Var(bandwidthValue{&l.BandwidthBps}, "bandwidth", "speed in bit/s, with K, M, G or T (10G, 2.5G, 100M)")
	fl.StringVar(&l.Description, "description", "", "free text")
	_ = cmd.MarkFlagRequired("a")
	cmd.MarkFlagsMutuallyExclusive("z", "circuit")
	cmd.MarkFlagsOneRequired("z", "circuit")
	for _, name := range []string{"circuit", "provider", "bandwidth", "description"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

// endpointFlag adds a NODE:INTERFACE flag with completion of the node part.
// The flag is also its own shorthand (-a, -z): cobra's completion takes a
// one-letter flag name for a shorthand, and would find no flag otherwise.
func (a *app) endpointFlag(cmd *cobra.Command, dst **model.Endpoint, name, usage string) {
	cmd.Flags().VarP(endpointValue{dst}, name, name, usage+", NODE:INTERFACE")
	_ = cmd.RegisterFlagCompletionFunc(name, a.completeEndpoint())
}

func (a *app) linkListCommand() *cobra.Command {
	var f apiclient.LinkFilter
	cmd := listCommand(a, &cobra.Command{
		Use:   "list [--node NAME]",
		Short: "List links",
	}, "links", func(ctx context.Context, c *apiclient.Client, o apiclient.ListOptions) iter.Seq2[model.Link, error] {
		return c.AllLinks(ctx, f, o)
	}, linkColumns, "created_at", "updated_at")
	cmd.Flags().StringVar(&f.Node, "node", "", "only links with an end on this node")
	_ = cmd.RegisterFlagCompletionFunc("node", a.completeNodes())
	return cmd
}

func (a *app) linkShowCommand() *cobra.Command {
	return showCommand(a, &cobra.Command{
		Use:               "show ID|NODE:IFNAME",
		Short:             "Show a link, by id or by one of its ends",
		Args:              oneArg("ID"),
		ValidArgsFunction: firstArg(a.completeLinks()),
	}, findLink, linkColumns)
}

func (a *app) linkDeleteCommand() *cobra.Command {
	var d deleteFlags
	cmd := &cobra.Command{
		Use:               "delete ID|NODE:IFNAME [--yes]",
		Short:             "Delete a link, by id or by one of its ends",
		Aliases:           []string{"rm"},
		Args:              oneArg("ID"),
		ValidArgsFunction: firstArg(a.completeLinks()),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			l, err := findLink(ctx, c, args[0])
			if err != nil {
				return err
			}
			what := "link " + l.ID + " (" + linkSummary(l) + ")"
			if err := a.confirmDelete(what, d); err != nil {
				return err
			}
			if err := c.DeleteLink(ctx, l.ID, 0); err != nil {
				return err
			}
			return a.printDeleted(what)
		},
	}
	d.register(cmd, "")
	return cmd
}

// findLink gets a link by id, or by one of its ends: operators know the
// interface a cable is plugged into, not the link's UUID.
func findLink(ctx context.Context, c *apiclient.Client, ref string) (model.Link, error) {
	end, err := model.ParseEndpoint(ref)
	if err != nil { // no colon: an id
		return c.GetLink(ctx, ref)
	}
	links, err := c.ListAllLinks(ctx, apiclient.LinkFilter{Node: end.Node}, apiclient.ListOptions{})
	if err != nil {
		return model.Link{}, err
	}
	for _, l := range links {
		for _, e := range l.Endpoints() {
			if e == end {
				return l, nil
			}
		}
	}
	return model.Link{}, fmt.Errorf("no link on %s", end)
}

// linkSummary is "r1:Gi0/0/1 ↔ sw1:Ethernet1" or "r1:Gi0/0/0 ↔ circuit TRANSIT-42 (ExampleNet)".
func linkSummary(l model.Link) string {
	return l.A.String() + " ↔ " + linkFarEnd(l)
}

func linkFarEnd(l model.Link) string {
	switch {
	case l.Z != nil:
		return l.Z.String()
	case l.Circuit != nil:
		return "circuit " + circuitText(l.Circuit)
	default:
		return "?"
	}
}

func circuitText(c *model.Circuit) string {
	if c == nil {
		return ""
	}
	if c.Provider == "" {
		return c.ID
	}
	return c.ID + " (" + c.Provider + ")"
}

func linkColumns() []column[model.Link] {
	zText := func(l model.Link) string {
		if l.Z == nil {
			return ""
		}
		return l.Z.String()
	}
	circuitField := func(get func(*model.Circuit) string) func(model.Link) string {
		return func(l model.Link) string {
			if l.Circuit == nil {
				return ""
			}
			return get(l.Circuit)
		}
	}
	cols := []column[model.Link]{
		{header: "ID", key: "id", get: func(l model.Link) string { return l.ID }},
		{header: "A", key: "a", get: func(l model.Link) string { return l.A.String() }},
		{header: "Z", key: "z", get: zText},
		{header: "CIRCUIT", key: "circuit", human: true, get: func(l model.Link) string { return circuitText(l.Circuit) }},
		{header: "CIRCUIT ID", key: "circuit_id", csvOnly: true, get: circuitField(func(c *model.Circuit) string { return c.ID })},
		{header: "PROVIDER", key: "circuit_provider", csvOnly: true, get: circuitField(func(c *model.Circuit) string { return c.Provider })},
		{header: "BANDWIDTH", key: "bandwidth", human: true, get: func(l model.Link) string {
			if l.BandwidthBps == 0 {
				return ""
			}
			return formatBandwidth(l.BandwidthBps)
		}},
		{header: "BANDWIDTH BPS", key: "bandwidth_bps", csvOnly: true, get: func(l model.Link) string { return itoa(l.BandwidthBps) }},
		{header: "DESCRIPTION", key: "description", get: func(l model.Link) string { return l.Description }},
	}
	// The id is already a table column; the other meta columns are wide.
	return append(cols, metaColumns(func(l model.Link) model.Meta { return l.Meta })[1:]...)
}
