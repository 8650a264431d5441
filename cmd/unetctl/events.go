package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// eventRow is an event as unetctl prints it in JSON, YAML and CSV.
type eventRow struct {
	Time      time.Time `json:"ts"`
	Type      string    `json:"type"`
	Interface string    `json:"interface"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	// Detail says more where from and to do not say it all: why a device
	// was unreachable or rebooted, which LLDP neighbour came or went.
	Detail string `json:"detail,omitempty"`
}

func eventColumns(loc *time.Location) []column[eventRow] {
	type E = eventRow
	return []column[E]{
		{header: "TIME", key: "ts", get: func(e E) string { return e.Time.In(loc).Format("2006-01-02 15:04:05") }, human: true},
		{header: "TIME", key: "ts", get: func(e E) string { return e.Time.Format(time.RFC3339Nano) }, csvOnly: true},
		{header: "TYPE", key: "type", get: func(e E) string { return e.Type }},
		{header: "INTERFACE", key: "interface", get: func(e E) string { return e.Interface }},
		{header: "FROM", key: "from", get: func(e E) string { return e.From }},
		{header: "TO", key: "to", get: func(e E) string { return e.To }},
		{header: "DETAIL", key: "detail", get: func(e E) string { return e.Detail }},
	}
}

func (a *app) eventsCommand() *cobra.Command {
	var r timeRange
	var types []string
	var ifname string
	var limit int
	cmd := &cobra.Command{
		Use:   "events NODE",
		Short: "List a node's observed events over a range, newest first: status changes, flaps, reboots, reachability, LLDP",
		Example: `  unetctl events r1 --since 1h
  unetctl events r1 --since 7d --type oper_status --type flap --interface Gi0/0/1 -o json`,
		Args:              oneArg("NODE"),
		ValidArgsFunction: firstArg(a.completeNodes()),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, to, err := r.resolve(time.Now())
			if err != nil {
				return err
			}
			kinds, err := parseEventTypes(types)
			if err != nil {
				return err
			}
			if limit < 1 {
				return usageErrorf("--limit must be at least 1 (got %d)", limit)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			events, err := c.Events(ctx, apiclient.EventQuery{Node: args[0], Interface: ifname, Types: kinds, From: from, To: to, Limit: limit})
			if err != nil {
				return err
			}
			rows := make([]eventRow, len(events))
			for i, e := range events {
				rows[i] = eventRow{Time: e.Time, Type: string(e.Type), Interface: e.Interface, From: e.From, To: e.To, Detail: eventDetail(e)}
			}
			if err := printList(a, rows, eventColumns(time.Local), "events"); err != nil {
				return err
			}
			if len(events) == limit && a.conf.output == outputTable {
				fmt.Fprintf(a.err, "Showing the newest %d events: there may be more (--limit, or a shorter range).\n", limit)
			}
			return nil
		},
	}
	r.register(cmd, time.Hour)
	cmd.Flags().StringSliceVar(&types, "type", nil, "only events of this type (repeat or separate with commas: "+strings.Join(enumNames(eventTypes()), ", ")+")")
	cmd.Flags().StringVar(&ifname, "interface", "", "only the events of this interface")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many events (the newest)")
	_ = cmd.RegisterFlagCompletionFunc("type", enumCompletion(eventTypes()))
	_ = cmd.RegisterFlagCompletionFunc("interface", a.completeInterfaces())
	_ = cmd.RegisterFlagCompletionFunc("limit", cobra.NoFileCompletions)
	return cmd
}

// parseEventTypes checks the --type values.
func parseEventTypes(types []string) ([]model.EventKind, error) {
	var out []model.EventKind
	for _, t := range types {
		k := model.EventKind(strings.ToLower(strings.TrimSpace(t)))
		if !slices.Contains(eventTypes(), k) {
			return nil, usageErrorf("--type: unknown event type %q (accepted: %s)", t, strings.Join(enumNames(eventTypes()), ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

// eventDetail is the event's detail, or its LLDP neighbour described.
func eventDetail(e apiclient.Event) string {
	if e.Detail != "" || e.Neighbor == nil {
		return e.Detail
	}
	n := e.Neighbor
	s := n.SysName
	if s == "" {
		s = n.ChassisID
	}
	return strings.TrimSpace(s + " " + n.PortID)
}
