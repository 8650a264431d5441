package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the API refused, the collector is unreachable, a file is bad
	exitUsage = 2 // the command line is wrong: unknown command or flag, bad flag value
)

// userAgent identifies unetctl to the collector.
const userAgent = "unetctl/1"

// streams are the process's standard streams and whether they are
// terminals; tests pass buffers and say what a terminal would be.
type streams struct {
	in          io.Reader
	out, err    io.Writer
	inTerminal  bool // stdin: may we ask for confirmation?
	errTerminal bool // stderr: may we draw a progress bar?
}

// app is one run of unetctl: its streams, its environment, the global
// flags and, once resolved, the settings that follow from them. Commands
// are built as closures over it, so nothing is kept at package level.
type app struct {
	streams
	getenv func(string) string
	root   *cobra.Command
	flags  globalFlags
	conf   *settings // resolved lazily by settings()
}

// run executes unetctl with args and returns the exit code.
func run(ctx context.Context, args []string, s streams, getenv func(string) string) int {
	a := &app{streams: s, getenv: getenv}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(a.err, "Error: "+oneLine(err.Error()))
	return exitCode(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "unetctl",
		Short: "Manage the desired state of a μNet network",
		Long: `unetctl manages the desired state of a μNet network (locations, SNMP
profiles, nodes, links) through the collector's HTTP API.

Settings come from flags, then the environment (UNET_SERVER, UNET_TOKEN,
UNET_OUTPUT, UNET_CONFIG), then the config file (~/.config/unet/unetctl.yaml,
keys: server, token, output), then the defaults.`,
		SilenceErrors: true, // run prints the one error line itself
		SilenceUsage:  true, // an API error is not a reason to print usage
		// Settings are checked before any command runs, so a bad config
		// file is reported whatever the command; help and completion
		// scripts work regardless.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if !needsSettings(cmd) {
				return nil
			}
			_, err := a.settings()
			return err
		},
	}
	a.root = root
	a.addGlobalFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		a.locationCommand(),
		a.snmpProfileCommand(),
		a.nodeCommand(),
		a.linkCommand(),
		a.importCommand(),
		a.exportCommand(),
		a.agentsCommand(),
		a.policyCommand(),
		a.complianceCommand(),
		a.historyCommand(), a.eventsCommand(),
	)
	markRuntimeErrors(root)
	return root
}

// needsSettings is false for cobra's help and completion-script commands.
func needsSettings(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Name() == "help" || c.Name() == "completion" {
			return false
		}
	}
	return true
}

// groupCommand is a command that only holds subcommands. Without a RunE
// cobra would print help for `unetctl node frobnicate` and exit 0.
func groupCommand(use, short string, aliases ...string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Aliases: aliases,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
		},
	}
}

// usageError is a wrong command line: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// runtimeError is an error that a command returned while running: exit
// code 1 unless it wraps a usageError. Errors that are neither come from
// cobra itself (unknown command, missing argument, required flag) and are
// usage errors.
type runtimeError struct{ error }

func (e runtimeError) Unwrap() error { return e.error }

// markRuntimeErrors wraps the run functions of every command so that
// exitCode can tell their errors from cobra's own usage errors.
func markRuntimeErrors(cmd *cobra.Command) {
	wrap := func(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
		if f == nil {
			return nil
		}
		return func(c *cobra.Command, args []string) error {
			if err := f(c, args); err != nil {
				return runtimeError{err}
			}
			return nil
		}
	}
	cmd.RunE = wrap(cmd.RunE)
	cmd.PersistentPreRunE = wrap(cmd.PersistentPreRunE)
	for _, c := range cmd.Commands() {
		markRuntimeErrors(c)
	}
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var r runtimeError
	if errors.As(err, &r) {
		return exitError
	}
	return exitUsage
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// client returns an API client for the resolved settings.
func (a *app) client() (*apiclient.Client, error) {
	s, err := a.settings()
	if err != nil {
		return nil, err
	}
	return apiclient.New(s.server, apiclient.WithToken(s.token), apiclient.WithUserAgent(userAgent))
}

// context bounds a command by --timeout. Imports and exports move whole
// networks and are bounded only when --timeout is given explicitly.
func (a *app) context(cmd *cobra.Command, bulk bool) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	s, err := a.settings()
	if err != nil || s.timeout <= 0 || (bulk && !s.timeoutSet) {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// completionTimeout bounds the API calls made while completing a word:
// a shell waiting on a dead collector is worse than no completion.
const completionTimeout = 3 * time.Second
