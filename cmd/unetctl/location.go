package main

import (
	"context"
	"fmt"
	"io"
	"iter"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

func (a *app) locationCommand() *cobra.Command {
	cmd := groupCommand("location", "Manage locations (region › site › rack …)", "locations", "loc")
	cmd.AddCommand(a.locationAddCommand(), a.locationListCommand(), a.locationShowCommand(),
		a.locationUpdateCommand(), a.locationDeleteCommand(), a.locationTreeCommand())
	return cmd
}

// locationFlags are the fields that add and update set.
type locationFlags struct {
	kind        model.LocationKind
	parent      string
	description string
}

func (f *locationFlags) register(a *app, cmd *cobra.Command) {
	enumFlag(cmd, &f.kind, "kind", "kind of location", model.LocationKinds(), model.ParseLocationKind)
	cmd.Flags().StringVar(&f.parent, "parent", "", "parent location (\"\" on update: make it a root)")
	cmd.Flags().StringVar(&f.description, "description", "", "free text")
	_ = cmd.RegisterFlagCompletionFunc("parent", a.completeLocations())
}

func (f *locationFlags) patch(cmd *cobra.Command) map[string]any {
	p := map[string]any{}
	if changed(cmd, "kind") {
		p["kind"] = string(f.kind)
	}
	if changed(cmd, "parent") {
		p["parent"] = patchString(f.parent)
	}
	if changed(cmd, "description") {
		p["description"] = patchString(f.description)
	}
	return p
}

func (a *app) locationAddCommand() *cobra.Command {
	var f locationFlags
	cmd := &cobra.Command{
		Use:   "add NAME --kind KIND [--parent NAME] [--description TEXT]",
		Short: "Add a location",
		Example: `  unetctl location add eu --kind region
  unetctl location add par1 --kind site --parent eu --description "Paris 1"`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			l, err := c.CreateLocation(ctx, model.Location{Name: args[0], Kind: f.kind, Parent: f.parent, Description: f.description})
			if err != nil {
				return withFlagHints(cmd, err, nil)
			}
			return printDone(a, l, locationColumns(), "location %s created", l.Name)
		},
	}
	f.register(a, cmd)
	_ = cmd.MarkFlagRequired("kind")
	return cmd
}

func (a *app) locationUpdateCommand() *cobra.Command {
	var f locationFlags
	cmd := updateCommand(a, &cobra.Command{
		Use:               "update NAME [--kind KIND] [--parent NAME] [--description TEXT]",
		Short:             "Change fields of a location (only the flags given)",
		Example:           `  unetctl location update par1 --description "Paris, Rue X"`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeLocations()),
	}, f.patch, func(ctx context.Context, c *apiclient.Client, name string, patch map[string]any) (model.Location, error) {
		return c.PatchLocation(ctx, name, patch, 0)
	}, nil, func(l model.Location) error {
		return printDone(a, l, locationColumns(), "location %s updated", l.Name)
	})
	f.register(a, cmd)
	return cmd
}

func (a *app) locationListCommand() *cobra.Command {
	var f apiclient.LocationFilter
	cmd := listCommand(a, &cobra.Command{
		Use:   "list [--within NAME] [--kind KIND]",
		Short: "List locations",
	}, "locations", func(ctx context.Context, c *apiclient.Client, o apiclient.ListOptions) iter.Seq2[model.Location, error] {
		return c.AllLocations(ctx, f, o)
	}, locationColumns, "name", "kind", "created_at", "updated_at")
	cmd.Flags().StringVar(&f.Within, "within", "", "only this location and its subtree")
	enumFlag(cmd, &f.Kind, "kind", "only locations of this kind", model.LocationKinds(), model.ParseLocationKind)
	cmd.Flags().StringVar(&f.NamePrefix, "name-prefix", "", "only locations whose name starts with this")
	_ = cmd.RegisterFlagCompletionFunc("within", a.completeLocations())
	return cmd
}

func (a *app) locationShowCommand() *cobra.Command {
	return showCommand(a, &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a location",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeLocations()),
	}, func(ctx context.Context, c *apiclient.Client, name string) (model.Location, error) {
		return c.GetLocation(ctx, name)
	}, locationColumns)
}

