package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// The history commands read what the agents observed, as the collector
// keeps it in ClickHouse: one interface over time, the busiest
// interfaces, device availability; `events` (events.go) lists changes.

func (a *app) historyCommand() *cobra.Command {
	cmd := groupCommand("history", "Observed history: interface rates and status, top interfaces, availability")
	cmd.AddCommand(a.historyInterfaceCommand(), a.historyTopCommand(), a.historyAvailabilityCommand())
	return cmd
}

// historyPoint is a point as unetctl prints it in JSON, YAML and CSV.
type historyPoint struct {
	Time       time.Time `json:"ts"`
	InBps      *float64  `json:"in_bps"`
	OutBps     *float64  `json:"out_bps"`
	OperStatus string    `json:"oper_status"`
}

func historyPointColumns() []column[historyPoint] {
	type P = historyPoint
	rate := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return []column[P]{
		{header: "TIME", key: "ts", get: func(p P) string { return p.Time.Format(time.RFC3339) }},
		{header: "IN", key: "in_bps", get: func(p P) string { return rate(p.InBps) }},
		{header: "OUT", key: "out_bps", get: func(p P) string { return rate(p.OutBps) }},
		{header: "OPER", key: "oper_status", get: func(p P) string { return p.OperStatus }},
	}
}

