package main

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

func (a *app) nodeCommand() *cobra.Command {
	cmd := groupCommand("node", "Manage nodes (managed devices)", "nodes")
	cmd.AddCommand(a.nodeAddCommand(), a.nodeListCommand(), a.nodeShowCommand(),
		a.nodeUpdateCommand(), a.nodeDeleteCommand(), a.nodeStatusCommand())
	cmd.AddCommand(a.nodeInterfacesCommand())
	return cmd
}

// nodeFlags are the fields of a node that add and update set.
type nodeFlags struct {
	location, snmpProfile, mgmtAddress string
	model, version, serial, domain     string
	vendor                             model.Vendor
	role                               model.Role
	lifecycle                          model.Lifecycle
	tags                               []string
	customData                         json.RawMessage
}

// nodeFieldAliases maps API field names to the flags that set them.
func nodeFieldAliases() map[string]string {
	return map[string]string{"management_address": "mgmt-address", "tags": "tag"}
}

func (f *nodeFlags) register(a *app, cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.location, "location", "", "location (a site or below)")
	enumFlag(cmd, &f.vendor, "vendor", "vendor", model.Vendors(), model.ParseVendor)
	enumFlag(cmd, &f.role, "role", "role", model.Roles(), model.ParseRole)
	enumFlag(cmd, &f.lifecycle, "lifecycle", "lifecycle, planned when not given", model.Lifecycles(), model.ParseLifecycle)
	fl.Var(ipValue{&f.mgmtAddress}, "mgmt-address", "management IPv4 or IPv6 address (required for a live node)")
	fl.StringVar(&f.snmpProfile, "snmp-profile", "", "SNMP profile to poll the node with")
	fl.StringVar(&f.model, "model", "", "hardware model")
	fl.StringVar(&f.version, "version", "", "software version")
	fl.StringVar(&f.serial, "serial", "", "serial number")
	fl.StringVar(&f.domain, "domain", "", "DNS domain (the FQDN is NAME.DOMAIN)")
	fl.StringSliceVar(&f.tags, "tag", nil, "tag (repeat the flag or separate with commas)")
	fl.Var(jsonObjectValue{&f.customData}, "custom-data", `free JSON object, e.g. '{"vlan":120}'`)
	_ = cmd.RegisterFlagCompletionFunc("location", a.completeLocations())
	_ = cmd.RegisterFlagCompletionFunc("snmp-profile", a.completeSNMPProfiles())
	_ = cmd.RegisterFlagCompletionFunc("tag", cobra.NoFileCompletions)
}

// node builds the node to create.
func (f *nodeFlags) node(name string) (model.Node, error) {
	n := model.Node{
		Name: name, Location: f.location, Vendor: f.vendor, Role: f.role, Lifecycle: f.lifecycle,
		ManagementAddress: f.mgmtAddress, SNMPProfile: f.snmpProfile, Model: f.model,
		Version: f.version, Serial: f.serial, Domain: f.domain, Tags: f.tags,
	}
	if len(f.customData) > 0 {
		cd, err := customData(f.customData)
		if err != nil {
			return n, usageErrorf("--custom-data: %v", err)
		}
		n.CustomData = cd
	}
	return n, nil
}

// patch is the merge patch of the flags given: only they change.
func (f *nodeFlags) patch(cmd *cobra.Command) map[string]any {
	p := map[string]any{}
	strs := []struct {
		flag, field, val string
	}{
		{"location", "location", f.location}, {"vendor", "vendor", string(f.vendor)},
		{"role", "role", string(f.role)}, {"lifecycle", "lifecycle", string(f.lifecycle)},
		{"mgmt-address", "management_address", f.mgmtAddress}, {"snmp-profile", "snmp_profile", f.snmpProfile},
		{"model", "model", f.model}, {"version", "version", f.version},
		{"serial", "serial", f.serial}, {"domain", "domain", f.domain},
	}
	for _, s := range strs {
		if changed(cmd, s.flag) {
			p[s.field] = patchString(s.val)
		}
	}
	if changed(cmd, "tag") {
		p["tags"] = nonEmpty(f.tags) // a list replaces the old one; none clears
	}
	if changed(cmd, "custom-data") {
		p["custom_data"] = f.customData // merges key by key; null values remove keys
	}
	return p
}

// nonEmpty drops empty strings; an empty result is null (field removed).
func nonEmpty(ss []string) any {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (a *app) nodeAddCommand() *cobra.Command {
	var f nodeFlags
	cmd := &cobra.Command{
		Use:   "add NAME --location SITE --vendor VENDOR --role ROLE [flags]",
		Short: "Add a node",
		Example: `  unetctl node add r1 --location par1 --vendor cisco --role router \
    --mgmt-address 192.0.2.1 --snmp-profile lab --lifecycle live --tag core`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := f.node(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			n, err = c.CreateNode(ctx, n)
			if err != nil {
				return withFlagHints(cmd, err, nodeFieldAliases())
			}
			return printDone(a, n, nodeColumns(), "node %s created", n.Name)
		},
	}
	f.register(a, cmd)
	for _, req := range []string{"location", "vendor", "role"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}

func (a *app) nodeUpdateCommand() *cobra.Command {
	var f nodeFlags
	cmd := updateCommand(a, &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change fields of a node (only the flags given)",
		Long: `Change fields of a node. Only the flags given are sent (a JSON merge
patch): --tag replaces the whole tag list (--tag "" clears it), --custom-data
merges into the node's custom data key by key (a null value removes a key,
--custom-data null removes it all), and an empty string clears a field.`,
		Example:           `  unetctl node update sw1 --lifecycle live --tag access`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeNodes()),
	}, f.patch, func(ctx context.Context, c *apiclient.Client, name string, patch map[string]any) (model.Node, error) {
		return c.PatchNode(ctx, name, patch, 0)
	}, nodeFieldAliases(), func(n model.Node) error {
		return printDone(a, n, nodeColumns(), "node %s updated", n.Name)
	})
	f.register(a, cmd)
	return cmd
}

