package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// Helpers shared by the command groups.

// oneArg accepts exactly one positional argument called what.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch len(args) {
		case 1:
			return nil
		case 0:
			return fmt.Errorf("%s needs a %s argument (usage: %s)", cmd.CommandPath(), what, cmd.UseLine())
		default:
			return fmt.Errorf("%s takes one %s, got %d arguments: %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
	}
}

// optionalArg accepts zero or one positional argument called what.
func optionalArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("%s takes at most one %s, got %d arguments: %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// noArgs refuses positional arguments, naming the first.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// listFlags page and sort a list command.
type listFlags struct {
	sort  string
	limit int
}

func (l *listFlags) register(cmd *cobra.Command, sortKeys ...string) {
	cmd.Flags().StringVar(&l.sort, "sort", "", "sort by a field, '-' in front for descending ("+strings.Join(sortKeys, ", ")+")")
	cmd.Flags().IntVar(&l.limit, "limit", 0, "show at most this many (default: all)")
	var keys []string
	for _, k := range sortKeys {
		keys = append(keys, k, "-"+k)
	}
	_ = cmd.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(keys, cobra.ShellCompDirectiveNoFileComp))
}

func (l *listFlags) options() (apiclient.ListOptions, error) {
	if l.limit < 0 {
		return apiclient.ListOptions{}, usageErrorf("--limit must not be negative")
	}
	return apiclient.ListOptions{Limit: l.limit, Sort: l.sort}, nil // Limit: a total here, a page size for the API
}

// fetch lists every object, or the first --limit ones (saying on stderr
// when there are more, so a table is never silently cut). Pages are
// followed either way: --limit may exceed the collector's page size.
func fetch[T any](a *app, l *listFlags, noun string, all func(apiclient.ListOptions) iter.Seq2[T, error]) ([]T, error) {
	o, err := l.options()
	if err != nil {
		return nil, err
	}
	if o.Limit > 0 {
		// One more than asked for tells whether there are more, without
		// fetching another page for it.
		o.Limit = min(o.Limit+1, apiclient.DefaultPageSize)
	}
	out := []T{}
	for item, err := range all(o) {
		if err != nil {
			return nil, err
		}
		if l.limit > 0 && len(out) == l.limit {
			if a.conf.output == outputTable {
				fmt.Fprintf(a.err, "Showing the first %d %s; there are more (raise or drop --limit).\n", len(out), noun)
			}
			break
		}
		out = append(out, item)
	}
	return out, nil
}

// metaColumns are the bookkeeping columns every object has; they are wide.
func metaColumns[T any](meta func(T) model.Meta) []column[T] {
	return []column[T]{
		{header: "ID", key: "id", wide: true, get: func(v T) string { return meta(v).ID }},
		{header: "REVISION", key: "revision", wide: true, get: func(v T) string { return itoa(meta(v).Revision) }},
		{header: "CREATED", key: "created_at", wide: true, get: func(v T) string { return timeText(meta(v).CreatedAt) }},
		{header: "UPDATED", key: "updated_at", wide: true, get: func(v T) string { return timeText(meta(v).UpdatedAt) }},
	}
}

func itoa[N int | int64 | uint64](n N) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// patchString is the merge-patch value of a string flag: "" removes the field.
func patchString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// needSomething refuses an update that would change nothing.
func needSomething(patch map[string]any) error {
	if len(patch) == 0 {
		return usageErrorf("nothing to update: give at least one flag to change (see --help)")
	}
	return nil
}

// fieldFlagError is an `invalid` API answer whose fields are named with
// the flags that set them, so the user knows what to fix on the command
// line: `invalid: management_address (--mgmt-address): is required …`.
type fieldFlagError struct {
	api   *apiclient.Error
	flags map[string]string // field → flag
}

func (e *fieldFlagError) Error() string {
	fields := e.api.FieldErrors()
	parts := make([]string, len(fields))
	for i, f := range fields {
		name := f.Field
		if fl := e.flags[f.Field]; fl != "" {
			name += " (--" + fl + ")"
		}
		parts[i] = name + ": " + f.Reason
	}
	return e.api.Code + ": " + strings.Join(parts, "; ")
}

