package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/unet-project/unet/shared/model"
)

// writeJSON prints the states as one JSON array (model.DeviceState's form).
func writeJSON(w io.Writer, states []model.DeviceState) error {
	if states == nil {
		states = []model.DeviceState{}
	}
	b, err := json.MarshalIndent(states, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTable prints a block per device: a summary line, then a table of
// its interfaces.
func writeTable(w io.Writer, states []model.DeviceState) error {
	for i, st := range states {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if !st.Reachable {
			fmt.Fprintf(w, "%s  UNREACHABLE  %s\n", st.Node, st.Error)
		} else {
			up := 0
			for _, ifc := range st.Interfaces {
				if ifc.OperStatus == model.IfUp {
					up++
				}
			}
			fmt.Fprintf(w, "%s  reachable  sys_name %s  vendor %s  up %s  %d interfaces, %d up\n",
				st.Node, orDash(st.SysName), orDash(string(st.Vendor)), uptime(st.UptimeSeconds), len(st.Interfaces), up)
		}
		if len(st.Interfaces) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  INDEX\tNAME\tADMIN\tOPER\tSPEED\tIN\tOUT\tALIAS")
		for _, ifc := range st.Interfaces {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ifc.Index, orDash(ifc.Name), ifc.AdminStatus, ifc.OperStatus,
				bits(float64(ifc.SpeedBps), ""), rate(ifc.InBps), rate(ifc.OutBps), ifc.Alias)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// uptime is a duration in days, hours and minutes: 12d3h4m, 3h4m.
func uptime(seconds int64) string {
	d, h, m := seconds/86400, seconds%86400/3600, seconds%3600/60
	if d > 0 {
		return fmt.Sprintf("%dd%dh%dm", d, h, m)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// rate is a bit rate, "-" when there is none (the first poll).
func rate(bps *float64) string {
	if bps == nil {
		return "-"
	}
	return bits(*bps, "b/s")
}

// bits prints a number of bits with an SI prefix and three significant
// digits at most: 10G, 1.5Mb/s, 812kb/s.
func bits(v float64, unit string) string {
	prefix := ""
	for _, p := range []struct {
		div    float64
		prefix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= p.div {
			v, prefix = v/p.div, p.prefix
			break
		}
	}
	decimals := 0
	switch {
	case prefix == "":
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + prefix + unit
}