func (a *app) nodeListCommand() *cobra.Command {
	var f apiclient.NodeFilter
	cmd := listCommand(a, &cobra.Command{
		Use:   "list [flags]",
		Short: "List nodes",
		Example: `  unetctl node list --location eu --role router
  unetctl node list --tag core -o json`,
	}, "nodes", func(ctx context.Context, c *apiclient.Client, o apiclient.ListOptions) iter.Seq2[model.Node, error] {
		return c.AllNodes(ctx, f, o)
	}, nodeColumns, "name", "vendor", "role", "lifecycle", "location", "created_at", "updated_at")
	fl := cmd.Flags()
	fl.StringVar(&f.Location, "location", "", "only nodes in this location's subtree")
	enumFlag(cmd, &f.Role, "role", "only nodes with this role", model.Roles(), model.ParseRole)
	enumFlag(cmd, &f.Vendor, "vendor", "only nodes of this vendor", model.Vendors(), model.ParseVendor)
	enumFlag(cmd, &f.Lifecycle, "lifecycle", "only nodes in this lifecycle stage", model.Lifecycles(), model.ParseLifecycle)
	fl.StringVar(&f.Tag, "tag", "", "only nodes with this tag")
	fl.StringVar(&f.NamePrefix, "name-prefix", "", "only nodes whose name starts with this")
	fl.StringVar(&f.SNMPProfile, "snmp-profile", "", "only nodes polled with this SNMP profile")
	_ = cmd.RegisterFlagCompletionFunc("location", a.completeLocations())
	_ = cmd.RegisterFlagCompletionFunc("snmp-profile", a.completeSNMPProfiles())
	return cmd
}

func (a *app) nodeShowCommand() *cobra.Command {
	return showCommand(a, &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a node",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeNodes()),
	}, func(ctx context.Context, c *apiclient.Client, name string) (model.Node, error) {
		return c.GetNode(ctx, name)
	}, nodeColumns)
}

func (a *app) nodeDeleteCommand() *cobra.Command {
	return a.deleteCommand(&cobra.Command{
		Use:               "delete NAME [--cascade] [--yes]",
		Short:             "Delete a node",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeNodes()),
	}, "node", "also delete the node's links (without it, a node with links is not deleted)",
		func(ctx context.Context, c *apiclient.Client, name string, cascade bool) error {
			if err := c.DeleteNode(ctx, name, cascade, 0); err != nil {
				return cascadeHint(err, "its links", cascade)
			}
			return nil
		})
}

// cascadeHint tells how to delete an object that is still in use, unless
// --cascade was given or the collector's message already says so.
func cascadeHint(err error, what string, cascade bool) error {
	if apiclient.IsInUse(err) && !cascade && !strings.Contains(err.Error(), "--cascade") {
		return fmt.Errorf("%w; --cascade deletes %s too", err, what)
	}
	return err
}

// printDeleted confirms a delete to people; machine formats get nothing.
func (a *app) printDeleted(what string) error {
	if a.conf.output == outputTable {
		_, err := a.out.Write([]byte(what + " deleted\n"))
		return err
	}
	return nil
}

func nodeColumns() []column[model.Node] {
	cols := []column[model.Node]{
		{header: "NAME", key: "name", get: func(n model.Node) string { return n.Name }},
		{header: "FQDN", key: "fqdn", wide: true, get: func(n model.Node) string { return n.FQDN }},
		{header: "DOMAIN", key: "domain", wide: true, get: func(n model.Node) string { return n.Domain }},
		{header: "VENDOR", key: "vendor", get: func(n model.Node) string { return string(n.Vendor) }},
		{header: "MODEL", key: "model", get: func(n model.Node) string { return n.Model }},
		{header: "VERSION", key: "version", wide: true, get: func(n model.Node) string { return n.Version }},
		{header: "ROLE", key: "role", get: func(n model.Node) string { return string(n.Role) }},
		{header: "LIFECYCLE", key: "lifecycle", get: func(n model.Node) string { return string(n.Lifecycle) }},
		{header: "MGMT ADDRESS", key: "management_address", get: func(n model.Node) string { return n.ManagementAddress }},
		{header: "LOCATION", key: "location", get: func(n model.Node) string { return n.Location }},
		{header: "SNMP PROFILE", key: "snmp_profile", get: func(n model.Node) string { return n.SNMPProfile }},
		{header: "SERIAL", key: "serial", wide: true, get: func(n model.Node) string { return n.Serial }},
		{header: "TAGS", key: "tags", get: func(n model.Node) string { return strings.Join(n.Tags, ",") }},
		{header: "CUSTOM DATA", key: "custom_data", wide: true, get: func(n model.Node) string { return jsonText(n.CustomData) }},
	}
	return append(cols, metaColumns(func(n model.Node) model.Meta { return n.Meta })...)
}