func (e *fieldFlagError) Unwrap() error { return e.api }

// withFlagHints names the flags of the fields of an `invalid` answer. A
// field maps to the flag of the same name with '-' for '_', to an alias, or
// (for "a.node") to the flag of its first part.
func withFlagHints(cmd *cobra.Command, err error, aliases map[string]string) error {
	var api *apiclient.Error
	if !errors.As(err, &api) || api.Code != apiclient.CodeInvalid || len(api.FieldErrors()) == 0 {
		return err
	}
	flags := map[string]string{}
	for _, f := range api.FieldErrors() {
		for _, cand := range []string{aliases[f.Field], strings.ReplaceAll(f.Field, "_", "-"), aliases[firstPart(f.Field)], firstPart(f.Field)} {
			if cand != "" && cmd.Flags().Lookup(cand) != nil {
				flags[f.Field] = cand
				break
			}
		}
	}
	return &fieldFlagError{api: api, flags: flags}
}

func firstPart(field string) string {
	first, _, _ := strings.Cut(field, ".")
	return first
}

// The commands that every kind has the same way. Each kind fills in a
// cobra.Command with what is its own (Use, Short, Args, completion) and
// says how to reach the API; the builder adds the rest.

// listCommand makes cmd `KIND list`: every object, or the first --limit,
// sorted by --sort (one of sortKeys). The kind adds its filter flags to the
// command returned; all reads them.
func listCommand[T any](a *app, cmd *cobra.Command, noun string, all func(context.Context, *apiclient.Client, apiclient.ListOptions) iter.Seq2[T, error], cols func() []column[T], sortKeys ...string) *cobra.Command {
	var lf listFlags
	cmd.Aliases = []string{"ls"}
	cmd.Args = noArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.context(cmd, false)
		defer cancel()
		items, err := fetch(a, &lf, noun, func(o apiclient.ListOptions) iter.Seq2[T, error] {
			return all(ctx, c, o)
		})
		if err != nil {
			return err
		}
		return printList(a, items, cols(), noun)
	}
	lf.register(cmd, sortKeys...)
	return cmd
}

// showCommand makes cmd `KIND show`: get one object and print it.
func showCommand[T any](a *app, cmd *cobra.Command, get func(context.Context, *apiclient.Client, string) (T, error), cols func() []column[T]) *cobra.Command {
	cmd.Aliases = []string{"get"}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.context(cmd, false)
		defer cancel()
		item, err := get(ctx, c, args[0])
		if err != nil {
			return err
		}
		return printOne(a, item, cols())
	}
	return cmd
}

// updateCommand makes cmd `KIND update NAME`: send the merge patch of the
// flags given (see patch), then report with done. aliases name the flags
// of API fields, for withFlagHints. The kind registers its flags.
func updateCommand[T any](a *app, cmd *cobra.Command, patch func(*cobra.Command) map[string]any,
	apply func(ctx context.Context, c *apiclient.Client, name string, patch map[string]any) (T, error),
	aliases map[string]string, done func(T) error,
) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p := patch(cmd)
		if err := needSomething(p); err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.context(cmd, false)
		defer cancel()
		item, err := apply(ctx, c, args[0], p)
		if err != nil {
			return withFlagHints(cmd, err, aliases)
		}
		return done(item)
	}
	return cmd
}

// deleteCommand makes cmd `KIND delete NAME`: confirm, delete, say so.
// cascadeHelp is the help of --cascade; "" for a kind that never cascades.
func (a *app) deleteCommand(cmd *cobra.Command, kind, cascadeHelp string, del func(ctx context.Context, c *apiclient.Client, name string, cascade bool) error) *cobra.Command {
	var d deleteFlags
	cmd.Aliases = []string{"rm"}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		what := kind + " " + args[0]
		if err := a.confirmDelete(what, d); err != nil {
			return err
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.context(cmd, false)
		defer cancel()
		if err := del(ctx, c, args[0], d.cascade); err != nil {
			return err
		}
		return a.printDeleted(what)
	}
	d.register(cmd, cascadeHelp)
	return cmd
}
