package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// progressMinObjects is the size of import above which a progress bar is
// worth drawing; smaller files are done before one would be seen.
const progressMinObjects = 300

// bundleFormat is a file format of import and export.
type bundleFormat string

func bundleFormats() []bundleFormat { return []bundleFormat{apiclient.FormatJSON, apiclient.FormatCSV} }

func parseBundleFormat(s string) (bundleFormat, error) {
	in := bundleFormat(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(bundleFormats(), in) {
		return in, nil
	}
	return "", fmt.Errorf("unknown file format %q (accepted: json, csv)", s)
}

// formatOfFile guesses a bundle format from a file name's extension.
func formatOfFile(path string) bundleFormat {
	f, _ := parseBundleFormat(strings.TrimPrefix(filepath.Ext(path), "."))
	return f
}

func (a *app) importCommand() *cobra.Command {
	var (
		kind   model.ObjectKind
		format bundleFormat
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE [--kind KIND] [--dry-run]",
		Short: "Create or update everything in a CSV or JSON file",
		Long: `Create or update (matched by name; links by their A end) every object of a
CSV or JSON file, as written by export. An import is all or nothing: with any
bad row nothing is written, and every bad row is listed (line, kind, name,
field, reason). Secrets missing from the file keep their stored values.

The format follows the file's extension (.csv, .json); FILE "-" reads stdin
and needs --format. A CSV without a kind column needs --kind.`,
		Example: `  unetctl import network.json
  unetctl import nodes.csv --kind node --dry-run
  cat network.csv | unetctl import - --format csv`,
		Args: oneArg("FILE"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return []cobra.Completion{"csv", "json"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if !changed(cmd, "format") {
				if format = formatOfFile(path); format == "" {
					if path == "-" {
						return usageErrorf("reading stdin (-) needs --format csv or json")
					}
					return usageErrorf("cannot tell the format of %s from its extension: pass --format csv or json", path)
				}
			}
			in, closeIn, err := a.openInput(path)
			if err != nil {
				return err
			}
			defer closeIn()
			return a.runImport(cmd, in, format, kind, dryRun)
		},
	}
	cmd.Flags().Var(&enumValue[bundleFormat]{dst: &format, parse: parseBundleFormat, typ: "format"}, "format", "file format: json or csv (default: from the extension)")
	_ = cmd.RegisterFlagCompletionFunc("format", enumCompletion(bundleFormats()))
	enumFlag(cmd, &kind, "kind", "kind of every row of a CSV without a kind column", model.ObjectKinds(), model.ParseObjectKind)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only check the file; write nothing")
	return cmd
}

func (a *app) openInput(path string) (io.Reader, func(), error) {
	if path == "-" {
		return a.in, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

func (a *app) runImport(cmd *cobra.Command, in io.Reader, format bundleFormat, kind model.ObjectKind, dryRun bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := a.context(cmd, true)
	defer cancel()
	progress, finish := a.importProgress()
	rep, err := c.Import(ctx, in, string(format), string(kind), dryRun, progress)
	finish()
	if err != nil {
		if len(rep.Errors) == 0 {
			return err
		}
		if perr := a.printBadRows(rep); perr != nil {
			return perr
		}
		return fmt.Errorf("import refused: %d bad %s; nothing was written", len(rep.Errors), plural(len(rep.Errors), "row", "rows"))
	}
	return a.printImportReport(rep, dryRun)
}

// importProgress draws a progress bar on stderr, driven by the collector's
// progress stream, when stderr is a terminal and the file is big enough.
// Without a terminal it returns a nil callback: no stream is asked for.
func (a *app) importProgress() (progress func(done, total int), finish func()) {
	if !a.errTerminal {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	progress = func(done, total int) {
		if bar == nil {
			if total <= progressMinObjects {
				return
			}
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(a.err),
				progressbar.OptionSetDescription("importing"),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(40),
				progressbar.OptionThrottle(100_000_000),
				progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
	}
	finish = func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
	return progress, finish
}

// reportRow is one kind's line of an import report.
type reportRow struct {
	kind                        string
	created, updated, unchanged int
}

func reportRows(rep apiclient.ImportReport) []reportRow {
	kinds := enumNames(model.ObjectKinds())
	for _, m := range []map[string]int{rep.Created, rep.Updated, rep.Unchanged} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	var rows []reportRow
	for _, k := range kinds {
		rows = append(rows, reportRow{kind: k, created: rep.Created[k], updated: rep.Updated[k], unchanged: rep.Unchanged[k]})
	}
	return rows
}

func reportColumns() []column[reportRow] {
	return []column[reportRow]{
		{header: "KIND", key: "kind", get: func(r reportRow) string { return r.kind }},
		{header: "CREATED", key: "created", get: func(r reportRow) string { return fmt.Sprint(r.created) }},
		{header: "UPDATED", key: "updated", get: func(r reportRow) string { return fmt.Sprint(r.updated) }},
		{header: "UNCHANGED", key: "unchanged", get: func(r reportRow) string { return fmt.Sprint(r.unchanged) }},
	}
}

func (a *app) printImportReport(rep apiclient.ImportReport, dryRun bool) error {
	switch a.conf.output {
	case outputJSON:
		return writeJSON(a.out, rep)
	case outputYAML:
		return writeYAML(a.out, rep)
	case outputCSV:
		return writeCSV(a.out, reportRows(rep), reportColumns())
	}
	if err := writeTable(a.out, reportRows(rep), reportColumns()); err != nil {
		return err
	}
	n := rep.Total()
	if dryRun {
		_, err := fmt.Fprintf(a.out, "Dry run: the file is valid; %d %s would be written, nothing was.\n", n, plural(n, "object", "objects"))
		return err
	}
	rev := ""
	if rep.Revision != 0 {
		rev = fmt.Sprintf(" (revision %d)", rep.Revision)
	}
	_, err := fmt.Fprintf(a.out, "Imported: %d %s written%s.\n", n, plural(n, "object", "objects"), rev)
	return err
}

// printBadRows lists every bad row: the report itself for JSON and YAML, a
// row per error for tables and CSV.
func (a *app) printBadRows(rep apiclient.ImportReport) error {
	switch a.conf.output {
	case outputJSON:
		return writeJSON(a.out, rep)
	case outputYAML:
		return writeYAML(a.out, rep)
	case outputCSV:
		return writeCSV(a.out, rep.Errors, rowErrorColumns())
	}
	return writeTable(a.out, rep.Errors, rowErrorColumns())
}

func rowErrorColumns() []column[bundle.RowError] {
	return []column[bundle.RowError]{
		{header: "LINE", key: "where", human: true, get: func(r bundle.RowError) string {
			if r.Line > 0 {
				return itoa(r.Line)
			}
			return r.Path // a JSON file: "nodes[3]"
		}},
		{header: "LINE", key: "line", csvOnly: true, get: func(r bundle.RowError) string { return itoa(r.Line) }},
		{header: "PATH", key: "path", csvOnly: true, get: func(r bundle.RowError) string { return r.Path }},
		{header: "KIND", key: "kind", get: func(r bundle.RowError) string { return string(r.Kind) }},
		{header: "NAME", key: "name", get: func(r bundle.RowError) string { return r.Name }},
		{header: "FIELD", key: "field", get: func(r bundle.RowError) string { return r.Field }},
		{header: "REASON", key: "reason", get: func(r bundle.RowError) string { return r.Reason }},
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (a *app) exportCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "export [-o json|csv] [--file FILE]",
		Short: "Write the whole desired state to stdout or a file (JSON unless -o csv)",
		Long: `Write the whole desired state (locations, SNMP profiles, nodes, links) as
one JSON bundle or one CSV with a kind column: the format import reads back.
Secrets are never exported; importing the file keeps the stored ones.

-o selects the format (json, the default, or csv); without -o a --file
ending in .csv gets CSV.`,
		Example: `  unetctl export > network.json
  unetctl export -o csv --file network.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := a.exportFormat(file)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, true)
			defer cancel()
			body, err := c.Export(ctx, string(format))
			if err != nil {
				return err
			}
			defer body.Close()
			if file == "" || file == "-" {
				_, err = io.Copy(a.out, body)
				return err
			}
			return writeFileAtomic(file, body)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "write to this file instead of stdout")
	return cmd
}

// exportFormat is -o when given (json or csv), else what --file's extension
// says, else JSON. The output setting of the environment or config file is
// for listings and does not apply.
func (a *app) exportFormat(file string) (bundleFormat, error) {
	if a.conf.outputSet {
		f, err := parseBundleFormat(string(a.conf.output))
		if err != nil {
			return "", usageErrorf("export writes -o json or -o csv, not %s", a.conf.output)
		}
		return f, nil
	}
	if f := formatOfFile(file); f != "" {
		return f, nil
	}
	return apiclient.FormatJSON, nil
}

// writeFileAtomic writes r to path through a temporary file in the same
// directory, so a failed export never leaves half a file behind.
func writeFileAtomic(path string, r io.Reader) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
