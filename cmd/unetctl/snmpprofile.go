package main

import (
	"context"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// secretsNote ends the help of the commands that take SNMP secrets.
const secretsNote = `
Secrets (--community, --auth-key, --priv-key) are write-only: the collector
never shows them again, only which ones are set. Given as flags they are
kept in your shell history; start the command with a space (bash with
HISTCONTROL=ignorespace) or clear the history entry afterwards.`

func (a *app) snmpProfileCommand() *cobra.Command {
	cmd := groupCommand("snmp-profile", "Manage SNMP profiles (how nodes are polled)", "snmp-profiles", "profile")
	cmd.AddCommand(a.snmpProfileAddCommand(), a.snmpProfileListCommand(), a.snmpProfileShowCommand(),
		a.snmpProfileUpdateCommand(), a.snmpProfileDeleteCommand())
	return cmd
}

// profileFlags are the fields that add and update set.
type profileFlags struct {
	version                model.SNMPVersion
	community, user        string
	authProto              model.AuthProtocol
	authKey                string
	privProto              model.PrivProtocol
	privKey                string
	port, retries, maxReps int
	timeout, interval      time.Duration
}

// profileFieldAliases maps API field names to the flags that set them.
func profileFieldAliases() map[string]string {
	return map[string]string{"auth_protocol": "auth-proto", "priv_protocol": "priv-proto"}
}

func (f *profileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	enumFlag(cmd, &f.version, "version", "SNMP version", model.SNMPVersions(), model.ParseSNMPVersion)
	fl.StringVar(&f.community, "community", "", "v2c community (secret)")
	fl.StringVar(&f.user, "user", "", "v3 user name")
	enumFlag(cmd, &f.authProto, "auth-proto", "v3 authentication protocol", model.AuthProtocols(), model.ParseAuthProtocol)
	fl.StringVar(&f.authKey, "auth-key", "", "v3 authentication key, 8 characters or more (secret)")
	enumFlag(cmd, &f.privProto, "priv-proto", "v3 privacy protocol", model.PrivProtocols(), model.ParsePrivProtocol)
	fl.StringVar(&f.privKey, "priv-key", "", "v3 privacy key, 8 characters or more (secret)")
	fl.IntVar(&f.port, "port", model.DefaultSNMPPort, "UDP port")
	fl.DurationVar(&f.timeout, "timeout", time.Duration(model.DefaultSNMPTimeout), "SNMP request timeout (here not the API timeout)")
	fl.IntVar(&f.retries, "retries", model.DefaultSNMPRetries, "retries after a timeout")
	fl.DurationVar(&f.interval, "interval", time.Duration(model.DefaultSNMPInterval), "polling interval")
	fl.IntVar(&f.maxReps, "max-repetitions", model.DefaultSNMPMaxRepetitions, "GetBulk max-repetitions")
	for _, name := range []string{"community", "user", "auth-key", "priv-key", "port", "timeout", "retries", "interval", "max-repetitions"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
}

// profile builds the profile to create: numbers the user did not give stay
// unset so that the collector applies its defaults.
func (f *profileFlags) profile(cmd *cobra.Command, name string) model.SNMPProfile {
	p := model.SNMPProfile{
		Name: name, Version: f.version, Community: f.community, User: f.user,
		AuthProtocol: f.authProto, AuthKey: f.authKey, PrivProtocol: f.privProto, PrivKey: f.privKey,
	}
	if changed(cmd, "port") {
		p.Port = f.port
	}
	if changed(cmd, "timeout") {
		p.Timeout = model.Duration(f.timeout)
	}
	if changed(cmd, "retries") {
		r := f.retries
		p.Retries = &r
	}
	if changed(cmd, "interval") {
		p.Interval = model.Duration(f.interval)
	}
	if changed(cmd, "max-repetitions") {
		p.MaxRepetitions = f.maxReps
	}
	return p
}

func (f *profileFlags) patch(cmd *cobra.Command) map[string]any {
	p := map[string]any{}
	strs := []struct{ flag, field, val string }{
		{"version", "version", string(f.version)}, {"community", "community", f.community},
		{"user", "user", f.user}, {"auth-proto", "auth_protocol", string(f.authProto)},
		{"auth-key", "auth_key", f.authKey}, {"priv-proto", "priv_protocol", string(f.privProto)},
		{"priv-key", "priv_key", f.privKey},
	}
	for _, s := range strs {
		if changed(cmd, s.flag) {
			p[s.field] = patchString(s.val)
		}
	}
	ints := []struct {
		flag, field string
		val         int
	}{{"port", "port", f.port}, {"retries", "retries", f.retries}, {"max-repetitions", "max_repetitions", f.maxReps}}
	for _, n := range ints {
		if changed(cmd, n.flag) {
			p[n.field] = n.val
		}
	}
	if changed(cmd, "timeout") {
		p["timeout"] = f.timeout.String()
	}
	if changed(cmd, "interval") {
		p["interval"] = f.interval.String()
	}
	return p
}

func (a *app) snmpProfileAddCommand() *cobra.Command {
	var f profileFlags
	cmd := &cobra.Command{
		Use:   "add NAME --version 2c|3 [flags]",
		Short: "Add an SNMP profile",
		Long:  "Add an SNMP profile: how the agents poll the nodes that use it.\n" + secretsNote,
		Example: `  unetctl snmp-profile add lab --version 2c --community public --timeout 2s --retries 1 --interval 60s
  unetctl snmp-profile add secure --version 3 --user noc --auth-proto sha --auth-key authpass1 \
    --priv-proto aes --priv-key privpass1`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			p, err := c.CreateSNMPProfile(ctx, f.profile(cmd, args[0]))
			if err != nil {
				return withFlagHints(cmd, err, profileFieldAliases())
			}
			return printDone(a, p, profileColumns(), "snmp-profile %s created", p.Name)
		},
	}
	f.register(cmd)
	_ = cmd.MarkFlagRequired("version")
	return cmd
}

func (a *app) snmpProfileUpdateCommand() *cobra.Command {
	var f profileFlags
	cmd := updateCommand(a, &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change fields of an SNMP profile (only the flags given)",
		Long: "Change fields of an SNMP profile. Only the flags given are sent; secrets not\n" +
			"given keep their stored values.\n" + secretsNote,
		Example:           `  unetctl snmp-profile update lab --community n3wc0mmunity --interval 30s`,
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeSNMPProfiles()),
	}, f.patch, func(ctx context.Context, c *apiclient.Client, name string, patch map[string]any) (model.SNMPProfile, error) {
		return c.PatchSNMPProfile(ctx, name, patch, 0)
	}, profileFieldAliases(), func(p model.SNMPProfile) error {
		return printDone(a, p, profileColumns(), "snmp-profile %s updated", p.Name)
	})
	f.register(cmd)
	return cmd
}