func (a *app) locationDeleteCommand() *cobra.Command {
	return a.deleteCommand(&cobra.Command{
		Use:               "delete NAME [--cascade] [--yes]",
		Short:             "Delete a location",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeLocations()),
	}, "location", "also delete the child locations and their nodes (without it, a location in use is not deleted)",
		func(ctx context.Context, c *apiclient.Client, name string, cascade bool) error {
			if err := c.DeleteLocation(ctx, name, cascade, 0); err != nil {
				return cascadeHint(err, "what is in it", cascade)
			}
			return nil
		})
}

func (a *app) locationTreeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tree [NAME]",
		Short: "Show the location hierarchy (all of it, or under NAME)",
		Long: `Show the location hierarchy, all of it or the subtree under NAME. The
table output draws the tree; -o json and -o yaml print its structure (one
object for NAME, else an array of the roots); -o csv one row per location.`,
		Args:              optionalArg("NAME"),
		ValidArgsFunction: firstArg(a.completeLocations()),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			roots, err := c.LocationTree(ctx, name)
			if err != nil {
				return err
			}
			return a.printTree(roots, name != "")
		},
	}
}

func (a *app) printTree(roots []model.TreeNode, single bool) error {
	switch a.conf.output {
	case outputJSON, outputYAML:
		var v any = roots
		if single && len(roots) == 1 {
			v = roots[0]
		}
		if a.conf.output == outputJSON {
			return writeJSON(a.out, v)
		}
		return writeYAML(a.out, v)
	case outputCSV:
		return writeCSV(a.out, flattenTree(roots), treeColumns())
	}
	if len(roots) == 0 {
		fmt.Fprintln(a.err, "No locations found.")
		return nil
	}
	return drawTree(a.out, roots)
}

// drawTree draws the hierarchy with box characters:
//
//	eu (region)
//	├── par1 (site)
//	│   └── par1-r01 (rack)
//	└── lon1 (site)
func drawTree(w io.Writer, roots []model.TreeNode) error {
	for _, r := range roots {
		if _, err := fmt.Fprintln(w, treeLabel(r)); err != nil {
			return err
		}
		drawChildren(w, r.Children, "")
	}
	return nil
}

func drawChildren(w io.Writer, children []model.TreeNode, indent string) {
	for i, c := range children {
		branch, next := "├── ", "│   "
		if i == len(children)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintln(w, indent+branch+treeLabel(c))
		drawChildren(w, c.Children, indent+next)
	}
}

func treeLabel(t model.TreeNode) string {
	s := t.Name + " (" + string(t.Kind) + ")"
	if t.Description != "" {
		s += "  " + cell(t.Description)
	}
	return s
}

// flattenTree lists the tree depth first, parents before their children.
func flattenTree(roots []model.TreeNode) []model.TreeNode {
	var out []model.TreeNode
	var walk func([]model.TreeNode)
	walk = func(ns []model.TreeNode) {
		for _, n := range ns {
			out = append(out, n)
			walk(n.Children)
		}
	}
	walk(roots)
	return out
}

func treeColumns() []column[model.TreeNode] {
	return []column[model.TreeNode]{
		{header: "PATH", key: "path", get: func(t model.TreeNode) string { return t.Path }},
		{header: "NAME", key: "name", get: func(t model.TreeNode) string { return t.Name }},
		{header: "KIND", key: "kind", get: func(t model.TreeNode) string { return string(t.Kind) }},
		{header: "PARENT", key: "parent", get: func(t model.TreeNode) string { return t.Parent }},
		{header: "DESCRIPTION", key: "description", get: func(t model.TreeNode) string { return t.Description }},
	}
}

func locationColumns() []column[model.Location] {
	cols := []column[model.Location]{
		{header: "NAME", key: "name", get: func(l model.Location) string { return l.Name }},
		{header: "KIND", key: "kind", get: func(l model.Location) string { return string(l.Kind) }},
		{header: "PARENT", key: "parent", get: func(l model.Location) string { return l.Parent }},
		{header: "DESCRIPTION", key: "description", get: func(l model.Location) string { return l.Description }},
	}
	return append(cols, metaColumns(func(l model.Location) model.Meta { return l.Meta })...)
}
