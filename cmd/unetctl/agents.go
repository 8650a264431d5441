package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

func (a *app) agentsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "agents",
		Short: "List the live agents (a heartbeat in the last 30 s): site, address, nodes owned",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			list, err := c.Agents(ctx)
			if err != nil {
				return err
			}
			return printList(a, list, agentColumns(time.Now()), "live agents")
		},
	}
}

func agentColumns(now time.Time) []column[apiclient.Agent] {
	return []column[apiclient.Agent]{
		{header: "NAME", key: "name", get: func(x apiclient.Agent) string { return x.Name }},
		{header: "SITE", key: "site", get: func(x apiclient.Agent) string { return strings.Join(x.Sites, ",") }},
		{header: "ADDRESS", key: "address", get: func(x apiclient.Agent) string { return x.Address }},
		{header: "OWNED", key: "owned", get: func(x apiclient.Agent) string { return strconv.Itoa(x.Owned) }},
		{header: "HEALTHY", key: "healthy", get: func(x apiclient.Agent) string { return strconv.FormatBool(x.Healthy) }},
		{header: "LAST SEEN", key: "last_seen", get: func(x apiclient.Agent) string { return ago(now, x.LastSeen) }, human: true},
		{header: "LAST SEEN", key: "last_seen", get: func(x apiclient.Agent) string { return x.LastSeen.Format(time.RFC3339) }, csvOnly: true},
		{header: "VERSION", key: "version", get: func(x apiclient.Agent) string { return x.Version }, wide: true},
		{header: "MEMBERS", key: "members", get: func(x apiclient.Agent) string { return strings.Join(x.Members, ",") }, wide: true},
	}
}

// ago says how long before now t was, for people.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func (a *app) nodeStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "status NAME",
		Short:             "Show a node's observed state: who polls it, its last poll, reachability, interfaces",
		Args:              oneArg("NAME"),
		ValidArgsFunction: firstArg(a.completeNodes()),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd, false)
			defer cancel()
			st, err := c.NodeStatus(ctx, args[0])
			if err != nil {
				return err
			}
			if a.conf.output != outputTable {
				return printOne(a, *st, nodeStatusColumns(time.Now()))
			}
			if err := writeDetail(a.out, *st, nodeStatusColumns(time.Now())); err != nil {
				return err
			}
			if len(st.Interfaces) == 0 {
				return nil
			}
			fmt.Fprintln(a.out)
			return writeTable(a.out, st.Interfaces, interfaceColumns())
		},
	}
}

func nodeStatusColumns(now time.Time) []column[apiclient.NodeStatus] {
	type S = apiclient.NodeStatus
	return []column[S]{
		{header: "NODE", key: "node", get: func(s S) string { return s.Node }},
		{header: "SITE", key: "site", get: func(s S) string { return s.Site }},
		{header: "POLLED BY", key: "polled_by", get: func(s S) string {
			switch {
			case s.PolledBy != "":
				return s.PolledBy
			case !s.Pollable:
				return "(not pollable: not live/implementing, or no address or SNMP profile)"
			}
			return "(nobody: no live agent of the site)"
		}},
		{header: "LAST POLL", key: "last_poll", get: func(s S) string {
			if s.LastPoll.IsZero() {
				return "never"
			}
			return s.LastPoll.Format(time.RFC3339) + " (" + ago(now, s.LastPoll) + ")"
		}},
		{header: "REACHABLE", key: "reachable", get: func(s S) string {
			if s.LastPoll.IsZero() {
				return ""
			}
			return strconv.FormatBool(s.Reachable)
		}},
		{header: "ERROR", key: "error", get: func(s S) string { return s.Error }},
		{header: "SYS NAME", key: "sys_name", get: func(s S) string { return s.SysName }},
		{header: "SYS DESCR", key: "sys_descr", get: func(s S) string { return s.SysDescr }},
		{header: "UPTIME", key: "uptime_seconds", get: func(s S) string {
			if s.UptimeSeconds == 0 {
				return ""
			}
			return (time.Duration(s.UptimeSeconds) * time.Second).String()
		}},
	}
}

func interfaceColumns() []column[model.InterfaceState] {
	type I = model.InterfaceState
	rate := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return humanBits(*p)
	}
	return []column[I]{
		{header: "IFINDEX", key: "index", get: func(i I) string { return strconv.Itoa(i.Index) }},
		{header: "NAME", key: "name", get: func(i I) string { return i.Name }},
		{header: "ADMIN", key: "admin_status", get: func(i I) string { return string(i.AdminStatus) }},
		{header: "OPER", key: "oper_status", get: func(i I) string { return string(i.OperStatus) }},
		{header: "SPEED", key: "speed_bps", get: func(i I) string { return humanBits(float64(i.SpeedBps)) }},
		{header: "IN", key: "in_bps", get: func(i I) string { return rate(i.InBps) }},
		{header: "OUT", key: "out_bps", get: func(i I) string { return rate(i.OutBps) }},
		{header: "ALIAS", key: "alias", get: func(i I) string { return i.Alias }},
	}
}

// humanBits writes a bit rate or speed with an SI prefix.
func humanBits(v float64) string {
	units := []string{"", "k", "M", "G", "T"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i]
}