func (a *app) snmpProfileListCommand() *cobra.Command {
	return listCommand(a, &cobra.Command{
		Use:   "list",
		Short: "List SNMP profiles (secrets are never shown)",
	}, "SNMP profiles", func(ctx context.Context, c *apiclient.Client, o apiclient.ListOptions) iter.Seq2[model.SNMPProfile, error] {
		return c.AllSNMPProfiles(ctx, o)
	}, profileColumns, "name", "created_at", "updated_at")
}

func (a *app) snmpProfileShowCommand() *cobra.Command {
	return showCommand(a, &cobra.Command{
		Use:               "show NAME",
		Short:             "Show an SNMP profile (which secrets are set, never their values)",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeSNMPProfiles()),
	}, func(ctx context.Context, c *apiclient.Client, name string) (model.SNMPProfile, error) {
		return c.GetSNMPProfile(ctx, name)
	}, profileColumns)
}

func (a *app) snmpProfileDeleteCommand() *cobra.Command {
	// No --cascade: deleting the nodes with their profile is never what anyone means.
	return a.deleteCommand(&cobra.Command{
		Use:               "delete NAME [--yes]",
		Short:             "Delete an SNMP profile (refused while nodes use it)",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeSNMPProfiles()),
	}, "snmp-profile", "", func(ctx context.Context, c *apiclient.Client, name string, _ bool) error {
		return c.DeleteSNMPProfile(ctx, name, 0)
	})
}

// shortDuration drops the zero units Go writes: 1m0s → 1m, 1h0m0s → 1h.
func shortDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func profileColumns() []column[model.SNMPProfile] {
	dur := func(d model.Duration) string { return shortDuration(time.Duration(d)) }
	cols := []column[model.SNMPProfile]{
		{header: "NAME", key: "name", get: func(p model.SNMPProfile) string { return p.Name }},
		{header: "VERSION", key: "version", get: func(p model.SNMPProfile) string { return string(p.Version) }},
		{header: "USER", key: "user", get: func(p model.SNMPProfile) string { return p.User }},
		{header: "SECURITY", key: "security_level", get: func(p model.SNMPProfile) string { return p.SecurityLevel() }},
		{header: "AUTH", key: "auth_protocol", wide: true, get: func(p model.SNMPProfile) string { return string(p.AuthProtocol) }},
		{header: "PRIV", key: "priv_protocol", wide: true, get: func(p model.SNMPProfile) string { return string(p.PrivProtocol) }},
		{header: "PORT", key: "port", get: func(p model.SNMPProfile) string { return itoa(p.Port) }},
		{header: "TIMEOUT", key: "timeout", get: func(p model.SNMPProfile) string { return dur(p.Timeout) }},
		{header: "RETRIES", key: "retries", get: func(p model.SNMPProfile) string {
			if p.Retries == nil {
				return ""
			}
			return strconv.Itoa(*p.Retries)
		}},
		{header: "INTERVAL", key: "interval", get: func(p model.SNMPProfile) string { return dur(p.Interval) }},
		{header: "MAX REPETITIONS", key: "max_repetitions", wide: true, get: func(p model.SNMPProfile) string { return itoa(p.MaxRepetitions) }},
		{header: "SECRETS SET", key: "secrets_set", get: func(p model.SNMPProfile) string { return strings.Join(p.SecretsSet, ",") }},
	}
	return append(cols, metaColumns(func(p model.SNMPProfile) model.Meta { return p.Meta })...)
}