func (a *app) historyInterfaceCommand() *cobra.Command {
	var r timeRange
	var step time.Duration
	cmd := &cobra.Command{
		Use:   "interface NODE IFNAME",
		Short: "Show an interface's in/out bit rates and oper status over time (a plot and a table)",
		Long: `Show an interface's in/out bit rates and oper status over a range, one
point per step. Without --step the collector picks one from the range; a
step at or below the poll interval gives the raw samples. Longer steps
average the samples (and read the 5-minute or hourly rollups).

The table output draws the rates (in and out) on a plot as wide as the
terminal (COLUMNS), then lists the points, in groups when there are many;
-o json, yaml and csv give every point.`,
		Example: `  unetctl history interface r1 Gi0/0/1 --since 1h
  unetctl history interface r1 Gi0/0/1 --since 7d --step 1h -o json
  unetctl history interface r1 Gi0/0/1 --from 2026-11-26T08:00:00Z --to 2026-11-26T09:00:00Z`,
		Aliases:           []string{"if", "iface"},
		Args:              nodeAndInterfaceArgs,
		ValidArgsFunction: a.completeNodeThenInterface(),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, to, err := r.resolve(time.Now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			h, err := c.InterfaceHistory(ctx, apiclient.InterfaceHistoryQuery{Node: args[0], IfName: args[1], From: from, To: to, Step: step})
			if err != nil {
				return err
			}
			if a.conf.output != outputTable {
				points := make([]historyPoint, len(h.Points))
				for i, p := range h.Points {
					points[i] = historyPoint{Time: p.Time, InBps: p.InBps, OutBps: p.OutBps, OperStatus: string(p.OperStatus)}
				}
				return printList(a, points, historyPointColumns(), "points")
			}
			return a.printInterfaceHistory(args[0], args[1], h, from, to)
		},
	}
	r.register(cmd, time.Hour)
	cmd.Flags().Var(spanValue{&step}, "step", "width of a point, e.g. 1m, 1h, 1d (default: from the range; raw samples at or below the poll interval)")
	_ = cmd.RegisterFlagCompletionFunc("step", cobra.FixedCompletions([]string{"1m", "5m", "15m", "1h", "1d"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// printInterfaceHistory writes a title, the plot and the table of points.
func (a *app) printInterfaceHistory(node, ifname string, h *apiclient.InterfaceHistory, from, to time.Time) error {
	loc := time.Local
	span := to.Sub(from)
	what := fmt.Sprintf("%d raw samples", len(h.Points))
	if h.Step > 0 {
		what = fmt.Sprintf("%d points of %s", len(h.Points), formatSpan(time.Duration(h.Step)))
	}
	fmt.Fprintf(a.out, "%s %s  %s → %s  (%s)\n", node, ifname,
		from.In(loc).Format("2006-01-02 15:04:05"), to.In(loc).Format("2006-01-02 15:04:05 MST"), what)
	if len(h.Points) == 0 {
		fmt.Fprintln(a.err, "No samples in the range.")
		return nil
	}
	plot := renderPlot(h.Points, from, to, time.Duration(h.Step), plotOptions{width: a.terminalWidth(), loc: loc, color: a.colorOut()})
	if plot == "" {
		fmt.Fprintln(a.out, "(no rates in the range: nothing to plot)")
	} else {
		fmt.Fprint(a.out, "\n"+plot)
	}
	fmt.Fprintln(a.out)
	return writePointTable(a, h.Points, timeLayout(span, true), loc)
}

// writePointTable writes the points, grouped when there are too many.
func writePointTable(a *app, points []apiclient.InterfacePoint, layout string, loc *time.Location) error {
	rows := pointRows(points, maxTableRows)
	rate := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return bitRate(*v)
	}
	cols := []column[pointRow]{
		{header: "TIME", get: func(r pointRow) string { return r.time.In(loc).Format(layout) }},
		{header: "IN", get: func(r pointRow) string { return rate(r.in) }},
		{header: "OUT", get: func(r pointRow) string { return rate(r.out) }},
		{header: "OPER", get: func(r pointRow) string { return r.oper }},
	}
	if err := writeTable(a.out, rows, cols); err != nil {
		return err
	}
	if len(rows) < len(points) {
		fmt.Fprintf(a.out, "(%d points in %d rows: each row averages %d consecutive points; -o json or -o csv lists them all)\n",
			len(points), len(rows), rows[0].points)
	}
	return nil
}

// terminalWidth is the width to draw in: $COLUMNS, else the terminal's,
// else 80.
func (a *app) terminalWidth() int {
	if n, err := strconv.Atoi(strings.TrimSpace(a.getenv("COLUMNS"))); err == nil && n > 0 {
		return n
	}
	if f, ok := a.out.(interface{ Fd() uintptr }); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// colorOut says whether stdout takes ANSI colors: a terminal, and no
// NO_COLOR (https://no-color.org).
func (a *app) colorOut() bool {
	if a.getenv("NO_COLOR") != "" || a.getenv("TERM") == "dumb" {
		return false
	}
	f, ok := a.out.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// nodeAndInterfaceArgs wants NODE and IFNAME.
func nodeAndInterfaceArgs(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 2:
		return nil
	case 0, 1:
		return fmt.Errorf("%s needs a NODE and an IFNAME argument (usage: %s)", cmd.CommandPath(), cmd.UseLine())
	}
	return fmt.Errorf("%s takes a NODE and an IFNAME, got %d arguments: %s", cmd.CommandPath(), len(args), strings.Join(args, " "))
}

// completeNodeThenInterface completes a node name, then the names of
// that node's interfaces as last observed.
func (a *app) completeNodeThenInterface() cobra.CompletionFunc {
	nodes := a.completeNodes()
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return nodes(cmd, args, toComplete)
		case 1:
			return a.completeInterfaces()(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeInterfaces completes the interface names, as last observed,
// of the node named by the first positional argument, described by their
// status and alias.
func (a *app) completeInterfaces() cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		node := args[0]
		return a.complete(func(ctx context.Context, c *apiclient.Client, prefix string) ([]cobra.Completion, error) {
			ifs, err := c.NodeInterfaces(ctx, node)
			if err != nil {
				return nil, err
			}
			var out []cobra.Completion
			for _, i := range ifs {
				if strings.HasPrefix(i.Name, prefix) {
					desc := string(i.OperStatus)
					if i.Alias != "" {
						desc += ", " + i.Alias
					}
					out = append(out, cobra.CompletionWithDesc(i.Name, desc))
				}
			}
			return out, nil
		})(cmd, args, toComplete)
	}
}

// topMetric is what `history top` ranks by.
type topMetric string

func topMetrics() []topMetric { return []topMetric{"in_bps", "out_bps", "utilisation", "errors"} }

func parseTopMetric(s string) (topMetric, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "utilization" {
		in = "utilisation"
	}
	for _, m := range topMetrics() {
		if in == string(m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown metric %q (accepted: in_bps, out_bps, utilisation, errors)", s)
}

func (a *app) historyTopCommand() *cobra.Command {
	var r timeRange
	metric := topMetric("in_bps")
	var site string
	var n int
	cmd := &cobra.Command{
		Use:   "top",
		Short: "List the busiest interfaces over a range, of a site or of every node",
		Long: `List the interfaces with the highest average of a metric over a range:
in_bps and out_bps (bit/s), utilisation (the larger of in and out, in % of
the interface speed) or errors (in + out errors per second).`,
		Example: `  unetctl history top --metric in_bps --site par1 --since 1h
  unetctl history top --metric utilisation --since 7d -n 20`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, to, err := r.resolve(time.Now())
			if err != nil {
				return err
			}
			if n < 1 {
				return usageErrorf("-n must be at least 1 (got %d)", n)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			top, err := c.TopInterfaces(ctx, apiclient.TopQuery{Metric: string(metric), Site: site, From: from, To: to, N: n})
			if err != nil {
				return err
			}
			return printList(a, top, topColumns(metric), "interface rates")
		},
	}
	r.register(cmd, time.Hour)
	enumFlag(cmd, &metric, "metric", "what to rank by", topMetrics(), parseTopMetric)
	cmd.Flags().StringVar(&site, "site", "", "only the nodes of this site (default: every node)")
	cmd.Flags().IntVarP(&n, "n", "n", 10, "how many interfaces")
	_ = cmd.RegisterFlagCompletionFunc("site", a.completeLocations())
	_ = cmd.RegisterFlagCompletionFunc("n", cobra.NoFileCompletions)
	return cmd
}

func topColumns(metric topMetric) []column[apiclient.TopInterface] {
	type T = apiclient.TopInterface
	human := func(t T) string {
		switch metric {
		case "utilisation":
			return strconv.FormatFloat(t.Value, 'f', 1, 64) + " %"
		case "errors":
			return strconv.FormatFloat(t.Value, 'f', 2, 64) + "/s"
		}
		return bitRate(t.Value)
	}
	return []column[T]{
		{header: "NODE", key: "node", get: func(t T) string { return t.Node }},
		{header: "INTERFACE", key: "interface", get: func(t T) string { return t.Interface }},
		{header: topHeader(metric), key: "value", get: human, human: true},
		{header: "VALUE", key: "value", get: func(t T) string { return strconv.FormatFloat(t.Value, 'f', -1, 64) }, csvOnly: true},
		{header: "SPEED", key: "speed_bps", get: func(t T) string {
			if t.SpeedBps == 0 {
				return ""
			}
			return humanBits(float64(t.SpeedBps))
		}, human: true},
		{header: "SPEED", key: "speed_bps", get: func(t T) string { return strconv.FormatUint(t.SpeedBps, 10) }, csvOnly: true},
	}
}

// topHeader names the value column of `history top` for people.
func topHeader(metric topMetric) string {
	switch metric {
	case "in_bps":
		return "AVG IN"
	case "out_bps":
		return "AVG OUT"
	case "errors":
		return "ERRORS"
	}
	return "UTILISATION"
}

func (a *app) historyAvailabilityCommand() *cobra.Command {
	var r timeRange
	var site string
	cmd := &cobra.Command{
		Use:   "availability [NODE]",
		Short: "Show the share of polls that devices answered over a range: one node, a site's or every node's",
		Example: `  unetctl history availability r1 --since 24h
  unetctl history availability --site par1 --since 7d`,
		Aliases:           []string{"avail"},
		Args:              optionalArg("NODE"),
		ValidArgsFunction: firstArg(a.completeNodes()),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, to, err := r.resolve(time.Now())
			if err != nil {
				return err
			}
			q := apiclient.AvailabilityQuery{Site: site, From: from, To: to}
			if len(args) == 1 {
				if site != "" {
					return usageErrorf("give a NODE or --site, not both")
				}
				q.Node = args[0]
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			av, err := c.Availability(ctx, q)
			if err != nil {
				return err
			}
			return printList(a, av, availabilityColumns(), "device polls")
		},
	}
	r.register(cmd, 24*time.Hour)
	cmd.Flags().StringVar(&site, "site", "", "the nodes of this site")
	_ = cmd.RegisterFlagCompletionFunc("site", a.completeLocations())
	return cmd
}

func availabilityColumns() []column[apiclient.Availability] {
	type A = apiclient.Availability
	return []column[A]{
		{header: "NODE", key: "node", get: func(x A) string { return x.Node }},
		{header: "AVAILABILITY", key: "percent", get: func(x A) string { return percentText(x.Percent) }, human: true},
		{header: "PERCENT", key: "percent", get: func(x A) string { return strconv.FormatFloat(x.Percent, 'f', -1, 64) }, csvOnly: true},
		{header: "POLLS", key: "polls", get: func(x A) string { return itoa(x.Polls) }},
		{header: "ANSWERED", key: "reachable_polls", get: func(x A) string { return itoa(x.ReachablePolls) }},
	}
}

// percentText shows an availability without rounding 99.996 up to 100.
func percentText(p float64) string {
	return strconv.FormatFloat(math.Floor(p*100)/100, 'f', 2, 64) + " %"
}

// nodeInterfacesCommand is `node interfaces NAME`.
func (a *app) nodeInterfacesCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "interfaces NAME",
		Short:             "List a node's interfaces as last observed: status, speed, rates",
		Aliases:           []string{"ifs"},
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeNodes()),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			ifs, err := c.NodeInterfaces(ctx, args[0])
			if err != nil {
				return err
			}
			return printList(a, ifs, interfaceColumns(), "observed interfaces")
		},
	}
}

// eventTypes are the values of `events --type`.
func eventTypes() []model.EventKind {
	return []model.EventKind{model.EventOperStatus, model.EventAdminStatus, model.EventFlap,
		model.EventReachability, model.EventReboot, model.EventLLDPAdded, model.EventLLDPRemoved}
}
